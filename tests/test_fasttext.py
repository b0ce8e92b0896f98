"""fastText n-gram hashing (against gensim) and the subword model."""
import numpy as np
import pytest
import torch
from gensim.models.fasttext import ft_ngram_hashes
from gensim.models.fasttext_inner import ft_hash_bytes

from course_lib.data import Vocab, wiki_sentences
from course_lib.embeddings import char_ngrams
from course_lib.models.fasttext import FastTextModel, fnv1a_32, fnv1a_32_many, ngram_buckets
from course_lib.models.skipgram import SkipGramPairs, train_skipgram


def test_fnv1a_known_values_and_signed_byte_quirk():
    assert fnv1a_32(b"") == 2166136261
    assert fnv1a_32(b"a") == 0xE40C292C  # the published FNV-1a 32 test vector
    # a byte >= 128 is sign-extended: differs from the textbook (unsigned) FNV-1a
    textbook = ((2166136261 ^ 0xE9) * 16777619) & 0xFFFFFFFF
    assert fnv1a_32(b"\xe9") == ((2166136261 ^ 0xFFFFFFE9) * 16777619) & 0xFFFFFFFF != textbook
    for s in ["<na", "ïve", "é>", "<ἀν>", "日本語"]:
        assert fnv1a_32(s.encode()) == ft_hash_bytes(s.encode())
    assert fnv1a_32_many(["<na", "ïve", "日本語"]).tolist() == [ft_hash_bytes(s.encode()) for s in ["<na", "ïve", "日本語"]]


def test_bucket_ids_equal_gensim_for_every_vocabulary_word():
    sents = wiki_sentences()
    words = sorted({w for s in sents for w in s})
    non_ascii = [w for w in words if not w.isascii()]
    assert len(words) > 30_000 and len(non_ascii) > 500
    grams = [char_ngrams(w, 3, 6) for w in words]
    flat = fnv1a_32_many([g for gs in grams for g in gs]).astype(np.int64) % 2_000_000
    pos, mismatched = 0, []
    for w, gs in zip(words, grams):
        ours = flat[pos:pos + len(gs)].tolist()
        pos += len(gs)
        if sorted(ours) != sorted(ft_ngram_hashes(w, 3, 6, 2_000_000)):
            mismatched.append(w)
    assert mismatched == [], mismatched[:10]
    for w in ["naïve", "coruña", "ἀν", "a", ""]:
        assert sorted(ngram_buckets(w)) == sorted(ft_ngram_hashes(w, 3, 6, 2_000_000))


def _tiny_vocab():
    sents = [["the", "cat", "sat"], ["a", "dog", "sat", "down"], ["the", "cats", "ran"]] * 20
    return sents, Vocab.from_corpus(sents)


def test_model_rows_and_mean_vector():
    sents, vocab = _tiny_vocab()
    m = FastTextModel(vocab, dim=8, buckets=1000, seed=0)
    i = vocab.stoi["cat"]
    n = len(char_ngrams("cat"))  # <ca cat at> <cat <cat>
    assert n == 6
    assert m.rows[i, 0] == i and m.rows[i, 1:1 + n].tolist() == [b + len(vocab) for b in ngram_buckets("cat", buckets=1000)]
    assert torch.allclose(m.weights[i, : n + 1], torch.full((n + 1,), 1 / (n + 1)))
    expected = m.u.weight[m.rows[i, : n + 1]].mean(0)
    assert torch.allclose(m.vector_for("cat"), expected, atol=1e-7)
    unseen = m.vector_for("catz")
    assert torch.allclose(unseen, m.u.weight[torch.tensor(ngram_buckets("catz", buckets=1000)) + len(vocab)].mean(0))
    assert torch.equal(m.vector_for(""), m.vector_for("")) and m.vector_for("").shape == (8,)


def test_fasttext_sgd_step_equals_autograd():
    sents, vocab = _tiny_vocab()
    m = FastTextModel(vocab, dim=6, buckets=500, seed=1)
    with torch.no_grad():
        m.v.weight.normal_(0, 0.3, generator=torch.Generator().manual_seed(0))
    t = torch.tensor([4, 5, 6, 4]); c = torch.tensor([5, 6, 7, 8]); neg = torch.tensor([[7, 9, 4], [8, 5, 6], [9, 9, 7], [4, 6, 5]])
    ref = FastTextModel(vocab, dim=6, buckets=500, seed=1, sparse=False)
    ref.load_state_dict(m.state_dict())
    loss = ref(t, c, neg) * len(t)
    loss.backward()
    lr = 0.1
    m.sgd_step(t, c, neg, lr)
    assert torch.allclose(m.u.weight, ref.u.weight - lr * ref.u.weight.grad, atol=1e-6)
    assert torch.allclose(m.v.weight, ref.v.weight - lr * ref.v.weight.grad, atol=1e-6)


def test_fasttext_training_lowers_loss_and_morphology_helps():
    sents = wiki_sentences(max_sentences=3000)
    vocab = Vocab.from_corpus(sents, min_count=3)
    pairs = SkipGramPairs(sents, vocab, batch_size=1024, seed=0)
    m = FastTextModel(vocab, dim=32, buckets=20_000, seed=0)
    h = train_skipgram(m, pairs, epochs=2, lr=0.05)
    assert h.train_loss[-1] < 0.8 * h.train_loss[0]
    # an unseen misspelling's nearest vocabulary word is its correct spelling (n-grams shared)
    from course_lib.embeddings import nearest_neighbours
    ids, _ = nearest_neighbours(m.vector_for("governmentt"), m.vectors(), k=3)
    assert vocab.stoi["government"] in ids.tolist()
