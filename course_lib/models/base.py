"""What the model modules share: eval mode, size checks, the kind -> PyTorch class map, and the
base of the hand-built recurrent cells and layers.

- :func:`eval_mode`: ``with eval_mode(model): ...`` -- evaluation mode inside the block, the
  previous mode restored afterwards, also when the block raises.
- :data:`TORCH_LAYERS` (``"elman"`` -> ``nn.RNN``, ``"gru"`` -> ``nn.GRU``, ``"lstm"`` -> ``nn.LSTM``)
  and :func:`torch_kind`, its inverse.
- :class:`HandCell`: a cell whose parameters are ``U: (k hidden, input)``, ``W: (k hidden, hidden)``
  and ``b: (k hidden,)``, the rows of its ``k`` gates stacked in PyTorch's order, so one matrix
  product computes every gate. It gives :meth:`~HandCell.gate` (one gate's ``U, W, b`` as views),
  :meth:`~HandCell.from_torch` / :meth:`~HandCell.load_torch` (copy PyTorch's weights) and the
  initialisation; each cell's ``forward`` still writes its own equations out.
- :class:`HandLayer`: a cell unrolled over time with :func:`masked_unroll`, the one loop that
  carries the state over padding.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import Any, ClassVar, TypeVar

import torch
from torch import nn

from course_lib.data.masks import check_mask

__all__ = ["eval_mode", "check_size", "TORCH_LAYERS", "torch_kind", "check_torch_layer", "torch_weights",
           "set_keep_bias", "HandCell", "HandLayer", "masked_unroll"]

TORCH_LAYERS: dict[str, type[nn.RNN] | type[nn.GRU] | type[nn.LSTM]] = {"elman": nn.RNN, "gru": nn.GRU,
                                                                        "lstm": nn.LSTM}

M = TypeVar("M", bound=nn.Module)
S = TypeVar("S", torch.Tensor, tuple[torch.Tensor, torch.Tensor])


@contextlib.contextmanager
def eval_mode(model: M) -> Iterator[M]:
    """``model.eval()`` for the ``with`` block; afterwards the mode it had is put back (even after an error).

    >>> m = nn.Dropout(0.5)
    >>> with eval_mode(m):
    ...     m.training
    False
    >>> m.training
    True
    """
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def check_size(name: str, value: int) -> None:
    """Raise ``ValueError`` unless ``value`` is a positive int (a layer size)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def torch_kind(module: nn.Module) -> str:
    """``"elman"``, ``"gru"`` or ``"lstm"`` for an ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` (else ``TypeError``)."""
    for kind, cls in TORCH_LAYERS.items():
        if type(module) is cls:
            return kind
    raise TypeError(f"expected nn.RNN, nn.GRU or nn.LSTM, got {type(module).__name__}")


def check_torch_layer(module: nn.Module, kinds: tuple[type[nn.Module], ...], what: str) -> None:
    """Check that ``module`` is one plain PyTorch layer a hand-built one can copy.

    Raises ``TypeError`` if it is not one of ``kinds``; ``ValueError`` (naming every problem) if it
    has several layers, two directions, projections, ``batch_first=False`` or a non-tanh RNN.
    """
    if not isinstance(module, kinds):
        names = " or ".join(k.__name__ for k in kinds)
        raise TypeError(f"{what}.from_torch expects a torch.nn.{names}, got {type(module).__name__}")
    problems = []
    if getattr(module, "nonlinearity", "tanh") != "tanh":
        problems.append(f"nonlinearity={module.nonlinearity!r} (need 'tanh')")
    if isinstance(module, nn.RNNBase):
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


def torch_weights(module: nn.Module, suffix: str = "_l0") -> tuple[torch.Tensor, ...]:
    """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of one layer (``suffix``, e.g. ``"_l1_reverse"``) of an
    ``nn.RNN/GRU/LSTM``, or of an ``nn.RNNCell/GRUCell/LSTMCell``; zero biases if it has none."""
    if isinstance(module, nn.RNNCellBase):
        suffix = ""
    w_ih = getattr(module, f"weight_ih{suffix}")
    w_hh = getattr(module, f"weight_hh{suffix}")
    if getattr(module, "bias", True) is False:
        zeros = torch.zeros(w_ih.shape[0], dtype=w_ih.dtype, device=w_ih.device)
        return w_ih, w_hh, zeros, zeros
    return w_ih, w_hh, getattr(module, f"bias_ih{suffix}"), getattr(module, f"bias_hh{suffix}")


