"""Labels derived from real text: sentence boundaries and word order."""
from __future__ import annotations

import pytest

from course_lib.data import wiki_sentences
from course_lib.data.tasks import sentence_boundary_task, split_by_position, word_order_task


def test_split_by_position_is_contiguous():
    parts = split_by_position(list(range(100)))
    assert parts["train"] == list(range(80)) and parts["val"] == list(range(80, 90))
    assert parts["test"] == list(range(90, 100))
    with pytest.raises(ValueError, match="summing to 1"):
        split_by_position([1, 2], (0.5, 0.5, 0.5))


def test_sentence_boundaries_mark_sentence_ends():
    sents = wiki_sentences(lower=True, keep_punct=False, max_sentences=200)
    task = sentence_boundary_task(n_sentences=200, chunk_tokens=20, seed=1)
    train = task["train"]
    tokens = [w for toks, _ in train for w in toks]
    labels = [y for _, ys in train for y in ys]
    expected_tokens = [w for s in sents[:160] for w in s]
    assert tokens == expected_tokens                      # chunks cover the text in order, nothing lost
    assert sum(labels) == 160                             # one boundary per training sentence
    ends = list(__import__("itertools").accumulate(len(s) for s in sents[:160]))
    assert [i + 1 for i, y in enumerate(labels) if y] == ends
    lengths = [len(t) for t, _ in train]
    assert all(len(t) == len(y) for t, y in train)
    assert min(lengths[:-1]) >= 10 and max(lengths) <= 30 and len(set(lengths)) > 3
    assert len(task["val"]) > 0 and len(task["test"]) > 0


def test_sentence_boundary_task_is_deterministic():
    a = sentence_boundary_task(n_sentences=100, seed=3)
    b = sentence_boundary_task(n_sentences=100, seed=3)
    assert a == b


def test_word_order_task_labels():
    task = word_order_task(n_sentences=400, seed=0)
    items = task["train"] + task["val"] + task["test"]
    sents = {tuple(s) for s in wiki_sentences(lower=True, keep_punct=False, max_sentences=400)}
    n_orig = sum(y for _, y in items)
    assert 0.4 < n_orig / len(items) < 0.6
    for toks, y in items:
        assert 5 <= len(toks) <= 30
        assert (tuple(toks) in sents) == (y == 1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="chunk_tokens"):
        sentence_boundary_task(n_sentences=100, chunk_tokens=2)
    with pytest.raises(ValueError, match="n_sentences"):
        word_order_task(n_sentences=3)
