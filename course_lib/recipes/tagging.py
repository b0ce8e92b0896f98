"""Training and scoring the sentence-boundary taggers of lectures 5 and 7 -- one way for both.

Lecture 5 compares uni- and bidirectional RNN taggers; lecture 7 compares a frozen biLM with a
bidirectional RNN trained from scratch. Both go through this recipe, so their numbers mean the same:

- batches: :func:`tagging_loader` (length-bucketed, padded, with the mask; pad id 0);
- the loss: :func:`course_lib.models.losses.tagging_loss` with the class weights
  ``balanced_class_weight(training tags, power=0.5)`` (:func:`items_class_weight`): a sentence end,
  one token in about twenty, counts about 4.5 times as much as another token. (Measured for a
  1-layer Elman tagger, 1000 steps, test F1 uni / bi: unweighted 0.03 / 0.38, power 0.5
  0.21 / 0.41, fully balanced 0.20 / 0.35.)
- Adam, gradients clipped to norm 1, a fixed number of steps (:func:`fit_tagger`);
- the score: :func:`tagger_scores`, :func:`course_lib.metrics.binary_scores` (accuracy, and the
  precision / recall / F1 of "sentence end") over the real tokens of the test chunks.

:func:`train_tagger` builds a :class:`~course_lib.models.deep.SequenceTagger` and its vocabulary and
caches the trained model (:func:`course_lib.cache.cached`), keyed by the training text and every setting.
"""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from course_lib.cache import cached
from course_lib.data.batching import BucketBatchSampler, make_collate
from course_lib.data.vocab import Vocab
from course_lib.metrics import binary_scores
from course_lib.models.deep import SequenceTagger
from course_lib.models.losses import balanced_class_weight, tagging_loss
from course_lib.models.predict import predict
from course_lib.train import History, fit

__all__ = ["Item", "TaggerRun", "tagging_loader", "items_class_weight", "fit_tagger", "tagger_scores",
           "train_tagger", "n_params"]

Item = tuple[Sequence[Any], Sequence[int]]   # (tokens, one tag per token)


