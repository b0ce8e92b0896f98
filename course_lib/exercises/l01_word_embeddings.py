"""Exercises of lecture 1 (word embeddings).

None of them is an item of assignment 1 (one-hot, lookup, batched cosine, top-k neighbours are graded
there): the learner counts words and contexts, finds the odd word out and ranks numbers.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

from course_lib.check import compare
from course_lib.exercises import register


# --- 1. a bag of words -----------------------------------------------------------------------------

def _solution_bag_of_words(ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """ids: (time,) long -> (vocab_size,) float: how often each word id occurs."""
    counts = torch.zeros(vocab_size)
    counts.index_add_(0, ids, torch.ones(len(ids)))
    return counts


def _wrong_presence(ids: torch.Tensor, vocab_size: int) -> torch.Tensor:
    """Marks which words occur, but not how often."""
    out = torch.zeros(vocab_size)
    out[ids] = 1.0
    return out


@register("L1.bag_of_words", "a sentence as a bag of words (counts per word id)",
          solution=_solution_bag_of_words, wrong=(_wrong_presence,))
def _check_bag_of_words(bag_of_words: Callable[[torch.Tensor, int], torch.Tensor]) -> None:
    # "the dog bit the man" with ids the=4, dog=5, bit=6, man=7 over |V| = 8
    ids = torch.tensor([4, 5, 6, 4, 7])
    compare(bag_of_words(ids, 8), torch.tensor([0, 0, 0, 0, 2.0, 1, 1, 1]), name="bag of 'the dog bit the man'")
    # the reordered sentence has the same bag
    compare(bag_of_words(torch.tensor([4, 7, 6, 4, 5]), 8), bag_of_words(ids, 8), name="'the man bit the dog'")


# --- 5. co-occurrence counts of one sentence ----------------------------------------------------------

def _solution_cooccurrence(ids: torch.Tensor, vocab_size: int, window: int) -> torch.Tensor:
    """ids: (time,) long -> (vocab_size, vocab_size) float: C[w, c] = how often c stands within
    `window` positions of w (distance 1..window, on either side)."""
    C = torch.zeros(vocab_size, vocab_size)
    for i in range(len(ids)):
        for j in range(max(0, i - window), min(len(ids), i + window + 1)):
            if j != i:
                C[ids[i], ids[j]] += 1
    return C


def _wrong_cooc_right_only(ids: torch.Tensor, vocab_size: int, window: int) -> torch.Tensor:
    """Counts only the context to the right of each word (C is not symmetric)."""
    C = torch.zeros(vocab_size, vocab_size)
    for i in range(len(ids)):
        for j in range(i + 1, min(len(ids), i + window + 1)):
            C[ids[i], ids[j]] += 1
    return C


def _wrong_cooc_self(ids: torch.Tensor, vocab_size: int, window: int) -> torch.Tensor:
    """Counts every word as its own context too (distance 0)."""
    C = torch.zeros(vocab_size, vocab_size)
    for i in range(len(ids)):
        for j in range(max(0, i - window), min(len(ids), i + window + 1)):
            C[ids[i], ids[j]] += 1
    return C


def _wrong_cooc_short(ids: torch.Tensor, vocab_size: int, window: int) -> torch.Tensor:
    """Off by one: stops at distance window - 1."""
    C = torch.zeros(vocab_size, vocab_size)
    for i in range(len(ids)):
        for j in range(max(0, i - window + 1), min(len(ids), i + window)):
            if j != i:
                C[ids[i], ids[j]] += 1
    return C


@register("L1.cooccurrence", "co-occurrence counts of one sentence within a window",
          solution=_solution_cooccurrence, wrong=(_wrong_cooc_right_only, _wrong_cooc_self, _wrong_cooc_short))
def _check_cooccurrence(cooccurrence) -> None:
    from course_lib.embeddings import cooccurrence_counts

    # "the dog bit the man": the=4, dog=5, bit=6, man=7; window 1 counts the neighbours only
    ids = torch.tensor([4, 5, 6, 4, 7])
    expected = torch.zeros(8, 8)
    for w, c in [(4, 5), (5, 6), (6, 4), (4, 7)]:  # adjacent pairs, both directions
        expected[w, c] += 1
        expected[c, w] += 1
    compare(cooccurrence(ids, 8, 1), expected, name="window 1, 'the dog bit the man'")
    for window in (2, 3):
        compare(cooccurrence(ids, 8, window),
                torch.from_numpy(cooccurrence_counts([ids.tolist()], 8, window=window).toarray()).float(),
                name=f"window {window} vs course_lib.embeddings.cooccurrence_counts")


# --- 7. the odd one out ------------------------------------------------------------------------------

def _solution_odd_one_out(vectors: torch.Tensor) -> int:
    """vectors: (n, E) -> the row whose mean cosine similarity with the *other* rows is lowest."""
    from course_lib.embeddings import cosine_similarity

    sim = cosine_similarity(vectors)  # (n, n)
    n = len(vectors)
    mean_to_others = (sim.sum(1) - sim.diagonal()) / (n - 1)
    return int(mean_to_others.argmin())


def _wrong_odd_dot(vectors: torch.Tensor) -> int:
    """Uses dot products, so a short vector looks odd whatever its direction."""
    sim = vectors @ vectors.T
    return int((sim.sum(1) - sim.diagonal()).argmin())


def _wrong_odd_argmax(vectors: torch.Tensor) -> int:
    """Returns the most typical row instead of the odd one."""
    from course_lib.embeddings import cosine_similarity

    sim = cosine_similarity(vectors)
    return int((sim.sum(1) - sim.diagonal()).argmax())


@register("L1.odd_one_out", "the odd one out: lowest mean cosine with the others",
          solution=_solution_odd_one_out, wrong=(_wrong_odd_dot, _wrong_odd_argmax))
def _check_odd_one_out(odd_one_out) -> None:
    # three vectors pointing roughly along the first axis (one of them short) and one long vector
    # pointing elsewhere: by angle the long one is the odd one out, by dot product the short one
    vecs = torch.tensor([[10.0, 1.0], [1.0, -0.1], [0.5, 0.0], [1.5, 5.0]])
    compare(int(odd_one_out(vecs)), 3, name="odd one out of 4 vectors in 2-D")
    compare(int(odd_one_out(vecs[[3, 0, 2, 1]])), 0, name="the same vectors in another order")


# --- 8. Spearman's rank correlation ----------------------------------------------------------------

def _solution_spearman(x: torch.Tensor, y: torch.Tensor) -> float:
    """x, y: (n,) float without ties -> Spearman's rho: the Pearson correlation of their ranks."""
    def ranks(z: torch.Tensor) -> torch.Tensor:
        r = torch.empty(len(z))
        r[torch.argsort(z)] = torch.arange(len(z), dtype=torch.float32)  # the smallest gets rank 0
        return r

    rx, ry = ranks(x), ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx * ry).sum() / (rx.norm() * ry.norm()))


