"""A character-level RNN language model (tanh, GRU or LSTM), its loss, and held-out bits per character.

    x_t = one-hot(w_t)   a_t = b + W h_{t-1} + U x_t   h_t = tanh(a_t)   o_t = c + V h_t   y_hat_t = softmax(o_t)

Trained by maximum likelihood with teacher forcing: the input at step t is the true character
w_t and the target is w_{t+1}; the loss is the mean of -log p(w_{t+1} | w_<=t) over all steps.

:class:`CharRNNLM` is lecture 3's tanh RNN by default; lecture 6 uses the same class with a GRU or an
LSTM layer, learned input vectors tied to the output layer, and dropout. :func:`bits_per_char` scores
held-out text with fixed weights; :func:`dynamic_bits_per_char` lets the model keep learning from the
text it has already scored, as a compressor does.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data.chars import nats_to_bits
from course_lib.models.base import TORCH_LAYERS, eval_mode, set_keep_bias
from course_lib.models.deep import LAYER_KINDS

__all__ = ["CharRNNLM", "char_lm_loss", "TruncatedBPTTLoss", "bits_per_char", "dynamic_bits_per_char",
           "scheduled_sampling_loss"]


State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]  # h, or an LSTM's (h, s)


class CharRNNLM(nn.Module):
    """A one-layer recurrent character model with a softmax output layer: ``o_t = c + V h_t``.

    Args:
        vocab_size: V, the number of character ids.
        hidden_size: the state size.
        impl: ``"torch"`` (``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM``, fast) or ``"hand"`` (the hand-built
            :class:`~course_lib.models.rnn.ElmanRNN` / :class:`~course_lib.models.gated.GRU` /
            :class:`~course_lib.models.gated.LSTM`; same numbers, slower).
        learn_h0: learn the initial state h_0 (a parameter) instead of starting from zeros
            (``kind="elman"`` or ``"gru"`` only).
        kind: the recurrent layer, ``"elman"`` (tanh, the default), ``"gru"`` or ``"lstm"``.
        embed_size: None feeds one-hot characters ``x_t``; a size E feeds learned vectors
            ``x_t = E[w_t]`` (an ``nn.Embedding(V, E)``, ``self.embed``).
        dropout: the probability of zeroing each input vector entry and each ``h_t`` entry before
            the output layer, in training mode only (dropout on the non-recurrent connections,
            Zaremba et al. 2014). 0 turns it off.
        tie_weights: share one matrix between the input embedding and the output layer
            (``out.weight is embed.weight``, Press & Wolf 2017; Inan et al. 2017); needs
            ``embed_size == hidden_size``.
        keep_bias: GRU / LSTM with ``impl="torch"`` only: the initial bias of the gate that keeps the
            old state (the LSTM's forget gate, the GRU's update gate; see
            :func:`~course_lib.models.base.set_keep_bias`). None keeps PyTorch's initialisation.

    ``self.out`` is the output layer: ``out.weight`` is ``V`` ``(vocab, hidden)``, ``out.bias`` is ``c``.
    The state passed between calls is ``h: (batch, hidden)``, for the LSTM the pair ``(h, s)`` of the
    hidden and the cell state (PyTorch's ``(h, c)``).
    """

    def __init__(self, vocab_size: int, hidden_size: int, impl: str = "torch", learn_h0: bool = False,
                 kind: str = "elman", embed_size: int | None = None, dropout: float = 0.0,
                 tie_weights: bool = False, keep_bias: float | None = None):
        super().__init__()
        if impl not in ("torch", "hand"):
            raise ValueError(f"impl must be 'torch' or 'hand', got {impl!r}")
        if kind not in TORCH_LAYERS:
            raise ValueError(f"kind must be one of {sorted(TORCH_LAYERS)}, got {kind!r}")
        if learn_h0 and kind == "lstm":
            raise ValueError("learn_h0 is for kind='elman' or 'gru' (an LSTM's state is the pair (h, s))")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        if keep_bias is not None and (kind == "elman" or impl != "torch"):
            raise ValueError(f"keep_bias is for kind='gru' or 'lstm' with impl='torch', got {kind!r}, {impl!r}")
        if tie_weights and embed_size != hidden_size:
            raise ValueError(f"tie_weights needs embed_size == hidden_size ({hidden_size}), got {embed_size!r}")
        self.vocab_size, self.hidden_size, self.impl, self.kind = vocab_size, hidden_size, impl, kind
        self.embed = nn.Embedding(vocab_size, embed_size) if embed_size is not None else None
        if self.embed is not None:  # small, as in PyTorch's word_language_model: N(0, 1) vectors, tied
            nn.init.uniform_(self.embed.weight, -0.1, 0.1)  # to the output, would start with huge logits
        input_size = vocab_size if embed_size is None else embed_size
        if impl == "torch":
            self.rnn: nn.Module = TORCH_LAYERS[kind](input_size, hidden_size, batch_first=True)
        else:
            self.rnn = LAYER_KINDS[kind](input_size, hidden_size)
        if keep_bias is not None:
            set_keep_bias(self.rnn, keep_bias)
        self.h0 = nn.Parameter(torch.zeros(hidden_size)) if learn_h0 else None
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, vocab_size)
        if tie_weights:
            assert self.embed is not None
            self.out.weight = self.embed.weight  # one (vocab, hidden) matrix, used twice

    def initial_state(self, batch: int, device: torch.device | None = None) -> State:
        """h_0: ``(batch, hidden)`` -- zeros, or the learned vector repeated; for the LSTM ``(h_0, s_0)``, zeros."""
        if self.h0 is not None:
            return self.h0.unsqueeze(0).expand(batch, -1)
        zeros = torch.zeros(batch, self.hidden_size, device=device or self.out.weight.device)
        return (zeros, zeros.clone()) if self.kind == "lstm" else zeros

    def inputs(self, x: torch.Tensor) -> torch.Tensor:
        """``x: (batch, time)`` ids -> the layer's inputs ``(batch, time, V or E)`` (one-hot or embedded,
        dropout applied in training mode)."""
        if self.embed is None:
            return self.drop(F.one_hot(x, self.vocab_size).to(self.out.weight.dtype))
        return self.drop(self.embed(x))

    def hidden_states(self, x: torch.Tensor, h: State | None = None) -> tuple[torch.Tensor, State]:
        """``x: (batch, time)`` ids -> ``(states (batch, time, hidden), last state)``.

        The last state is ``h_last: (batch, hidden)``, or ``(h_last, s_last)`` for the LSTM."""
        if x.dim() != 2 or x.dtype != torch.long:
            raise ValueError(f"x must be (batch, time) long ids, got {tuple(x.shape)} {x.dtype}")
        if h is None:
            h = self.initial_state(x.shape[0], x.device)
        inp = self.inputs(x)
        if self.impl == "hand":
            return self.rnn(inp, h)
        if isinstance(h, tuple):
            states, (h_n, s_n) = self.rnn(inp, (h[0].unsqueeze(0).contiguous(), h[1].unsqueeze(0).contiguous()))
            return states, (h_n[0], s_n[0])
        states, h_last = self.rnn(inp, h.unsqueeze(0).contiguous())
        return states, h_last[0]

    def forward(self, x: torch.Tensor, h: State | None = None) -> tuple[torch.Tensor, State]:
        """``x: (batch, time)`` ids, ``h`` the state or None -> ``(logits (batch, time, V), last state)``."""
        states, h_last = self.hidden_states(x, h)
        return self.out(self.drop(states)), h_last


def char_lm_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Teacher-forcing loss for :func:`course_lib.train.fit`: mean cross-entropy (nats) over every step.

    Args:
        batch: ``(x, y)``, both ``(batch, time)`` long; ``y`` is ``x`` shifted by one character.

    Returns:
        ``(mean_loss, number_of_predicted_characters)``.
    """
    x, y = batch
    logits, _ = model(x)
    return F.cross_entropy(logits.flatten(0, 1), y.flatten()), y.numel()


