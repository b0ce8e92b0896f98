"""Padding, masks, masked losses and bucketing, with property-based tests (Hypothesis)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_lib.data.batching import (
    BucketBatchSampler, lengths_to_mask, make_collate, masked_cross_entropy, masked_mean, pad_batch,
)
from course_lib.models.rnn import ElmanRNN

lengths_st = st.lists(st.integers(min_value=0, max_value=9), min_size=1, max_size=6)
nonempty_lengths_st = st.lists(st.integers(min_value=1, max_value=9), min_size=1, max_size=6)


# --- pad_batch / lengths_to_mask -------------------------------------------------------------

def test_pad_batch_small_example():
    padded, lengths = pad_batch([[5, 6, 7], [8], torch.tensor([9, 9])], pad_id=0)
    assert padded.tolist() == [[5, 6, 7], [8, 0, 0], [9, 9, 0]]
    assert lengths.tolist() == [3, 1, 2] and padded.dtype == torch.long


def test_lengths_to_mask_small_example():
    assert lengths_to_mask(torch.tensor([2, 0, 3])).tolist() == [
        [True, True, False], [False, False, False], [True, True, True]]
    assert lengths_to_mask([1], max_len=3).tolist() == [[True, False, False]]


@given(lengths_st, st.integers(min_value=0, max_value=3))
def test_pad_then_unpad_round_trips(lengths, pad_id):
    g = torch.Generator().manual_seed(sum(lengths))
    seqs = [torch.randint(4, 50, (n,), generator=g).tolist() for n in lengths]
    padded, got_lengths = pad_batch(seqs, pad_id)
    mask = lengths_to_mask(got_lengths, padded.shape[1])
    assert got_lengths.tolist() == lengths
    assert padded.shape == (len(seqs), max(lengths))
    assert mask.sum(1).tolist() == lengths
    assert torch.all(padded[~mask] == pad_id)
    assert [padded[i, :n].tolist() for i, n in enumerate(lengths)] == seqs


def test_bad_batches_are_clear_errors():
    with pytest.raises(ValueError, match="empty batch"):
        pad_batch([])
    with pytest.raises(TypeError, match="encode tokens"):
        pad_batch(["abc"])
    with pytest.raises(TypeError, match="integer ids"):
        pad_batch([torch.tensor([1.5])])
    with pytest.raises(ValueError, match=">= 0"):
        lengths_to_mask(torch.tensor([2, -1]))
    with pytest.raises(ValueError, match="max_len=2"):
        lengths_to_mask(torch.tensor([3]), max_len=2)


# --- masked losses ---------------------------------------------------------------------------

def test_masked_mean_known_value_and_plain_mean_is_wrong():
    values = torch.tensor([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    mask = lengths_to_mask(torch.tensor([3, 1]))
    assert masked_mean(values, mask).item() == pytest.approx(10 / 4)
    assert values.mean().item() == pytest.approx(10 / 6)  # what a plain mean would wrongly give


def test_masked_mean_ignores_nan_in_padding():
    values = torch.tensor([[1.0, float("nan")], [3.0, float("inf")]])
    mask = torch.tensor([[True, False], [True, False]])
    assert masked_mean(values, mask).item() == 2.0


def test_all_padding_is_an_error_never_nan():
    mask = torch.zeros(2, 3, dtype=torch.bool)
    with pytest.raises(ValueError, match="all padding"):
        masked_mean(torch.ones(2, 3), mask)
    with pytest.raises(ValueError, match="all padding"):
        masked_cross_entropy(torch.randn(2, 3, 4), torch.zeros(2, 3, dtype=torch.long), mask)


def test_masked_cross_entropy_bad_input():
    with pytest.raises(ValueError, match=r"\(batch, time, V\)"):
        masked_cross_entropy(torch.randn(2, 3), torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3).bool())
    with pytest.raises(ValueError, match="targets must have shape"):
        masked_cross_entropy(torch.randn(2, 3, 4), torch.zeros(2, 4, dtype=torch.long),
                             torch.ones(2, 4).bool())
    with pytest.raises(TypeError, match="bool"):
        masked_cross_entropy(torch.randn(2, 3, 4), torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 3))


@settings(deadline=None, max_examples=40)
@given(lengths_st.filter(lambda ls: max(ls) > 0), st.randoms(use_true_random=False))
def test_masked_cross_entropy_equals_mean_over_real_tokens(lengths, rnd):
    vocab = 7
    g = torch.Generator().manual_seed(rnd.randrange(10**6))
    logits = [torch.randn(n, vocab, generator=g) for n in lengths]
    targets = [torch.randint(0, vocab, (n,), generator=g) for n in lengths]
    expected = F.cross_entropy(torch.cat(logits), torch.cat(targets))  # one long unpadded sequence

    order = list(range(len(lengths)))
    rnd.shuffle(order)  # any batch order gives the same loss
    t_max = max(lengths)
    padded_logits = torch.full((len(order), t_max, vocab), float("nan"))  # garbage in the padding
    padded_targets = torch.full((len(order), t_max), -5, dtype=torch.long)  # invalid ids in the padding
    for row, i in enumerate(order):
        padded_logits[row, : lengths[i]] = logits[i]
        padded_targets[row, : lengths[i]] = targets[i]
    mask = lengths_to_mask(torch.tensor([lengths[i] for i in order]), t_max)
    got = masked_cross_entropy(padded_logits, padded_targets, mask)
    assert math.isfinite(got.item())
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-5)
    total = masked_cross_entropy(padded_logits, padded_targets, mask, reduction="sum")
    torch.testing.assert_close(total, expected * sum(lengths), atol=1e-4, rtol=1e-5)


# --- padded RNN == unpadded RNN ----------------------------------------------------------------

@settings(deadline=None, max_examples=30)
@given(nonempty_lengths_st, st.randoms(use_true_random=False))
def test_padded_and_packed_equal_one_at_a_time(lengths, rnd):
    torch.manual_seed(rnd.randrange(10**6))
    ref = nn.RNN(3, 4, batch_first=True)
    mine = ElmanRNN.from_torch(ref)
    seqs = [torch.randn(n, 3) for n in lengths]
    order = list(range(len(lengths)))
    rnd.shuffle(order)
    t_max = max(lengths)
    x = torch.zeros(len(order), t_max, 3)
    for row, i in enumerate(order):
        x[row, : lengths[i]] = seqs[i]
    lens = torch.tensor([lengths[i] for i in order])
    mask = lengths_to_mask(lens, t_max)

    out_mine, h_mine = mine(x, mask=mask)
    packed = nn.utils.rnn.pack_padded_sequence(x, lens, batch_first=True, enforce_sorted=False)
    out_packed, h_packed = ref(packed)
    out_packed, _ = nn.utils.rnn.pad_packed_sequence(out_packed, batch_first=True, total_length=t_max)
    for row, i in enumerate(order):
        alone_out, alone_h = ref(seqs[i].unsqueeze(0))
        n = lengths[i]
        for out, h in ((out_mine, h_mine), (out_packed, h_packed[0])):
            assert (out[row, :n] - alone_out[0]).abs().max() <= 1e-6
            assert (h[row] - alone_h[0, 0]).abs().max() <= 1e-6
            assert torch.all(out[row, n:] == 0)


# --- collate and bucketing -------------------------------------------------------------------

def test_collate_many_to_one_and_many_to_many():
    collate = make_collate()
    b = collate([([4, 5, 6], 1), ([7], 0)])
    assert b["tokens"].tolist() == [[4, 5, 6], [7, 0, 0]] and b["labels"].tolist() == [1, 0]
    assert b["mask"].tolist() == [[True, True, True], [True, False, False]]
    b = make_collate(label_pad=-100)([([4, 5], [0, 1]), ([7], [1])])
    assert b["labels"].tolist() == [[0, 1], [1, -100]] and b["lengths"].tolist() == [2, 1]
    enc = make_collate(encode=lambda toks: [len(t) for t in toks])
    assert enc([(["ab", "c"], 0)])["tokens"].tolist() == [[2, 1]]
    with pytest.raises(ValueError, match="one label per token"):
        collate([([4, 5], [0]), ([7], [1])])


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=120),
       st.integers(min_value=1, max_value=16), st.booleans(), st.integers(min_value=0, max_value=5))
def test_bucket_sampler_yields_every_index_once(lengths, batch_size, shuffle, seed):
    sampler = BucketBatchSampler(lengths, batch_size, shuffle=shuffle, seed=seed, pool_batches=3)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert len(batches) == len(sampler)
    assert all(1 <= len(b) <= batch_size for b in batches)


def test_bucket_sampler_reduces_padding_and_is_seeded():
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(1, 60, (2000,), generator=g).tolist()

    def pad_fraction(batches):
        real = sum(lengths[i] for b in batches for i in b)
        padded = sum(len(b) * max(lengths[i] for i in b) for b in batches)
        return 1 - real / padded

    bucketed = list(BucketBatchSampler(lengths, 32, shuffle=True, seed=1))
    plain = [list(range(i, min(i + 32, 2000))) for i in range(0, 2000, 32)]
    assert pad_fraction(bucketed) < 0.1 < 0.3 < pad_fraction(plain)
    assert bucketed == list(BucketBatchSampler(lengths, 32, shuffle=True, seed=1))
    s = BucketBatchSampler(lengths, 32, shuffle=True, seed=1)
    assert list(s) != list(s)  # a new order every epoch
    assert len(BucketBatchSampler(list(range(10)), 4, drop_last=True)) == 2


def test_old_homes_of_masks_and_losses_are_the_same_objects():
    """Lectures and assignment 2 import these from course_lib.data.batching: they must stay there."""
    from course_lib.data import batching, masks
    from course_lib.models import losses

    assert batching.masked_cross_entropy is losses.masked_cross_entropy
    assert batching.masked_mean is losses.masked_mean
    for name in ("lengths_to_mask", "check_mask", "mask_lengths", "reverse_padded"):
        assert getattr(batching, name) is getattr(masks, name)
