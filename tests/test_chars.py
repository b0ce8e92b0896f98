"""Character data, the char-RNN language model and bits per character."""
from __future__ import annotations

import math

import pytest
import torch

from course_lib.data.chars import (
    CharWindows, char_lm_data, char_vocab, compressed_bits_per_char, decode_ids, encode_text,
)
from course_lib.lm import CharRNNLM, bits_per_char, char_lm_loss, dynamic_bits_per_char
from course_lib.recipes.char_lm import hidden_for_budget, train_char_lm, train_char_lms


def test_vocab_and_round_trip():
    v = char_vocab("hello")
    assert v.itos[4:] == ["l", "e", "h", "o"]  # by count, then alphabetical
    ids = encode_text(v, "hole")
    assert ids.tolist() == [6, 7, 4, 5] and decode_ids(v, ids) == "hole"
    assert decode_ids(v, encode_text(v, "hex")) == "he?"


def test_windows_shift_by_one():
    ds = CharWindows(torch.arange(11), 3)
    assert len(ds) == 3
    x, y = ds[1]
    assert x.tolist() == [3, 4, 5] and y.tolist() == [4, 5, 6]
    with pytest.raises(IndexError):
        ds[3]
    with pytest.raises(ValueError, match="seq_len"):
        CharWindows(torch.arange(11), 0)


def test_char_lm_data_split_by_position():
    d = char_lm_data(text="abcdefghij" * 10, heldout_fraction=0.2)
    assert d.train_text + d.heldout_text == "abcdefghij" * 10 and len(d.heldout_text) == 20
    assert decode_ids(d.vocab, d.heldout_ids) == d.heldout_text


def test_compressors_on_known_texts():
    rnd = torch.Generator().manual_seed(0)
    random_bits = "".join(str(b) for b in torch.randint(0, 2, (20000,), generator=rnd).tolist())
    # a random 0/1 string has 1 bit of information per character; compressors need a bit more
    for m in ("xz", "gzip"):
        assert 1.0 < compressed_bits_per_char(random_bits, m) < 1.4
    assert compressed_bits_per_char("ab" * 10000, "xz") < 0.05
    text = "the quick brown fox " * 50
    assert compressed_bits_per_char(text, "xz", context=text) < compressed_bits_per_char(text, "xz")
    with pytest.raises(ValueError, match="method"):
        compressed_bits_per_char("a", "bz2")


def test_hand_and_torch_lm_agree():
    torch.manual_seed(0)
    a = CharRNNLM(7, 5, impl="torch")
    b = CharRNNLM(7, 5, impl="hand")
    with torch.no_grad():
        b.rnn.cell.U.copy_(a.rnn.weight_ih_l0)
        b.rnn.cell.W.copy_(a.rnn.weight_hh_l0)
        b.rnn.cell.b.copy_(a.rnn.bias_ih_l0 + a.rnn.bias_hh_l0)
        b.out.load_state_dict(a.out.state_dict())
    x = torch.randint(0, 7, (3, 9))
    torch.testing.assert_close(a(x)[0], b(x)[0], atol=1e-6, rtol=1e-5)


def test_bits_per_char_of_an_untrained_model_is_log2_vocab():
    model = CharRNNLM(16, 8)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()  # uniform predictions
    ids = torch.randint(0, 16, (1000,))
    assert bits_per_char(model, ids, n_streams=4, chunk=50) == pytest.approx(4.0, abs=1e-6)


def test_bits_per_char_matches_the_loss_on_one_stream():
    torch.manual_seed(1)
    model = CharRNNLM(10, 6, learn_h0=False)
    ids = torch.randint(0, 10, (201,))
    loss, n = char_lm_loss(model, (ids[:-1].unsqueeze(0), ids[1:].unsqueeze(0)))
    assert n == 200
    # one stream read in chunks of 7 carries the state: same as one long sequence
    assert bits_per_char(model, ids, n_streams=1, chunk=7) == pytest.approx(loss.item() / math.log(2), rel=1e-5)


def test_learned_h0_is_a_parameter():
    model = CharRNNLM(10, 6, learn_h0=True)
    assert model.h0 is not None and model.h0.requires_grad
    assert model.initial_state(3).shape == (3, 6)


def test_scheduled_sampling_extremes():
    from course_lib.lm import scheduled_sampling_loss

    torch.manual_seed(2)
    model = CharRNNLM(10, 6)
    with torch.no_grad():
        model.out.weight.mul_(5)  # peaky predictions: the model's own samples differ from the text
    x = torch.randint(0, 10, (4, 12))
    y = torch.roll(x, -1, 1)
    tf, _ = char_lm_loss(model, (x, y))
    ss0, n = scheduled_sampling_loss(model, (x, y), 0.0)
    assert n == 48 and ss0.item() == pytest.approx(tf.item(), rel=1e-5)
    ss1, _ = scheduled_sampling_loss(model, (x, y), 1.0, torch.Generator().manual_seed(0))
    assert abs(ss1.item() - tf.item()) > 0.01
    with pytest.raises(ValueError, match="p_own"):
        scheduled_sampling_loss(model, (x, y), 1.5)


