"""Exercises of lecture 5 (multilayer and bidirectional RNNs)."""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from course_lib.check import compare
from course_lib.exercises import register

# --- 1. how many parameters has a stack? -------------------------------------------------------------


def _solution_rnn_param_count(input_size: int, hidden_size: int, num_layers: int, bidirectional: bool) -> int:
    """The number of parameters of nn.RNN(input_size, hidden_size, num_layers, bidirectional=...)."""
    d = 2 if bidirectional else 1
    total = 0
    for layer in range(num_layers):
        n_in = input_size if layer == 0 else d * hidden_size    # layer l > 0 reads [h ⊕ h'] of layer l-1
        per_direction = hidden_size * n_in + hidden_size * hidden_size + 2 * hidden_size  # U, W, b_ih + b_hh
        total += d * per_direction
    return total


def _wrong_one_bias(input_size: int, hidden_size: int, num_layers: int, bidirectional: bool) -> int:
    """Counts one bias vector per layer (the slides' b), but PyTorch keeps two: bias_ih and bias_hh."""
    return _solution_rnn_param_count(input_size, hidden_size, num_layers, bidirectional) \
        - (2 if bidirectional else 1) * num_layers * hidden_size


def _wrong_upper_inputs(input_size: int, hidden_size: int, num_layers: int, bidirectional: bool) -> int:
    """Lets every upper layer read H inputs, forgetting that a bidirectional layer passes up 2H."""
    d = 2 if bidirectional else 1
    return sum(d * (hidden_size * (input_size if layer == 0 else hidden_size) + hidden_size ** 2 + 2 * hidden_size)
               for layer in range(num_layers))


@register("L5.rnn_param_count", "the number of parameters of a stacked (bidirectional) RNN",
          solution=_solution_rnn_param_count, wrong=(_wrong_one_bias, _wrong_upper_inputs))
def _check_rnn_param_count(rnn_param_count: Callable[[int, int, int, bool], int]) -> None:
    # worked by hand: layer 0 has 4*3 + 4*4 + 2*4 = 36, layer 1 reads 4 (uni) or 8 (bi) inputs
    compare(rnn_param_count(3, 4, 2, False), 76, name="nn.RNN(3, 4, num_layers=2)")
    compare(rnn_param_count(3, 4, 2, True), 184, name="nn.RNN(3, 4, num_layers=2, bidirectional=True)")
    for args in ((7, 5, 3, True), (64, 100, 1, False)):
        ref = nn.RNN(args[0], args[1], num_layers=args[2], bidirectional=args[3])
        compare(rnn_param_count(*args), sum(p.numel() for p in ref.parameters()), name=f"nn.RNN{args}")


# --- 2. one vector for the whole sentence ---------------------------------------------------------------


def _solution_sentence_vector(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """outputs: (batch, time, 2H) = [h_t ⊕ h'_t] (right-padded), lengths: (batch,) -> (batch, 2H):
    the forward state after the last real token and the backward state after the first token."""
    H = outputs.shape[2] // 2
    rows = torch.arange(outputs.shape[0])
    last_forward = outputs[rows, lengths - 1, :H]     # has read the whole sentence left to right
    first_backward = outputs[:, 0, H:]                # has read the whole sentence right to left
    return torch.cat([last_forward, first_backward], dim=1)


def _wrong_last_column(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Takes the last time step of the padded tensor: padding for every shorter sentence."""
    return outputs[:, -1]


def _wrong_both_at_end(outputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Both halves at the last real token: the backward half there has read only one word."""
    return outputs[torch.arange(outputs.shape[0]), lengths - 1]


@register("L5.sentence_vector", "one vector per sentence from a bidirectional RNN's outputs",
          solution=_solution_sentence_vector, wrong=(_wrong_last_column, _wrong_both_at_end))
def _check_sentence_vector(sentence_vector: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
    from course_lib.data.masks import lengths_to_mask
    from course_lib.models.deep import Bidirectional
    from course_lib.models.rnn import ElmanRNN

    # H = 1: outputs[i, t] = [10 i + t, -(10 i + t)], sentence 1 has 2 real tokens, then padding (0)
    outputs = torch.tensor([[[0.0, -0.0], [1, -1], [2, -2]], [[10, -10], [11, -11], [0, 0]]])
    compare(sentence_vector(outputs, torch.tensor([3, 2])), torch.tensor([[2.0, -0.0], [11, -10]]),
            name="a tiny batch with H = 1")
    # against the library: its last states are exactly these two halves
    torch.manual_seed(0)
    bi = Bidirectional(ElmanRNN(3, 4), ElmanRNN(3, 4))
    lengths = torch.tensor([5, 2, 4])
    with torch.no_grad():
        out, (last_f, last_b) = bi(torch.randn(3, 5, 3), mask=lengths_to_mask(lengths))
    compare(sentence_vector(out, lengths), torch.cat([last_f, last_b], dim=1),
            name="Bidirectional's (last forward, last backward) on a padded batch")
