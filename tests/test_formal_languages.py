"""a^n b^n (c^n) strings, deterministic predictions, and the 'largest n all correct' measure."""
from __future__ import annotations

import pytest
import torch

from course_lib.formal_languages import (
    CountingModel, all_deterministic_correct, allowed_next, counting_string, decode, deterministic_mask,
    encode, largest_correct_n, next_symbol_example, strings_correct, train_counting,
)


def test_strings_and_examples():
    assert counting_string(3) == "aaabbb"
    assert counting_string(2, 3) == "aabbcc"
    inputs, targets = next_symbol_example(2)
    assert decode(inputs) == "^aabb" and decode(targets) == "aabb$"
    assert encode("^ab$") == [1, 3, 4, 2]
    with pytest.raises(ValueError, match="n must be an int >= 1"):
        counting_string(0)
    with pytest.raises(ValueError, match="num_letters"):
        counting_string(2, 4)
    with pytest.raises(ValueError, match="unknown symbol 'd'"):
        encode("abd")


def test_deterministic_positions():
    assert deterministic_mask(3) == [True, False, False, False, True, True, True]
    assert deterministic_mask(2, 3) == [True, False, False, True, True, True, True]
    assert sum(deterministic_mask(10, 3)) == 21


def test_all_deterministic_correct():
    assert all_deterministic_correct("aabb$", 2)
    assert all_deterministic_correct("abbb$", 2)       # position 1 (after '^a') is free
    assert all_deterministic_correct("bbbb$", 2) is False  # after '^' comes 'a'
    assert all_deterministic_correct("aabbb", 2) is False  # ends too late
    assert all_deterministic_correct("aab$$", 2) is False  # ends too early
    assert all_deterministic_correct(encode("aabbcc$") + [0, 0], 2, 3)
    assert not all_deterministic_correct("aabbc$$", 2, 3)
    with pytest.raises(ValueError, match="need 5 predictions"):
        all_deterministic_correct("aab", 2)


def test_largest_correct_n_from_flags():
    assert largest_correct_n([True, True, False, True]) == 2
    assert largest_correct_n([False, True]) == 0
    assert largest_correct_n([True] * 7) == 7


def test_allowed_next_sets():
    inputs, targets = (torch.tensor([x]) for x in next_symbol_example(2))
    allowed = allowed_next(inputs, targets)[0]
    # rows: after ^, after a, after a, after b, after b; columns: pad ^ $ a b c
    assert allowed[:, 2:5].tolist() == [[0, 1, 0], [0, 1, 1], [0, 1, 1], [0, 0, 1], [1, 0, 0]]


class _Oracle(CountingModel):
    """Predicts perfectly up to n = limit by reading the string (a stand-in for a trained model)."""

    def __init__(self, limit: int):
        super().__init__("lstm", 2)
        self.limit = limit

    def forward(self, inputs, mask=None):
        logits = torch.zeros(*inputs.shape, 6)
        for i, row in enumerate(inputs.tolist()):
            s = decode(row)[1:]
            n = s.count("a")
            tgt = s + ("$" if n <= self.limit else "b")
            for t, ch in enumerate(encode(tgt)):
                logits[i, t, ch] = 1.0
        return logits


def test_largest_correct_n_of_a_model():
    oracle = _Oracle(limit=13)
    assert strings_correct(oracle, [12, 13, 14]) == [True, True, False]
    assert largest_correct_n(oracle, max_n=40, chunk=5) == 13


def test_lstm_learns_to_count_a_little():
    """Short training runs: the LSTM fits the training lengths (n <= 10) and, in most seeds, goes beyond."""
    runs = [train_counting("lstm", 2, seed=seed, steps=500, max_n=30) for seed in (0, 1, 2)]
    largest = sorted(r.largest_n for r in runs)
    assert largest[0] >= 10, largest  # every seed gets the training lengths right
    assert largest[1] >= 20, largest  # 2 of 3 seeds generalise ([11, 30, 30] at the time of writing)
    assert max(r.final_loss for r in runs) < 0.1
    cells = runs[0].model.cell_states(torch.tensor([next_symbol_example(5)[0]]))
    assert cells.shape == (1, 11, 8)


def test_recall_batch_places_the_key_at_distance_d():
    from course_lib.formal_languages import recall_batch

    tokens, answers, d = recall_batch(3, [1, 4, 6], max_distance=6, n_keys=4, n_fillers=5,
                                      generator=torch.Generator().manual_seed(0))
    assert tokens.shape == (3, 8)
    assert (tokens[:, -1] == 10).all()  # the query id is n_keys + n_fillers + 1
    for row, a, dist in zip(tokens, answers, d):
        keys = [(t, tok) for t, tok in enumerate(row.tolist()) if 1 <= tok <= 4]
        assert keys == [(8 - 2 - int(dist), int(a) + 1)]  # exactly one key, d fillers before the query
    with pytest.raises(ValueError, match="distances must lie"):
        recall_batch(2, [0, 3], max_distance=6)


def test_input_noise_only_in_training_and_forget_bias():
    torch.manual_seed(0)
    model = CountingModel("lstm", 4, input_noise=0.5, forget_bias=2.0)
    b_f = model.rnn.bias_ih_l0[4:8] + model.rnn.bias_hh_l0[4:8]  # gate order i, f, g, o
    assert torch.allclose(b_f, torch.full((4,), 2.0))
    x = torch.tensor([next_symbol_example(3)[0]])
    model.eval()
    clean = model(x)
    assert torch.equal(clean, model(x))  # no noise when evaluating
    model.train()
    assert (model(x) - clean).abs().max() > 1e-3  # noisy inputs while training
    with pytest.raises(ValueError, match="forget_bias is for the LSTM only"):
        CountingModel("gru", 4, forget_bias=2.0)
    with pytest.raises(ValueError, match="input_noise must be >= 0"):
        CountingModel("lstm", 4, input_noise=-0.1)


def test_gru_update_bias_is_the_analogue_of_the_forget_bias():
    model = CountingModel("gru", 4, update_bias=2.0)
    b_z = model.rnn.bias_ih_l0[4:8] + model.rnn.bias_hh_l0[4:8]  # gate order r, z, n
    assert torch.allclose(b_z, torch.full((4,), 2.0))
    gates = model.hand_layer().cell
    assert torch.allclose(gates.gate("z")[2], torch.full((4,), 2.0))  # the hand GRU reads it as b_z
    with pytest.raises(ValueError, match="update_bias is for the GRU only"):
        CountingModel("lstm", 4, update_bias=2.0)
