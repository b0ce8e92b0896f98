"""Word embeddings: one-hot vectors, lookups, cosine similarity, neighbours, and count-based vectors.

Notation (as on the slides): a vocabulary of ``V`` word types, dense vectors of size ``E``
(called ``dim`` here); the embedding matrix ``E: (V, dim)`` holds one row per word, and the
lookup ``x_t = E[w_t]`` is the one-hot vector of ``w_t`` times ``E``.

What is here:

- :func:`one_hot`, :func:`embed_lookup` (one-hot x matrix, the same numbers as ``nn.Embedding``);
- :func:`cosine_similarity` (all pairs, batched; a zero vector has similarity 0 with everything),
  :func:`nearest_neighbours`, :func:`nearest_words`, :func:`mean_vector`;
- count-based word vectors: :func:`cooccurrence_counts` -> :func:`ppmi` -> :func:`truncated_svd`,
  all three in :func:`ppmi_svd_vectors` (cached, in the word-vector file format of
  :func:`cached_vectors`), and :func:`similarity_spearman` to score them on
  WordSim353 / SimLex-999;
- the small reference pieces of skip-gram and fastText that assignment 1 mirrors and lecture 2
  reuses: :func:`negative_sampling_loss`, :func:`keep_probability`, :func:`noise_distribution`,
  :func:`char_ngrams`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.cache import cached
from course_lib.data.vocab import SPECIALS, Vocab

__all__ = [
    "one_hot", "embed_lookup", "cosine_similarity", "nearest_neighbours", "nearest_words", "mean_vector",
    "cooccurrence_counts", "ppmi", "truncated_svd", "ppmi_svd_vectors", "cached_vectors", "similarity_spearman",
    "negative_sampling_loss", "keep_probability", "noise_distribution", "char_ngrams",
]


# --- one-hot and lookup -------------------------------------------------------------------------

def _check_ids(ids: torch.Tensor, vocab_size: int, name: str = "ids") -> None:
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of integer ids, got {type(ids).__name__}")
    if ids.dtype.is_floating_point or ids.dtype.is_complex or ids.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer ids (torch.long), got dtype {ids.dtype}")
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < 1:
        raise ValueError(f"vocab_size must be a positive int, got {vocab_size!r}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        bad = int(ids.min()) if int(ids.min()) < 0 else int(ids.max())
        raise IndexError(f"{name} contains {bad}, outside the vocabulary (valid ids are 0..{vocab_size - 1})")


def one_hot(ids: torch.Tensor, vocab_size: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """One-hot vectors over a vocabulary of ``vocab_size`` words.

    Args:
        ids: ``(...)`` integer word ids in ``[0, vocab_size)`` (any shape, may be empty).
        vocab_size: ``V``.
        dtype: of the result (float, so it can be multiplied with an embedding matrix).

    Returns:
        ``(..., V)``: a 1 at position ``ids[...]``, 0 elsewhere.

    Raises:
        TypeError: if ``ids`` is not an integer tensor.
        IndexError: if an id is outside ``[0, V)``.
    """
    _check_ids(ids, vocab_size)
    out = torch.zeros(*ids.shape, vocab_size, dtype=dtype, device=ids.device)
    out.scatter_(-1, ids.unsqueeze(-1).long(), 1)
    return out


def embed_lookup(ids: torch.Tensor, E: torch.Tensor) -> torch.Tensor:
    """The embedding lookup written as a matrix product: ``one_hot(ids) @ E``.

    Gives the same numbers as ``nn.Embedding`` with ``weight = E`` (``E[ids]``); it is
    here to show *why* a lookup is a linear layer, not to be fast (it builds ``(..., V)``).

    Args:
        ids: ``(...)`` integer word ids.
        E: ``(V, dim)`` the embedding matrix, one row per word.

    Returns:
        ``(..., dim)``.
    """
    if not isinstance(E, torch.Tensor) or E.dim() != 2:
        raise ValueError(f"E must be a 2-D tensor (V, dim), got {getattr(E, 'shape', type(E).__name__)}")
    return one_hot(ids, E.shape[0], dtype=E.dtype) @ E


# --- similarity and neighbours -------------------------------------------------------------------

def cosine_similarity(a: torch.Tensor, b: torch.Tensor | None = None, eps: float = 1e-8) -> torch.Tensor:
    """Cosine similarity of every row of ``a`` with every row of ``b``.

    ``cos(A, B) = A.B / (|A| |B|)``. Each norm is clamped below at ``eps`` (as
    ``torch.nn.functional.cosine_similarity`` does), so a **zero vector has similarity 0 with
    every vector, itself included** -- never NaN.

    Args:
        a: ``(..., n, dim)``.
        b: ``(..., m, dim)``; leading (batch) dimensions broadcast with ``a``'s. Default: ``a``.
        eps: the smallest norm used in the division.

    Returns:
        ``(..., n, m)``; entry ``[..., i, j]`` equals
        ``F.cosine_similarity(a[..., i, :], b[..., j, :], dim=-1)``.
    """
    b = a if b is None else b
    for name, x in (("a", a), ("b", b)):
        if not isinstance(x, torch.Tensor) or x.dim() < 2:
            raise ValueError(f"{name} must be a tensor of shape (..., rows, dim), got "
                             f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    if a.shape[-1] != b.shape[-1]:
        raise ValueError(f"a and b must have the same vector size, got dim {a.shape[-1]} and {b.shape[-1]}")
    a_unit = a / a.norm(dim=-1, keepdim=True).clamp_min(eps)
    b_unit = b / b.norm(dim=-1, keepdim=True).clamp_min(eps)
    return a_unit @ b_unit.transpose(-1, -2)


def _word_id(word: str, vocab: Vocab | None) -> int:
    if vocab is None:
        raise ValueError(f"got the word {word!r} as a query: pass vocab= to look it up")
    if word not in vocab:
        raise KeyError(f"{word!r} is not in the vocabulary (size {len(vocab)})")
    return vocab.stoi[word]


def nearest_neighbours(query: int | str | torch.Tensor, vectors: torch.Tensor, k: int = 10,
                       exclude: Iterable[int | str] | None = None,
                       vocab: Vocab | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` rows of ``vectors`` with the highest cosine similarity to a query.

    Args:
        query: a row id, a word (needs ``vocab``), or a vector ``(dim,)``. A row id or word is
            never returned as its own neighbour.
        vectors: ``(V, dim)``, one row per word.
        k: how many neighbours (at most the number of rows left after exclusion).
        exclude: more row ids (or words, with ``vocab``) never to return, e.g. the reserved tokens.
        vocab: maps words to rows.

    Returns:
        ``(ids, scores)``, both ``(k,)``, most similar first.
    """
    if not isinstance(vectors, torch.Tensor) or vectors.dim() != 2:
        raise ValueError(f"vectors must be (V, dim), got "
                         f"{tuple(vectors.shape) if isinstance(vectors, torch.Tensor) else type(vectors).__name__}")
    banned: set[int] = set()
    if isinstance(query, str):
        query = _word_id(query, vocab)
    if isinstance(query, int) and not isinstance(query, bool):
        if not 0 <= query < vectors.shape[0]:
            raise IndexError(f"query id {query} is outside 0..{vectors.shape[0] - 1}")
        banned.add(query)
        qvec = vectors[query]
    elif isinstance(query, torch.Tensor) and query.shape == (vectors.shape[1],):
        qvec = query.to(vectors.dtype)
    else:
        raise ValueError(f"query must be a row id, a word or a vector of shape ({vectors.shape[1]},), got "
                         f"{tuple(query.shape) if isinstance(query, torch.Tensor) else repr(query)}")
    for x in exclude or ():
        banned.add(_word_id(x, vocab) if isinstance(x, str) else int(x))
    n_left = vectors.shape[0] - len({i for i in banned if 0 <= i < vectors.shape[0]})
    if not 1 <= k <= n_left:
        raise ValueError(f"k must be between 1 and {n_left} (rows left after exclusion), got {k}")
    scores = cosine_similarity(qvec[None], vectors)[0]
    if banned:
        scores[torch.tensor(sorted(banned), dtype=torch.long)] = -float("inf")
    top = torch.topk(scores, k)
    return top.indices, top.values


