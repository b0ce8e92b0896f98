"""Checks on lecture 1's SUMMARY (word embeddings). Bounds hold in FAST mode; full mode is stricter."""
from __future__ import annotations


def check(summary: dict, fast: bool) -> None:
    s = summary
    # the vocabulary of the whole extract at min_count 5 (both modes use every sentence)
    assert 8000 <= s["vocab_size"] <= 9000, s["vocab_size"]
    assert s["dim"] == (50 if fast else 100), s["dim"]
    # one-hot @ E and nn.Embedding pick the same numbers
    assert s["embedding_lookup_max_diff"] <= 1e-6, s["embedding_lookup_max_diff"]
    # WordSim353: most pairs with both words in the vocabulary; PPMI-SVD correlates clearly,
    # random vectors do not
    assert s["n_pairs_covered"] >= 200, s["n_pairs_covered"]
    assert s["wordsim_spearman"] >= (0.35 if fast else 0.45), s["wordsim_spearman"]
    assert abs(s["random_wordsim_spearman"]) <= 0.2, s["random_wordsim_spearman"]
    assert s["simlex_spearman"] >= 0.08, s["simlex_spearman"]
    # averaging forgets order: a sentence and its reordering get the same vector
    assert abs(s["order_cosine"] - 1.0) <= 1e-6, s["order_cosine"]
    assert abs(s["scrambled_cosine"] - 1.0) <= 1e-6, s["scrambled_cosine"]
    # concatenating in order does tell the two sentences apart
    assert s["concat_cosine"] <= 0.9, s["concat_cosine"]
