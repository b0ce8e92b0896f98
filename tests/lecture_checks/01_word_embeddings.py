"""Checks on lecture 1's SUMMARY (word embeddings). Bounds hold in FAST mode; full mode is stricter."""
from __future__ import annotations


def check(summary: dict, fast: bool) -> None:
    s = summary
    # the corpus the prose describes: "about 20 000 sentences", "400 000 words" (both modes use all of it)
    assert 19_000 <= s["n_sentences"] <= 21_000, s["n_sentences"]
    assert 380_000 <= s["n_tokens"] <= 450_000, s["n_tokens"]
    # the vocabulary of the whole extract at min_count 5
    assert 8000 <= s["vocab_size"] <= 9000, s["vocab_size"]
    assert 0.03 <= s["unk_token_share"] <= 0.2, s["unk_token_share"]
    assert s["dim"] == (50 if fast else 100), s["dim"]
    # one-hot @ E and nn.Embedding pick the same numbers
    assert s["embedding_lookup_max_diff"] <= 1e-6, s["embedding_lookup_max_diff"]
    # PPMI written out by hand equals course_lib's; the numbers the prose quotes (767 meetings of
    # "war" and "the", about ten times those of "war" and "civil", yet about half the PMI; the
    # smoothing ratio 0.28 for "the" and above 1 for the rarer "folk")
    assert s["ppmi_by_hand_max_diff"] <= 1e-9, s["ppmi_by_hand_max_diff"]
    assert s["count_war_the"] == 767, s["count_war_the"]
    assert 9 <= s["count_war_the"] / s["count_war_civil"] <= 11, (s["count_war_the"], s["count_war_civil"])
    assert 0.4 <= s["pmi_war_the"] / s["pmi_war_civil"] <= 0.6, (s["pmi_war_the"], s["pmi_war_civil"])
    assert abs(s["smoothing_ratio_the"] - 0.28) < 0.005, s["smoothing_ratio_the"]
    assert s["smoothing_ratio_folk"] > 1, s["smoothing_ratio_folk"]
    # WordSim353: most pairs with both words in the vocabulary; PPMI-SVD correlates clearly,
    # random vectors do not
    assert s["n_pairs_covered"] >= 200, s["n_pairs_covered"]
    assert s["wordsim_spearman"] >= (0.35 if fast else 0.45), s["wordsim_spearman"]
    assert abs(s["random_wordsim_spearman"]) <= 0.2, s["random_wordsim_spearman"]
    assert s["simlex_spearman"] >= 0.08, s["simlex_spearman"]
    # "two dimensions keep only a part" of the variance
    assert 0.2 <= s["pca_variance_share"] <= 0.8, s["pca_variance_share"]
    # averaging forgets order: a sentence and its reordering get the same vector
    assert abs(s["order_cosine"] - 1.0) <= 1e-6, s["order_cosine"]
    assert abs(s["scrambled_cosine"] - 1.0) <= 1e-6, s["scrambled_cosine"]
    # concatenating in order does tell the two sentences apart
    assert s["concat_cosine"] <= 0.9, s["concat_cosine"]
