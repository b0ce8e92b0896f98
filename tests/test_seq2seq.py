"""Attention, the encoder-decoder, its decoding through course_lib.generate, and the sequence metrics."""
from __future__ import annotations

import itertools
import math
import random

import pytest
import torch

from course_lib.data.pairs import collate_pairs, encode_pairs, pair_loader, teacher_forcing_inputs
from course_lib.data.vocab import Vocab
from course_lib.generate import generate
from course_lib.models.attention import Attention, additive_scores, attend, dot_scores, masked_softmax
from course_lib.data.g2p import g2p_data
from course_lib.models.seq2seq import (ScriptedDecoder, Seq2Seq, beam_decode, greedy_decode, seq2seq_loss,
                                       teacher_forced_predictions)
from course_lib.seq2seq_tasks import (G2PConfig, attention_map, decode_all, evaluate_g2p, train_g2p, train_g2p_models,
                                      train_seq2seq)
from course_lib.seq_metrics import closest_reference, edit_distance, error_rates, error_rates_by_length, length_buckets

# --- attention -------------------------------------------------------------------------------------


def _loop_additive(q, k, W_q, W_k, v):
    """One score at a time: v . tanh(W_q q + W_k k_j)."""
    out = torch.empty(q.shape[0], k.shape[1], dtype=q.dtype)
    for b in range(q.shape[0]):
        for j in range(k.shape[1]):
            out[b, j] = v @ torch.tanh(W_q @ q[b] + W_k @ k[b, j])
    return out


def test_scores_match_a_loop_and_known_values():
    g = torch.Generator().manual_seed(0)
    q, k = torch.randn(3, 5, generator=g, dtype=torch.float64), torch.randn(3, 4, 6, generator=g, dtype=torch.float64)
    W_q, W_k = torch.randn(7, 5, generator=g, dtype=torch.float64), torch.randn(7, 6, generator=g, dtype=torch.float64)
    v = torch.randn(7, generator=g, dtype=torch.float64)
    torch.testing.assert_close(additive_scores(q, k, W_q, W_k, v), _loop_additive(q, k, W_q, W_k, v))
    # (batch, T, Hq) queries give the same rows as one query at a time
    q3 = torch.randn(3, 2, 5, generator=g, dtype=torch.float64)
    both = additive_scores(q3, k, W_q, W_k, v)
    torch.testing.assert_close(both[:, 1], additive_scores(q3[:, 1], k, W_q, W_k, v))
    # dot: s . h_j, by hand on a 2-d example
    keys = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]])
    assert dot_scores(torch.tensor([[3.0, 1.0]]), keys).tolist() == [[3.0, 2.0, 4.0]]
    assert dot_scores(torch.tensor([[3.0, 1.0]]), keys, scale=True)[0].tolist() == pytest.approx(
        [3 / math.sqrt(2), 2 / math.sqrt(2), 4 / math.sqrt(2)])


def test_masked_softmax_is_exactly_zero_on_padding_and_sums_to_one():
    scores = torch.tensor([[1.0, 2.0, float("nan")], [0.5, float("inf"), -float("inf")]])
    mask = torch.tensor([[True, True, False], [True, False, False]])
    w = masked_softmax(scores, mask)
    assert w[0, 2].item() == 0.0 and w[1, 1].item() == 0.0 and w[1, 2].item() == 0.0
    torch.testing.assert_close(w.sum(-1), torch.ones(2))
    torch.testing.assert_close(w[0, :2], torch.softmax(torch.tensor([1.0, 2.0]), 0))
    assert w[1, 0].item() == 1.0
    with pytest.raises(ValueError, match="no real position"):
        masked_softmax(torch.zeros(2, 3), torch.tensor([[True, False, False], [False, False, False]]))
    with pytest.raises(TypeError, match="bool"):
        masked_softmax(torch.zeros(1, 3), torch.ones(1, 3))
    with pytest.raises(ValueError, match=r"\(batch, S\)"):
        masked_softmax(torch.zeros(1, 3), torch.ones(1, 4, dtype=torch.bool))


@pytest.mark.parametrize("kind", ["additive", "dot"])
def test_padding_does_not_change_the_context(kind):
    torch.manual_seed(0)
    att = Attention(kind, 6, 6, attn_size=5).double()
    lengths = [4, 1, 3]
    keys = torch.randn(3, 4, 6, dtype=torch.float64)
    mask = torch.arange(4)[None] < torch.tensor(lengths)[:, None]
    query = torch.randn(3, 2, 6, dtype=torch.float64)
    ctx, w = att(query, keys, mask)
    garbage = keys.clone()
    garbage[~mask] = 1e3
    ctx2, w2 = att(query, garbage, mask)
    torch.testing.assert_close(ctx, ctx2)
    assert (w[~mask.unsqueeze(1).expand_as(w)] == 0).all()
    for b, n in enumerate(lengths):  # one sequence at a time, no padding at all
        c1, w1 = att(query[b:b + 1], keys[b:b + 1, :n], torch.ones(1, n, dtype=torch.bool))
        torch.testing.assert_close(ctx[b:b + 1], c1)
        torch.testing.assert_close(w[b:b + 1, :, :n], w1)


