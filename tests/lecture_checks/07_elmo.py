"""Checks on the numbers lecture 7 (ELMo-style contextual embeddings) reports in SUMMARY."""
import math


def check(summary: dict, fast: bool) -> None:
    s = summary
    # layer 0 depends only on the spelling: every occurrence of a word has the same vector
    assert abs(s["gap_layer0"]) < 1e-4, s["gap_layer0"]
    for w in ("plant", "capital", "court", "power"):
        assert abs(s[f"within_{w}_l0"] - 1) < 1e-4 and abs(s[f"across_{w}_l0"] - 1) < 1e-4, w
    for d in ("forward", "backward"):
        ppl = s[f"ppl_{d}"]
        assert math.isfinite(ppl) and 1 < ppl < s["vocab_size"], (d, ppl)
    for k in ("static", "layer0", "layer1", "layer2", "mix"):
        assert 0 <= s[f"f1_{k}"] <= 1, k
    assert abs(s["mix_w0"] + s["mix_w1"] + s["mix_w2"] - 1) < 1e-5
    if fast:
        assert s["seconds"] < 120, s["seconds"]
        return
    # full mode: the LM learned context, the LSTM layers separate senses, context helps the task
    assert s["ppl_forward"] < 0.8 * s["unigram_ppl"] and s["ppl_backward"] < 0.8 * s["unigram_ppl"], s
    assert s["gap_layer1"] > 0.05 and s["gap_layer2"] > 0.05, (s["gap_layer1"], s["gap_layer2"])
    assert s["min_gap_lstm"] > 0, s["min_gap_lstm"]
    assert s["f1_mix"] > s["f1_static"] + 0.1 and s["f1_mix"] > s["f1_layer0"] + 0.1, s
    assert max(s["f1_layer1"], s["f1_layer2"]) > s["f1_layer0"] + 0.1, s
