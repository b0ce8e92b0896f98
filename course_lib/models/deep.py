"""Depth in layers and in both directions, built on any hand-built sequence layer.

A *sequence layer* here is a module with ``forward(x, h0, mask=mask) -> (outputs, last)``:
:class:`~course_lib.models.rnn.ElmanRNN`, :class:`~course_lib.models.gated.GRU`
(``last`` is ``h``) or :class:`~course_lib.models.gated.LSTM` (``last`` is ``(h, c)``).

Stacked (multilayer) RNN: layer ``l`` reads the outputs of layer ``l-1`` at the same step::

    h^l_t = tanh(b^l + W^l h^l_{t-1} + U^l h^{l-1}_t),     h^0_t = x_t

Bidirectional RNN: a second layer reads the sequence from right to left, and the two states
are concatenated, ``[h_t ⊕ h'_t]``. With padding, "right to left" must start at each
sequence's *last real token*, not at the end of the padded tensor:
:func:`reverse_padded` (from :mod:`course_lib.data.batching`) reverses each sequence inside its
own length, so the backward layer sees real tokens first and padding last, exactly like the
forward layer.

PyTorch's names for layer ``l`` and direction: ``weight_ih_l{l}`` (``U``), ``weight_hh_l{l}``
(``W``), ``bias_ih_l{l} + bias_hh_l{l}`` (``b``); the backward direction adds ``_reverse``.
"""
from __future__ import annotations

from typing import Any, Literal, cast, overload

import torch
from torch import nn

from course_lib.data.masks import mask_lengths, reverse_padded
from course_lib.models.base import TORCH_LAYERS, HandLayer, torch_kind, torch_weights
from course_lib.models.gated import GRU, LSTM
from course_lib.models.rnn import ElmanRNN

__all__ = ["reverse_padded", "Bidirectional", "DeepRNN", "LAYER_KINDS", "SequenceTagger", "run_packed"]

# the hand-built layer of each kind (TORCH_LAYERS in course_lib.models.base has PyTorch's)
LAYER_KINDS: dict[str, type[HandLayer]] = {"elman": ElmanRNN, "gru": GRU, "lstm": LSTM}


class Bidirectional(nn.Module):
    """Two sequence layers, one reading left to right and one right to left; states concatenated.

    ``forward(x, mask=None) -> (outputs, (last_forward, last_backward))`` with
    ``outputs: (batch, time, 2 hidden)`` = ``[h_t ⊕ h'_t]``. ``last_backward`` is the backward
    layer's state after reading the *first* token (it read the sequence from its last real token).
    """

    def __init__(self, forward_layer: nn.Module, backward_layer: nn.Module):
        super().__init__()
        if forward_layer.hidden_size != backward_layer.hidden_size:
            raise ValueError("both directions need the same hidden_size, got "
                             f"{forward_layer.hidden_size} and {backward_layer.hidden_size}")
        self.fwd, self.bwd = forward_layer, backward_layer
        self.input_size = forward_layer.input_size
        self.hidden_size = forward_layer.hidden_size

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, tuple]:
        """Args: ``x: (batch, time, input)``; ``mask: (batch, time)`` bool, right-padded.

        Returns: ``outputs: (batch, time, 2 hidden)`` (0 on padding) and the two last states."""
        lengths = None if mask is None else mask_lengths(mask, tuple(x.shape[:2]), "x's (batch, time)")
        out_f, last_f = self.fwd(x, None, mask=mask)
        out_b, last_b = self.bwd(reverse_padded(x, lengths), None, mask=mask)
        return torch.cat([out_f, reverse_padded(out_b, lengths)], dim=-1), (last_f, last_b)


