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
    assert s["ctx_gap_layer0"] == 0, s["ctx_gap_layer0"]      # layer 0: the context adds nothing
    # the prose's corpus numbers (counted on the whole extract in both modes): "about 32 k" word types,
    # the capped vocabulary covers "about 86 %" of the running training text, "0.4 M words of text"
    assert 31_500 <= s["n_types"] < 32_500, s["n_types"]
    assert 0.855 <= s["vocab_coverage"] < 0.865, s["vocab_coverage"]
    assert 350_000 < s["n_tokens"] < 450_000, s["n_tokens"]
    # the biLM's forward pass and loss built by hand match the library
    assert s["by_hand_loss_diff"] < 1e-5, s["by_hand_loss_diff"]
    for k in ("scratch_samechunks", "scratch_allchunks", "mix_mean", "scratch_same_mean"):
        assert 0 <= s[f"f1_{k}"] <= 1, k
    assert s["n_seeds"] >= 2
    if fast:
        assert s["seconds"] < 120, s["seconds"]
        return
    # full mode: the LM learned context ...
    assert s["ppl_forward"] < 0.8 * s["unigram_ppl"] and s["ppl_backward"] < 0.8 * s["unigram_ppl"], s
    # ... the LSTM layers separate senses: on whole vectors a small gap for every word (measured 0.01-0.08),
    assert s["gap_layer1"] > 0.01 and s["gap_layer2"] > 0.01, (s["gap_layer1"], s["gap_layer2"])
    assert s["min_gap_lstm"] > 0, s["min_gap_lstm"]
    # on what the context added a large one (measured 0.16-0.27 on the mean over words)
    assert s["ctx_gap_layer1"] > 0.1 and s["ctx_gap_layer2"] > 0.1, (s["ctx_gap_layer1"], s["ctx_gap_layer2"])
    assert s["ctx_min_gap_lstm"] > 0, s["ctx_min_gap_lstm"]
    assert 0.05 < s["share_layer1"] < 1 and 0.05 < s["share_layer2"] < 1, s
    # ... and context helps the task (measured: static 0.04, layer 0 0.01, layers 1 / 2 0.33 / 0.36, mix 0.34)
    assert s["f1_mix"] > s["f1_static"] + 0.15 and s["f1_mix"] > s["f1_layer0"] + 0.15, s
    assert max(s["f1_layer1"], s["f1_layer2"]) > s["f1_layer0"] + 0.15, s
    # frozen biLM vs a bidirectional RNN from scratch (lecture 5's recipe, loss and F1), full mode, measured:
    # same 1000 labelled chunks: mix 0.342 +- 0.008 vs scratch 0.250 +- 0.003 (3 seeds);
    # all labelled chunks (8x as many words): scratch 0.448
    assert s["f1_mix_mean"] > s["f1_scratch_same_mean"] + 0.05, s
    assert s["f1_mix_std"] < 0.03 and s["f1_scratch_same_std"] < 0.03, s
    assert s["f1_scratch_allchunks"] > s["f1_mix_mean"] + 0.05, s
