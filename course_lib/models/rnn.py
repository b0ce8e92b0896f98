"""The vanilla (Elman) RNN built by hand, in the slides' notation.

    a_t = b + W h_{t-1} + U x_t        h_t = tanh(a_t)

Which PyTorch weight each parameter is (``torch.nn.RNN``, one layer, tanh):

- ``U`` is ``weight_ih_l0``: ``(hidden, input)``
- ``W`` is ``weight_hh_l0``: ``(hidden, hidden)``
- ``b`` is ``bias_ih_l0 + bias_hh_l0``: ``(hidden,)`` (PyTorch keeps two biases; only their sum matters)

The output layer ``o_t = c + V h_t`` is not part of the cell: a model puts an ``nn.Linear``
(``V`` is its ``weight``, ``c`` its ``bias``) on top of the hidden states.
"""
from __future__ import annotations

import torch
from torch import nn

from course_lib.models.base import HandCell, HandLayer, masked_unroll

__all__ = ["ElmanCell", "ElmanRNN"]


class ElmanCell(HandCell):
    """One step of the Elman RNN: ``h_t = tanh(b + W h_{t-1} + U x_t)``.

    Parameters (initialised like ``nn.RNN``: uniform in ``±1/sqrt(hidden)``):
        U: ``(hidden, input)``  = ``weight_ih_l0``
        W: ``(hidden, hidden)`` = ``weight_hh_l0``
        b: ``(hidden,)``        = ``bias_ih_l0 + bias_hh_l0``
    """

    gates = ("a",)  # no gates: one block of rows, the pre-activation a_t
    torch_types = (nn.RNNCell, nn.RNN)

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        self.reset_parameters()

    def forward(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step.

        Args:
            x_t: ``(batch, input)``, the input at time t.
            h: ``(batch, hidden)``, the previous state h_{t-1}.

        Returns:
            h_t: ``(batch, hidden)``.
        """
        self.check_step(x_t, h)
        return torch.tanh(self.b + h @ self.W.T + x_t @ self.U.T)


class ElmanRNN(HandLayer):
    """The Elman cell unrolled over time (batch-first), with an optional padding mask.

    ``forward(x, h0=None, mask=None) -> (outputs, h_last)``; see :meth:`forward`.
    ``cell`` holds the parameters, so ``rnn.cell.W`` is ``W``. :meth:`from_torch` copies the
    weights of a single-layer, unidirectional, tanh, ``batch_first`` ``nn.RNN``.
    """

    cell_type = ElmanCell
    torch_type = nn.RNN
    cell: ElmanCell

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None, mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the cell over every time step.

        Args:
            x: ``(batch, time, input)``.
            h0: ``(batch, hidden)`` initial state; zeros if None.
            mask: ``(batch, time)`` bool, True on real tokens. Over a padded step the state is
                carried unchanged and the output is 0, so ``h_last`` is each sequence's state
                at its last real token (its ``h0`` if it has none).

        Returns:
            outputs: ``(batch, time, hidden)``, h_t at every step.
            h_last: ``(batch, hidden)``, the final state.
        """
        self.check_inputs(x, mask)
        h = self.initial_state(x, h0)
        ux = self.cell.input_projection(x)  # b + U x_t for every step: (batch, time, hidden)
        w_t = self.cell.W.T

        def step(ux_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
            return torch.tanh(torch.addmm(ux_t, h, w_t))  # h_t = tanh(b + U x_t + W h_{t-1})

        outputs, h, _ = masked_unroll(step, ux, h, mask)
        return outputs, h
