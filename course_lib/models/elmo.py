"""An ELMo-style bidirectional language model and what lecture 7 builds on it.

Pieces, bottom to top:

- :func:`encode_chars`: words -> UTF-8 byte ids with begin/end-of-word markers, so *any* word
  (also one never seen in training) has an input.
- :class:`CharCNN`: character embeddings, 1-D convolutions of several widths, a max-pool over the
  character positions (padded characters masked out), a highway layer and a projection: the
  layer-0 token vector ``x_t``.
- :class:`BiLM`: a 2-layer forward LSTM language model (predicts ``w_{t+1}`` from ``w_1..w_t``)
  and a *separate* 2-layer backward one (predicts ``w_{t-1}`` from ``w_t..w_T``). Both share the
  character encoder and the output softmax, never each other's states.
- :class:`ScalarMix`: ``gamma * sum_j softmax(w)_j h_j`` over the layers.
- :func:`layer_representations`: the three layers ELMo mixes, all of size ``2 * hidden``;
  :func:`bilm_perplexity`: held-out perplexity of each direction.

Around the model, each in its own module: the contextual-similarity analysis
(:mod:`course_lib.contextual`), the hand-labelled senses (:mod:`course_lib.data.senses`) and the
training recipe with its cache (:mod:`course_lib.recipes.bilm`, :func:`pretrained_bilm`). Their
names stay importable from here (``from course_lib.models.elmo import pretrained_bilm``).

The output layer is a full softmax over a *capped* vocabulary (the most frequent words;
the rest are predicted as ``<unk>``). On a corpus of 0.4 M tokens a 5 k-word softmax (86 % of
the running words) is cheap enough on a CPU, gives an exact perplexity, and keeps the code short; sampled or
adaptive softmax pay off for vocabularies of 10^5-10^6 words.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data.masks import lengths_to_mask, mask_lengths, reverse_padded
from course_lib.data.senses import SENSE_EXAMPLES, sense_sentences
from course_lib.lazy import moved_names
from course_lib.models.base import eval_mode
from course_lib.models.losses import masked_cross_entropy

__all__ = [
    "CHAR_PAD", "BOW", "EOW", "N_CHAR_IDS", "encode_chars", "CharCNN", "Highway", "BiLMConfig", "BiLM",
    "BiLMOutput", "reverse_padded", "ScalarMix", "layer_representations", "bilm_perplexity",
    "SENSE_EXAMPLES", "sense_sentences",
]

# moved out of this module; still importable from here (lecture 7 and assignment 4 do)
__getattr__, __dir__ = moved_names(__name__, {
    **dict.fromkeys(["within_across_similarity", "context_parts", "nearest_tokens", "token_vectors",
                     "embed_sentences"], "course_lib.contextual"),
    "cosine_matrix": ("course_lib.embeddings", "cosine_similarity"),
    **dict.fromkeys(["pretrained_bilm", "lm_chunks", "save_bilm", "load_bilm"], "course_lib.recipes.bilm"),
})

# character ids: 0 = padding, 1 = begin of word, 2 = end of word, 3 + byte for each UTF-8 byte
CHAR_PAD, BOW, EOW = 0, 1, 2
N_CHAR_IDS = 3 + 256


def encode_chars(sentences: Sequence[Sequence[str]], max_chars: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """Tokenised sentences -> character ids, padded in both directions.

    Each word becomes ``[BOW, 3 + byte_1, ..., 3 + byte_n, EOW]`` (its UTF-8 bytes; a word
    longer than ``max_chars - 2`` bytes keeps its first ``max_chars - 2``), right-padded with
    ``CHAR_PAD`` = 0; sentences are right-padded with all-zero words.

    Args:
        sentences: ``batch`` lists of word strings (may differ in length; none may be empty).
        max_chars: characters per word including the two markers (>= 3).

    Returns:
        chars: ``(batch, time, max_chars)`` long.
        mask: ``(batch, time)`` bool, True on real words.
    """
    if isinstance(sentences, str) or (len(sentences) > 0 and isinstance(sentences[0], str)):
        raise TypeError("encode_chars expects a list of tokenised sentences (lists of str), e.g. [['the', 'bank']]")
    if max_chars < 3:
        raise ValueError(f"max_chars must be >= 3 (two markers and a character), got {max_chars}")
    if len(sentences) == 0:
        raise ValueError("encode_chars got no sentences")
    lengths = [len(s) for s in sentences]
    if min(lengths) == 0:
        raise ValueError(f"sentence {lengths.index(0)} is empty; every sentence needs at least one word")
    chars = torch.zeros(len(sentences), max(lengths), max_chars, dtype=torch.long)
    cache: dict[str, list[int]] = {}
    for i, sent in enumerate(sentences):
        for t, word in enumerate(sent):
            ids = cache.get(word)
            if ids is None:
                if not isinstance(word, str) or not word:
                    raise ValueError(f"sentence {i}, position {t}: words must be non-empty str, got {word!r}")
                ids = [BOW] + [3 + b for b in word.encode("utf-8")[: max_chars - 2]] + [EOW]
                cache[word] = ids
            chars[i, t, : len(ids)] = torch.tensor(ids)
    return chars, lengths_to_mask(torch.tensor(lengths))


class Highway(nn.Module):
    """One highway layer: ``y = g * relu(A x) + (1 - g) * x`` with the gate ``g = sigmoid(B x)``.

    Shapes: ``x: (..., dim) -> (..., dim)``.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.transform = nn.Linear(dim, dim)
        self.gate = nn.Linear(dim, dim)
        nn.init.constant_(self.gate.bias, -1.0)  # start close to the identity (carry the input)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = torch.sigmoid(self.gate(x))
        return g * F.relu(self.transform(x)) + (1 - g) * x