def _detach(state: Any) -> Any:
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(_detach(s) for s in state)
    raise TypeError(f"cannot detach a state of type {type(state).__name__}")


class TruncatedBPTTLoss:
    """Teacher-forcing loss for *stateful* training (truncated BPTT), a ``loss_fn`` for :func:`~course_lib.train.fit`.

    Each batch of :class:`~course_lib.data.chars.CharStreams` continues the text of the one before,
    so the model starts it from the previous batch's final state instead of ``h_0``. The state is
    **detached**: its value flows forward across windows, but the gradient stops at the window's
    start (it flows back at most ``seq_len`` steps). The state starts again from ``h_0`` when a
    batch says it is the first of a pass (and after ``fit`` resumes from a checkpoint).

    A batch of independent windows ``(x, y)`` (e.g. fit's validation loader) is scored from ``h_0``
    exactly as :func:`char_lm_loss` does, and leaves the carried state alone.

    Call: ``loss(model, (x, y, first)) -> (mean_loss, number_of_predicted_characters)`` with
    ``x, y: (batch, time)`` long; the model has ``forward(x, h) -> (logits (batch, time, V), h_last)``.
    """

    def __init__(self) -> None:
        self.state: Any = None

    def reset(self) -> None:
        """Forget the carried state (the next batch starts from ``h_0``)."""
        self.state = None

    def __call__(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, int]:
        if len(batch) == 2:
            return char_lm_loss(model, batch)
        if len(batch) != 3:
            raise ValueError("TruncatedBPTTLoss expects batches (x, y, first) from CharStreams, or (x, y)")
        x, y, first = batch
        if bool(first) or self.state is None:
            h = None
        else:
            h = self.state
            rows = (h[0] if isinstance(h, (tuple, list)) else h).shape[-2]
            if rows != x.shape[0]:
                raise ValueError(f"the carried state is for {rows} streams, this batch has {x.shape[0]}: "
                                 "every batch must hold the same streams")
        logits, h_last = model(x, h)
        self.state = _detach(h_last)
        return F.cross_entropy(logits.flatten(0, 1), y.flatten()), y.numel()


