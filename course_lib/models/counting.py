"""The counting model of lecture 6: one recurrent layer predicting the next symbol of a^n b^n (c^n),
and how far it generalises (:func:`largest_correct_n`).

The languages (symbols, strings, which predictions are determined) are in
:mod:`course_lib.formal_languages`; the training recipe in :mod:`course_lib.recipes.counting`.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.formal_languages import SYMBOLS, counting_batch, deterministic_mask
from course_lib.models.base import TORCH_LAYERS, eval_mode, set_keep_bias
from course_lib.models.deep import LAYER_KINDS

__all__ = ["CountingModel", "predict_next", "strings_correct", "largest_correct_n"]


class CountingModel(nn.Module):
    """One-hot symbols -> one recurrent layer (tanh RNN, GRU or LSTM) -> next-symbol scores ``c + V h_t``.

    The layer is PyTorch's (``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``): with 8 hidden units and short
    strings its C++ time loop is several times faster than a Python one, which matters for an
    experiment of 15 trainings. :meth:`hand_layer` returns the same layer as a hand-built
    ``course_lib`` module with the weights copied (e.g. to read the LSTM's cell states).

    ``forward(inputs (batch, time) ids) -> logits (batch, time, 6)``. Strings are right-padded and
    the layer reads left to right, so padding never changes the logits of real positions.

    Args:
        input_noise: standard deviation of Gaussian noise added to the one-hot inputs in training
            mode only (``model.eval()`` reads clean inputs). A counter whose steps are not exactly
            +1 / -1 stays correct on short strings; noise on every input makes such a counter fail
            during training too, so training favours counters whose steps are exact.
        forget_bias: LSTM only: the initial forget-gate bias ``b_f`` (2.0 starts every unit with
            ``f = sigmoid(2) = 0.88``, keeping most of its cell). None keeps PyTorch's initialisation.
        update_bias: GRU only: the initial update-gate bias ``b_z``, the GRU's analogue of the forget
            bias (in ``h_t = (1 - z_t) n_t + z_t h_{t-1}``, 2.0 starts with ``z = 0.88``: keep most of
            the old state). None keeps PyTorch's initialisation.
    """

    def __init__(self, kind: str = "lstm", hidden_size: int = 8, input_noise: float = 0.0,
                 forget_bias: float | None = None, update_bias: float | None = None):
        super().__init__()
        if kind not in TORCH_LAYERS:
            raise ValueError(f"kind must be one of {sorted(TORCH_LAYERS)}, got {kind!r}")
        if input_noise < 0:
            raise ValueError(f"input_noise must be >= 0 (a standard deviation), got {input_noise!r}")
        if forget_bias is not None and kind != "lstm":
            raise ValueError(f"forget_bias is for the LSTM only; a {kind!r} layer has no forget gate")
        if update_bias is not None and kind != "gru":
            raise ValueError(f"update_bias is for the GRU only; a {kind!r} layer has no update gate")
        self.kind, self.hidden_size, self.input_noise = kind, hidden_size, float(input_noise)
        self.rnn = TORCH_LAYERS[kind](len(SYMBOLS), hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, len(SYMBOLS))  # V and c
        keep_bias = forget_bias if kind == "lstm" else update_bias
        if keep_bias is not None:
            set_keep_bias(self.rnn, keep_bias)  # b_f (LSTM) or b_z (GRU)

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if inputs.dim() != 2 or inputs.is_floating_point():
            raise ValueError(f"inputs must be (batch, time) symbol ids, got {inputs.dtype} {tuple(inputs.shape)}")
        x = F.one_hot(inputs, len(SYMBOLS)).float()
        if self.training and self.input_noise > 0:
            x = x + self.input_noise * torch.randn_like(x)
        h, _ = self.rnn(x)
        return self.out(h)

    def hand_layer(self) -> nn.Module:
        """The recurrent layer as a hand-built module (``ElmanRNN`` / ``GRU`` / ``LSTM``), weights copied."""
        return LAYER_KINDS[self.kind].from_torch(self.rnn)

    @torch.no_grad()
    def cell_states(self, inputs: torch.Tensor) -> torch.Tensor:
        """The LSTM's cell states c_t: ``inputs (batch, time) -> (batch, time, hidden)``."""
        if self.kind != "lstm":
            raise ValueError(f"only the LSTM has a cell state (this model is {self.kind!r})")
        x = F.one_hot(inputs, len(SYMBOLS)).float()
        _, _, cells = self.hand_layer()(x, return_cells=True)
        return cells


@torch.no_grad()
def predict_next(model: CountingModel, ns: Sequence[int], num_letters: int = 2) -> torch.Tensor:
    """Argmax next-symbol predictions for the strings ``n in ns``: ``(len(ns), time)`` ids (0 on padding)."""
    b = counting_batch(ns, num_letters)
    dev = next(model.parameters()).device
    with eval_mode(model):
        logits = model(b["inputs"].to(dev), b["mask"].to(dev)).cpu()
    return torch.where(b["mask"], logits.argmax(-1), torch.zeros_like(b["inputs"]))


def strings_correct(model: CountingModel, ns: Sequence[int], num_letters: int = 2) -> list[bool]:
    """For each ``n`` in ``ns``: are all deterministic predictions of its string right?"""
    ns = list(ns)
    b = counting_batch(ns, num_letters)
    pred = predict_next(model, ns, num_letters)
    det = torch.zeros_like(b["mask"])
    for i, n in enumerate(ns):
        det[i, : num_letters * n + 1] = torch.tensor(deterministic_mask(n, num_letters))
    ok = (pred == b["targets"]) | ~det
    return ok.all(1).tolist()


def largest_correct_n(correct: Sequence[bool] | CountingModel, num_letters: int = 2, max_n: int = 100,
                      chunk: int = 50) -> int:
    """The largest ``N`` such that the strings with ``n = 1 .. N`` are all correct (0 if ``n = 1`` fails).

    Args:
        correct: either ``correct[n - 1]`` for ``n = 1, 2, ...`` (a list of bools), or a model,
            which is then tested on ``n = 1 .. max_n`` (in chunks of ``chunk`` strings).
    """
    if isinstance(correct, nn.Module):
        flags: list[bool] = []
        for start in range(1, max_n + 1, chunk):
            flags += strings_correct(correct, range(start, min(start + chunk, max_n + 1)), num_letters)
            if not all(flags):
                break
        correct = flags
    largest = 0
    for ok in correct:
        if not ok:
            break
        largest += 1
    return largest
