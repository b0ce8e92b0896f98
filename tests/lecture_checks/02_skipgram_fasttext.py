"""Checks on lecture 2's SUMMARY (skip-gram and fastText, ours vs gensim)."""


def check(summary: dict, fast: bool) -> None:
    s = summary
    assert s["softmax_over_negsampling_time"] > 2, s["softmax_over_negsampling_time"]
    assert s["ours_final_loss"] < 0.85 * s["ours_first_loss"]
    assert (0.4 if fast else 0.6) < s["wordsim353_coverage"] <= 1.0
    # on a par with gensim (WordSim353 on ~150-230 pairs is noisy: a wider margin in FAST mode)
    margin = 0.08 if fast else 0.03
    assert s["ours_wordsim353"] >= s["gensim_wordsim353"] - margin, (s["ours_wordsim353"], s["gensim_wordsim353"])
    assert s["ours_words_per_s"] > 0 and s["gensim_words_per_s"] > 0
    # fastText: the step on each row is |G_w| times autograd's (fastText's rule), and it is not zero
    assert s["ft_step_vs_autograd_maxdiff"] < 1e-6 and s["ft_step_norm"] > 1e-4, (
        s["ft_step_vs_autograd_maxdiff"], s["ft_step_norm"])
    assert s["ft_final_loss"] < 0.9 * s["ft_first_loss"], (s["ft_first_loss"], s["ft_final_loss"])
    assert s["ft_misspelling_neighbour_ok"] == 1
    if not fast:
        assert s["ours_wordsim353"] > 0.2 and s["ours_analogy"] > 0.01
        # fastText: on a par with gensim's FastText on the whole extract (5 epochs); FAST-mode
        # scores (2,500 sentences, one epoch) are noise and are not checked
        assert s["ft_ours_wordsim353"] > 0.15, s["ft_ours_wordsim353"]
        assert s["ft_ours_wordsim353"] >= s["ft_gensim_wordsim353"] - 0.03, (
            s["ft_ours_wordsim353"], s["ft_gensim_wordsim353"])
        assert s["ft_ours_analogy"] >= s["ft_gensim_analogy"] - 0.03, (s["ft_ours_analogy"], s["ft_gensim_analogy"])