@torch.no_grad()
def set_keep_bias(layer: nn.Module, value: float) -> None:
    """Set the bias of the gate that *keeps* the old state, in a one-layer ``nn.LSTM`` (the forget gate:
    ``f = sigmoid(value)``) or ``nn.GRU`` (the update gate: ``z = sigmoid(value)``).

    In both of PyTorch's orders it is the second block of rows (``i, f, g, o`` and ``r, z, n``); the
    gate's bias is ``bias_ih + bias_hh`` on those rows, so ``bias_ih`` gets ``value`` and ``bias_hh`` 0.
    A positive value (1 or 2 are usual) starts the layer remembering instead of forgetting.
    """
    if type(layer) not in (nn.LSTM, nn.GRU):
        raise TypeError(f"set_keep_bias expects an nn.LSTM or nn.GRU, got {type(layer).__name__}")
    n = layer.get_parameter("weight_hh_l0").shape[1]  # hidden size
    layer.get_parameter("bias_ih_l0")[n:2 * n].fill_(value)
    layer.get_parameter("bias_hh_l0")[n:2 * n].zero_()


class HandCell(nn.Module):
    """Base of the hand-built cells: ``U: (k hidden, input)``, ``W: (k hidden, hidden)``, ``b: (k hidden,)``.

    ``k = len(gates)`` (1 for the Elman cell); gate ``j`` owns rows ``j*hidden:(j+1)*hidden``, in
    PyTorch's order. Subclasses set ``gates`` and ``torch_types`` (what :meth:`from_torch` accepts),
    add their own parameters, call :meth:`reset_parameters` and write ``forward``.
    """

    gates: ClassVar[tuple[str, ...]] = ("a",)
    torch_types: ClassVar[tuple[type[nn.Module], ...]] = ()

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        check_size("input_size", input_size)
        check_size("hidden_size", hidden_size)
        self.input_size, self.hidden_size = input_size, hidden_size
        k = len(self.gates)
        self.U = nn.Parameter(torch.empty(k * hidden_size, input_size))
        self.W = nn.Parameter(torch.empty(k * hidden_size, hidden_size))
        self.b = nn.Parameter(torch.empty(k * hidden_size))

    def reset_parameters(self) -> None:
        """Every parameter uniform in ``±1/sqrt(hidden)``, as PyTorch initialises its RNNs."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def gate(self, name: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(U_name, W_name, b_name)`` of one gate: views of shapes ``(hidden, input)``,
        ``(hidden, hidden)``, ``(hidden,)`` (rows ``k*hidden:(k+1)*hidden``, ``k`` its place in ``gates``)."""
        if name not in self.gates:
            raise ValueError(f"{type(self).__name__.removesuffix('Cell')} gates are {self.gates}, got {name!r}")
        k, n = self.gates.index(name), self.hidden_size
        rows = slice(k * n, (k + 1) * n)
        return self.U[rows], self.W[rows], self.b[rows]

    @classmethod
    def from_torch(cls: type[C], module: nn.RNNBase | nn.RNNCellBase) -> C:
        """A hand cell with the weights of a PyTorch cell (or one-layer, batch-first layer) copied, not shared."""
        check_torch_layer(module, cls.torch_types, cls.__name__)
        out = cls(module.input_size, module.hidden_size)
        weights = torch_weights(module)
        out.load_torch(*weights)
        return out.to(weights[0].device)

    @torch.no_grad()
    def load_torch(self, w_ih: torch.Tensor, w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor) -> None:
        """Copy PyTorch's four tensors of one layer: ``U = weight_ih``, ``W = weight_hh``, ``b = bias_ih + bias_hh``."""
        self.U.copy_(w_ih)
        self.W.copy_(w_hh)
        self.b.copy_(b_ih + b_hh)

    def input_projection(self, x: torch.Tensor) -> torch.Tensor:
        """``b + U x_t`` for every step at once (one matrix product instead of ``time`` small ones).

        ``x: (batch, time, input) -> (batch, time, k hidden)``."""
        batch, time, _ = x.shape
        return torch.addmm(self.b, x.reshape(batch * time, -1), self.U.T).view(batch, time, -1)

    def check_step(self, x_t: torch.Tensor, h: torch.Tensor, name: str = "h") -> None:
        """Shapes of one step's input ``x_t: (batch, input)`` and state ``h: (batch, hidden)``."""
        if x_t.dim() != 2 or x_t.shape[1] != self.input_size:
            raise ValueError(f"x_t must have shape (batch, {self.input_size}), got {tuple(x_t.shape)}")
        if h.dim() != 2 or h.shape != (x_t.shape[0], self.hidden_size):
            raise ValueError(f"{name} must have shape ({x_t.shape[0]}, {self.hidden_size}), got {tuple(h.shape)}")

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


