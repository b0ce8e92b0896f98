"""Stateful training (truncated BPTT): CharStreams' batches and TruncatedBPTTLoss' carried state."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.data.chars import CharStreams
from course_lib.lm import CharRNNLM, TruncatedBPTTLoss, char_lm_loss


def test_streams_are_contiguous_and_consecutive():
    batches = list(CharStreams(torch.arange(21), batch_size=2, seq_len=3))
    assert len(batches) == len(CharStreams(torch.arange(21), 2, 3)) == 3
    xs = [b[0].tolist() for b in batches]
    assert xs == [[[0, 1, 2], [10, 11, 12]], [[3, 4, 5], [13, 14, 15]], [[6, 7, 8], [16, 17, 18]]]
    for x, y, _ in batches:
        assert torch.equal(y, x + 1)
    assert [b[2] for b in batches] == [True, False, False]
    assert list(CharStreams(torch.arange(21), 2, 3))[0][2] is True  # a new pass starts again


def test_streams_reject_bad_input():
    with pytest.raises(ValueError, match="1-D"):
        CharStreams(torch.zeros(2, 5, dtype=torch.long), 2, 3)
    with pytest.raises(ValueError, match="batch_size"):
        CharStreams(torch.arange(100), 0, 3)
    with pytest.raises(ValueError, match="at least"):
        CharStreams(torch.arange(7), 2, 3)


def _model_and_two_windows():
    torch.manual_seed(0)
    model = CharRNNLM(30, 8)
    (x1, y1, f1), (x2, y2, f2), *_ = CharStreams(torch.randint(4, 30, (2 * 13,)), 2, 4)
    return model, (x1, y1, f1), (x2, y2, f2)


def test_loss_carries_the_detached_state():
    model, (x1, y1, f1), (x2, y2, f2) = _model_and_two_windows()
    loss = TruncatedBPTTLoss()
    l1, n1 = loss(model, (x1, y1, f1))
    assert n1 == y1.numel()
    assert torch.allclose(l1, char_lm_loss(model, (x1, y1))[0])          # the first window starts from h_0
    assert loss.state is not None and not loss.state.requires_grad      # detached
    _, h1 = model(x1)
    l2, _ = loss(model, (x2, y2, f2))
    logits2, _ = model(x2, h1.detach())
    assert torch.allclose(l2, F.cross_entropy(logits2.flatten(0, 1), y2.flatten()))  # continues from window 1
    assert not torch.allclose(l2, char_lm_loss(model, (x2, y2))[0])
    l2.backward()                                                        # the graph ends at the window's start
    assert all(p.grad is not None for p in model.parameters())


def test_first_window_and_pairs_reset_or_leave_the_state():
    model, (x1, y1, _), (x2, y2, _) = _model_and_two_windows()
    loss = TruncatedBPTTLoss()
    loss(model, (x1, y1, True))
    carried = loss.state.clone()
    l_pair, _ = loss(model, (x2, y2))                                    # e.g. fit's validation batches
    assert torch.allclose(l_pair, char_lm_loss(model, (x2, y2))[0])
    assert torch.equal(loss.state, carried)
    l_first, _ = loss(model, (x2, y2, True))                             # a new pass: from h_0 again
    assert torch.allclose(l_first, char_lm_loss(model, (x2, y2))[0])
    loss.reset()
    assert loss.state is None


def test_loss_refuses_a_different_number_of_streams():
    model = CharRNNLM(30, 8)
    loss = TruncatedBPTTLoss()
    x = torch.randint(4, 30, (2, 4))
    loss(model, (x, x, True))
    with pytest.raises(ValueError, match="streams"):
        loss(model, (x[:1], x[:1], False))
    with pytest.raises(ValueError, match="CharStreams"):
        loss(model, (x,))
