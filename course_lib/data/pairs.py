"""Batches of (source, target) pairs for sequence-to-sequence models, with teacher forcing.

A target ``y_1 .. y_n`` is fed to the decoder shifted right behind ``<bos>`` and predicted with
``<eos>`` at the end (teacher forcing: the decoder always sees the *true* previous token)::

    tgt_in   <bos>  y_1  y_2 ... y_n
    tgt_out   y_1   y_2  y_3 ... <eos>

Both are right-padded with 0 (``<pad>``); ``tgt_mask`` is True on the ``n + 1`` real positions.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from course_lib.data.batching import BucketBatchSampler, lengths_to_mask, pad_batch
from course_lib.data.vocab import Vocab

__all__ = ["encode_pairs", "collate_pairs", "pair_loader", "teacher_forcing_inputs"]

EncodedPair = tuple[list[int], list[int]]


def encode_pairs(pairs: Sequence[tuple[Sequence[str], Sequence[str]]], src_vocab: Vocab, tgt_vocab: Vocab
                 ) -> list[EncodedPair]:
    """Token pairs -> id pairs (``<unk>`` for unseen tokens; no ``<bos>`` / ``<eos>`` added).

    Args:
        pairs: ``(source tokens, target tokens)``; a str is read as its characters.
    """
    out = []
    for i, (src, tgt) in enumerate(pairs):
        if len(src) == 0:
            raise ValueError(f"pair {i} has an empty source")
        out.append((src_vocab.encode(list(src)), tgt_vocab.encode(list(tgt))))
    return out


def teacher_forcing_inputs(targets: Sequence[Sequence[int]], bos_id: int = Vocab.bos_id,
                           eos_id: int = Vocab.eos_id) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The decoder's inputs and targets for a batch of target id sequences.

    Returns:
        tgt_in: ``(batch, T)`` long, ``<bos> y_1 .. y_n`` then padding, ``T = max n + 1``.
        tgt_out: ``(batch, T)`` long, ``y_1 .. y_n <eos>`` then padding.
        tgt_mask: ``(batch, T)`` bool, True on the ``n + 1`` real positions of each row.
    """
    tgt_in, lengths = pad_batch([[bos_id, *t] for t in targets])
    tgt_out, _ = pad_batch([[*t, eos_id] for t in targets])
    return tgt_in, tgt_out, lengths_to_mask(lengths, tgt_in.shape[1])


def collate_pairs(batch: Sequence[EncodedPair]) -> dict[str, torch.Tensor]:
    """``collate_fn`` for a ``DataLoader`` over :func:`encode_pairs` output.

    Returns:
        ``{"src": (batch, S) long, "src_lengths": (batch,) long, "src_mask": (batch, S) bool,
        "tgt_in": (batch, T), "tgt_out": (batch, T), "tgt_mask": (batch, T) bool}``.
    """
    if len(batch) == 0:
        raise ValueError("collate_pairs got an empty batch")
    src, src_lengths = pad_batch([s for s, _ in batch])
    tgt_in, tgt_out, tgt_mask = teacher_forcing_inputs([t for _, t in batch])
    return {"src": src, "src_lengths": src_lengths, "src_mask": lengths_to_mask(src_lengths, src.shape[1]),
            "tgt_in": tgt_in, "tgt_out": tgt_out, "tgt_mask": tgt_mask}


def pair_loader(pairs: Sequence[EncodedPair], batch_size: int, shuffle: bool = True, seed: int = 0,
                device: torch.device | None = None, **kwargs: Any) -> torch.utils.data.DataLoader:
    """A ``DataLoader`` of padded pair batches, bucketed by source length (little padding).

    With ``shuffle`` the buckets and their order change every epoch (the sampler's own generator,
    seeded with ``seed``, so ``fit`` can resume exactly).
    """
    if len(pairs) == 0:
        raise ValueError("pair_loader got no pairs")
    sampler = BucketBatchSampler([len(s) for s, _ in pairs], batch_size, shuffle=shuffle, seed=seed)
    pin = device is not None and torch.device(device).type == "cuda"
    return torch.utils.data.DataLoader(list(pairs), batch_sampler=sampler, collate_fn=collate_pairs,  # type: ignore[arg-type]
                                       pin_memory=pin, **kwargs)