C = TypeVar("C", bound=HandCell)
L = TypeVar("L", bound="HandLayer")


class HandLayer(nn.Module):
    """Base of the hand-built sequence layers: a :class:`HandCell` (``self.cell``, which holds the
    parameters) unrolled over a batch-first sequence. Subclasses set ``cell_type`` and ``torch_type``."""

    cell_type: ClassVar[type[HandCell]]
    torch_type: ClassVar[type[nn.RNNBase]]

    def __init__(self, input_size: int, hidden_size: int, **cell_options: Any):
        super().__init__()
        self.cell = self.cell_type(input_size, hidden_size, **cell_options)
        self.input_size, self.hidden_size = input_size, hidden_size

    @classmethod
    def from_torch(cls: type[L], module: nn.RNNBase) -> L:
        """A hand layer with the weights of a one-layer, batch-first PyTorch layer copied (not shared)."""
        check_torch_layer(module, (cls.torch_type,), cls.__name__)
        out = cls(module.input_size, module.hidden_size)
        weights = torch_weights(module)
        out.cell.load_torch(*weights)
        return out.to(weights[0].device)

    def check_inputs(self, x: torch.Tensor, mask: torch.Tensor | None) -> None:
        """``x: (batch, time, input)``; ``mask``: None or bool ``(batch, time)``."""
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"x must have shape (batch, time, {self.input_size}), got {tuple(x.shape)}")
        if mask is not None:
            check_mask(mask, tuple(x.shape[:2]), "x's (batch, time)")

    def initial_state(self, x: torch.Tensor, s: torch.Tensor | None, name: str = "h0") -> torch.Tensor:
        """``s`` checked to be ``(batch, hidden)``, or zeros if None."""
        if s is None:
            return x.new_zeros(x.shape[0], self.hidden_size)
        if s.shape != (x.shape[0], self.hidden_size):
            raise ValueError(f"{name} must have shape ({x.shape[0]}, {self.hidden_size}), got {tuple(s.shape)}")
        return s

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


def _h(state: torch.Tensor | tuple[torch.Tensor, ...]) -> torch.Tensor:
    return state[0] if isinstance(state, tuple) else state


def masked_unroll(step: Callable[[torch.Tensor, S], S], inputs: torch.Tensor, state: S,
                  mask: torch.Tensor | None = None, keep_states: bool = False
                  ) -> tuple[torch.Tensor, S, list[S]]:
    """Run a cell over time: ``state = step(inputs[:, t], state)`` for ``t = 0 .. time - 1``.

    The output at step ``t`` is ``h_t``: the state, or its first entry for an LSTM's ``(h, c)``.
    Over padding (``mask[i, t]`` False) sequence ``i``'s state is carried unchanged and its output
    is 0, so the last state is each sequence's state at its last real token (as with PyTorch's
    packed sequences).

    Args:
        step: one step of the cell, ``(inputs_t (batch, ...), state) -> new state``.
        inputs: ``(batch, time, ...)``, e.g. the precomputed ``b + U x_t``.
        state: the state before step 0: ``(batch, hidden)`` or a tuple of such.
        mask: ``(batch, time)`` bool, True on real tokens; None: no padding.
        keep_states: also return the state after every step.

    Returns:
        ``(outputs (batch, time, hidden), last state, states)``; ``states`` lists the state after
        each step (empty unless ``keep_states``).
    """
    outs, states = [], []
    keeps: list[Any] = list(mask.unsqueeze(-1).unbind(1)) if mask is not None else [None] * inputs.shape[1]
    for x_t, keep in zip(inputs.unbind(1), keeps):
        new = step(x_t, state)
        if keep is None:
            state = new
            outs.append(_h(new))
        else:  # padded rows keep their state and output 0
            state = (tuple(torch.where(keep, n, s) for n, s in zip(new, state)) if isinstance(new, tuple)
                     else torch.where(keep, new, state))  # type: ignore[assignment]
            outs.append(torch.where(keep, _h(new), 0.0))
        if keep_states:
            states.append(state)
    if not outs:
        return inputs.new_zeros(inputs.shape[0], 0, _h(state).shape[-1]), state, states
    return torch.stack(outs, dim=1), state, states
