"""Sequence classifiers (many-to-one) and taggers (many-to-many) over padded batches, and the
bag-of-embeddings baselines they are compared with.

Every model here takes ``forward(tokens: (batch, time) long, lengths: (batch,) long)``; padding
(id 0) is skipped with ``pack_padded_sequence``, so a batch gives the same answers as its
sequences one at a time. Batches are the dicts made by
:func:`course_lib.data.batching.make_collate` (``tokens``, ``lengths``, ``mask``, ``labels``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from course_lib.data.batching import masked_cross_entropy
from course_lib.models.base import eval_mode

__all__ = ["RNNClassifier", "RNNTagger", "BagOfEmbeddings", "classification_loss", "tagging_loss",
           "predict", "binary_scores"]


def _run_packed(rnn: nn.RNNBase, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``rnn`` (batch_first) over ``x: (batch, time, E)`` skipping padding.

    Returns ``(outputs (batch, time, H) with zeros at padding, h_last (layers * dirs, batch, H))``.
    """
    if (lengths < 1).any():
        raise ValueError("every sequence needs at least one token (got a length of 0)")
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, h = rnn(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    return out, h


class RNNClassifier(nn.Module):
    """Many-to-one: embed, run an Elman RNN, classify the final state ``h_T`` of each sequence.

    Args:
        vocab_size, embed_size, hidden_size: sizes (pad id 0 has a zero, fixed embedding).
        n_classes: number of labels.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, n_classes: int = 2):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=0)
        self.rnn = nn.RNN(embed_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, n_classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``tokens: (batch, time)``, ``lengths: (batch,)`` -> logits ``(batch, n_classes)``."""
        _, h = _run_packed(self.rnn, self.embed(tokens), lengths)
        return self.out(h[-1])


class RNNTagger(nn.Module):
    """Many-to-many: one label per token from the RNN state at that token.

    Args:
        vocab_size, embed_size, hidden_size: sizes.
        n_classes: number of tags.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, n_classes: int = 2):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=0)
        self.rnn = nn.RNN(embed_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, n_classes)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """``tokens: (batch, time)``, ``lengths: (batch,)`` -> logits ``(batch, time, n_classes)``."""
        out, _ = _run_packed(self.rnn, self.embed(tokens), lengths)
        return self.out(out)


class BagOfEmbeddings(nn.Module):
    """The order-blind baseline.

    ``per_token=False`` (many-to-one): the mean of the real tokens' embeddings, then a linear layer.
    ``per_token=True`` (many-to-many): each token is classified from its own embedding alone.
    """

    def __init__(self, vocab_size: int, embed_size: int, n_classes: int = 2, per_token: bool = False):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=0)
        self.out = nn.Linear(embed_size, n_classes)
        self.per_token = per_token

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """-> ``(batch, n_classes)``, or ``(batch, time, n_classes)`` with ``per_token``."""
        e = self.embed(tokens)
        if self.per_token:
            return self.out(e)
        mask = (torch.arange(tokens.shape[1], device=tokens.device)[None, :] < lengths[:, None]).unsqueeze(-1)
        mean = (e * mask).sum(1) / lengths.clamp_min(1).unsqueeze(1).to(e.dtype)
        return self.out(mean)


def classification_loss(model: nn.Module, batch: dict) -> tuple[torch.Tensor, int]:
    """For :func:`course_lib.train.fit`: mean cross-entropy over the sequences of the batch."""
    logits = model(batch["tokens"], batch["lengths"])
    return F.cross_entropy(logits, batch["labels"]), len(batch["labels"])


def tagging_loss(model: nn.Module, batch: dict) -> tuple[torch.Tensor, int]:
    """For :func:`course_lib.train.fit`: cross-entropy averaged over real tokens only."""
    logits = model(batch["tokens"], batch["lengths"])
    mask = batch["mask"]
    return masked_cross_entropy(logits, batch["labels"], mask), int(mask.sum())


@torch.no_grad()
def predict(model: nn.Module, loader) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted and true labels over a loader: ``(pred, true)``, 1-D; for taggers, real tokens only."""
    device = next(model.parameters()).device
    preds, trues = [], []
    with eval_mode(model):
        for batch in loader:
            logits = model(batch["tokens"].to(device), batch["lengths"].to(device)).cpu()
            pred = logits.argmax(-1)
            if pred.dim() == 2:  # tagger: keep real tokens only
                preds.append(pred[batch["mask"]])
                trues.append(batch["labels"][batch["mask"]])
            else:
                preds.append(pred)
                trues.append(batch["labels"])
    return torch.cat(preds), torch.cat(trues)


def binary_scores(pred: torch.Tensor, true: torch.Tensor) -> dict[str, float]:
    """Accuracy, and precision / recall / F1 of class 1."""
    if pred.shape != true.shape:
        raise ValueError(f"pred and true must have the same shape, got {tuple(pred.shape)} and {tuple(true.shape)}")
    tp = int(((pred == 1) & (true == 1)).sum())
    fp = int(((pred == 1) & (true != 1)).sum())
    fn = int(((pred != 1) & (true == 1)).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": float((pred == true).float().mean()), "precision": precision, "recall": recall, "f1": f1}
