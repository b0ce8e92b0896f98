"""Contextual embeddings, measured: the vectors a biLM gives one word in many sentences, and how alike they are.

- :func:`token_vectors` / :func:`embed_sentences`: the three layers of a :class:`~course_lib.models.elmo.BiLM`
  (see :func:`~course_lib.models.elmo.layer_representations`) for chosen words / every word;
- :func:`within_across_similarity`: mean cosine between occurrences of the same sense and of
  different senses (the senses: :mod:`course_lib.data.senses`);
- :func:`context_parts`: each occurrence minus the word's average -- what the context added;
- :func:`nearest_tokens`: nearest rows of a bank of vectors.

Cosines are :func:`course_lib.embeddings.cosine_similarity` (a zero vector has similarity 0).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from course_lib.embeddings import cosine_similarity, nearest_neighbours
from course_lib.models.base import eval_mode
from course_lib.models.elmo import BiLM, encode_chars, layer_representations

__all__ = ["within_across_similarity", "context_parts", "nearest_tokens", "token_vectors", "embed_sentences"]


def within_across_similarity(vectors: torch.Tensor, senses: Sequence[Any]) -> tuple[float, float]:
    """Mean cosine between occurrences of the *same* sense and between *different* senses.

    Args:
        vectors: ``(n, dim)`` one vector per occurrence of a word.
        senses: ``n`` sense labels (at least two occurrences of some sense, and two senses).

    Returns:
        ``(within, across)``: means over pairs ``i < j`` with equal / different labels
        (a pair of an occurrence with itself is never counted).
    """
    if vectors.dim() != 2 or len(senses) != vectors.shape[0]:
        raise ValueError(f"need vectors (n, dim) and n sense labels, got {tuple(vectors.shape)} and {len(senses)}")
    sim = cosine_similarity(vectors.detach().float())
    lab = list(senses)
    same = torch.tensor([[x == y for y in lab] for x in lab])
    upper = torch.ones_like(same).triu(diagonal=1)
    within, across = same & upper, ~same & upper
    if not within.any() or not across.any():
        raise ValueError("need at least two occurrences of one sense and two different senses")
    return float(sim[within].mean()), float(sim[across].mean())


def context_parts(vectors: torch.Tensor, rel_tol: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Split each occurrence's vector into the word's average and what the context added.

    Args:
        vectors: ``(layers, n, dim)``: one vector per layer for ``n`` occurrences of *one* word.
        rel_tol: a remainder shorter than ``rel_tol`` times the layer's mean vector length is float
            rounding (layer 0 gives every occurrence the same vector) and is set to exactly zero.

    Returns:
        ``(parts, share)``: ``parts: (layers, n, dim)`` is ``vectors`` minus the per-layer mean over the
        ``n`` occurrences; ``share: (layers,)`` is the mean of ``|part| / |vector|`` (0 for layer 0).
    """
    if vectors.dim() != 3 or vectors.shape[1] < 2:
        raise ValueError(f"need vectors (layers, n >= 2, dim), got {tuple(vectors.shape)}")
    v = vectors.detach().float()
    parts = v - v.mean(dim=1, keepdim=True)
    scale = v.norm(dim=2).mean(dim=1, keepdim=True)                      # (layers, 1)
    parts = torch.where((parts.norm(dim=2) <= rel_tol * scale).unsqueeze(-1), torch.zeros_like(parts), parts)
    share = (parts.norm(dim=2) / v.norm(dim=2).clamp_min(1e-12)).mean(dim=1)
    return parts, share


def nearest_tokens(query: torch.Tensor, bank: torch.Tensor, k: int = 5, exclude: Sequence[int] = ()
                   ) -> list[tuple[int, float]]:
    """The ``k`` rows of ``bank: (n, dim)`` most cosine-similar to ``query: (dim,)``
    (:func:`course_lib.embeddings.nearest_neighbours`, as a list).

    Returns:
        ``[(row, cosine), ...]`` best first, skipping the rows in ``exclude`` (fewer than ``k`` if
        the bank has fewer rows left).
    """
    if query.dim() != 1 or bank.dim() != 2 or bank.shape[1] != query.shape[0]:
        raise ValueError(f"need query (dim,) and bank (n, dim), got {tuple(query.shape)} and {tuple(bank.shape)}")
    k = min(k, bank.shape[0] - len(set(exclude)))
    if k < 1:
        return []
    rows, sims = nearest_neighbours(query, bank, k=k, exclude=exclude)
    return [(int(i), float(s)) for i, s in zip(rows, sims)]


@torch.no_grad()
def token_vectors(model: BiLM, sentences: Sequence[Sequence[str]], positions: Sequence[int],
                  batch_size: int = 64) -> torch.Tensor:
    """The per-layer vector of one chosen word in each sentence (model in eval mode).

    Args:
        sentences: tokenised sentences.
        positions: for each sentence, the index of the word of interest.

    Returns:
        ``(3, n_sentences, 2 * dim)``: layer 0, 1, 2 (see :func:`layer_representations`).
    """
    if len(sentences) != len(positions):
        raise ValueError(f"got {len(sentences)} sentences but {len(positions)} positions")
    device = next(model.parameters()).device
    rows = []
    with eval_mode(model):
        for s in range(0, len(sentences), batch_size):
            chars, mask = encode_chars(sentences[s:s + batch_size], model.config.max_chars)
            reps = layer_representations(model(chars.to(device), mask.to(device)))  # (3, b, t, 2d)
            pos = torch.tensor(positions[s:s + batch_size], device=device)
            rows.append(reps[:, torch.arange(len(pos), device=device), pos].cpu())
    return torch.cat(rows, dim=1)


@torch.no_grad()
def embed_sentences(model: BiLM, sentences: Sequence[Sequence[str]], batch_size: int = 64) -> torch.Tensor:
    """Per-layer vectors of every word of every sentence, concatenated in reading order.

    Returns:
        ``(3, n_words, 2 * dim)`` with ``n_words = sum(len(s) for s in sentences)``; row ``k`` is the
        ``k``-th word when the sentences are read one after the other.
    """
    device = next(model.parameters()).device
    rows = []
    with eval_mode(model):
        for s in range(0, len(sentences), batch_size):
            chars, mask = encode_chars(sentences[s:s + batch_size], model.config.max_chars)
            mask = mask.to(device)
            reps = layer_representations(model(chars.to(device), mask))    # (3, b, t, 2d)
            rows.append(reps[:, mask].cpu())                               # (3, real words, 2d), row-major
    return torch.cat(rows, dim=1)
