"""Exercises of lecture 6 (LSTM and GRU).

None of them is an item of assignment 3 (which asks for an LSTM step, a GRU step, the a^n b^n (c^n)
strings and their evaluator): these are about what the cells *cost* (parameters), how the gradient
travels along the cell state, and how to read a counter out of a trained LSTM.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from course_lib.check import compare
from course_lib.exercises import register

# --- 1. the gradient along the cell state --------------------------------------------------------


def _solution_cell_gradient(f: torch.Tensor) -> torch.Tensor:
    """f: (T, hidden), the forget gates f_1 .. f_T -> (T + 1, hidden): row k is d s_T / d s_{T-k} along
    the cell-state path (the gates held fixed), the product f_T * f_{T-1} * ... * f_{T-k+1}; row 0 is 1."""
    rows = [torch.ones(f.shape[1], dtype=f.dtype)]
    for t in range(f.shape[0] - 1, -1, -1):  # walk back from the last step
        rows.append(rows[-1] * f[t])
    return torch.stack(rows)


def _wrong_from_the_start(f: torch.Tensor) -> torch.Tensor:
    """Multiplies the *first* k gates instead of the last k."""
    return torch.cat([torch.ones(1, f.shape[1], dtype=f.dtype), torch.cumprod(f, 0)])


def _wrong_one_gate_too_many(f: torch.Tensor) -> torch.Tensor:
    """Counts the gate of step T-k too (k + 1 factors for k steps back)."""
    back = torch.cumprod(f.flip(0), 0)
    return torch.cat([back, back[-1:]])


def _cell_path_by_autograd(f: torch.Tensor) -> torch.Tensor:
    """The same numbers from autograd: s_t = f_t * s_{t-1} + i_t * g_t with fixed gates (the terms
    i_t * g_t do not depend on the earlier cell states), then d s_T / d s_{T-k} for every k."""
    torch.manual_seed(0)
    steps, hidden = f.shape
    ig = torch.randn(steps, hidden, dtype=f.dtype)  # i_t * g_t: any numbers
    s = [torch.randn(hidden, dtype=f.dtype).requires_grad_(True)]
    for t in range(steps):
        s.append(f[t] * s[-1] + ig[t])
    grads = torch.autograd.grad(s[-1].sum(), s)  # each unit of s_T depends only on the same unit
    return torch.stack(list(grads[::-1]))


@register("L6.cell_gradient", "the gradient along the LSTM's cell state: a product of forget gates",
          solution=_solution_cell_gradient, wrong=(_wrong_from_the_start, _wrong_one_gate_too_many))
def _check_cell_gradient(cell_gradient: Callable[[torch.Tensor], torch.Tensor]) -> None:
    f = torch.tensor([[0.5, 1.0], [0.9, 0.8], [0.2, 1.0]], dtype=torch.float64)  # f_1, f_2, f_3
    expected = torch.tensor([[1.0, 1.0], [0.2, 1.0], [0.18, 0.8], [0.09, 0.8]], dtype=torch.float64)
    compare(cell_gradient(f), expected, name="three steps, two units")
    f_long = torch.rand(12, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    compare(cell_gradient(f_long), _cell_path_by_autograd(f_long), name="12 steps: your product vs autograd")


# --- 2. what a cell costs ------------------------------------------------------------------------

def _solution_param_count(kind: str, input_size: int, hidden_size: int) -> int:
    """The number of parameters of one PyTorch layer nn.RNN / nn.GRU / nn.LSTM(input_size, hidden_size):
    each of its k blocks (1 tanh layer, 3 GRU blocks r z n, 4 LSTM blocks i f g o) has U (hidden x input),
    W (hidden x hidden) and PyTorch's *two* bias vectors (bias_ih and bias_hh)."""
    blocks = {"elman": 1, "gru": 3, "lstm": 4}[kind]
    return blocks * (hidden_size * input_size + hidden_size * hidden_size + 2 * hidden_size)


