"""Attention over the encoder states: scores, a softmax over the real source positions, the context.

For a decoder state (the *query*) ``s`` and encoder states (the *keys*, also the *values*)
``h_1 .. h_S``:

    score_j   = a(s, h_j)                                   one number per source position
    alpha_j   = exp(score_j) / sum_{k real} exp(score_k)    padding gets exactly 0
    context   = sum_j alpha_j h_j

with two classic scoring functions:

- **additive** (Bahdanau et al. 2015): ``a(s, h) = v . tanh(W_q s + W_k h)``, with
  ``W_q: (A, Hq)``, ``W_k: (A, Hk)``, ``v: (A,)``;
- **dot** (Luong et al. 2015): ``a(s, h) = s . h`` (query and keys of the same size).

Every function is batched over ``(batch, T)`` queries at once (``T`` decoder steps); a single query
per row, ``(batch, Hq)``, is accepted too and gives ``(batch, S)`` weights.
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["masked_softmax", "dot_scores", "additive_scores", "attend", "Attention"]


def _as_steps(query: torch.Tensor) -> tuple[torch.Tensor, bool]:
    if query.dim() == 2:
        return query.unsqueeze(1), True
    if query.dim() == 3:
        return query, False
    raise ValueError(f"query must be (batch, Hq) or (batch, T, Hq), got shape {tuple(query.shape)}")


def _check_keys(keys: torch.Tensor, batch: int) -> None:
    if keys.dim() != 3 or keys.shape[0] != batch:
        raise ValueError(f"keys must be (batch={batch}, S, Hk), got shape {tuple(keys.shape)}")


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dimension (the source positions), with padded positions left out.

    Args:
        scores: ``(batch, S)`` or ``(batch, T, S)``.
        mask: ``(batch, S)`` bool, True on real source positions.

    Returns:
        weights of the shape of ``scores``: every row sums to 1 over the real positions and is
        exactly 0 on padding (whatever the scores there: even NaN or inf).

    Raises:
        ValueError: if a row has no real position (its weights would be undefined).
    """
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise TypeError("mask must be a bool tensor (batch, S), True on real source positions")
    if mask.dim() != 2 or mask.shape[0] != scores.shape[0] or mask.shape[1] != scores.shape[-1]:
        raise ValueError(f"mask must be (batch, S) = ({scores.shape[0]}, {scores.shape[-1]}), "
                         f"got {tuple(mask.shape)}")
    if not mask.any(dim=1).all():
        raise ValueError("a source row has no real position (all padding): attention over it is undefined")
    m = mask if scores.dim() == 2 else mask.unsqueeze(1)
    scores = scores.masked_fill(~m, float("-inf"))
    weights = torch.softmax(scores.float(), dim=-1).to(scores.dtype)
    return weights.masked_fill(~m, 0.0)


def dot_scores(query: torch.Tensor, keys: torch.Tensor, scale: bool = False) -> torch.Tensor:
    """Luong's dot score ``s . h_j`` for every query and source position.

    Args:
        query: ``(batch, Hq)`` or ``(batch, T, Hq)``.
        keys: ``(batch, S, Hq)``.
        scale: divide by ``sqrt(Hq)`` (the Transformer's scaled dot product).

    Returns:
        ``(batch, S)`` or ``(batch, T, S)``.
    """
    q, single = _as_steps(query)
    _check_keys(keys, q.shape[0])
    if keys.shape[2] != q.shape[2]:
        raise ValueError(f"dot attention needs queries and keys of one size, got {q.shape[2]} and {keys.shape[2]}")
    scores = q @ keys.transpose(1, 2)
    if scale:
        scores = scores / math.sqrt(q.shape[2])
    return scores[:, 0] if single else scores