@torch.no_grad()
def bits_per_char(model: nn.Module, ids: torch.Tensor, n_streams: int = 16, chunk: int = 256) -> float:
    """Held-out cross-entropy of a character LM in bits per character.

    The text is cut into ``n_streams`` contiguous pieces that are read in parallel, ``chunk``
    characters at a time, carrying the state from chunk to chunk (so every character is predicted
    from all the text before it in its piece). Each piece's first character is not scored.

    Args:
        model: ``forward(x: (batch, time), h) -> (logits (batch, time, V), h)``.
        ids: ``(n,)`` long, the held-out text.

    Returns:
        ``-(1/N) sum log2 p(w_{t+1} | w_<=t)`` over the N scored characters.
    """
    total, count, h = 0.0, 0, None
    with eval_mode(model):
        for x, y in _stream_chunks(ids, n_streams, chunk, next(model.parameters()).device):
            logits, h = model(x, h)
            total += float(F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), reduction="sum"))
            count += y.numel()
    return nats_to_bits(total / count)


def _stream_chunks(ids: torch.Tensor, n_streams: int, chunk: int, device: torch.device
                   ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``ids: (n,)`` cut into ``n_streams`` contiguous pieces, read ``chunk`` characters at a time:
    yields ``(x, y)``, each ``(n_streams, <= chunk)``, ``y`` the character after each ``x``."""
    if ids.dim() != 1 or len(ids) < 2 * n_streams:
        raise ValueError(f"ids must be 1-D with at least {2 * n_streams} characters, got shape {tuple(ids.shape)}")
    per = len(ids) // n_streams
    streams = ids[: per * n_streams].view(n_streams, per).to(device)
    for s in range(0, per - 1, chunk):
        x = streams[:, s:min(s + chunk, per - 1)]
        yield x, streams[:, s + 1:s + 1 + x.shape[1]]


def dynamic_bits_per_char(model: nn.Module, ids: torch.Tensor, lr: float = 1e-3, n_streams: int = 4,
                          chunk: int = 64) -> float:
    """Held-out bits per character with **dynamic evaluation** (Mikolov 2010; Krause et al. 2018): the
    model keeps learning from the held-out text *after* predicting it, as a compressor such as xz adapts
    to the text it compresses.

    The text is read like :func:`bits_per_char` (``n_streams`` pieces in parallel, ``chunk`` characters
    at a time, the state carried). Each chunk is first scored with the current weights, then one Adam
    step (learning rate ``lr``, gradient norm clipped at 1) is taken on that chunk's loss. Every
    character is therefore predicted only from text before it (in the order chunk by chunk), so the
    number is still a valid code length. The model is copied first: ``model`` itself is not changed.

    Args:
        model: ``forward(x: (batch, time), state) -> (logits (batch, time, V), state)``.
        ids: ``(n,)`` long, the held-out text.
        lr: Adam's learning rate for the updates (0 gives :func:`bits_per_char`'s number).

    Returns:
        ``-(1/N) sum log2 p(w_{t+1} | w_<=t)`` over the N scored characters.
    """
    if lr < 0:
        raise ValueError(f"lr must be >= 0, got {lr!r}")
    adapted = copy.deepcopy(model).eval()  # eval: no dropout while adapting
    opt = torch.optim.Adam(adapted.parameters(), lr=lr)
    total, count, h = 0.0, 0, None
    for x, y in _stream_chunks(ids, n_streams, chunk, next(adapted.parameters()).device):
        logits, h = adapted(x, h)
        loss = F.cross_entropy(logits.flatten(0, 1).float(), y.flatten())
        total += float(loss.detach()) * y.numel()
        count += y.numel()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(adapted.parameters(), 1.0)
        opt.step()
        h = _detach(h)
    return nats_to_bits(total / count)


def scheduled_sampling_loss(model: nn.Module, batch: tuple[torch.Tensor, torch.Tensor], p_own: float,
                            generator: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
    """Cross-entropy when the model is fed its *own* sampled predictions with probability ``p_own``.

    ``p_own = 0`` is teacher forcing (same value as :func:`char_lm_loss`); ``p_own = 1`` is pure
    student forcing (every input after the first is the model's previous sample). Scheduled
    sampling raises ``p_own`` from 0 during training. The targets are always the true text.

    Args:
        batch: ``(x, y)``, both ``(batch, time)`` long, ``y`` = ``x`` shifted by one.
        p_own: probability of replacing each true input by the model's sample, in ``[0, 1]``.
        generator: for the samples and the coin flips.

    Returns:
        ``(mean_loss, number_of_predicted_characters)``. Runs one step at a time (slow).
    """
    if not 0.0 <= p_own <= 1.0:
        raise ValueError(f"p_own must be in [0, 1], got {p_own}")
    from course_lib.generate import sample_next

    x, y = batch
    inp, h, losses = x[:, 0], None, []
    for t in range(x.shape[1]):
        logits, h = model(inp.unsqueeze(1), h)
        logits = logits[:, 0]
        losses.append(F.cross_entropy(logits, y[:, t], reduction="none"))
        if t + 1 < x.shape[1]:
            own = sample_next(logits.detach(), 1.0, generator=generator)
            coin = torch.rand(x.shape[0], generator=generator, device=x.device if generator is None else "cpu")
            inp = torch.where(coin.to(x.device) < p_own, own, x[:, t + 1])
    return torch.stack(losses, 1).mean(), y.numel()
