"""What a classifier or tagger predicts over a loader: :func:`predict` (in eval mode, gradients off)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from course_lib.models.base import eval_mode

__all__ = ["predict"]


@torch.no_grad()
def predict(model: nn.Module, loader: Iterable[dict[str, Any]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted and true labels over a loader: ``(pred, true)``, both 1-D long.

    Args:
        model: ``forward(tokens, mask)`` -> ``(batch, n_classes)`` (a classifier) or
            ``(batch, time, n_classes)`` (a tagger).
        loader: batch dicts with ``tokens``, ``mask`` and ``labels``
            (:func:`course_lib.data.batching.make_collate`).

    Returns:
        The argmax predictions and the labels, concatenated over batches; for a tagger only the
        real tokens (``mask`` True), in reading order.
    """
    device = next(model.parameters()).device
    preds, trues = [], []
    with eval_mode(model):
        for batch in loader:
            logits = model(batch["tokens"].to(device), batch["mask"].to(device)).cpu()
            pred = logits.argmax(-1)
            if pred.dim() == 2:  # tagger: keep real tokens only
                preds.append(pred[batch["mask"]])
                trues.append(batch["labels"][batch["mask"]])
            else:
                preds.append(pred)
                trues.append(batch["labels"])
    return torch.cat(preds), torch.cat(trues)
