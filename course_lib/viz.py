"""The plots the lectures share. Every function returns the matplotlib ``Axes`` it drew on,
so a notebook can add to it or save it (``ax.figure.savefig("plot.png")``)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any


import numpy as np
import torch

__all__ = ["plot_history", "plot_embeddings_2d", "heatmap", "project_2d", "plot_sequence_shapes"]


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


def plot_sequence_shapes(axes: Any = None) -> Any:
    """Four small diagrams: one-to-one, one-to-many, many-to-one, many-to-many.

    Inputs are drawn at the bottom (red), the recurrent states in the middle (green, linked
    left to right), outputs on top (blue). Returns the array of four ``Axes``.
    """
    import matplotlib.pyplot as plt

    shapes = [  # (title, example, inputs at steps, outputs at steps, steps)
        ("one-to-one", "image -> class\n(no recurrence)", [0], [0], 1),
        ("one-to-many", "image -> caption", [0], [0, 1, 2, 3], 4),
        ("many-to-one", "sentence -> sentiment", [0, 1, 2, 3], [3], 4),
        ("many-to-many", "tagging: one label per word", [0, 1, 2, 3], [0, 1, 2, 3], 4),
    ]
    if axes is None:
        _, axes = plt.subplots(1, 4, figsize=(13, 3.4))
    for ax, (title, example, ins, outs, n) in zip(axes, shapes):
        for t in range(n):
            ax.add_patch(plt.Rectangle((t - 0.3, 0.7), 0.6, 0.6, color="tab:green", alpha=0.8))
            if t > 0:
                ax.annotate("", xy=(t - 0.3, 1.0), xytext=(t - 0.7, 1.0),
                            arrowprops=dict(arrowstyle="->", lw=1.5))
        for t in ins:
            ax.add_patch(plt.Rectangle((t - 0.3, -0.3), 0.6, 0.5, color="tab:red", alpha=0.8))
            ax.annotate("", xy=(t, 0.7), xytext=(t, 0.2), arrowprops=dict(arrowstyle="->", lw=1.5))
        for t in outs:
            ax.add_patch(plt.Rectangle((t - 0.3, 1.8), 0.6, 0.5, color="tab:blue", alpha=0.8))
            ax.annotate("", xy=(t, 1.8), xytext=(t, 1.3), arrowprops=dict(arrowstyle="->", lw=1.5))
        ax.set_xlim(-0.7, 3.7)
        ax.set_ylim(-0.9, 2.6)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(title, fontsize=11)
        ax.text(1.5, -0.75, example, ha="center", va="center", fontsize=9)
    axes[0].text(-0.6, -0.05, "x", fontsize=10, color="tab:red", ha="right")
    axes[0].text(-0.6, 1.0, "h", fontsize=10, color="tab:green", ha="right")
    axes[0].text(-0.6, 2.05, "y", fontsize=10, color="tab:blue", ha="right")
    return axes