def nearest_words(word: str, vectors: torch.Tensor, vocab: Vocab, k: int = 8) -> list[tuple[str, float]]:
    """``[(neighbour, cosine), ...]`` for a word, skipping the word itself and the reserved tokens."""
    ids, scores = nearest_neighbours(word, vectors, k=k, exclude=range(len(SPECIALS)), vocab=vocab)
    return [(vocab.itos[i], float(s)) for i, s in zip(ids.tolist(), scores)]


def mean_vector(tokens: Sequence[str], vectors: torch.Tensor, vocab: Vocab) -> torch.Tensor:
    """The average of the vectors of the known words of a sentence: ``(dim,)``.

    This "bag of embeddings" ignores word order: any permutation of ``tokens`` gives the same vector.

    Raises:
        ValueError: if no token of the sentence is in the vocabulary.
    """
    ids = [vocab.stoi[t] for t in tokens if t in vocab.stoi]
    if not ids:
        raise ValueError(f"none of the tokens {list(tokens)[:8]} is in the vocabulary")
    return vectors[torch.tensor(ids)].mean(dim=0)


# --- count-based vectors: co-occurrence -> PPMI -> truncated SVD ---------------------------------

def cooccurrence_counts(sentences: Sequence[Sequence[int]], vocab_size: int, window: int = 5) -> Any:
    """Symmetric word-context co-occurrence counts within ``window`` words, as a sparse matrix.

    Every pair of positions at distance ``1..window`` inside one sentence counts once in each
    direction (uniform weights). Ids below 4 (the reserved tokens, ``<unk>`` included) are removed
    from the sentences first, like word2vec drops words outside its vocabulary.

    Args:
        sentences: lists of word ids.
        vocab_size: ``V``.
        window: the largest distance counted.

    Returns:
        ``scipy.sparse.csr_matrix`` ``(V, V)`` of float64 counts, ``C[w, c]`` = how often ``c``
        appears near ``w``; symmetric.
    """
    import scipy.sparse as sp

    if window < 1:
        raise ValueError(f"window must be >= 1, got {window}")
    kept = [np.asarray([i for i in s if i >= len(SPECIALS)], dtype=np.int64) for s in sentences]
    kept = [s for s in kept if len(s) > 1]
    if not kept:
        raise ValueError("no sentence has two or more known words: nothing to count")
    flat = np.concatenate(kept)
    if flat.max() >= vocab_size:
        raise IndexError(f"a sentence contains id {int(flat.max())}, outside 0..{vocab_size - 1}")
    sid = np.repeat(np.arange(len(kept)), [len(s) for s in kept])
    rows, cols = [], []
    for d in range(1, window + 1):
        same = sid[:-d] == sid[d:]
        rows.append(flat[:-d][same])
        cols.append(flat[d:][same])
    r, c = np.concatenate(rows), np.concatenate(cols)
    data = np.ones(2 * len(r))
    return sp.coo_matrix((data, (np.concatenate([r, c]), np.concatenate([c, r]))),
                         shape=(vocab_size, vocab_size)).tocsr()