class CharCNN(nn.Module):
    """The character-aware token encoder: a word's characters -> one vector (layer 0).

    For each filter width ``k`` a 1-D convolution slides over the character embeddings; the
    window starting at character ``p`` covers characters ``p .. p+k-1`` (zeros past the end).
    Only windows that *start on a real character* count: the max-pool over positions ignores
    the others, so the vector of a word does not depend on how much padding follows it.
    Then ``tanh``, an optional highway layer, a linear projection to ``out_dim`` and a layer
    normalisation (which keeps the LSTMs' inputs at a scale where their gates do not saturate;
    without it, Adam quickly grows the projection until they do and the LM stops learning).

    Args:
        out_dim: size of the token vector.
        char_dim: size of a character embedding.
        filters: ``(width, n_filters)`` pairs.
        highway: add one :class:`Highway` layer.

    Shapes: ``chars: (batch, time, n_chars) long -> (batch, time, out_dim)``; an all-padding
    word (a padded time step) gets a constant vector (it is masked later anyway).
    """

    def __init__(self, out_dim: int = 128, char_dim: int = 16,
                 filters: Sequence[tuple[int, int]] = ((1, 32), (2, 32), (3, 64), (4, 64), (5, 64)),
                 highway: bool = True):
        super().__init__()
        if not filters:
            raise ValueError("CharCNN needs at least one (width, n_filters) pair")
        self.char_dim, self.out_dim = char_dim, out_dim
        self.filters = [(int(k), int(n)) for k, n in filters]
        self.embed = nn.Embedding(N_CHAR_IDS, char_dim, padding_idx=CHAR_PAD)
        self.convs = nn.ModuleList(nn.Conv1d(char_dim, n, kernel_size=k) for k, n in self.filters)
        n_total = sum(n for _, n in self.filters)
        self.highway = Highway(n_total) if highway else None
        self.proj = nn.Linear(n_total, out_dim)
        self.norm = nn.LayerNorm(out_dim)

    def pooled_features(self, chars: torch.Tensor) -> torch.Tensor:
        """The max-pooled convolution features, before tanh. ``(batch, time, n_chars) -> (batch, time, n_total)``."""
        if chars.dim() != 3 or chars.is_floating_point():
            raise ValueError(f"chars must be a long tensor (batch, time, n_chars), got "
                             f"{tuple(chars.shape)} {chars.dtype}")
        b, t, n_chars = chars.shape
        flat = chars.reshape(b * t, n_chars)
        char_mask = flat != CHAR_PAD                        # (b*t, n_chars): real characters
        e = self.embed(flat).transpose(1, 2)                # (b*t, char_dim, n_chars)
        pooled = []
        for (k, _), conv in zip(self.filters, self.convs):
            c = conv(F.pad(e, (0, k - 1)))                  # (b*t, n_filters, n_chars): window p starts at char p
            c = c.masked_fill(~char_mask.unsqueeze(1), float("-inf"))
            m = c.max(dim=2).values                         # (b*t, n_filters)
            pooled.append(torch.where(torch.isinf(m), torch.zeros_like(m), m))  # all-padding words -> 0
        return torch.cat(pooled, dim=1).reshape(b, t, -1)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        h = torch.tanh(self.pooled_features(chars))
        if self.highway is not None:
            h = self.highway(h)
        return self.norm(self.proj(h))


