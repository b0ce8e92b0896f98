"""Exercises of lecture 3 (the vanilla RNN).

None of them is an item of assignment 2 (one RNN step, the forward pass, the masked cross-entropy,
temperature sampling and gradient clipping are graded there): these are bits per character and
perplexity, the batches of stateful training, greedy decoding, and the Jacobian of one step.
"""
from __future__ import annotations

import math

import torch

from course_lib.check import compare
from course_lib.exercises import register

# --- bits per character and perplexity ------------------------------------------------------


def _solution_bits_and_perplexity(p_correct: torch.Tensor) -> tuple[float, float]:
    """p_correct: (n,) the probability the model gave to each true next character
    -> (bits per character, perplexity)."""
    bits = float(-torch.log2(p_correct).mean())   # the mean surprisal, in bits
    return bits, 2.0 ** bits                      # perplexity: the geometric mean of 1 / p


def _wrong_arithmetic_perplexity(p_correct: torch.Tensor) -> tuple[float, float]:
    """Perplexity as 1 / (mean probability): an arithmetic, not a geometric, mean."""
    return float(-torch.log2(p_correct).mean()), float(1.0 / p_correct.mean())


def _wrong_nats(p_correct: torch.Tensor) -> tuple[float, float]:
    """The natural log: nats, not bits."""
    nats = float(-torch.log(p_correct).mean())
    return nats, math.exp(nats)


@register("L3.bits_and_perplexity", "bits per character and perplexity from the probabilities of the true characters",
          solution=_solution_bits_and_perplexity, wrong=(_wrong_arithmetic_perplexity, _wrong_nats))
def _check_bits_and_perplexity(bits_and_perplexity) -> None:
    # four characters predicted with probabilities 1/2, 1/4, 1/8, 1/8: 1 + 2 + 3 + 3 = 9 bits in all
    bits, ppl = bits_and_perplexity(torch.tensor([0.5, 0.25, 0.125, 0.125]))
    compare(torch.tensor(float(bits)), torch.tensor(2.25), name="bits per character of (1/2, 1/4, 1/8, 1/8)")
    compare(torch.tensor(float(ppl)), torch.tensor(2 ** 2.25), name="perplexity of (1/2, 1/4, 1/8, 1/8)")
    # a model that is uniform over 99 characters is as unsure as a fair 99-sided die
    bits, ppl = bits_and_perplexity(torch.full((5,), 1 / 99))
    compare(torch.tensor(float(ppl)), torch.tensor(99.0), name="perplexity of a uniform guess over 99", rtol=1e-4)


# --- the batches of stateful training (truncated BPTT) ---------------------------------------


