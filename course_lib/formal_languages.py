"""Counting languages: a^n b^n and a^n b^n c^n, the strings, their ids and what is predictable.

**Counting languages.**

A string ``a^n b^n`` is read one symbol at a time after a start symbol ``^``; at every step the
network predicts the next symbol, and after the last letter it must predict the end symbol ``$``::

    input   ^ a a a b b b
    target  a a a b b b $

While it reads a's, the next symbol may be another ``a`` or the first ``b``: that prediction is not
determined by the prefix. Every other prediction is: the first ``a`` after ``^`` (n >= 1), and
everything after the first ``b`` (the remaining b's, then, for a^n b^n c^n, exactly n c's, then
``$``). A string counts as **correct** when every deterministic prediction is right; a model
generalises up to ``N`` when all strings with ``n = 1 .. N`` are correct. Predicting ``$`` at the
right moment requires counting the a's, which is why these languages test whether a network can
count (Gers & Schmidhuber 2001; Weiss, Goldberg & Yahav 2018).

Symbols and ids: ``<pad>`` 0, ``^`` 1, ``$`` 2, ``a`` 3, ``b`` 4, ``c`` 5.
The model that learns them (:class:`~course_lib.models.counting.CountingModel`, with
``predict_next``, ``strings_correct``, ``largest_correct_n``), its training recipe
(:mod:`course_lib.recipes.counting`: ``train_counting``, ``counting_experiment``) and the recall task
(:func:`course_lib.data.recall.recall_batch`) live in their own modules; their names stay
importable from here.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from course_lib.data.batching import pad_batch
from course_lib.data.masks import lengths_to_mask
from course_lib.data.recall import recall_batch
from course_lib.lazy import moved_names

__all__ = [
    "SYMBOLS", "START", "END", "LETTERS", "check_language", "counting_string", "encode", "decode",
    "next_symbol_example", "deterministic_mask", "all_deterministic_correct", "counting_batch", "allowed_next",
    "recall_batch",
]

# moved to the model and recipe modules; still importable from here (lecture 6 and assignment 3 do)
__getattr__, __dir__ = moved_names(__name__, {
    **dict.fromkeys(["CountingModel", "predict_next", "strings_correct", "largest_correct_n"],
                    "course_lib.models.counting"),
    **dict.fromkeys(["CountingRun", "train_counting", "counting_experiment", "LOSSES"], "course_lib.recipes.counting"),
})

START, END = "^", "$"
SYMBOLS = ("<pad>", START, END, "a", "b", "c")
_ID = {s: i for i, s in enumerate(SYMBOLS)}
LETTERS = "abc"


def check_language(n: int, num_letters: int) -> None:
    """Raise ``ValueError`` unless ``n >= 1`` and ``num_letters`` is 2 (a^n b^n) or 3 (a^n b^n c^n)."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if num_letters not in (2, 3):
        raise ValueError(f"num_letters must be 2 (a^n b^n) or 3 (a^n b^n c^n), got {num_letters!r}")


def counting_string(n: int, num_letters: int = 2) -> str:
    """``a^n b^n`` (``num_letters=2``) or ``a^n b^n c^n`` (``num_letters=3``), e.g. ``"aabb"``."""
    check_language(n, num_letters)
    return "".join(ch * n for ch in LETTERS[:num_letters])


def encode(symbols: str | Sequence[str]) -> list[int]:
    """Symbols (``"^aabb$"``) to ids; raises on an unknown symbol."""
    try:
        return [_ID[s] for s in symbols]
    except KeyError as exc:
        raise ValueError(f"unknown symbol {exc.args[0]!r}; the symbols are {SYMBOLS[1:]}") from None


def decode(ids: Sequence[int] | torch.Tensor) -> str:
    """Ids to a string of symbols (padding is dropped)."""
    ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
    return "".join(SYMBOLS[i] for i in ids if i != 0)


def next_symbol_example(n: int, num_letters: int = 2) -> tuple[list[int], list[int]]:
    """The input and target ids of one string: ``^ s_1 .. s_L`` and ``s_1 .. s_L $`` (each ``L + 1`` long,
    ``L = num_letters * n``)."""
    s = counting_string(n, num_letters)
    return encode(START + s), encode(s + END)


def deterministic_mask(n: int, num_letters: int = 2) -> list[bool]:
    """Which predictions are determined by the prefix, for the input ``^ s_1 .. s_L`` (``L + 1`` entries).

    True at position 0 (after ``^`` comes ``a``) and from the first ``b`` on; False while
    reading a's (the next symbol may be ``a`` or ``b``).

    >>> deterministic_mask(2)
    [True, False, False, True, True]
    """
    check_language(n, num_letters)
    return [True] + [False] * n + [True] * ((num_letters - 1) * n)


def all_deterministic_correct(predicted: Sequence[int] | torch.Tensor | str, n: int, num_letters: int = 2) -> bool:
    """Whether every deterministic prediction of one string is right.

    Args:
        predicted: ``(L + 1,)`` predicted next symbols for the input ``^ s_1 .. s_L`` (ids, or a
            string of symbols such as ``"aaabb$"``); extra entries (padding) are ignored.
        n, num_letters: which string.
    """
    _, target = next_symbol_example(n, num_letters)
    pred = encode(predicted) if isinstance(predicted, str) else (
        predicted.tolist() if isinstance(predicted, torch.Tensor) else list(predicted))
    if len(pred) < len(target):
        raise ValueError(f"need {len(target)} predictions for n={n}, got {len(pred)}")
    return all(p == t for p, t, det in zip(pred, target, deterministic_mask(n, num_letters)) if det)


def counting_batch(ns: Sequence[int], num_letters: int = 2) -> dict[str, torch.Tensor]:
    """The strings ``n in ns`` as one padded batch: ``inputs``, ``targets``, ``mask`` (each ``(batch, time)``)
    and ``n`` ``(batch,)``."""
    pairs = [next_symbol_example(n, num_letters) for n in ns]
    inputs, lengths = pad_batch([p[0] for p in pairs])
    targets, _ = pad_batch([p[1] for p in pairs])
    return {"inputs": inputs, "targets": targets, "mask": lengths_to_mask(lengths, inputs.shape[1]),
            "n": torch.tensor(list(ns))}


def allowed_next(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The set of symbols that may come next, as a 0/1 tensor ``(batch, time, 6)``.

    Where the prefix determines the next symbol this is the one-hot target; while reading a's
    (input ``a``) both ``a`` and ``b`` are allowed.
    """
    allowed = F.one_hot(targets, len(SYMBOLS)).float()
    reading_a = inputs == _ID["a"]
    allowed[..., _ID["a"]] = torch.where(reading_a, 1.0, allowed[..., _ID["a"]])
    allowed[..., _ID["b"]] = torch.where(reading_a, 1.0, allowed[..., _ID["b"]])
    return allowed