def _wrong_one_bias(kind: str, input_size: int, hidden_size: int) -> int:
    """Counts one bias per block (the slides' b), but PyTorch keeps two."""
    blocks = {"elman": 1, "gru": 3, "lstm": 4}[kind]
    return blocks * (hidden_size * input_size + hidden_size * hidden_size + hidden_size)


def _wrong_lstm_three_blocks(kind: str, input_size: int, hidden_size: int) -> int:
    """Counts the LSTM's three gates but forgets the candidate g_t, which has weights too."""
    blocks = {"elman": 1, "gru": 3, "lstm": 3}[kind]
    return blocks * (hidden_size * input_size + hidden_size * hidden_size + 2 * hidden_size)


@register("L6.param_count", "how many parameters a tanh RNN, a GRU and an LSTM layer have",
          solution=_solution_param_count, wrong=(_wrong_one_bias, _wrong_lstm_three_blocks))
def _check_param_count(param_count: Callable[[str, int, int], int]) -> None:
    compare(param_count("lstm", 3, 5), 200, name="LSTM, input 3, hidden 5")
    layers = {"elman": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
    for kind, layer in layers.items():
        for input_size, hidden in ((3, 5), (100, 256)):
            real = sum(p.numel() for p in layer(input_size, hidden).parameters())
            compare(param_count(kind, input_size, hidden), real,
                    name=f"{kind}, input {input_size}, hidden {hidden}: vs nn.{layer.__name__}")


# --- 3. reading the counter ----------------------------------------------------------------------

def _solution_counter_steps(cell: torch.Tensor, symbols: str) -> tuple[float, float]:
    """cell: (time,), one unit's cell state s_t after reading each symbol of ``symbols`` ("^aaabbb"),
    starting from s = 0 -> (mean change of s on reading an 'a', mean change on reading a 'b')."""
    before = torch.cat([cell.new_zeros(1), cell[:-1]])  # the state before each symbol was read
    change = cell - before
    on_a = torch.tensor([ch == "a" for ch in symbols])
    on_b = torch.tensor([ch == "b" for ch in symbols])
    return float(change[on_a].mean()), float(change[on_b].mean())


def _wrong_shifted(cell: torch.Tensor, symbols: str) -> tuple[float, float]:
    """Gives each symbol the change made by the *next* symbol (s_{t+1} - s_t)."""
    change = torch.cat([cell[1:] - cell[:-1], cell.new_zeros(1)])
    on_a = torch.tensor([ch == "a" for ch in symbols])
    on_b = torch.tensor([ch == "b" for ch in symbols])
    return float(change[on_a].mean()), float(change[on_b].mean())


def _wrong_level(cell: torch.Tensor, symbols: str) -> tuple[float, float]:
    """Averages the levels s_t instead of their changes."""
    on_a = torch.tensor([ch == "a" for ch in symbols])
    on_b = torch.tensor([ch == "b" for ch in symbols])
    return float(cell[on_a].mean()), float(cell[on_b].mean())


@register("L6.counter_steps", "how much a counter unit moves per 'a' and per 'b'",
          solution=_solution_counter_steps, wrong=(_wrong_shifted, _wrong_level))
def _check_counter_steps(counter_steps: Callable[[torch.Tensor, str], tuple[float, float]]) -> None:
    cell = torch.tensor([0.1, 1.1, 2.1, 3.0, 2.0, 1.0, 0.0])  # while reading ^ a a a b b b
    up, down = counter_steps(cell, "^aaabbb")
    compare(torch.tensor([float(up), float(down)]), torch.tensor([2.9 / 3, -1.0]),
            name="(+ per a, - per b) on ^aaabbb")
    cell = torch.tensor([-0.2, 0.8, 1.8, 0.6, -0.6])  # ^ a a b b, with a counter that drifts
    up, down = counter_steps(cell, "^aabb")
    compare(torch.tensor([float(up), float(down)]), torch.tensor([1.0, -1.2]), name="(+ per a, - per b) on ^aabb")