def ppmi(counts: Any, alpha: float = 0.75) -> Any:
    """Positive pointwise mutual information of a co-occurrence matrix.

    ``PPMI(w, c) = max(0, log P(w, c) / (P(w) P_alpha(c)))`` with the context distribution
    smoothed as ``P_alpha(c) = #c^alpha / sum_c' #c'^alpha`` (Levy, Goldberg & Dagan 2015; the
    same 0.75 as word2vec's noise distribution), which stops rare contexts from getting huge PMI.

    Args:
        counts: ``scipy.sparse`` ``(V, V)`` co-occurrence counts.
        alpha: context smoothing exponent (1.0: plain PMI).

    Returns:
        ``scipy.sparse.csr_matrix`` ``(V, V)``, only positive entries stored.
    """
    import scipy.sparse as sp

    c = sp.csr_matrix(counts, dtype=np.float64)
    total = c.sum()
    if total <= 0:
        raise ValueError("the co-occurrence matrix is empty (all zeros)")
    p_w = np.asarray(c.sum(axis=1)).ravel() / total
    ctx = np.asarray(c.sum(axis=0)).ravel() ** alpha
    p_c = ctx / ctx.sum()
    coo = c.tocoo()
    pmi = np.log(coo.data / total) - np.log(p_w[coo.row]) - np.log(p_c[coo.col])
    keep = pmi > 0
    return sp.csr_matrix((pmi[keep], (coo.row[keep], coo.col[keep])), shape=c.shape)


