"""Exercises of lecture 8 (sequence to sequence with attention)."""
from __future__ import annotations

import math
from collections import Counter

import torch

from course_lib.check import compare
from course_lib.exercises import register

BOS, EOS = 2, 3


# --- section 2: teacher forcing --------------------------------------------------------------------

def _solution_decoder_inputs(target: list[int]) -> tuple[list[int], list[int]]:
    """target ids y_1..y_n -> (decoder inputs <bos> y_1..y_n, decoder targets y_1..y_n <eos>)."""
    return [BOS] + list(target), list(target) + [EOS]


def _wrong_no_shift(target: list[int]) -> tuple[list[int], list[int]]:
    """Feeds the token the decoder is asked to predict (it can copy its input)."""
    return list(target) + [EOS], list(target) + [EOS]


def _wrong_drops_last(target: list[int]) -> tuple[list[int], list[int]]:
    """Shifts, but forgets <eos>: the model never learns to stop."""
    return [BOS] + list(target[:-1]), list(target)


@register("L8.decoder_inputs", "teacher forcing: the decoder's inputs and targets for one output sequence",
          solution=_solution_decoder_inputs, wrong=(_wrong_no_shift, _wrong_drops_last))
def _check_decoder_inputs(decoder_inputs) -> None:
    # "HH AH L OW" with ids HH=12, AH=4, L=7, OW=20
    inp, out = decoder_inputs([12, 4, 7, 20])
    compare(torch.tensor(inp), torch.tensor([BOS, 12, 4, 7, 20]), name="decoder inputs for HH AH L OW")
    compare(torch.tensor(out), torch.tensor([12, 4, 7, 20, EOS]), name="decoder targets for HH AH L OW")
    inp, out = decoder_inputs([9])
    compare(torch.tensor(inp + out), torch.tensor([BOS, 9, 9, EOS]), name="a one-phoneme word")


# --- section 3: word error rate with several references ---------------------------------------------

def _solution_word_error_rate(predictions: list[list[str]], references: list[list[list[str]]]) -> float:
    """The fraction of words whose prediction equals none of its references."""
    wrong = sum(list(p) not in [list(r) for r in refs] for p, refs in zip(predictions, references))
    return wrong / len(predictions)


def _wrong_first_reference_only(predictions, references) -> float:
    """Compares with the first listed pronunciation only."""
    return sum(list(p) != list(refs[0]) for p, refs in zip(predictions, references)) / len(predictions)


def _wrong_accuracy(predictions, references) -> float:
    """Returns the exact-match rate instead of the error rate."""
    return 1.0 - _solution_word_error_rate(predictions, references)


@register("L8.word_error_rate", "word error rate when a word may have several right answers",
          solution=_solution_word_error_rate, wrong=(_wrong_first_reference_only, _wrong_accuracy))
def _check_word_error_rate(word_error_rate) -> None:
    preds = [["HH", "EH", "L", "OW"], ["R", "EH", "D"], ["K", "AE", "T"], ["D", "AO"]]
    refs = [[["HH", "AH", "L", "OW"], ["HH", "EH", "L", "OW"]],   # right (second pronunciation)
            [["R", "IY", "D"], ["R", "EH", "D"]],                  # right (second pronunciation)
            [["K", "AE", "T"]],                                    # right
            [["D", "AO", "G"]]]                                    # wrong
    compare(torch.tensor(float(word_error_rate(preds, refs))), torch.tensor(0.25), name="WER of 4 words, 1 wrong")
    compare(torch.tensor(float(word_error_rate(preds[3:], refs[3:]))), torch.tensor(1.0), name="one wrong word")


# --- section 4: how peaked is an attention distribution? ---------------------------------------------

def _solution_attention_entropy(weights: torch.Tensor) -> torch.Tensor:
    """weights: (T, S), rows sum to 1, exact zeros on padding -> (T,) entropy in bits (0 log 0 = 0)."""
    logs = torch.where(weights > 0, torch.log2(weights.clamp_min(1e-30)), torch.zeros_like(weights))
    return -(weights * logs).sum(-1)


def _wrong_nats(weights: torch.Tensor) -> torch.Tensor:
    """Natural logarithm: the entropy in nats, not bits."""
    logs = torch.where(weights > 0, torch.log(weights.clamp_min(1e-30)), torch.zeros_like(weights))
    return -(weights * logs).sum(-1)


def _wrong_nan_on_padding(weights: torch.Tensor) -> torch.Tensor:
    """0 * log 0 gives NaN on padded (zero) positions."""
    return -(weights * torch.log2(weights)).sum(-1)


@register("L8.attention_entropy", "the entropy of each attention row, in bits",
          solution=_solution_attention_entropy, wrong=(_wrong_nats, _wrong_nan_on_padding))
