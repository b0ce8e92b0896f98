"""Training and using the recurrent forecasters of lecture 9 (the model: :mod:`course_lib.models.forecasters`).

Multi-step forecasts are **direct** (one output per horizon, "multi-input multi-output"): the network
is trained on exactly the multi-step error it is judged on and never has to read its own predictions
(lecture 3's exposure bias). A one-step model (``horizon=1``) can still be run **recursively**
(:func:`recursive_forecast`) for comparison.

Training goes through :func:`course_lib.train.fit` on windows taken from the training part only, and
the scaling (:class:`course_lib.time_series.Scaler`) is fitted on that part only, so nothing from the
forecast period leaks in.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data.corpora import fingerprint
from course_lib.models.forecasters import RNNForecaster
from course_lib.time_series import Scaler, make_windows
from course_lib.train import History, fit, make_loader

__all__ = ["ForecasterConfig", "TrainedForecaster", "train_forecaster", "forecast", "recursive_forecast",
           "rnn_forecaster", "forecaster_loss", "choose_steps", "run_comparison"]


def forecaster_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Mean squared error of the scaled futures: ``batch = (x (batch, L, k), y (batch, H))``."""
    x, y = batch
    return F.mse_loss(model(x), y)


@dataclass(frozen=True)
class ForecasterConfig:
    """Everything that defines a trained forecaster (it also names its cache file).

    ``steps`` is a fixed number of Adam steps (never a time budget); ``center`` is the
    :class:`~course_lib.time_series.Scaler`'s.
    """

    cell: str = "gru"
    hidden: int = 32
    window: int = 24
    horizon: int = 12
    steps: int = 1000
    lr: float = 3e-3
    batch_size: int = 64
    weight_decay: float = 1e-4
    center: str = "mean"
    seed: int = 0


@dataclass
class TrainedForecaster:
    """A trained network with the scaler fitted on its training part."""

    model: RNNForecaster
    scaler: Scaler
    config: ForecasterConfig
    history: History


def _tensors(scaler: Scaler, X: np.ndarray, Y: np.ndarray) -> torch.utils.data.TensorDataset:
    return torch.utils.data.TensorDataset(torch.tensor(scaler.inputs(X), dtype=torch.float32),
                                          torch.tensor(scaler.targets(Y, X), dtype=torch.float32))


