"""Training a character language model (lecture 6's return to lecture 3's task): one recipe for the
tanh RNN, the GRU and the LSTM, so a comparison changes nothing but the recurrent layer.

The recipe: the training text cut into windows of ``seq_len`` characters (each starts from a zero
state), Adam with a learning rate that decays along a cosine to a tenth, the gradient norm clipped at
1, a fixed number of steps; the model a :class:`~course_lib.lm.CharRNNLM` with learned input vectors,
dropout, weight tying and (GRU, LSTM) a "keep" gate bias of 1. The trained weights are kept in the
course cache, keyed by the settings and a hash of the text. :func:`train_char_lms` trains several
models at once in separate processes (one CPU thread each), which on a small machine is nearly as many
times faster as there are cores: one small recurrent model does not keep two cores busy.
"""
from __future__ import annotations

import hashlib
import inspect
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from course_lib.cache import cache_file, cached
from course_lib.data.chars import CharData, CharWindows
from course_lib.env import map_in_processes
from course_lib.lm import CharRNNLM, char_lm_loss
from course_lib.train import fit, make_loader

__all__ = ["CharLMRun", "train_char_lm", "train_char_lms", "hidden_for_budget", "LECTURE_LR", "DYNAMIC_LR"]

_CACHE_VERSION = 1

# Adam's initial learning rate per kind in lecture 6, each the best of 2e-3, 5e-3 and 1e-2 on validation files
# (benchmarks/char_lm.py --lr ...: static bits/char on stdlib files in neither the training nor the held-out
# text). The tanh RNN's loss blows up at 5e-3; the LSTM is best at 1e-2, the GRU at 5e-3.
LECTURE_LR = {"elman": 2e-3, "gru": 5e-3, "lstm": 1e-2}

# Adam's learning rate for dynamic evaluation (course_lib.lm.dynamic_bits_per_char) per kind, each the best of
# 1e-3, 2e-3 and 3e-3 on the same validation files for the model trained at LECTURE_LR (benchmarks/char_lm.py).
DYNAMIC_LR = {"elman": 1e-3, "gru": 1e-3, "lstm": 2e-3}


@dataclass
class CharLMRun:
    """A trained character model: ``seconds`` is the training time measured when it was trained
    (also when the model now comes from the cache, ``from_cache`` True)."""

    kind: str
    model: CharRNNLM
    seconds: float
    lr: float
    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    from_cache: bool = False

    @property
    def n_params(self) -> int:
        """Trainable parameters (a tied matrix counted once)."""
        return sum(p.numel() for p in self.model.parameters())


def hidden_for_budget(kind: str, n_params: int, vocab_size: int) -> int:
    """The hidden size at which a tied ``CharRNNLM(kind, embed_size=hidden)`` has about ``n_params``
    parameters: a tanh layer has one block of weights, a GRU three, an LSTM four (each block
    ``hidden x (input + hidden)`` plus two bias vectors), plus the shared ``(vocab, hidden)`` matrix and
    the output bias."""
    blocks = {"elman": 1, "gru": 3, "lstm": 4}[kind]

    def count(h: int) -> int:
        return blocks * (2 * h * h + 2 * h) + vocab_size * h + vocab_size

    return min(range(4, 4096), key=lambda h: abs(count(h) - n_params))


def _text_hash(data: CharData) -> str:
    return hashlib.sha1((data.train_text + "\0" + data.heldout_text).encode()).hexdigest()[:12]


def _settings(data: CharData, kind: str, hidden_size: int, steps: int, batch_size: int, seq_len: int, lr: float,
              dropout: float, tie_weights: bool, keep: float | None, seed: int) -> dict[str, Any]:
    """What a trained model depends on: the key of its cache file."""
    return dict(kind=kind, hidden=hidden_size, steps=steps, batch=batch_size, seq=seq_len, lr=lr, dropout=dropout,
                tie=tie_weights, keep=keep, seed=seed, text=_text_hash(data))


