"""Synthetic languages for memory and counting: a^n b^n, a^n b^n c^n, and a recall task.

**Recall at distance d** (:func:`recall_batch`): a sequence holds one *key* token among filler
tokens and ends with a query token; the answer is the key, which sits ``d`` fillers before the query
("I grew up in **France** ... (d words) ... I speak fluent ___").

**Counting languages.**

A string ``a^n b^n`` is read one symbol at a time after a start symbol ``^``; at every step the
network predicts the next symbol, and after the last letter it must predict the end symbol ``$``::

    input   ^ a a a b b b
    target  a a a b b b $

While it reads a's, the next symbol may be another ``a`` or the first ``b``: that prediction is not
determined by the prefix. Every other prediction is: the first ``a`` after ``^`` (n >= 1), and
everything after the first ``b`` (the remaining b's, then, for a^n b^n c^n, exactly n c's, then
``$``). A string counts as **correct** when every deterministic prediction is right; a model
generalises up to ``N`` when all strings with ``n = 1 .. N`` are correct. Predicting ``$`` at the
right moment requires counting the a's, which is why these languages test whether a network can
count (Gers & Schmidhuber 2001; Weiss, Goldberg & Yahav 2018).

Symbols and ids: ``<pad>`` 0, ``^`` 1, ``$`` 2, ``a`` 3, ``b`` 4, ``c`` 5.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data.batching import pad_batch
from course_lib.data.masks import lengths_to_mask
from course_lib.models.losses import masked_cross_entropy
from course_lib.models.base import TORCH_LAYERS, eval_mode

__all__ = [
    "SYMBOLS", "START", "END", "counting_string", "encode", "decode", "next_symbol_example",
    "deterministic_mask", "all_deterministic_correct", "CountingModel", "predict_next",
    "strings_correct", "largest_correct_n", "allowed_next", "recall_batch", "train_counting", "counting_experiment", "CountingRun",
]

START, END = "^", "$"
SYMBOLS = ("<pad>", START, END, "a", "b", "c")
_ID = {s: i for i, s in enumerate(SYMBOLS)}
LETTERS = "abc"


def recall_batch(batch_size: int, distances: Sequence[int] | int, max_distance: int, n_keys: int = 4,
                 n_fillers: int = 20, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A batch of the recall task, all sequences ``max_distance + 2`` tokens long.

    Token ids: 0 unused (pad), ``1 .. n_keys`` keys, then ``n_fillers`` filler ids, then the query id
    (vocabulary size ``n_keys + n_fillers + 2``). Each sequence is ``max_distance - d`` fillers, the
    key, ``d`` fillers, the query.

    Args:
        distances: one ``d`` for every sequence, or an int for all; each in ``1 .. max_distance``.

    Returns:
        tokens: ``(batch, max_distance + 2)`` long; answers: ``(batch,)`` the key's index in
        ``0 .. n_keys - 1``; distances: ``(batch,)``.
    """
    if isinstance(distances, int):
        distances = [distances] * batch_size
    d = torch.as_tensor(list(distances), dtype=torch.long)
    if d.shape != (batch_size,):
        raise ValueError(f"need {batch_size} distances, got {tuple(d.shape)}")
    if (d < 1).any() or (d > max_distance).any():
        raise ValueError(f"distances must lie in 1 .. max_distance={max_distance}, got {d.tolist()}")
    length = max_distance + 2
    tokens = torch.randint(n_keys + 1, n_keys + 1 + n_fillers, (batch_size, length), generator=generator)
    answers = torch.randint(0, n_keys, (batch_size,), generator=generator)
    key_pos = length - 2 - d
    tokens[torch.arange(batch_size), key_pos] = answers + 1
    tokens[:, -1] = n_keys + n_fillers + 1
    return tokens, answers, d


def _check_n_k(n: int, num_letters: int) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if num_letters not in (2, 3):
        raise ValueError(f"num_letters must be 2 (a^n b^n) or 3 (a^n b^n c^n), got {num_letters!r}")


def counting_string(n: int, num_letters: int = 2) -> str:
    """``a^n b^n`` (``num_letters=2``) or ``a^n b^n c^n`` (``num_letters=3``), e.g. ``"aabb"``."""
    _check_n_k(n, num_letters)
    return "".join(ch * n for ch in LETTERS[:num_letters])


