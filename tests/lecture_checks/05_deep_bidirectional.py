"""Checks on the SUMMARY of lectures/05_deep_bidirectional.ipynb."""


def check(summary: dict, fast: bool) -> None:
    s = summary
    assert s["packed_match_max_diff"] < 1e-5, "hand bidirectional stack must match packed nn.RNN"
    for key in ("uni1_acc", "uni2_acc", "bi1_acc", "bi2_acc", "uni1_f1", "bi1_f1", "uni2_f1", "bi2_f1"):
        assert 0.0 <= s[key] <= 1.0, key
    # the prose: "about one token in twenty ends a sentence", "always answering 0 scores about 95 %"
    assert 0.04 < s["sentence_end_rate"] < 0.06, s["sentence_end_rate"]
    assert 0.94 < s["majority_acc"] < 0.97, s["majority_acc"]
    # section 4: equal parameter counts (within 2 % of the RNN and output layers -- one step of H_u moves
    # them by about 2 H + E; the embedding is shared),
    # "H_u about 1.6 H", "doubling H would about triple them", "a second direction doubles them"
    assert abs(s["uni_eq_params"] - s["bi_params"]) <= 0.02 * s["rnn_params_bi"], s
    assert abs(s["rnn_params_uni_eq"] - s["rnn_params_bi"]) <= 0.02 * s["rnn_params_bi"], s
    assert 1.5 <= s["uni_eq_hidden"] / s["hidden"] <= 1.7, s
    assert 2.7 < s["double_h_factor"] < 3.3 and 1.9 < s["second_direction_factor"] < 2.1, s
    assert s["n_seeds"] >= 2 and s["uni_eq_f1_std"] >= 0 and s["bi_f1_std"] >= 0
    if fast:
        return  # 100 steps: no ranking is claimed
    # full mode (measured, 1000 steps: F1 uni 0.206 / 0.213, bi 0.406 / 0.414 for 1 / 2 layers; equal
    # parameters over 4 seeds: uni (H = 100) 0.206 +- 0.003, bi (H = 64) 0.407 +- 0.002)
    assert s["n_seeds"] >= 4
    assert s["bi1_f1"] > s["uni1_f1"] + 0.1, s
    assert s["bi2_f1"] > s["uni2_f1"] + 0.1, s
    assert s["bi1_f1"] > 0.3, s
    # "a second layer helps much less than a second direction"
    assert abs(s["uni2_f1"] - s["uni1_f1"]) < 0.5 * (s["bi1_f1"] - s["uni1_f1"]), s
    # "accuracy sits below the always-0 baseline for every tagger here" (the class weight buys recall)
    assert max(s[k] for k in ("uni1_acc", "bi1_acc", "uni2_acc", "bi2_acc")) < s["majority_acc"], s
    assert s["bi1_recall"] > s["uni1_recall"], s
    # equal parameters: every bidirectional seed beats every unidirectional one, by a wide margin,
    # and the seeds of one model "differ by less than a hundredth"
    assert s["bi_f1_min"] > s["uni_eq_f1_max"] + 0.1, s
    assert s["uni_eq_f1_std"] < 0.01 and s["bi_f1_std"] < 0.01, s
    # "does no better than the one with H = 64"
    assert abs(s["uni_eq_f1_mean"] - s["uni1_f1"]) < 0.02, s