def truncated_svd(matrix: Any, dim: int, power: float = 0.5, seed: int = 0) -> torch.Tensor:
    """The top-``dim`` singular directions of a sparse matrix, as word vectors ``U_d S_d^power``.

    ``power=0.5`` splits the singular values evenly between words and contexts (Levy et al. found
    it better than the plain ``U S`` for similarity tasks).

    Args:
        matrix: ``scipy.sparse`` ``(V, V)``.
        dim: number of dimensions kept (``< V``).
        power: exponent on the singular values.
        seed: for ARPACK's start vector (the result is deterministic for a seed).

    Returns:
        ``(V, dim)`` float32 tensor, columns by decreasing singular value.
    """
    from scipy.sparse.linalg import svds

    n = min(matrix.shape)
    if not 1 <= dim < n:
        raise ValueError(f"dim must be between 1 and {n - 1} for a {matrix.shape} matrix, got {dim}")
    v0 = np.random.default_rng(seed).standard_normal(n)
    u, s, _ = svds(matrix, k=dim, v0=v0)
    order = np.argsort(-s)
    u, s = u[:, order], s[order]
    return torch.from_numpy((u * s**power).astype(np.float32))


def ppmi_svd_vectors(window: int = 5, min_count: int = 5, dim: int = 100, max_sentences: int | None = None,
                     alpha: float = 0.75, cache: bool = True) -> tuple[Vocab, torch.Tensor]:
    """Count-based word vectors from the Wikipedia extract: co-occurrence -> PPMI -> truncated SVD.

    Sentences come from :func:`course_lib.data.wiki_sentences` (lower-cased, no punctuation).
    The result is cached under :func:`course_lib.cache.cache_dir` (keyed by the arguments) and
    reloaded when present.

    Args:
        window: co-occurrence window (words on each side).
        min_count: words seen fewer times become ``<unk>`` and are left out.
        dim: size of the vectors.
        max_sentences: use only the first sentences (quick runs).
        alpha: context smoothing of :func:`ppmi`.
        cache: read/write the cache.

    Returns:
        ``(vocab, vectors)``: ``vectors: (len(vocab), dim)``; the reserved tokens' rows are zero.
    """
    from course_lib.data.corpora import wiki_sentences

    def build() -> tuple[Vocab, torch.Tensor]:
        sents = wiki_sentences(max_sentences=max_sentences)
        vocab = Vocab.from_corpus(sents, min_count=min_count)
        ids = [vocab.encode(s) for s in sents]
        vectors = truncated_svd(ppmi(cooccurrence_counts(ids, len(vocab), window), alpha=alpha), dim)
        vectors[: len(SPECIALS)] = 0.0
        return vocab, vectors

    settings = {"window": window, "min_count": min_count, "dim": dim, "max_sentences": max_sentences,
                "alpha": alpha}
    return cached_vectors("ppmi_svd", settings, build, version=1, cache=cache)


