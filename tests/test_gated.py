"""The hand-built LSTM and GRU match torch.nn with copied weights, step by step and over time."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.models.gated import GRU, LSTM, GRUCell, LSTMCell


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_lstm_cell_matches_torch_cell():
    ref = nn.LSTMCell(3, 7)
    cell = LSTMCell.from_torch(ref)
    x, h, c = torch.randn(5, 3), torch.randn(5, 7), torch.randn(5, 7)
    h_ref, c_ref = ref(x, (h, c))
    h_got, c_got = cell(x, (h, c))
    torch.testing.assert_close(h_got, h_ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(c_got, c_ref, atol=1e-6, rtol=1e-5)


def test_lstm_gate_views_follow_pytorch_order():
    ref = nn.LSTMCell(2, 3)
    cell = LSTMCell.from_torch(ref)
    u_f, w_f, b_f = cell.gate("f")
    torch.testing.assert_close(u_f, ref.weight_ih[3:6])  # i, f, g, o: f is the second block
    torch.testing.assert_close(w_f, ref.weight_hh[3:6])
    torch.testing.assert_close(b_f, ref.bias_ih[3:6] + ref.bias_hh[3:6])
    with pytest.raises(ValueError, match="gates are"):
        cell.gate("z")


def test_lstm_by_hand_equations():
    """One step written gate by gate equals the fused cell."""
    cell = LSTMCell(4, 3)
    x, h, c = torch.randn(2, 4), torch.randn(2, 3), torch.randn(2, 3)
    pre = {g: cell.gate(g)[2] + h @ cell.gate(g)[1].T + x @ cell.gate(g)[0].T for g in "ifgo"}
    i, f, o = (torch.sigmoid(pre[g]) for g in "ifo")
    c_new = f * c + i * torch.tanh(pre["g"])
    h_new = o * torch.tanh(c_new)
    got_h, got_c = cell(x, (h, c))
    torch.testing.assert_close(got_c, c_new)
    torch.testing.assert_close(got_h, h_new)


def test_forget_bias_is_added():
    cell = LSTMCell(2, 5, forget_bias=1.0)
    assert cell.gate("f")[2].min().item() > 1.0 - 1 / 5 ** 0.5 - 1e-6


def test_gru_cell_matches_torch_cell():
    ref = nn.GRUCell(3, 7)
    cell = GRUCell.from_torch(ref)
    x, h = torch.randn(5, 3), torch.randn(5, 7)
    torch.testing.assert_close(cell(x, h), ref(x, h), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(cell.b_hn.detach(), ref.bias_hh[14:].detach())


@pytest.mark.parametrize("bias", [True, False])
def test_lstm_sequence_matches_nn_lstm(bias):
    ref = nn.LSTM(3, 6, batch_first=True, bias=bias)
    hand = LSTM.from_torch(ref)
    x = torch.randn(4, 9, 3)
    h0, c0 = torch.randn(1, 4, 6), torch.randn(1, 4, 6)
    out_ref, (h_ref, c_ref) = ref(x, (h0, c0))
    out, (h, c) = hand(x, (h0[0], c0[0]))
    torch.testing.assert_close(out, out_ref, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(h, h_ref[0], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(c, c_ref[0], atol=1e-6, rtol=1e-5)


def test_gru_sequence_matches_nn_gru_and_gradients_agree():
    ref = nn.GRU(3, 6, batch_first=True)
    hand = GRU.from_torch(ref)
    x = torch.randn(4, 9, 3)
    out_ref, h_ref = ref(x)
    out, h = hand(x)
    torch.testing.assert_close(out, out_ref, atol=1e-6, rtol=1e-5)
    out_ref.pow(2).sum().backward()
    out.pow(2).sum().backward()
    torch.testing.assert_close(hand.cell.U.grad, ref.weight_ih_l0.grad, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(hand.cell.W.grad, ref.weight_hh_l0.grad, atol=1e-5, rtol=1e-4)


def test_lstm_mask_carries_state_and_zeroes_padding():
    hand = LSTM(2, 3)
    x = torch.randn(2, 5, 2)
    mask = torch.tensor([[True] * 5, [True, True, False, False, False]])
    out, (h, c), cells = hand(x, mask=mask, return_cells=True)
    alone, (h1, c1) = hand(x[1:, :2])
    torch.testing.assert_close(h[1], h1[0])
    torch.testing.assert_close(c[1], c1[0])
    torch.testing.assert_close(out[1, :2], alone[0])
    assert out[1, 2:].abs().max().item() == 0.0
    torch.testing.assert_close(cells[1, 4], c1[0])  # the cell state is carried over padding
    assert cells.shape == (2, 5, 3)


def test_bad_input_is_named():
    hand = LSTM(3, 4)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, time, 3\)"):
        hand(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match="h0 must have shape"):
        hand(torch.randn(2, 5, 3), (torch.zeros(3, 4), torch.zeros(2, 4)))
    with pytest.raises(TypeError, match="bool"):
        hand(torch.randn(2, 5, 3), mask=torch.ones(2, 5))
    with pytest.raises(ValueError, match="num_layers"):
        LSTM.from_torch(nn.LSTM(3, 4, num_layers=2, batch_first=True))
    with pytest.raises(TypeError, match="nn.LSTM"):
        LSTM.from_torch(nn.GRU(3, 4, batch_first=True))
    with pytest.raises(ValueError, match="hidden_size"):
        GRUCell(3, 0)
