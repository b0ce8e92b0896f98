"""Unit tests of course_lib.embeddings: known answers, agreement with torch / gensim, bad inputs."""
from __future__ import annotations

import math

import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from course_lib.data.vocab import Vocab
from course_lib.embeddings import (
    char_ngrams,
    cooccurrence_counts,
    cosine_similarity,
    embed_lookup,
    keep_probability,
    mean_vector,
    nearest_neighbours,
    nearest_words,
    negative_sampling_loss,
    noise_distribution,
    one_hot,
    ppmi,
    similarity_spearman,
    truncated_svd,
)


# --- one_hot / embed_lookup ---------------------------------------------------------------------

def test_one_hot_known_answer():
    got = one_hot(torch.tensor([2, 0, 3]), 4)
    assert got.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
    assert got.dtype == torch.float32


def test_one_hot_any_shape_and_empty():
    ids = torch.tensor([[1, 2, 0], [0, 0, 4]])
    got = one_hot(ids, 5)
    assert got.shape == (2, 3, 5)
    assert torch.equal(got.argmax(-1), ids)
    assert got.sum().item() == 6
    assert one_hot(torch.zeros(0, dtype=torch.long), 3).shape == (0, 3)
    assert one_hot(torch.tensor(2), 3).tolist() == [0, 0, 1]


@pytest.mark.parametrize("ids, V, err", [
    (torch.tensor([0, 5]), 5, IndexError),
    (torch.tensor([-1]), 5, IndexError),
    (torch.tensor([0.0, 1.0]), 5, TypeError),
    ([0, 1], 5, TypeError),
    (torch.tensor([0]), 0, ValueError),
])
def test_one_hot_bad_input(ids, V, err):
    with pytest.raises(err):
        one_hot(ids, V)


def test_one_hot_error_names_valid_range():
    with pytest.raises(IndexError, match=r"0\.\.4"):
        one_hot(torch.tensor([7]), 5)


def test_embed_lookup_equals_nn_embedding():
    torch.manual_seed(0)
    emb = torch.nn.Embedding(11, 7)
    ids = torch.randint(0, 11, (3, 5))
    got = embed_lookup(ids, emb.weight.detach())
    assert got.shape == (3, 5, 7)
    assert torch.allclose(got, emb(ids).detach(), atol=1e-6)


def test_embed_lookup_bad_matrix():
    with pytest.raises(ValueError, match="V, dim"):
        embed_lookup(torch.tensor([0]), torch.zeros(3))
    with pytest.raises(IndexError):
        embed_lookup(torch.tensor([3]), torch.zeros(3, 2))


# --- cosine similarity / neighbours ------------------------------------------------------------

def test_cosine_known_values():
    a = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    b = torch.tensor([[0.0, 2.0], [3.0, 0.0], [-1.0, -1.0]])
    got = cosine_similarity(a, b)
    s = 1 / math.sqrt(2)
    expected = torch.tensor([[0.0, 1.0, -s], [s, s, -1.0]])
    assert torch.allclose(got, expected, atol=1e-6)


def test_cosine_matches_torch_batched():
    torch.manual_seed(1)
    a, b = torch.randn(2, 4, 6), torch.randn(2, 3, 6)
    got = cosine_similarity(a, b)
    ref = F.cosine_similarity(a[:, :, None, :], b[:, None, :, :], dim=-1)
    assert got.shape == (2, 4, 3)
    assert torch.allclose(got, ref, atol=1e-6)
    assert torch.allclose(cosine_similarity(a[0]).diagonal(), torch.ones(4), atol=1e-6)


def test_cosine_zero_vector_is_zero_not_nan():
    a = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    got = cosine_similarity(a)
    assert not torch.isnan(got).any()
    assert got[0].tolist() == [0.0, 0.0]
    assert got[1, 1].item() == pytest.approx(1.0)


def test_cosine_bad_shapes():
    with pytest.raises(ValueError, match="same vector size"):
        cosine_similarity(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match="rows, dim"):
        cosine_similarity(torch.zeros(3))


def _toy():
    vocab = Vocab(["<pad>", "<unk>", "<bos>", "<eos>", "cat", "dog", "car", "bus"])
    vecs = torch.tensor([[0, 0], [0, 0], [0, 0], [0, 0], [1.0, 0.1], [0.9, 0.2], [0.1, 1.0], [0.0, 0.8]])
    return vocab, vecs