def _save_vectors(value: tuple[Vocab, torch.Tensor], path: Path) -> None:
    vocab, vectors = value
    torch.save({"itos": vocab.itos, "counts": [vocab.count(t) for t in vocab.itos[len(SPECIALS):]],
                "vectors": vectors}, path)


def _load_vectors(path: Path) -> tuple[Vocab, torch.Tensor]:
    blob = torch.load(path, weights_only=True)
    itos = blob["itos"]
    return Vocab(itos, counts=dict(zip(itos[len(SPECIALS):], blob["counts"]))), blob["vectors"]


def cached_vectors(name: str, settings: dict[str, Any], build: Callable[[], tuple[Vocab, torch.Tensor]],
                   version: int, cache: bool = True) -> tuple[Vocab, torch.Tensor]:
    """Word vectors ``(vocab, vectors (V, dim))`` from the course cache, or ``build()`` and saved there.

    The file (``{"itos", "counts", "vectors"}``) is named by :func:`course_lib.cache.cache_file`
    from ``name``, ``settings`` and ``version``; ``cache=False`` neither reads nor writes it.
    """
    return cached(name, settings, build, version=version, load=_load_vectors, save=_save_vectors,
                  read=cache, write=cache)


def similarity_spearman(vectors: torch.Tensor, vocab: Vocab,
                        pairs: Sequence[tuple[str, str, float]]) -> tuple[float, int]:
    """Spearman correlation between cosine similarities and human scores, on covered pairs.

    Args:
        vectors: ``(V, dim)``.
        vocab: maps words to rows.
        pairs: ``(word1, word2, human score)``, e.g. :func:`course_lib.data.wordsim353`.

    Returns:
        ``(rho, n_covered)``: pairs with a word outside ``vocab`` are skipped and not counted.
    """
    from scipy.stats import spearmanr

    covered = [(vocab.stoi[a], vocab.stoi[b], s) for a, b, s in pairs if a in vocab.stoi and b in vocab.stoi]
    if len(covered) < 3:
        raise ValueError(f"only {len(covered)} of {len(pairs)} pairs are in the vocabulary; need at least 3")
    ia = torch.tensor([c[0] for c in covered])
    ib = torch.tensor([c[1] for c in covered])
    cos = F.cosine_similarity(vectors[ia], vectors[ib], dim=-1)
    rho = spearmanr(cos.numpy(), [c[2] for c in covered]).statistic
    return float(rho), len(covered)


# --- skip-gram and fastText reference pieces (assignment 1, lecture 2) ---------------------------

def negative_sampling_loss(u: torch.Tensor, v_pos: torch.Tensor, v_neg: torch.Tensor) -> torch.Tensor:
    """Skip-gram negative-sampling loss, averaged over the batch.

    For each example: ``-log sigma(u . v_pos) - sum_k log sigma(-u . v_neg_k)``, i.e. the logistic
    loss ``l(s) = -log sigma(s)`` on the true pair's score ``s(w_t, w_c) = u_{w_t} . v_{w_c}`` and on
    minus the score of each noise word. Computed with ``logsigmoid`` (stable for large scores).

    Args:
        u: ``(B, D)`` target vectors ``u_{w_t}``.
        v_pos: ``(B, D)`` context vectors ``v_{w_c}`` of the true contexts.
        v_neg: ``(B, K, D)`` context vectors of ``K`` noise words per example.

    Returns:
        A scalar tensor (differentiable).
    """
    if u.dim() != 2 or v_pos.shape != u.shape:
        raise ValueError(f"u and v_pos must both be (B, D), got {tuple(u.shape)} and {tuple(v_pos.shape)}")
    if v_neg.dim() != 3 or v_neg.shape[0] != u.shape[0] or v_neg.shape[2] != u.shape[1]:
        raise ValueError(f"v_neg must be (B, K, D) = ({u.shape[0]}, K, {u.shape[1]}), got {tuple(v_neg.shape)}")
    if u.shape[0] == 0:
        raise ValueError("the batch is empty (B = 0): the mean loss is undefined")
    pos = (u * v_pos).sum(-1)  # (B,)
    neg = torch.einsum("bkd,bd->bk", v_neg, u)  # (B, K)
    return -(F.logsigmoid(pos) + F.logsigmoid(-neg).sum(-1)).mean()


