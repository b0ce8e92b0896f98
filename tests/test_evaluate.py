"""Word similarity and analogy evaluation, checked against gensim's own evaluators."""
import numpy as np
import pytest
import torch
from gensim.models import KeyedVectors

from course_lib.data import Vocab, analogy_questions, wordsim353
from course_lib.data.corpora import gensim_test_file
from course_lib.evaluate import analogy_accuracy, from_keyed_vectors, word_similarity


def _kv(seed=0, n_extra=300):
    qs = analogy_questions()
    words = sorted({w for sec in list(qs.values())[:3] for q in sec for w in q} |
                   {w for a, b, _ in wordsim353() for w in (a, b)})[: 400]
    rng = np.random.default_rng(seed)
    kv = KeyedVectors(vector_size=16)
    kv.add_vectors(words, rng.standard_normal((len(words), 16)).astype(np.float32))
    return kv


def test_word_similarity_matches_gensim():
    kv = _kv()
    vocab, vecs = from_keyed_vectors(kv)
    ours = word_similarity(vecs, vocab, wordsim353())
    _, (rho, _), oov = kv.evaluate_word_pairs(str(gensim_test_file("wordsim353.tsv")))
    assert abs(ours["spearman"] - rho) < 1e-6
    assert ours["total"] == 353 and abs(ours["coverage"] - (1 - oov / 100)) < 1e-9


def test_analogy_accuracy_matches_gensim_and_a_planted_answer():
    kv = _kv()
    vocab, vecs = from_keyed_vectors(kv)
    score, _ = kv.evaluate_word_analogies(str(gensim_test_file("questions-words.txt")))
    ours = analogy_accuracy(vecs, vocab, analogy_questions())
    assert ours["covered"] > 0 and abs(ours["accuracy"] - score) < 1e-9
    # plant d = b - a + c exactly: 3CosAdd must find it
    v = {w: torch.randn(8, generator=torch.Generator().manual_seed(i)) for i, w in enumerate("abcxyz")}
    v["d"] = v["b"] - v["a"] + v["c"]
    vocab = Vocab(["<pad>", "<unk>", "<bos>", "<eos>"] + list(v))
    vecs = torch.cat([torch.zeros(4, 8), torch.stack(list(v.values()))])
    r = analogy_accuracy(vecs, vocab, [("a", "b", "c", "d"), ("a", "b", "c", "x"), ("a", "b", "q", "d")])
    assert (r["correct"], r["covered"], r["total"]) == (1, 2, 3) and r["accuracy"] == 0.5


def test_bad_shapes():
    vocab = Vocab(["<pad>", "<unk>", "<bos>", "<eos>", "a"])
    with pytest.raises(ValueError, match="len\\(vocab\\)"):
        word_similarity(torch.zeros(3, 2), vocab, [("a", "a", 1.0)])
