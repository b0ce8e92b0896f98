"""Skip-gram with negative sampling (word2vec), fast enough to train on real text on one CPU thread.

Notation as on the slides: the target word ``w_t`` has a *target vector* ``u_{w_t}``, a context
word ``w_c`` has a *context vector* ``v_{w_c}``, and their score is ``s(w_t, w_c) = u_{w_t} . v_{w_c}``.
Training pushes ``s`` up for true (target, context) pairs and down for ``K`` noise words drawn
from ``P_n(w) ∝ count(w)^0.75``, with the logistic loss ``l(s) = -log sigma(s)``.

The pieces, in the order data flows through them:

- :class:`SkipGramPairs`: the data pipeline. One pass yields a fresh epoch of shuffled batches
  ``(targets (B,), contexts (B,), negatives (B // G, K))``: frequent-word subsampling, the window
  with word2vec's random shrink, and noise words from a lookup table -- all vectorised in NumPy,
  no Python loop over pairs. ``G`` (``share_negatives``) consecutive pairs of a batch may share
  their ``K`` noise words: each pair still gets ``K`` independent draws from ``P_n``, so the
  expected gradient is word2vec's, but each noise vector is read and updated once per group.
  ``G = 1`` is exactly word2vec.
- :class:`SkipGram`: the model, ``u`` and ``v`` as two ``nn.Embedding`` tables, initialised as
  word2vec does (``u`` small uniform, ``v`` zero).
- :func:`sgd_step`: word2vec's own update, with the gradient written out by hand (checked against
  autograd in the tests); :func:`skipgram_loss`: the same loss as a ``loss_fn`` for autograd.
- :func:`to_keyed_vectors` exports the target vectors ``u`` as gensim ``KeyedVectors``.

Training is a recipe above the model, in :mod:`course_lib.recipes.skipgram`:
:func:`~course_lib.recipes.skipgram.train_skipgram` (``method="sgd"`` with :func:`sgd_step`, or
``method="autograd"`` through :func:`course_lib.train.fit`) and
:func:`~course_lib.recipes.skipgram.pretrained_static_vectors` (trained once on the Wikipedia
extract and cached; lecture 7's static baseline). Both stay importable from here.

The reference pieces :func:`~course_lib.embeddings.keep_probability`,
:func:`~course_lib.embeddings.noise_distribution` and
:func:`~course_lib.embeddings.negative_sampling_loss` live in :mod:`course_lib.embeddings`.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data.vocab import SPECIALS, Vocab
from course_lib.embeddings import keep_probability, negative_sampling_loss, noise_distribution
from course_lib.lazy import moved_names

__all__ = ["SkipGramPairs", "SkipGram", "sgd_step", "context_update", "skipgram_loss", "to_keyed_vectors",
           "NOISE_TABLE_SIZE"]

# the training recipes moved above the model; still importable from here (lecture 2 does)
__getattr__, __dir__ = moved_names(__name__, dict.fromkeys(["train_skipgram", "pretrained_static_vectors"],
                                                           "course_lib.recipes.skipgram"))

NOISE_TABLE_SIZE = 1 << 22
Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class SkipGramPairs:
    """Training pairs for skip-gram: a re-iterable of batches, resampled on every pass.

    Each pass over the object (one epoch):

    1. drops each occurrence of word ``w`` with probability ``1 - keep_probability(counts, t)[w]``
       (frequent-word subsampling; word2vec removes the words *before* taking windows, so
       windows reach further in text full of frequent words);
    2. draws for every kept position a window size ``b`` uniformly in ``1..window`` (word2vec's
       random shrink, which weights near neighbours more) and makes the pairs
       ``(w_t, w_{t+j})`` for ``0 < |j| <= b`` inside the same sentence;
    3. shuffles the pairs and attaches ``negatives`` noise words to every group of
       ``share_negatives`` pairs, drawn from ``P_n(w) ∝ count(w)^power`` through a table of
       ``NOISE_TABLE_SIZE`` entries (each word fills a share of the table equal to its
       probability, so one random index is one draw). The few pairs left over after the last
       whole group are dropped.

    Args:
        sentences: tokenised sentences (lists of str). Words not in ``vocab`` (and the reserved
            tokens) are removed first, as word2vec does.
        vocab: the vocabulary; ``vocab.counts`` gives the counts used for subsampling and noise.
        window: the largest distance between target and context.
        negatives: ``K``, noise words per true pair.
        sample: subsampling threshold ``t`` (word2vec's ``-sample``; ``0`` turns it off).
        batch_size: pairs per batch (the last batch of an epoch may be smaller).
        power: exponent of the noise distribution.
        share_negatives: ``G``, pairs sharing one set of noise words (``1``: word2vec).
        seed: seeds this object's own NumPy generator (epoch ``e`` is reproducible).

    Yields (per batch):
        ``targets: (B,)``, ``contexts: (B,)``, ``negatives: (B // G, K)``, all ``torch.long``.

    Attributes:
        n_words: known words per epoch before subsampling (the "words" of words/s).
        counts: ``(V,)`` float64 word counts.
    """

    def __init__(self, sentences: Sequence[Sequence[str]], vocab: Vocab, window: int = 5, negatives: int = 5,
                 sample: float = 1e-3, batch_size: int = 4096, power: float = 0.75, share_negatives: int = 1,
                 seed: int = 0):
        for name, val in (("window", window), ("negatives", negatives), ("batch_size", batch_size),
                          ("share_negatives", share_negatives)):
            if not isinstance(val, int) or val < 1:
                raise ValueError(f"{name} must be a positive int, got {val!r}")
        if batch_size % share_negatives:
            raise ValueError(f"batch_size ({batch_size}) must be a multiple of share_negatives ({share_negatives})")
        if sample < 0:
            raise ValueError(f"sample must be >= 0 (0 turns subsampling off), got {sample}")
        if isinstance(sentences, str) or (len(sentences) and isinstance(sentences[0], str)):
            raise TypeError("sentences must be tokenised: a list of lists of str")
        self.vocab, self.window, self.negatives, self.batch_size = vocab, window, negatives, batch_size
        self.sample, self.power, self.seed, self.group = sample, power, seed, share_negatives
        first = len(SPECIALS)
        stoi = vocab.stoi
        ids, sid = [], []
        for k, sent in enumerate(sentences):
            row = [i for i in (stoi.get(w, 0) for w in sent) if i >= first]
            ids.extend(row)
            sid.extend([k] * len(row))
        if len(ids) < 2:
            raise ValueError("fewer than two words of the corpus are in the vocabulary: nothing to train on")
        self.ids = np.asarray(ids, dtype=np.int64)  # (N,) all known tokens, sentence after sentence
        self.sentence_of = np.asarray(sid, dtype=np.int64)  # (N,)
        self.n_words = len(self.ids)
        self.counts = np.bincount(self.ids, minlength=len(vocab)).astype(np.float64)  # (V,)
        counts_t = torch.from_numpy(self.counts)
        self.keep = (keep_probability(counts_t, sample).double().numpy() if sample > 0
                     else np.ones(len(vocab)))  # (V,)
        self.noise = noise_distribution(counts_t, power).double().numpy()  # (V,)
        cdf = np.cumsum(self.noise)
        self.noise_table = np.searchsorted(cdf / cdf[-1], (np.arange(NOISE_TABLE_SIZE) + 0.5) / NOISE_TABLE_SIZE,
                                           side="right").astype(np.int64)  # (T,)
        self.rng = np.random.default_rng(seed)
        self.expected_pairs = self._expected_pairs()

    def _expected_pairs(self) -> int:
        """Roughly how many pairs one epoch gives (used to plan the learning-rate schedule)."""
        kept = float((self.keep[self.ids]).sum())
        mean_b = (self.window + 1) / 2
        return max(1, int(2 * mean_b * kept))

    def __len__(self) -> int:
        """Expected batches per epoch (the exact number varies with the random draws)."""
        return max(1, math.ceil(self.expected_pairs / self.batch_size))

    def epoch_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """One epoch of shuffled true pairs: ``(targets (P,), contexts (P,))`` as int64 arrays."""
        rng = self.rng
        kept = rng.random(self.n_words) < self.keep[self.ids]
        w, s = self.ids[kept], self.sentence_of[kept]
        b = rng.integers(1, self.window + 1, size=len(w))  # each target's shrunk window
        targets, contexts = [], []
        for d in range(1, self.window + 1):
            same = s[:-d] == s[d:]
            right = same & (b[:-d] >= d)  # target at i, context at i + d
            targets.append(w[:-d][right])
            contexts.append(w[d:][right])
            left = same & (b[d:] >= d)  # target at i + d, context at i
            targets.append(w[d:][left])
            contexts.append(w[:-d][left])
        t, c = np.concatenate(targets), np.concatenate(contexts)
        order = rng.permutation(len(t))
        return t[order], c[order]

    def sample_negatives(self, n: int) -> np.ndarray:
        """``(n, K)`` noise word ids drawn from ``P_n``."""
        return self.noise_table[self.rng.integers(0, NOISE_TABLE_SIZE, size=(n, self.negatives))]

    def __iter__(self) -> Iterator[Batch]:
        t, c = self.epoch_pairs()
        n = len(t) - len(t) % self.group  # whole groups only
        neg = self.sample_negatives(n // self.group)  # (P / G, K)
        targets, contexts, negatives = torch.from_numpy(t[:n]), torch.from_numpy(c[:n]), torch.from_numpy(neg)
        for i in range(0, n, self.batch_size):
            j = i + self.batch_size
            yield targets[i:j], contexts[i:j], negatives[i // self.group:j // self.group]


class SkipGram(nn.Module):
    """Skip-gram: a target table ``u`` and a context table ``v``, both ``(V, D)``.

    ``u.weight[w]`` is ``u_w`` (the vector kept as "the" word vector, gensim's ``wv``);
    ``v.weight[w]`` is ``v_w`` (gensim's ``syn1neg``). Initialised as word2vec: ``u`` uniform in
    ``[-0.5/D, 0.5/D]``, ``v`` zero. ``sparse=True`` makes the tables' gradients sparse, so an
    optimizer step only touches the rows of the batch.
    """

    def __init__(self, vocab_size: int, dim: int = 100, seed: int = 0, sparse: bool = True):
        super().__init__()
        if vocab_size < 2 or dim < 1:
            raise ValueError(f"need vocab_size >= 2 and dim >= 1, got {vocab_size} and {dim}")
        self.u = nn.Embedding(vocab_size, dim, sparse=sparse)
        self.v = nn.Embedding(vocab_size, dim, sparse=sparse)
        gen = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            self.u.weight.uniform_(-0.5 / dim, 0.5 / dim, generator=gen)
            self.v.weight.zero_()

    @property
    def dim(self) -> int:
        return self.u.embedding_dim

    def target_vectors(self, targets: torch.Tensor) -> torch.Tensor:
        """``targets: (B,)`` -> ``u_{w_t}: (B, D)``."""
        return self.u(targets)

    def score(self, targets: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
        """``s(w_t, w_c) = u_{w_t} . v_{w_c}``: ``targets (B,)``, ``contexts (B,)`` -> ``(B,)``."""
        return (self.target_vectors(targets) * self.v(contexts)).sum(-1)

    def forward(self, targets: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        """Mean negative-sampling loss of a batch.

        Args:
            targets: ``(B,)`` ids of ``w_t``; contexts: ``(B,)`` ids of ``w_c``;
            negatives: ``(B // G, K)`` ids of the noise words, one row per group of ``G`` pairs
            (``(B, K)``: one row per pair).

        Returns:
            scalar: ``mean_b [l(s(w_t, w_c)) + sum_k l(-s(w_t, n_k))]``.
        """
        if negatives.dim() != 2 or negatives.shape[0] == 0 or len(targets) % negatives.shape[0]:
            raise ValueError(f"negatives must be (B // G, K) with B = {len(targets)}, got {tuple(negatives.shape)}")
        v_neg = self.v(negatives).repeat_interleave(len(targets) // negatives.shape[0], dim=0)  # (B, K, D)
        return negative_sampling_loss(self.target_vectors(targets), self.v(contexts), v_neg)

    def vectors(self) -> torch.Tensor:
        """The word vectors ``u``: ``(V, D)`` (a detached copy)."""
        return self.u.weight.detach().clone()


def skipgram_loss(model: nn.Module, batch: Batch) -> tuple[torch.Tensor, int]:
    """``loss_fn`` for :func:`course_lib.train.fit`: ``(model(targets, contexts, negatives), number of pairs)``
    (for a :class:`SkipGram`, the mean negative-sampling loss of the batch)."""
    t, c, neg = batch
    return model(t, c, neg), len(t)


@torch.no_grad()
def sgd_step(u_table: torch.Tensor, v_table: torch.Tensor, targets: torch.Tensor, contexts: torch.Tensor,
             negatives: torch.Tensor, lr: float) -> torch.Tensor:
    """word2vec's update for a batch of pairs, written out by hand (no autograd). In place.

    With ``s_0 = u . v_{w_c}`` (label 1) and ``s_k = u . v_{n_k}`` (label 0), the loss of a pair is
    ``sum_j l(±s_j)`` and its gradient wrt ``s_j`` is ``sigma(s_j) - label_j``. So, with
    ``g_j = lr * (label_j - sigma(s_j))``:  ``u += sum_j g_j v_j`` and ``v_j += g_j u``. The updates
    of all pairs of the batch are added up (``index_add_``), as if the pairs were one example each
    of a *summed* (not averaged) loss.

    Args:
        u_table: ``(V, D)`` target vectors (updated in place).
        v_table: ``(V, D)`` context vectors (updated in place).
        targets: ``(B,)``; contexts: ``(B,)``.
        negatives: ``(B // G, K)``: each row is the ``K`` noise words shared by a group of ``G``
            consecutive pairs (``G = 1``: every pair has its own, as in word2vec).
        lr: the step size (word2vec's ``alpha``).

    Returns:
        ``(B,)`` the loss of each pair *before* the update.
    """
    u = u_table.index_select(0, targets)  # (B, D)
    loss, grad_u = context_update(u, v_table, contexts, negatives, lr)
    u_table.index_add_(0, targets, grad_u)
    return loss


@torch.no_grad()
def context_update(u: torch.Tensor, v_table: torch.Tensor, contexts: torch.Tensor, negatives: torch.Tensor,
                   lr: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The part of :func:`sgd_step` after the target vectors are known (fastText reuses it).

    Updates the context vectors ``v`` in place and returns what the target side needs.

    Args:
        u: ``(B, D)`` the target vectors of the batch (however they were built).
        v_table: ``(V, D)`` context vectors (updated in place).
        contexts: ``(B,)``; negatives: ``(B // G, K)``; lr: the step size.

    Returns:
        ``(loss (B,), step_u (B, D))``: each pair's loss before the update, and the step to add
        to its target vector (``lr`` times minus the gradient).
    """
    B, D = u.shape
    n_groups, K = negatives.shape
    if n_groups == 0 or B % n_groups:
        raise ValueError(f"negatives must be (B // G, K) for a group size G dividing B = {B}, "
                         f"got {tuple(negatives.shape)}")
    G = B // n_groups
    v_c = v_table.index_select(0, contexts)  # (B, D)
    v_n = v_table.index_select(0, negatives.reshape(-1)).view(n_groups, K, D)  # (B/G, K, D)
    u_groups = u.view(n_groups, G, D)
    s_pos = (u * v_c).sum(-1)  # (B,)
    s_neg = torch.bmm(u_groups, v_n.transpose(1, 2))  # (B/G, G, K)
    loss = -F.logsigmoid(s_pos) - F.logsigmoid(-s_neg).sum(-1).view(B)  # (B,)
    g_pos = torch.sigmoid(s_pos).sub_(1.0).mul_(-lr)  # lr * (1 - sigma): (B,)
    g_neg = torch.sigmoid(s_neg).mul_(-lr)  # lr * (0 - sigma): (B/G, G, K)
    grad_u = torch.bmm(g_neg, v_n).view(B, D).addcmul_(g_pos[:, None], v_c)  # (B, D)
    grad_vc = g_pos[:, None] * u  # (B, D)
    grad_vn = torch.bmm(g_neg.transpose(1, 2), u_groups)  # (B/G, K, D)
    v_table.index_add_(0, contexts, grad_vc)
    v_table.index_add_(0, negatives.reshape(-1), grad_vn.view(-1, D))
    return loss, grad_u


def to_keyed_vectors(vectors: torch.Tensor, vocab: Vocab) -> Any:
    """The word vectors as gensim ``KeyedVectors`` (reserved tokens left out), for comparisons.

    Args:
        vectors: ``(len(vocab), D)``, row ``i`` for ``vocab.itos[i]``.
        vocab: the vocabulary.
    """
    from gensim.models import KeyedVectors

    if vectors.dim() != 2 or vectors.shape[0] != len(vocab):
        raise ValueError(f"vectors must be (len(vocab), D) = ({len(vocab)}, D), got {tuple(vectors.shape)}")
    first = len(SPECIALS)
    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(vocab.itos[first:], vectors[first:].detach().cpu().numpy())
    return kv
