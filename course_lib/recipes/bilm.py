"""The biLM of lecture 7, trained on the Wikipedia extract through :func:`course_lib.train.fit` and cached.

- :func:`pretrained_bilm`: train once (or reload from :func:`course_lib.cache.cache_dir`);
- :func:`lm_chunks` and the loader it builds: running text cut into pieces, characters looked up
  per batch;
- :func:`save_bilm` / :func:`load_bilm`: the file format (config, weights, vocabulary, info).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from course_lib.cache import atomic_save, cache_file, cached
from course_lib.data.batching import pad_batch
from course_lib.data.masks import lengths_to_mask
from course_lib.data.tasks import split_by_position
from course_lib.env import choose_device
from course_lib.models.elmo import BiLM, BiLMConfig, bilm_perplexity, encode_chars
from course_lib.train import fit, make_loader

__all__ = ["pretrained_bilm", "lm_chunks", "save_bilm", "load_bilm"]


def lm_chunks(sentences: Sequence[Sequence[str]], chunk_len: int = 40) -> list[list[str]]:
    """Concatenate sentences (in order) into one word stream and cut it into ``chunk_len``-word pieces.

    The language model then also sees words across sentence ends, as in running text.
    The last piece may be shorter (at least 2 words are kept).
    """
    if chunk_len < 2:
        raise ValueError(f"chunk_len must be >= 2, got {chunk_len}")
    stream = [w for s in sentences for w in s]
    chunks = [stream[i:i + chunk_len] for i in range(0, len(stream), chunk_len)]
    return [c for c in chunks if len(c) >= 2]


class _LMData(torch.utils.data.Dataset):
    """Word chunks stored as ids into a table of word types (chars looked up at collate time)."""

    def __init__(self, chunks: Sequence[Sequence[str]], types: dict[str, int]):
        self.items = [torch.tensor([types[w] for w in c]) for c in chunks]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.items[i]


def _make_collate(type_chars: torch.Tensor, type_targets: torch.Tensor
                  ) -> Callable[[Sequence[torch.Tensor]], dict[str, torch.Tensor]]:
    def collate(items: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        ids, lengths = pad_batch(list(items))
        mask = lengths_to_mask(lengths, ids.shape[1])
        chars = type_chars[ids] * mask.unsqueeze(-1)     # padded words: all-zero characters
        return {"chars": chars, "targets": type_targets[ids], "mask": mask}

    return collate


def _lm_loss(model: BiLM, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    lf, lb, n = model.lm_losses(batch["chars"], batch["targets"], batch["mask"])
    return (lf + lb) / 2, n


def save_bilm(path: Any, model: BiLM, vocab_itos: Sequence[str], info: dict[str, Any]) -> None:
    """Save weights, config, vocabulary and ``info`` (history, perplexities) to ``path`` atomically."""
    atomic_save({"config": model.config.as_dict(), "state_dict": model.state_dict(),
                 "vocab": list(vocab_itos), "info": info}, path)


def load_bilm(path: Any) -> tuple[BiLM, list[str], dict[str, Any]]:
    """Inverse of :func:`save_bilm`: ``(model in eval mode, vocabulary itos, info)``."""
    payload = torch.load(path, map_location="cpu", weights_only=False)
    cfg = dict(payload["config"])
    cfg["filters"] = tuple(tuple(f) for f in cfg["filters"])
    model = BiLM(BiLMConfig(**cfg))
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model, payload["vocab"], payload["info"]


def pretrained_bilm(config: BiLMConfig | None = None, n_sentences: int | None = None, steps: int = 700,
                    batch_size: int = 32, chunk_len: int = 40, lr: float = 3e-3, seed: int = 0,
                    device: Any = None, retrain: bool = False, train_if_missing: bool = True,
                    verbose: bool = True) -> tuple[BiLM, list[str], dict[str, Any]]:
    """Train a :class:`BiLM` on the Wikipedia extract, or reload it from the cache.

    The first ``n_sentences`` sentences of :func:`course_lib.data.wiki_sentences` (None: all) are
    split by position as the tasks of :mod:`course_lib.data.tasks` are: the biLM trains on the
    first 80 % and its perplexity is measured on the next 10 %; the last 10 % (the tasks' test
    text) is never read. The
    capped vocabulary is the ``config.vocab_size`` most frequent training words (with the four
    reserved ids). Training goes through :func:`course_lib.train.fit` with Adam for ``steps`` steps.

    The file is ``cache_dir()/bilm_<fingerprint of all settings>.pt`` (:func:`course_lib.cache.cache_file`,
    version 2); it is reused unless ``retrain``.
    With ``train_if_missing=False`` a missing file raises ``FileNotFoundError`` instead of training.

    Returns:
        ``(model, vocab itos, info)``; ``info`` has ``"history"``, ``"perplexity"``
        (``{"forward", "backward"}`` on held-out text), ``"seconds"``, ``"cache_file"``,
        ``"loaded_from_cache"``, ``"n_train_tokens"``.
    """
    config = config or BiLMConfig()
    settings = {"config": config.as_dict(), "n_sentences": n_sentences, "steps": steps, "batch_size": batch_size,
                "chunk_len": chunk_len, "lr": lr, "seed": seed}
    version = 2
    path = cache_file("bilm", settings, version)

    def load(p: Any) -> tuple[BiLM, list[str], dict[str, Any]]:
        model, itos, info = load_bilm(p)
        info["loaded_from_cache"] = True
        if verbose:
            print(f"loaded the trained biLM from {p}")
        return model, itos, info

    def save(value: tuple[BiLM, list[str], dict[str, Any]], p: Any) -> None:
        save_bilm(p, *value)

    def train() -> tuple[BiLM, list[str], dict[str, Any]]:
        if not train_if_missing:
            raise FileNotFoundError(f"no trained biLM with these settings in the cache ({path})")
        return _train_bilm(config, n_sentences, steps, batch_size, chunk_len, lr, seed, device,
                           {**settings, "v": version}, path)

    model, itos, info = cached("bilm", settings, train, version=version, load=load, save=save, read=not retrain)
    if not info.get("loaded_from_cache"):
        info["loaded_from_cache"] = False
        if verbose:
            ppl = info["perplexity"]
            print(f"trained the biLM in {info['seconds']:.0f} s; held-out perplexity forward "
                  f"{ppl['forward']:.1f}, backward {ppl['backward']:.1f}; saved to {path}")
    return model, itos, info


def _train_bilm(config: BiLMConfig, n_sentences: int | None, steps: int, batch_size: int, chunk_len: int,
                lr: float, seed: int, device: Any, settings: dict[str, Any], path: Any
                ) -> tuple[BiLM, list[str], dict[str, Any]]:
    """Train a biLM as :func:`pretrained_bilm` describes: ``(model on the CPU, eval mode; vocab itos; info)``."""
    from course_lib.data import Vocab, wiki_sentences  # looked up at call time (the tests swap the corpus)

    parts = split_by_position(wiki_sentences(max_sentences=n_sentences))
    train_s, held_s = parts["train"], parts["val"]
    sents = train_s + held_s
    vocab = Vocab.from_corpus(train_s, max_size=config.vocab_size)
    if len(vocab) != config.vocab_size:
        raise ValueError(f"the training text has only {len(vocab)} word types; set vocab_size <= {len(vocab)}")
    types = {w: i for i, w in enumerate(sorted({w for s in sents for w in s}))}
    type_words = sorted(types, key=types.__getitem__)
    type_chars, _ = encode_chars([type_words], config.max_chars)
    type_chars = type_chars[0]                                           # (n_types, max_chars)
    type_targets = torch.tensor([vocab[w] for w in type_words])          # (n_types,)
    collate = _make_collate(type_chars, type_targets)
    train_ds = _LMData(lm_chunks(train_s, chunk_len), types)
    held_ds = _LMData(lm_chunks(held_s, chunk_len), types)

    device = choose_device(str(device) if device is not None else None)
    torch.manual_seed(seed)
    model = BiLM(config)
    train_dl = make_loader(train_ds, batch_size, shuffle=True, collate_fn=collate, seed=seed, device=device)
    held_dl = make_loader(held_ds, 64, collate_fn=collate, device=device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    warmup = min(100, max(1, steps // 7))       # linear warm-up, then linear decay to 10 %
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.1, 1 - s / steps))
    history = fit(model, _lm_loss, train_dl, opt, steps=steps, val_loader=held_dl,
                  val_every=max(1, steps // 5), scheduler=sched, clip_grad_norm=1.0, device=device, log_every=20)
    model.cpu().eval()
    ppl = bilm_perplexity(model, held_dl)
    info = {"history": history.as_dict(), "perplexity": ppl, "seconds": history.seconds,
            "n_train_tokens": sum(len(s) for s in train_s), "n_heldout_tokens": sum(len(s) for s in held_s),
            "settings": settings, "cache_file": str(path)}
    return model, vocab.itos, info
