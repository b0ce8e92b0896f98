"""The hand-built Elman RNN matches torch.nn.RNN with copied weights, with and without a mask."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.models.rnn import ElmanCell, ElmanRNN


def _pair(inp=5, hid=11, seed=0):
    torch.manual_seed(seed)
    ref = nn.RNN(inp, hid, batch_first=True)
    return ref, ElmanRNN.from_torch(ref)


def test_cell_is_the_slide_equation():
    cell = ElmanCell(2, 2)
    with torch.no_grad():
        cell.U.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
        cell.W.copy_(torch.tensor([[0.5, 0.0], [0.0, 0.0]]))
        cell.b.copy_(torch.tensor([0.0, -1.0]))
    h = cell(torch.tensor([[1.0, 1.0]]), torch.tensor([[2.0, 3.0]]))
    # a = b + W h + U x = [0 + 1 + 1, -1 + 0 + 2] = [2, 1]
    torch.testing.assert_close(h, torch.tanh(torch.tensor([[2.0, 1.0]])))


def test_cell_matches_rnncell():
    torch.manual_seed(1)
    ref = nn.RNNCell(5, 11)
    cell = ElmanCell(5, 11)
    with torch.no_grad():
        cell.U.copy_(ref.weight_ih)
        cell.W.copy_(ref.weight_hh)
        cell.b.copy_(ref.bias_ih + ref.bias_hh)
    x, h = torch.randn(3, 5), torch.randn(3, 11)
    torch.testing.assert_close(cell(x, h), ref(x, h), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("with_h0", [False, True])
def test_forward_matches_nn_rnn_awkward_sizes(with_h0):
    ref, mine = _pair()
    x = torch.randn(3, 7, 5)
    h0 = torch.randn(3, 11) if with_h0 else None
    out, h = mine(x, h0)
    out_ref, h_ref = ref(x, None if h0 is None else h0.unsqueeze(0))
    assert out.shape == (3, 7, 11) and h.shape == (3, 11)
    torch.testing.assert_close(out, out_ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(h, h_ref[0], atol=1e-6, rtol=1e-5)


def test_gradients_match_nn_rnn():
    ref, mine = _pair(seed=2)
    x = torch.randn(4, 9, 5)
    out, _ = mine(x)
    out_ref, _ = ref(x)
    (out.sin().sum()).backward()
    (out_ref.sin().sum()).backward()
    torch.testing.assert_close(mine.cell.U.grad, ref.weight_ih_l0.grad, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(mine.cell.W.grad, ref.weight_hh_l0.grad, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(mine.cell.b.grad, ref.bias_hh_l0.grad, atol=1e-5, rtol=1e-4)


def test_mask_carries_state_and_zeroes_padded_outputs():
    ref, mine = _pair(seed=3)
    lengths = [7, 3, 1, 5]
    x = torch.randn(4, 7, 5)
    mask = torch.arange(7)[None, :] < torch.tensor(lengths)[:, None]
    out, h = mine(x, mask=mask)
    for i, n in enumerate(lengths):
        o_i, h_i = ref(x[i:i + 1, :n])
        torch.testing.assert_close(out[i, :n], o_i[0], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(h[i], h_i[0, 0], atol=1e-6, rtol=1e-5)
        assert torch.all(out[i, n:] == 0)


def test_mask_with_empty_sequence_keeps_h0():
    _, mine = _pair()
    h0 = torch.randn(2, 11)
    mask = torch.tensor([[True, True, False], [False, False, False]])
    _, h = mine(torch.randn(2, 3, 5), h0, mask)
    assert torch.equal(h[1], h0[1])


def test_from_torch_copies_not_shares():
    ref, mine = _pair()
    with torch.no_grad():
        ref.weight_hh_l0.add_(1.0)
    assert not torch.allclose(mine.cell.W, ref.weight_hh_l0)


def test_bad_input_is_a_clear_error():
    _, mine = _pair()
    with pytest.raises(ValueError, match=r"\(batch, time, 5\)"):
        mine(torch.randn(3, 7))
    with pytest.raises(ValueError, match="h0 must have shape"):
        mine(torch.randn(3, 7, 5), torch.randn(1, 3, 11))
    with pytest.raises(TypeError, match="bool"):
        mine(torch.randn(3, 7, 5), mask=torch.ones(3, 7))
    with pytest.raises(ValueError, match="num_layers=2"):
        ElmanRNN.from_torch(nn.RNN(5, 11, num_layers=2, batch_first=True))
    with pytest.raises(ValueError, match="batch_first"):
        ElmanRNN.from_torch(nn.RNN(5, 11))
    with pytest.raises(ValueError, match="hidden_size"):
        ElmanCell(3, 0)
