"""Generating sequences from a trained language model: argmax, sampling, temperature, top-k,
beam search.

Every function here talks to the model through one small interface, a *step function*::

    logits, state = step(tokens, state)
    # tokens: (batch,) long, the previous token of each sequence
    # state:  whatever the model carries (a tensor or a tuple of tensors), or None at the start
    # logits: (batch, V), the unnormalised scores o_t of the next token

so the same code generates from a vanilla RNN, an LSTM or a bidirectional encoder's decoder.
:func:`rnn_step` makes one from a model with ``forward(x, h) -> (logits, h)``.

Beam search needs to copy states when it keeps several continuations of the same prefix; by
default every tensor in the state is indexed along ``state_batch_dim`` (0 for ``(batch, hidden)``
states, 1 for ``nn.RNN``'s ``(layers, batch, hidden)``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "StepFn", "rnn_step", "next_token_distribution", "sample_next", "generate", "score_sequence",
    "beam_search", "BeamResult",
]

StepFn = Callable[[torch.Tensor, Any], tuple[torch.Tensor, Any]]


def rnn_step(model: torch.nn.Module) -> StepFn:
    """A step function for a model with ``forward(x: (batch, time) long, h) -> (logits (batch, time, V), h)``."""

    def step(tokens: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        logits, state = model(tokens.unsqueeze(1), state)
        return logits[:, -1], state

    return step


def _check_logits(logits: torch.Tensor) -> None:
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2:
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"logits must be (batch, V), got {shape}")


def next_token_distribution(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None
                            ) -> torch.Tensor:
    """The distribution we sample the next token from: ``softmax(o_t / T)``, optionally only over the top k.

    Args:
        logits: ``(batch, V)`` scores o_t.
        temperature: T > 0. T < 1 sharpens the distribution (towards argmax), T > 1 flattens it
            (towards uniform). Use :func:`sample_next` with ``temperature=0`` for argmax.
        top_k: keep only the k most likely tokens (renormalised); None keeps all.

    Returns:
        probs: ``(batch, V)``, rows sum to 1.
    """
    _check_logits(logits)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0 for a distribution, got {temperature!r}")
    scaled = logits.float() / temperature
    if top_k is not None:
        if not isinstance(top_k, int) or top_k < 1:
            raise ValueError(f"top_k must be a positive int or None, got {top_k!r}")
        if top_k < scaled.shape[-1]:
            kth = scaled.topk(top_k, dim=-1).values[:, -1:]
            scaled = scaled.masked_fill(scaled < kth, float("-inf"))
    return F.softmax(scaled, dim=-1)


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Draw the next token of each row.

    Args:
        logits: ``(batch, V)``.
        temperature: as in :func:`next_token_distribution`; ``0`` means argmax (greedy).
        top_k: sample among the k most likely tokens only.
        generator: a ``torch.Generator`` for reproducible draws.

    Returns:
        ``(batch,)`` long.
    """
    _check_logits(logits)
    if temperature == 0:
        return logits.argmax(dim=-1)
    probs = next_token_distribution(logits, temperature, top_k)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


@torch.no_grad()
def generate(step: StepFn, first: torch.Tensor | int, n_steps: int, state: Any = None,
             temperature: float = 1.0, top_k: int | None = None, generator: torch.Generator | None = None,
             eos_id: int | None = None, pad_id: int = 0) -> torch.Tensor:
    """Feed each drawn token back in as the next input (the model's own predictions).

    Args:
        step: the model's step function.
        first: ``(batch,)`` long (or one int) -- the token(s) to start from, e.g. ``<bos>`` or a prompt's
            last token (run the rest of the prompt through the model to get ``state`` first).
        n_steps: how many tokens to generate (at most, with ``eos_id``).
        state: the state to start from (None: the model's default).
        temperature, top_k, generator: as in :func:`sample_next` (``temperature=0`` is greedy).
        eos_id: if given, a row that draws ``eos_id`` is finished: its later positions hold ``pad_id``,
            and generation stops early once every row is finished.
        pad_id: what fills a finished row.

    Returns:
        ``(batch, n)`` long, the generated tokens (``first`` not included); ``n = n_steps``, or fewer
        when every row reached ``eos_id`` sooner.
    """
    if not isinstance(n_steps, int) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative int, got {n_steps!r}")
    tokens = torch.as_tensor(first, dtype=torch.long)
    if tokens.dim() == 0:
        tokens = tokens.unsqueeze(0)
    if tokens.dim() != 1:
        raise ValueError(f"first must be one id or (batch,) ids, got shape {tuple(tokens.shape)}")
    out = []
    finished = torch.zeros(tokens.shape[0], dtype=torch.bool, device=tokens.device)
    for _ in range(n_steps):
        logits, state = step(tokens, state)
        tokens = sample_next(logits, temperature, top_k, generator)
        if eos_id is not None:
            tokens = tokens.masked_fill(finished.to(tokens.device), pad_id)
            finished = finished.to(tokens.device) | (tokens == eos_id)
        out.append(tokens)
        if eos_id is not None and bool(finished.all()):
            break
    if not out:
        return tokens.new_zeros(tokens.shape[0], 0)
    return torch.stack(out, dim=1)