def test_nearest_neighbours_excludes_query_and_orders():
    vocab, vecs = _toy()
    ids, scores = nearest_neighbours("cat", vecs, k=3, vocab=vocab, exclude=range(4))
    assert [vocab.itos[i] for i in ids.tolist()] == ["dog", "car", "bus"]
    assert scores[0] == pytest.approx(float(F.cosine_similarity(vecs[4], vecs[5], dim=0)), abs=1e-6)
    assert bool((scores[:-1] >= scores[1:]).all())
    assert [w for w, _ in nearest_words("bus", vecs, vocab, k=2)] == ["car", "dog"]


def test_nearest_neighbours_vector_query_keeps_all_rows():
    vocab, vecs = _toy()
    ids, _ = nearest_neighbours(torch.tensor([1.0, 0.1]), vecs, k=1)
    assert ids.tolist() == [4]


def test_nearest_neighbours_bad_input():
    vocab, vecs = _toy()
    with pytest.raises(KeyError, match="zebra"):
        nearest_neighbours("zebra", vecs, vocab=vocab)
    with pytest.raises(ValueError, match="vocab="):
        nearest_neighbours("cat", vecs)
    with pytest.raises(ValueError, match="k must be between 1 and 7"):
        nearest_neighbours(4, vecs, k=8)
    with pytest.raises(ValueError, match="vector of shape"):
        nearest_neighbours(torch.zeros(3), vecs)
    with pytest.raises(IndexError):
        nearest_neighbours(8, vecs)


def test_mean_vector_ignores_order_and_unknown():
    vocab, vecs = _toy()
    a = mean_vector(["cat", "dog", "bus"], vecs, vocab)
    b = mean_vector(["bus", "zebra", "cat", "dog"], vecs, vocab)
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match="none of the tokens"):
        mean_vector(["zebra"], vecs, vocab)


# --- co-occurrence / PPMI / SVD ------------------------------------------------------------------

def test_cooccurrence_counts_small():
    # ids 4 5 6 in one sentence, window 1: pairs (4,5), (5,6) both directions; <unk> (1) dropped
    c = cooccurrence_counts([[4, 1, 5, 6], [6]], vocab_size=7, window=1).toarray()
    expected = torch.zeros(7, 7)
    for a, b in [(4, 5), (5, 6)]:
        expected[a, b] = expected[b, a] = 1
    assert c.tolist() == expected.tolist()
    c2 = cooccurrence_counts([[4, 5, 6]], vocab_size=7, window=2).toarray()
    assert c2[4, 6] == 1 and c2[6, 4] == 1 and c2.sum() == 6


def test_cooccurrence_bad_input():
    with pytest.raises(ValueError, match="window"):
        cooccurrence_counts([[4, 5]], 6, window=0)
    with pytest.raises(ValueError, match="nothing to count"):
        cooccurrence_counts([[4], []], 6)
    with pytest.raises(IndexError):
        cooccurrence_counts([[4, 9]], 6)