def _check_attention_entropy(attention_entropy) -> None:
    w = torch.tensor([[1.0, 0.0, 0.0, 0.0],     # all on one position: 0 bits
                      [0.5, 0.5, 0.0, 0.0],     # two positions: 1 bit
                      [0.25, 0.25, 0.25, 0.25]])  # four positions: 2 bits
    compare(attention_entropy(w), torch.tensor([0.0, 1.0, 2.0]), name="entropy of three attention rows")
    w2 = torch.tensor([[0.5, 0.25, 0.25]])
    compare(attention_entropy(w2), torch.tensor([1.5]), name="entropy of (1/2, 1/4, 1/4)")


# --- section 6: attention as an alignment --------------------------------------------------------------

def _solution_monotone_fraction(weights: torch.Tensor) -> float:
    """weights: (T, S) -> the fraction of steps t >= 1 whose most-attended source position is not
    to the left of step t-1's."""
    pos = weights.argmax(dim=-1)
    if len(pos) < 2:
        return 1.0
    return float((pos[1:] >= pos[:-1]).float().mean())


def _wrong_strictly_increasing(weights: torch.Tensor) -> float:
    """Counts staying on the same position as a step backwards."""
    pos = weights.argmax(dim=-1)
    return float((pos[1:] > pos[:-1]).float().mean()) if len(pos) > 1 else 1.0


def _wrong_uses_min(weights: torch.Tensor) -> float:
    """Follows the least-attended position instead of the most-attended one."""
    pos = weights.argmin(dim=-1)
    return float((pos[1:] >= pos[:-1]).float().mean()) if len(pos) > 1 else 1.0


@register("L8.monotone_fraction", "how monotone is an alignment read off attention weights?",
          solution=_solution_monotone_fraction, wrong=(_wrong_strictly_increasing, _wrong_uses_min))
def _check_monotone_fraction(monotone_fraction) -> None:
    # most-attended positions 0, 1, 1, 3, 2: steps 0->1, 1->1, 1->3 go forward or stay, 3->2 goes back
    w = torch.tensor([[0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.2, 0.6, 0.1, 0.1],
                      [0.05, 0.05, 0.1, 0.8], [0.1, 0.1, 0.7, 0.1]])
    compare(torch.tensor(float(monotone_fraction(w))), torch.tensor(0.75), name="3 of 4 steps monotone")
    diag = torch.eye(5)
    compare(torch.tensor(float(monotone_fraction(diag.flip(0)))), torch.tensor(0.0), name="a reversed alignment")
    compare(torch.tensor(float(monotone_fraction(diag))), torch.tensor(1.0), name="the diagonal")


# --- section 8: BLEU's clipped n-gram precision ----------------------------------------------------------

def _solution_clipped_precision(candidate: list[str], references: list[list[str]], n: int) -> float:
    """Matched n-grams of the candidate (each counted at most as often as in any one reference) / all its n-grams."""
    grams = Counter(tuple(candidate[i:i + n]) for i in range(len(candidate) - n + 1))
    if not grams:
        return 0.0
    most: Counter = Counter()
    for ref in references:
        for g, c in Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1)).items():
            most[g] = max(most[g], c)
    matched = sum(min(c, most[g]) for g, c in grams.items())
    return matched / sum(grams.values())


def _wrong_unclipped(candidate: list[str], references: list[list[str]], n: int) -> float:
    """Counts every occurrence of a matching n-gram ("the the the the" scores 1)."""
    grams = [tuple(candidate[i:i + n]) for i in range(len(candidate) - n + 1)]
    in_refs = {tuple(r[i:i + n]) for r in references for i in range(len(r) - n + 1)}
    return sum(g in in_refs for g in grams) / len(grams) if grams else 0.0


@register("L8.clipped_precision", "BLEU's modified (clipped) n-gram precision",
          solution=_solution_clipped_precision, wrong=(_wrong_unclipped,))
def _check_clipped_precision(clipped_precision) -> None:
    cand = "the the the the the the the".split()
    refs = ["the cat is on the mat".split(), "there is a cat on the mat".split()]
    compare(torch.tensor(float(clipped_precision(cand, refs, 1))), torch.tensor(2 / 7),
            name="'the' x 7 against two references (unigrams)")
    cand2 = "the cat sat on the mat".split()
    # bigrams: the-cat, cat-sat, sat-on, on-the, the-mat; matched: the-cat, on-the, the-mat
    compare(torch.tensor(float(clipped_precision(cand2, refs, 2))), torch.tensor(3 / 5), name="bigrams")
    compare(torch.tensor(float(clipped_precision(cand2[:1], refs, 2))), torch.tensor(0.0),
            name="a candidate shorter than n")
    assert math.isfinite(float(clipped_precision(cand2, refs, 1)))
