"""Scoring generated sequences: edit distance, word error rate, phoneme error rate, by length.

- **edit distance** (Levenshtein): the fewest insertions, deletions and substitutions that turn
  one sequence into the other;
- **word error rate** (WER) in grapheme-to-phoneme conversion: the fraction of words whose predicted
  pronunciation is not exactly one of the listed ones (1 - exact match);
- **phoneme error rate** (PER): the edit distance to the closest listed pronunciation, summed over
  words and divided by the summed length of those pronunciations.

The same functions score any token sequences (characters of a date, words of a sentence).
"""
from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

__all__ = ["edit_distance", "closest_reference", "error_rates", "error_rates_by_length", "length_buckets"]

Tokens = Sequence[Hashable]


def edit_distance(a: Tokens, b: Tokens) -> int:
    """Levenshtein distance between two sequences (strings, lists of tokens), each edit costing 1.

    Dynamic programming over one row: ``d[j]`` is the distance between the prefix of ``a`` read so
    far and ``b[:j]``. ``O(len(a) * len(b))`` time, ``O(len(b))`` memory.

    >>> edit_distance("kitten", "sitting")
    3
    """
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def closest_reference(prediction: Tokens, references: Sequence[Tokens]) -> tuple[int, int]:
    """``(edit distance, index)`` of the reference closest to ``prediction`` (the first on ties)."""
    if len(references) == 0:
        raise ValueError("closest_reference needs at least one reference")
    dists = [edit_distance(list(prediction), list(r)) for r in references]
    best = min(range(len(dists)), key=lambda i: (dists[i], i))
    return dists[best], best


def error_rates(predictions: Sequence[Tokens], references: Sequence[Sequence[Tokens]]) -> dict[str, float]:
    """WER and PER of a list of predictions, each against its list of acceptable references.

    Args:
        predictions: one token sequence per word.
        references: for each word, one or more reference token sequences (a prediction is right if
            it equals any of them; its edit distance is taken to the closest).

    Returns:
        ``{"wer": fraction of words wrong, "per": sum of edit distances / sum of reference lengths,
        "n": number of words}``.
    """
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} predictions but {len(references)} reference lists")
    if not predictions:
        raise ValueError("error_rates needs at least one prediction")
    wrong = edits = ref_len = 0
    for pred, refs in zip(predictions, references):
        d, i = closest_reference(pred, refs)
        wrong += d > 0
        edits += d
        ref_len += len(refs[i])
    if ref_len == 0:
        raise ValueError("the references are all empty: the phoneme error rate is undefined")
    return {"wer": wrong / len(predictions), "per": edits / ref_len, "n": len(predictions)}


def length_buckets(lengths: Sequence[int], edges: Sequence[int]) -> list[str]:
    """A label per length: ``edges = (4, 6, 8)`` gives ``"<=4"``, ``"5-6"``, ``"7-8"``, ``">=9"``."""
    if not edges:
        raise ValueError("length_buckets needs at least one edge, e.g. (4, 6, 8)")
    edges = sorted(edges)
    labels = []
    for n in lengths:
        lo = None
        for e in edges:
            if n <= e:
                labels.append(f"<={e}" if lo is None else (f"{lo + 1}-{e}" if e > lo + 1 else str(e)))
                break
            lo = e
        else:
            labels.append(f">={edges[-1] + 1}")
    return labels


def error_rates_by_length(predictions: Sequence[Tokens], references: Sequence[Sequence[Tokens]],
                          sources: Sequence[Tokens], edges: Sequence[int],
                          length: Callable[[Tokens], int] = len) -> dict[str, dict[str, float]]:
    """:func:`error_rates` per source-length bucket (see :func:`length_buckets`), in length order.

    Returns:
        ``{bucket label: {"wer", "per", "n"}}``, buckets without words left out.
    """
    if not len(predictions) == len(references) == len(sources):
        raise ValueError("predictions, references and sources must have the same length")
    if not edges:
        raise ValueError("error_rates_by_length needs at least one bucket edge, e.g. (4, 6, 8)")
    labels = length_buckets([length(s) for s in sources], edges)
    order = list(dict.fromkeys(length_buckets(range(0, max(edges) + 2), edges)))
    out = {}
    for lab in order:
        idx = [i for i, b in enumerate(labels) if b == lab]
        if idx:
            out[lab] = error_rates([predictions[i] for i in idx], [references[i] for i in idx])
    return out
