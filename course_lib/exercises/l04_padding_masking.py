"""Exercises of lecture 4 (padding and masking).

None of them is an item of an assignment (assignment 2 grades the masked cross-entropy): these are
the mask from the lengths, each sequence's state at its last real token, and batches by length.
"""
from __future__ import annotations

import torch

from course_lib.check import compare
from course_lib.exercises import register

# --- the mask from the lengths ----------------------------------------------------------------


def _solution_lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """lengths: (batch,) long -> mask: (batch, max_len) bool, True on real tokens."""
    positions = torch.arange(max_len)              # (max_len,): 0, 1, ..., max_len - 1
    return positions[None, :] < lengths[:, None]   # broadcast to (batch, max_len)


def _wrong_off_by_one(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """<= marks one padding position too many as real."""
    return torch.arange(max_len)[None, :] <= lengths[:, None]


def _wrong_inverted(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """True on padding: the opposite of the course's convention."""
    return torch.arange(max_len)[None, :] >= lengths[:, None]


def _wrong_ints(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """Right values, but 0/1 integers: torch.where and indexing need a bool mask."""
    return (torch.arange(max_len)[None, :] < lengths[:, None]).long()


@register("L4.lengths_to_mask", "the padding mask from the lengths",
          solution=_solution_lengths_to_mask, wrong=(_wrong_off_by_one, _wrong_inverted, _wrong_ints))
def _check_lengths_to_mask(lengths_to_mask) -> None:
    mask = lengths_to_mask(torch.tensor([3, 1, 0, 4]), 4)
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        got = mask.dtype if isinstance(mask, torch.Tensor) else type(mask).__name__
        raise AssertionError(f"the mask must be a bool tensor (True on real tokens), got {got}")
    compare(mask, torch.tensor([[True, True, True, False],
                                [True, False, False, False],
                                [False, False, False, False],
                                [True, True, True, True]]), name="mask of lengths (3, 1, 0, 4), max_len 4")
    compare(lengths_to_mask(torch.tensor([2]), 5), torch.tensor([[True, True, False, False, False]]),
            name="mask of length 2 padded to 5")


# --- each sequence's state at its last real token ----------------------------------------------


def _solution_last_states(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """outputs: (batch, time, hidden), lengths: (batch,) >= 1 -> (batch, hidden): outputs[i, lengths[i] - 1]."""
    rows = torch.arange(outputs.shape[0])
    return outputs[rows, lengths - 1]              # one (row, time) pair per sequence


def _wrong_last_column(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The last column of the padded tensor: padding for every shorter sequence."""
    return outputs[:, -1]


def _wrong_after_the_end(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """outputs[i, lengths[i]]: the first padded step (and out of range for the longest sequence)."""
    idx = lengths.clamp(max=outputs.shape[1] - 1)
    return outputs[torch.arange(outputs.shape[0]), idx]


@register("L4.last_states", "each sequence's output at its last real token",
          solution=_solution_last_states, wrong=(_wrong_last_column, _wrong_after_the_end))
def _check_last_states(last_states) -> None:
    # outputs[i, t] = [10 i + t, -(10 i + t)] so every entry says where it came from
    i = torch.arange(3).view(3, 1, 1)
    t = torch.arange(4).view(1, 4, 1)
    outputs = torch.cat([10.0 * i + t, -(10.0 * i + t)], dim=2)        # (3, 4, 2)
    got = last_states(outputs, torch.tensor([2, 4, 1]))
    compare(got, torch.tensor([[1.0, -1.0], [13.0, -13.0], [20.0, -20.0]]), name="states at lengths (2, 4, 1)")


# --- batches by length --------------------------------------------------------------------------


def _solution_bucket_batches(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Indices sorted by length, cut into batches of batch_size: [[i, j, ...], ...]."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[s:s + batch_size] for s in range(0, len(order), batch_size)]


def _wrong_unsorted(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Batches in dataset order: every batch still mixes short and long items."""
    idx = list(range(len(lengths)))
    return [idx[s:s + batch_size] for s in range(0, len(idx), batch_size)]


def _wrong_sorted_lengths(lengths: list[int], batch_size: int) -> list[list[int]]:
    """Sorts the lengths themselves and returns them: the batches must hold item indices."""
    ordered = sorted(lengths)
    return [ordered[s:s + batch_size] for s in range(0, len(ordered), batch_size)]


def _padded_cells(batches: list[list[int]], lengths: list[int]) -> int:
    return sum(len(b) * max(lengths[i] for i in b) for b in batches)


@register("L4.bucket_batches", "batches of similar lengths (sort, then cut)",
          solution=_solution_bucket_batches, wrong=(_wrong_unsorted, _wrong_sorted_lengths))
def _check_bucket_batches(bucket_batches) -> None:
    lengths = [7, 2, 9, 3, 8, 2, 10, 3]
    batches = [list(map(int, b)) for b in bucket_batches(lengths, 2)]
    compare(torch.tensor([len(b) for b in batches]), torch.tensor([2, 2, 2, 2]), name="four batches of 2")
    compare(torch.tensor(sorted(i for b in batches for i in b)), torch.arange(8), name="every item exactly once")
    # sorted: (2, 2) (3, 3) (7, 8) (9, 10) -> 2 * (2 + 3 + 8 + 10) = 46 cells, 44 of them real
    compare(torch.tensor(_padded_cells(batches, lengths)), torch.tensor(46), name="cells in the padded batches")