@dataclass
class BiLMConfig:
    """Sizes of a :class:`BiLM` (also the key of its cache file)."""

    vocab_size: int = 5_000
    dim: int = 128            # layer-0 token vector and LSTM hidden size, per direction
    char_dim: int = 16
    filters: tuple = ((1, 32), (2, 32), (3, 64), (4, 64), (5, 64))
    max_chars: int = 16
    highway: bool = True
    dropout: float = 0.1

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["filters"] = [list(f) for f in self.filters]
        return d


@dataclass
class BiLMOutput:
    """What :meth:`BiLM.forward` returns (all batch-first).

    layer0: ``(batch, time, dim)`` the character encoder's token vectors.
    forward: two tensors ``(batch, time, dim)``: forward-LM layer 1 and 2 states; position ``t``
        has seen words ``1..t`` only.
    backward: two tensors ``(batch, time, dim)``: backward-LM layer 1 and 2 states, already put
        back in reading order; position ``t`` has seen words ``t..T`` only.
    mask: ``(batch, time)`` bool.
    """

    layer0: torch.Tensor
    forward: list[torch.Tensor] = field(default_factory=list)
    backward: list[torch.Tensor] = field(default_factory=list)
    mask: torch.Tensor | None = None


class BiLM(nn.Module):
    """ELMo-style bidirectional LSTM language model.

    ``x_t = CharCNN(chars of w_t)``; the forward LM runs two stacked LSTMs left to right and
    predicts ``w_{t+1}`` from its top state at ``t``; the backward LM runs two other LSTMs right
    to left and predicts ``w_{t-1}``. As in ELMo, layer 2 adds its input back (a residual
    connection, ``h2 = LSTM2(h1) + h1``): without it a 2-layer LM on this small corpus sits on the
    unigram plateau (perplexity of word frequencies) for hundreds of steps. The two directions
    share the character encoder and the output layer ``softmax(c + V h)`` over a capped
    vocabulary, nothing else.

    Shapes: ``chars: (batch, time, max_chars)``, ``mask: (batch, time)`` (True on real words,
    a prefix of each row) -> :class:`BiLMOutput`.
    """

    def __init__(self, config: BiLMConfig | None = None):
        super().__init__()
        self.config = cfg = config or BiLMConfig()
        self.encoder = CharCNN(cfg.dim, cfg.char_dim, cfg.filters, cfg.highway)
        self.forward_lstms = nn.ModuleList([nn.LSTM(cfg.dim, cfg.dim, batch_first=True) for _ in range(2)])
        self.backward_lstms = nn.ModuleList([nn.LSTM(cfg.dim, cfg.dim, batch_first=True) for _ in range(2)])
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.dim, cfg.vocab_size)   # shared by both directions: V, c

    def forward(self, chars: torch.Tensor, mask: torch.Tensor | None = None) -> BiLMOutput:
        if chars.dim() != 3:
            raise ValueError(f"chars must be (batch, time, max_chars), got shape {tuple(chars.shape)}")
        if mask is None:
            mask = (chars != CHAR_PAD).any(dim=2)
        lengths = mask_lengths(mask, tuple(chars.shape[:2]), "chars' (batch, time)")
        x0 = self.encoder(chars)                                    # (b, t, dim)
        fwd = self._stack(self.forward_lstms, x0)
        bwd = self._stack(self.backward_lstms, reverse_padded(x0, lengths))   # read each sentence right to left
        bwd = [reverse_padded(s, lengths) for s in bwd]                        # back to reading order
        return BiLMOutput(x0, fwd, bwd, mask)

    def _stack(self, lstms: nn.ModuleList, h: torch.Tensor) -> list[torch.Tensor]:
        """Run ``h: (b, t, dim)`` through the stacked LSTMs of one direction; every layer's output.
        Layers above the first add their input back (the residual connection, as in ELMo)."""
        outs = []
        for j, lstm in enumerate(lstms):
            y, _ = lstm(self.drop(h))
            h = y + h if j > 0 else y
            outs.append(h)
        return outs

    def lm_losses(self, chars: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor, int]:
        """Mean next-word (forward) and previous-word (backward) cross-entropies.

        Args:
            chars: ``(batch, time, max_chars)``.
            targets: ``(batch, time)`` word ids in the capped vocabulary (``<unk>`` = 1 for the rest).
            mask: ``(batch, time)`` bool (default: words with characters).

        Returns:
            ``(forward_loss, backward_loss, n)`` with ``n`` the predicted words per direction.
        """
        out = self(chars, mask)
        m = out.mask[:, 1:]                                          # pairs (t, t+1) both real
        if not m.any():
            raise ValueError("every sequence has one word: there is nothing to predict")
        logits_f = self.out(self.drop(out.forward[-1][:, :-1]))     # state at t predicts w_{t+1}
        logits_b = self.out(self.drop(out.backward[-1][:, 1:]))     # state at t+1 predicts w_t
        loss_f = masked_cross_entropy(logits_f, targets[:, 1:], m)
        loss_b = masked_cross_entropy(logits_b, targets[:, :-1], m)
        return loss_f, loss_b, int(m.sum())


