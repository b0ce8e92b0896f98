"""fastText n-gram hashing (against gensim) and the subword model."""
import numpy as np
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
    words = ["<na", "ïve", "日本語"]
    assert fnv1a_32_many(words).tolist() == [ft_hash_bytes(s.encode()) for s in words]


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
    assert m.rows[i, 0] == i
    assert m.rows[i, 1:1 + n].tolist() == [b + len(vocab) for b in ngram_buckets("cat", buckets=1000)]
    assert torch.allclose(m.weights[i, : n + 1], torch.full((n + 1,), 1 / (n + 1)))
    expected = m.u.weight[m.rows[i, : n + 1]].mean(0)
    rows, offsets, lengths = m.bags(torch.tensor([i, vocab.stoi["dog"], i]))
    assert lengths.tolist() == [n + 1, len(char_ngrams("dog")) + 1, n + 1]
    assert offsets.tolist() == [0, n + 1, 2 * (n + 1)]
    assert rows[: n + 1].tolist() == m.rows[i, : n + 1].tolist() == rows[2 * (n + 1):].tolist()
    assert torch.allclose(m.vector_for("cat"), expected, atol=1e-7)
    unseen = m.vector_for("catz")
    assert torch.allclose(unseen, m.u.weight[torch.tensor(ngram_buckets("catz", buckets=1000)) + len(vocab)].mean(0))
    assert torch.equal(m.vector_for(""), m.vector_for("")) and m.vector_for("").shape == (8,)


def _c_update(table, v_table, word_rows, context, noise, lr):
    """fastText's skip-gram update for ONE pair, transliterated from gensim's
    ``fasttext_fast_sentence_sg_neg`` (exact sigmoid instead of its lookup table, no clipping,
    and the mean over the word's own row and its n-gram rows, as fastText's C++ code). The C loop
    also skips a noise word equal to the context; ``sgd_step`` does not, so the tests avoid those.
    In place."""
    h = sum(table[r] for r in word_rows) / len(word_rows)  # neu1
    work = torch.zeros_like(h)
    for target, label in [(context, 1.0)] + [(n, 0.0) for n in noise]:
        g = (label - torch.sigmoid(h @ v_table[target])) * lr
        work += g * v_table[target]
        v_table[target] += g * h
    for r in word_rows:  # the word's own row and every n-gram row get the whole step
        table[r] += work


def test_fasttext_sgd_step_is_fasttexts_rule_not_the_gradient_of_the_mean():
    """``sgd_step`` is fastText's update, not SGD on the model's loss.

    fastText (C++ ``Model::update``; gensim's ``fasttext_fast_sentence_sg_neg``) computes the
    word2vec step ``e`` for the input vector ``h = mean_{g in G_w} u_g`` and adds all of ``e`` to
    every row ``g`` of ``G_w``. The gradient of the loss wrt a row is ``1 / |G_w|`` times the
    gradient wrt ``h``, so autograd's step on each ``u`` row is exactly ``|G_w|`` times smaller
    (the context vectors ``v`` get the same step either way). We check (1) one pair against a
    line-by-line transliteration of the C loop, (2) that relation to autograd, (3) that a batch
    is the sum of its pairs' updates, all taken from the same starting tables.
    """
    sents, vocab = _tiny_vocab()
    lr = 0.1

    def fresh():
        m = FastTextModel(vocab, dim=6, buckets=500, seed=1, sparse=False)
        with torch.no_grad():
            m.v.weight.normal_(0, 0.3, generator=torch.Generator().manual_seed(0))
        return m

    t, c = torch.tensor([4, 5, 6, 4]), torch.tensor([5, 6, 7, 8])
    neg = torch.tensor([[7, 9, 10], [8, 4, 9], [9, 10, 11], [6, 7, 5]])  # distinct, never the context (C skips those)
    m0 = fresh()
    U0, V0 = m0.u.weight.detach().clone(), m0.v.weight.detach().clone()
    n_rows = int(m0.lengths[4])
    assert n_rows > 2
    # (1) one pair vs the C loop
    m = fresh()
    m.sgd_step(t[:1], c[:1], neg[:1], lr)
    U, V = U0.clone(), V0.clone()
    _c_update(U, V, m0.rows[4, :n_rows].tolist(), 5, [7, 9, 10], lr)
    assert torch.allclose(m.u.weight, U, atol=1e-6) and torch.allclose(m.v.weight, V, atol=1e-6)
    # (2) autograd on the mean: each u row moves |G_w| times less, v the same
    ref = fresh()
    (ref(t[:1], c[:1], neg[:1])).backward()
    delta_u = m.u.weight.detach() - U0
    assert delta_u.abs().sum() > 0
    assert torch.allclose(delta_u, -lr * n_rows * ref.u.weight.grad, atol=1e-6)
    assert torch.allclose(m.v.weight.detach() - V0, -lr * ref.v.weight.grad, atol=1e-6)
    # (3) a batch = sum of its pairs' updates from the same start (word 4 appears twice)
    m = fresh()
    losses = m.sgd_step(t, c, neg, lr)
    dU, dV = torch.zeros_like(U0), torch.zeros_like(V0)
    for i in range(len(t)):
        U, V = U0.clone(), V0.clone()
        w = int(t[i])
        _c_update(U, V, m0.rows[w, : int(m0.lengths[w])].tolist(), int(c[i]), neg[i].tolist(), lr)
        dU += U - U0
        dV += V - V0
    assert torch.allclose(m.u.weight, U0 + dU, atol=1e-6) and torch.allclose(m.v.weight, V0 + dV, atol=1e-6)
    expected_loss = fresh()(t[:1], c[:1], neg[:1]).item()  # loss of pair 0 before the step
    assert losses.shape == (4,) and abs(float(losses[0]) - expected_loss) < 1e-5


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
