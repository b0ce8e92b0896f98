"""Intrinsic evaluation of word vectors: word similarity and analogies.

- :func:`word_similarity`: Spearman correlation between cosine similarity and human judgements
  (WordSim353, SimLex-999) with the coverage (pairs whose two words both have a vector);
  it reports what :func:`course_lib.embeddings.similarity_spearman` computes, plus coverage.
- :func:`analogy_accuracy`: ``a : b :: c : ?`` answered by 3CosAdd,
  ``argmax_{d not in {a, b, c}} cos(d, b - a + c)`` over unit vectors, vectorised in chunks of
  questions; questions with a word outside the vocabulary are skipped and counted in coverage.
- :func:`from_keyed_vectors`: gensim ``KeyedVectors`` -> ``(Vocab, vectors)``, so gensim's models are
  scored by exactly the same code as ours.
- :func:`spearman_interval`: a bootstrap interval for a word-similarity Spearman (how much of a
  difference between two models a test set of a few hundred pairs can resolve);
  :func:`evaluation_table` and :func:`format_table`: several models scored on the same sets, one row
  each, and printed as an aligned text table.

Nearest neighbours live in :mod:`course_lib.embeddings` (``nearest_words``).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from course_lib.data.vocab import SPECIALS, Vocab
from course_lib.embeddings import similarity_spearman

__all__ = ["word_similarity", "analogy_accuracy", "from_keyed_vectors", "evaluate_all", "spearman_interval",
           "evaluation_table", "format_table"]


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
    return _evaluate_all_with_sections(vectors, vocab, restrict)[0]


def _evaluate_all_with_sections(vectors: torch.Tensor, vocab: Vocab,
                                restrict: int | None = None) -> tuple[dict, dict[str, tuple[int, int]]]:
    """:func:`evaluate_all`'s dict and the analogy ``sections`` (``{name: (correct, covered)}``)."""
    from course_lib.data.corpora import analogy_questions, simlex999, wordsim353

    ws = word_similarity(vectors, vocab, wordsim353())
    sl = word_similarity(vectors, vocab, simlex999())
    an = analogy_accuracy(vectors, vocab, analogy_questions(), restrict=restrict)
    return {"wordsim353": ws["spearman"], "wordsim353_coverage": ws["coverage"],
            "simlex999": sl["spearman"], "simlex999_coverage": sl["coverage"],
            "analogy": an["accuracy"], "analogy_coverage": an["coverage"]}, an["sections"]


