"""Exercises of lecture 2 (skip-gram and fastText).

None of them is an item of assignment 1 (the negative-sampling loss, the keep probability, the noise
distribution and the character n-grams are graded there): the learner writes the full-softmax loss
that negative sampling replaces, the score at which negative sampling is optimal, the (target,
context) pairs of a sentence, a 3CosAdd analogy and fastText's hash.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from course_lib.check import compare
from course_lib.exercises import register


# --- 1. the full softmax ---------------------------------------------------------------------------

def _solution_softmax_loss(u: torch.Tensor, v_table: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
    """u: (B, D) target vectors, v_table: (V, D) context vectors, contexts: (B,) ids
    -> (B,) the loss -log p(w_c | w_t) of each pair under the full softmax over V."""
    scores = u @ v_table.T  # (B, V): every context vector, for every pair
    true = scores[torch.arange(len(contexts)), contexts]  # (B,)
    return torch.logsumexp(scores, dim=1) - true  # log sum_w exp(s_w) - s_c, stable for any scores


def _wrong_softmax_naive(u: torch.Tensor, v_table: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
    """exp() of large scores overflows to inf (and the loss to inf or nan)."""
    scores = u @ v_table.T
    true = scores[torch.arange(len(contexts)), contexts]
    return torch.log(torch.exp(scores).sum(1)) - true


def _wrong_softmax_sign(u: torch.Tensor, v_table: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
    """Returns log p instead of -log p (a loss that training would push the wrong way)."""
    return -_solution_softmax_loss(u, v_table, contexts)


def _wrong_softmax_mean(u: torch.Tensor, v_table: torch.Tensor, contexts: torch.Tensor) -> torch.Tensor:
    """Averages over the batch: one number instead of one loss per pair."""
    return _solution_softmax_loss(u, v_table, contexts).mean()


@register("L2.softmax_loss", "the full-softmax loss -log p(w_c | w_t) of each pair",
          solution=_solution_softmax_loss, wrong=(_wrong_softmax_naive, _wrong_softmax_sign, _wrong_softmax_mean))
def _check_softmax_loss(softmax_loss) -> None:
    # V = 3 context vectors in 2-D, two pairs
    v_table = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    u = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    contexts = torch.tensor([0, 2])
    z = math.exp(2) + 1 + math.exp(-2)  # scores of the first pair: 2, 0, -2
    compare(softmax_loss(u, v_table, contexts), torch.tensor([math.log(z) - 2, math.log(3)]),
            name="two pairs, by hand")
    # large scores (+-1000): the loss must stay finite
    big = u * 500
    compare(softmax_loss(big, v_table, contexts),
            F.cross_entropy(big @ v_table.T, contexts, reduction="none"), name="scores of +-1000 vs F.cross_entropy")


# --- 2. where negative sampling is optimal ------------------------------------------------------

def _solution_neg_optimum(pair_counts: torch.Tensor, noise: torch.Tensor, k: int) -> torch.Tensor:
    """pair_counts: (V, V) #(w, c), noise: (V,) P_n(c), k noise words per pair
    -> (V, V) the score s(w, c) that minimises the expected negative-sampling loss:
    log( #(w, c) / (k #(w) P_n(c)) ), -inf where #(w, c) = 0."""
    n_w = pair_counts.sum(1, keepdim=True)  # (V, 1): how often w is a target
    return torch.log(pair_counts) - torch.log(k * n_w * noise[None, :])


def _wrong_neg_no_k(pair_counts: torch.Tensor, noise: torch.Tensor, k: int) -> torch.Tensor:
    """Forgets the k noise words per pair (plain PMI against P_n, not shifted by -log k)."""
    return torch.log(pair_counts) - torch.log(pair_counts.sum(1, keepdim=True) * noise[None, :])


def _wrong_neg_unigram(pair_counts: torch.Tensor, noise: torch.Tensor, k: int) -> torch.Tensor:
    """Uses the contexts' own frequency instead of the noise distribution they are drawn from."""
    p_c = pair_counts.sum(0) / pair_counts.sum()
    return torch.log(pair_counts) - torch.log(k * pair_counts.sum(1, keepdim=True) * p_c[None, :])


@register("L2.neg_optimum", "the score at which negative sampling is optimal (shifted PMI)",
          solution=_solution_neg_optimum, wrong=(_wrong_neg_no_k, _wrong_neg_unigram))
def _check_neg_optimum(neg_optimum) -> None:
    counts = torch.tensor([[0.0, 6.0, 2.0], [6.0, 0.0, 4.0], [2.0, 4.0, 0.0]])
    noise = torch.tensor([0.5, 0.25, 0.25])
    got = neg_optimum(counts, noise, 2)
    # row 0: #(w) = 8; s(0, 1) = log(6 / (2 * 8 * 0.25)) = log 1.5, s(0, 2) = log(2 / 4) = log 0.5
    compare(got[0, 1:], torch.tensor([math.log(1.5), math.log(0.5)]), name="s(0, 1) and s(0, 2), by hand")
    assert bool(torch.isneginf(got.diagonal()).all()), \
        f"a pair that never occurs should get -inf (its best score is as low as possible), got {got.diagonal()}"
    # at the optimum the derivative of the expected loss #(w,c) l(s) + k #(w) P_n(c) l(-s) is zero
    s = got[counts > 0]
    pos, neg = counts[counts > 0], (2 * counts.sum(1, keepdim=True) * noise[None, :]).expand(3, 3)[counts > 0]
    compare(-pos * torch.sigmoid(-s) + neg * torch.sigmoid(s), torch.zeros(len(s)),
            name="derivative of the expected loss at your scores", atol=1e-5)


# --- 3. the (target, context) pairs of a sentence ---------------------------------------------------

def _solution_window_pairs(ids: list[int], window: int) -> list[tuple[int, int]]:
    """ids: one sentence of word ids -> [(target, context), ...] for every context within
    `window` positions, targets left to right and, for each target, contexts left to right."""
    pairs = []
    for i, target in enumerate(ids):
        for j in range(max(0, i - window), min(len(ids), i + window + 1)):
            if j != i:
                pairs.append((target, ids[j]))
    return pairs


def _wrong_pairs_self(ids: list[int], window: int) -> list[tuple[int, int]]:
    """Pairs every word with itself too."""
    return [(t, ids[j]) for i, t in enumerate(ids) for j in range(max(0, i - window), min(len(ids), i + window + 1))]


def _wrong_pairs_right(ids: list[int], window: int) -> list[tuple[int, int]]:
    """Only the contexts to the right."""
    return [(t, ids[j]) for i, t in enumerate(ids) for j in range(i + 1, min(len(ids), i + window + 1))]


@register("L2.window_pairs", "the (target, context) pairs of one sentence",
          solution=_solution_window_pairs, wrong=(_wrong_pairs_self, _wrong_pairs_right))
def _check_window_pairs(window_pairs) -> None:
    got = window_pairs([10, 11, 12, 13], 2)
    expected = [(10, 11), (10, 12), (11, 10), (11, 12), (11, 13), (12, 10), (12, 11), (12, 13), (13, 11), (13, 12)]
    compare(torch.tensor(got), torch.tensor(expected), name="pairs of [10, 11, 12, 13], window 2")
    compare(torch.tensor(window_pairs([7, 8], 5)), torch.tensor([(7, 8), (8, 7)]),
            name="a window longer than the sentence")


# --- 4. analogies with 3CosAdd -------------------------------------------------------------------

def _solution_analogy(vectors: torch.Tensor, a: int, b: int, c: int) -> int:
    """vectors: (V, D); a : b :: c : ? -> the row d, not a, b or c, whose cosine with
    unit(b) - unit(a) + unit(c) is highest (3CosAdd)."""
    unit = vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-8)  # zero rows stay zero, not NaN
    target = unit[b] - unit[a] + unit[c]  # (D,)
    scores = unit @ target  # (V,): the cosine up to the positive factor 1 / |target|
    scores[[a, b, c]] = -float("inf")
    return int(scores.argmax())


