"""Sequence classifiers (many-to-one) and taggers (many-to-many) over padded batches, and the
bag-of-embeddings baselines they are compared with (lecture 4).

Every sequence model of the course takes ``forward(tokens: (batch, time) long, mask: (batch, time)
bool)`` (True on real tokens, right-padded); the RNNs here skip padding with packed sequences
(:func:`course_lib.models.deep.run_packed`), so a batch gives the same answers as its sequences one
at a time. Batches are the dicts made by :func:`course_lib.data.batching.make_collate` (``tokens``,
``lengths``, ``mask``, ``labels``).

Training and measuring them: the ``loss_fn`` s :func:`~course_lib.models.losses.classification_loss`
and :func:`~course_lib.models.losses.tagging_loss`, :func:`~course_lib.models.predict.predict` and
:func:`~course_lib.metrics.binary_scores` (all importable from here too, as lecture 4 does).
"""
from __future__ import annotations

import torch
from torch import nn

from course_lib.data.masks import check_mask
from course_lib.metrics import binary_scores
from course_lib.models.deep import run_packed
from course_lib.models.losses import classification_loss, tagging_loss
from course_lib.models.predict import predict

__all__ = ["RNNClassifier", "RNNTagger", "BagOfEmbeddings", "classification_loss", "tagging_loss",
           "predict", "binary_scores"]


class _EmbeddedRNN(nn.Module):
    """Embedding (pad id 0: a zero, fixed vector) -> one Elman ``nn.RNN`` -> a linear layer ``c + V h``."""

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, n_classes: int = 2):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_size, padding_idx=0)
        self.rnn = nn.RNN(embed_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, n_classes)


class RNNClassifier(_EmbeddedRNN):
    """Many-to-one: embed, run an Elman RNN, classify the final state ``h_T`` of each sequence.

    Args:
        vocab_size, embed_size, hidden_size: sizes (pad id 0 has a zero, fixed embedding).
        n_classes: number of labels.
    """

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``tokens: (batch, time)``, ``mask: (batch, time)`` bool -> logits ``(batch, n_classes)``."""
        _, h = run_packed(self.rnn, self.embed(tokens), mask, return_last=True)
        return self.out(h[-1])


class RNNTagger(_EmbeddedRNN):
    """Many-to-many: one label per token from the RNN state at that token.

    Args:
        vocab_size, embed_size, hidden_size: sizes.
        n_classes: number of tags.
    """

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``tokens: (batch, time)``, ``mask: (batch, time)`` bool -> logits ``(batch, time, n_classes)``."""
        return self.out(run_packed(self.rnn, self.embed(tokens), mask))


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

    def forward(self, tokens: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``tokens, mask: (batch, time)`` -> ``(batch, n_classes)`` (``per_token``: ``(batch, time, n_classes)``)."""
        check_mask(mask, tuple(tokens.shape), "tokens")
        e = self.embed(tokens)
        if self.per_token:
            return self.out(e)
        lengths = mask.sum(1)
        mean = (e * mask.unsqueeze(-1)).sum(1) / lengths.clamp_min(1).unsqueeze(1).to(e.dtype)
        return self.out(mean)
