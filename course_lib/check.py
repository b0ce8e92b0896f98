"""``compare()``: the one check every student-facing test uses.

It prints one readable line -- exact / close / max abs diff / shape mismatch --
and raises ``AssertionError`` with that same line when the values disagree.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["compare", "describe_difference"]


def _to_array(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype == torch.bfloat16:
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def describe_difference(got: Any, expected: Any, atol: float = 1e-6, rtol: float = 1e-5) -> tuple[bool, str]:
    """Compare two array-likes; return ``(ok, message)`` without raising.

    Shapes: ``got`` and ``expected`` must have the same shape (any shape).
    """
    if got is None:
        return False, "got None (did you forget to `return` the result?)"
    try:
        g, e = _to_array(got), _to_array(expected)
    except Exception as exc:  # noqa: BLE001 - report anything unconvertible
        return False, f"could not read the value as an array: {type(got).__name__} ({exc})"
    if g.shape != e.shape:
        return False, f"shape mismatch: got {tuple(g.shape)}, expected {tuple(e.shape)}"
    if g.size == 0:
        return True, f"exact (empty, shape {tuple(g.shape)})"
    if g.dtype.kind in "biuUSO" or e.dtype.kind in "biuUSO":
        if np.array_equal(g, e):
            return True, f"exact (shape {tuple(g.shape)})"
        wrong = int(np.sum(g != e))
        return False, f"not equal: {wrong} of {g.size} entries differ (shape {tuple(g.shape)})"
    g64, e64 = g.astype(np.float64), e.astype(np.float64)
    if np.isnan(g64).any() and not np.isnan(e64).any():
        return False, f"got NaN in {int(np.isnan(g64).sum())} of {g.size} entries (shape {tuple(g.shape)})"
    if np.array_equal(g64, e64, equal_nan=True):
        return True, f"exact (shape {tuple(g.shape)})"
    diff = np.abs(g64 - e64)
    diff = np.where(np.isnan(diff), 0.0, diff)
    max_diff = float(diff.max())
    if np.allclose(g64, e64, atol=atol, rtol=rtol, equal_nan=True):
        return True, f"close: max abs diff {max_diff:.3g} (atol {atol:g}, rtol {rtol:g}, shape {tuple(g.shape)})"
    return False, f"NOT close: max abs diff {max_diff:.3g} (atol {atol:g}, rtol {rtol:g}, shape {tuple(g.shape)})"


def compare(got: Any, expected: Any, name: str = "value", atol: float = 1e-6, rtol: float = 1e-5,
            quiet: bool = False) -> str:
    """Check a student's value against a reference and print one line.

    Args:
        got: the student's value (tensor, array, number, list).
        expected: the reference value, same shape.
        name: what is being checked, shown first on the line.
        atol, rtol: tolerances for "close" (as in ``torch.allclose``).
        quiet: do not print (the line is still returned / raised).

    Returns:
        The line, e.g. ``"one_hot: exact (shape (3, 5))"``.

    Raises:
        AssertionError: with that line, if the values are not exact or close.
    """
    ok, msg = describe_difference(got, expected, atol=atol, rtol=rtol)
    line = f"{name}: {msg}"
    if not quiet:
        print(("✓ " if ok else "✗ ") + line)
    if not ok:
        raise AssertionError(line)
    return line