@pytest.mark.parametrize("kind", ["elman", "gru", "lstm"])
def test_gated_lm_hand_and_torch_agree_and_carry_the_state(kind):
    torch.manual_seed(0)
    a = CharRNNLM(9, 6, kind=kind, embed_size=6, tie_weights=True)
    b = CharRNNLM(9, 6, kind=kind, embed_size=6, tie_weights=True, impl="hand")
    b.rnn = type(b.rnn).from_torch(a.rnn)
    b.embed.load_state_dict(a.embed.state_dict())
    b.out.bias.data.copy_(a.out.bias)
    x = torch.randint(0, 9, (3, 10))
    torch.testing.assert_close(a(x)[0], b(x)[0], atol=1e-6, rtol=1e-5)
    # reading in two pieces with the state carried is reading at once (an LSTM's state is (h, s))
    whole, _ = a(x)
    first, state = a(x[:, :4])
    second, _ = a(x[:, 4:], state)
    torch.testing.assert_close(torch.cat([first, second], 1), whole, atol=1e-6, rtol=1e-5)
    assert isinstance(state, tuple) == (kind == "lstm")


def test_tied_weights_dropout_and_keep_bias():
    model = CharRNNLM(12, 8, kind="lstm", embed_size=8, tie_weights=True, dropout=0.5, keep_bias=1.0)
    assert model.out.weight is model.embed.weight
    n_untied = sum(p.numel() for p in CharRNNLM(12, 8, kind="lstm", embed_size=8).parameters())
    assert n_untied - sum(p.numel() for p in model.parameters()) == 12 * 8  # one matrix fewer
    assert sum(p.numel() for p in model.parameters()) == hidden_budget_count("lstm", 8, 12)
    b_f = model.rnn.bias_ih_l0[8:16] + model.rnn.bias_hh_l0[8:16]
    assert torch.allclose(b_f, torch.ones(8))
    x = torch.randint(0, 12, (2, 7))
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])  # dropout only while training
    model.train()
    assert not torch.equal(model(x)[0], model(x)[0])
    with pytest.raises(ValueError, match="tie_weights needs embed_size"):
        CharRNNLM(12, 8, tie_weights=True)
    with pytest.raises(ValueError, match="keep_bias is for"):
        CharRNNLM(12, 8, keep_bias=1.0)
    with pytest.raises(ValueError, match="kind must be one of"):
        CharRNNLM(12, 8, kind="transformer")


def hidden_budget_count(kind, hidden, vocab):
    return sum(p.numel() for p in CharRNNLM(vocab, hidden, kind=kind, embed_size=hidden, tie_weights=True).parameters())


@pytest.mark.parametrize("kind", ["elman", "gru", "lstm"])
def test_hidden_for_budget_matches_the_model(kind):
    hidden = hidden_for_budget(kind, 50_000, 30)
    n = hidden_budget_count(kind, hidden, 30)
    assert abs(n - 50_000) <= abs(hidden_budget_count(kind, hidden + 1, 30) - 50_000)
    assert abs(n - 50_000) <= abs(hidden_budget_count(kind, hidden - 1, 30) - 50_000)


def test_dynamic_evaluation():
    torch.manual_seed(3)
    model = CharRNNLM(6, 8, kind="gru", embed_size=8)
    ids = torch.tensor([4, 5] * 400)  # "abab...": easy to learn while reading
    before = {k: v.clone() for k, v in model.state_dict().items()}
    static = bits_per_char(model, ids, n_streams=4, chunk=16)
    assert dynamic_bits_per_char(model, ids, lr=0.0, n_streams=4, chunk=16) == pytest.approx(static, rel=1e-5)
    assert dynamic_bits_per_char(model, ids, lr=0.01, n_streams=4, chunk=16) < static - 0.2
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())  # the model is not changed
    with pytest.raises(ValueError, match="lr must be >= 0"):
        dynamic_bits_per_char(model, ids, lr=-1.0)


def test_models_trained_in_worker_processes_equal_the_ones_trained_here(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))  # the workers inherit it
    data = char_lm_data(text="def f(x):\n    return x + 1\n" * 60, heldout_fraction=0.2)
    sizes = {"elman": 8, "lstm": 6}
    small = dict(batch_size=4, seq_len=16, dropout=0.1)
    runs = train_char_lms(data, sizes, 5, workers=2, **small)
    assert "2 at a time" in capsys.readouterr().out
    assert list(runs) == ["elman", "lstm"] and not any(r.from_cache for r in runs.values())
    for kind, hidden in sizes.items():
        here = train_char_lm(data, kind, hidden, 5, **small, cache=False, verbose=False)
        assert here.lr == runs[kind].lr
        mine, theirs = here.model.state_dict(), runs[kind].model.state_dict()
        assert all(torch.equal(mine[k], theirs[k]) for k in mine), kind  # one thread both ways: identical
    again = train_char_lms(data, sizes, 5, workers=2, **small)  # now both are in the cache: no workers
    assert all(r.from_cache for r in again.values()) and "at a time" not in capsys.readouterr().out
    with pytest.raises(ValueError, match="workers must be >= 1"):
        train_char_lms(data, sizes, 5, workers=0)
    with pytest.raises(ValueError, match="LECTURE_LR"):
        train_char_lms(data, sizes, 5, lr=0.1)