def test_ppmi_known_value():
    counts = sp.csr_matrix([[0.0, 2.0, 1.0], [2.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    got = ppmi(counts, alpha=1.0).toarray()
    # total 6; P(0,1) = 2/6, P(0) = 3/6, P(1) = 2/6 -> log(2) ; P(0,2)=1/6, P(2)=1/6 -> log(2)
    assert got[0, 1] == pytest.approx(math.log(2))
    assert got[0, 2] == pytest.approx(math.log(2))
    assert got[1, 2] == 0.0
    with pytest.raises(ValueError, match="empty"):
        ppmi(sp.csr_matrix((3, 3)))


def test_truncated_svd_recovers_low_rank():
    torch.manual_seed(0)
    a = torch.randn(30, 2, dtype=torch.float64)
    m = sp.csr_matrix((a @ a.T).numpy())
    vecs = truncated_svd(m, dim=2, power=0.5)
    assert vecs.shape == (30, 2)
    # for a symmetric PSD matrix, (U S^0.5)(U S^0.5)^T reconstructs it
    assert torch.allclose(vecs.double() @ vecs.double().T, a @ a.T, atol=1e-4)
    with pytest.raises(ValueError, match="dim must be between"):
        truncated_svd(m, dim=30)


def test_similarity_spearman_perfect_and_coverage():
    vocab, vecs = _toy()
    pairs = [("cat", "dog", 9.0), ("cat", "car", 2.0), ("cat", "bus", 1.0), ("cat", "zebra", 5.0)]
    rho, n = similarity_spearman(vecs, vocab, pairs)
    assert n == 3
    assert rho == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 3"):
        similarity_spearman(vecs, vocab, pairs[:2])


# --- skip-gram / fastText pieces ----------------------------------------------------------------

def test_negative_sampling_loss_known_value():
    u = torch.tensor([[1.0, 0.0]])
    v_pos = torch.tensor([[2.0, 0.0]])  # score 2
    v_neg = torch.tensor([[[0.0, 1.0], [-1.0, 0.0]]])  # scores 0, -1
    expected = -math.log(1 / (1 + math.exp(-2))) - math.log(0.5) - math.log(1 / (1 + math.exp(-1)))
    assert negative_sampling_loss(u, v_pos, v_neg).item() == pytest.approx(expected, rel=1e-6)


def test_negative_sampling_loss_matches_bce_and_is_stable():
    torch.manual_seed(0)
    B, K, D = 5, 3, 4
    u, vp, vn = torch.randn(B, D), torch.randn(B, D), torch.randn(B, K, D)
    pos = (u * vp).sum(-1)
    neg = (vn @ u[:, :, None]).squeeze(-1)
    ref = (F.binary_cross_entropy_with_logits(pos, torch.ones(B), reduction="none")
           + F.binary_cross_entropy_with_logits(neg, torch.zeros(B, K), reduction="none").sum(-1)).mean()
    assert negative_sampling_loss(u, vp, vn).item() == pytest.approx(ref.item(), rel=1e-5)
    big = negative_sampling_loss(100 * u, 100 * vp, 100 * vn)
    assert torch.isfinite(big)


def test_negative_sampling_loss_bad_shapes():
    with pytest.raises(ValueError, match="v_neg must be"):
        negative_sampling_loss(torch.zeros(2, 3), torch.zeros(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="u and v_pos"):
        negative_sampling_loss(torch.zeros(2, 3), torch.zeros(3, 3), torch.zeros(2, 1, 3))
    with pytest.raises(ValueError, match="empty"):
        negative_sampling_loss(torch.zeros(0, 3), torch.zeros(0, 3), torch.zeros(0, 1, 3))


def test_keep_probability_formula_and_edges():
    counts = torch.tensor([1000.0, 10.0, 0.0, 1.0])
    got = keep_probability(counts, t=1e-2)
    total = 1011.0
    f0 = 1000 / total
    expected0 = math.sqrt(1e-2 / f0) + 1e-2 / f0
    assert got[0].item() == pytest.approx(expected0, rel=1e-6)
    assert got[1:].tolist() == [1.0, 1.0, 1.0]  # rare words and zero counts are always kept


def test_keep_probability_matches_gensim_formula():
    counts = torch.tensor([5000.0, 300.0, 40.0, 2.0])
    t = 1e-2
    threshold = t * counts.sum().item()
    gensim_style = [min(1.0, (math.sqrt(c / threshold) + 1) * threshold / c) for c in counts.tolist()]
    assert torch.allclose(keep_probability(counts, t), torch.tensor(gensim_style), atol=1e-6)


def test_noise_distribution():
    got = noise_distribution(torch.tensor([16.0, 1.0, 0.0]))
    assert got.tolist() == pytest.approx([8 / 9, 1 / 9, 0.0])
    assert noise_distribution(torch.tensor([3, 1]), power=1.0).tolist() == pytest.approx([0.75, 0.25])
    assert noise_distribution(torch.rand(50) * 100).sum().item() == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("bad, match", [
    (torch.zeros(0), "empty"),
    (torch.zeros(3), "all zero"),
    (torch.tensor([1.0, -1.0]), "non-negative"),
    (torch.ones(2, 2), "1-D"),
])
def test_counts_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        noise_distribution(bad)
    with pytest.raises(ValueError, match=match):
        keep_probability(bad)


def test_char_ngrams_known():
    assert char_ngrams("where", 3, 4) == ["<wh", "whe", "her", "ere", "re>", "<whe", "wher", "here", "ere>"]
    assert char_ngrams("ab") == ["<ab", "ab>", "<ab>"]
    assert char_ngrams("") == []


@pytest.mark.parametrize("word", ["where", "a", "ab", "naïve", "Übermensch", "東京タワー", "extraordinarily", ""])
@pytest.mark.parametrize("minn, maxn", [(3, 6), (1, 2), (2, 5)])
def test_char_ngrams_match_gensim(word, minn, maxn):
    from gensim.models.fasttext import compute_ngrams

    assert char_ngrams(word, minn, maxn) == compute_ngrams(word, minn, maxn)


def test_char_ngrams_bad_input():
    with pytest.raises(TypeError):
        char_ngrams(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="minn <= maxn"):
        char_ngrams("word", 4, 3)
    with pytest.raises(ValueError, match="minn <= maxn"):
        char_ngrams("word", 0, 3)
