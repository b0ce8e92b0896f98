"""Character-level data for next-character language models, and what a compressor needs per character.

The corpus is Python's standard-library source (:func:`~course_lib.data.corpora.stdlib_code_text`);
the vocabulary is a :class:`~course_lib.data.vocab.Vocab` over characters (so ``<pad>`` is 0 and the
characters start at id 4). The text is split by position: the first part trains, the last part is
held out, so held-out numbers are measured on code from files the model never saw.
"""
from __future__ import annotations

import lzma
import math
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from course_lib.data.corpora import stdlib_code_text
from course_lib.data.vocab import Vocab

__all__ = ["char_vocab", "encode_text", "decode_ids", "CharWindows", "CharStreams", "CharData", "char_lm_data",
           "compressed_bits_per_char", "nats_to_bits"]


def char_vocab(text: str) -> Vocab:
    """A vocabulary of the characters of ``text`` (most frequent first, after the 4 reserved ids)."""
    if not isinstance(text, str) or not text:
        raise ValueError("char_vocab needs a non-empty str")
    return Vocab.from_counts(Counter(text))


def encode_text(vocab: Vocab, text: str) -> torch.Tensor:
    """``text`` -> ``(len(text),)`` long ids (unseen characters become ``<unk>``)."""
    return torch.tensor(vocab.encode(list(text)), dtype=torch.long)


def decode_ids(vocab: Vocab, ids: torch.Tensor | list[int]) -> str:
    """``(n,)`` ids -> text; reserved ids are dropped, ``<unk>`` is shown as ``?``."""
    if isinstance(ids, torch.Tensor):
        ids = ids.flatten().tolist()
    return "".join("?" if i == vocab.unk_id else c for i, c in zip(ids, vocab.decode(ids))
                   if i == vocab.unk_id or i >= 4)


class CharWindows(torch.utils.data.Dataset):
    """Non-overlapping windows over a long id sequence, for teacher forcing.

    Item ``i`` is ``(x, y)`` with ``x = ids[s : s + seq_len]`` and ``y = ids[s + 1 : s + seq_len + 1]``,
    ``s = i * seq_len``: the target at every step is the next character.

    Args:
        ids: ``(n,)`` long.
        seq_len: the window length (time steps per training sequence).
    """

    def __init__(self, ids: torch.Tensor, seq_len: int):
        if not isinstance(ids, torch.Tensor) or ids.dim() != 1:
            raise ValueError("ids must be a 1-D tensor of character ids")
        if not isinstance(seq_len, int) or seq_len < 1:
            raise ValueError(f"seq_len must be a positive int, got {seq_len!r}")
        if len(ids) < seq_len + 1:
            raise ValueError(f"need at least seq_len + 1 = {seq_len + 1} ids, got {len(ids)}")
        self.ids, self.seq_len = ids, seq_len

    def __len__(self) -> int:
        return (len(self.ids) - 1) // self.seq_len

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"window {i} out of range (0..{len(self) - 1})")
        s = (i % len(self)) * self.seq_len
        return self.ids[s:s + self.seq_len], self.ids[s + 1:s + self.seq_len + 1]


