"""Checks on the SUMMARY of lectures/05_deep_bidirectional.ipynb."""


def check(summary: dict, fast: bool) -> None:
    assert summary["packed_match_max_diff"] < 1e-5, "hand bidirectional stack must match packed nn.RNN"
    for key in ("uni1_acc", "uni2_acc", "bi1_acc", "bi2_acc"):
        assert 0.0 <= summary[key] <= 1.0
    # every tagger at least matches the always-0 baseline (within noise)
    assert min(summary[k] for k in ("uni1_acc", "bi1_acc", "uni2_acc", "bi2_acc")) >= summary["majority_acc"] - 0.01
    if fast:
        return
    # full mode: the backward direction is what finds sentence ends
    assert summary["bi1_f1"] > summary["uni1_f1"] + 0.1, summary
    assert summary["bi2_f1"] > summary["uni2_f1"] + 0.1, summary
    assert summary["bi1_acc"] > summary["majority_acc"] + 0.01
