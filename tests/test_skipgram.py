"""Skip-gram pipeline, hand-written SGD step (vs autograd), training and export."""
import numpy as np
import pytest
import torch

from course_lib.data import Vocab, wiki_sentences
from course_lib.embeddings import keep_probability, noise_distribution
from course_lib.models.skipgram import SkipGram, SkipGramPairs, sgd_step, to_keyed_vectors, train_skipgram


def _corpus():
    sents = [[f"w{i}" for i in range(j, j + 7)] for j in range(30)]
    return sents, Vocab.from_corpus(sents)


def test_pairs_respect_window_sentences_and_shapes():
    sents, vocab = _corpus()
    p = SkipGramPairs(sents, vocab, window=2, negatives=3, sample=0, batch_size=64, seed=0)
    assert p.n_words == 210
    t, c = p.epoch_pairs()
    pos = {}
    for k, s in enumerate(sents):
        for i, w in enumerate(s):
            pos.setdefault(vocab.stoi[w], set()).add((k, i))
    for a, b in zip(t.tolist(), c.tolist()):  # every pair is within distance 2 in one sentence
        assert any(k1 == k2 and 0 < abs(i1 - i2) <= 2 for k1, i1 in pos[a] for k2, i2 in pos[b])
    # random shrink: window 1 with prob 1/2, 2 with prob 1/2 -> 1.5 * 2 pairs per inner word
    full = sum(2 * min(2, i) + 0 for i in range(7)) * 30  # upper bound reference
    assert 0.55 * full < len(t) < 0.95 * full
    batches = list(p)
    assert all(b[0].shape == b[1].shape and b[2].shape == (len(b[0]), 3) for b in batches)


def test_subsampling_and_noise_follow_reference_distributions():
    sents = wiki_sentences(max_sentences=2000)
    vocab = Vocab.from_corpus(sents, min_count=2)
    p = SkipGramPairs(sents, vocab, sample=1e-3, negatives=5, seed=0)
    counts = torch.from_numpy(p.counts)
    np.testing.assert_allclose(p.keep, keep_probability(counts, 1e-3).double().numpy(), rtol=1e-6)
    neg = p.sample_negatives(400_000).ravel()
    freq = np.bincount(neg, minlength=len(vocab)) / neg.size
    pn = noise_distribution(counts).numpy()
    top = np.argsort(-pn)[:20]
    np.testing.assert_allclose(freq[top], pn[top], rtol=0.05)
    the = vocab.stoi["the"]
    kept = [(p.rng.random(p.n_words) < p.keep[p.ids])[p.ids == the].mean() for _ in range(3)]
    assert abs(np.mean(kept) - p.keep[the]) < 0.01 and p.keep[the] < 0.2


@pytest.mark.parametrize("group", [1, 2])
def test_sgd_step_equals_autograd_step(group):
    g = torch.Generator().manual_seed(0)
    m = SkipGram(12, 5, sparse=False)
    with torch.no_grad():
        m.v.weight.normal_(0, 0.5, generator=g)
    t, c = torch.tensor([1, 2, 3, 1]), torch.tensor([4, 5, 1, 6])
    neg = torch.randint(0, 12, (4 // group, 3), generator=g)
    U, W = m.u.weight.detach().clone(), m.v.weight.detach().clone()
    (m(t, c, neg) * len(t)).backward()
    losses = sgd_step(U, W, t, c, neg, lr=0.2)
    assert torch.allclose(U, m.u.weight - 0.2 * m.u.weight.grad, atol=1e-6)
    assert torch.allclose(W, m.v.weight - 0.2 * m.v.weight.grad, atol=1e-6)
    with torch.no_grad():  # the returned losses are those before the step (m still holds the old weights)
        assert abs(float(losses.sum()) - float(m(t, c, neg)) * 4) < 1e-4
    with pytest.raises(ValueError, match="B // G"):
        sgd_step(U, W, t, c, torch.zeros(3, 2, dtype=torch.long), 0.1)


def test_training_learns_similarity_and_methods_agree():
    sents = wiki_sentences(max_sentences=4000)
    vocab = Vocab.from_corpus(sents, min_count=3)
    res = {}
    for method in ("sgd", "autograd"):
        pairs = SkipGramPairs(sents, vocab, batch_size=512, seed=0)
        m = SkipGram(len(vocab), 32, seed=0)
        h = train_skipgram(m, pairs, epochs=2, method=method)
        res[method] = (h.train_loss[0], h.train_loss[-1], m.vectors())
        assert h.words_per_second > 0
    (a0, a1, va), (_, b1, vb) = res["sgd"], res["autograd"]
    assert a1 < 0.8 * a0 and abs(a1 - b1) < 0.05 * a1  # same algorithm, same draws
    assert torch.allclose(va, vb, atol=1e-3)
    kv = to_keyed_vectors(va, vocab)
    assert len(kv) == len(vocab) - 4 and np.allclose(kv["the"], va[vocab.stoi["the"]].numpy())


def test_bad_input():
    sents, vocab = _corpus()
    with pytest.raises(TypeError):
        SkipGramPairs(["a b c"], vocab)
    with pytest.raises(ValueError, match="multiple"):
        SkipGramPairs(sents, vocab, batch_size=10, share_negatives=4)
    with pytest.raises(ValueError, match="method"):
        train_skipgram(SkipGram(len(vocab), 4), SkipGramPairs(sents, vocab), epochs=1, method="adam")
