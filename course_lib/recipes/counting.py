"""Training the counting models of lecture 6 (and assignment 3's report): one run, and the experiment
over kinds and seeds that prints one line per run.

Two losses for :class:`~course_lib.models.counting.CountingModel` (``LOSSES``): ``"set"``, each
output says whether its symbol may come next (Gers & Schmidhuber's targets), and ``"next"``, the
softmax cross-entropy with the actual next symbol.
"""
from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from course_lib.formal_languages import allowed_next, check_language, counting_batch
from course_lib.models.counting import CountingModel, largest_correct_n
from course_lib.models.losses import masked_cross_entropy
from course_lib.train import fit

__all__ = ["CountingRun", "train_counting", "counting_experiment", "LOSSES"]


@dataclass
class CountingRun:
    """One trained model's result: ``largest_n`` is what :func:`largest_correct_n` measured."""

    kind: str
    num_letters: int
    seed: int
    largest_n: int
    final_loss: float
    seconds: float
    model: CountingModel | None = None


def _training_batches(num_letters: int, train_max_n: int, batch_size: int, n_batches: int, seed: int
                      ) -> list[dict[str, torch.Tensor]]:
    rng = random.Random(seed)
    return [counting_batch([rng.randint(1, train_max_n) for _ in range(batch_size)], num_letters)
            for _ in range(n_batches)]


def _ce_loss(model: CountingModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    logits = model(batch["inputs"], batch["mask"])
    return masked_cross_entropy(logits, batch["targets"], batch["mask"]), batch["mask"].sum()


def _set_loss(model: CountingModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary cross-entropy of each symbol being a possible next symbol (Gers & Schmidhuber's targets)."""
    logits = model(batch["inputs"], batch["mask"])
    target = allowed_next(batch["inputs"], batch["targets"])
    per = F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)
    mask = batch["mask"]
    return (per * mask).sum() / mask.sum(), mask.sum()


LOSSES = {"next": _ce_loss, "set": _set_loss}


def train_counting(kind: str, num_letters: int = 2, seed: int = 0, hidden_size: int = 8, steps: int = 1000,
                   train_max_n: int = 10, batch_size: int = 32, lr: float = 0.05, max_n: int = 100,
                   clip_grad_norm: float = 1.0, keep_model: bool = True, loss: str = "set",
                   input_noise: float = 0.2, forget_bias: float | None = 2.0,
                   update_bias: float | None = None) -> CountingRun:
    """Train one model on ``n = 1 .. train_max_n`` (through ``course_lib.train.fit``, fixed ``steps``) and
    measure how far it generalises (``largest_correct_n`` up to ``max_n``). CPU, deterministic per seed.

    ``loss="set"`` (default) trains each output ``sigmoid(o_t)`` to say whether a symbol may come
    next (while reading a's both ``a`` and ``b`` may); ``loss="next"`` is the usual softmax
    cross-entropy with the actual next symbol. Either way, predictions are the argmax of ``o_t``.
    The learning rate decays linearly to 0 over ``steps``. ``input_noise`` (training only) and
    ``forget_bias`` (LSTM only; ignored for the other kinds, which have no forget gate) are passed to
    :class:`CountingModel`; ``input_noise=0, forget_bias=None`` trains without either. ``update_bias``
    (GRU only, ignored for the others) is the GRU's analogue of the forget bias, its update gate's
    initial bias (None: PyTorch's initialisation)."""
    check_language(train_max_n, num_letters)
    torch.manual_seed(seed)
    model = CountingModel(kind, hidden_size, input_noise=input_noise,
                          forget_bias=forget_bias if kind == "lstm" else None,
                          update_bias=update_bias if kind == "gru" else None)
    batches = _training_batches(num_letters, train_max_n, batch_size, min(steps, 200), seed)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: max(0.0, 1.0 - step / steps))
    t0 = time.perf_counter()
    hist = fit(model, LOSSES[loss], batches, opt, steps=steps, scheduler=sched, clip_grad_norm=clip_grad_norm,
               device="cpu",
               amp=False, log_every=max(1, steps // 10), progress=False, live_plot=False)
    largest = largest_correct_n(model, num_letters, max_n=max_n)
    return CountingRun(kind, num_letters, seed, largest, hist.last_train_loss, time.perf_counter() - t0,
                       model if keep_model else None)


def counting_experiment(kinds: Sequence[str] = ("elman", "gru", "lstm"), num_letters: int = 2,
                        seeds: Sequence[int] = (0, 1, 2, 3, 4), verbose: bool = True, **train_kwargs: Any
                        ) -> list[CountingRun]:
    """:func:`train_counting` for every kind and seed; prints one line per run when ``verbose``."""
    runs = []
    for kind in kinds:
        for seed in seeds:
            run = train_counting(kind, num_letters, seed, **train_kwargs)
            runs.append(run)
            if verbose:
                print(f"{'a^n b^n' + (' c^n' if num_letters == 3 else ''):12s} {kind:6s} seed {seed}: "
                      f"all correct up to n = {run.largest_n:4d}  (loss {run.final_loss:.3f}, {run.seconds:.1f} s)")
    return runs
