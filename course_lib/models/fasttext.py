"""fastText: a word is its own vector plus the vectors of its character n-grams.

The slides write the score as ``s(w, c) = sum_{g in G_w} z_g . v_c``: ``G_w`` holds the word
itself and its character n-grams of 3 to 6 characters, taken from ``"<" + w + ">"``
(:func:`course_lib.embeddings.char_ngrams`). fastText uses the *mean* ``h_w`` of those vectors
rather than the sum (the same up to the factor ``1 / |G_w|``); :class:`FastTextModel` does too.

Training follows fastText's C++ code (and gensim's ``fasttext_fast_sentence_sg_neg``), which is
*not* plain SGD on the mean: it computes the step that word2vec would give the input vector
``h_w`` and adds that whole step to *every* row of ``G_w`` (:meth:`FastTextModel.sgd_step`). So
``h_w`` itself moves by one full step, as a skip-gram word vector would, whatever the length of
the word; the exact gradient of the mean would give each row only ``1 / |G_w|`` of it (about
1/20 for a typical word), and the n-gram vectors would learn that much more slowly.

N-grams are not stored in a dictionary: each one is hashed into one of ``buckets`` rows with
32-bit FNV-1a over its UTF-8 bytes, exactly as fastText's C++ code does -- including its quirk
of reading each byte as a *signed* ``char``, so bytes >= 128 (every byte of a non-ASCII
character) are sign-extended to ``0xFFFFFF80..0xFFFFFFFF`` before the XOR. :func:`ngram_buckets`
gives the same ids as ``gensim.models.fasttext.ft_ngram_hashes`` (tested for every word of the
vocabulary). A word never seen in training still has n-grams, hence a vector
(:meth:`FastTextModel.vector_for`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from course_lib.data.vocab import SPECIALS, Vocab
from course_lib.embeddings import char_ngrams
from course_lib.models.skipgram import SkipGram, context_update

__all__ = ["FNV_OFFSET", "FNV_PRIME", "fnv1a_32", "fnv1a_32_many", "ngram_buckets", "FastTextModel"]

FNV_OFFSET = 2166136261
FNV_PRIME = 16777619


def fnv1a_32(data: bytes) -> int:
    """32-bit FNV-1a of ``data`` with fastText's signed-byte quirk (one string, plain Python).

    ``h = 2166136261``; for each byte ``b``: ``h = (h XOR int8(b)) * 16777619 mod 2**32``, where
    ``int8(b)`` sign-extends ``b`` to 32 bits (``b | 0xFFFFFF00`` when ``b >= 128``).
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"fnv1a_32 hashes bytes (use s.encode('utf-8')), got {type(data).__name__}")
    h = FNV_OFFSET
    for b in data:
        h = ((h ^ (b | 0xFFFFFF00 if b >= 128 else b)) * FNV_PRIME) & 0xFFFFFFFF
    return h


def fnv1a_32_many(strings: Sequence[str]) -> np.ndarray:
    """:func:`fnv1a_32` of the UTF-8 bytes of many strings at once, vectorised over strings.

    Returns:
        ``(n,)`` uint32 hashes.
    """
    encoded = [s.encode("utf-8") for s in strings]
    n = len(encoded)
    lengths = np.fromiter((len(e) for e in encoded), dtype=np.int64, count=n)
    width = int(lengths.max()) if n else 0
    buf = np.zeros((n, width), dtype=np.uint8)  # (n, longest), zero padded
    if n:
        flat = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        cols = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        buf[np.repeat(np.arange(n), lengths), cols] = flat
    h = np.full(n, FNV_OFFSET, dtype=np.uint32)
    signed = buf.view(np.int8).astype(np.int32).astype(np.uint32)  # the signed-char quirk
    with np.errstate(over="ignore"):
        for j in range(width):
            active = lengths > j
            h[active] = (h[active] ^ signed[active, j]) * np.uint32(FNV_PRIME)
    return h


