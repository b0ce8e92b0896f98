"""Checks on the numbers lecture 3 (the vanilla RNN) measures."""


def check(summary: dict, fast: bool) -> None:
    s = summary
    assert s["elman_max_diff"] <= 1e-6, "the hand-unrolled RNN must match nn.RNN"
    assert s["bptt_max_diff"] <= 1e-10, "hand BPTT must match autograd (float64)"
    assert s["hello_min_p_correct"] > 0.9, "the toy model must learn 'hello', including both l's"
    # the char LM learns from context: far below the unigram model; the compressors are sane
    assert 3.5 < s["unigram_bpc"] < 5.5
    assert 0.5 < s["xz_ctx_bpc"] < s["xz_bpc"] < 2.0 and 0.8 < s["gzip_bpc"] < 2.5
    assert s["charlm_bpc"] < (3.2 if fast else 2.6), s["charlm_bpc"]
    assert s["charlm_bpc"] < s["unigram_bpc"] - (1.0 if fast else 1.8)
    if not fast:  # a hidden-512 vanilla RNN fits its training text much better than held-out code
        assert s["charlm_train_bpc"] < s["charlm_bpc"] - 0.3
    assert s["beam_logp"] >= s["greedy_logp"] - 1e-6, "beam search found a less likely sequence than greedy"
    assert s["student_forcing_bpc"] > s["teacher_forcing_bpc"] + 0.5
    assert s["grad_decay_50"] < s["grad_decay_10"] < 1.0, "gradients must fade with distance"
    assert s["max_grad_norm_unclipped"] > 3.0
    assert s["final_loss_clipped"] < s["final_loss_unclipped"] + 0.05
    assert abs(s["h0_learned_first_bpc"] - s["h0_zero_first_bpc"]) < 0.5, "h_0 changes the first steps a little"
    assert abs(s["h0_learned_later_bpc"] - s["h0_zero_later_bpc"]) < 0.05, "h_0 must not matter far into a window"