def encode(symbols: str | Sequence[str]) -> list[int]:
    """Symbols (``"^aabb$"``) to ids; raises on an unknown symbol."""
    try:
        return [_ID[s] for s in symbols]
    except KeyError as exc:
        raise ValueError(f"unknown symbol {exc.args[0]!r}; the symbols are {SYMBOLS[1:]}") from None


def decode(ids: Sequence[int] | torch.Tensor) -> str:
    """Ids to a string of symbols (padding is dropped)."""
    ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
    return "".join(SYMBOLS[i] for i in ids if i != 0)


def next_symbol_example(n: int, num_letters: int = 2) -> tuple[list[int], list[int]]:
    """The input and target ids of one string: ``^ s_1 .. s_L`` and ``s_1 .. s_L $`` (each ``L + 1`` long,
    ``L = num_letters * n``)."""
    s = counting_string(n, num_letters)
    return encode(START + s), encode(s + END)


def deterministic_mask(n: int, num_letters: int = 2) -> list[bool]:
    """Which predictions are determined by the prefix, for the input ``^ s_1 .. s_L`` (``L + 1`` entries).

    True at position 0 (after ``^`` comes ``a``) and from the first ``b`` on; False while
    reading a's (the next symbol may be ``a`` or ``b``).

    >>> deterministic_mask(2)
    [True, False, False, True, True]
    """
    _check_n_k(n, num_letters)
    return [True] + [False] * n + [True] * ((num_letters - 1) * n)


def all_deterministic_correct(predicted: Sequence[int] | torch.Tensor | str, n: int, num_letters: int = 2) -> bool:
    """Whether every deterministic prediction of one string is right.

    Args:
        predicted: ``(L + 1,)`` predicted next symbols for the input ``^ s_1 .. s_L`` (ids, or a
            string of symbols such as ``"aaabb$"``); extra entries (padding) are ignored.
        n, num_letters: which string.
    """
    _, target = next_symbol_example(n, num_letters)
    pred = encode(predicted) if isinstance(predicted, str) else (
        predicted.tolist() if isinstance(predicted, torch.Tensor) else list(predicted))
    if len(pred) < len(target):
        raise ValueError(f"need {len(target)} predictions for n={n}, got {len(pred)}")
    return all(p == t for p, t, det in zip(pred, target, deterministic_mask(n, num_letters)) if det)


def _batch(ns: Sequence[int], num_letters: int) -> dict[str, torch.Tensor]:
    pairs = [next_symbol_example(n, num_letters) for n in ns]
    inputs, lengths = pad_batch([p[0] for p in pairs])
    targets, _ = pad_batch([p[1] for p in pairs])
    return {"inputs": inputs, "targets": targets, "mask": lengths_to_mask(lengths, inputs.shape[1]),
            "n": torch.tensor(list(ns))}


