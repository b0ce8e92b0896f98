"""Intrinsic evaluation of word vectors: word similarity and analogies.

- :func:`word_similarity`: Spearman correlation between cosine similarity and human judgements
  (WordSim353, SimLex-999) with the coverage (pairs whose two words both have a vector);
  it reports what :func:`course_lib.embeddings.similarity_spearman` computes, plus coverage.
- :func:`analogy_accuracy`: ``a : b :: c : ?`` answered by 3CosAdd,
  ``argmax_{d not in {a, b, c}} cos(d, b - a + c)`` over unit vectors, vectorised in chunks of
  questions; questions with a word outside the vocabulary are skipped and counted in coverage.
- :func:`from_keyed_vectors`: gensim ``KeyedVectors`` -> ``(Vocab, vectors)``, so gensim's models are
  scored by exactly the same code as ours.

Nearest neighbours live in :mod:`course_lib.embeddings` (``nearest_words``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from course_lib.data.vocab import SPECIALS, Vocab
from course_lib.embeddings import similarity_spearman

__all__ = ["word_similarity", "analogy_accuracy", "from_keyed_vectors", "evaluate_all"]


def _check_vectors(vectors: torch.Tensor, vocab: Vocab) -> None:
    if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2 or vectors.shape[0] != len(vocab):
        shape = tuple(vectors.shape) if isinstance(vectors, torch.Tensor) else type(vectors).__name__
        raise ValueError(f"vectors must be a tensor (len(vocab), dim) = ({len(vocab)}, dim), got {shape}")


def word_similarity(vectors: torch.Tensor, vocab: Vocab, pairs: Sequence[tuple[str, str, float]]) -> dict:
    """Spearman's rho between cosine similarities and human scores, on the covered pairs.

    Args:
        vectors: ``(V, dim)``, row ``i`` for ``vocab.itos[i]``.
        vocab: the vocabulary.
        pairs: ``(word1, word2, score)``, e.g. :func:`course_lib.data.wordsim353`.

    Returns:
        ``{"spearman": rho, "covered": n, "total": len(pairs), "coverage": n / len(pairs)}``.
    """
    _check_vectors(vectors, vocab)
    if not pairs:
        raise ValueError("pairs is empty")
    rho, n = similarity_spearman(vectors.float(), vocab, pairs)
    return {"spearman": rho, "covered": n, "total": len(pairs), "coverage": n / len(pairs)}


@torch.no_grad()
def analogy_accuracy(vectors: torch.Tensor, vocab: Vocab,
                     questions: Sequence[tuple[str, str, str, str]] | Mapping[str, Sequence],
                     restrict: int | None = None, chunk: int = 1024) -> dict:
    """3CosAdd analogy accuracy: for ``a : b :: c : d``, is ``d`` the nearest word to ``b - a + c``?

    All vectors are scaled to unit length first; the candidates are the vocabulary (the reserved
    tokens excluded, and only the ``restrict`` most frequent words if given -- gensim's
    ``restrict_vocab``), never ``a``, ``b`` or ``c`` themselves.

    Args:
        vectors: ``(V, dim)``.
        vocab: the vocabulary (most frequent words first, as :class:`Vocab` orders them).
        questions: ``[(a, b, c, d), ...]`` or a dict of sections (:func:`course_lib.data.analogy_questions`).
        restrict: keep only questions whose four words are among the first ``restrict`` words.
        chunk: questions scored at once (memory ``chunk x V``).

    Returns:
        ``{"accuracy": correct / covered, "correct", "covered", "total", "coverage",
        "sections": {name: (correct, covered)}}`` (accuracy is 0.0 if nothing is covered).
    """
    _check_vectors(vectors, vocab)
    sections = dict(questions) if isinstance(questions, Mapping) else {"all": list(questions)}
    first = len(SPECIALS)
    limit = len(vocab) if restrict is None else min(len(vocab), first + restrict)
    unit = vectors[:limit].float()
    unit = unit / unit.norm(dim=1, keepdim=True).clamp_min(1e-8)  # (V', dim)
    out_sections: dict[str, tuple[int, int]] = {}
    correct = covered = total = 0
    for name, qs in sections.items():
        total += len(qs)
        ids = [[vocab.stoi.get(w, -1) for w in q] for q in qs]
        ids = [q for q in ids if all(first <= i < limit for i in q)]
        ok = 0
        for k in range(0, len(ids), chunk):
            q = torch.tensor(ids[k:k + chunk])  # (n, 4): a, b, c, d
            target = unit[q[:, 1]] - unit[q[:, 0]] + unit[q[:, 2]]  # (n, dim)
            scores = target @ unit.T  # (n, V')
            scores[:, :first] = -float("inf")
            scores.scatter_(1, q[:, :3], -float("inf"))
            ok += int((scores.argmax(1) == q[:, 3]).sum())
        out_sections[name] = (ok, len(ids))
        correct += ok
        covered += len(ids)
    return {"accuracy": correct / covered if covered else 0.0, "correct": correct, "covered": covered,
            "total": total, "coverage": covered / total if total else 0.0, "sections": out_sections}


def from_keyed_vectors(kv: Any) -> tuple[Vocab, torch.Tensor]:
    """gensim ``KeyedVectors`` -> ``(vocab, vectors: (4 + n, dim))`` with zero rows for the reserved tokens.

    The word order (gensim's, most frequent first) is kept.
    """
    words = list(kv.index_to_key)
    vocab = Vocab(list(SPECIALS) + words)
    vecs = torch.zeros(len(vocab), kv.vector_size)
    vecs[len(SPECIALS):] = torch.from_numpy(kv.vectors[: len(words)].copy()).float()
    return vocab, vecs


def evaluate_all(vectors: torch.Tensor, vocab: Vocab, restrict: int | None = None) -> dict:
    """WordSim353 and SimLex-999 Spearman (with coverage) and analogy accuracy, as one flat dict."""
    from course_lib.data.corpora import analogy_questions, simlex999, wordsim353

    ws = word_similarity(vectors, vocab, wordsim353())
    sl = word_similarity(vectors, vocab, simlex999())
    an = analogy_accuracy(vectors, vocab, analogy_questions(), restrict=restrict)
    return {"wordsim353": ws["spearman"], "wordsim353_coverage": ws["coverage"],
            "simlex999": sl["spearman"], "simlex999_coverage": sl["coverage"],
            "analogy": an["accuracy"], "analogy_coverage": an["coverage"]}
