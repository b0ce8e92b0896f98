"""Exercises of lecture 7 (ELMo-style contextual embeddings)."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from course_lib.check import compare
from course_lib.exercises import register

# --- 1. a word as character ids -------------------------------------------------------------------


def _solution_char_ids(word: str, max_chars: int) -> list[int]:
    """word -> max_chars ids: begin-of-word 1, then 3 + each UTF-8 byte (at most max_chars - 2 of
    them), end-of-word 2, then padding 0."""
    ids = [1] + [3 + byte for byte in word.encode("utf-8")[: max_chars - 2]] + [2]
    return ids + [0] * (max_chars - len(ids))


def _wrong_code_points(word: str, max_chars: int) -> list[int]:
    """Uses Unicode code points (ord) instead of UTF-8 bytes: right for ASCII only."""
    ids = [1] + [3 + ord(ch) for ch in word[: max_chars - 2]] + [2]
    return ids + [0] * (max_chars - len(ids))


def _wrong_cut_after_marker(word: str, max_chars: int) -> list[int]:
    """Cuts the list after adding the end marker, so a long word loses its end-of-word id."""
    ids = ([1] + [3 + byte for byte in word.encode("utf-8")] + [2])[:max_chars]
    return ids + [0] * (max_chars - len(ids))


@register("L7.char_ids", "a word as the character ids the biLM reads",
          solution=_solution_char_ids, wrong=(_wrong_code_points, _wrong_cut_after_marker))
def _check_char_ids(char_ids: Callable[[str, int], list[int]]) -> None:
    from course_lib.models.elmo import encode_chars

    compare(list(char_ids("plant", 8)), [1, 115, 111, 100, 113, 119, 2, 0], name="'plant', 8 slots")
    compare(list(char_ids("café", 8)), [1, 102, 100, 105, 198, 172, 2, 0], name="'café' (é is two bytes)")
    compare(list(char_ids("internationally", 6)), [1, 108, 113, 119, 104, 2], name="a long word, 6 slots")
    for word in ("naïve", "zyxwvutsrqponm"):
        compare(list(char_ids(word, 10)), encode_chars([[word]], max_chars=10)[0][0, 0].tolist(),
                name=f"{word!r} against course_lib's encode_chars")


# --- 2. perplexity over many batches ----------------------------------------------------------------


def _solution_perplexity(batch_losses: Sequence[float], batch_counts: Sequence[int]) -> float:
    """batch_losses[i]: mean cross-entropy (nats per word) over the batch_counts[i] words of batch i ->
    the perplexity of all the words together: exp(total negative log-likelihood / number of words)."""
    total_nll = sum(loss * n for loss, n in zip(batch_losses, batch_counts))
    return math.exp(total_nll / sum(batch_counts))


def _wrong_mean_of_means(batch_losses: Sequence[float], batch_counts: Sequence[int]) -> float:
    """Averages the batch means as if every batch had as many words."""
    return math.exp(sum(batch_losses) / len(batch_losses))


def _wrong_mean_of_perplexities(batch_losses: Sequence[float], batch_counts: Sequence[int]) -> float:
    """Averages per-batch perplexities: exp of a mean is not the mean of exps."""
    return sum(math.exp(loss) * n for loss, n in zip(batch_losses, batch_counts)) / sum(batch_counts)


@register("L7.perplexity", "the perplexity of a held-out text from per-batch mean losses",
          solution=_solution_perplexity, wrong=(_wrong_mean_of_means, _wrong_mean_of_perplexities))
def _check_perplexity(perplexity: Callable[[Sequence[float], Sequence[int]], float]) -> None:
    compare(perplexity([math.log(8.0)], [5]), 8.0, name="one batch, every word at probability 1/8")
    compare(perplexity([2.0, 3.0], [10, 30]), math.exp(2.75), name="two batches of 10 and 30 words")
    compare(perplexity([4.0, 4.0, 1.0], [1, 1, 6]), math.exp(14 / 8), name="a last batch that is bigger")


# --- 3. do the nearest occurrences share the sense? -----------------------------------------------------


def _solution_nn_sense_accuracy(vectors: torch.Tensor, senses: Sequence[str]) -> float:
    """vectors: (n, dim), one per occurrence of a word; senses: n labels -> the fraction of occurrences
    whose most cosine-similar *other* occurrence has the same sense (leave-one-out 1-nearest neighbour)."""
    unit = torch.nn.functional.normalize(vectors.float(), dim=1)
    sim = unit @ unit.T
    sim.fill_diagonal_(-math.inf)                   # an occurrence may not vote for itself
    nearest = sim.argmax(dim=1).tolist()
    return sum(senses[i] == senses[j] for i, j in enumerate(nearest)) / len(senses)


def _wrong_with_itself(vectors: torch.Tensor, senses: Sequence[str]) -> float:
    """Forgets to leave the occurrence out: its nearest neighbour is itself, so it always scores 1."""
    unit = torch.nn.functional.normalize(vectors.float(), dim=1)
    nearest = (unit @ unit.T).argmax(dim=1).tolist()
    return sum(senses[i] == senses[j] for i, j in enumerate(nearest)) / len(senses)


def _wrong_dot_product(vectors: torch.Tensor, senses: Sequence[str]) -> float:
    """Uses the raw dot product: long vectors become everyone's neighbour."""
    sim = vectors.float() @ vectors.float().T
    sim.fill_diagonal_(-math.inf)
    nearest = sim.argmax(dim=1).tolist()
    return sum(senses[i] == senses[j] for i, j in enumerate(nearest)) / len(senses)


@register("L7.nn_sense_accuracy", "how often an occurrence's nearest other occurrence has its sense",
          solution=_solution_nn_sense_accuracy, wrong=(_wrong_with_itself, _wrong_dot_product))
def _check_nn_sense_accuracy(nn_sense_accuracy: Callable[[torch.Tensor, Sequence[str]], float]) -> None:
    v = torch.tensor([[1.0, 0.1], [3.0, 0.4], [0.2, 1.0], [0.5, 2.0], [1.0, 0.9], [4.0, 3.0]])
    senses = ["tree", "tree", "factory", "factory", "factory", "tree"]
    # nearest by cosine: 0<->1, 2<->3, 4<->5 (the last pair crosses the senses): 4 of 6 right
    compare(nn_sense_accuracy(v, senses), 4 / 6, name="six occurrences, two senses")
    compare(nn_sense_accuracy(10 * v[:4], senses[:4]), 1.0, name="two clean pairs (and longer vectors)")
