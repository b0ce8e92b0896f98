"""Device choice, reproducibility and a one-line environment report.

Nothing here keeps global state of its own: every function reads or sets
process-wide settings (torch's RNGs, thread count) explicitly when called,
so code using it also runs unchanged under ``torchrun``. :func:`single_thread_env` (the
one-thread environment variables) lives in the torch-free :mod:`course_lib.threads`.
"""
from __future__ import annotations

import multiprocessing
import os
import platform
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

import numpy as np
import torch

from course_lib.threads import single_thread_env

__all__ = ["choose_device", "seed_everything", "env_report", "autocast_dtype", "set_threads", "map_in_processes",
           "single_thread_env",
           "is_main_process"]


def choose_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: CUDA, then Apple MPS, then CPU.

    Args:
        prefer: force a device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``).
            The environment variable ``COURSE_DEVICE`` does the same without
            editing a notebook.

    Raises:
        ValueError: if the preferred device is not available here.
    """
    prefer = prefer or os.environ.get("COURSE_DEVICE") or None
    if prefer is not None:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {prefer!r} was asked for, but CUDA is not available; use 'cpu'")
        if dev.type == "mps" and not _mps_available():
            raise ValueError(f"device {prefer!r} was asked for, but MPS is not available; use 'cpu'")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """The mixed-precision dtype to use on ``device``: bf16 on CUDA if supported, else None."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


def seed_everything(seed: int = 0, deterministic: bool = False) -> torch.Generator:
    """Seed Python's, NumPy's and torch's global RNGs (CPU and CUDA).

    Args:
        seed: the seed.
        deterministic: also ask torch for deterministic kernels (slower on GPU).

    Returns:
        A fresh ``torch.Generator`` seeded with ``seed``, for library functions
        that take an explicit generator.
    """
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def set_threads(n: int | None = None) -> int:
    """Set torch's intra-op thread count (default: ``OMP_NUM_THREADS`` or leave as is)."""
    if n is None:
        env = os.environ.get("OMP_NUM_THREADS")
        if env is None:
            return torch.get_num_threads()
        n = int(env)
    if n < 1:
        raise ValueError(f"thread count must be >= 1, got {n}")
    torch.set_num_threads(n)
    return n


J = TypeVar("J")
R = TypeVar("R")


def _one_thread() -> None:
    torch.set_num_threads(1)


def map_in_processes(fn: Callable[[J], R], jobs: Sequence[J], workers: int) -> list[R]:
    """``[fn(job) for job in jobs]``, computed ``workers`` at a time in new processes with one CPU thread each.

    For training several small models at once on a CPU: one small recurrent model cannot keep two cores
    busy, so two at once take about as long as one. ``fn`` must be importable (defined in a module, not
    in a notebook), and ``jobs`` picklable; the processes are *spawned*, so they inherit the environment
    (e.g. ``COURSE_CACHE``) but nothing else of this process.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    if not jobs:
        return []
    with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=multiprocessing.get_context("spawn"),
                             initializer=_one_thread) as pool:
        return list(pool.map(fn, jobs))


def is_main_process() -> bool:
    """True unless this is a ``torchrun`` worker other than rank 0 (only the main process writes files
    and shows progress)."""
    dist = torch.distributed
    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def env_report(device: torch.device | None = None) -> str:
    """One line describing the environment, for the top of every notebook.

    Example: ``torch 2.13.0+cpu | device cpu | threads 1 | Python 3.11.7 | bf16 autocast off``
    """
    device = device or choose_device()
    amp = autocast_dtype(device)
    parts = [
        f"torch {torch.__version__}",
        f"device {device}",
        f"threads {torch.get_num_threads()}",
        f"Python {platform.python_version()}",
        f"bf16 autocast {'on' if amp is not None else 'off'}",
    ]
    if device.type == "cuda":
        parts.insert(2, torch.cuda.get_device_name(device))
    return " | ".join(parts)
