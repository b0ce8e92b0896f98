"""A vocabulary with reserved ids and a simple word tokenizer.

Reserved ids (always the first four): ``<pad>`` = 0, ``<unk>`` = 1, ``<bos>`` = 2, ``<eos>`` = 3.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch

__all__ = ["Vocab", "tokenize", "split_sentences", "PAD", "UNK", "BOS", "EOS"]

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
SPECIALS = (PAD, UNK, BOS, EOS)

_TOKEN_RE = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?|[^\sa-z0-9]", re.UNICODE)
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+(?:[.,]\d+)*|[^\w\s]", re.UNICODE)
_SENT_RE = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")


def tokenize(text: str, lower: bool = True, keep_punct: bool = True) -> list[str]:
    """Split text into word tokens.

    Words (letters, with an inner apostrophe: ``don't``), numbers (``1,000``, ``3.5``)
    and, if ``keep_punct``, single punctuation marks are tokens.

    >>> tokenize("The cat's mat, 3.5 m wide!")
    ['the', "cat's", 'mat', ',', '3.5', 'm', 'wide', '!']
    """
    if not isinstance(text, str):
        raise TypeError(f"tokenize expects a str, got {type(text).__name__}")
    if lower:
        text = text.lower()
    toks = _WORD_RE.findall(text)
    if not keep_punct:
        toks = [t for t in toks if t[0].isalnum()]
    return toks


def split_sentences(text: str) -> list[str]:
    """Split running text into sentences at ``.``, ``!`` or ``?`` followed by a capital or digit."""
    out: list[str] = []
    for para in re.split(r"\n\s*\n|\n", text):
        para = para.strip()
        if para:
            out.extend(s.strip() for s in _SENT_RE.split(para) if s.strip())
    return out


class Vocab:
    """Maps tokens to ids and back.

    The first four ids are reserved: ``<pad>`` = 0, ``<unk>`` = 1, ``<bos>`` = 2, ``<eos>`` = 3.
    Other tokens follow in order of decreasing count (ties broken alphabetically,
    so the same counts always give the same vocabulary).

    Build one with :meth:`from_counts` or :meth:`from_corpus`.
    """

    pad_id, unk_id, bos_id, eos_id = 0, 1, 2, 3

    def __init__(self, tokens: Sequence[str], counts: dict[str, int] | None = None):
        tokens = list(tokens)
        if tokens[: len(SPECIALS)] != list(SPECIALS):
            tokens = list(SPECIALS) + [t for t in tokens if t not in SPECIALS]
        if len(set(tokens)) != len(tokens):
            dup = [t for t, c in Counter(tokens).items() if c > 1][:5]
            raise ValueError(f"Vocab tokens must be unique; repeated: {dup}")
        self.itos: list[str] = tokens
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(tokens)}
        self.counts: dict[str, int] = dict(counts or {})

    # construction -------------------------------------------------------
    @classmethod
    def from_counts(cls, counts: dict[str, int] | Counter, min_count: int = 1,
                    max_size: int | None = None) -> Vocab:
        """Keep tokens seen at least ``min_count`` times, the ``max_size`` most frequent at most.

        ``max_size`` counts the four reserved tokens too.
        """
        if min_count < 1:
            raise ValueError(f"min_count must be >= 1, got {min_count}")
        if max_size is not None and max_size < len(SPECIALS):
            raise ValueError(f"max_size must be >= {len(SPECIALS)} (the reserved tokens), got {max_size}")
        kept = sorted(((t, c) for t, c in counts.items() if c >= min_count and t not in SPECIALS),
                      key=lambda tc: (-tc[1], tc[0]))
        if max_size is not None:
            kept = kept[: max_size - len(SPECIALS)]
        return cls(list(SPECIALS) + [t for t, _ in kept], counts={t: c for t, c in kept})

    @classmethod
    def from_corpus(cls, sentences: Iterable[Sequence[str]], min_count: int = 1,
                    max_size: int | None = None) -> Vocab:
        """Count tokens over tokenised sentences, then :meth:`from_counts`."""
        counts: Counter = Counter()
        n = 0
        for s in sentences:
            if isinstance(s, str):
                raise TypeError("from_corpus expects tokenised sentences (lists of str), got a str; "
                                "call tokenize() first")
            counts.update(s)
            n += 1
        if n == 0:
            raise ValueError("from_corpus got no sentences")
        return cls.from_counts(counts, min_count=min_count, max_size=max_size)

    # lookup -------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __getitem__(self, token: str) -> int:
        """Id of ``token``; unknown tokens map to ``<unk>`` (1)."""
        return self.stoi.get(token, self.unk_id)

    def __repr__(self) -> str:
        head = ", ".join(self.itos[4:10])
        return f"Vocab(size={len(self)}, first words: {head}{', ...' if len(self) > 10 else ''})"

    def count(self, token: str) -> int:
        """How often ``token`` was seen when the vocabulary was built (0 if unknown)."""
        return self.counts.get(token, 0)

    def encode(self, tokens: Sequence[str], add_bos: bool = False, add_eos: bool = False,
               strict: bool = False) -> list[int]:
        """Token list -> id list. Unknown tokens become ``<unk>`` unless ``strict``.

        Raises:
            KeyError: with ``strict=True``, naming the first unknown token.
        """
        if isinstance(tokens, str):
            raise TypeError("encode expects a list of tokens, got a str; call tokenize() first")
        ids = []
        for t in tokens:
            i = self.stoi.get(t)
            if i is None:
                if strict:
                    raise KeyError(f"token {t!r} is not in the vocabulary (size {len(self)})")
                i = self.unk_id
            ids.append(i)
        if add_bos:
            ids.insert(0, self.bos_id)
        if add_eos:
            ids.append(self.eos_id)
        return ids

    def decode(self, ids: Sequence[int] | torch.Tensor, skip_special: bool = False) -> list[str]:
        """Id list (or 1-D tensor) -> token list.

        Raises:
            IndexError: naming the id if one is outside ``[0, len(vocab))``.
        """
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(f"decode expects a 1-D sequence of ids, got a tensor of shape {tuple(ids.shape)}")
            ids = ids.tolist()
        out = []
        for i in ids:
            if not isinstance(i, int) or isinstance(i, bool):
                raise TypeError(f"ids must be ints, got {i!r} ({type(i).__name__})")
            if not 0 <= i < len(self.itos):
                raise IndexError(f"id {i} is outside the vocabulary (valid ids are 0..{len(self.itos) - 1})")
            if skip_special and i < len(SPECIALS):
                continue
            out.append(self.itos[i])
        return out
