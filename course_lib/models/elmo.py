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
- :func:`layer_representations`: the three layers ELMo mixes, all of size ``2 * hidden``.
- contextual-similarity helpers (:func:`cosine_matrix`, :func:`within_across_similarity`,
  :func:`nearest_tokens`) and :func:`pretrained_bilm`, which trains a biLM on the Wikipedia
  extract once and reloads it from :func:`course_lib.data.cache_dir` afterwards.

The output layer is a full softmax over a *capped* vocabulary (the most frequent words;
the rest are predicted as ``<unk>``). On a corpus of 0.4 M tokens a 5 k-word softmax (86 % of
the running words) is cheap enough on a CPU, gives an exact perplexity, and keeps the code short; sampled or
adaptive softmax pay off for vocabularies of 10^5-10^6 words.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data.masks import lengths_to_mask, mask_lengths, reverse_padded
from course_lib.models.losses import masked_cross_entropy
from course_lib.models.base import eval_mode

__all__ = [
    "CHAR_PAD", "BOW", "EOW", "N_CHAR_IDS", "encode_chars", "CharCNN", "Highway", "BiLMConfig", "BiLM",
    "BiLMOutput", "reverse_padded", "ScalarMix", "layer_representations", "cosine_matrix",
    "within_across_similarity", "context_parts", "nearest_tokens", "lm_chunks", "pretrained_bilm", "bilm_perplexity",
    "token_vectors", "embed_sentences", "save_bilm", "load_bilm", "SENSE_EXAMPLES", "sense_sentences",
]

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


# --- contextual similarity ------------------------------------------------------

def cosine_matrix(a: torch.Tensor, b: torch.Tensor | None = None, eps: float = 1e-8) -> torch.Tensor:
    """All cosine similarities between the rows of ``a: (n, dim)`` and ``b: (m, dim)`` -> ``(n, m)``.

    ``b`` defaults to ``a``. A zero row gets similarity 0 with everything.
    """
    b = a if b is None else b
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"cosine_matrix expects (n, dim) and (m, dim), got {tuple(a.shape)} and {tuple(b.shape)}")
    an = a / a.norm(dim=1, keepdim=True).clamp_min(eps)
    bn = b / b.norm(dim=1, keepdim=True).clamp_min(eps)
    return an @ bn.T


def within_across_similarity(vectors: torch.Tensor, senses: Sequence[Any]) -> tuple[float, float]:
    """Mean cosine between occurrences of the *same* sense and between *different* senses.

    Args:
        vectors: ``(n, dim)`` one vector per occurrence of a word.
        senses: ``n`` sense labels (at least two occurrences of some sense, and two senses).

    Returns:
        ``(within, across)``: means over pairs ``i < j`` with equal / different labels
        (a pair of an occurrence with itself is never counted).
    """
    if vectors.dim() != 2 or len(senses) != vectors.shape[0]:
        raise ValueError(f"need vectors (n, dim) and n sense labels, got {tuple(vectors.shape)} and {len(senses)}")
    sim = cosine_matrix(vectors.detach().float())
    lab = list(senses)
    same = torch.tensor([[x == y for y in lab] for x in lab])
    upper = torch.ones_like(same).triu(diagonal=1)
    within, across = same & upper, ~same & upper
    if not within.any() or not across.any():
        raise ValueError("need at least two occurrences of one sense and two different senses")
    return float(sim[within].mean()), float(sim[across].mean())


