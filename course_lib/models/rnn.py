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

import math

import torch
from torch import nn

__all__ = ["ElmanCell", "ElmanRNN"]


def _check_size(name: str, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


class ElmanCell(nn.Module):
    """One step of the Elman RNN: ``h_t = tanh(b + W h_{t-1} + U x_t)``.

    Parameters (initialised like ``nn.RNN``: uniform in ``±1/sqrt(hidden)``):
        U: ``(hidden, input)``  = ``weight_ih_l0``
        W: ``(hidden, hidden)`` = ``weight_hh_l0``
        b: ``(hidden,)``        = ``bias_ih_l0 + bias_hh_l0``
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        _check_size("input_size", input_size)
        _check_size("hidden_size", hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.U = nn.Parameter(torch.empty(hidden_size, input_size))
        self.W = nn.Parameter(torch.empty(hidden_size, hidden_size))
        self.b = nn.Parameter(torch.empty(hidden_size))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in (self.U, self.W, self.b):
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x_t: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """One step.

        Args:
            x_t: ``(batch, input)``, the input at time t.
            h: ``(batch, hidden)``, the previous state h_{t-1}.

        Returns:
            h_t: ``(batch, hidden)``.
        """
        if x_t.dim() != 2 or x_t.shape[1] != self.input_size:
            raise ValueError(f"x_t must have shape (batch, {self.input_size}), got {tuple(x_t.shape)}")
        if h.dim() != 2 or h.shape != (x_t.shape[0], self.hidden_size):
            raise ValueError(f"h must have shape ({x_t.shape[0]}, {self.hidden_size}), got {tuple(h.shape)}")
        return torch.tanh(self.b + h @ self.W.T + x_t @ self.U.T)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


class ElmanRNN(nn.Module):
    """The Elman cell unrolled over time (batch-first), with an optional padding mask.

    ``forward(x, h0=None, mask=None) -> (outputs, h_last)``; see :meth:`forward`.
    ``cell`` holds the parameters, so ``rnn.cell.W`` is ``W``.
    """

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.cell = ElmanCell(input_size, hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size

    @classmethod
    def from_torch(cls, rnn: nn.RNN) -> "ElmanRNN":
        """A hand RNN with the weights of ``rnn`` copied across (not shared).

        ``rnn`` must be a single-layer, unidirectional, tanh, ``batch_first`` ``nn.RNN``.
        """
        if not isinstance(rnn, nn.RNN):
            raise TypeError(f"from_torch expects a torch.nn.RNN, got {type(rnn).__name__}")
        problems = []
        if rnn.num_layers != 1:
            problems.append(f"num_layers={rnn.num_layers} (need 1)")
        if rnn.bidirectional:
            problems.append("bidirectional=True (need False)")
        if rnn.nonlinearity != "tanh":
            problems.append(f"nonlinearity={rnn.nonlinearity!r} (need 'tanh')")
        if not rnn.batch_first:
            problems.append("batch_first=False (need True)")
        if getattr(rnn, "proj_size", 0):
            problems.append("proj_size != 0")
        if problems:
            raise ValueError("from_torch supports only the plain Elman RNN: " + ", ".join(problems))
        out = cls(rnn.input_size, rnn.hidden_size)
        with torch.no_grad():
            out.cell.U.copy_(rnn.weight_ih_l0)
            out.cell.W.copy_(rnn.weight_hh_l0)
            if rnn.bias:
                out.cell.b.copy_(rnn.bias_ih_l0 + rnn.bias_hh_l0)
            else:
                out.cell.b.zero_()
        return out.to(rnn.weight_ih_l0.device)

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
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"x must have shape (batch, time, {self.input_size}), got {tuple(x.shape)}")
        batch, time, _ = x.shape
        if h0 is None:
            h = x.new_zeros(batch, self.hidden_size)
        else:
            if h0.shape != (batch, self.hidden_size):
                raise ValueError(f"h0 must have shape ({batch}, {self.hidden_size}), got {tuple(h0.shape)}")
            h = h0
        if mask is not None:
            if mask.shape != (batch, time):
                raise ValueError(f"mask must have shape ({batch}, {time}), got {tuple(mask.shape)}")
            if mask.dtype != torch.bool:
                raise TypeError(f"mask must be a bool tensor (True on real tokens), got {mask.dtype}")
        cell = self.cell
        # U x_t + b for every step at once: one big matmul instead of `time` small ones
        ux = torch.addmm(cell.b, x.reshape(batch * time, -1), cell.U.T).view(batch, time, -1)
        w_t = cell.W.T
        outs = []
        if mask is None:
            for ux_t in ux.unbind(1):
                h = torch.tanh(torch.addmm(ux_t, h, w_t))
                outs.append(h)
        else:
            keep = mask.unsqueeze(-1)  # (batch, time, 1): True on real tokens
            for ux_t, k in zip(ux.unbind(1), keep.unbind(1)):
                new = torch.tanh(torch.addmm(ux_t, h, w_t))
                h = torch.where(k, new, h)
                outs.append(torch.where(k, new, torch.zeros_like(new)))
        if not outs:
            return x.new_zeros(batch, 0, self.hidden_size), h
        return torch.stack(outs, dim=1), h

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"