def layer_representations(out: BiLMOutput) -> torch.Tensor:
    """The three layers ELMo mixes, all of size ``2 * dim``.

    Layer 0 is the character encoder's vector duplicated (``[x_t ; x_t]``), so that it has the
    size of the others; layers 1 and 2 are ``[forward_j(t) ; backward_j(t)]``.

    Returns:
        ``(3, batch, time, 2 * dim)``.
    """
    x0 = out.layer0
    layers = [torch.cat([x0, x0], dim=-1)]
    layers += [torch.cat([f, b], dim=-1) for f, b in zip(out.forward, out.backward)]
    return torch.stack(layers)


class ScalarMix(nn.Module):
    """``gamma * sum_j softmax(w)_j h_j``: a learned, normalised weighting of the layers.

    ``w`` starts at 0 (all layers weighted equally) and ``gamma`` at 1.

    Shapes: ``layers: (n_layers, ..., dim)`` (a stacked tensor or a list of equal-shape
    tensors) -> ``(..., dim)``.
    """

    def __init__(self, n_layers: int = 3):
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        self.n_layers = n_layers
        self.w = nn.Parameter(torch.zeros(n_layers))
        self.gamma = nn.Parameter(torch.ones(()))

    def weights(self) -> torch.Tensor:
        """``softmax(w)``: ``(n_layers,)``, sums to 1."""
        return torch.softmax(self.w, dim=0)

    def forward(self, layers: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        if not isinstance(layers, torch.Tensor):
            layers = torch.stack(list(layers))
        if layers.shape[0] != self.n_layers:
            raise ValueError(f"ScalarMix was built for {self.n_layers} layers, got {layers.shape[0]} "
                             f"(layers must be (n_layers, ..., dim))")
        s = self.weights().view(-1, *([1] * (layers.dim() - 1)))
        return self.gamma * (s * layers).sum(dim=0)


@torch.no_grad()
def bilm_perplexity(model: BiLM, loader: Any) -> dict[str, float]:
    """Held-out perplexity of each direction: ``exp`` of the mean cross-entropy per predicted word."""
    device = next(model.parameters()).device
    tot_f = tot_b = 0.0
    count = 0
    with eval_mode(model):
        for batch in loader:
            batch = {k: v.to(device) for k, v in batch.items()}
            lf, lb, n = model.lm_losses(batch["chars"], batch["targets"], batch["mask"])
            tot_f += float(lf) * n
            tot_b += float(lb) * n
            count += n
    return {"forward": math.exp(tot_f / count), "backward": math.exp(tot_b / count)}
