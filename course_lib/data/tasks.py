"""Supervised tasks whose labels come from real text, with no annotation needed.

- :func:`sentence_boundary_task` (many-to-many tagging): lower-cased Wikipedia text with the
  punctuation removed and the sentences run together; tag the word that ends a sentence.
  Whether a word ends a sentence is often only clear from the *next* word, so a model that
  reads left to right is at a disadvantage -- a task where the right-hand context matters.
- :func:`word_order_task` (many-to-one classification): is this sentence in its original word
  order, or were its words shuffled? An average of word embeddings cannot tell (it is the same
  for every order); a recurrent network can.

Both split the corpus by position (the first 80 % of the sentences train, the next 10 % validate,
the last 10 % test), so the same article never straddles train and test except at the two cuts.
"""
from __future__ import annotations

import random

from course_lib.data.corpora import wiki_sentences

__all__ = ["sentence_boundary_task", "word_order_task", "split_by_position"]

Item = tuple[list[str], list[int]]


def split_by_position(items: list, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> dict[str, list]:
    """Cut ``items`` (in corpus order) into contiguous ``train`` / ``val`` / ``test`` parts."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    n = len(items)
    a = int(round(n * fractions[0]))
    b = int(round(n * (fractions[0] + fractions[1])))
    return {"train": items[:a], "val": items[a:b], "test": items[b:]}


def _sentences(n_sentences: int | None) -> list[list[str]]:
    if n_sentences is not None and (not isinstance(n_sentences, int) or n_sentences < 10):
        raise ValueError(f"n_sentences must be an int >= 10 (or None for all), got {n_sentences!r}")
    return wiki_sentences(lower=True, keep_punct=False, max_sentences=n_sentences)


def sentence_boundary_task(n_sentences: int | None = None, chunk_tokens: int = 40, seed: int = 0
                           ) -> dict[str, list[Item]]:
    """Sentence-boundary tagging on lower-cased, punctuation-free Wikipedia text.

    The sentences of each split are joined into one token stream, which is cut into chunks of
    random length (uniform in ``[chunk_tokens // 2, 3 * chunk_tokens // 2]``), so chunks rarely
    start or end at a sentence boundary and have different lengths (they need padding).

    Args:
        n_sentences: use only the first ``n_sentences`` sentences (None: all, about 20 k).
        chunk_tokens: the mean chunk length in tokens (>= 4).
        seed: seed of the chunk lengths.

    Returns:
        ``{"train": [...], "val": [...], "test": [...]}``, each a list of ``(tokens, labels)``
        with ``labels[t] = 1`` if ``tokens[t]`` is the last word of a sentence, else 0.
    """
    if not isinstance(chunk_tokens, int) or chunk_tokens < 4:
        raise ValueError(f"chunk_tokens must be an int >= 4, got {chunk_tokens!r}")
    rng = random.Random(seed)
    out: dict[str, list[Item]] = {}
    for name, sents in split_by_position(_sentences(n_sentences)).items():
        tokens = [w for s in sents for w in s]
        labels = [int(i == len(s) - 1) for s in sents for i in range(len(s))]
        chunks: list[Item] = []
        start = 0
        while start < len(tokens):
            n = rng.randint(chunk_tokens // 2, 3 * chunk_tokens // 2)
            chunks.append((tokens[start:start + n], labels[start:start + n]))
            start += n
        out[name] = chunks
    return out


def word_order_task(n_sentences: int | None = None, min_tokens: int = 5, max_tokens: int = 30,
                    seed: int = 0) -> dict[str, list[tuple[list[str], int]]]:
    """Original vs shuffled word order, one label per sentence.

    Each sentence with ``min_tokens..max_tokens`` words is kept, and with probability 1/2 its
    words are put in a random order (guaranteed different from the original).

    Args:
        n_sentences: use only the first ``n_sentences`` sentences of the corpus (None: all).
        min_tokens, max_tokens: the sentence lengths kept.
        seed: seed of the shuffles and of which sentences are shuffled.

    Returns:
        ``{"train", "val", "test"}`` lists of ``(tokens, label)`` with label 1 = original order,
        0 = shuffled. Classes are balanced to within sampling noise.
    """
    if min_tokens < 2 or max_tokens < min_tokens:
        raise ValueError(f"need 2 <= min_tokens <= max_tokens, got {min_tokens}, {max_tokens}")
    rng = random.Random(seed)
    items: list[tuple[list[str], int]] = []
    for s in _sentences(n_sentences):
        if not min_tokens <= len(s) <= max_tokens or len(set(s)) < 2:
            continue
        if rng.random() < 0.5:
            items.append((list(s), 1))
        else:
            shuffled = list(s)
            while shuffled == s:
                rng.shuffle(shuffled)
            items.append((shuffled, 0))
    return split_by_position(items)
