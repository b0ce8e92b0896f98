"""Losses over padded batches, and the ``loss_fn`` s of :func:`course_lib.train.fit` for the sequence tasks.

- :func:`masked_mean`, :func:`masked_cross_entropy`: averages over the real tokens only (a padded
  position never enters, even if it holds NaN), optionally with a weight per class;
- :func:`balanced_class_weight`: class weights that make a rare class count more (lectures 5 and 7
  weight the rare "sentence end" tag with it);
- :func:`classification_loss` (many-to-one) and :func:`tagging_loss` (many-to-many): ``loss_fn(model,
  batch)`` for the batch dicts of :func:`course_lib.data.batching.make_collate` and any sequence model
  with ``forward(tokens, mask)``. ``tagging_loss(model, batch, class_weight=w)`` (with
  ``functools.partial``) is the one loss of the sentence-boundary taggers of lectures 5 and 7.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data.masks import check_mask

__all__ = ["masked_mean", "masked_cross_entropy", "balanced_class_weight", "classification_loss",
           "tagging_loss"]


def _check_real_tokens(mask: torch.Tensor) -> None:
    if not mask.any():
        raise ValueError("the mask has no real tokens (all padding): the masked mean is undefined")


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``values`` over the real tokens only.

    Args:
        values: ``(batch, time)`` floats (e.g. per-token losses).
        mask: ``(batch, time)`` bool, True on real tokens.

    Returns:
        A scalar: ``sum(values[mask]) / mask.sum()``. Padding positions never enter,
        even if they hold NaN or inf.

    Raises:
        ValueError: if the mask has no True entry (an all-padding batch).
    """
    if values.dim() != 2:
        raise ValueError(f"values must be (batch, time), got shape {tuple(values.shape)}")
    check_mask(mask, tuple(values.shape), "values")
    _check_real_tokens(mask)
    zeros = torch.zeros((), dtype=values.dtype, device=values.device)
    return torch.where(mask, values, zeros).sum() / mask.sum()


def masked_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor,
                         reduction: str = "mean", class_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy of every real token, averaged over real tokens (not over the padded tensor).

    Args:
        logits: ``(batch, time, V)`` unnormalised scores o_t.
        targets: ``(batch, time)`` long, the correct ids (anything at padded positions).
        mask: ``(batch, time)`` bool, True on real tokens.
        reduction: ``"mean"`` (over real tokens) or ``"sum"``.
        class_weight: optional ``(V,)`` non-negative weights: a token whose target is ``k`` counts
            ``class_weight[k]`` times. The mean still divides by the number of real tokens (not by
            the sum of their weights, as ``F.cross_entropy(weight=...)`` does), so a weight of 20
            makes one rare token count like 20 common ones.

    Returns:
        A scalar tensor.

    Raises:
        ValueError: if shapes disagree or the mask has no real token.
    """
    if logits.dim() != 3:
        raise ValueError(f"logits must be (batch, time, V), got shape {tuple(logits.shape)}")
    if targets.shape != logits.shape[:2]:
        raise ValueError(f"targets must have shape {tuple(logits.shape[:2])} (batch, time), "
                         f"got {tuple(targets.shape)}")
    if targets.is_floating_point():
        raise TypeError(f"targets must be integer ids, got dtype {targets.dtype}")
    check_mask(mask, tuple(targets.shape), "targets")
    _check_real_tokens(mask)
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    safe_targets = torch.where(mask, targets, torch.zeros_like(targets))  # padded targets may be anything
    per_token = F.cross_entropy(logits.flatten(0, 1), safe_targets.flatten(), reduction="none")
    per_token = per_token.view_as(targets.float())
    if class_weight is not None:
        if class_weight.shape != (logits.shape[-1],) or (class_weight < 0).any():
            raise ValueError(f"class_weight must be {logits.shape[-1]} non-negative weights (V,), "
                             f"got shape {tuple(class_weight.shape)}")
        per_token = per_token * class_weight.to(per_token)[safe_targets]
    if reduction == "sum":
        return torch.where(mask, per_token, torch.zeros_like(per_token)).sum()
    return masked_mean(per_token, mask)


def balanced_class_weight(labels: torch.Tensor, n_classes: int, power: float = 1.0) -> torch.Tensor:
    """Weights that make a rare class count more: ``(N_max / N_k) ** power`` for class ``k``.

    With ``power=1`` every class counts as much as the commonest one (e.g. ``[1, 20]`` when one
    token in 21 ends a sentence); ``power=0.5`` goes half-way on a log scale (``[1, 4.5]``), the
    compromise lectures 5 and 7 use: unweighted, a tagger rarely dares to predict the rare class
    (low recall); fully balanced, it predicts it far too often (low precision).

    Args:
        labels: integer labels, any shape (e.g. the tags of every real training token).
        n_classes: the number of classes ``V``.
        power: >= 0; 0 gives all ones (no weighting).

    Returns:
        ``(n_classes,)`` float, 1 for the commonest class.

    Raises:
        ValueError: if some class never occurs (its weight would be infinite) or a label is out of range.

    >>> balanced_class_weight(torch.tensor([0, 0, 0, 1]), 2).tolist()
    [1.0, 3.0]
    """
    if labels.is_floating_point():
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    flat = labels.flatten()
    if flat.numel() and (int(flat.min()) < 0 or int(flat.max()) >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got {int(flat.min())} .. {int(flat.max())}")
    if power < 0:
        raise ValueError(f"power must be >= 0, got {power}")
    counts = torch.bincount(flat, minlength=n_classes).float()
    if (counts == 0).any():
        raise ValueError(f"every class needs at least one label to be weighted, got counts {counts.long().tolist()}")
    return (counts.max() / counts) ** power


def classification_loss(model: nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, int]:
    """For :func:`course_lib.train.fit`: mean cross-entropy over the sequences of the batch.

    ``model(batch["tokens"], batch["mask"]) -> (batch, n_classes)``; ``batch["labels"]: (batch,)``."""
    logits = model(batch["tokens"], batch["mask"])
    return F.cross_entropy(logits, batch["labels"]), len(batch["labels"])


def tagging_loss(model: nn.Module, batch: dict[str, Any], class_weight: torch.Tensor | None = None
                 ) -> tuple[torch.Tensor, int]:
    """For :func:`course_lib.train.fit`: cross-entropy averaged over real tokens only.

    ``model(batch["tokens"], batch["mask"]) -> (batch, time, n_tags)``; ``batch["labels"]: (batch, time)``;
    ``class_weight: (n_tags,)`` as in :func:`masked_cross_entropy` (pass it with ``functools.partial``).
    Returns ``(mean loss, number of real tokens)``."""
    mask = batch["mask"]
    logits = model(batch["tokens"], mask)
    return masked_cross_entropy(logits, batch["labels"], mask, class_weight=class_weight), int(mask.sum())
