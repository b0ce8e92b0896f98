"""The encoder-decoder (sequence to sequence), with a fixed summary C or with attention.

**Encoder.** The source tokens are embedded and read by a bidirectional GRU (padding skipped with
``pack_padded_sequence``). Its states ``h_1 .. h_S`` (forward and backward concatenated, size
``M = 2 * hidden``) are the *memory*; the two final states, concatenated, are the summary ``C``.

**Decoder.** A GRU language model over the target, conditioned on the source:

- *without attention* (``attention=None``) the source reaches the decoder only through ``C``: the
  initial state is ``s_0 = tanh(W_b C)`` and ``C`` is appended to every input (as in Cho et al.
  2014), so ``C`` must hold everything about the input;
- *with attention* (``"additive"`` or ``"dot"``, Luong et al. 2015's arrangement) each decoder state
  ``s_t`` attends over the memory, ``c_t = sum_j alpha_tj h_j``, and the output is read from
  ``tanh(W_c [s_t ; c_t])``: the decoder can look at any source position at every step.

Training uses teacher forcing (:mod:`course_lib.data.pairs`): all steps of the decoder run at once
on the true previous tokens, so a batch costs one GRU call plus the attention. Generation goes
through :mod:`course_lib.generate` (one step function for greedy decoding and for beam search): see
:func:`greedy_decode` and :func:`beam_decode`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from course_lib.data.batching import lengths_to_mask, masked_cross_entropy
from course_lib.data.vocab import Vocab
from course_lib.generate import beam_search, generate
from course_lib.models.attention import Attention

__all__ = ["Encoded", "Seq2Seq", "ScriptedDecoder", "seq2seq_loss", "greedy_decode", "beam_decode",
           "teacher_forced_predictions"]

DecoderState = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]  # (s, memory, mask, C)


@dataclass
class Encoded:
    """What the encoder hands the decoder.

    Attributes:
        memory: ``(batch, S, M)`` the encoder states ``h_1 .. h_S`` (zeros at padding).
        mask: ``(batch, S)`` bool, True on real source positions.
        summary: ``(batch, M)`` the fixed summary ``C``.
    """

    memory: torch.Tensor
    mask: torch.Tensor
    summary: torch.Tensor


class Seq2Seq(nn.Module):
    """A bidirectional GRU encoder and a GRU decoder, with attention or with a fixed summary.

    Args:
        src_vocab_size, tgt_vocab_size: vocabulary sizes (pad id 0 in both).
        embed_size: the size of the source and target embeddings.
        hidden_size: the encoder's state size per direction; the memory and the decoder state have
            size ``M = 2 * hidden_size``.
        attention: ``"additive"``, ``"dot"`` or ``None`` (fixed summary C only).
        dropout: dropout on the embeddings and before the output layer while training.
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, embed_size: int = 64, hidden_size: int = 128,
                 attention: str | None = "additive", dropout: float = 0.0):
        super().__init__()
        if attention not in ("additive", "dot", None):
            raise ValueError(f"attention must be 'additive', 'dot' or None, got {attention!r}")
        for name, v in (("src_vocab_size", src_vocab_size), ("tgt_vocab_size", tgt_vocab_size),
                        ("embed_size", embed_size), ("hidden_size", hidden_size)):
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        m = 2 * hidden_size
        self.attention_kind = attention
        self.src_embed = nn.Embedding(src_vocab_size, embed_size, padding_idx=0)
        self.encoder = nn.GRU(embed_size, hidden_size, batch_first=True, bidirectional=True)
        self.tgt_embed = nn.Embedding(tgt_vocab_size, embed_size, padding_idx=0)
        self.bridge = nn.Linear(m, m)                      # s_0 = tanh(W_b C)
        self.decoder = nn.GRU(embed_size + (m if attention is None else 0), m, batch_first=True)
        self.attention = Attention(attention, m, m) if attention is not None else None
        self.combine = nn.Linear(2 * m, m) if attention is not None else None   # tanh(W_c [s_t; c_t])
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(m, tgt_vocab_size)

    # --- encoder -----------------------------------------------------------------------------

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> Encoded:
        """``src: (batch, S)`` long, ``src_lengths: (batch,)`` -> :class:`Encoded`."""
        if src.dim() != 2 or src.dtype != torch.long:
            raise ValueError(f"src must be (batch, S) long ids, got {tuple(src.shape)} {src.dtype}")
        if src_lengths.shape != src.shape[:1]:
            raise ValueError(f"src_lengths must be (batch,) = ({src.shape[0]},), got {tuple(src_lengths.shape)}")
        if (src_lengths < 1).any():
            raise ValueError("every source needs at least one token (got a length of 0)")
        x = self.drop(self.src_embed(src))
        packed = pack_padded_sequence(x, src_lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, h = self.encoder(packed)
        memory, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        summary = torch.cat([h[0], h[1]], dim=-1)          # last forward state, last backward state
        return Encoded(memory, lengths_to_mask(src_lengths, src.shape[1]).to(src.device), summary)

    # --- decoder -----------------------------------------------------------------------------

    def _inputs(self, tokens: torch.Tensor, summary: torch.Tensor) -> torch.Tensor:
        e = self.drop(self.tgt_embed(tokens))                               # (batch, T, E)
        if self.attention is None:
            e = torch.cat([e, summary.unsqueeze(1).expand(-1, tokens.shape[1], -1)], dim=-1)
        return e

    def _read_out(self, states: torch.Tensor, enc: Encoded) -> tuple[torch.Tensor, torch.Tensor | None]:
        attend = self.attention
        if not isinstance(attend, Attention):
            return self.out(self.drop(states)), None
        context, weights = attend(states, enc.memory, enc.mask)            # (batch, T, M), (batch, T, S)
        combine = self.combine
        assert combine is not None  # made together with the attention
        mixed = torch.tanh(combine(torch.cat([states, context], dim=-1)))
        return self.out(self.drop(mixed)), weights

    def initial_state(self, enc: Encoded) -> torch.Tensor:
        """``s_0 = tanh(W_b C)``: ``(batch, M)``."""
        return torch.tanh(self.bridge(enc.summary))

    def decode(self, enc: Encoded, tgt_in: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher forcing: every decoder step at once on the given previous tokens.

        Args:
            enc: the encoder's output.
            tgt_in: ``(batch, T)`` long, ``<bos> y_1 .. y_{T-1}`` (padded).

        Returns:
            logits: ``(batch, T, V)``; weights: ``(batch, T, S)`` attention weights (None without attention).
        """
        s0 = self.initial_state(enc).unsqueeze(0).contiguous()
        states, _ = self.decoder(self._inputs(tgt_in, enc.summary), s0)
        return self._read_out(states, enc)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(src (batch, S), src_lengths (batch,), tgt_in (batch, T))`` -> ``(logits (batch, T, V), weights)``."""
        return self.decode(self.encode(src, src_lengths), tgt_in)

    # --- one step at a time, for course_lib.generate ----------------------------------------

    def start(self, src: torch.Tensor, src_lengths: torch.Tensor) -> DecoderState:
        """The decoder state before the first step: ``(s_0, memory, mask, C)``, batch first in every tensor
        (so beam search can reorder it with ``index_select`` along dim 0)."""
        enc = self.encode(src, src_lengths)
        return self.initial_state(enc), enc.memory, enc.mask, enc.summary

    def step(self, tokens: torch.Tensor, state: DecoderState) -> tuple[torch.Tensor, DecoderState]:
        """One decoder step, the step-function interface of :mod:`course_lib.generate`.

        Args:
            tokens: ``(batch,)`` long, the previous output token of each row.
            state: from :meth:`start` or the previous step.

        Returns:
            ``(logits (batch, V), new state)``.
        """
        s, memory, mask, summary = state
        enc = Encoded(memory, mask, summary)
        states, h = self.decoder(self._inputs(tokens.unsqueeze(1), summary), s.unsqueeze(0).contiguous())
        logits, _ = self._read_out(states, enc)
        return logits[:, 0], (h[0], memory, mask, summary)


class ScriptedDecoder(nn.Module):
    """A stand-in with :class:`Seq2Seq`'s ``start`` / ``step`` interface whose row ``i`` plays back
    ``scripts[i]`` whatever it is fed (then ``filler`` for ever): a known answer for testing decoding loops.

    Args:
        scripts: one list of token ids per row of the batch it will be given.
        vocab_size: the size of the logits.
        filler: the token every row produces once its script has run out.
    """

    def __init__(self, scripts: Sequence[Sequence[int]], vocab_size: int, filler: int = 1):
        super().__init__()
        if any(not 0 <= t < vocab_size for s in scripts for t in s) or not 0 <= filler < vocab_size:
            raise ValueError(f"script tokens and filler must be ids in [0, {vocab_size})")
        self.scripts = [list(s) for s in scripts]
        self.vocab_size, self.filler = vocab_size, filler

    def start(self, src: torch.Tensor, src_lengths: torch.Tensor) -> torch.Tensor:
        """The state is the number of steps taken so far: ``(batch,)`` zeros."""
        if src.shape[0] != len(self.scripts):
            raise ValueError(f"this decoder has {len(self.scripts)} scripts, got a batch of {src.shape[0]}")
        return torch.zeros(src.shape[0], dtype=torch.long)

    def step(self, tokens: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """-> ``(logits (batch, V)`` with 5.0 on the scripted token and 0 elsewhere``, state + 1)``."""
        logits = torch.zeros(len(state), self.vocab_size)
        for i, t in enumerate(state.tolist()):
            script = self.scripts[i]
            logits[i, script[t] if t < len(script) else self.filler] = 5.0
        return logits, state + 1


def seq2seq_loss(model: Seq2Seq, batch: dict) -> tuple[torch.Tensor, int]:
    """For :func:`course_lib.train.fit`: teacher-forced cross-entropy averaged over the real target tokens.

    Args:
        batch: from :func:`course_lib.data.pairs.collate_pairs`.
    """
    logits, _ = model(batch["src"], batch["src_lengths"], batch["tgt_in"])
    mask = batch["tgt_mask"]
    return masked_cross_entropy(logits, batch["tgt_out"], mask), int(mask.sum())


def _cut_at_eos(ids: Sequence[int], eos_id: int) -> list[int]:
    ids = list(ids)
    return ids[:ids.index(eos_id)] if eos_id in ids else ids


@torch.no_grad()
def greedy_decode(model: Seq2Seq, src: torch.Tensor, src_lengths: torch.Tensor, max_len: int,
                  bos_id: int = Vocab.bos_id, eos_id: int = Vocab.eos_id) -> list[list[int]]:
    """Argmax decoding of a batch through :func:`course_lib.generate.generate` (``temperature=0``).

    Args:
        src: ``(batch, S)``; src_lengths: ``(batch,)``.
        max_len: at most this many output tokens per row (``<eos>`` not counted).

    Returns:
        One list of ids per row, up to (not including) its first ``<eos>``.
    """
    was_training = model.training
    model.eval()
    try:
        state = model.start(src, src_lengths)
        first = torch.full((src.shape[0],), bos_id, dtype=torch.long, device=src.device)
        out = generate(model.step, first, max_len + 1, state=state, temperature=0, eos_id=eos_id)
    finally:
        model.train(was_training)
    return [_cut_at_eos(row, eos_id)[:max_len] for row in out.tolist()]


@torch.no_grad()
def beam_decode(model: Seq2Seq, src: Sequence[int] | torch.Tensor, max_len: int, beam_width: int = 5,
                bos_id: int = Vocab.bos_id, eos_id: int = Vocab.eos_id) -> list[int]:
    """The most likely output of one source sequence under :func:`course_lib.generate.beam_search`.

    Args:
        src: ``(S,)`` source ids.
        max_len: at most this many output tokens (``<eos>`` not counted).

    Returns:
        The best hypothesis' ids without ``<eos>``. (``beam_width=1`` is greedy decoding.)
    """
    device = next(model.parameters()).device
    src_t = torch.as_tensor(src, dtype=torch.long, device=device).view(1, -1)
    was_training = model.training
    model.eval()
    try:
        state = model.start(src_t, torch.tensor([src_t.shape[1]], device=device))
        best = beam_search(model.step, bos_id, max_len + 1, beam_width=beam_width, state=state, eos_id=eos_id)[0]
    finally:
        model.train(was_training)
    return _cut_at_eos(best.tokens, eos_id)[:max_len]


@torch.no_grad()
def teacher_forced_predictions(model: Seq2Seq, batch: dict) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The argmax at every step when the decoder is fed the *true* previous tokens, and the attention.

    Returns:
        ``(pred (batch, T) long, weights (batch, T, S) or None)``, aligned with ``batch["tgt_out"]``.
    """
    was_training = model.training
    model.eval()
    try:
        logits, weights = model(batch["src"], batch["src_lengths"], batch["tgt_in"])
    finally:
        model.train(was_training)
    return logits.argmax(-1), weights
