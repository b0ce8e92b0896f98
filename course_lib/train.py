"""``fit()``: the course's trainer.

One function trains every model in the course::

    history = fit(model, loss_fn, train_loader, optimizer, epochs=3, val_loader=val_loader)

``loss_fn(model, batch)`` returns the mean loss of the batch (a scalar tensor), or a pair
``(mean_loss, n)`` where ``n`` is how many items (e.g. real tokens) the mean is over, so that
validation averages are weighted correctly.

What ``fit`` does for you:

- a fixed number of ``epochs`` or of optimizer ``steps`` (never a wall-clock budget);
- gradient clipping by global norm (``clip_grad_norm``), the norm before clipping is logged;
- bf16 autocast on CUDA (``amp="auto"``), non-blocking host-to-device copies;
- a ``tqdm.auto`` progress bar and a live loss plot in notebooks (updated in place);
- a :class:`History` of train and validation losses;
- checkpoints every ``checkpoint_every`` steps, written atomically, and exact resume
  (model, optimizer, scheduler, RNG states, step and position in the epoch);
- Ctrl-C (``KeyboardInterrupt``) stops cleanly: the last checkpoint is kept and the
  history so far is returned with ``history.interrupted = True``.

``fit`` keeps no global state of its own, so it runs unchanged under ``torchrun``
(wrap the model in ``DistributedDataParallel`` and give it a ``DistributedSampler`` loader).
"""
from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from course_lib.cache import atomic_save
from course_lib.env import autocast_dtype, choose_device
from course_lib.models.base import eval_mode

__all__ = ["fit", "History", "move_to", "make_loader", "evaluate_loss", "LossFn"]

LossFn = Callable[[nn.Module, Any], "torch.Tensor | tuple[torch.Tensor, int | float | torch.Tensor]"]


@dataclass
class History:
    """What happened during training.

    Attributes:
        step: optimizer step of each logged training loss.
        train_loss: mean training loss over the last ``log_every`` steps, at each ``step``.
        grad_norm: global gradient norm before clipping (mean over the window); tracked only when
            ``clip_grad_norm`` is set (use ``float("inf")`` to track without clipping), else NaN.
        val_step, val_loss: validation loss after these steps.
        epochs_done: complete epochs.
        steps_done: optimizer steps in all (including those before a resume).
        seconds: wall time of this call.
        interrupted: True if Ctrl-C stopped training early.
        resumed_from: the step a checkpoint resumed from (None for a fresh start).
    """

    step: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    epochs_done: int = 0
    steps_done: int = 0
    seconds: float = 0.0
    interrupted: bool = False
    resumed_from: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def last_train_loss(self) -> float:
        return self.train_loss[-1] if self.train_loss else math.nan

    @property
    def last_val_loss(self) -> float:
        return self.val_loss[-1] if self.val_loss else math.nan

    def __repr__(self) -> str:
        return (f"History(steps={self.steps_done}, epochs={self.epochs_done}, "
                f"train_loss={self.last_train_loss:.4f}, val_loss={self.last_val_loss:.4f}, "
                f"seconds={self.seconds:.1f}{', interrupted' if self.interrupted else ''})")


def move_to(batch: Any, device: torch.device, non_blocking: bool = False) -> Any:
    """Move every tensor in a (nested) tuple / list / dict to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=non_blocking)
    if isinstance(batch, dict):
        return {k: move_to(v, device, non_blocking) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):  # namedtuple
        return type(batch)(*(move_to(v, device, non_blocking) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to(v, device, non_blocking) for v in batch)
    return batch


def make_loader(dataset: Any, batch_size: int, shuffle: bool = False, collate_fn: Callable | None = None,
                device: torch.device | None = None, seed: int | None = None, **kwargs: Any
                ) -> torch.utils.data.DataLoader:
    """A ``DataLoader`` with pinned memory when the target device is CUDA.

    Args:
        seed: if given (and ``shuffle``), the loader shuffles with its own generator,
            so its order does not depend on other code using torch's global RNG.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = device or choose_device()
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, collate_fn=collate_fn,
                                       pin_memory=device.type == "cuda", generator=generator, **kwargs)


