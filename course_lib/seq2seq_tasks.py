"""The lecture-8 experiments in one place: train an encoder-decoder through ``fit``, decode, score.

Used by ``lectures/08_seq2seq_attention.ipynb`` and ``benchmarks/seq2seq.py`` so both run exactly
the same recipe:

- :func:`train_seq2seq`: Adam with a cosine-decaying learning rate, gradient clipping at 1,
  batches bucketed by source length, a fixed number of steps, a checkpoint in the course cache
  (a finished run is reloaded instead of retrained);
- :class:`G2PConfig` and :func:`train_g2p`: the lecture's g2p models (one config, one cache name);
  :func:`train_g2p_models` trains several of them at once, one process (and CPU thread) each;
- :func:`decode_all`: greedy (batched) or beam decoding of many sources, through
  :mod:`course_lib.generate`;
- :func:`evaluate_g2p`: word and phoneme error rates of a g2p model on a split, overall and by
  word length.
"""
from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch

from course_lib.data.corpora import cache_dir, fingerprint
from course_lib.data.g2p import G2PData
from course_lib.data.pairs import EncodedPair, encode_pairs, pair_loader
from course_lib.env import choose_device, map_in_processes
from course_lib.data.pairs import collate_pairs
from course_lib.models.seq2seq import Seq2Seq, beam_decode, greedy_decode, seq2seq_loss, teacher_forced_predictions
from course_lib.seq_metrics import error_rates, error_rates_by_length
from course_lib.train import History, fit

__all__ = ["G2PConfig", "train_g2p", "train_g2p_models", "g2p_training_pairs", "train_seq2seq", "decode_all",
           "g2p_predict", "evaluate_g2p", "attention_map", "WORD_LENGTH_EDGES"]

WORD_LENGTH_EDGES = (4, 6, 8, 10, 12)  # word-length buckets <=4, 5-6, 7-8, 9-10, 11-12, >=13


def g2p_training_pairs(data: G2PData, split: str = "train") -> list[EncodedPair]:
    """Every (word, pronunciation) of a split as id pairs: a word with two pronunciations gives two pairs."""
    pairs = [(word, pron) for word, prons in data.split(split) for pron in prons]
    return encode_pairs(pairs, data.letters, data.phonemes)