class CharStreams:
    """Consecutive windows of parallel streams, in text order: the batches of *stateful* training
    (truncated backpropagation through time, as in Karpathy's min-char-rnn).

    The ids are cut into ``batch_size`` contiguous streams of equal length (row ``i`` is the ``i``-th
    piece of the text, the rest is dropped). Batch ``k`` holds window ``k`` of every stream, so row
    ``i`` of batch ``k + 1`` is the text that follows row ``i`` of batch ``k``: a model can start each
    batch from the previous batch's final state (see :class:`course_lib.lm.TruncatedBPTTLoss`).

    Each batch is ``(x, y, first)``: ``x, y: (batch_size, seq_len)`` long with ``y`` = ``x`` shifted by
    one character, and ``first`` (a bool) is True for the first window of a pass, where the state
    must start again from ``h_0``. Iterating again starts a new pass from the beginning.

    Args:
        ids: ``(n,)`` long.
        batch_size: the number of parallel streams.
        seq_len: time steps per window (how far back the gradient flows).
    """

    def __init__(self, ids: torch.Tensor, batch_size: int, seq_len: int):
        if not isinstance(ids, torch.Tensor) or ids.dim() != 1:
            raise ValueError("ids must be a 1-D tensor of character ids")
        for name, v in (("batch_size", batch_size), ("seq_len", seq_len)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        per = len(ids) // batch_size
        if per < seq_len + 1:
            raise ValueError(f"need at least batch_size * (seq_len + 1) = {batch_size * (seq_len + 1)} ids, "
                             f"got {len(ids)}")
        self.streams = ids[: per * batch_size].view(batch_size, per)
        self.batch_size, self.seq_len = batch_size, seq_len

    def __len__(self) -> int:
        return (self.streams.shape[1] - 1) // self.seq_len

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, bool]]:
        for k in range(len(self)):
            s = k * self.seq_len
            yield self.streams[:, s:s + self.seq_len], self.streams[:, s + 1:s + self.seq_len + 1], k == 0


@dataclass
class CharData:
    """A character corpus split by position.

    Attributes:
        vocab: the character :class:`Vocab` (built on the training text only).
        train_text, heldout_text: the two parts of the text.
        train_ids, heldout_ids: the same, as ``(n,)`` long tensors.
    """

    vocab: Vocab
    train_text: str
    heldout_text: str
    train_ids: torch.Tensor
    heldout_ids: torch.Tensor


def char_lm_data(max_chars: int = 1_000_000, heldout_fraction: float = 0.1, text: str | None = None) -> CharData:
    """Standard-library source code (or ``text``) for a next-character language model.

    Args:
        max_chars: how much of the stdlib text to use.
        heldout_fraction: the last fraction of the text is held out.
        text: use this text instead of the stdlib code.
    """
    if not 0 < heldout_fraction < 1:
        raise ValueError(f"heldout_fraction must be in (0, 1), got {heldout_fraction}")
    if text is None:
        text = stdlib_code_text(max_chars=max_chars)
    cut = int(len(text) * (1 - heldout_fraction))
    train_text, heldout_text = text[:cut], text[cut:]
    if len(heldout_text) < 2 or len(train_text) < 2:
        raise ValueError(f"text of {len(text)} characters is too short to split")
    vocab = char_vocab(train_text)
    return CharData(vocab, train_text, heldout_text, encode_text(vocab, train_text),
                    encode_text(vocab, heldout_text))


def compressed_bits_per_char(text: str, method: str = "xz", context: str = "") -> float:
    """Bits per character a general-purpose compressor needs for ``text``.

    Args:
        text: the text to compress (ASCII or UTF-8).
        method: ``"xz"`` (LZMA, Python's ``lzma``, strongest preset) or ``"gzip"`` (DEFLATE, ``zlib`` level 9).
        context: text the compressor may read first for free (like a model's training data):
            the answer is ``size(context + text) - size(context)``. Note DEFLATE only looks 32 KB back.

    Returns:
        ``8 * compressed_bytes / len(text)``.
    """
    if not text:
        raise ValueError("compressed_bits_per_char needs a non-empty text")
    if method == "xz":
        def size(s: str) -> int:
            return len(lzma.compress(s.encode("utf-8"), preset=9 | lzma.PRESET_EXTREME)) if s else 0
    elif method == "gzip":
        def size(s: str) -> int:
            return len(zlib.compress(s.encode("utf-8"), 9)) if s else 0
    else:
        raise ValueError(f"method must be 'xz' or 'gzip', got {method!r}")
    nbytes = size(context + text) - size(context)
    return 8.0 * nbytes / len(text)


def nats_to_bits(nats: float) -> float:
    """Convert a cross-entropy in nats (natural log) to bits: divide by ln 2."""
    return nats / math.log(2)
