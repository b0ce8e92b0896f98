"""Batches of sequences of different lengths: padding, a ``collate_fn``, bucketing by length.

Conventions: tensors are batch-first; the pad id is 0; a mask is a bool ``(batch, time)``
tensor that is True on real tokens and False on padding.

The mask helpers (:func:`lengths_to_mask`, :func:`check_mask`, :func:`mask_lengths`,
:func:`reverse_padded`) live in :mod:`course_lib.data.masks` and the masked losses
(:func:`masked_mean`, :func:`masked_cross_entropy`) in :mod:`course_lib.models.losses`; all are
importable from here too, as lectures 4-5 and assignment 2 do.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from course_lib.data.masks import check_mask, lengths_to_mask, mask_lengths, reverse_padded
from course_lib.models.losses import masked_cross_entropy, masked_mean

__all__ = [
    "pad_batch", "lengths_to_mask", "check_mask", "mask_lengths", "reverse_padded", "masked_mean",
    "masked_cross_entropy", "make_collate", "BucketBatchSampler",
]


def _as_long_1d(seq: Sequence[int] | torch.Tensor, i: int) -> torch.Tensor:
    if isinstance(seq, torch.Tensor):
        if seq.dim() != 1:
            raise ValueError(f"sequence {i} must be 1-D (time,), got shape {tuple(seq.shape)}")
        if seq.is_floating_point() or seq.is_complex():
            raise TypeError(f"sequence {i} must hold integer ids, got dtype {seq.dtype}")
        return seq.long()
    if isinstance(seq, (str, bytes)):
        raise TypeError(f"sequence {i} is a {type(seq).__name__}; encode tokens to ids first (Vocab.encode)")
    try:
        return torch.as_tensor(list(seq), dtype=torch.long)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise TypeError(f"sequence {i} must be a list of int ids, got {seq!r:.60}") from exc


def pad_batch(seqs: Sequence[Sequence[int] | torch.Tensor], pad_id: int = 0
              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad id sequences of different lengths into one tensor.

    Args:
        seqs: ``batch`` sequences of ids (lists or 1-D integer tensors); empty ones are allowed.
        pad_id: the id written after each sequence's end.

    Returns:
        padded: ``(batch, time)`` long, ``time = max(lengths)``.
        lengths: ``(batch,)`` long.

    >>> pad_batch([[5, 6, 7], [8]])[0].tolist()
    [[5, 6, 7], [8, 0, 0]]
    """
    if isinstance(seqs, torch.Tensor) or isinstance(seqs, (str, bytes)):
        raise TypeError("pad_batch expects a list of sequences (lists or 1-D tensors of ids)")
    rows = [_as_long_1d(s, i) for i, s in enumerate(seqs)]
    if not rows:
        raise ValueError("pad_batch got an empty batch (no sequences)")
    lengths = torch.tensor([len(r) for r in rows], dtype=torch.long)
    padded = torch.full((len(rows), int(lengths.max())), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        padded[i, : len(r)] = r
    return padded, lengths


def make_collate(pad_id: int = 0, label_pad: int | None = None,
                 encode: Callable[[Any], Sequence[int]] | None = None
                 ) -> Callable[[Sequence[tuple[Any, Any]]], dict[str, torch.Tensor]]:
    """A ``collate_fn`` for ``(tokens, labels)`` pairs, for a ``DataLoader``.

    Args:
        pad_id: pad id for the token ids.
        label_pad: if the labels are per-token sequences (many-to-many), pad them with this
            (default ``pad_id``); a single label per sequence (many-to-one) is stacked as is.
        encode: optional function turning an item's ``tokens`` into ids (e.g. ``vocab.encode``).

    Returns:
        ``collate(pairs) -> {"tokens": (batch, time) long, "lengths": (batch,) long,
        "mask": (batch, time) bool, "labels": (batch,) or (batch, time) long}``.
    """
    lab_pad = pad_id if label_pad is None else label_pad

    def collate(pairs: Sequence[tuple[Any, Any]]) -> dict[str, torch.Tensor]:
        if len(pairs) == 0:
            raise ValueError("collate got an empty batch")
        try:
            toks, labs = zip(*pairs)
        except (TypeError, ValueError) as exc:
            raise TypeError("collate expects a batch of (tokens, labels) pairs") from exc
        tokens, lengths = pad_batch([encode(t) for t in toks] if encode is not None else toks, pad_id)
        first = labs[0]
        if isinstance(first, (list, tuple)) or (isinstance(first, torch.Tensor) and first.dim() == 1):
            labels, lab_len = pad_batch(labs, lab_pad)
            if not torch.equal(lab_len, lengths):
                raise ValueError(f"each item needs one label per token: token lengths {lengths.tolist()}, "
                                 f"label lengths {lab_len.tolist()}")
        else:
            labels = torch.as_tensor([int(y) for y in labs], dtype=torch.long)
        return {"tokens": tokens, "lengths": lengths, "mask": lengths_to_mask(lengths, tokens.shape[1]),
                "labels": labels}

    return collate


class BucketBatchSampler(torch.utils.data.Sampler):
    """Batches of indices whose sequences have similar lengths (less padding, faster RNNs).

    The indices are sorted by length inside pools of ``batch_size * pool_batches`` items
    (the pools themselves in random order when ``shuffle``), cut into batches, and the
    batches are shuffled. Every index appears in exactly one batch per epoch.

    Args:
        lengths: the length of each item in the dataset.
        batch_size: items per batch (the last batch of a pool may be smaller).
        shuffle: new random pools and batch order each epoch (drawn from the sampler's own
            generator, seeded with ``seed``; ``fit`` saves and restores it for exact resume).
        seed: the seed of the sampler's own generator.
        pool_batches: how many batches form one sorted pool (large: less padding, less randomness).
        drop_last: drop batches smaller than ``batch_size``.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, shuffle: bool = True, seed: int = 0,
                 pool_batches: int = 50, drop_last: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if pool_batches < 1:
            raise ValueError(f"pool_batches must be >= 1, got {pool_batches}")
        self.lengths = [int(n) for n in lengths]
        if not self.lengths:
            raise ValueError("BucketBatchSampler got no lengths (an empty dataset)")
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.pool_batches, self.drop_last = pool_batches, drop_last
        # fit()'s exact resume looks for a torch.Generator named `generator`
        self.generator = torch.Generator().manual_seed(seed)

    def _batches(self, rng: random.Random | None) -> list[list[int]]:
        idx = list(range(len(self.lengths)))
        if rng is not None:
            rng.shuffle(idx)
        pool = self.batch_size * self.pool_batches
        batches = []
        for start in range(0, len(idx), pool):
            chunk = sorted(idx[start:start + pool], key=lambda i: self.lengths[i])
            for b in range(0, len(chunk), self.batch_size):
                batch = chunk[b:b + self.batch_size]
                if len(batch) == self.batch_size or not self.drop_last:
                    batches.append(batch)
        if rng is not None:
            rng.shuffle(batches)
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        rng = None
        if self.shuffle:
            seed = int(torch.randint(2**62, (1,), generator=self.generator))
            rng = random.Random(seed)
        yield from self._batches(rng)

    def __len__(self) -> int:
        n, b = len(self.lengths), self.batch_size
        if not self.drop_last:
            pool = b * self.pool_batches
            full, rest = divmod(n, pool)
            return full * self.pool_batches + -(-rest // b)
        pool = b * self.pool_batches
        full, rest = divmod(n, pool)
        return full * self.pool_batches + rest // b
