"""Exercises of lecture 1 (word embeddings)."""
from __future__ import annotations

from collections.abc import Callable

import torch

from course_lib.check import compare
from course_lib.exercises import register


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
