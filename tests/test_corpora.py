import pytest

from course_lib.data import corpora
from course_lib.data.corpora import (CorpusUnavailable, analogy_questions, gensim_test_file, simlex999,
                                     stdlib_code_text, wiki_sentences, wordsim353)


def test_wiki_sentences_are_real_english():
    sents = wiki_sentences()
    assert 15_000 < len(sents) < 30_000
    n_tokens = sum(map(len, sents))
    assert 300_000 < n_tokens < 600_000
    assert sents[0][:4] == ["anarchism", "is", "a", "political"]
    words = {w for s in sents for w in s}
    for w in ("king", "france", "music", "war", "water", "bank"):
        assert w in words
    assert all(len(s) >= 3 for s in sents)
    assert all(t == t.lower() for s in sents[:500] for t in s)


def test_wiki_sentences_options_and_cache(tmp_path, monkeypatch):
    raw = wiki_sentences(tokenized=False, max_sentences=5)
    assert len(raw) == 5 and raw[0].startswith("Anarchism is a political philosophy")
    punct = wiki_sentences(keep_punct=True, max_sentences=1)[0]
    assert punct[-1] == "."
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    assert corpora.cache_dir() == tmp_path
    assert wiki_sentences(max_sentences=3) == wiki_sentences(max_sentences=3)
    assert list(tmp_path.glob("wiki_sentences_v*.json.gz"))


def test_similarity_and_analogy_sets():
    ws, sl = wordsim353(), simlex999()
    assert len(ws) == 353 and len(sl) == 999
    assert ws[0] == ("love", "sex", 6.77)
    assert all(0 <= s <= 10 for _, _, s in ws + sl)
    q = analogy_questions()
    assert sum(map(len, q.values())) == 19544
    assert q["capital-common-countries"][0] == ("athens", "greece", "baghdad", "iraq")


def test_stdlib_code_text():
    text = stdlib_code_text(max_chars=50_000)
    assert len(text) == 50_000
    assert text.startswith("# file: ") and "def " in text and "import " in text
    assert text.isascii()


def test_missing_file_is_a_clear_error():
    with pytest.raises(CorpusUnavailable, match="no-such-file.txt is missing from gensim's test data"):
        gensim_test_file("no-such-file.txt")
