"""Recurrent forecasters for numeric series (lecture 9): an RNN, GRU or LSTM reads a window of the
past and a linear head predicts the next ``H`` values at once (**direct** multi-step forecasts).

The model lives here; how it is trained and used (``fit`` on windows of the training part, scaling
fitted on that part only, recursive use of a one-step model) is a recipe above the models:
:mod:`course_lib.recipes.forecasting`, whose names stay importable from here.
"""
from __future__ import annotations

import torch
from torch import nn

from course_lib.lazy import moved_names

__all__ = ["RNNForecaster", "CELLS"]

CELLS = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RNNForecaster(nn.Module):
    """``x: (batch, L, k)`` -> ``(batch, H)``: a recurrent layer over the window, then ``o = c + V h_L``.

    Args:
        n_inputs: ``k`` variables per time step.
        hidden_size: the state size.
        horizon: ``H`` outputs (direct multi-step).
        cell: ``"rnn"`` (tanh Elman), ``"gru"`` or ``"lstm"`` (PyTorch's layers).
        num_layers: stacked layers.
    """

    def __init__(self, n_inputs: int, hidden_size: int, horizon: int, cell: str = "gru", num_layers: int = 1):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {sorted(CELLS)}, got {cell!r}")
        for name, v in (("n_inputs", n_inputs), ("hidden_size", hidden_size), ("horizon", horizon),
                        ("num_layers", num_layers)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        self.cell, self.n_inputs, self.horizon = cell, n_inputs, horizon
        self.rnn = CELLS[cell](n_inputs, hidden_size, num_layers=num_layers, batch_first=True)
        self.head = nn.Linear(hidden_size, horizon)                 # V, c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 3 or x.shape[2] != self.n_inputs:
            raise ValueError(f"expected x of shape (batch, time, {self.n_inputs}), got {tuple(x.shape)}")
        states, _ = self.rnn(x)
        return self.head(states[:, -1])


__getattr__, __dir__ = moved_names(__name__, {name: "course_lib.recipes.forecasting" for name in (
    "ForecasterConfig", "TrainedForecaster", "train_forecaster", "forecast", "recursive_forecast", "rnn_forecaster",
    "forecaster_loss", "choose_steps", "run_comparison")})
