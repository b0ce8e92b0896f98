"""Checks on the SUMMARY of lectures/05_deep_bidirectional.ipynb."""


def check(summary: dict, fast: bool) -> None:
    assert summary["packed_match_max_diff"] < 1e-5, "hand bidirectional stack must match packed nn.RNN"
    for key in ("uni1_acc", "uni2_acc", "bi1_acc", "bi2_acc"):
        assert 0.0 <= summary[key] <= 1.0
    if fast:
        # 150 steps: the taggers are barely past the always-0 baseline; no ranking is claimed
        assert min(summary[k] for k in ("uni1_acc", "bi1_acc", "uni2_acc", "bi2_acc")) >= summary["majority_acc"] - 0.05
        return
    # full mode: the backward direction is what finds sentence ends. The loss weights the rare
    # sentence-end class, so accuracy can sit just under the always-0 baseline; F1 on the
    # sentence-end class is the measure (measured: uni 0.12 / 0.15, bi 0.37 / 0.36 for 1 / 2 layers).
    assert summary["bi1_f1"] > summary["uni1_f1"] + 0.1, summary
    assert summary["bi2_f1"] > summary["uni2_f1"] + 0.1, summary
    assert summary["bi1_f1"] > 0.25, summary
    assert summary["bi1_acc"] > summary["majority_acc"] - 0.03, summary