@torch.no_grad()
def score_sequence(step: StepFn, first: int, tokens: torch.Tensor | list[int], state: Any = None) -> float:
    """``sum_t log p(tokens_t | first, tokens_<t)`` of one continuation (natural log).

    Args:
        first: the start token.
        tokens: ``(n,)`` the continuation to score.
    """
    tokens = torch.as_tensor(tokens, dtype=torch.long).flatten()
    prev = torch.tensor([first])
    total = 0.0
    for tok in tokens.tolist():
        logits, state = step(prev, state)
        total += float(F.log_softmax(logits.double(), dim=-1)[0, tok])
        prev = torch.tensor([tok])
    return total


def _index_state(state: Any, idx: torch.Tensor, dim: int) -> Any:
    if state is None:
        return None
    if isinstance(state, torch.Tensor):
        return state.index_select(dim, idx.to(state.device))
    if isinstance(state, (tuple, list)):
        return type(state)(_index_state(s, idx, dim) for s in state)
    raise TypeError(f"cannot reorder a state of type {type(state).__name__}: pass reorder_state=...")


@dataclass
class BeamResult:
    """One finished hypothesis of :func:`beam_search`.

    Attributes:
        tokens: the generated ids (``first`` not included; ``eos`` included if it ended there).
        log_prob: ``sum_t log p(token_t | ...)`` (natural log).
    """

    tokens: list[int]
    log_prob: float


@torch.no_grad()
def beam_search(step: StepFn, first: int, n_steps: int, beam_width: int = 5, state: Any = None,
                eos_id: int | None = None, state_batch_dim: int = 0,
                reorder_state: Callable[[Any, torch.Tensor], Any] | None = None) -> list[BeamResult]:
    """Keep the ``beam_width`` most likely prefixes at every step instead of only the best one.

    At each step every kept prefix is extended by every token; of the ``beam_width * V``
    candidates the ``beam_width`` with the highest total log-probability survive. A prefix that
    produces ``eos_id`` is finished and leaves the beam.

    With ``beam_width=1`` this is exactly greedy (argmax) decoding. A wider beam usually finds a
    more likely sequence than greedy, but this is not guaranteed: the greedy prefix can be pruned
    early by prefixes that later turn out worse.

    Args:
        step: the model's step function (one sequence, so batch 1 at the start).
        first: the start token id.
        n_steps: the maximum number of tokens to generate.
        beam_width: how many prefixes to keep.
        state: the start state for batch 1 (None: the model's default).
        eos_id: the end-of-sequence id, or None for fixed-length generation.
        state_batch_dim: the batch dimension of the state's tensors.
        reorder_state: ``reorder_state(state, idx)`` selects the rows ``idx`` of a state
            (default: ``index_select`` along ``state_batch_dim`` on every tensor).

    Returns:
        The hypotheses, most likely first (at most ``beam_width``).
    """
    if not isinstance(beam_width, int) or beam_width < 1:
        raise ValueError(f"beam_width must be a positive int, got {beam_width!r}")
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps must be a positive int, got {n_steps!r}")
    reorder = reorder_state or (lambda s, idx: _index_state(s, idx, state_batch_dim))
    prefixes: list[list[int]] = [[]]
    scores = torch.zeros(1, dtype=torch.float64)
    last = torch.tensor([first])
    finished: list[BeamResult] = []
    for _ in range(n_steps):
        logits, state = step(last, state)
        logp = F.log_softmax(logits.double(), dim=-1)           # (beams, V)
        vocab = logp.shape[1]
        total = (scores.unsqueeze(1) + logp).flatten()           # (beams * V,)
        top = total.topk(min(beam_width, total.numel()))
        beam_idx = torch.div(top.indices, vocab, rounding_mode="floor")
        tok_idx = top.indices % vocab
        keep_rows, new_prefixes, new_scores = [], [], []
        for b, t, s in zip(beam_idx.tolist(), tok_idx.tolist(), top.values.tolist()):
            seq = prefixes[b] + [t]
            if eos_id is not None and t == eos_id:
                finished.append(BeamResult(seq, s))
            else:
                keep_rows.append(b)
                new_prefixes.append(seq)
                new_scores.append(s)
        if not new_prefixes:
            break
        rows = torch.tensor(keep_rows)
        state = reorder(state, rows)
        prefixes = new_prefixes
        scores = torch.tensor(new_scores, dtype=torch.float64)
        last = torch.tensor([p[-1] for p in prefixes])
        if len(finished) >= beam_width and max(r.log_prob for r in finished) >= float(scores.max()):
            break  # nothing still open can beat the best finished hypothesis
    else:
        finished.extend(BeamResult(p, s) for p, s in zip(prefixes, scores.tolist()))
    if eos_id is not None and not finished:
        finished = [BeamResult(p, s) for p, s in zip(prefixes, scores.tolist())]
    finished.sort(key=lambda r: -r.log_prob)
    return finished[:beam_width]
