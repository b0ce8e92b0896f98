"""Batches of sequences of different lengths: padding, masks, masked losses, bucketing.

Conventions: tensors are batch-first; the pad id is 0; a mask is a bool ``(batch, time)``
tensor that is True on real tokens and False on padding. Every model checks its mask with
:func:`check_mask` (or :func:`mask_lengths`, which also needs right padding and returns the
lengths), and reverses padded sequences with :func:`reverse_padded`.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F

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


def lengths_to_mask(lengths: torch.Tensor | Sequence[int], max_len: int | None = None) -> torch.Tensor:
    """The padding mask for sequences of the given lengths.

    Args:
        lengths: ``(batch,)`` non-negative ints.
        max_len: number of time steps (default ``max(lengths)``); must be ``>= max(lengths)``.

    Returns:
        mask: ``(batch, time)`` bool, ``mask[i, t] = t < lengths[i]`` (True on real tokens).
    """
    lengths = torch.as_tensor(lengths)
    if lengths.dim() != 1:
        raise ValueError(f"lengths must be 1-D (batch,), got shape {tuple(lengths.shape)}")
    if lengths.is_floating_point():
        raise TypeError(f"lengths must be integers, got dtype {lengths.dtype}")
    if (lengths < 0).any():
        raise ValueError(f"lengths must be >= 0, got {lengths.tolist()}")
    longest = int(lengths.max()) if lengths.numel() else 0
    if max_len is None:
        max_len = longest
    elif max_len < longest:
        raise ValueError(f"max_len={max_len} is shorter than the longest sequence ({longest})")
    steps = torch.arange(max_len, device=lengths.device)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)


def check_mask(mask: torch.Tensor, shape: tuple[int, ...], what: str = "the batch") -> None:
    """Check a padding mask: a bool tensor of the given shape.

    Args:
        mask: should be ``(batch, time)`` bool, True on real tokens.
        shape: the ``(batch, time)`` it must have.
        what: what the shape comes from, for the message (e.g. ``"targets"``).

    Raises:
        TypeError: if ``mask`` is not a bool tensor (a lengths vector or a float mask, say).
        ValueError: if its shape is not ``shape``.
    """
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        got = mask.dtype if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise TypeError(f"mask must be a bool tensor (True on real tokens), got {got}")
    if tuple(mask.shape) != tuple(shape):
        raise ValueError(f"mask must have the shape of {what} {tuple(shape)}, got {tuple(mask.shape)}")


def mask_lengths(mask: torch.Tensor, shape: tuple[int, ...] | None = None, what: str = "the batch"
                 ) -> torch.Tensor:
    """The lengths of a right-padded mask, checked: ``mask: (batch, time)`` bool -> ``(batch,)`` long.

    Args:
        mask: True on a prefix of each row (the real tokens), then False.
        shape, what: the ``(batch, time)`` it must have (default: any 2-D shape), see :func:`check_mask`.

    Raises:
        TypeError / ValueError: as :func:`check_mask`; ``ValueError`` if some row is not right-padded.
    """
    if shape is None and isinstance(mask, torch.Tensor):
        if mask.dim() != 2:
            raise ValueError(f"mask must be 2-D (batch, time), got shape {tuple(mask.shape)}")
        shape = tuple(mask.shape)
    check_mask(mask, shape or (), what)
    lengths = mask.sum(1)
    if not torch.equal(mask, lengths_to_mask(lengths, mask.shape[1])):
        raise ValueError("mask must be right-padded: True on a prefix of each row, then False")
    return lengths


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor | Sequence[int] | None = None) -> torch.Tensor:
    """Reverse each sequence within its own length; padding stays where it is.

    Args:
        x: ``(batch, time, ...)``.
        lengths: ``(batch,)`` ints, each ``<= time``; None means every sequence fills ``time``.

    Returns:
        ``(batch, time, ...)`` with ``out[i, t] = x[i, lengths[i] - 1 - t]`` for ``t < lengths[i]``
        and ``out[i, t] = x[i, t]`` on padding. Applying it twice gives ``x`` back.

    >>> reverse_padded(torch.tensor([[1, 2, 3], [4, 5, 0]]), torch.tensor([3, 2])).tolist()
    [[3, 2, 1], [5, 4, 0]]
    """
    if x.dim() < 2:
        raise ValueError(f"x must be (batch, time, ...), got shape {tuple(x.shape)}")
    if lengths is None:
        return x.flip(1)
    lengths = torch.as_tensor(lengths, device=x.device)
    batch, time = x.shape[:2]
    if lengths.shape != (batch,) or lengths.is_floating_point():
        raise ValueError(f"lengths must be {batch} ints (batch,), got {tuple(lengths.shape)} {lengths.dtype}")
    if (lengths < 0).any() or (lengths > time).any():
        raise ValueError(f"lengths must lie in [0, {time}], got {lengths.tolist()}")
    t = torch.arange(time, device=x.device).unsqueeze(0)  # (1, time)
    lengths = lengths.unsqueeze(1).long()
    idx = torch.where(t < lengths, lengths - 1 - t, t)  # (batch, time)
    idx = idx.view(batch, time, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, idx)


def _check_real_tokens(mask: torch.Tensor) -> None:
    if not mask.any():
        raise ValueError("the mask has no real tokens (all padding): the masked mean is undefined")


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over the real tokens only.

    Args:
        values: ``(batch, time)`` floats (e.g. per-token losses).
        mask: ``(batch, time)`` bool, True on real tokens.

    Returns:
        A scalar: ``sum(values[mask]) / mask.sum()``. Padding positions never enter,
        even if they hold NaN or inf.

    Raises:
        ValueError: if the mask has no True entry (an all-padding batch).
    """
    if values.dim() != 2:
        raise ValueError(f"values must be (batch, time), got shape {tuple(values.shape)}")
    check_mask(mask, tuple(values.shape), "values")
    _check_real_tokens(mask)
    zeros = torch.zeros((), dtype=values.dtype, device=values.device)
    return torch.where(mask, values, zeros).sum() / mask.sum()


def masked_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor,
                         reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of every real token, averaged over real tokens (not over the padded tensor).

    Args:
        logits: ``(batch, time, V)`` unnormalised scores o_t.
        targets: ``(batch, time)`` long, the correct ids (anything at padded positions).
        mask: ``(batch, time)`` bool, True on real tokens.
        reduction: ``"mean"`` (over real tokens) or ``"sum"``.

    Returns:
        A scalar tensor.

    Raises:
        ValueError: if shapes disagree or the mask has no real token.
    """
    if logits.dim() != 3:
        raise ValueError(f"logits must be (batch, time, V), got shape {tuple(logits.shape)}")
    if targets.shape != logits.shape[:2]:
        raise ValueError(f"targets must have shape {tuple(logits.shape[:2])} (batch, time), "
                         f"got {tuple(targets.shape)}")
    if targets.is_floating_point():
        raise TypeError(f"targets must be integer ids, got dtype {targets.dtype}")
    check_mask(mask, tuple(targets.shape), "targets")
    _check_real_tokens(mask)
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    safe_targets = torch.where(mask, targets, torch.zeros_like(targets))  # padded targets may be anything
    per_token = F.cross_entropy(logits.flatten(0, 1), safe_targets.flatten(), reduction="none")
    per_token = per_token.view_as(targets.float())
    if reduction == "sum":
        return torch.where(mask, per_token, torch.zeros_like(per_token)).sum()
    return masked_mean(per_token, mask)


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
        if encode is not None:
            toks = [encode(t) for t in toks]
        tokens, lengths = pad_batch(toks, pad_id)
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
