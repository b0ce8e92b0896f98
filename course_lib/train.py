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

The training step itself -- zero_grad, forward and loss, backward, clip, step -- reads top to
bottom in :func:`fit`; the bookkeeping around it (resume, the loss window and history, validation,
checkpoints, progress bar and plot) is in the small named methods of ``_Run``.

``fit`` keeps no global state of its own, so it runs unchanged under ``torchrun``: wrap the model in
``DistributedDataParallel`` and give it a ``DistributedSampler`` loader (``fit`` calls its
``set_epoch`` every epoch). Only rank 0 shows progress and writes checkpoints; every process reads
them to resume, and each logs the loss of its own share of the batch (the history in a checkpoint is
rank 0's). ``tests/test_train.py`` runs this on two CPU processes and checks it against one process.
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
from course_lib.env import autocast_dtype, choose_device, is_main_process
from course_lib.models.base import eval_mode

__all__ = ["fit", "History", "move_to", "make_loader", "evaluate_loss", "LossFn"]

LossFn = Callable[[Any, Any], "torch.Tensor | tuple[torch.Tensor, int | float | torch.Tensor]"]  # (model, batch)


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
    gens: list[torch.Generator] = []
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
    _check_fit_args(epochs, steps, log_every, checkpoint_every, val_every, checkpoint_path)
    device = torch.device(device) if device is not None else choose_device()
    model.to(device)
    dtype = _amp_dtype(amp, device)
    non_blocking = device.type == "cuda"
    run = _Run(model, optimizer, scheduler, loss_fn, val_loader, val_every, device, amp, log_every,
               checkpoint_path, checkpoint_every, on_step)
    if resume:
        run.resume_from_checkpoint()
    run.open_display(_planned_steps(train_loader, epochs, steps), progress, live_plot, plot_every)

    model.train()
    try:
        while not run.done(epochs, steps):
            for batch in run.epoch_batches(train_loader):       # resumes inside an epoch exactly
                batch = move_to(batch, device, non_blocking=non_blocking)
                # --- one training step ---
                optimizer.zero_grad(set_to_none=True)
                with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
                    loss, _ = _split_loss(loss_fn(model, batch))    # forward pass and loss
                loss.backward()                                     # gradients
                norm = _clip_gradients(model, clip_grad_norm)       # norm before clipping (NaN: no clipping)
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                # --- bookkeeping: log, validate, plot, checkpoint ---
                run.after_step(loss, norm)
                if steps is not None and run.step >= steps:
                    break
            else:
                run.end_epoch()
        run.finish()
    except KeyboardInterrupt:
        run.interrupted()  # the last checkpoint on disk is left as it was
    finally:
        run.close_display()
    return run.history


def _check_fit_args(epochs: int | None, steps: int | None, log_every: int, checkpoint_every: int | None,
                    val_every: int | None, checkpoint_path: Any) -> None:
    if epochs is None and steps is None:
        raise ValueError("fit needs a fixed length: give epochs=... or steps=...")
    for name, v in (("epochs", epochs), ("steps", steps), ("log_every", log_every),
                    ("checkpoint_every", checkpoint_every), ("val_every", val_every)):
        if v is not None and (not isinstance(v, int) or v < 1):
            raise ValueError(f"{name} must be a positive int, got {v!r}")
    if checkpoint_every is not None and checkpoint_path is None:
        raise ValueError("checkpoint_every needs a checkpoint_path")


def _planned_steps(loader: Any, epochs: int | None, steps: int | None) -> int | None:
    """The progress bar's total: ``steps``, ``epochs * len(loader)``, the smaller of both, or None."""
    if epochs is None:
        return steps
    try:
        per_epoch = epochs * len(loader)
    except TypeError:  # a loader without a length
        return steps
    return per_epoch if steps is None else min(steps, per_epoch)


def _clip_gradients(model: nn.Module, max_norm: float | None) -> torch.Tensor | float:
    """Clip the global gradient norm to ``max_norm``; the norm before clipping (NaN when not clipping)."""
    if max_norm is None:
        return math.nan
    return torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm).detach()