def train_char_lm(data: CharData, kind: str, hidden_size: int, steps: int, *, batch_size: int = 32,
                  seq_len: int = 128, lr: float | None = None, dropout: float = 0.1, tie_weights: bool = True,
                  keep_bias: float | None = 1.0, seed: int = 0, device: torch.device | str | None = None,
                  cache: bool = True, verbose: bool = True) -> CharLMRun:
    """Train (or load from the cache) one character model on ``data.train_ids``.

    Args:
        data: the text (:func:`~course_lib.data.chars.char_lm_data`).
        kind: ``"elman"``, ``"gru"`` or ``"lstm"``.
        hidden_size: the state size; the input vectors have the same size (needed for weight tying).
        steps: optimizer steps, each on ``batch_size`` windows of ``seq_len`` characters.
        lr: Adam's initial learning rate; None takes :data:`LECTURE_LR` for ``kind``.
        dropout, tie_weights: the regularisers (see :class:`~course_lib.lm.CharRNNLM`).
        keep_bias: the GRU's and LSTM's initial update/forget-gate bias (1.0, as Jozefowicz et al. 2015
            recommend for the LSTM; ignored for the tanh RNN, which has no gate); None: PyTorch's.
        cache: keep the trained weights in the course cache and reuse them.

    Returns:
        A :class:`CharLMRun` whose model is on the CPU, in evaluation mode.
    """
    if lr is None:
        lr = LECTURE_LR[kind]
    keep = keep_bias if kind != "elman" else None
    settings = _settings(data, kind, hidden_size, steps, batch_size, seq_len, lr, dropout, tie_weights, keep, seed)
    vocab_size = len(data.vocab)

    def new_model() -> CharRNNLM:
        torch.manual_seed(seed)
        return CharRNNLM(vocab_size, hidden_size, kind=kind, embed_size=hidden_size, dropout=dropout,
                         tie_weights=tie_weights, keep_bias=keep)

    built: list[bool] = []

    def build() -> dict[str, Any]:
        built.append(True)
        model = new_model()
        loader = make_loader(CharWindows(data.train_ids, seq_len), batch_size, shuffle=True, seed=seed,
                             device=torch.device(device) if device is not None else None)
        assert lr is not None
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=lr / 10)
        t0 = time.perf_counter()
        hist = fit(model, char_lm_loss, loader, opt, steps=steps, scheduler=sched, clip_grad_norm=1.0,
                   device=device, log_every=max(1, steps // 20))
        seconds = time.perf_counter() - t0
        return {"state": {k: v.cpu() for k, v in model.state_dict().items()}, "seconds": seconds,
                "steps": list(hist.step), "train_loss": [float(x) for x in hist.train_loss]}

    saved = cached("lecture06_charlm", settings, build, version=_CACHE_VERSION, read=cache, write=cache)
    model = new_model()
    model.load_state_dict(saved["state"])
    run = CharLMRun(kind, model.eval(), float(saved["seconds"]), lr, list(saved["steps"]),
                    list(saved["train_loss"]), from_cache=not built)
    if verbose:
        print(f"{kind:5s} hidden {hidden_size:4d}, {run.n_params:,} parameters, lr {lr:g}: trained {steps} steps in "
              f"{run.seconds:.0f} s{' (loaded from the cache)' if run.from_cache else ''}")
    return run


def _train_in_worker(args: tuple[CharData, str, int, int, dict[str, Any]]) -> None:
    """One model, trained in a worker process (:func:`~course_lib.env.map_in_processes`) into the course cache."""
    data, kind, hidden_size, steps, options = args
    train_char_lm(data, kind, hidden_size, steps, **options, verbose=False)


def train_char_lms(data: CharData, hidden_sizes: dict[str, int], steps: int, *, workers: int = 1,
                   verbose: bool = True, **options: Any) -> dict[str, CharLMRun]:
    """Train (or load from the cache) one model per kind, ``workers`` of them at the same time.

    Args:
        data, steps: as for :func:`train_char_lm`.
        hidden_sizes: ``{kind: hidden_size}``, e.g. ``{"elman": 512, "gru": 294, "lstm": 256}``.
        workers: how many models to train at once, each in its own process with one CPU thread (1: one
            after the other, in this process). Each run is seeded, so the weights are the same either way
            (up to the last bits when this process uses more than one thread).
        options: the keyword arguments of :func:`train_char_lm` (``lr`` is then per kind: :data:`LECTURE_LR`).

    Returns:
        ``{kind: CharLMRun}`` in the order of ``hidden_sizes``.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers!r}")
    if "lr" in options:
        raise ValueError("train_char_lms takes each kind's learning rate from LECTURE_LR; call train_char_lm "
                         "for another rate")
    if options.get("device") is not None:
        workers = 1  # an accelerator trains one model at a time faster than processes sharing it
    todo: list[str] = []
    if workers > 1 and options.get("cache", True):
        for kind, hidden in hidden_sizes.items():
            a = inspect.signature(train_char_lm).bind(data, kind, hidden, steps, **options)
            a.apply_defaults()  # the settings train_char_lm will use (its defaults, one home)
            keep = a.arguments["keep_bias"] if kind != "elman" else None
            settings = _settings(data, kind, hidden, steps, a.arguments["batch_size"], a.arguments["seq_len"],
                                 LECTURE_LR[kind], a.arguments["dropout"], a.arguments["tie_weights"], keep,
                                 a.arguments["seed"])
            if not cache_file("lecture06_charlm", settings, _CACHE_VERSION).exists():
                todo.append(kind)
    if len(todo) < 2:
        todo = []  # nothing to share out: train (or load) here, one after the other
    if todo:
        if verbose:
            print(f"training {', '.join(todo)}: {min(workers, len(todo))} at a time, one process (and CPU thread) each")
        map_in_processes(_train_in_worker, [(data, kind, hidden_sizes[kind], steps, options) for kind in todo], workers)
    runs = {}
    for kind, hidden in hidden_sizes.items():
        runs[kind] = train_char_lm(data, kind, hidden, steps, **options, verbose=False)
        if kind in todo:
            runs[kind].from_cache = False
        if verbose:
            r = runs[kind]
            where = " (loaded from the cache)" if r.from_cache else " (in a worker process)" if kind in todo else ""
            print(f"{kind:5s} hidden {hidden:4d}, {r.n_params:,} parameters, lr {r.lr:g}: trained {steps} steps in "
                  f"{r.seconds:.0f} s{where}")
    return runs
