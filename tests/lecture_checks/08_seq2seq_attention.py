"""Checks on the SUMMARY of lectures/08_seq2seq_attention.ipynb."""


def check(summary: dict, fast: bool) -> None:
    # the hand-built attention and the whole model give the same answers padded and one at a time
    assert summary["pad_max_diff"] < 1e-5, summary
    assert summary["model_pad_diff"] < 1e-5, summary
    for key in ("plain_wer", "plain_per", "attn_wer", "attn_per", "tf_error_attn", "free_per_attn"):
        assert 0.0 <= summary[key] <= 1.0, (key, summary[key])
    # PER counts edits per phoneme: it is well below the WER, which counts whole words
    assert summary["attn_per"] < summary["attn_wer"], summary
    # attention helps even in a short run
    assert summary["attn_wer"] < summary["plain_wer"], summary
    # exposure bias: fed its own output, the model makes more errors than teacher-forced
    assert summary["free_per_attn"] > summary["tf_error_attn"], summary
    assert summary["date_acc_additive"] >= 0.0 and summary["date_acc_dot"] >= 0.0
    if fast:
        return
    # full mode (measured: attention WER 31.6 %, PER 7.6 %; fixed C 34.6 %, 9.0 %; gap +2.8 points for
    # words of <= 4 letters, +13.6 for >= 13). The benchmark goal is WER <= 30 % (Rao et al. 2015: 25.8 %).
    assert summary["n_train_words"] > 100_000 and summary["n_test_words"] > 5_000, summary
    assert summary["attn_wer"] <= 0.33, summary
    assert summary["attn_per"] <= 0.085, summary
    assert summary["plain_wer"] > summary["attn_wer"] + 0.015, summary
    assert summary["plain_per"] > summary["attn_per"] + 0.008, summary
    # the gap to the fixed-summary model grows with word length
    assert summary["gap_long"] > summary["gap_short"] + 0.05, summary
    # beam search does not hurt
    assert summary["attn_beam_wer"] <= summary["attn_greedy_sub_wer"] + 0.01, summary
    # dates are easy with attention
    assert summary["date_acc_additive"] > 0.9 and summary["date_acc_dot"] > 0.9, summary
    # exposure bias: free-running PER above the teacher-forced phoneme error (measured 8.2 % vs 7.0 %)
    assert summary["free_per_attn"] > 1.05 * summary["tf_error_attn"], summary