class _Run:
    """Everything ``fit`` keeps track of around the training step: the position (step, epoch, batch
    in the epoch), the window of losses being averaged, the history, validation, the progress bar and
    live plot, and checkpoints. Under ``torchrun`` only the main process (rank 0) shows progress and
    writes checkpoints; every process reads them to resume."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, loss_fn: LossFn,
                 val_loader: Iterable | None, val_every: int | None, device: torch.device, amp: str | bool,
                 log_every: int, checkpoint_path: str | os.PathLike | None, checkpoint_every: int | None,
                 on_step: Callable[[int, float], None] | None):
        self.model, self.optimizer, self.scheduler, self.loss_fn = model, optimizer, scheduler, loss_fn
        self.val_loader, self.val_every, self.device, self.amp = val_loader, val_every, device, amp
        self.log_every, self.checkpoint_every, self.on_step = log_every, checkpoint_every, on_step
        self.ckpt = Path(checkpoint_path) if checkpoint_path is not None else None
        self.main = is_main_process()
        self.history = History()
        self.step, self.epoch, self.batch_in_epoch = 0, 0, 0
        self.epoch_state: dict[str, Any] | None = None  # what decides the order of this epoch's batches
        self.payload: dict[str, Any] | None = None      # the checkpoint being resumed, until its epoch starts
        self.window_loss: Any = 0.0                     # sums over the steps since the last logged point;
        self.window_norm: Any = 0.0                     # tensors on the device (no sync per step)
        self.window_n = 0
        self.last_val_step = -1
        self.bar: Any = None
        self.plot: _LivePlot | None = None
        self.plot_every = 10 * log_every
        self.t0 = time.perf_counter()

    # --- resume ---------------------------------------------------------------------

    def resume_from_checkpoint(self) -> None:
        """Load model, optimizer, scheduler, history and position from the checkpoint, if there is one."""
        if self.ckpt is None or not self.ckpt.exists():
            return
        payload = torch.load(self.ckpt, map_location="cpu", weights_only=False)
        self.model.load_state_dict(payload["model"])
        self.optimizer.load_state_dict(payload["optimizer"])
        if self.scheduler is not None and payload.get("scheduler") is not None:
            self.scheduler.load_state_dict(payload["scheduler"])
        self.history = History(**payload["history"])
        self.history.interrupted = False
        self.step, self.epoch = payload["step"], payload["epoch"]
        self.history.resumed_from = self.step
        self.window_loss, self.window_norm, self.window_n = payload["window"]
        self.last_val_step = self.history.val_step[-1] if self.history.val_step else -1
        self.payload = payload

    def done(self, epochs: int | None, steps: int | None) -> bool:
        return (steps is not None and self.step >= steps) or (epochs is not None and self.epoch >= epochs)

    def epoch_batches(self, loader: Any) -> Iterator:
        """An iterator over this epoch's batches. A fresh epoch records the RNG states that decide its
        order (for a checkpoint inside it); resuming inside an epoch replays that order and skips the
        batches already trained on, and dropout etc. continue from the saved RNG state."""
        set_epoch = getattr(getattr(loader, "sampler", None), "set_epoch", None)
        if set_epoch is not None:  # DistributedSampler: a new shuffle every epoch
            set_epoch(self.epoch)
        payload, self.payload = self.payload, None
        if payload is not None and payload["epoch_state"] is not None:
            self.epoch_state = payload["epoch_state"]
            _restore_epoch_state(loader, self.epoch_state)
            it = iter(loader)
            for _ in range(payload["batch_in_epoch"]):
                next(it)
            self.batch_in_epoch = payload["batch_in_epoch"]
            _set_rng_state(payload["rng"])
            return it
        if payload is not None:
            _set_rng_state(payload["rng"])
        self.epoch_state = _epoch_state(loader)
        self.batch_in_epoch = 0
        return iter(loader)

    # --- after each step and each epoch -----------------------------------------------

    def after_step(self, loss: torch.Tensor, norm: torch.Tensor | float) -> None:
        """Count the step, add it to the loss window; log, validate, plot and checkpoint when due."""
        self.step += 1
        self.batch_in_epoch += 1
        self.window_loss = self.window_loss + loss.detach().float()
        self.window_norm = self.window_norm + norm
        self.window_n += 1
        if self.on_step is not None:
            self.on_step(self.step, float(loss.detach()))
        if self.bar is not None:
            self.bar.update(1)
        if self.window_n == self.log_every:
            self.log_window()
            if self.bar is not None:
                self.bar.set_postfix(loss=f"{self.history.train_loss[-1]:.4f}")
        if self.val_every is not None and self.step % self.val_every == 0:
            self.validate()
        if self.plot is not None and self.step % self.plot_every == 0:
            self.plot.update(self.history)
        self.history.steps_done = self.step
        if self.checkpoint_every is not None and self.step % self.checkpoint_every == 0:
            self.save_checkpoint()

    def end_epoch(self) -> None:
        if self.batch_in_epoch == 0:
            raise ValueError("the train loader yielded no batches")
        self.epoch += 1
        self.history.epochs_done = self.epoch
        self.epoch_state, self.batch_in_epoch = None, 0
        self.validate()

    def log_window(self) -> None:
        """Append the mean loss (and gradient norm) of the window to the history; start a new window."""
        mean = float(self.window_loss) / self.window_n
        if not math.isfinite(mean):
            raise FloatingPointError(f"the training loss became {mean} before step {self.step}: "
                                     "lower the learning rate or clip gradients (clip_grad_norm=...)")
        self.history.step.append(self.step)
        self.history.train_loss.append(mean)
        self.history.grad_norm.append(float(self.window_norm) / self.window_n)
        self.window_loss, self.window_norm, self.window_n = 0.0, 0.0, 0

    def validate(self) -> None:
        """Validation loss at this step (once per step), without touching the training run's randomness."""
        if self.val_loader is None or self.last_val_step == self.step:
            return
        state = _rng_state()
        self.history.val_step.append(self.step)
        self.history.val_loss.append(evaluate_loss(self.model, self.loss_fn, self.val_loader, self.device,
                                                   self.amp))
        _set_rng_state(state)
        self.last_val_step = self.step
        if self.plot is not None:
            self.plot.update(self.history)

    def save_checkpoint(self) -> None:
        """Everything exact resume needs, written atomically (an interrupt never leaves half a file)."""
        if self.ckpt is None or not self.main:
            return
        atomic_save({
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch,
            "epoch_state": self.epoch_state, "rng": _rng_state(), "history": self.history.as_dict(),
            "window": (float(self.window_loss), float(self.window_norm), self.window_n),
        }, self.ckpt)

    # --- the end ----------------------------------------------------------------------

    def finish(self) -> None:
        """Last validation and checkpoint, then the partial window (logged after the checkpoint, so a
        resumed run logs exactly as one run would). Under torchrun, every process waits for the checkpoint."""
        self.validate()
        self.history.steps_done = self.step
        self.save_checkpoint()
        if self.window_n:
            self.log_window()
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.barrier()

    def interrupted(self) -> None:
        self.history.interrupted = True
        self.history.steps_done = self.step

    # --- progress bar and live plot ---------------------------------------------------------

    def open_display(self, total: int | None, progress: str | bool, live_plot: str | bool,
                     plot_every: int | None) -> None:
        show_bar = os.environ.get("COURSE_PROGRESS", "1") != "0" if progress == "auto" else bool(progress)
        if show_bar and self.main:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=self.step, desc="training", unit="step", leave=True)
        if _wants(live_plot, "COURSE_LIVE_PLOT") and self.main:
            self.plot = _LivePlot()
        self.plot_every = plot_every or self.plot_every
        self.t0 = time.perf_counter()

    def close_display(self) -> None:
        self.history.seconds = time.perf_counter() - self.t0
        if self.bar is not None:
            self.bar.close()
        if self.plot is not None:
            self.plot.update(self.history)
