"""Training a character language model (lecture 6's return to lecture 3's task): one recipe for the
tanh RNN, the GRU and the LSTM, so a comparison changes nothing but the recurrent layer.

The recipe: the training text cut into windows of ``seq_len`` characters (each starts from a zero
state), Adam with a learning rate that decays along a cosine to a tenth, the gradient norm clipped at
1, a fixed number of steps; the model a :class:`~course_lib.lm.CharRNNLM` with learned input vectors,
dropout, weight tying and (GRU, LSTM) a "keep" gate bias of 1. The trained weights are kept in the
course cache, keyed by the settings and a hash of the text.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Any

import torch

from course_lib.cache import cached
from course_lib.data.chars import CharData, CharWindows
from course_lib.lm import CharRNNLM, char_lm_loss
from course_lib.train import fit, make_loader

__all__ = ["CharLMRun", "train_char_lm", "hidden_for_budget", "LECTURE_LR"]

_CACHE_VERSION = 1

# Adam's learning rate per kind in lecture 6 (benchmarks/char_lm.py --lr sweeps it): the gated models
# learn fastest with a large rate in a short run; the tanh RNN's loss blows up at 5e-3 and is far better at 2e-3.
LECTURE_LR = {"elman": 2e-3, "gru": 1e-2, "lstm": 1e-2}


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
    settings: dict[str, Any] = dict(kind=kind, hidden=hidden_size, steps=steps, batch=batch_size, seq=seq_len,
                                    lr=lr, dropout=dropout, tie=tie_weights, keep=keep, seed=seed,
                                    text=_text_hash(data))
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
