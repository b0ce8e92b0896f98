"""Stacked and bidirectional hand-built RNNs match torch.nn (with packing for padded batches)."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from course_lib.models.deep import Bidirectional, DeepRNN, reverse_padded
from course_lib.models.rnn import ElmanRNN


def test_reverse_padded_keeps_padding_in_place():
    x = torch.tensor([[1, 2, 3, 4], [5, 6, 0, 0], [7, 0, 0, 0]])
    got = reverse_padded(x, torch.tensor([4, 2, 1]))
    assert got.tolist() == [[4, 3, 2, 1], [6, 5, 0, 0], [7, 0, 0, 0]]
    feats = torch.arange(24.0).view(2, 4, 3)
    lengths = torch.tensor([3, 4])
    torch.testing.assert_close(reverse_padded(reverse_padded(feats, lengths), lengths), feats)
    torch.testing.assert_close(reverse_padded(feats[:, :, 0], None), feats[:, :, 0].flip(1))
    with pytest.raises(ValueError, match="lengths must lie"):
        reverse_padded(x, torch.tensor([5, 2, 1]))


@pytest.mark.parametrize("cls", [nn.RNN, nn.GRU, nn.LSTM])
def test_two_layer_bidirectional_matches_torch(cls):
    torch.manual_seed(0)
    ref = cls(3, 5, num_layers=2, bidirectional=True, batch_first=True)
    hand = DeepRNN.from_torch(ref)
    x = torch.randn(4, 6, 3)
    out_ref, last_ref = ref(x)
    out, last = hand(x)
    assert out.shape == (4, 6, 10)
    torch.testing.assert_close(out, out_ref, atol=1e-6, rtol=1e-5)
    if cls is nn.LSTM:
        torch.testing.assert_close(last[0], last_ref[0], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(last[1], last_ref[1], atol=1e-6, rtol=1e-5)
    else:
        torch.testing.assert_close(last, last_ref, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM])
def test_padded_bidirectional_matches_packed_sequences(cls):
    torch.manual_seed(1)
    ref = cls(3, 4, num_layers=2, bidirectional=True, batch_first=True)
    hand = DeepRNN.from_torch(ref)
    lengths = torch.tensor([6, 2, 4, 1])
    x = torch.randn(4, 6, 3)
    mask = torch.arange(6) < lengths[:, None]
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out_ref, last_ref = ref(packed)
    out_ref, _ = pad_packed_sequence(out_ref, batch_first=True, total_length=6)
    out, last = hand(x, mask=mask)
    torch.testing.assert_close(out, out_ref, atol=1e-6, rtol=1e-5)
    h, h_ref = (last[0], last_ref[0]) if cls is nn.LSTM else (last, last_ref)
    torch.testing.assert_close(h, h_ref, atol=1e-6, rtol=1e-5)


def test_backward_direction_starts_at_last_real_token():
    torch.manual_seed(2)
    bi = Bidirectional(ElmanRNN(2, 3), ElmanRNN(2, 3))
    x = torch.randn(1, 5, 2)
    padded = torch.cat([x[:, :3], torch.full((1, 2, 2), 9.0)], dim=1)  # garbage in the padding
    mask = torch.tensor([[True, True, True, False, False]])
    out, (_, last_b) = bi(padded, mask=mask)
    alone, (_, last_alone) = bi(x[:, :3])
    torch.testing.assert_close(out[:, :3], alone)
    torch.testing.assert_close(last_b, last_alone)
    assert out[:, 3:].abs().max().item() == 0.0


def test_stack_of_one_layer_equals_elman_rnn():
    torch.manual_seed(3)
    ref = nn.RNN(3, 4, batch_first=True)
    hand = DeepRNN.from_torch(ref)
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(hand(x)[0], ElmanRNN.from_torch(ref)(x)[0])
    assert hand(x)[0].shape == (2, 5, 4)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="kind must be one of"):
        DeepRNN(3, 4, kind="transformer")
    with pytest.raises(ValueError, match="right-padded"):
        DeepRNN(3, 4, bidirectional=True)(torch.randn(1, 3, 3), mask=torch.tensor([[True, False, True]]))
    with pytest.raises(ValueError, match=r"x must have shape \(batch, time, 3\)"):
        DeepRNN(3, 4)(torch.randn(1, 3, 2))
    with pytest.raises(ValueError, match="batch_first"):
        DeepRNN.from_torch(nn.RNN(3, 4))


def test_sequence_tagger_hand_and_torch_agree_on_a_padded_batch():
    from course_lib.models.deep import SequenceTagger

    torch.manual_seed(4)
    fast = SequenceTagger(20, n_tags=3, embed_size=5, hidden_size=4, num_layers=2, bidirectional=True)
    hand = SequenceTagger(20, n_tags=3, embed_size=5, hidden_size=4, num_layers=2, bidirectional=True, impl="hand")
    hand.embed.load_state_dict(fast.embed.state_dict())
    hand.out.load_state_dict(fast.out.state_dict())
    hand.rnn = DeepRNN.from_torch(fast.rnn)
    tokens = torch.tensor([[3, 4, 5, 6], [7, 8, 0, 0]])
    mask = tokens != 0
    got, expected = hand(tokens, mask), fast(tokens, mask)
    assert got.shape == (2, 4, 3)
    torch.testing.assert_close(got[mask], expected[mask], atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="impl must be"):
        SequenceTagger(20, impl="cuda")
