"""One thread per process: the environment variables that pin the numeric libraries to one thread.

Tests, grading and benchmarks run several processes side by side on a few cores; each must use one
thread, or they fight over the cores and every timing and time limit goes wrong. The variables are
read when a library starts, so they go into the environment of the process *before* it imports
torch / NumPy (a child's environment, or ``os.environ`` at the very start).

This module imports nothing heavy, so ``kit.py`` can use it before the virtual environment exists.
"""
from __future__ import annotations

__all__ = ["THREAD_VARS", "single_thread_env"]

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def single_thread_env(headless: bool = False) -> dict[str, str]:
    """The variables to set for a one-thread process: ``{"OMP_NUM_THREADS": "1", ...}``.

    Args:
        headless: also turn off ``fit``'s progress bar and live plot (``COURSE_PROGRESS=0``,
            ``COURSE_LIVE_PLOT=0``), as the test-suite does.

    Use as ``env = {**os.environ, **single_thread_env()}`` for a child process, or
    ``os.environ.update(single_thread_env())`` first thing in a process.
    """
    env = dict.fromkeys(THREAD_VARS, "1")
    if headless:
        env.update(COURSE_PROGRESS="0", COURSE_LIVE_PLOT="0")
    return env