def test_attend_and_shape_errors():
    w = torch.tensor([[0.25, 0.75]])
    vals = torch.tensor([[[4.0, 0.0], [0.0, 4.0]]])
    assert attend(w, vals).tolist() == [[1.0, 3.0]]
    with pytest.raises(ValueError, match="values must be"):
        attend(w, torch.zeros(1, 3, 2))
    with pytest.raises(ValueError, match="one size"):
        dot_scores(torch.zeros(1, 3), torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="W_q"):
        additive_scores(torch.zeros(1, 3), torch.zeros(1, 2, 4), torch.zeros(5, 4), torch.zeros(5, 4), torch.zeros(5))
    with pytest.raises(ValueError, match="query_size == key_size"):
        Attention("dot", 3, 4)
    with pytest.raises(ValueError, match="kind"):
        Attention("cosine", 3, 3)


# --- batches ----------------------------------------------------------------------------------------


def test_teacher_forcing_inputs_shift_the_target_behind_bos():
    tgt_in, tgt_out, mask = teacher_forcing_inputs([[7, 8, 9], [5]])
    assert tgt_in.tolist() == [[2, 7, 8, 9], [2, 5, 0, 0]]
    assert tgt_out.tolist() == [[7, 8, 9, 3], [5, 3, 0, 0]]
    assert mask.tolist() == [[True] * 4, [True, True, False, False]]
    b = collate_pairs([([4, 5], [6]), ([4], [])])
    assert b["src"].tolist() == [[4, 5], [4, 0]] and b["src_lengths"].tolist() == [2, 1]
    assert b["tgt_in"].tolist() == [[2, 6], [2, 0]] and b["tgt_out"].tolist() == [[6, 3], [3, 0]]
    with pytest.raises(ValueError, match="empty source"):
        encode_pairs([("", "x")], Vocab(["a"]), Vocab(["x"]))


# --- the model ----------------------------------------------------------------------------------------


def _model(attention, seed=0):
    torch.manual_seed(seed)
    return Seq2Seq(9, 11, embed_size=5, hidden_size=4, attention=attention).double().eval()


@pytest.mark.parametrize("attention", ["additive", "dot", None])
def test_padded_batch_equals_one_sequence_at_a_time(attention):
    m = _model(attention)
    batch = collate_pairs([([4, 5, 6, 7], [4, 5]), ([8], [6, 7, 8]), ([5, 6], [9])])
    logits, w = m(batch["src"], batch["src_lengths"], batch["tgt_in"])
    for i in range(3):
        one = collate_pairs([([4, 5, 6, 7], [4, 5]), ([8], [6, 7, 8]), ([5, 6], [9])][i:i + 1])
        l1, w1 = m(one["src"], one["src_lengths"], one["tgt_in"])
        t = one["tgt_in"].shape[1]
        torch.testing.assert_close(logits[i:i + 1, :t], l1)
        if attention is not None:
            s = one["src"].shape[1]
            torch.testing.assert_close(w[i:i + 1, :t, :s], w1)
            assert (w[i, :, s:] == 0).all()
            torch.testing.assert_close(w.sum(-1), torch.ones_like(w.sum(-1)))
    assert (w is None) == (attention is None)


@pytest.mark.parametrize("attention", ["additive", None])
def test_step_by_step_equals_teacher_forcing(attention):
    m = _model(attention)
    batch = collate_pairs([([4, 5, 6], [4, 5, 6]), ([7, 8], [9, 10, 4])])
    logits, _ = m(batch["src"], batch["src_lengths"], batch["tgt_in"])
    state = m.start(batch["src"], batch["src_lengths"])
    for t in range(batch["tgt_in"].shape[1]):
        step_logits, state = m.step(batch["tgt_in"][:, t], state)
        torch.testing.assert_close(step_logits, logits[:, t])


def test_model_rejects_bad_input():
    m = _model("dot")
    with pytest.raises(ValueError, match="long ids"):
        m.encode(torch.zeros(2, 3), torch.tensor([3, 3]))
    with pytest.raises(ValueError, match="length of 0"):
        m.encode(torch.ones(2, 3, dtype=torch.long), torch.tensor([3, 0]))
    with pytest.raises(ValueError, match="attention"):
        Seq2Seq(5, 5, attention="luong")