def _split_loss(out: Any) -> tuple[torch.Tensor, float]:
    if isinstance(out, tuple):
        if len(out) != 2:
            raise ValueError("loss_fn must return a scalar loss or a pair (mean_loss, n_items)")
        loss, n = out
        n = float(n.item() if isinstance(n, torch.Tensor) else n)
    else:
        loss, n = out, 1.0
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else type(loss).__name__
        raise ValueError(f"loss_fn must return a scalar tensor (shape ()), got {shape}")
    return loss, n


@torch.no_grad()
def evaluate_loss(model: nn.Module, loss_fn: LossFn, loader: Iterable, device: torch.device | None = None,
                  amp: str | bool = "auto", max_batches: int | None = None) -> float:
    """Mean of ``loss_fn`` over ``loader``, weighted by the ``n`` it returns (model in eval mode)."""
    device = device or next(model.parameters()).device
    dtype = _amp_dtype(amp, device)
    total, count = 0.0, 0.0
    with eval_mode(model):
        for i, batch in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            batch = move_to(batch, device, non_blocking=device.type == "cuda")
            with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                loss, n = _split_loss(loss_fn(model, batch))
            total += float(loss.float()) * n
            count += n
    if count == 0:
        raise ValueError("evaluate_loss got an empty loader")
    return total / count


def _amp_dtype(amp: str | bool, device: torch.device) -> torch.dtype | None:
    if amp == "auto":
        return autocast_dtype(device)
    if amp is True or amp == "bf16":
        if device.type == "cpu" or device.type == "cuda":
            return torch.bfloat16
        raise ValueError(f"bf16 autocast is not supported on {device}")
    if amp in (False, None, "off"):
        return None
    raise ValueError(f"amp must be 'auto', 'bf16' or False, got {amp!r}")


# --- RNG state -------------------------------------------------------------------

def _rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _loader_generators(loader: Any) -> list[torch.Generator]:
    gens = []
    for obj in (loader, getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None),
                getattr(getattr(loader, "batch_sampler", None), "sampler", None)):
        g = getattr(obj, "generator", None)
        if isinstance(g, torch.Generator) and all(g is not h for h in gens):
            gens.append(g)
    return gens


def _epoch_state(loader: Any) -> dict[str, Any]:
    """Everything that decides the order of batches in the coming epoch."""
    return {"rng": _rng_state(), "loader_gens": [g.get_state() for g in _loader_generators(loader)]}


def _restore_epoch_state(loader: Any, state: dict[str, Any]) -> None:
    _set_rng_state(state["rng"])
    gens = _loader_generators(loader)
    if len(gens) != len(state["loader_gens"]):
        raise ValueError("the train loader is not set up as it was when the checkpoint was written")
    for g, s in zip(gens, state["loader_gens"]):
        g.set_state(s)


# --- live plot -----------------------------------------------------------------------

def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


class _LivePlot:
    """A loss plot that is redrawn in place in a notebook output cell."""

    def __init__(self) -> None:
        import matplotlib.pyplot as plt
        from IPython.display import display

        self.plt = plt
        self.fig, self.ax = plt.subplots(figsize=(6, 3.2))
        self.handle = display(self.fig, display_id=True)
        plt.close(self.fig)

    def update(self, h: History) -> None:
        ax = self.ax
        ax.clear()
        if h.step:
            ax.plot(h.step, h.train_loss, label="train")
        if h.val_step:
            ax.plot(h.val_step, h.val_loss, "o-", label="validation")
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        if h.step or h.val_step:
            ax.legend(loc="upper right")
        self.fig.tight_layout()
        self.handle.update(self.fig)


def _wants(flag: str | bool, env: str) -> bool:
    if flag == "auto":
        return os.environ.get(env, "1") != "0" and _in_notebook()
    return bool(flag)


# --- fit -----------------------------------------------------------------------------

