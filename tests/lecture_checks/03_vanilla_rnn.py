"""Checks on the numbers lecture 3 (the vanilla RNN) measures."""


def check(summary: dict, fast: bool) -> None:
    s = summary
    assert s["elman_max_diff"] <= 1e-6, "the hand-unrolled RNN must match nn.RNN"
    assert s["bptt_max_diff"] <= 1e-10, "hand BPTT must match autograd (float64)"
    assert s["temperature_max_diff"] <= 1e-6, "softmax(o / T) by hand must match next_token_distribution"
    assert s["beam_step_max_diff"] <= 1e-9, "three beam steps by hand must match beam_search"
    assert s["hello_min_p_correct"] > 0.9, "the toy model must learn 'hello', including both l's"
    # the char LM learns from context: far below the unigram model; the compressors are sane
    assert 3.5 < s["unigram_bpc"] < 5.5
    assert 0.5 < s["xz_ctx_bpc"] < s["xz_bpc"] < 2.0 and 0.8 < s["gzip_bpc"] < 2.5
    assert s["charlm_bpc"] < (3.2 if fast else 2.6), s["charlm_bpc"]
    assert s["charlm_bpc"] < s["unigram_bpc"] - (1.0 if fast else 1.8)
    # the prose: "this vanilla RNN does not match xz"
    assert s["charlm_bpc"] > s["xz_bpc"] + 0.3, "the prose says the RNN does not match xz"
    if not fast:  # the model fits the start of its training text much better than held-out code
        assert s["charlm_train_bpc"] < s["charlm_bpc"] - 0.3
    # truncated BPTT vs independent windows, same steps: close, and carrying the state does not help here
    assert s["train_steps"] == s["indep_train_steps"]
    assert abs(s["charlm_bpc"] - s["indep_bpc"]) < 0.15, (s["charlm_bpc"], s["indep_bpc"])
    assert s["charlm_bpc"] > s["indep_bpc"] - 0.02, "the prose says independent windows are as good or better"
    assert s["charlm_window_bpc"] > s["indep_window_bpc"], "read from h_0 = 0 the stateful model must do worse"
    assert s["beam_logp"] >= s["greedy_logp"] - 1e-6, "beam search found a less likely sequence than greedy"
    # own samples as inputs: the loss rises; scheduled sampling pays at p = 0 and saves at p >= 0.5
    assert s["student_forcing_bpc"] > s["teacher_forcing_bpc"] + 0.5
    assert s["ft_sched_p0_bpc"] > s["ft_teacher_p0_bpc"], "scheduled sampling must cost at p = 0"
    assert s["ft_sched_p05_bpc"] < s["ft_teacher_p05_bpc"], "scheduled sampling must help at p = 0.5"
    assert s["ft_sched_p1_bpc"] < s["ft_teacher_p1_bpc"] - 0.5, "scheduled sampling must help a lot at p = 1"
    assert (s["ft_sched_p1_bpc"] - s["ft_sched_p0_bpc"]) < (s["ft_teacher_p1_bpc"] - s["ft_teacher_p0_bpc"])
    # gradients fade with distance, by orders of magnitude within a few dozen steps
    assert s["grad_decay_50"] < s["grad_decay_10"] < 1.0, "gradients must fade with distance"
    assert s["grad_decay_50"] < 1e-2
    assert s["max_grad_norm_unclipped"] > 3.0
    assert s["final_loss_clipped"] < s["final_loss_unclipped"] + 0.05
    # a learned h_0 helps at position 0, more for the stateful model, and not at all later on
    assert s["h0_learned_first_bpc"] < s["h0_zero_first_bpc"]
    assert s["h0_indep_learned_first_bpc"] <= s["h0_indep_zero_first_bpc"] + 0.02
    assert (s["h0_zero_first_bpc"] - s["h0_learned_first_bpc"]) > (s["h0_indep_zero_first_bpc"]
                                                                  - s["h0_indep_learned_first_bpc"])
    assert abs(s["h0_learned_later_bpc"] - s["h0_zero_later_bpc"]) < 0.05, "h_0 must not matter far into a window"
    assert abs(s["h0_indep_learned_later_bpc"] - s["h0_indep_zero_later_bpc"]) < 0.05