def train_forecaster(values: Any, end: int, config: ForecasterConfig, checkpoint_path: str | os.PathLike | None = None,
                     device: str | torch.device = "cpu", val_end: int | None = None, val_every: int | None = None
                     ) -> TrainedForecaster:
    """Train on every window of ``values[:end]`` (``(T,)`` or ``(T, k)``; the target is column 0).

    The scaler is fitted on ``values[:end]`` and the windows are cut from it, so no value at or after
    ``end`` influences the model. With ``checkpoint_path`` a finished run is reloaded instead of
    retrained (``fit`` resumes from the checkpoint).

    Args:
        val_end: if given (``> end``), the windows whose futures lie in ``end .. val_end - 1`` are a
            validation set, scored every ``val_every`` steps (``history.val_loss``, scaled MSE).
    """
    a = np.asarray(values, dtype=np.float64)
    a = a[:, None] if a.ndim == 1 else a
    train = a[:end]
    scaler = Scaler.fit(train, config.center)
    X, Y = make_windows(train, config.window, config.horizon, end=len(train))
    data = _tensors(scaler, X, Y)
    val_loader = None
    if val_end is not None:
        Xv, Yv = make_windows(a, config.window, config.horizon, end=val_end)
        keep = slice(len(X), None)                          # the windows whose futures end after `end`
        val_loader = [tuple(_tensors(scaler, Xv[keep], Yv[keep]).tensors)]
    torch.manual_seed(config.seed)
    model = RNNForecaster(a.shape[1], config.hidden, config.horizon, config.cell)
    loader = make_loader(data, min(config.batch_size, len(data)), shuffle=True, seed=config.seed,
                         device=torch.device(device), drop_last=len(data) > config.batch_size)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.steps, eta_min=config.lr / 10)
    history = fit(model, forecaster_loss, loader, opt, steps=config.steps, scheduler=sched, clip_grad_norm=1.0,
                  device=device, amp=False, log_every=max(1, min(25, config.steps // 10)), val_loader=val_loader,
                  val_every=val_every, checkpoint_path=checkpoint_path, progress=False, live_plot=False)
    return TrainedForecaster(model.cpu().eval(), scaler, config, history)


@torch.no_grad()
def forecast(trained: TrainedForecaster, histories: Any) -> np.ndarray:
    """Direct forecasts from the last ``L`` values of each history.

    Args:
        histories: one history ``(T,)`` / ``(T, k)``, or a list of them (any lengths ``>= L``).

    Returns:
        ``(H,)`` for one history, ``(n, H)`` for a list, in the series' units.
    """
    single = not isinstance(histories, (list, tuple))
    hs = [histories] if single else list(histories)
    L = trained.config.window
    wins = []
    for h in hs:
        a = np.asarray(h, dtype=np.float64)
        a = a[:, None] if a.ndim == 1 else a
        if a.shape[0] < L:
            raise ValueError(f"the forecaster reads windows of {L} values, got a history of {a.shape[0]}")
        wins.append(a[-L:])
    X = np.stack(wins)
    out = trained.model(torch.tensor(trained.scaler.inputs(X), dtype=torch.float32)).double().numpy()
    Y = trained.scaler.unscale(out, X)
    return Y[0] if single else Y


@torch.no_grad()
def recursive_forecast(trained: TrainedForecaster, history: Any, h: int) -> np.ndarray:
    """Run a one-step forecaster (``horizon=1``, one variable) ``h`` times, feeding each prediction
    back in as if it had been observed: ``(h,)``."""
    if trained.config.horizon != 1 or trained.model.n_inputs != 1:
        raise ValueError("recursive_forecast needs a one-step (horizon=1) forecaster of one variable")
    hist = [float(v) for v in np.asarray(history, dtype=np.float64).reshape(-1)]
    out: list[float] = []
    for _ in range(h):
        nxt = float(forecast(trained, np.array(hist))[0])
        out.append(nxt)
        hist.append(nxt)
    return np.array(out)


def choose_steps(values: Any, end: int, config: ForecasterConfig, val_size: int, every: int = 25,
                 checkpoint_path: str | os.PathLike | None = None) -> tuple[int, History]:
    """The number of training steps (``every``, ``2 * every``, ... ``config.steps``) with the lowest
    validation error, found without touching anything at or after ``end``: train on ``values[:end -
    val_size]`` and score the windows whose futures lie in the last ``val_size`` training values.

    Returns:
        ``(steps, history)`` of that selection run (reloaded from ``checkpoint_path`` if it is there).
    """
    if not 0 < val_size < end:
        raise ValueError(f"val_size must be in 1 .. end - 1 = {end - 1}, got {val_size}")
    run = train_forecaster(values, end - val_size, config, val_end=end, val_every=every,
                           checkpoint_path=checkpoint_path)
    h = run.history
    on_grid = [(loss, step) for step, loss in zip(h.val_step, h.val_loss) if step % every == 0]
    return min(on_grid)[1], h


def rnn_forecaster(config: ForecasterConfig, cache: str | os.PathLike | None = None, name: str = "",
                   val_size: int | None = None, seeds: tuple[int, ...] = (0,), recursive: bool = False,
                   trained_out: dict[str, list[TrainedForecaster]] | None = None
                   ) -> Callable[[np.ndarray], tuple[Callable[[np.ndarray, int], np.ndarray], str]]:
    """A builder for :func:`course_lib.time_series.rolling_comparison`: trains on the training part
    (cached under ``cache`` when given), then forecasts directly from the last window at each origin
    -- or, with ``recursive``, trains a one-step network (``horizon`` 1, one variable) and runs it
    :func:`recursive_forecast` for ``config.horizon`` steps.

    Args:
        val_size: if given, the number of steps is chosen on the last ``val_size`` training values
            (:func:`choose_steps`, up to ``config.steps``, with the first seed), then every network is
            trained on the whole training part for that many steps.
        seeds: one network per seed; the forecast is their mean (a small ensemble).
        trained_out: if given, receives the trained forecasters under ``name``.
    """
    horizon = config.horizon
    base = replace(config, horizon=1) if recursive else config

    def path(cfg: ForecasterConfig, train: np.ndarray, kind: str) -> str | None:
        if cache is None:
            return None
        key = {"config": asdict(cfg), "n": len(train), "sum": round(float(np.sum(train)), 6), "kind": kind}
        return os.path.join(os.fspath(cache), f"forecaster_{cfg.cell}_{kind}_{fingerprint(key)}.pt")

    def build(train: np.ndarray) -> tuple[Callable[[np.ndarray, int], np.ndarray], str]:
        if recursive and np.ndim(train) != 1:
            raise ValueError("a recursive forecaster reads one variable: give a (T,) series")
        steps = base.steps
        if val_size is not None:                     # chosen once (first seed), used for every seed
            cfg0 = replace(base, seed=seeds[0])
            steps = choose_steps(train, len(train), cfg0, val_size,
                                 checkpoint_path=path(cfg0, train, f"select{val_size}"))[0]
        nets = []
        for seed in seeds:
            cfg = replace(base, seed=seed, steps=steps)
            nets.append(train_forecaster(train, len(train), cfg, checkpoint_path=path(cfg, train, "final")))
        if trained_out is not None:
            trained_out[name or config.cell] = nets

        def predict(history: np.ndarray, h: int) -> np.ndarray:
            if h != horizon:
                raise ValueError(f"this forecaster was built for horizon {horizon}, asked for {h}")
            if recursive:
                return np.mean([recursive_forecast(net, history, h) for net in nets], axis=0)
            return np.mean([forecast(net, history) for net in nets], axis=0)
        ens = f", mean of {len(nets)} seeds" if len(nets) > 1 else ""
        how = "one-step, recursive" if recursive else "direct"
        return predict, f"{config.cell.upper()}-{config.hidden} ({how}), {steps} steps{ens}"
    return build


def run_comparison(names: list[str] | None = None, cells: tuple[str, ...] = ("rnn", "gru", "lstm"), hidden: int = 16,
                   steps: int = 1500, seeds: tuple[int, ...] = (0,), choose: bool = True,
                   cache: str | os.PathLike | None = None, combine_with: str | None = "GRU",
                   recursive_cells: tuple[str, ...] = (),
                   progress: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """The lecture's comparison: on every series of :data:`course_lib.time_series.SETUPS` (or ``names``),
    naive, seasonal naive, AR(d), ETS and one RNN forecaster per cell type, all through the same
    rolling origins.

    Args:
        cells: recurrent cells to train (``"rnn"``, ``"gru"``, ``"lstm"``).
        hidden, steps, seeds: the forecasters' size, (maximum) Adam steps and seeds (an ensemble).
        choose: pick the number of steps on a validation tail of the training part (half the test
            length; :func:`choose_steps`); else train for exactly ``steps``.
        cache: folder for trained networks (reloaded when the same run is asked for again).
        combine_with: also score the mean of AR(d) and this network (``None``: no combination).
        recursive_cells: cells also trained as one-step networks and run recursively (``"GRU (recursive)"``;
            only on series of one variable).
        progress: called with a line after each series.

    Returns:
        series name -> method name -> :class:`~course_lib.time_series.MethodResult`.
    """
    from course_lib.data.series import load_series
    from course_lib.time_series import SETUPS, baseline_forecasters, combine, rolling_comparison

    out = {}
    for name in names or list(SETUPS):
        series, setup = load_series(name), SETUPS[name]
        methods = baseline_forecasters(series, setup)
        for cell in cells:
            cfg = ForecasterConfig(cell=cell, hidden=hidden, window=setup.window, horizon=setup.horizon,
                                   steps=steps, center=setup.center)
            methods[cell.upper()] = rnn_forecaster(cfg, cache=cache, val_size=setup.test // 2 if choose else None,
                                                   seeds=seeds)
        for cell in recursive_cells if series.values.ndim == 1 else ():
            cfg = ForecasterConfig(cell=cell, hidden=hidden, window=setup.window, horizon=setup.horizon,
                                   steps=steps, center=setup.center)
            methods[f"{cell.upper()} (recursive)"] = rnn_forecaster(
                cfg, cache=cache, val_size=setup.test // 2 if choose else None, seeds=seeds, recursive=True)
        res = rolling_comparison(series, setup, methods)
        if combine_with is not None and combine_with in res:
            res[f"AR(d) + {combine_with}"] = combine(res, ["AR(d)", combine_with])
        out[name] = res
        if progress is not None:
            progress(f"{name}: " + ", ".join(f"{k} {v.mase:.3f}" for k, v in res.items()))
    return out