def _wrong_spearman_pearson(x: torch.Tensor, y: torch.Tensor) -> float:
    """Pearson's correlation of the values themselves, not of their ranks."""
    xc, yc = x - x.mean(), y - y.mean()
    return float((xc * yc).sum() / (xc.norm() * yc.norm()))


def _wrong_spearman_argsort(x: torch.Tensor, y: torch.Tensor) -> float:
    """Takes argsort(z) as the ranks: that is the order of the positions, not each position's rank."""
    rx, ry = torch.argsort(x).float(), torch.argsort(y).float()
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float((rx * ry).sum() / (rx.norm() * ry.norm()))


@register("L1.spearman", "Spearman's rank correlation (no ties)",
          solution=_solution_spearman, wrong=(_wrong_spearman_pearson, _wrong_spearman_argsort))
def _check_spearman(spearman) -> None:
    from scipy.stats import spearmanr

    x = torch.tensor([3.0, 1.0, 4.0, 1.5, 5.0, 9.0, 2.6])
    compare(spearman(x, x**3), 1.0, name="a monotone function of x has rho = 1", atol=1e-6)
    compare(spearman(x, -x), -1.0, name="reversed order has rho = -1", atol=1e-6)
    y = torch.tensor([2.0, 7.0, 1.0, 8.0, 2.5, 8.5, 3.0])
    compare(spearman(x, y), spearmanr(x.numpy(), y.numpy()).statistic, name="rho vs scipy.stats.spearmanr",
            atol=1e-6)