def train_seq2seq(model: Seq2Seq, train_pairs: Sequence[EncodedPair], steps: int, batch_size: int = 64,
                  lr: float = 3e-3, val_pairs: Sequence[EncodedPair] | None = None, val_every: int | None = None,
                  seed: int = 0, checkpoint_path: str | os.PathLike | None = None,
                  device: torch.device | str | None = None, clip_grad_norm: float = 1.0) -> History:
    """Teacher-forced training of ``model`` for ``steps`` optimizer steps with :func:`course_lib.train.fit`.

    Adam, learning rate decaying from ``lr`` to ``lr / 20`` on a cosine; bf16 autocast on CUDA and
    the device choice are ``fit``'s. With ``checkpoint_path``, a finished run is loaded, not repeated.

    Returns:
        ``fit``'s :class:`~course_lib.train.History`; the model is left on the training device.
    """
    device = torch.device(device) if device is not None else choose_device()
    loader = pair_loader(train_pairs, batch_size, shuffle=True, seed=seed, device=device)
    val_loader = pair_loader(val_pairs, 256, shuffle=False, device=device) if val_pairs else None
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr / 20)
    return fit(model, seq2seq_loss, loader, opt, steps=steps, scheduler=sched, clip_grad_norm=clip_grad_norm,
               val_loader=val_loader, val_every=val_every, device=device, checkpoint_path=checkpoint_path,
               log_every=max(1, min(50, steps // 20)))


@dataclass(frozen=True)
class G2PConfig:
    """The settings of a g2p model and its training run (lecture 8 in full mode by default).

    Attributes:
        embed, hidden: embedding size; encoder state size per direction (memory ``2 * hidden``).
        steps, batch, lr: optimizer steps, batch size, Adam's initial learning rate.
        val_words: validation words whose loss ``fit`` tracks (4 times per run).
    """

    embed: int = 64
    hidden: int = 192
    steps: int = 3000
    batch: int = 128
    lr: float = 3e-3
    val_words: int = 2000


def train_g2p(data: G2PData, attention: str | None, config: G2PConfig = G2PConfig(),
              device: torch.device | str | None = None, cache: bool = True, retrain: bool = False,
              seed: int = 0) -> tuple[Seq2Seq, History, float]:
    """Train (or reload from the course cache) a g2p :class:`Seq2Seq` on ``data.train``.

    The cache file is named after the config, the attention kind, the seed and the training
    words, so lecture 8 and ``benchmarks/seq2seq.py`` share their models.

    Args:
        cache: keep the trained model in the course cache and reload it from there next time.
        retrain: train again even if the cache has the model (the new one replaces it).

    Returns:
        ``(model in eval mode on the device, history, wall seconds of this call)``; a reloaded
        model's history has ``resumed_from`` set.
    """
    t0 = time.perf_counter()
    key = {**asdict(config), "attention": attention, "seed": seed, "n_train": len(data.train),
           "first": data.train[0][0] if data.train else "", "v": 1}
    path = cache_dir() / f"g2p_{attention or 'none'}_{fingerprint(key)}.pt" if cache else None
    if path is not None and retrain:
        path.unlink(missing_ok=True)
    torch.manual_seed(seed)
    model = Seq2Seq(len(data.letters), len(data.phonemes), config.embed, config.hidden, attention=attention)
    val = g2p_training_pairs(data, "val")[:config.val_words] or None
    hist = train_seq2seq(model, g2p_training_pairs(data), config.steps, batch_size=config.batch, lr=config.lr,
                         val_pairs=val, val_every=max(config.steps // 4, 1), seed=seed, checkpoint_path=path,
                         device=device)
    return model.eval(), hist, time.perf_counter() - t0


def _train_g2p_in_worker(args: tuple[G2PData, str | None, G2PConfig, int]) -> float:
    """One g2p model trained in a worker process (:func:`~course_lib.env.map_in_processes`) into the course
    cache: its seconds."""
    data, attention, config, seed = args
    return train_g2p(data, attention, config, device="cpu", seed=seed)[2]


def train_g2p_models(data: G2PData, attentions: Sequence[str | None], config: G2PConfig = G2PConfig(),
                     device: torch.device | str | None = None, workers: int = 1,
                     seed: int = 0) -> dict[str | None, tuple[Seq2Seq, History, float]]:
    """:func:`train_g2p` for several attention kinds (None: the fixed summary C), ``workers`` at a time.

    On the CPU with ``workers > 1``, the models the cache does not hold yet are trained in that many
    worker processes, one CPU thread each (a small recurrent model cannot keep two cores busy, so two
    models at once take about as long as one), then loaded here. The weights are those of training
    them one after the other (each run is seeded); the seconds are each training's own.

    Returns:
        ``{attention: (model, history, seconds)}`` as :func:`train_g2p` returns them.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    on_cpu = torch.device(device).type == "cpu" if device is not None else choose_device().type == "cpu"
    seconds: dict[str | None, float] = {}
    if workers > 1 and on_cpu and len(attentions) > 1:
        jobs = [(data, attention, config, seed) for attention in attentions]
        seconds = dict(zip(attentions, map_in_processes(_train_g2p_in_worker, jobs, workers)))
    runs = {}
    for attention in attentions:  # trained above (or earlier): reloaded from the cache in a moment
        model, hist, secs = train_g2p(data, attention, config, device=device, seed=seed)
        runs[attention] = (model, hist, seconds.get(attention, secs))
    return runs


@torch.no_grad()
def decode_all(model: Seq2Seq, sources: Sequence[Sequence[int]], max_len: int, beam_width: int = 1,
               batch_size: int = 512) -> list[list[int]]:
    """Decode every source (a list of ids), in the given order.

    ``beam_width=1``: greedy, in batches of similar length; otherwise beam search one source at a time.
    """
    device = next(model.parameters()).device
    if beam_width > 1:
        return [beam_decode(model, s, max_len, beam_width) for s in sources]
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    out: list[list[int]] = [[] for _ in sources]
    for k in range(0, len(order), batch_size):
        idx = order[k:k + batch_size]
        lengths = torch.tensor([len(sources[i]) for i in idx])
        src = torch.zeros(len(idx), int(lengths.max()), dtype=torch.long)
        for r, i in enumerate(idx):
            src[r, :len(sources[i])] = torch.as_tensor(sources[i])
        for i, ids in zip(idx, greedy_decode(model, src.to(device), lengths.to(device), max_len)):
            out[i] = ids
    return out


def g2p_predict(model: Seq2Seq, data: G2PData, words: Sequence[str], beam_width: int = 1,
                max_len: int = 30) -> list[tuple[str, ...]]:
    """Predicted pronunciations (phoneme tuples) of ``words``."""
    ids = decode_all(model, [data.letters.encode(list(w)) for w in words], max_len, beam_width)
    return [tuple(data.phonemes.decode(p, skip_special=True)) for p in ids]


def evaluate_g2p(model: Seq2Seq, data: G2PData, split: str = "test", beam_width: int = 1,
                 edges: Sequence[int] = WORD_LENGTH_EDGES, max_words: int | None = None) -> dict:
    """WER and PER of ``model`` on a split, overall and by word length.

    Returns:
        ``{"wer", "per", "n", "by_length": {bucket: {"wer", "per", "n"}}, "words", "predictions"}``.
    """
    entries = data.split(split)[:max_words]
    words = [w for w, _ in entries]
    refs = [prons for _, prons in entries]
    preds = g2p_predict(model, data, words, beam_width=beam_width)
    out: dict = dict(error_rates(preds, refs))
    out["by_length"] = error_rates_by_length(preds, refs, words, edges)
    out["words"], out["predictions"] = words, preds
    return out


@torch.no_grad()
def attention_map(model: Seq2Seq, src: Sequence[int], output: Sequence[int]) -> torch.Tensor:
    """The attention weights the decoder used while producing ``output`` (e.g. its own greedy output).

    The decoder is run with ``<bos> output`` as its inputs, which reproduces exactly the states it
    had while generating ``output`` one token at a time.

    Args:
        src: ``(S,)`` source ids; output: ``(T,)`` output ids (no ``<bos>`` / ``<eos>``).

    Returns:
        ``(T + 1, S)`` on the CPU: row ``t`` is the attention while predicting output token ``t``
        (the last row: while predicting ``<eos>``).
    """
    if model.attention is None:
        raise ValueError("this model has no attention (attention=None): it only sees the summary C")
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in collate_pairs([(list(src), list(output))]).items()}
    _, weights = teacher_forced_predictions(model, batch)
    assert weights is not None  # the model has attention (checked above)
    return weights[0].float().cpu()