class DeepRNN(nn.Module):
    """A stack of ``num_layers`` hand-built layers (Elman, GRU or LSTM), optionally bidirectional.

    Each layer reads the previous layer's outputs (for a bidirectional stack, both directions
    concatenated), as in ``nn.RNN(num_layers=..., bidirectional=...)``.

    ``forward(x, mask=None) -> (outputs, h_n)``:
        outputs: ``(batch, time, D * hidden)`` from the top layer (``D`` = 2 if bidirectional);
        h_n: ``(num_layers * D, batch, hidden)``, last states in PyTorch's order (layer 0 forward,
        layer 0 backward, layer 1 forward, ...); for the LSTM a pair ``(h_n, c_n)``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
                 kind: str = "elman", dropout: float = 0.0):
        super().__init__()
        if kind not in LAYER_KINDS:
            raise ValueError(f"kind must be one of {sorted(LAYER_KINDS)}, got {kind!r}")
        if not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f"num_layers must be a positive int, got {num_layers!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        make = LAYER_KINDS[kind]
        self.kind, self.num_layers, self.bidirectional = kind, num_layers, bidirectional
        self.input_size, self.hidden_size = input_size, hidden_size
        d = 2 if bidirectional else 1
        layers = []
        for layer in range(num_layers):
            n_in = input_size if layer == 0 else d * hidden_size
            layers.append(Bidirectional(make(n_in, hidden_size), make(n_in, hidden_size)) if bidirectional
                          else make(n_in, hidden_size))
        self.layers = nn.ModuleList(layers)
        self.dropout = nn.Dropout(dropout)

    @classmethod
    def from_torch(cls, module: nn.RNN | nn.GRU | nn.LSTM) -> DeepRNN:
        """A hand stack with every weight of a batch-first ``nn.RNN`` (tanh) / ``nn.GRU`` / ``nn.LSTM`` copied."""
        kind = torch_kind(module)
        if not module.batch_first:
            raise ValueError("from_torch needs batch_first=True")
        if getattr(module, "nonlinearity", "tanh") != "tanh" or getattr(module, "proj_size", 0):
            raise ValueError("from_torch supports tanh RNNs and LSTMs without projections only")
        out = cls(module.input_size, module.hidden_size, module.num_layers, module.bidirectional, kind,
                  dropout=module.dropout)
        for l, layer in enumerate(out.layers):
            directions = [(layer.fwd, ""), (layer.bwd, "_reverse")] if module.bidirectional else [(layer, "")]
            for hand, suffix in directions:
                cast(HandLayer, hand).cell.load_torch(*torch_weights(module, f"_l{l}{suffix}"))
        return out.to(module.get_parameter("weight_ih_l0").device)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, Any]:
        """Args: ``x: (batch, time, input)``; ``mask: (batch, time)`` bool, right-padded, True on real tokens.

        Returns: ``(outputs (batch, time, D * hidden), h_n (num_layers * D, batch, hidden))``;
        for the LSTM ``h_n`` is the pair ``(h_n, c_n)``."""
        if x.dim() != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"x must have shape (batch, time, {self.input_size}), got {tuple(x.shape)}")
        lasts = []
        out = x
        for l, layer in enumerate(self.layers):
            if l > 0:
                out = self.dropout(out)
            if self.bidirectional:
                out, (last_f, last_b) = layer(out, mask=mask)
                lasts += [last_f, last_b]
            else:
                out, last = layer(out, None, mask=mask)
                lasts.append(last)
        if self.kind == "lstm":
            return out, (torch.stack([h for h, _ in lasts]), torch.stack([c for _, c in lasts]))
        return out, torch.stack(lasts)

    def extra_repr(self) -> str:
        return (f"kind={self.kind!r}, input_size={self.input_size}, hidden_size={self.hidden_size}, "
                f"num_layers={self.num_layers}, bidirectional={self.bidirectional}")


@overload
def run_packed(rnn: nn.RNNBase, x: torch.Tensor, mask: torch.Tensor | None = None,
               return_last: Literal[False] = False) -> torch.Tensor: ...


@overload
def run_packed(rnn: nn.RNNBase, x: torch.Tensor, mask: torch.Tensor | None = None, *,
               return_last: Literal[True]) -> tuple[torch.Tensor, Any]: ...


def run_packed(rnn: nn.RNNBase, x: torch.Tensor, mask: torch.Tensor | None = None,
               return_last: bool = False) -> torch.Tensor | tuple[torch.Tensor, Any]:
    """Run a batch-first ``nn.RNN/GRU/LSTM`` over a right-padded batch with packing (lecture 4), so
    the backward direction starts at each sequence's last real token.

    Args:
        rnn: the PyTorch layer (``batch_first=True``).
        x: ``(batch, time, input)``.
        mask: ``(batch, time)`` bool, right-padded, every row with a real token; None: no padding.
        return_last: also return the layer's last states ``h_n: (layers * D, batch, hidden)`` (for an
            LSTM the pair ``(h_n, c_n)``), taken at each sequence's last real token.

    Returns:
        outputs ``(batch, time, D * hidden)``, 0 on padding (and ``h_n`` with ``return_last``).
    """
    if mask is None:
        outputs, last = rnn(x)
    else:
        lengths = mask_lengths(mask, tuple(x.shape[:2]), "x's (batch, time)")
        if (lengths == 0).any():
            raise ValueError("every sequence needs at least one token to be packed (got a length of 0)")
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, last = rnn(packed)
        outputs = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]
    return (outputs, last) if return_last else outputs


class SequenceTagger(nn.Module):
    """Embedding -> (deep, optionally bidirectional) RNN -> one score vector per token.

    ``forward(tokens (batch, time) ids, mask (batch, time) bool) -> logits (batch, time, n_tags)``,
    ``o_t = c + V h_t`` with ``h_t`` the top layer's (concatenated) state.

    Args:
        impl: ``"hand"`` uses :class:`DeepRNN`; ``"torch"`` uses ``nn.RNN``/``nn.GRU``/``nn.LSTM``
            with packed sequences (same maths -- the tests check it -- but its time loop runs in C++,
            so it trains several times faster on a CPU).
    """

    def __init__(self, vocab_size: int, n_tags: int = 2, embed_size: int = 32, hidden_size: int = 64,
                 num_layers: int = 1, bidirectional: bool = False, kind: str = "elman", impl: str = "torch"):
        super().__init__()
        if impl not in ("hand", "torch"):
            raise ValueError(f"impl must be 'hand' or 'torch', got {impl!r}")
        if kind not in TORCH_LAYERS:
            raise ValueError(f"kind must be one of {sorted(TORCH_LAYERS)}, got {kind!r}")
        self.impl = impl
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=0)
        self.rnn: DeepRNN | nn.RNNBase
        if impl == "hand":
            self.rnn = DeepRNN(embed_size, hidden_size, num_layers, bidirectional, kind)
        else:
            self.rnn = TORCH_LAYERS[kind](embed_size, hidden_size, num_layers=num_layers,
                                            bidirectional=bidirectional, batch_first=True)
        self.out = nn.Linear(hidden_size * (2 if bidirectional else 1), n_tags)

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if tokens.dim() != 2 or tokens.is_floating_point():
            raise ValueError(f"tokens must be (batch, time) ids, got {tokens.dtype} {tuple(tokens.shape)}")
        x = self.embed(tokens)
        h = run_packed(self.rnn, x, mask) if isinstance(self.rnn, nn.RNNBase) else self.rnn(x, mask=mask)[0]
        return self.out(h)
