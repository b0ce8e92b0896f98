"""The recall task: remember one token over a distance ``d`` (lecture 6, the motivation for gates).

A sequence holds one *key* token among filler tokens and ends with a query token; the answer is the
key, which sits ``d`` fillers before the query ("I grew up in **France** ... (d words) ... I speak
fluent ___").
"""
from __future__ import annotations

from collections.abc import Sequence

import torch

__all__ = ["recall_batch"]


def recall_batch(batch_size: int, distances: Sequence[int] | int, max_distance: int, n_keys: int = 4,
                 n_fillers: int = 20, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of the recall task, all sequences ``max_distance + 2`` tokens long.

    Token ids: 0 unused (pad), ``1 .. n_keys`` keys, then ``n_fillers`` filler ids, then the query id
    (vocabulary size ``n_keys + n_fillers + 2``). Each sequence is ``max_distance - d`` fillers, the
    key, ``d`` fillers, the query.

    Args:
        distances: one ``d`` for every sequence, or an int for all; each in ``1 .. max_distance``.

    Returns:
        tokens: ``(batch, max_distance + 2)`` long; answers: ``(batch,)`` the key's index in
        ``0 .. n_keys - 1``; distances: ``(batch,)``.
    """
    if isinstance(distances, int):
        distances = [distances] * batch_size
    d = torch.as_tensor(list(distances), dtype=torch.long)
    if d.shape != (batch_size,):
        raise ValueError(f"need {batch_size} distances, got {tuple(d.shape)}")
    if (d < 1).any() or (d > max_distance).any():
        raise ValueError(f"distances must lie in 1 .. max_distance={max_distance}, got {d.tolist()}")
    length = max_distance + 2
    tokens = torch.randint(n_keys + 1, n_keys + 1 + n_fillers, (batch_size, length), generator=generator)
    answers = torch.randint(0, n_keys, (batch_size,), generator=generator)
    key_pos = length - 2 - d
    tokens[torch.arange(batch_size), key_pos] = answers + 1
    tokens[:, -1] = n_keys + n_fillers + 1
    return tokens, answers, d
