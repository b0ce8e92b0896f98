"""Training skip-gram (and fastText) on a :class:`~course_lib.models.skipgram.SkipGramPairs` pipeline,
and the cached skip-gram vectors of the Wikipedia extract.

- :func:`train_skipgram`: ``method="sgd"`` runs word2vec's own update
  (:func:`~course_lib.models.skipgram.sgd_step`, or a model's ``sgd_step`` such as fastText's)
  with a learning rate decaying linearly to ``min_lr``; ``method="autograd"`` trains the same
  model on :func:`~course_lib.models.skipgram.skipgram_loss` through :func:`course_lib.train.fit`
  with sparse gradients and the same schedule (slower: autograd builds dense intermediate tensors).
- :func:`pretrained_static_vectors`: trained once, then loaded from the course cache.
"""
from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import nn

from course_lib.data.vocab import SPECIALS, Vocab
from course_lib.embeddings import cached_vectors
from course_lib.models.skipgram import SkipGram, SkipGramPairs, sgd_step, skipgram_loss
from course_lib.train import History, fit

__all__ = ["train_skipgram", "pretrained_static_vectors"]


def _linear_lr(lr: float, min_lr: float, done: float) -> float:
    return max(min_lr, lr - (lr - min_lr) * done)


def train_skipgram(model: SkipGram, pairs: SkipGramPairs, epochs: int = 5, lr: float = 0.025,
                   min_lr: float = 1e-4, method: str = "sgd", log_every: int = 50,
                   step_fn: Any = None) -> History:
    """Train ``model`` on ``pairs`` for a fixed number of epochs.

    Args:
        model: a :class:`SkipGram` (or a subclass such as
            :class:`course_lib.models.fasttext.FastTextModel`, whose ``step_fn`` is its own).
        pairs: the pipeline; every epoch draws new subsampling, windows and noise words.
        epochs: passes over the corpus.
        lr, min_lr: the learning rate decays linearly from ``lr`` to ``min_lr`` over all training
            (word2vec's schedule; gensim's ``alpha``/``min_alpha``).
        method: ``"sgd"`` -- the hand-written update :func:`sgd_step` (fast; the default);
            ``"autograd"`` -- ``model(targets, contexts, negatives)`` through
            :func:`course_lib.train.fit` with ``torch.optim.SGD`` on sparse gradients. The mean loss
            is multiplied by the batch size there, so both methods take the same steps.
        log_every: batches per logged loss point.
        step_fn: for ``method="sgd"``: ``step_fn(targets, contexts, negatives, lr) -> (B,) losses``;
            default ``model.sgd_step`` if the model has one, else :func:`sgd_step` on ``u``/``v``.

    Returns:
        A :class:`course_lib.train.History` (``step``, ``train_loss`` per pair, ``seconds``) with an
        extra attribute ``words_per_second`` (known words before subsampling, times epochs, over
        the wall time).
    """
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be a positive int, got {epochs!r}")
    if not 0 < min_lr <= lr:
        raise ValueError(f"need 0 < min_lr <= lr, got lr={lr}, min_lr={min_lr}")
    total = epochs * len(pairs)
    if method == "autograd":
        class _Scaled(nn.Module):  # sum over the batch = word2vec's per-pair steps
            def __init__(self, inner: nn.Module):
                super().__init__()
                self.inner = inner

            def forward(self, t: torch.Tensor, c: torch.Tensor, n: torch.Tensor) -> torch.Tensor:
                return self.inner(t, c, n) * len(t)

        opt = torch.optim.SGD(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: _linear_lr(lr, min_lr, step / total) / lr)
        t0 = time.perf_counter()
        hist = fit(_Scaled(model), skipgram_loss, pairs, opt, epochs=epochs, scheduler=sched, device="cpu",
                   amp=False, log_every=log_every, progress=False, live_plot=False)
        hist.seconds = time.perf_counter() - t0
        hist.train_loss = [x / pairs.batch_size for x in hist.train_loss]  # per pair, as for "sgd"
    elif method == "sgd":
        if step_fn is None:
            step_fn = getattr(model, "sgd_step", None) or (
                lambda t, c, n, a: sgd_step(model.u.weight.data, model.v.weight.data, t, c, n, a))
        hist = History()
        step, window_loss, window_pairs = 0, 0.0, 0
        t0 = time.perf_counter()
        for _ in range(epochs):
            for t, c, n in pairs:
                a = _linear_lr(lr, min_lr, step / total)
                losses = step_fn(t, c, n, a)
                step += 1
                window_loss += float(losses.sum())
                window_pairs += len(t)
                if step % log_every == 0:
                    hist.step.append(step)
                    hist.train_loss.append(window_loss / window_pairs)
                    window_loss, window_pairs = 0.0, 0
                    if not math.isfinite(hist.train_loss[-1]):
                        raise FloatingPointError(f"the loss became {hist.train_loss[-1]} at step {step}: "
                                                 "lower the learning rate")
            hist.epochs_done += 1
        hist.steps_done = step
        hist.seconds = time.perf_counter() - t0
    else:
        raise ValueError(f"method must be 'sgd' or 'autograd', got {method!r}")
    hist.words_per_second = pairs.n_words * epochs / max(hist.seconds, 1e-9)  # type: ignore[attr-defined]
    return hist


def pretrained_static_vectors(dim: int = 100, epochs: int = 5, window: int = 5, negatives: int = 5,
                              min_count: int = 5, sample: float = 1e-3, seed: int = 0,
                              cache: bool = True) -> tuple[Vocab, torch.Tensor]:
    """Skip-gram vectors trained on the Wikipedia extract (whole corpus), cached.

    The first call trains (``epochs=5``, ``dim=100``: about 15 s on one thread) and saves the
    result under :func:`course_lib.data.cache_dir`; later calls load it.

    Returns:
        ``(vocab, vectors)``: ``vectors: (len(vocab), dim)`` (the target vectors ``u``), the
        reserved tokens' rows zero.
    """
    from course_lib.data.corpora import wiki_sentences

    def build() -> tuple[Vocab, torch.Tensor]:
        sents = wiki_sentences()
        vocab = Vocab.from_corpus(sents, min_count=min_count)
        pairs = SkipGramPairs(sents, vocab, window=window, negatives=negatives, sample=sample, seed=seed)
        model = SkipGram(len(vocab), dim, seed=seed)
        train_skipgram(model, pairs, epochs=epochs)
        vectors = model.vectors()
        vectors[: len(SPECIALS)] = 0.0
        return vocab, vectors

    settings = {"dim": dim, "epochs": epochs, "window": window, "negatives": negatives, "min_count": min_count,
                "sample": sample, "seed": seed}
    return cached_vectors("skipgram", settings, build, version=1, cache=cache)