def spearman_interval(vectors: torch.Tensor, vocab: Vocab, pairs: Sequence[tuple[str, str, float]],
                      n_boot: int = 1000, level: float = 0.95, seed: int = 0,
                      versus: torch.Tensor | None = None) -> tuple[float, float]:
    """A percentile-bootstrap interval for :func:`word_similarity`'s Spearman rho.

    The covered pairs are resampled with replacement ``n_boot`` times and rho is recomputed on each
    resample (ties get average ranks, as in ``scipy.stats.spearmanr``); the interval holds the middle
    ``level`` of those values. It measures the noise of the *test set*, not of training.

    Args:
        vectors: ``(V, dim)``; vocab: the vocabulary; pairs: ``(word1, word2, score)``.
        n_boot: resamples; level: e.g. 0.95; seed: of the resampling (deterministic for a seed).
        versus: ``(V, dim_2)`` vectors of a second model over the same ``vocab``: the interval is then
            for the *difference* ``rho(vectors) - rho(versus)``, both computed on the same resamples
            (a paired bootstrap: narrower than the two separate intervals suggest, because the two
            models find the same pairs easy or hard).

    Returns:
        ``(low, high)``.
    """
    import numpy as np
    from scipy.stats import rankdata

    _check_vectors(vectors, vocab)
    if versus is not None:
        _check_vectors(versus, vocab)
    if not 0 < level < 1 or n_boot < 10:
        raise ValueError(f"need 0 < level < 1 and n_boot >= 10, got level={level}, n_boot={n_boot}")
    covered = [(vocab.stoi[a], vocab.stoi[b], s) for a, b, s in pairs if a in vocab.stoi and b in vocab.stoi]
    if len(covered) < 3:
        raise ValueError(f"only {len(covered)} of {len(pairs)} pairs are in the vocabulary; need at least 3")
    ia, ib, human = (torch.tensor([c[i] for c in covered]) for i in range(3))
    idx = np.random.default_rng(seed).integers(0, len(covered), size=(n_boot, len(covered)))  # (n_boot, n)
    ry = rankdata(human.numpy()[idx], axis=1)
    ry = ry - ry.mean(1, keepdims=True)

    def boot_rho(vecs: torch.Tensor) -> np.ndarray:  # (n_boot,)
        cos = torch.nn.functional.cosine_similarity(vecs[ia].float(), vecs[ib].float(), dim=-1).numpy()
        rx = rankdata(cos[idx], axis=1)
        rx = rx - rx.mean(1, keepdims=True)
        denom = np.sqrt((rx**2).sum(1) * (ry**2).sum(1))
        return np.where(denom > 0, (rx * ry).sum(1) / np.where(denom > 0, denom, 1.0), 0.0)

    rho = boot_rho(vectors) if versus is None else boot_rho(vectors) - boot_rho(versus)
    lo, hi = np.quantile(rho, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def evaluation_table(models: Mapping[str, tuple[torch.Tensor, Vocab]], n_boot: int = 1000,
                     seed: int = 0) -> list[dict]:
    """Score several models on the same evaluation sets: one row per model.

    Args:
        models: ``{name: (vectors (V_m, dim_m), vocab_m)}``, in the order the rows should have.
        n_boot, seed: for the WordSim353 interval (:func:`spearman_interval`).

    Returns:
        ``[{"model": name, **evaluate_all(...), "wordsim353_low", "wordsim353_high", "analogy_syntactic",
        "analogy_semantic", "analogy_syntactic_share"}, ...]``: the interval of :func:`spearman_interval`;
        the analogy accuracy split into the syntactic sections of the question set (named ``gram...``:
        plurals, tenses, comparatives, ...) and the semantic ones (capitals, currencies, family, ...),
        and the share of covered questions that are syntactic. The coverages say whether the models
        were scored on the same pairs (they are when they share a vocabulary).
    """
    from course_lib.data.corpora import wordsim353

    if not models:
        raise ValueError("models is empty: give {name: (vectors, vocab)}")
    rows = []
    for name, (vectors, vocab) in models.items():
        lo, hi = spearman_interval(vectors, vocab, wordsim353(), n_boot=n_boot, seed=seed)
        scores, sections = _evaluate_all_with_sections(vectors, vocab)
        split = {}
        for kind, is_syntactic in (("syntactic", True), ("semantic", False)):
            ok, covered = (sum(x) for x in zip((0, 0), *(v for k, v in sections.items()
                                                         if k.startswith("gram") == is_syntactic)))
            split[kind] = (ok / covered if covered else 0.0, covered)
        n_covered = split["syntactic"][1] + split["semantic"][1]
        rows.append({"model": name, **scores, "wordsim353_low": lo, "wordsim353_high": hi,
                     "analogy_syntactic": split["syntactic"][0], "analogy_semantic": split["semantic"][0],
                     "analogy_syntactic_share": split["syntactic"][1] / n_covered if n_covered else 0.0})
    return rows


def format_table(rows: Sequence[Mapping], columns: Mapping[str, str] | None = None,
                 fmt: str | Mapping[str, str] = ".3f") -> str:
    """Rows of dicts as an aligned text table (numbers right-aligned with ``fmt``, text left-aligned).

    Args:
        rows: dicts with the same keys.
        columns: ``{key: header}`` to choose, order and name the columns (default: every key of the
            first row, headed by its key).
        fmt: format of float cells (ints are printed as they are); a dict ``{key: format}`` sets it
            per column (the others get ``".3f"``).
    """
    if not rows:
        raise ValueError("no rows to format")
    columns = dict(columns) if columns is not None else {k: k for k in rows[0]}
    missing = [k for k in columns if any(k not in r for r in rows)]
    if missing:
        raise KeyError(f"rows lack the column(s) {missing}")

    formats = dict(fmt) if isinstance(fmt, Mapping) else {}
    default = fmt if isinstance(fmt, str) else ".3f"

    def cell(x: object, key: str) -> str:
        if isinstance(x, float):
            return format(x, formats.get(key, default))
        return str(x)

    body = [[cell(r[k], k) for k in columns] for r in rows]
    numeric = [all(isinstance(r[k], (int, float)) for r in rows) for k in columns]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(columns.values())]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric)).rstrip()

    return "\n".join([line(list(columns.values())), line(["-" * w for w in widths])] + [line(b) for b in body])
