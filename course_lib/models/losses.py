"""Losses over padded batches, and the ``loss_fn`` s of :func:`course_lib.train.fit` for the sequence tasks.

- :func:`masked_mean`, :func:`masked_cross_entropy`: averages over the real tokens only (a padded
  position never enters, even if it holds NaN);
- :func:`classification_loss` (many-to-one) and :func:`tagging_loss` (many-to-many): ``loss_fn(model,
  batch)`` for the batch dicts of :func:`course_lib.data.batching.make_collate` and any sequence model
  with ``forward(tokens, mask)``.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data.masks import check_mask

__all__ = ["masked_mean", "masked_cross_entropy", "classification_loss", "tagging_loss"]


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
                         reduction: str = "mean") -> torch.Tensor:
    """Cross-entropy of every real token, averaged over real tokens (not over the padded tensor).

    Args:
        logits: ``(batch, time, V)`` unnormalised scores o_t.
        targets: ``(batch, time)`` long, the correct ids (anything at padded positions).
        mask: ``(batch, time)`` bool, True on real tokens.
        reduction: ``"mean"`` (over real tokens) or ``"sum"``.

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
    if reduction == "sum":
        return torch.where(mask, per_token, torch.zeros_like(per_token)).sum()
    return masked_mean(per_token, mask)


def classification_loss(model: nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, int]:
    """For :func:`course_lib.train.fit`: mean cross-entropy over the sequences of the batch.

    ``model(batch["tokens"], batch["mask"]) -> (batch, n_classes)``; ``batch["labels"]: (batch,)``."""
    logits = model(batch["tokens"], batch["mask"])
    return F.cross_entropy(logits, batch["labels"]), len(batch["labels"])


def tagging_loss(model: nn.Module, batch: dict[str, Any]) -> tuple[torch.Tensor, int]:
    """For :func:`course_lib.train.fit`: cross-entropy averaged over real tokens only.

    ``model(batch["tokens"], batch["mask"]) -> (batch, time, n_tags)``; ``batch["labels"]: (batch, time)``.
    Returns ``(mean loss, number of real tokens)``."""
    mask = batch["mask"]
    logits = model(batch["tokens"], mask)
    return masked_cross_entropy(logits, batch["labels"], mask), int(mask.sum())