def additive_scores(query: torch.Tensor, keys: torch.Tensor, W_q: torch.Tensor, W_k: torch.Tensor,
                    v: torch.Tensor) -> torch.Tensor:
    """Bahdanau's additive score ``v . tanh(W_q s + W_k h_j)``.

    Args:
        query: ``(batch, Hq)`` or ``(batch, T, Hq)``.
        keys: ``(batch, S, Hk)``.
        W_q: ``(A, Hq)``; W_k: ``(A, Hk)``; v: ``(A,)``.

    Returns:
        ``(batch, S)`` or ``(batch, T, S)``.
    """
    q, single = _as_steps(query)
    _check_keys(keys, q.shape[0])
    if W_q.shape != (v.shape[0], q.shape[2]) or W_k.shape != (v.shape[0], keys.shape[2]):
        raise ValueError(f"need W_q (A, Hq) = ({v.shape[0]}, {q.shape[2]}), W_k (A, Hk) = ({v.shape[0]}, "
                         f"{keys.shape[2]}), got {tuple(W_q.shape)} and {tuple(W_k.shape)}")
    hidden = torch.tanh((q @ W_q.T).unsqueeze(2) + (keys @ W_k.T).unsqueeze(1))  # (batch, T, S, A)
    scores = hidden @ v
    return scores[:, 0] if single else scores


def attend(weights: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """The context vectors ``sum_j alpha_j h_j``.

    Args:
        weights: ``(batch, S)`` or ``(batch, T, S)``.
        values: ``(batch, S, H)``.

    Returns:
        ``(batch, H)`` or ``(batch, T, H)``.
    """
    if values.dim() != 3 or values.shape[:2] != (weights.shape[0], weights.shape[-1]):
        raise ValueError(f"values must be (batch, S, H) with batch {weights.shape[0]} and S {weights.shape[-1]}, "
                         f"got {tuple(values.shape)}")
    if weights.dim() == 2:
        return (weights.unsqueeze(1) @ values)[:, 0]
    return weights @ values


class Attention(nn.Module):
    """A scoring function with its parameters, the masked softmax and the context in one call.

    Args:
        kind: ``"additive"`` or ``"dot"``.
        query_size, key_size: ``Hq`` and ``Hk`` (equal for ``"dot"``).
        attn_size: ``A``, the additive score's hidden size (default ``key_size``).

    Parameters (``"additive"`` only): ``W_q (A, Hq)``, ``W_k (A, Hk)``, ``v (A,)``.
    """

    def __init__(self, kind: str, query_size: int, key_size: int, attn_size: int | None = None):
        super().__init__()
        if kind not in ("additive", "dot"):
            raise ValueError(f"kind must be 'additive' or 'dot', got {kind!r}")
        if kind == "dot" and query_size != key_size:
            raise ValueError(f"dot attention needs query_size == key_size, got {query_size} and {key_size}")
        self.kind, self.query_size, self.key_size = kind, query_size, key_size
        if kind == "additive":
            a = attn_size or key_size
            self.W_q = nn.Parameter(torch.empty(a, query_size))
            self.W_k = nn.Parameter(torch.empty(a, key_size))
            self.v = nn.Parameter(torch.empty(a))
            for p in (self.W_q, self.W_k):
                nn.init.xavier_uniform_(p)
            nn.init.uniform_(self.v, -1 / math.sqrt(a), 1 / math.sqrt(a))

    def scores(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        """``(batch, [T,] Hq)``, ``(batch, S, Hk)`` -> ``(batch, [T,] S)``."""
        if self.kind == "dot":
            return dot_scores(query, keys)
        return additive_scores(query, keys, self.W_q, self.W_k, self.v)

    def forward(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``query (batch, [T,] Hq)``, ``keys (batch, S, Hk)``, ``mask (batch, S)`` ->
        ``(context (batch, [T,] Hk), weights (batch, [T,] S))``."""
        weights = masked_softmax(self.scores(query, keys), mask)
        return attend(weights, keys), weights

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}, query_size={self.query_size}, key_size={self.key_size}"
