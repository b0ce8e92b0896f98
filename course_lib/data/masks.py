"""Padding masks and lengths: the one place that says what a valid mask is.

A mask is a bool ``(batch, time)`` tensor, True on real tokens and False on padding; with right
padding (every batch in the course) it is True on a prefix of each row, so it is the same
information as the lengths. Every model checks its mask with :func:`check_mask`, or with
:func:`mask_lengths` when it needs the lengths (packing, reversing); :func:`reverse_padded`
reverses each sequence inside its own length (the backward direction of a bidirectional RNN).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["lengths_to_mask", "check_mask", "mask_lengths", "reverse_padded"]


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
