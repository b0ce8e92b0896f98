"""Scores of predicted labels against true ones: accuracy, and precision / recall / F1 of one class.

One F1 for the whole course (lectures 4, 5 and 7 report it): ``F1 = 2 TP / (2 TP + FP + FN)``,
the harmonic mean of precision and recall written with counts, so it is exact and 0 when the class
is never predicted and never true.
"""
from __future__ import annotations

import torch

__all__ = ["binary_scores"]


def binary_scores(pred: torch.Tensor, true: torch.Tensor, positive: int = 1) -> dict[str, float]:
    """Accuracy, and precision / recall / F1 of the class ``positive``.

    Args:
        pred: predicted labels, any shape (e.g. ``(n,)`` from :func:`course_lib.models.predict.predict`).
        true: the true labels, same shape.
        positive: the class the precision, recall and F1 are about (e.g. "sentence end" = 1).

    Returns:
        ``{"accuracy", "precision", "recall", "f1"}`` as floats; precision (recall) is 0 when nothing
        is predicted (true) positive.
    """
    if pred.shape != true.shape:
        raise ValueError(f"pred and true must have the same shape, got {tuple(pred.shape)} and {tuple(true.shape)}")
    if pred.numel() == 0:
        raise ValueError("binary_scores got no predictions (empty tensors)")
    tp = int(((pred == positive) & (true == positive)).sum())
    fp = int(((pred == positive) & (true != positive)).sum())
    fn = int(((pred != positive) & (true == positive)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return {"accuracy": int((pred == true).sum()) / pred.numel(), "precision": precision, "recall": recall,
            "f1": f1}