# --- decoding through course_lib.generate --------------------------------------------------------------


def test_generate_with_eos_pads_finished_rows_and_stops_early():
    # a Markov chain: 2 (bos) -> 5 -> 3 (eos) for row 0; row 1 starts at 6 -> 6 -> 6 ...
    table = torch.full((8, 8), -10.0)
    table[2, 5] = table[5, 3] = table[6, 6] = table[3, 4] = table[0, 4] = 0.0

    def step(tokens, state):
        return table[tokens], state

    out = generate(step, torch.tensor([2, 6]), 5, temperature=0, eos_id=3)
    assert out.tolist() == [[5, 3, 0, 0, 0], [6, 6, 6, 6, 6]]
    out = generate(step, torch.tensor([2, 2]), 5, temperature=0, eos_id=3)
    assert out.tolist() == [[5, 3], [5, 3]]  # every row finished: stop early
    assert generate(step, torch.tensor([2]), 3, temperature=0).tolist() == [[5, 3, 4]]  # no eos_id: as before


def test_greedy_decode_matches_beam_width_1_and_respects_max_len():
    m = _model("additive", seed=3)
    with torch.no_grad():
        m.out.bias[3] += 1.5  # make <eos> likely enough that rows end at different steps
    src = [[4, 5, 6, 7], [8], [5, 6]]
    greedy = decode_all(m, src, max_len=6)
    assert greedy == [beam_decode(m, s, 6, beam_width=1) for s in src]
    assert all(len(g) <= 6 and 3 not in g for g in greedy)
    short = decode_all(m, src, max_len=1)
    assert all(len(s) <= 1 for s in short) and short == [g[:1] for g in greedy]
    batch = collate_pairs([(s, []) for s in src])
    assert greedy_decode(m, batch["src"], batch["src_lengths"], 6) == greedy
    # a wider beam finds an output at least as likely as greedy's
    wide = beam_decode(m, src[0], 6, beam_width=4)
    assert isinstance(wide, list) and 3 not in wide


def test_a_tiny_copy_task_is_learned_through_fit():
    rng = random.Random(0)
    pairs = [([rng.randint(4, 8) for _ in range(rng.randint(1, 4))]) for _ in range(256)]
    pairs = [(p, p) for p in pairs]  # copy the source
    torch.manual_seed(0)
    m = Seq2Seq(9, 9, embed_size=8, hidden_size=16, attention="dot")
    hist = train_seq2seq(m, pairs, steps=150, batch_size=32, lr=1e-2, device="cpu")
    assert hist.train_loss[-1] < 0.3 * hist.train_loss[0]
    m.eval()
    out = decode_all(m, [p for p, _ in pairs[:64]], max_len=6)
    acc = sum(o == p for o, (p, _) in zip(out, pairs[:64])) / 64
    assert acc > 0.7, acc
    batch = next(iter(pair_loader(pairs[:16], 16, shuffle=False)))
    with torch.no_grad():
        loss, n = seq2seq_loss(m, batch)
    assert n == int(batch["tgt_mask"].sum()) and float(loss) < 1.0
    pred, w = teacher_forced_predictions(m, batch)
    assert pred.shape == batch["tgt_out"].shape and w.shape[:2] == pred.shape


# --- metrics ---------------------------------------------------------------------------------------------


def _brute_edit_distance(a, b):
    """Recursive definition, for short inputs."""
    if not a:
        return len(b)
    if not b:
        return len(a)
    return min(_brute_edit_distance(a[1:], b) + 1, _brute_edit_distance(a, b[1:]) + 1,
               _brute_edit_distance(a[1:], b[1:]) + (a[0] != b[0]))


def test_edit_distance_known_values_and_random_strings():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "") == 0 and edit_distance("", "abc") == 3 and edit_distance("ab", "") == 2
    assert edit_distance(["HH", "AH", "L", "OW"], ["HH", "EH", "L", "OW"]) == 1
    rng = random.Random(0)
    for _ in range(300):
        a = "".join(rng.choice("abc") for _ in range(rng.randint(0, 6)))
        b = "".join(rng.choice("abc") for _ in range(rng.randint(0, 6)))
        assert edit_distance(a, b) == _brute_edit_distance(a, b) == edit_distance(b, a)


def test_error_rates_take_the_closest_of_several_references():
    refs = [[("HH", "AH", "L", "OW"), ("HH", "EH", "L", "OW")], [("R", "EH", "D"), ("R", "IY", "D")]]
    r = error_rates([("HH", "EH", "L", "OW"), ("R", "D")], refs)
    assert r["wer"] == 0.5 and r["n"] == 2
    assert r["per"] == pytest.approx(1 / (4 + 3))  # the second word is one deletion from a 3-phoneme reference
    assert closest_reference(("R", "IY", "D"), refs[1]) == (0, 1)
    with pytest.raises(ValueError, match="predictions"):
        error_rates([("A",)], [])
    with pytest.raises(ValueError, match="empty"):
        error_rates([("A",)], [[()]])


