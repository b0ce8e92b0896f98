"""The plots the lectures share. Every function returns the matplotlib ``Axes`` it drew on,
so a notebook can add to it or save it (``ax.figure.savefig("plot.png")``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


import numpy as np
import torch

__all__ = ["plot_history", "plot_embeddings_2d", "heatmap", "project_2d"]


def _axes(ax: Any = None, figsize: tuple[float, float] = (6, 4)) -> Any:
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize)
    return ax


def _np(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().float().cpu().numpy()
    return np.asarray(x)


def plot_history(history: Any, ax: Any = None, title: str | None = None, label: str = "",
                 log_y: bool = False) -> Any:
    """Training (and validation) loss against optimizer step, from a ``train.History``
    or a dict with the same keys (``step``, ``train_loss``, ``val_step``, ``val_loss``)."""
    h = history.as_dict() if hasattr(history, "as_dict") else dict(history)
    ax = _axes(ax)
    prefix = f"{label} " if label else ""
    if h.get("step"):
        ax.plot(h["step"], h["train_loss"], label=f"{prefix}train")
    if h.get("val_step"):
        ax.plot(h["val_step"], h["val_loss"], "o-", label=f"{prefix}validation")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss")
    if log_y:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def project_2d(vectors: Any, method: str = "pca") -> np.ndarray:
    """Project ``vectors: (n, dim)`` to ``(n, 2)`` with PCA (centred SVD).

    Raises:
        ValueError: if ``vectors`` is not 2-D with at least two rows.
    """
    x = _np(vectors).astype(np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"project_2d expects vectors of shape (n >= 2, dim), got {x.shape}")
    if method != "pca":
        raise ValueError(f"only method='pca' is supported, got {method!r}")
    x = x - x.mean(axis=0, keepdims=True)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    out = u[:, :2] * s[:2]
    if out.shape[1] < 2:
        out = np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    return out


def plot_embeddings_2d(vectors: Any, labels: Sequence[str], ax: Any = None, groups: Sequence[Any] | None = None,
                       title: str | None = None) -> Any:
    """Scatter ``vectors: (n, dim)`` in 2-D (PCA), each point labelled; optional colour ``groups``."""
    if len(labels) != len(vectors):
        raise ValueError(f"got {len(vectors)} vectors but {len(labels)} labels")
    xy = project_2d(vectors)
    ax = _axes(ax, (7, 6))
    if groups is None:
        ax.scatter(xy[:, 0], xy[:, 1], s=18)
    else:
        for gname in dict.fromkeys(groups):
            idx = [i for i, g in enumerate(groups) if g == gname]
            ax.scatter(xy[idx, 0], xy[idx, 1], s=18, label=str(gname))
        ax.legend(fontsize=8)
    for (x, y), lab in zip(xy, labels):
        ax.annotate(lab, (x, y), fontsize=8, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    return ax


def heatmap(matrix: Any, row_labels: Sequence[str] | None = None, col_labels: Sequence[str] | None = None,
            ax: Any = None, title: str | None = None, cmap: str = "viridis", annotate: bool | None = None,
            fmt: str = ".2f", vmin: float | None = None, vmax: float | None = None) -> Any:
    """Draw ``matrix: (rows, cols)`` as a heatmap with a colour bar; numbers in cells when small."""
    m = _np(matrix)
    if m.ndim != 2:
        raise ValueError(f"heatmap expects a 2-D matrix, got shape {m.shape}")
    ax = _axes(ax, (max(4, 0.5 * m.shape[1] + 2), max(3, 0.45 * m.shape[0] + 1.5)))
    im = ax.imshow(m, cmap=cmap, aspect="auto", vmin=vmin, vmax=vmax)
    ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if row_labels is not None:
        ax.set_yticks(range(m.shape[0]), labels=list(row_labels))
    if col_labels is not None:
        ax.set_xticks(range(m.shape[1]), labels=list(col_labels), rotation=45, ha="right")
    if annotate is None:
        annotate = m.size <= 150
    if annotate:
        lo, hi = np.nanmin(m), np.nanmax(m)
        mid = (lo + hi) / 2
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                ax.text(j, i, format(m[i, j], fmt), ha="center", va="center", fontsize=7,
                        color="white" if m[i, j] < mid else "black")
    if title:
        ax.set_title(title)
    return ax