def context_parts(vectors: torch.Tensor, rel_tol: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Split each occurrence's vector into the word's average and what the context added.

    Args:
        vectors: ``(layers, n, dim)``: one vector per layer for ``n`` occurrences of *one* word.
        rel_tol: a remainder shorter than ``rel_tol`` times the layer's mean vector length is float
            rounding (layer 0 gives every occurrence the same vector) and is set to exactly zero.

    Returns:
        ``(parts, share)``: ``parts: (layers, n, dim)`` is ``vectors`` minus the per-layer mean over the
        ``n`` occurrences; ``share: (layers,)`` is the mean of ``|part| / |vector|`` (0 for layer 0).
    """
    if vectors.dim() != 3 or vectors.shape[1] < 2:
        raise ValueError(f"need vectors (layers, n >= 2, dim), got {tuple(vectors.shape)}")
    v = vectors.detach().float()
    parts = v - v.mean(dim=1, keepdim=True)
    scale = v.norm(dim=2).mean(dim=1, keepdim=True)                      # (layers, 1)
    parts = torch.where((parts.norm(dim=2) <= rel_tol * scale).unsqueeze(-1), torch.zeros_like(parts), parts)
    share = (parts.norm(dim=2) / v.norm(dim=2).clamp_min(1e-12)).mean(dim=1)
    return parts, share


def nearest_tokens(query: torch.Tensor, bank: torch.Tensor, k: int = 5, exclude: Sequence[int] = ()
                   ) -> list[tuple[int, float]]:
    """The ``k`` rows of ``bank: (n, dim)`` most cosine-similar to ``query: (dim,)``.

    Returns:
        ``[(row, cosine), ...]`` best first, skipping the rows in ``exclude``.
    """
    if query.dim() != 1 or bank.dim() != 2 or bank.shape[1] != query.shape[0]:
        raise ValueError(f"need query (dim,) and bank (n, dim), got {tuple(query.shape)} and {tuple(bank.shape)}")
    sims = cosine_matrix(query.unsqueeze(0), bank)[0].clone()
    for i in exclude:
        sims[i] = float("-inf")
    top = torch.topk(sims, min(k, bank.shape[0] - len(set(exclude))))
    return [(int(i), float(s)) for s, i in zip(top.values, top.indices)]


@torch.no_grad()
def token_vectors(model: BiLM, sentences: Sequence[Sequence[str]], positions: Sequence[int],
                  batch_size: int = 64) -> torch.Tensor:
    """The per-layer vector of one chosen word in each sentence (model in eval mode).

    Args:
        sentences: tokenised sentences.
        positions: for each sentence, the index of the word of interest.

    Returns:
        ``(3, n_sentences, 2 * dim)``: layer 0, 1, 2 (see :func:`layer_representations`).
    """
    if len(sentences) != len(positions):
        raise ValueError(f"got {len(sentences)} sentences but {len(positions)} positions")
    device = next(model.parameters()).device
    rows = []
    with eval_mode(model):
        for s in range(0, len(sentences), batch_size):
            chars, mask = encode_chars(sentences[s:s + batch_size], model.config.max_chars)
            reps = layer_representations(model(chars.to(device), mask.to(device)))  # (3, b, t, 2d)
            pos = torch.tensor(positions[s:s + batch_size], device=device)
            rows.append(reps[:, torch.arange(len(pos), device=device), pos].cpu())
    return torch.cat(rows, dim=1)


@torch.no_grad()
def embed_sentences(model: BiLM, sentences: Sequence[Sequence[str]], batch_size: int = 64) -> torch.Tensor:
    """Per-layer vectors of every word of every sentence, concatenated in reading order.

    Returns:
        ``(3, n_words, 2 * dim)`` with ``n_words = sum(len(s) for s in sentences)``; row ``k`` is the
        ``k``-th word when the sentences are read one after the other.
    """
    device = next(model.parameters()).device
    rows = []
    with eval_mode(model):
        for s in range(0, len(sentences), batch_size):
            chars, mask = encode_chars(sentences[s:s + batch_size], model.config.max_chars)
            mask = mask.to(device)
            reps = layer_representations(model(chars.to(device), mask))    # (3, b, t, 2d)
            rows.append(reps[:, mask].cpu())                               # (3, real words, 2d), row-major
    return torch.cat(rows, dim=1)


# --- senses of ambiguous words in the Wikipedia extract ---------------------------
# Hand-labelled: each entry is a word, its sense, and a phrase (lower-case, no punctuation) that
# picks one sentence of course_lib.data.wiki_sentences() containing the word in that sense.
SENSE_EXAMPLES: dict[str, dict[str, list[str]]] = {
    "plant": {
        "living plant": ["pteridophyte and spermatophyte plant species", "the seed of a plant in the soil",
                         "the bay laurel plant was used", "often ingest aquatic plant material",
                         "unlike plant cells animal cells", "they protect the plant against water loss"],
        "factory": ["operates a large plant in gadsden", "aircraft assembly plant in mobile",
                    "the assembly plant is the company's first", "chemical plant in billingham",
                    "chernobyl nuclear power plant", "coal fired power plant in albania"],
    },
    "capital": {
        "city": ["the capital of alabama is montgomery", "austin is the capital of texas",
                 "its capital andorra la vella", "the capital city juneau",
                 "the confederate capital at richmond", "south of the capital algiers"],
        "letter": ["the modern capital letter", "the majuscule capital form", "in all capital letters",
                   "using o capital letter o", "a capital a is also typically", "in geometry capital a b c"],
    },
    "court": {
        "law court": ["the supreme court unanimously held", "us supreme court ruled in brown",
                      "federal court cases required", "a 1747 court case",
                      "bankruptcy court for the northern district", "won a 2004 court decision"],
        "royal court": ["his court biographers", "at the court of lycomedes", "to the court of his friend hermias",
                        "at his court in prague", "achilles prepares to defend the court"],
    },
    "power": {
        "political": ["came to power its leaders", "seized power in 1659", "executive power is exercised",
                      "legislative power is vested", "centralizes power in montgomery",
                      "removing the government from power"],
        "electric": ["hydroelectric power mineral water", "hydroelectric power potential", "electric power and light",
                     "the output power of an electric", "coal fired power plant", "the power watts consumed"],
    },
}


def sense_sentences(word: str, sentences: Sequence[Sequence[str]] | None = None,
                    window: int | None = None) -> tuple[list[list[str]], list[int], list[str]]:
    """The hand-labelled occurrences of ``word`` (see ``SENSE_EXAMPLES``), found in the corpus.

    Args:
        word: a key of ``SENSE_EXAMPLES``.
        sentences: the tokenised corpus (default :func:`course_lib.data.wiki_sentences`).
        window: keep at most this many words on either side of ``word`` (None: whole sentence).

    Returns:
        ``(sentences, positions, senses)``: one entry per labelled occurrence.
    """
    if word not in SENSE_EXAMPLES:
        raise KeyError(f"no hand-labelled senses for {word!r}; known words: {sorted(SENSE_EXAMPLES)}")
    if sentences is None:
        from course_lib.data import wiki_sentences

        sentences = wiki_sentences()
    joined = [" " + " ".join(s) + " " for s in sentences]
    out_s, out_p, out_l = [], [], []
    for sense, phrases in SENSE_EXAMPLES[word].items():
        for phrase in phrases:
            hits = [i for i, j in enumerate(joined) if f" {phrase} " in j]
            if not hits:
                raise ValueError(f"the phrase {phrase!r} ({word}, {sense}) is not in the corpus")
            sent = list(sentences[hits[0]])
            ptoks = phrase.split()
            start = next(i for i in range(len(sent)) if sent[i:i + len(ptoks)] == ptoks)
            pos = start + ptoks.index(word)
            if window is not None:
                lo = max(0, pos - window)
                sent, pos = sent[lo:pos + window + 1], pos - lo
            out_s.append(sent)
            out_p.append(pos)
            out_l.append(sense)
    return out_s, out_p, out_l


# --- training data, perplexity, cache ---------------------------------------------

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


def _make_collate(type_chars: torch.Tensor, type_targets: torch.Tensor):
    from course_lib.data.batching import pad_batch

    def collate(items: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        ids, lengths = pad_batch(list(items))
        mask = lengths_to_mask(lengths, ids.shape[1])
        chars = type_chars[ids] * mask.unsqueeze(-1)     # padded words: all-zero characters
        return {"chars": chars, "targets": type_targets[ids], "mask": mask}

    return collate


def _lm_loss(model: BiLM, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    lf, lb, n = model.lm_losses(batch["chars"], batch["targets"], batch["mask"])
    return (lf + lb) / 2, n


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


def save_bilm(path: Any, model: BiLM, vocab_itos: Sequence[str], info: dict[str, Any]) -> None:
    """Save weights, config, vocabulary and ``info`` (history, perplexities) to ``path`` atomically."""
    from course_lib.cache import atomic_save

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
    from course_lib.cache import cache_file, cached

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
    from course_lib.data import Vocab, wiki_sentences
    from course_lib.data.tasks import split_by_position
    from course_lib.env import choose_device
    from course_lib.train import fit, make_loader

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
