from collections import Counter

import pytest
import torch

from course_lib.data.vocab import Vocab, split_sentences, tokenize


def test_tokenize_words_numbers_punct():
    assert tokenize("The cat's mat, 3.5 m wide!") == ["the", "cat's", "mat", ",", "3.5", "m", "wide", "!"]
    assert tokenize("The cat's mat, 3.5 m wide!", keep_punct=False) == ["the", "cat's", "mat", "3.5", "m", "wide"]
    assert tokenize("Zürich Café", lower=False) == ["Zürich", "Café"]
    assert tokenize("") == []


def test_tokenize_rejects_non_str():
    with pytest.raises(TypeError, match="expects a str"):
        tokenize(["a", "b"])


def test_split_sentences():
    text = "It rained. Then it stopped! Did it? Yes.\nNew paragraph here."
    assert split_sentences(text) == ["It rained.", "Then it stopped!", "Did it?", "Yes.", "New paragraph here."]


def test_reserved_ids_and_order():
    v = Vocab.from_counts(Counter({"b": 3, "a": 3, "c": 5, "rare": 1}), min_count=2)
    assert v.itos[:4] == ["<pad>", "<unk>", "<bos>", "<eos>"]
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    assert v.itos[4:] == ["c", "a", "b"]  # by count, ties alphabetical
    assert len(v) == 7 and "rare" not in v and v["rare"] == 1
    assert v.count("c") == 5 and v.count("zzz") == 0


def test_max_size_counts_specials():
    v = Vocab.from_counts({"x": 9, "y": 8, "z": 7}, max_size=6)
    assert v.itos == ["<pad>", "<unk>", "<bos>", "<eos>", "x", "y"]
    with pytest.raises(ValueError, match="max_size"):
        Vocab.from_counts({"x": 1}, max_size=3)
    with pytest.raises(ValueError, match="min_count"):
        Vocab.from_counts({"x": 1}, min_count=0)


def test_encode_decode_round_trip():
    v = Vocab.from_corpus([["the", "cat"], ["the", "dog"]])
    ids = v.encode(["the", "cat", "emu"], add_bos=True, add_eos=True)
    assert ids == [2, v["the"], v["cat"], 1, 3]
    assert v.decode(ids) == ["<bos>", "the", "cat", "<unk>", "<eos>"]
    assert v.decode(torch.tensor(ids), skip_special=True) == ["the", "cat"]


def test_clear_errors():
    v = Vocab.from_corpus([["a", "b"]])
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        v.encode(["a", "zebra"], strict=True)
    with pytest.raises(IndexError, match="id 99 is outside the vocabulary"):
        v.decode([0, 99])
    with pytest.raises(IndexError):
        v.decode([-1])
    with pytest.raises(TypeError, match="call tokenize"):
        v.encode("a b")
    with pytest.raises(ValueError, match="1-D"):
        v.decode(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="no sentences"):
        Vocab.from_corpus([])
    with pytest.raises(TypeError, match="tokenised"):
        Vocab.from_corpus(["a sentence"])
    with pytest.raises(ValueError, match="unique"):
        Vocab(["a", "a"])