def _wrong_analogy_keep_question(vectors: torch.Tensor, a: int, b: int, c: int) -> int:
    """Does not exclude a, b and c: the answer is often c itself."""
    unit = vectors / vectors.norm(dim=1, keepdim=True)
    return int((unit @ (unit[b] - unit[a] + unit[c])).argmax())


def _wrong_analogy_dot(vectors: torch.Tensor, a: int, b: int, c: int) -> int:
    """Scores with raw dot products: a long vector wins whatever its direction."""
    scores = vectors @ (vectors[b] - vectors[a] + vectors[c])
    scores[[a, b, c]] = -float("inf")
    return int(scores.argmax())


def _wrong_analogy_raw_offset(vectors: torch.Tensor, a: int, b: int, c: int) -> int:
    """Builds b - a + c from the raw vectors (a long b dominates) and only then takes cosines."""
    scores = F.cosine_similarity(vectors, (vectors[b] - vectors[a] + vectors[c])[None], dim=1)
    scores[[a, b, c]] = -float("inf")
    return int(scores.argmax())


@register("L2.analogy", "an analogy a : b :: c : ? with 3CosAdd",
          solution=_solution_analogy, wrong=(_wrong_analogy_keep_question, _wrong_analogy_dot,
                                             _wrong_analogy_raw_offset))
