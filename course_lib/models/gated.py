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

import math

import torch
from torch import nn

__all__ = ["LSTMCell", "GRUCell", "LSTM", "GRU", "LSTM_GATES", "GRU_GATES", "lstm_update", "gru_update"]

LSTM_GATES = ("i", "f", "g", "o")
GRU_GATES = ("r", "z", "n")


def _check_size(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _check_step(x_t: torch.Tensor, h: torch.Tensor, input_size: int, hidden_size: int, hname: str = "h") -> None:
    if x_t.dim() != 2 or x_t.shape[1] != input_size:
        raise ValueError(f"x_t must have shape (batch, {input_size}), got {tuple(x_t.shape)}")
    if h.dim() != 2 or h.shape != (x_t.shape[0], hidden_size):
        raise ValueError(f"{hname} must have shape ({x_t.shape[0]}, {hidden_size}), got {tuple(h.shape)}")


def _check_torch(module: nn.Module, kinds: tuple[type, ...], what: str) -> None:
    if not isinstance(module, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise TypeError(f"{what}.from_torch expects a torch.nn.{names}, got {type(module).__name__}")
    if isinstance(module, nn.RNNBase):
        problems = []
        if module.num_layers != 1:
            problems.append(f"num_layers={module.num_layers} (need 1; use course_lib.models.deep.DeepRNN)")
        if module.bidirectional:
            problems.append("bidirectional=True (need False; use course_lib.models.deep.DeepRNN)")
        if getattr(module, "proj_size", 0):
            problems.append("proj_size != 0")
        if not module.batch_first:
            problems.append("batch_first=False (need True)")
        if problems:
            raise ValueError(f"{what}.from_torch supports one plain layer only: " + ", ".join(problems))


def _torch_weights(module: nn.Module, suffix: str = "_l0") -> tuple[torch.Tensor, ...]:
    """(weight_ih, weight_hh, bias_ih, bias_hh) of an nn.LSTM/GRU layer or an nn.LSTMCell/GRUCell."""
    if isinstance(module, (nn.LSTMCell, nn.GRUCell)):
        suffix = ""
    w_ih = getattr(module, f"weight_ih{suffix}")
    w_hh = getattr(module, f"weight_hh{suffix}")
    if getattr(module, "bias", True) is False:
        zeros = torch.zeros(w_ih.shape[0], dtype=w_ih.dtype, device=w_ih.device)
        return w_ih, w_hh, zeros, zeros
    return w_ih, w_hh, getattr(module, f"bias_ih{suffix}"), getattr(module, f"bias_hh{suffix}")


class LSTMCell(nn.Module):
    """One LSTM step (see the module docstring for the equations and gate order i, f, g, o).

    Parameters (initialised like ``nn.LSTM``: uniform in ``±1/sqrt(hidden)``):
        U: ``(4 hidden, input)``  = ``weight_ih_l0`` (``nn.LSTMCell``: ``weight_ih``)
        W: ``(4 hidden, hidden)`` = ``weight_hh_l0``
        b: ``(4 hidden,)``        = ``bias_ih_l0 + bias_hh_l0``
    """

    gates = LSTM_GATES

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 0.0):
        super().__init__()
        _check_size("input_size", input_size)
        _check_size("hidden_size", hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.U = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.W = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.b = nn.Parameter(torch.empty(4 * hidden_size))
        self.reset_parameters(forget_bias)

    def reset_parameters(self, forget_bias: float = 0.0) -> None:
        """Uniform in ``±1/sqrt(hidden)``; ``forget_bias`` is added to ``b_f`` (1.0 is a common choice)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in (self.U, self.W, self.b):
            nn.init.uniform_(p, -bound, bound)
        with torch.no_grad():
            self.gate("f")[2].add_(forget_bias)

    def gate(self, name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(U_name, W_name, b_name)`` of gate ``name`` in ``"i", "f", "g", "o"``: views, shapes
        ``(hidden, input)``, ``(hidden, hidden)``, ``(hidden,)``; rows ``k*hidden:(k+1)*hidden``."""
        if name not in self.gates:
            raise ValueError(f"LSTM gates are {self.gates}, got {name!r}")
        k, n = self.gates.index(name), self.hidden_size
        rows = slice(k * n, (k + 1) * n)
        return self.U[rows], self.W[rows], self.b[rows]

    @classmethod
    def from_torch(cls, module: nn.LSTMCell | nn.LSTM) -> "LSTMCell":
        """A hand cell with the weights of an ``nn.LSTMCell`` (or a one-layer ``nn.LSTM``) copied."""
        _check_torch(module, (nn.LSTMCell, nn.LSTM), "LSTMCell")
        out = cls(module.input_size, module.hidden_size)
        weights = _torch_weights(module)
        out.load_torch(*weights)
        return out.to(weights[0].device)

    @torch.no_grad()
    def load_torch(self, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor) -> None:
        """Copy PyTorch's four tensors of one layer into ``U, W, b``."""
        self.U.copy_(w_ih)
        self.W.copy_(w_hh)
        self.b.copy_(b_ih + b_hh)

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
        _check_step(x_t, h, self.input_size, self.hidden_size)
        _check_step(x_t, c, self.input_size, self.hidden_size, "c")
        a = self.b + h @ self.W.T + x_t @ self.U.T  # (batch, 4 hidden): all four gates at once
        return lstm_update(a, c)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


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


class GRUCell(nn.Module):
    """One GRU step (see the module docstring for the equations and gate order r, z, n).

    Parameters (initialised like ``nn.GRU``):
        U: ``(3 hidden, input)``  = ``weight_ih_l0``
        W: ``(3 hidden, hidden)`` = ``weight_hh_l0``
        b: ``(3 hidden,)``        = ``bias_ih_l0`` + ``bias_hh_l0`` on the r, z rows (n rows: ``bias_ih`` only)
        b_hn: ``(hidden,)``       = ``bias_hh_l0[2 hidden:]`` (inside the reset product)
    """

    gates = GRU_GATES

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        _check_size("input_size", input_size)
        _check_size("hidden_size", hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.U = nn.Parameter(torch.empty(3 * hidden_size, input_size))
        self.W = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
        self.b = nn.Parameter(torch.empty(3 * hidden_size))
        self.b_hn = nn.Parameter(torch.empty(hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in (self.U, self.W, self.b, self.b_hn):
            nn.init.uniform_(p, -bound, bound)

    def gate(self, name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(U_name, W_name, b_name)`` of gate ``name`` in ``"r", "z", "n"`` (views)."""
        if name not in self.gates:
            raise ValueError(f"GRU gates are {self.gates}, got {name!r}")
        k, n = self.gates.index(name), self.hidden_size
        rows = slice(k * n, (k + 1) * n)
        return self.U[rows], self.W[rows], self.b[rows]

    @classmethod
    def from_torch(cls, module: nn.GRUCell | nn.GRU) -> "GRUCell":
        """A hand cell with the weights of an ``nn.GRUCell`` (or a one-layer ``nn.GRU``) copied."""
        _check_torch(module, (nn.GRUCell, nn.GRU), "GRUCell")
        out = cls(module.input_size, module.hidden_size)
        weights = _torch_weights(module)
        out.load_torch(*weights)
        return out.to(weights[0].device)

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
        _check_step(x_t, h, self.input_size, self.hidden_size)
        return gru_update(self.b + x_t @ self.U.T, h @ self.W.T, h, self.b_hn)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


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


def _check_seq(x: torch.Tensor, input_size: int, mask: torch.Tensor | None) -> None:
    if x.dim() != 3 or x.shape[2] != input_size:
        raise ValueError(f"x must have shape (batch, time, {input_size}), got {tuple(x.shape)}")
    if mask is not None:
        if mask.shape != x.shape[:2]:
            raise ValueError(f"mask must have shape {tuple(x.shape[:2])} (batch, time), got {tuple(mask.shape)}")
        if mask.dtype != torch.bool:
            raise TypeError(f"mask must be a bool tensor (True on real tokens), got {mask.dtype}")


def _init_state(x: torch.Tensor, s: torch.Tensor | None, hidden: int, name: str) -> torch.Tensor:
    if s is None:
        return x.new_zeros(x.shape[0], hidden)
    if s.shape != (x.shape[0], hidden):
        raise ValueError(f"{name} must have shape ({x.shape[0]}, {hidden}), got {tuple(s.shape)}")
    return s


class LSTM(nn.Module):
    """The LSTM cell unrolled over time (batch-first), with an optional padding mask.

    ``forward(x, state=None, mask=None) -> (outputs, (h_last, c_last))``. ``cell`` holds the
    parameters (``lstm.cell.U`` is ``U``). For speed the input projection ``b + U x_t`` of
    every step is one matrix product before the loop; each step then adds ``h W^T`` with one
    fused product for all four gates.
    """

    def __init__(self, input_size: int, hidden_size: int, forget_bias: float = 0.0):
        super().__init__()
        self.cell = LSTMCell(input_size, hidden_size, forget_bias)
        self.input_size, self.hidden_size = input_size, hidden_size

    @classmethod
    def from_torch(cls, module: nn.LSTM) -> "LSTM":
        """A hand LSTM with the weights of a one-layer, batch-first ``nn.LSTM`` copied."""
        _check_torch(module, (nn.LSTM,), "LSTM")
        out = cls(module.input_size, module.hidden_size)
        out.cell.load_torch(*_torch_weights(module))
        return out.to(module.weight_ih_l0.device)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None,
                mask: torch.Tensor | None = None, return_cells: bool = False
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
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
        _check_seq(x, self.input_size, mask)
        hidden = self.hidden_size
        h0, c0 = state if state is not None else (None, None)
        h = _init_state(x, h0, hidden, "h0")
        c = _init_state(x, c0, hidden, "c0")
        batch, time, _ = x.shape
        cell = self.cell
        # b + U x_t for all steps: one (batch*time, input) x (input, 4 hidden) product
        ux = torch.addmm(cell.b, x.reshape(batch * time, -1), cell.U.T).view(batch, time, 4 * hidden)
        w_t = cell.W.T
        outs, cells = [], []
        keeps = mask.unsqueeze(-1).unbind(1) if mask is not None else [None] * time
        for ux_t, k in zip(ux.unbind(1), keeps):
            h_new, c_new = lstm_update(torch.addmm(ux_t, h, w_t), c)
            if k is None:
                h, c = h_new, c_new
                outs.append(h)
            else:
                h, c = torch.where(k, h_new, h), torch.where(k, c_new, c)
                outs.append(h_new * k)
            if return_cells:
                cells.append(c)
        outputs = torch.stack(outs, 1) if outs else x.new_zeros(batch, 0, hidden)
        if return_cells:
            return outputs, (h, c), (torch.stack(cells, 1) if cells else x.new_zeros(batch, 0, hidden))
        return outputs, (h, c)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


class GRU(nn.Module):
    """The GRU cell unrolled over time (batch-first), with an optional padding mask.

    ``forward(x, h0=None, mask=None) -> (outputs, h_last)``; ``cell`` holds the parameters.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.cell = GRUCell(input_size, hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size

    @classmethod
    def from_torch(cls, module: nn.GRU) -> "GRU":
        """A hand GRU with the weights of a one-layer, batch-first ``nn.GRU`` copied."""
        _check_torch(module, (nn.GRU,), "GRU")
        out = cls(module.input_size, module.hidden_size)
        out.cell.load_torch(*_torch_weights(module))
        return out.to(module.weight_ih_l0.device)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None, mask: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the GRU over every step.

        Args:
            x: ``(batch, time, input)``.
            h0: ``(batch, hidden)``; zeros if None.
            mask: ``(batch, time)`` bool, True on real tokens (padding: state carried, output 0).

        Returns:
            outputs: ``(batch, time, hidden)``; h_last: ``(batch, hidden)``.
        """
        _check_seq(x, self.input_size, mask)
        hidden = self.hidden_size
        h = _init_state(x, h0, hidden, "h0")
        batch, time, _ = x.shape
        cell = self.cell
        ux = torch.addmm(cell.b, x.reshape(batch * time, -1), cell.U.T).view(batch, time, 3 * hidden)
        w_t = cell.W.T
        outs = []
        keeps = mask.unsqueeze(-1).unbind(1) if mask is not None else [None] * time
        for ux_t, k in zip(ux.unbind(1), keeps):
            h_new = gru_update(ux_t, h @ w_t, h, cell.b_hn)
            if k is None:
                h = h_new
                outs.append(h)
            else:
                h = torch.where(k, h_new, h)
                outs.append(h_new * k)
        outputs = torch.stack(outs, 1) if outs else x.new_zeros(batch, 0, hidden)
        return outputs, h

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"
