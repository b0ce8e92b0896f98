"""A character-level RNN language model, its loss, and held-out bits per character.

    x_t = one-hot(w_t)   a_t = b + W h_{t-1} + U x_t   h_t = tanh(a_t)   o_t = c + V h_t   y_hat_t = softmax(o_t)

Trained by maximum likelihood with teacher forcing: the input at step t is the true character
w_t and the target is w_{t+1}; the loss is the mean of -log p(w_{t+1} | w_<=t) over all steps.
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data.chars import nats_to_bits
from course_lib.models.base import eval_mode
from course_lib.models.rnn import ElmanRNN

__all__ = ["CharRNNLM", "char_lm_loss", "TruncatedBPTTLoss", "bits_per_char", "scheduled_sampling_loss"]


class CharRNNLM(nn.Module):
    """A one-layer Elman RNN over one-hot characters with a softmax output layer.

    Args:
        vocab_size: V, the number of character ids.
        hidden_size: the state size.
        impl: ``"torch"`` (``nn.RNN``, fast) or ``"hand"`` (:class:`~course_lib.models.rnn.ElmanRNN`).
        learn_h0: learn the initial state h_0 (a parameter) instead of starting from zeros.

    ``self.out`` is the output layer: ``out.weight`` is ``V`` ``(vocab, hidden)``, ``out.bias`` is ``c``.
    """

    def __init__(self, vocab_size: int, hidden_size: int, impl: str = "torch", learn_h0: bool = False):
        super().__init__()
        if impl not in ("torch", "hand"):
            raise ValueError(f"impl must be 'torch' or 'hand', got {impl!r}")
        self.vocab_size, self.hidden_size, self.impl = vocab_size, hidden_size, impl
        if impl == "torch":
            self.rnn: nn.Module = nn.RNN(vocab_size, hidden_size, batch_first=True)
        else:
            self.rnn = ElmanRNN(vocab_size, hidden_size)
        self.h0 = nn.Parameter(torch.zeros(hidden_size)) if learn_h0 else None
        self.out = nn.Linear(hidden_size, vocab_size)

    def initial_state(self, batch: int, device: torch.device | None = None) -> torch.Tensor:
        """h_0: ``(batch, hidden)`` -- zeros, or the learned vector repeated."""
        if self.h0 is not None:
            return self.h0.unsqueeze(0).expand(batch, -1)
        return torch.zeros(batch, self.hidden_size, device=device or self.out.weight.device)

    def hidden_states(self, x: torch.Tensor, h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x: (batch, time)`` ids -> ``(states (batch, time, hidden), h_last (batch, hidden))``."""
        if x.dim() != 2 or x.dtype != torch.long:
            raise ValueError(f"x must be (batch, time) long ids, got {tuple(x.shape)} {x.dtype}")
        if h is None:
            h = self.initial_state(x.shape[0], x.device)
        onehot = F.one_hot(x, self.vocab_size).to(self.out.weight.dtype)
        if self.impl == "torch":
            states, h_last = self.rnn(onehot, h.unsqueeze(0).contiguous())
            return states, h_last[0]
        return self.rnn(onehot, h)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x: (batch, time)`` ids, ``h: (batch, hidden)`` or None -> ``(logits (batch, time, V), h_last)``."""
        states, h_last = self.hidden_states(x, h)
        return self.out(states), h_last


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
    if ids.dim() != 1 or len(ids) < 2 * n_streams:
        raise ValueError(f"ids must be 1-D with at least {2 * n_streams} characters, got shape {tuple(ids.shape)}")
    device = next(model.parameters()).device
    per = len(ids) // n_streams
    streams = ids[: per * n_streams].view(n_streams, per).to(device)
    total, count, h = 0.0, 0, None
    with eval_mode(model):
        for s in range(0, per - 1, chunk):
            x = streams[:, s:min(s + chunk, per - 1)]
            y = streams[:, s + 1:s + 1 + x.shape[1]]
            logits, h = model(x, h)
            total += float(F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), reduction="sum"))
            count += y.numel()
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