def test_length_buckets_and_rates_by_length():
    assert length_buckets([1, 4, 5, 6, 7, 13], (4, 6, 12)) == ["<=4", "<=4", "5-6", "5-6", "7-12", ">=13"]
    by = error_rates_by_length([("A",), ("B",), ("C",)], [[("A",)], [("X",)], [("C",)]], ["ab", "abcdefg", "abc"], (4,))
    assert list(by) == ["<=4", ">=5"]
    assert by["<=4"]["wer"] == 0.0 and by["<=4"]["n"] == 2 and by[">=5"]["wer"] == 1.0


def test_every_bucket_label_is_reachable():
    edges = (4, 6, 8, 10, 12)
    labels = set(length_buckets(range(1, 30), edges))
    assert labels == {"<=4", "5-6", "7-8", "9-10", "11-12", ">=13"}
    assert len(list(itertools.chain(labels))) == 6


def test_greedy_decode_on_a_scripted_decoder():
    m = ScriptedDecoder([[4, 5, 3, 6], [3], [6, 6, 6, 6, 6]], vocab_size=8, filler=7)
    src, lengths = torch.ones(3, 2, dtype=torch.long), torch.tensor([2, 2, 2])
    assert greedy_decode(m, src, lengths, 4) == [[4, 5], [], [6, 6, 6, 6]]
    assert greedy_decode(m, src, lengths, 1) == [[4], [], [6]]
    with pytest.raises(ValueError, match="scripts"):
        m.start(torch.ones(2, 2, dtype=torch.long), torch.tensor([2, 2]))
    with pytest.raises(ValueError, match="ids"):
        ScriptedDecoder([[9]], vocab_size=8)


def test_train_g2p_caches_and_reloads(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    data = g2p_data(seed=0, max_train_words=200, max_eval_words=20)
    cfg = G2PConfig(embed=8, hidden=8, steps=6, batch=16, lr=1e-2, val_words=10)
    model, hist, _ = train_g2p(data, "dot", cfg, device="cpu")
    assert hist.steps_done == 6 and hist.resumed_from is None and not model.training
    again, hist2, _ = train_g2p(data, "dot", cfg, device="cpu")
    assert hist2.resumed_from == 6
    for a, b in zip(model.parameters(), again.parameters()):
        assert torch.equal(a, b)
    other, hist3, _ = train_g2p(data, None, cfg, device="cpu")  # another attention kind: another file
    assert hist3.resumed_from is None and other.attention is None
    res = evaluate_g2p(model, data, "test")
    assert res["n"] == 20 and 0.0 <= res["wer"] <= 1.0 and res["per"] >= 0.0
    assert sum(v["n"] for v in res["by_length"].values()) == 20
    amap = attention_map(model, data.letters.encode(list("cat")), [5, 6])
    assert amap.shape == (3, 3)
    torch.testing.assert_close(amap.sum(1), torch.ones(3))
    with pytest.raises(ValueError, match="no attention"):
        attention_map(other, [4], [5])


def test_g2p_models_trained_in_worker_processes_equal_the_ones_trained_here(tmp_path, monkeypatch):
    data = g2p_data(seed=0, max_train_words=200, max_eval_words=20)
    cfg = G2PConfig(embed=8, hidden=8, steps=6, batch=16, lr=1e-2, val_words=10)
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "here"))
    here = train_g2p_models(data, (None, "dot"), cfg, device="cpu", workers=1)
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "workers"))  # the workers inherit it
    there = train_g2p_models(data, (None, "dot"), cfg, device="cpu", workers=2)
    assert list(there) == [None, "dot"] and there["dot"][0].attention.kind == "dot" and there[None][0].attention is None
    for attention in (None, "dot"):
        (m1, h1, _), (m2, h2, s2) = here[attention], there[attention]
        assert h1.resumed_from is None and h2.resumed_from == 6 and s2 > 0  # trained there, reloaded here
        assert h2.train_loss == h1.train_loss  # the history travels with the checkpoint
        for a, b in zip(m1.parameters(), m2.parameters()):
            assert torch.equal(a, b), attention  # one thread both ways: identical
    assert len(list((tmp_path / "workers").glob("g2p_*.pt"))) == 2
    with pytest.raises(ValueError, match="workers must be >= 1"):
        train_g2p_models(data, (None,), cfg, workers=0)
