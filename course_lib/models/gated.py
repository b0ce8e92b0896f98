"""Gated RNNs built by hand: the LSTM and the GRU, one step (cells) and over time (sequences).

The notation extends the Elman cell's ``a_t = b + W h_{t-1} + U x_t``: every gate has its own
``U``, ``W`` and ``b``, and the gates' matrices are stacked into one, in PyTorch's order, so one
matrix product computes all gates at once.

LSTM (gates stacked in PyTorch's order **i, f, g, o**)::

    i_t = sigmoid(b_i + W_i h_{t-1} + U_i x_t)      input gate
    f_t = sigmoid(b_f + W_f h_{t-1} + U_f x_t)      forget gate
    g_t = tanh   (b_g + W_g h_{t-1} + U_g x_t)      candidate
    o_t = sigmoid(b_o + W_o h_{t-1} + U_o x_t)      output gate
    c_t = f_t * c_{t-1} + i_t * g_t                  cell state
    h_t = o_t * tanh(c_t)

Here ``o`` and ``c`` are PyTorch's names. Lecture 6 writes the output gate as ``q_t`` and the cell
state as ``s_t``, because lecture 3's ``o_t = c + V h_t`` already uses ``o`` and ``c`` for the output layer.

- ``U`` is ``weight_ih_l0``: ``(4 hidden, input)``, rows ``[U_i; U_f; U_g; U_o]``
- ``W`` is ``weight_hh_l0``: ``(4 hidden, hidden)``, rows ``[W_i; W_f; W_g; W_o]``
- ``b`` is ``bias_ih_l0 + bias_hh_l0``: ``(4 hidden,)``

GRU (gates stacked in PyTorch's order **r, z, n**)::

    r_t = sigmoid(b_r + W_r h_{t-1} + U_r x_t)                 reset gate
    z_t = sigmoid(b_z + W_z h_{t-1} + U_z x_t)                 update gate
    n_t = tanh   (b_n + r_t * (W_n h_{t-1} + b_hn) + U_n x_t)  candidate
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

- ``U`` is ``weight_ih_l0``: ``(3 hidden, input)``, rows ``[U_r; U_z; U_n]``
- ``W`` is ``weight_hh_l0``: ``(3 hidden, hidden)``, rows ``[W_r; W_z; W_n]``
- ``b`` is ``bias_ih_l0``, plus ``bias_hh_l0`` on the r and z slices: ``(3 hidden,)``
- ``b_hn`` is the n slice of ``bias_hh_l0``: ``(hidden,)``. It sits *inside* the reset
  product, so unlike the other biases it cannot be merged into ``b``.

``gate(name)`` returns one gate's ``(U, W, b)`` as views into the stacked parameters.
"""
from __future__ import annotations

from typing import Literal, overload

import torch
from torch import nn

from course_lib.models.base import HandCell, HandLayer, masked_unroll

__all__ = ["LSTMCell", "GRUCell", "LSTM", "GRU", "LSTM_GATES", "GRU_GATES", "lstm_update", "gru_update"]

LSTM_GATES = ("i", "f", "g", "o")
GRU_GATES = ("r", "z", "n")