def _solution_stream_batches(ids: torch.Tensor, batch_size: int, seq_len: int
                             ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """ids: (n,) -> the consecutive windows [(x, y), ...], x and y: (batch_size, seq_len)."""
    per = len(ids) // batch_size                           # characters per stream
    streams = ids[: per * batch_size].view(batch_size, per)  # row i: the i-th piece of the text
    windows = []
    for s in range(0, per - seq_len, seq_len):             # window k of every stream at once
        windows.append((streams[:, s:s + seq_len], streams[:, s + 1:s + seq_len + 1]))
    return windows


def _wrong_interleaved(ids: torch.Tensor, batch_size: int, seq_len: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Deals the characters out like cards (stream i gets ids i, i + batch_size, ...): no stream is contiguous text."""
    per = len(ids) // batch_size
    streams = ids[: per * batch_size].view(per, batch_size).T
    return [(streams[:, s:s + seq_len], streams[:, s + 1:s + seq_len + 1]) for s in range(0, per - seq_len, seq_len)]


def _wrong_rows_of_windows(ids: torch.Tensor, batch_size: int, seq_len: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Consecutive windows side by side in one batch: row i of the next batch does not continue row i."""
    n_windows = (len(ids) - 1) // seq_len
    out = []
    for start in range(0, n_windows - batch_size + 1, batch_size):
        rows = [(ids[w * seq_len:(w + 1) * seq_len], ids[w * seq_len + 1:(w + 1) * seq_len + 1])
                for w in range(start, start + batch_size)]
        out.append((torch.stack([r[0] for r in rows]), torch.stack([r[1] for r in rows])))
    return out


@register("L3.stream_batches", "the batches of stateful training: parallel streams, consecutive windows",
          solution=_solution_stream_batches, wrong=(_wrong_interleaved, _wrong_rows_of_windows))
def _check_stream_batches(stream_batches) -> None:
    # the text 0, 1, ..., 20 as 2 streams (0..9 and 10..19; 20 is dropped), windows of 3
    windows = stream_batches(torch.arange(21), 2, 3)
    compare(torch.tensor(len(windows)), torch.tensor(3), name="number of windows")
    x = torch.stack([w[0] for w in windows])
    y = torch.stack([w[1] for w in windows])
    compare(x, torch.tensor([[[0, 1, 2], [10, 11, 12]], [[3, 4, 5], [13, 14, 15]], [[6, 7, 8], [16, 17, 18]]]),
            name="inputs x of the three windows")
    compare(y, x + 1, name="targets y = the next character")


# --- greedy decoding -------------------------------------------------------------------------


def _solution_greedy(step, first: int, n_steps: int, state=None) -> torch.Tensor:
    """Feed back the most likely token n_steps times; returns the (n_steps,) generated ids."""
    tokens, out = torch.tensor([first]), []
    for _ in range(n_steps):
        logits, state = step(tokens, state)     # logits: (1, V); the state goes on to the next step
        tokens = logits.argmax(dim=-1)          # (1,): the most likely next token
        out.append(int(tokens))
    return torch.tensor(out)


def _wrong_no_feedback(step, first: int, n_steps: int, state=None) -> torch.Tensor:
    """Always feeds `first`, never the model's own output."""
    tokens, out = torch.tensor([first]), []
    for _ in range(n_steps):
        logits, state = step(tokens, state)
        out.append(int(logits.argmax(dim=-1)))
    return torch.tensor(out)


def _wrong_state_dropped(step, first: int, n_steps: int, state=None) -> torch.Tensor:
    """Feeds its output back but restarts the model's state at every step."""
    tokens, out = torch.tensor([first]), []
    for _ in range(n_steps):
        logits, _ = step(tokens, state)
        tokens = logits.argmax(dim=-1)
        out.append(int(tokens))
    return torch.tensor(out)


def _toy_step(tokens: torch.Tensor, state):
    """A 4-token 'model': after token i it prefers NEXT[i], except at its 4th step, when it prefers 0.

    The state is the number of steps taken so far."""
    table = torch.tensor([[0.0, 1, 3, 2],     # after 0: 2
                          [1.0, 0, 3, 2],     # after 1: 2
                          [0.0, 1, 2, 5],     # after 2: 3
                          [0.0, 4, 2, 1]])    # after 3: 1
    count = 0 if state is None else state
    logits = table[tokens].clone()
    if count == 3:
        logits[:, 0] += 10.0
    return logits, count + 1


@register("L3.greedy", "greedy (argmax) decoding through a step function",
          solution=_solution_greedy, wrong=(_wrong_no_feedback, _wrong_state_dropped))
def _check_greedy(greedy) -> None:
    # 0 -> 2 -> 3 -> 1, then (4th step) 0, then 2 -> 3
    got = greedy(_toy_step, 0, 6)
    compare(torch.as_tensor(got), torch.tensor([2, 3, 1, 0, 2, 3]), name="greedy continuation of 0 (6 steps)")
    compare(torch.as_tensor(greedy(_toy_step, 3, 2)), torch.tensor([1, 2]), name="greedy continuation of 3 (2 steps)")


# --- the Jacobian of one step ----------------------------------------------------------------


def _solution_state_jacobian(h_t: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """h_t: (hidden,) the state after the step, W: (hidden, hidden) -> dh_t/dh_{t-1}: (hidden, hidden)."""
    return torch.diag(1 - h_t ** 2) @ W        # row i of W scaled by tanh'(a_t)_i


def _wrong_columns_scaled(h_t: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Broadcasting scales column j by (1 - h_j^2): that is W diag(1 - h^2), not diag(1 - h^2) W."""
    return (1 - h_t ** 2) * W


def _wrong_transposed(h_t: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """W^T belongs to the backward pass (the gradient), not to the Jacobian itself."""
    return torch.diag(1 - h_t ** 2) @ W.T


def _wrong_no_tanh(h_t: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Forgets the derivative of tanh."""
    return W.clone()


@register("L3.state_jacobian", "the Jacobian dh_t/dh_{t-1} of one Elman step",
          solution=_solution_state_jacobian, wrong=(_wrong_columns_scaled, _wrong_transposed, _wrong_no_tanh))
def _check_state_jacobian(state_jacobian) -> None:
    g = torch.Generator().manual_seed(3)
    W, U = torch.randn(3, 3, generator=g, dtype=torch.float64), torch.randn(3, 2, generator=g, dtype=torch.float64)
    b, x = torch.randn(3, generator=g, dtype=torch.float64), torch.randn(2, generator=g, dtype=torch.float64)
    h_prev = torch.tensor([0.5, -0.2, 0.9], dtype=torch.float64)

    def step(h):
        return torch.tanh(b + W @ h + U @ x)

    expected = torch.autograd.functional.jacobian(step, h_prev)
    compare(state_jacobian(step(h_prev), W), expected, name="dh_t/dh_(t-1) vs autograd (hidden 3)", atol=1e-10)