class CountingModel(nn.Module):
    """One-hot symbols -> one recurrent layer (tanh RNN, GRU or LSTM) -> next-symbol scores ``c + V h_t``.

    The layer is PyTorch's (``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``): with 8 hidden units and short
    strings its C++ time loop is several times faster than a Python one, which matters for an
    experiment of 15 trainings. :meth:`hand_layer` returns the same layer as a hand-built
    ``course_lib`` module with the weights copied (e.g. to read the LSTM's cell states).

    ``forward(inputs (batch, time) ids) -> logits (batch, time, 6)``. Strings are right-padded and
    the layer reads left to right, so padding never changes the logits of real positions.

    Args:
        input_noise: standard deviation of Gaussian noise added to the one-hot inputs in training
            mode only (``model.eval()`` reads clean inputs). A counter whose steps are not exactly
            +1 / -1 stays correct on short strings; noise on every input makes such a counter fail
            during training too, so training favours counters whose steps are exact.
        forget_bias: LSTM only: the initial forget-gate bias ``b_f`` (2.0 starts every unit with
            ``f = sigmoid(2) = 0.88``, keeping most of its cell). None keeps PyTorch's initialisation.
    """

    def __init__(self, kind: str = "lstm", hidden_size: int = 8, input_noise: float = 0.0,
                 forget_bias: float | None = None):
        super().__init__()
        if kind not in TORCH_LAYERS:
            raise ValueError(f"kind must be one of {sorted(TORCH_LAYERS)}, got {kind!r}")
        if input_noise < 0:
            raise ValueError(f"input_noise must be >= 0 (a standard deviation), got {input_noise!r}")
        if forget_bias is not None and kind != "lstm":
            raise ValueError(f"forget_bias is for the LSTM only; a {kind!r} layer has no forget gate")
        self.kind, self.hidden_size, self.input_noise = kind, hidden_size, float(input_noise)
        self.rnn = TORCH_LAYERS[kind](len(SYMBOLS), hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, len(SYMBOLS))  # V and c
        if forget_bias is not None:
            with torch.no_grad():  # PyTorch's gate order is i, f, g, o; b_f = b_ih[f] + b_hh[f]
                self.rnn.bias_ih_l0[hidden_size:2 * hidden_size].fill_(forget_bias)
                self.rnn.bias_hh_l0[hidden_size:2 * hidden_size].zero_()

    def forward(self, inputs: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if inputs.dim() != 2 or inputs.is_floating_point():
            raise ValueError(f"inputs must be (batch, time) symbol ids, got {inputs.dtype} {tuple(inputs.shape)}")
        x = F.one_hot(inputs, len(SYMBOLS)).float()
        if self.training and self.input_noise > 0:
            x = x + self.input_noise * torch.randn_like(x)
        h, _ = self.rnn(x)
        return self.out(h)

    def hand_layer(self) -> nn.Module:
        """The recurrent layer as a hand-built module (``ElmanRNN`` / ``GRU`` / ``LSTM``), weights copied."""
        from course_lib.models.deep import LAYER_KINDS

        return LAYER_KINDS[self.kind].from_torch(self.rnn)

    @torch.no_grad()
    def cell_states(self, inputs: torch.Tensor) -> torch.Tensor:
        """The LSTM's cell states c_t: ``inputs (batch, time) -> (batch, time, hidden)``."""
        if self.kind != "lstm":
            raise ValueError(f"only the LSTM has a cell state (this model is {self.kind!r})")
        x = F.one_hot(inputs, len(SYMBOLS)).float()
        _, _, cells = self.hand_layer()(x, return_cells=True)
        return cells


@torch.no_grad()
def predict_next(model: CountingModel, ns: Sequence[int], num_letters: int = 2) -> torch.Tensor:
    """Argmax next-symbol predictions for the strings ``n in ns``: ``(len(ns), time)`` ids (0 on padding)."""
    b = _batch(ns, num_letters)
    dev = next(model.parameters()).device
    with eval_mode(model):
        logits = model(b["inputs"].to(dev), b["mask"].to(dev)).cpu()
    return torch.where(b["mask"], logits.argmax(-1), torch.zeros_like(b["inputs"]))


def strings_correct(model: CountingModel, ns: Sequence[int], num_letters: int = 2) -> list[bool]:
    """For each ``n`` in ``ns``: are all deterministic predictions of its string right?"""
    ns = list(ns)
    b = _batch(ns, num_letters)
    pred = predict_next(model, ns, num_letters)
    det = torch.zeros_like(b["mask"])
    for i, n in enumerate(ns):
        det[i, : num_letters * n + 1] = torch.tensor(deterministic_mask(n, num_letters))
    ok = (pred == b["targets"]) | ~det
    return ok.all(1).tolist()


def largest_correct_n(correct: Sequence[bool] | CountingModel, num_letters: int = 2, max_n: int = 100,
                      chunk: int = 50) -> int:
    """The largest ``N`` such that the strings with ``n = 1 .. N`` are all correct (0 if ``n = 1`` fails).

    Args:
        correct: either ``correct[n - 1]`` for ``n = 1, 2, ...`` (a list of bools), or a model,
            which is then tested on ``n = 1 .. max_n`` (in chunks of ``chunk`` strings).
    """
    if isinstance(correct, nn.Module):
        flags: list[bool] = []
        for start in range(1, max_n + 1, chunk):
            flags += strings_correct(correct, range(start, min(start + chunk, max_n + 1)), num_letters)
            if not all(flags):
                break
        correct = flags
    largest = 0
    for ok in correct:
        if not ok:
            break
        largest += 1
    return largest


@dataclass
class CountingRun:
    """One trained model's result: ``largest_n`` is what :func:`largest_correct_n` measured."""

    kind: str
    num_letters: int
    seed: int
    largest_n: int
    final_loss: float
    seconds: float
    model: CountingModel | None = None


def _training_batches(num_letters: int, train_max_n: int, batch_size: int, n_batches: int, seed: int
                      ) -> list[dict[str, torch.Tensor]]:
    rng = random.Random(seed)
    return [_batch([rng.randint(1, train_max_n) for _ in range(batch_size)], num_letters) for _ in range(n_batches)]


def _ce_loss(model: CountingModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    logits = model(batch["inputs"], batch["mask"])
    return masked_cross_entropy(logits, batch["targets"], batch["mask"]), batch["mask"].sum()


def allowed_next(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The set of symbols that may come next, as a 0/1 tensor ``(batch, time, 6)``.

    Where the prefix determines the next symbol this is the one-hot target; while reading a's
    (input ``a``) both ``a`` and ``b`` are allowed.
    """
    allowed = F.one_hot(targets, len(SYMBOLS)).float()
    reading_a = inputs == _ID["a"]
    allowed[..., _ID["a"]] = torch.where(reading_a, 1.0, allowed[..., _ID["a"]])
    allowed[..., _ID["b"]] = torch.where(reading_a, 1.0, allowed[..., _ID["b"]])
    return allowed


def _set_loss(model: CountingModel, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Binary cross-entropy of each symbol being a possible next symbol (Gers & Schmidhuber's targets)."""
    logits = model(batch["inputs"], batch["mask"])
    target = allowed_next(batch["inputs"], batch["targets"])
    per = F.binary_cross_entropy_with_logits(logits, target, reduction="none").sum(-1)
    mask = batch["mask"]
    return (per * mask).sum() / mask.sum(), mask.sum()


LOSSES = {"next": _ce_loss, "set": _set_loss}


def train_counting(kind: str, num_letters: int = 2, seed: int = 0, hidden_size: int = 8, steps: int = 1000,
                   train_max_n: int = 10, batch_size: int = 32, lr: float = 0.05, max_n: int = 100,
                   clip_grad_norm: float = 1.0, keep_model: bool = True, loss: str = "set",
                   input_noise: float = 0.2, forget_bias: float | None = 2.0) -> CountingRun:
    """Train one model on ``n = 1 .. train_max_n`` (through ``course_lib.train.fit``, fixed ``steps``) and
    measure how far it generalises (``largest_correct_n`` up to ``max_n``). CPU, deterministic per seed.

    ``loss="set"`` (default) trains each output ``sigmoid(o_t)`` to say whether a symbol may come
    next (while reading a's both ``a`` and ``b`` may); ``loss="next"`` is the usual softmax
    cross-entropy with the actual next symbol. Either way, predictions are the argmax of ``o_t``.
    The learning rate decays linearly to 0 over ``steps``. ``input_noise`` (training only) and
    ``forget_bias`` (LSTM only; ignored for the other kinds, which have no forget gate) are passed to
    :class:`CountingModel`; ``input_noise=0, forget_bias=None`` trains without either."""
    import time

    from course_lib.train import fit

    _check_n_k(train_max_n, num_letters)
    torch.manual_seed(seed)
    model = CountingModel(kind, hidden_size, input_noise=input_noise,
                          forget_bias=forget_bias if kind == "lstm" else None)
    batches = _training_batches(num_letters, train_max_n, batch_size, min(steps, 200), seed)
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: max(0.0, 1.0 - step / steps))
    t0 = time.perf_counter()
    hist = fit(model, LOSSES[loss], batches, opt, steps=steps, scheduler=sched, clip_grad_norm=clip_grad_norm,
               device="cpu",
               amp=False, log_every=max(1, steps // 10), progress=False, live_plot=False)
    largest = largest_correct_n(model, num_letters, max_n=max_n)
    return CountingRun(kind, num_letters, seed, largest, hist.last_train_loss, time.perf_counter() - t0,
                       model if keep_model else None)


def counting_experiment(kinds: Sequence[str] = ("elman", "gru", "lstm"), num_letters: int = 2,
                        seeds: Sequence[int] = (0, 1, 2, 3, 4), verbose: bool = True, **train_kwargs
                        ) -> list[CountingRun]:
    """:func:`train_counting` for every kind and seed; prints one line per run when ``verbose``."""
    runs = []
    for kind in kinds:
        for seed in seeds:
            run = train_counting(kind, num_letters, seed, **train_kwargs)
            runs.append(run)
            if verbose:
                print(f"{'a^n b^n' + (' c^n' if num_letters == 3 else ''):12s} {kind:6s} seed {seed}: "
                      f"all correct up to n = {run.largest_n:4d}  (loss {run.final_loss:.3f}, {run.seconds:.1f} s)")
    return runs