def ngram_buckets(word: str, minn: int = 3, maxn: int = 6, buckets: int = 2_000_000) -> list[int]:
    """Bucket ids of the character n-grams of ``word`` (in :func:`char_ngrams` order).

    The same multiset of ids as ``gensim.models.fasttext.ft_ngram_hashes(word, minn, maxn, buckets)``
    (gensim lists them by start position, :func:`char_ngrams` by length).
    """
    if not isinstance(buckets, int) or buckets < 1:
        raise ValueError(f"buckets must be a positive int, got {buckets!r}")
    grams = char_ngrams(word, minn, maxn)
    return [int(x) for x in fnv1a_32_many(grams) % buckets] if grams else []


class FastTextModel(SkipGram):
    """Skip-gram whose target vector is the mean of a word's own vector and its n-gram vectors.

    The target table ``u`` has ``V + buckets`` rows: row ``w`` is word ``w``'s own vector, row
    ``V + b`` is bucket ``b`` (the ``z_g`` of the slides for every n-gram ``g`` hashed to ``b``).
    The context table ``v`` is ``(V, D)`` as in skip-gram.

    Args:
        vocab: the training vocabulary (reserved tokens get no n-grams).
        dim: ``D``.
        minn, maxn: n-gram lengths (3 and 6 in fastText).
        buckets: rows for hashed n-grams (fastText's default is 2,000,000).
        seed: initialisation (``u`` uniform in ``[-1/D, 1/D]`` as in fastText, ``v`` zero).

    Attributes:
        rows: ``(V, L)`` long, the ``u`` rows of each word (its own row first), padded with 0.
        weights: ``(V, L)`` float, ``1 / |G_w|`` on real entries, 0 on padding.
        lengths: ``(V,)`` long, ``|G_w|`` (1 + the number of n-grams).
        flat_rows: ``(sum of lengths,)`` long, the same rows without padding, word after word;
            word ``w``'s rows are ``flat_rows[flat_start[w] : flat_start[w] + lengths[w]]``.
        flat_start: ``(V,)`` long.
    """

    rows: torch.Tensor
    weights: torch.Tensor
    lengths: torch.Tensor
    flat_rows: torch.Tensor
    flat_start: torch.Tensor

    def __init__(self, vocab: Vocab, dim: int = 100, minn: int = 3, maxn: int = 6, buckets: int = 200_000,
                 seed: int = 0, sparse: bool = True):
        V = len(vocab)
        super().__init__(V, dim, seed=seed, sparse=sparse)
        if not isinstance(buckets, int) or buckets < 1:
            raise ValueError(f"buckets must be a positive int, got {buckets!r}")
        self.vocab, self.minn, self.maxn, self.buckets = vocab, minn, maxn, buckets
        self.u = nn.Embedding(V + buckets, dim, sparse=sparse)
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.u.weight.uniform_(-1.0 / dim, 1.0 / dim, generator=gen)
        grams = [char_ngrams(w, minn, maxn) if i >= len(SPECIALS) else [] for i, w in enumerate(vocab.itos)]
        hashes = fnv1a_32_many([g for gs in grams for g in gs]).astype(np.int64) % buckets + V
        width = 1 + max(len(gs) for gs in grams)
        rows = np.zeros((V, width), dtype=np.int64)
        weights = np.zeros((V, width), dtype=np.float32)
        pos = 0
        for i, gs in enumerate(grams):
            rows[i, 0] = i
            rows[i, 1:1 + len(gs)] = hashes[pos:pos + len(gs)]
            weights[i, : 1 + len(gs)] = 1.0 / (1 + len(gs))
            pos += len(gs)
        lengths = torch.tensor([1 + len(gs) for gs in grams])  # (V,)
        self.register_buffer("rows", torch.from_numpy(rows))
        self.register_buffer("weights", torch.from_numpy(weights))
        self.register_buffer("lengths", lengths)
        self.register_buffer("flat_rows", self.rows[self.weights > 0])  # row-major: word after word
        self.register_buffer("flat_start", torch.cumsum(lengths, 0) - lengths)

    def target_vectors(self, targets: torch.Tensor) -> torch.Tensor:
        """``targets: (B,)`` -> ``h: (B, D)``, the mean of each word's own and n-gram vectors."""
        r, w = self.rows[targets], self.weights[targets]  # (B, L)
        return (self.u(r) * w[..., None]).sum(1)

    def bags(self, words: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The ``u`` rows of several words, concatenated.

        Args:
            words: ``(W,)`` word ids.

        Returns:
            ``(rows (R,), offsets (W,), lengths (W,))``: word ``i``'s rows are
            ``rows[offsets[i] : offsets[i] + lengths[i]]``, ``R = lengths.sum()``.
        """
        lengths = self.lengths[words]  # (W,)
        offsets = torch.cumsum(lengths, 0) - lengths
        shift = torch.repeat_interleave(self.flat_start[words] - offsets, lengths)  # (R,)
        return self.flat_rows[shift + torch.arange(len(shift))], offsets, lengths

    @torch.no_grad()
    def sgd_step(self, targets: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor,
                 lr: float) -> torch.Tensor:
        """fastText's skip-gram step for a batch of pairs (in place). Returns ``(B,)`` losses.

        For a pair ``(w, c)`` with noise words ``n_k``, as in fastText's C++ ``Model::update``
        and gensim's ``fasttext_fast_sentence_sg_neg``:

        1. ``h = mean_{g in G_w} u_g`` (the word's own row and its n-gram rows);
        2. the context side is word2vec's (:func:`course_lib.models.skipgram.context_update`):
           with ``g_j = lr * (label_j - sigma(h . v_j))``, ``v_j += g_j h``, and the step for the
           input vector is ``e = sum_j g_j v_j``;
        3. ``u_g += e`` for **every** ``g`` in ``G_w`` (a row listed twice gets it twice).

        Step 3 is not the gradient of the loss of ``h``: that would add ``e / |G_w|`` to each
        row. fastText's rule moves ``h`` by the full ``e``, like a skip-gram word vector.

        The pairs of a batch all see the tables as they were before the step and their updates
        are added up (word2vec and fastText update after every pair instead). Pairs with the same
        target word share one ``h``, and their steps are summed before being spread over the
        word's rows, so each distinct target costs one gather and one scatter of ``|G_w|`` rows.
        """
        table = self.u.weight.data
        words, inverse = torch.unique(targets, return_inverse=True)  # (W,), (B,)
        rows, offsets, lengths = self.bags(words)
        h = nn.functional.embedding_bag(rows, table, offsets, mode="mean")  # (W, D)
        loss, e = context_update(h[inverse], self.v.weight.data, contexts, negatives, lr)  # (B,), (B, D)
        e_words = torch.zeros_like(h).index_add_(0, inverse, e)  # (W, D): summed over each word's pairs
        table.index_add_(0, rows, e_words.repeat_interleave(lengths, dim=0))
        return loss

    @torch.no_grad()
    def vector_for(self, word: str) -> torch.Tensor:
        """``(D,)`` vector of any word: in the vocabulary, its training representation; otherwise
        the mean of its n-gram vectors (zero if it has none, e.g. the empty string)."""
        if word in self.vocab.stoi and self.vocab.stoi[word] >= len(SPECIALS):
            return self.target_vectors(torch.tensor([self.vocab.stoi[word]]))[0]
        ids = ngram_buckets(word, self.minn, self.maxn, self.buckets)
        if not ids:
            return torch.zeros(self.dim)
        return self.u.weight[torch.tensor(ids) + len(self.vocab)].mean(0)

    @torch.no_grad()
    def vectors(self) -> torch.Tensor:
        """``(V, D)`` the vectors of the vocabulary words (reserved tokens' rows zero)."""
        out = torch.cat([self.target_vectors(torch.arange(i, min(i + 4096, len(self.vocab))))
                         for i in range(0, len(self.vocab), 4096)])
        out[: len(SPECIALS)] = 0.0
        return out