def fit(model: nn.Module, loss_fn: LossFn, train_loader: Iterable, optimizer: torch.optim.Optimizer, *,
        epochs: int | None = None, steps: int | None = None, val_loader: Iterable | None = None,
        val_every: int | None = None, scheduler: Any = None, clip_grad_norm: float | None = None,
        device: torch.device | str | None = None, amp: str | bool = "auto", log_every: int = 10,
        checkpoint_path: str | os.PathLike | None = None, checkpoint_every: int | None = None,
        resume: bool = True, progress: str | bool = "auto", live_plot: str | bool = "auto",
        plot_every: int | None = None, on_step: Callable[[int, float], None] | None = None) -> History:
    """Train ``model`` and return its :class:`History`.

    Args:
        model: the network; moved to ``device``.
        loss_fn: ``loss_fn(model, batch) -> mean_loss`` or ``(mean_loss, n_items)``.
        train_loader: any re-iterable of batches (a ``DataLoader``); tensors in a batch
            (also inside tuples / dicts) are moved to the device.
        optimizer: built on ``model.parameters()``.
        epochs: passes over ``train_loader`` -- give this or ``steps`` (or both: stop at the first).
        steps: total optimizer steps (counted across resumes).
        val_loader: evaluated after every epoch and every ``val_every`` steps.
        scheduler: stepped after every optimizer step (``scheduler.step()``).
        clip_grad_norm: clip the global gradient norm to this value.
        device: default :func:`~course_lib.env.choose_device`.
        amp: ``"auto"`` (bf16 autocast on CUDA), ``"bf16"`` or ``False``.
        log_every: average the training loss over this many steps per logged point.
        checkpoint_path: where to save checkpoints (and resume from, if ``resume``).
        checkpoint_every: save every this many steps (and always at the end).
        resume: continue from ``checkpoint_path`` if it exists.
        progress: show a ``tqdm.auto`` bar (``"auto"``: yes unless ``COURSE_PROGRESS=0``).
        live_plot: draw the loss in place in a notebook (``"auto"``: in notebooks unless
            ``COURSE_LIVE_PLOT=0``, which the test-suite sets).
        plot_every: redraw the live plot every this many steps (default ``10 * log_every``).
        on_step: called as ``on_step(step, loss)`` after every optimizer step.

    Returns:
        The :class:`History`. With ``resume``, losses logged before the checkpoint are included.
    """
    if epochs is None and steps is None:
        raise ValueError("fit needs a fixed length: give epochs=... or steps=...")
    for name, v in (("epochs", epochs), ("steps", steps), ("log_every", log_every),
                    ("checkpoint_every", checkpoint_every), ("val_every", val_every)):
        if v is not None and (not isinstance(v, int) or v < 1):
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if checkpoint_every is not None and checkpoint_path is None:
        raise ValueError("checkpoint_every needs a checkpoint_path")
    device = torch.device(device) if device is not None else choose_device()
    model.to(device)
    dtype = _amp_dtype(amp, device)
    non_blocking = device.type == "cuda"
    ckpt = Path(checkpoint_path) if checkpoint_path is not None else None

    history = History()
    step, epoch, batch_in_epoch = 0, 0, 0
    epoch_state: dict[str, Any] | None = None
    payload: dict[str, Any] | None = None
    if ckpt is not None and resume and ckpt.exists():
        payload = torch.load(ckpt, map_location="cpu", weights_only=False)
        model.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        if scheduler is not None and payload.get("scheduler") is not None:
            scheduler.load_state_dict(payload["scheduler"])
        history = History(**payload["history"])
        history.interrupted = False
        step, epoch = payload["step"], payload["epoch"]
        history.resumed_from = step

    def done() -> bool:
        return (steps is not None and step >= steps) or (epochs is not None and epoch >= epochs)

    total = steps if steps is not None else None
    if total is None and epochs is not None:
        try:
            total = epochs * len(train_loader)  # type: ignore[arg-type]
        except TypeError:
            total = None
    if steps is not None and epochs is not None:
        try:
            total = min(steps, epochs * len(train_loader))  # type: ignore[arg-type]
        except TypeError:
            pass
    show_bar = os.environ.get("COURSE_PROGRESS", "1") != "0" if progress == "auto" else bool(progress)
    bar = None
    if show_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=total, initial=step, desc="training", unit="step", leave=True)
    plot = _LivePlot() if _wants(live_plot, "COURSE_LIVE_PLOT") else None
    plot_every = plot_every or 10 * log_every

    window_loss: Any
    window_norm: Any
    window_loss, window_norm, window_n = payload["window"] if payload is not None else (0.0, 0.0, 0)
    nan = math.nan
    last_val_step = history.val_step[-1] if history.val_step else -1
    t0 = time.perf_counter()

    def validate() -> None:
        nonlocal last_val_step
        if val_loader is None or last_val_step == step:
            return
        state = _rng_state()  # validation must not change the training run's randomness
        history.val_step.append(step)
        history.val_loss.append(evaluate_loss(model, loss_fn, val_loader, device, amp))
        _set_rng_state(state)
        last_val_step = step
        if plot is not None:
            plot.update(history)

    def log_window() -> None:
        nonlocal window_loss, window_norm, window_n
        mean = float(window_loss) / window_n
        if not math.isfinite(mean):
            raise FloatingPointError(f"the training loss became {mean} before step {step}: "
                                     "lower the learning rate or clip gradients (clip_grad_norm=...)")
        history.step.append(step)
        history.train_loss.append(mean)
        history.grad_norm.append(float(window_norm) / window_n)
        window_loss, window_norm, window_n = 0.0, 0.0, 0

    def checkpoint() -> None:
        if ckpt is None:
            return
        atomic_save({
            "model": model.state_dict(), "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch,
            "epoch_state": epoch_state, "rng": _rng_state(), "history": history.as_dict(),
            "window": (float(window_loss), float(window_norm), window_n),
        }, ckpt)  # atomic: an interrupt never leaves a half-written checkpoint

    model.train()
    try:
        while not done():
            if payload is not None and payload["epoch_state"] is not None:
                # resume inside an epoch: replay its batch order, skip what was trained on
                epoch_state = payload["epoch_state"]
                _restore_epoch_state(train_loader, epoch_state)
                it: Iterator = iter(train_loader)
                for _ in range(payload["batch_in_epoch"]):
                    next(it)
                batch_in_epoch = payload["batch_in_epoch"]
                _set_rng_state(payload["rng"])  # dropout etc. continue exactly
            else:
                if payload is not None:
                    _set_rng_state(payload["rng"])
                epoch_state = _epoch_state(train_loader)
                it = iter(train_loader)
                batch_in_epoch = 0
            payload = None
            for batch in it:
                batch = move_to(batch, device, non_blocking=non_blocking)
                optimizer.zero_grad(set_to_none=True)
                with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                    loss, _n = _split_loss(loss_fn(model, batch))
                loss.backward()
                if clip_grad_norm is not None:
                    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm).detach()
                else:
                    norm = nan
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                step += 1
                batch_in_epoch += 1
                window_loss = window_loss + loss.detach().float()  # stays on the device: no sync per step
                window_norm = window_norm + norm
                window_n += 1
                if on_step is not None:
                    on_step(step, float(loss.detach()))
                if bar is not None:
                    bar.update(1)
                if window_n == log_every:
                    log_window()
                    if bar is not None:
                        bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}")
                if val_every is not None and step % val_every == 0:
                    validate()
                if plot is not None and step % plot_every == 0:
                    plot.update(history)
                history.steps_done = step
                if checkpoint_every is not None and step % checkpoint_every == 0:
                    checkpoint()
                if steps is not None and step >= steps:
                    break
            else:
                if batch_in_epoch == 0:
                    raise ValueError("the train loader yielded no batches")
                epoch += 1
                history.epochs_done = epoch
                epoch_state, batch_in_epoch = None, 0
                validate()
        validate()
        history.steps_done = step
        checkpoint()  # before the partial window is logged, so a resumed run logs exactly as one run would
        if window_n:
            log_window()
    except KeyboardInterrupt:
        history.interrupted = True  # the last checkpoint on disk is left as it was
        history.steps_done = step
    finally:
        history.seconds = time.perf_counter() - t0
        if bar is not None:
            bar.close()
        if plot is not None:
            plot.update(history)
    return history

