"""Sampling, temperature, top-k and beam search, on models whose answers we know."""
from __future__ import annotations

import math

import pytest
import torch

from course_lib.generate import (
    beam_search, generate, next_token_distribution, rnn_step, sample_next, score_sequence,
)
from course_lib.lm import CharRNNLM


def markov_step(table: torch.Tensor):
    """A step function for a first-order Markov chain: log p(next | prev) = log table[prev]."""
    logits = table.log()

    def step(tokens, state):
        return logits[tokens], state

    return step


# 0 = start. Greedy takes 1 (p 0.6), after which the next token is nearly uniform (best p 0.34):
# greedy's two-token sequence has p 0.204. Beam keeps 2 (p 0.4), after which 3 is certain: p 0.4.
GARDEN = torch.tensor([
    [1e-9, 0.6, 0.4, 1e-9],
    [1e-9, 0.34, 0.33, 0.33],
    [1e-9, 1e-9, 1e-9, 1.0],
    [1e-9, 0.34, 0.33, 0.33],
])


def test_temperature_distribution_known_values():
    logits = torch.tensor([[0.0, math.log(3.0)]])
    torch.testing.assert_close(next_token_distribution(logits, 1.0), torch.tensor([[0.25, 0.75]]))
    torch.testing.assert_close(next_token_distribution(logits, 0.5), torch.tensor([[0.1, 0.9]]))
    assert next_token_distribution(logits, 1e6)[0, 0].item() == pytest.approx(0.5, abs=1e-6)
    top1 = next_token_distribution(torch.tensor([[1.0, 3.0, 2.0]]), top_k=2)
    assert top1[0, 0].item() == 0.0 and top1[0, 1:].sum().item() == pytest.approx(1.0)


def test_sampling_frequencies_match_the_tempered_softmax():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]]).repeat(20000, 1)
    g = torch.Generator().manual_seed(0)
    for temperature in (0.5, 1.0, 2.0):
        draws = sample_next(logits, temperature, generator=g)
        freq = torch.bincount(draws, minlength=4).float() / len(draws)
        expected = torch.softmax(logits[0] / temperature, dim=0)
        assert (freq - expected).abs().max() < 0.012  # ~3.5 standard errors at n = 20000
    assert torch.equal(sample_next(logits[:2], 0), torch.tensor([0, 0]))
    top2 = sample_next(logits, 1.0, top_k=2, generator=g)
    assert set(top2.tolist()) == {0, 1}


def test_generation_is_reproducible_with_a_generator():
    step = markov_step(GARDEN)
    a = generate(step, 0, 20, generator=torch.Generator().manual_seed(5))
    b = generate(step, 0, 20, generator=torch.Generator().manual_seed(5))
    assert a.shape == (1, 20) and torch.equal(a, b)
    assert generate(step, torch.tensor([0, 2]), 2, temperature=0).tolist() == [[1, 1], [3, 1]]
    assert generate(step, 0, 0).shape == (1, 0)


def test_beam_beats_greedy_on_a_garden_path():
    step = markov_step(GARDEN)
    greedy = generate(step, 0, 2, temperature=0)[0].tolist()
    assert greedy == [1, 1]
    assert score_sequence(step, 0, greedy) == pytest.approx(math.log(0.6 * 0.34), abs=1e-6)
    best = beam_search(step, 0, 2, beam_width=2)[0]
    assert best.tokens == [2, 3] and best.log_prob == pytest.approx(math.log(0.4), abs=1e-6)
    assert beam_search(step, 0, 2, beam_width=1)[0].tokens == greedy


@pytest.mark.parametrize("seed", range(4))
def test_beam_on_a_random_rnn(seed):
    torch.manual_seed(seed)
    model = CharRNNLM(6, 8).eval()
    with torch.no_grad():
        model.out.weight.mul_(4)  # peakier distributions, so beams differ
    step = rnn_step(model)
    greedy = generate(step, 0, 8, temperature=0)[0].tolist()
    g_score = score_sequence(step, 0, greedy)
    one = beam_search(step, 0, 8, beam_width=1)[0]
    assert one.tokens == greedy and one.log_prob == pytest.approx(g_score, abs=1e-6)
    beams = beam_search(step, 0, 8, beam_width=4)
    assert beams[0].log_prob >= g_score - 1e-6  # float32 rounding differs between batch sizes
    assert [b.log_prob for b in beams] == sorted((b.log_prob for b in beams), reverse=True)
    for b in beams:  # the reported score is the model's log-probability of those tokens
        assert b.log_prob == pytest.approx(score_sequence(step, 0, b.tokens), abs=1e-6)


def test_beam_stops_at_eos():
    table = torch.tensor([[1e-9, 0.6, 0.4], [1e-9, 1e-9, 1.0], [1e-9, 0.9, 0.1]])
    res = beam_search(markov_step(table), 0, 10, beam_width=2, eos_id=2)
    assert [r.tokens for r in res] == [[1, 2], [2]]
    assert res[0].log_prob == pytest.approx(math.log(0.6), abs=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="temperature"):
        next_token_distribution(torch.zeros(1, 3), 0)
    with pytest.raises(ValueError, match=r"\(batch, V\)"):
        sample_next(torch.zeros(3))
    with pytest.raises(ValueError, match="beam_width"):
        beam_search(markov_step(GARDEN), 0, 2, beam_width=0)