class LSTMCell(HandCell):
    """One LSTM step (see the module docstring for the equations and gate order i, f, g, o).

    Parameters (initialised like ``nn.LSTM``: uniform in ``±1/sqrt(hidden)``):
        U: ``(4 hidden, input)``  = ``weight_ih_l0`` (``nn.LSTMCell``: ``weight_ih``)
        W: ``(4 hidden, hidden)`` = ``weight_hh_l0``
        b: ``(4 hidden,)``        = ``bias_ih_l0 + bias_hh_l0``

    ``gate(name)`` gives one gate's ``(U, W, b)`` as views; ``from_torch`` copies an
    ``nn.LSTMCell`` (or a one-layer ``nn.LSTM``).
    """

    gates = LSTM_GATES
    torch_types = (nn.LSTMCell, nn.LSTM)

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 0.0):
        super().__init__(input_size, hidden_size)
        self.reset_parameters(forget_bias)

    def reset_parameters(self, forget_bias: float = 0.0) -> None:
        """Uniform in ``±1/sqrt(hidden)``; ``forget_bias`` is added to ``b_f`` (1.0 is a common choice)."""
        super().reset_parameters()
        with torch.no_grad():
            self.gate("f")[2].add_(forget_bias)

    def forward(self, x_t: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step.

        Args:
            x_t: ``(batch, input)``.
            state: ``(h, c)``, each ``(batch, hidden)``: h_{t-1} and c_{t-1}.

        Returns:
            ``(h_t, c_t)``, each ``(batch, hidden)``.
        """
        h, c = state
        self.check_step(x_t, h)
        self.check_step(x_t, c, "c")
        a = self.b + h @ self.W.T + x_t @ self.U.T  # (batch, 4 hidden): all four gates at once
        return lstm_update(a, c)


def lstm_update(a: torch.Tensor, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The LSTM's gate non-linearities and state update from the stacked pre-activations.

    Args:
        a: ``(batch, 4 hidden)``, ``b + W h_{t-1} + U x_t`` with gates in the order i, f, g, o.
        c: ``(batch, hidden)``, c_{t-1}.

    Returns:
        ``(h_t, c_t)``, each ``(batch, hidden)``.
    """
    n = c.shape[1]
    ifo = torch.sigmoid(a[:, : 2 * n]), torch.sigmoid(a[:, 3 * n:])
    i, f = ifo[0].chunk(2, dim=1)
    o = ifo[1]
    g = torch.tanh(a[:, 2 * n: 3 * n])
    c = torch.addcmul(f * c, i, g)  # c_t = f * c_{t-1} + i * g
    return o * torch.tanh(c), c


class GRUCell(HandCell):
    """One GRU step (see the module docstring for the equations and gate order r, z, n).

    Parameters (initialised like ``nn.GRU``):
        U: ``(3 hidden, input)``  = ``weight_ih_l0``
        W: ``(3 hidden, hidden)`` = ``weight_hh_l0``
        b: ``(3 hidden,)``        = ``bias_ih_l0`` + ``bias_hh_l0`` on the r, z rows (n rows: ``bias_ih`` only)
        b_hn: ``(hidden,)``       = ``bias_hh_l0[2 hidden:]`` (inside the reset product)
    """

    gates = GRU_GATES
    torch_types = (nn.GRUCell, nn.GRU)

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__(input_size, hidden_size)
        self.b_hn = nn.Parameter(torch.empty(hidden_size))
        self.reset_parameters()

    @torch.no_grad()
    def load_torch(self, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor) -> None:
        """Copy PyTorch's four tensors of one layer into ``U, W, b, b_hn``."""
        n = self.hidden_size
        self.U.copy_(w_ih)
        self.W.copy_(w_hh)
        self.b.copy_(b_ih)
        self.b[: 2 * n] += b_hh[: 2 * n]
        self.b_hn.copy_(b_hh[2 * n:])

    def forward(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step.

        Args:
            x_t: ``(batch, input)``.
            h: ``(batch, hidden)``, h_{t-1}.

        Returns:
            h_t: ``(batch, hidden)``.
        """
        self.check_step(x_t, h)
        return gru_update(self.b + x_t @ self.U.T, h @ self.W.T, h, self.b_hn)


def gru_update(ux: torch.Tensor, wh: torch.Tensor, h: torch.Tensor, b_hn: torch.Tensor) -> torch.Tensor:
    """The GRU's gates and state update.

    Args:
        ux: ``(batch, 3 hidden)``, ``b + U x_t`` (gates r, z, n).
        wh: ``(batch, 3 hidden)``, ``W h_{t-1}`` (no bias).
        h: ``(batch, hidden)``, h_{t-1}.
        b_hn: ``(hidden,)``.

    Returns:
        h_t: ``(batch, hidden)``.
    """
    n = h.shape[1]
    rz = torch.sigmoid(ux[:, : 2 * n] + wh[:, : 2 * n])
    r, z = rz.chunk(2, dim=1)
    cand = torch.tanh(ux[:, 2 * n:] + r * (wh[:, 2 * n:] + b_hn))
    return cand + z * (h - cand)  # = (1 - z) * n + z * h


class LSTM(HandLayer):
    """The LSTM cell unrolled over time (batch-first), with an optional padding mask.

    ``forward(x, state=None, mask=None) -> (outputs, (h_last, c_last))``. ``cell`` holds the
    parameters (``lstm.cell.U`` is ``U``); ``from_torch`` copies a one-layer, batch-first
    ``nn.LSTM``. For speed the input projection ``b + U x_t`` of every step is one matrix product
    before the loop; each step then adds ``h W^T`` with one fused product for all four gates.
    """

    cell_type = LSTMCell
    torch_type = nn.LSTM
    cell: LSTMCell

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 0.0):
        super().__init__(input_size, hidden_size, forget_bias=forget_bias)

    @overload
    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None,
                mask: torch.Tensor | None = None, return_cells: Literal[False] = False
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]: ...

    @overload
    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None,
                mask: torch.Tensor | None = None, *, return_cells: Literal[True]
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], torch.Tensor]: ...

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None,
                mask: torch.Tensor | None = None, return_cells: bool = False
                ) -> (tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]
                      | tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], torch.Tensor]):
        """Run the LSTM over every step.

        Args:
            x: ``(batch, time, input)``.
            state: ``(h0, c0)``, each ``(batch, hidden)``; zeros if None.
            mask: ``(batch, time)`` bool, True on real tokens. Over padding the state is carried
                unchanged and the output is 0 (as with packed sequences in PyTorch).
            return_cells: also return the cell states: then the result is
                ``(outputs, (h_last, c_last), cells)`` with ``cells: (batch, time, hidden)``.

        Returns:
            outputs: ``(batch, time, hidden)``, h_t at every step.
            ``(h_last, c_last)``: each ``(batch, hidden)``.
        """
        self.check_inputs(x, mask)
        h0, c0 = state if state is not None else (None, None)
        h, c = self.initial_state(x, h0, "h0"), self.initial_state(x, c0, "c0")
        ux = self.cell.input_projection(x)  # b + U x_t for all steps: (batch, time, 4 hidden)
        w_t = self.cell.W.T

        def step(ux_t: torch.Tensor, hc: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
            h, c = hc
            return lstm_update(torch.addmm(ux_t, h, w_t), c)  # a = b + U x_t + W h_{t-1}, then the gates

        outputs, (h, c), states = masked_unroll(step, ux, (h, c), mask, keep_states=return_cells)
        if return_cells:
            cells = (torch.stack([c_t for _, c_t in states], 1) if states
                     else x.new_zeros(*x.shape[:2], self.hidden_size))
            return outputs, (h, c), cells
        return outputs, (h, c)


class GRU(HandLayer):
    """The GRU cell unrolled over time (batch-first), with an optional padding mask.

    ``forward(x, h0=None, mask=None) -> (outputs, h_last)``; ``cell`` holds the parameters;
    ``from_torch`` copies a one-layer, batch-first ``nn.GRU``.
    """

    cell_type = GRUCell
    torch_type = nn.GRU
    cell: GRUCell

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None, mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the GRU over every step: ``x: (batch, time, input)``, ``h0: (batch, hidden)`` (zeros if None),
        ``mask: (batch, time)`` bool or None -> ``outputs: (batch, time, hidden)``, ``h_last: (batch, hidden)``.

        Over padding the state is carried and the output is 0 (:func:`~course_lib.models.base.masked_unroll`).
        """
        self.check_inputs(x, mask)
        h = self.initial_state(x, h0)
        ux = self.cell.input_projection(x)  # b + U x_t for all steps: (batch, time, 3 hidden)
        w_t, b_hn = self.cell.W.T, self.cell.b_hn

        def step(ux_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
            return gru_update(ux_t, h @ w_t, h, b_hn)

        outputs, h, _ = masked_unroll(step, ux, h, mask)
        return outputs, h
