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


def test_spearman_interval_is_the_percentile_bootstrap_of_scipys_spearman():
    from scipy.stats import spearmanr

    from course_lib.evaluate import spearman_interval

    vocab, vecs = from_keyed_vectors(_kv())
    pairs = wordsim353()
    lo, hi = spearman_interval(vecs, vocab, pairs, n_boot=200, level=0.9, seed=3)
    # the same resamples, one scipy call each (ties averaged as in rankdata)
    covered = [(vocab.stoi[a], vocab.stoi[b], s) for a, b, s in pairs if a in vocab.stoi and b in vocab.stoi]
    cos = torch.nn.functional.cosine_similarity(vecs[[c[0] for c in covered]], vecs[[c[1] for c in covered]]).numpy()
    human = np.array([c[2] for c in covered])
    idx = np.random.default_rng(3).integers(0, len(covered), size=(200, len(covered)))
    rhos = [spearmanr(cos[i], human[i]).statistic for i in idx]
    assert np.allclose([lo, hi], np.quantile(rhos, [0.05, 0.95]), atol=1e-9)
    rho = word_similarity(vecs, vocab, pairs)["spearman"]
    assert lo < rho < hi
    assert spearman_interval(vecs, vocab, pairs, n_boot=200, level=0.9, seed=3) == (lo, hi)  # deterministic
    with pytest.raises(ValueError, match="level"):
        spearman_interval(vecs, vocab, pairs, level=1.5)
    # paired: the difference of the two models' rho on each resample
    other = torch.from_numpy(np.random.default_rng(9).standard_normal(tuple(vecs.shape))).float()
    cos2 = torch.nn.functional.cosine_similarity(other[[c[0] for c in covered]], other[[c[1] for c in covered]]).numpy()
    diffs = [spearmanr(cos[i], human[i]).statistic - spearmanr(cos2[i], human[i]).statistic for i in idx]
    assert np.allclose(spearman_interval(vecs, vocab, pairs, n_boot=200, level=0.9, seed=3, versus=other),
                       np.quantile(diffs, [0.05, 0.95]), atol=1e-9)
    with pytest.raises(ValueError, match="len\\(vocab\\)"):
        spearman_interval(vecs, vocab, pairs, versus=other[:5])


def test_evaluation_table_and_format_table():
    from course_lib.evaluate import evaluate_all, evaluation_table, format_table

    qs = analogy_questions()
    words = sorted({w for name in ("family", "gram8-plural") for q in qs[name] for w in q}
                   | {w for a, b, _ in wordsim353() for w in (a, b)})
    kv = KeyedVectors(vector_size=16)
    kv.add_vectors(words, np.random.default_rng(1).standard_normal((len(words), 16)).astype(np.float32))
    vocab, vecs = from_keyed_vectors(kv)
    rows = evaluation_table({"random": (vecs, vocab), "random x 2": (2 * vecs, vocab)}, n_boot=50)
    assert [r["model"] for r in rows] == ["random", "random x 2"]
    assert rows[0]["wordsim353"] == pytest.approx(evaluate_all(vecs, vocab)["wordsim353"])
    assert rows[0]["wordsim353"] == pytest.approx(rows[1]["wordsim353"])  # cosine ignores length
    # the analogy split: a weighted mean of the two parts is the overall accuracy
    share = rows[0]["analogy_syntactic_share"]
    assert 0 < share < 1
    assert rows[0]["analogy"] == pytest.approx(share * rows[0]["analogy_syntactic"]
                                               + (1 - share) * rows[0]["analogy_semantic"])
    text = format_table(rows, {"model": "model", "wordsim353": "WordSim353", "wordsim353_coverage": "cov"})
    lines = text.splitlines()
    assert lines[0].split() == ["model", "WordSim353", "cov"] and set(lines[1]) <= {"-", " "}
    assert lines[2].startswith("random ") and f"{rows[0]['wordsim353']:.3f}" in lines[2]
    assert len({len(x) for x in lines[:2]}) == 1  # header and rule aligned
    assert format_table([{"a": 2.5}, {"a": 10.0}], fmt={"a": ".1f"}).splitlines()[2:] == [" 2.5", "10.0"]
    with pytest.raises(KeyError, match="nope"):
        format_table(rows, {"nope": "x"})
    with pytest.raises(ValueError):
        evaluation_table({})