def _check_counts(counts: torch.Tensor) -> torch.Tensor:
    if not isinstance(counts, torch.Tensor) or counts.dim() != 1:
        raise ValueError(f"counts must be a 1-D tensor (V,), got "
                         f"{tuple(counts.shape) if isinstance(counts, torch.Tensor) else type(counts).__name__}")
    if counts.numel() == 0:
        raise ValueError("counts is empty (V = 0)")
    c = counts.double()
    if bool((c < 0).any()):
        raise ValueError("counts must be non-negative")
    if float(c.sum()) <= 0:
        raise ValueError("counts are all zero: no distribution to build")
    return c


def keep_probability(counts: torch.Tensor, t: float = 1e-4) -> torch.Tensor:
    """word2vec's frequent-word subsampling: the probability of *keeping* each occurrence of a word.

    With ``f = count / total`` the word's frequency,
    ``p_keep = min(1, sqrt(t / f) + t / f)`` -- the formula of the word2vec C code and gensim
    (``(sqrt(f / t) + 1) * t / f``), not the ``1 - sqrt(t / f)`` *discard* probability printed in
    Mikolov et al. (2013). Words rarer than about ``2.6 t`` are always kept; a word with zero count
    gets 1.

    Args:
        counts: ``(V,)`` non-negative word counts.
        t: the sample threshold (word2vec's ``-sample``, gensim's ``sample``).

    Returns:
        ``(V,)`` float32 probabilities in ``(0, 1]``.
    """
    c = _check_counts(counts)
    if t <= 0:
        raise ValueError(f"t must be > 0, got {t}")
    ratio = t / (c / c.sum())  # inf for zero counts -> kept with probability 1
    return torch.clamp(ratio.sqrt() + ratio, max=1.0).float()


def noise_distribution(counts: torch.Tensor, power: float = 0.75) -> torch.Tensor:
    """The negative-sampling noise distribution ``P_n(w) = count(w)^power / sum_w' count(w')^power``.

    Args:
        counts: ``(V,)`` non-negative word counts (not all zero).
        power: 0.75 as in word2vec (1: unigram, 0: uniform over words with a count > 0 ... and
            those with 0 too, since ``0^0 = 1``).

    Returns:
        ``(V,)`` float32 probabilities summing to 1.
    """
    c = _check_counts(counts)
    w = c**power
    return (w / w.sum()).float()


def char_ngrams(word: str, minn: int = 3, maxn: int = 6) -> list[str]:
    """fastText's character n-grams of a word, with ``<`` and ``>`` as boundary marks.

    The word is wrapped as ``"<word>"`` and every substring of length ``minn..maxn`` is listed,
    shortest first, left to right within a length -- the same list, in the same order, as
    ``gensim.models.fasttext.compute_ngrams(word, minn, maxn)``. Like gensim (and the fastText C
    code), the wrapped word itself is one of them when it is at most ``maxn`` long
    (``"<ab>"`` for ``"ab"``); fastText also keeps a separate vector for the whole word.

    >>> char_ngrams("where", 3, 4)
    ['<wh', 'whe', 'her', 'ere', 're>', '<whe', 'wher', 'here', 'ere>']
    """
    if not isinstance(word, str):
        raise TypeError(f"word must be a str, got {type(word).__name__}")
    if not (isinstance(minn, int) and isinstance(maxn, int)) or minn < 1 or maxn < minn:
        raise ValueError(f"need 1 <= minn <= maxn, got minn={minn!r}, maxn={maxn!r}")
    w = f"<{word}>"
    return [w[i:i + n] for n in range(minn, min(len(w), maxn) + 1) for i in range(len(w) - n + 1)]