def n_params(model: nn.Module) -> int:
    """The number of trainable numbers in ``model`` (every parameter's ``numel``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def tagging_loader(items: Sequence[Item], encode: Callable[[Any], Sequence[int]] | None = None,
                   batch_size: int = 32, shuffle: bool = False, seed: int = 0) -> torch.utils.data.DataLoader:
    """Length-bucketed batches of ``(tokens, tags)`` chunks.

    Args:
        items: ``(tokens, tags)`` pairs; ``encode(tokens)`` gives the ids (None: tokens are ids already).
        batch_size: chunks per batch; shuffle, seed: see :class:`~course_lib.data.batching.BucketBatchSampler`.

    Returns:
        A loader of batch dicts ``tokens, mask, lengths: (batch, time)``, ``labels: (batch, time)``.
    """
    if not items:
        raise ValueError("tagging_loader got no items")
    sampler = BucketBatchSampler([len(t) for t, _ in items], batch_size=batch_size, shuffle=shuffle, seed=seed)
    dataset: Any = list(items)     # a list is a map-style dataset
    return torch.utils.data.DataLoader(dataset, batch_sampler=sampler,
                                       collate_fn=make_collate(encode=encode, label_pad=0))


def items_class_weight(items: Sequence[Item], n_tags: int = 2, power: float = 0.5) -> torch.Tensor:
    """:func:`~course_lib.models.losses.balanced_class_weight` of every tag in ``items``: ``(n_tags,)``."""
    return balanced_class_weight(torch.tensor([y for _, ys in items for y in ys]), n_tags, power)


def fit_tagger(model: nn.Module, items: Sequence[Item], *, steps: int,
               encode: Callable[[Any], Sequence[int]] | None = None, lr: float = 3e-3, seed: int = 0,
               batch_size: int = 32, class_weight: torch.Tensor | None = None, progress: bool = False) -> History:
    """Train a tagger ``model(tokens, mask) -> (batch, time, n_tags)`` on ``items`` for ``steps`` Adam steps.

    The loss is :func:`tagging_loss` weighted by ``class_weight`` (default: :func:`items_class_weight`
    of ``items``); gradients are clipped to norm 1; the CPU is used (these models are small).

    Returns:
        The :class:`~course_lib.train.History`.
    """
    weight = items_class_weight(items) if class_weight is None else class_weight
    loader = tagging_loader(items, encode, batch_size=batch_size, shuffle=True, seed=seed)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    return fit(model, functools.partial(tagging_loss, class_weight=weight), loader, opt, steps=steps,
               clip_grad_norm=1.0, device="cpu", log_every=10, progress=progress, live_plot=False)


def tagger_scores(model: nn.Module, items: Sequence[Item], encode: Callable[[Any], Sequence[int]] | None = None
                  ) -> dict[str, float]:
    """Accuracy and precision / recall / F1 of tag 1 over the real tokens of ``items``
    (:func:`~course_lib.models.predict.predict`, then :func:`~course_lib.metrics.binary_scores`)."""
    return binary_scores(*predict(model, tagging_loader(items, encode, batch_size=64)))


@dataclass
class TaggerRun:
    """A trained :class:`~course_lib.models.deep.SequenceTagger` with its vocabulary.

    ``history`` is the training :class:`~course_lib.train.History` (also when loaded from the cache);
    ``seconds`` is how long training took when it ran.
    """

    model: SequenceTagger
    vocab: Vocab
    history: History
    n_params: int
    loaded_from_cache: bool

    @property
    def seconds(self) -> float:
        return self.history.seconds

    def scores(self, items: Sequence[Item]) -> dict[str, float]:
        """:func:`tagger_scores` of this model on ``items`` (words encoded with its vocabulary)."""
        return tagger_scores(self.model, items, self.vocab.encode)


def _text_key(items: Sequence[Item]) -> str:
    h = hashlib.sha1()
    for tokens, tags in items:
        h.update((" ".join(map(str, tokens)) + "\t" + "".join(map(str, tags)) + "\n").encode())
    return h.hexdigest()[:16]


def train_tagger(train_items: Sequence[Item], *, num_layers: int = 1, bidirectional: bool = False,
                 hidden_size: int = 64, embed_size: int = 64, kind: str = "elman", steps: int = 1500,
                 lr: float = 3e-3, seed: int = 0, batch_size: int = 32, min_count: int = 2,
                 weight_power: float = 0.5, progress: bool = False, retrain: bool = False) -> TaggerRun:
    """Train a sentence-boundary tagger from scratch, or load it from the course cache.

    A vocabulary of the training words seen ``min_count`` times (the rest is ``<unk>``), then
    ``SequenceTagger(embed_size, hidden_size, num_layers, bidirectional, kind)`` (PyTorch's RNN with
    packed sequences), seeded with ``seed``, trained by :func:`fit_tagger` for ``steps`` steps with the
    class weights ``items_class_weight(train_items, power=weight_power)``.

    The cache file depends on the training text and on every argument (``cache_dir()/tagger_<hash>.pt``).

    Returns:
        A :class:`TaggerRun` (model in eval mode, on the CPU).
    """
    vocab = Vocab.from_corpus([t for t, _ in train_items], min_count=min_count)
    arch: dict[str, Any] = dict(n_tags=2, embed_size=embed_size, hidden_size=hidden_size, num_layers=num_layers,
                bidirectional=bidirectional, kind=kind)
    settings = {"text": _text_key(train_items), "min_count": min_count, **arch, "steps": steps, "lr": lr,
                "seed": seed, "batch_size": batch_size, "weight_power": weight_power}

    def build() -> dict[str, Any]:
        torch.manual_seed(seed)
        model = SequenceTagger(len(vocab), **arch)
        history = fit_tagger(model, train_items, steps=steps, encode=vocab.encode, lr=lr, seed=seed,
                             batch_size=batch_size, progress=progress,
                             class_weight=items_class_weight(train_items, power=weight_power))
        return {"state_dict": model.state_dict(), "history": history.as_dict(), "loaded": False}

    def load(path: Path) -> dict[str, Any]:
        return {**torch.load(path, map_location="cpu", weights_only=True), "loaded": True}

    value = cached("tagger", settings, build, version=1, load=load, read=not retrain)
    model = SequenceTagger(len(vocab), **arch)
    model.load_state_dict(value["state_dict"])
    model.eval()
    return TaggerRun(model, vocab, History(**value["history"]), n_params(model), value["loaded"])