def _check_analogy(analogy) -> None:
    vecs = torch.tensor([[1.0, 0.0, 0.0],   # 0 man
                         [2.0, 0.6, 0.0],   # 1 woman (a long vector)
                         [0.0, 0.0, 1.0],   # 2 king
                         [0.0, 0.8, 1.0],   # 3 queen
                         [0.0, 8.0, 1.0],   # 4 a long vector in another direction
                         [0.9, 0.1, 0.1]])  # 5 a vector close to man
    compare(int(analogy(vecs.clone(), 0, 1, 2)), 3, name="man : woman :: king : ? (toy vectors)")
    compare(int(analogy(vecs.clone(), 1, 0, 3)), 2, name="woman : man :: queen : ?")


# --- 5. fastText's hash -----------------------------------------------------------------------------

def _solution_fnv1a(data: bytes) -> int:
    """32-bit FNV-1a of `data` as fastText computes it: each byte is read as a *signed* char."""
    h = 2166136261
    for b in data:
        signed = b - 256 if b >= 128 else b  # what a C `char` holds
        h = ((h ^ (signed & 0xFFFFFFFF)) * 16777619) & 0xFFFFFFFF
    return h


def _wrong_fnv_unsigned(data: bytes) -> int:
    """Textbook FNV-1a (unsigned bytes): differs from fastText on every non-ASCII byte."""
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


def _wrong_fnv1(data: bytes) -> int:
    """FNV-1: multiplies before the XOR."""
    h = 2166136261
    for b in data:
        h = ((h * 16777619) & 0xFFFFFFFF) ^ (b | 0xFFFFFF00 if b >= 128 else b)
    return h


def _wrong_fnv_no_mask(data: bytes) -> int:
    """Never reduces mod 2**32 (Python ints do not overflow)."""
    h = 2166136261
    for b in data:
        h = (h ^ (b | 0xFFFFFF00 if b >= 128 else b)) * 16777619
    return h


@register("L2.fnv1a", "fastText's FNV-1a hash of an n-gram (signed bytes)",
          solution=_solution_fnv1a, wrong=(_wrong_fnv_unsigned, _wrong_fnv1, _wrong_fnv_no_mask))
def _check_fnv1a(fnv1a) -> None:
    from course_lib.models.fasttext import fnv1a_32

    compare(int(fnv1a(b"a")), 0xE40C292C, name="FNV-1a of b'a' (the published test value)")
    for gram in ["<wh", "here>", "ïve", "ña>"]:
        data = gram.encode("utf-8")
        compare(int(fnv1a(data)), fnv1a_32(data), name=f"hash of {gram!r} vs course_lib's fnv1a_32")
