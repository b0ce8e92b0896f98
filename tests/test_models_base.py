"""course_lib.models.base: eval_mode, the kind map, the masked unroll every hand layer uses."""
import pytest
import torch
from torch import nn

from course_lib.models.base import TORCH_LAYERS, check_size, eval_mode, masked_unroll, torch_kind


def test_eval_mode_restores_the_mode_even_after_an_error():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    with eval_mode(model) as m:
        assert m is model and not model.training and not model[1].training
    assert model.training and model[1].training
    with pytest.raises(RuntimeError, match="boom"):
        with eval_mode(model):
            raise RuntimeError("boom")
    assert model.training, "a failing cell must not leave the model in eval mode"
    model.eval()
    with eval_mode(model):
        pass
    assert not model.training, "a model in eval mode stays in eval mode"


def test_kind_map_and_its_inverse():
    for kind, cls in TORCH_LAYERS.items():
        assert torch_kind(cls(2, 3, batch_first=True)) == kind
    with pytest.raises(TypeError, match="nn.RNN, nn.GRU or nn.LSTM"):
        torch_kind(nn.Linear(2, 3))
    with pytest.raises(ValueError, match="positive int"):
        check_size("hidden_size", 0)


def test_masked_unroll_carries_state_over_padding():
    # step: count the real steps (state + input); padding must neither count nor output
    inputs = torch.ones(2, 4, 1)
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    out, last, states = masked_unroll(lambda x_t, s: s + x_t, inputs, torch.zeros(2, 1), mask, keep_states=True)
    assert out[:, :, 0].tolist() == [[1, 2, 3, 4], [1, 2, 0, 0]]
    assert last[:, 0].tolist() == [4, 2]
    assert [s[1, 0].item() for s in states] == [1, 2, 2, 2]
    # a tuple state (the LSTM's (h, c)): outputs are its first entry
    out, (h, c), _ = masked_unroll(lambda x_t, s: (s[0] + x_t, s[1] - x_t), inputs, (torch.zeros(2, 1),) * 2, mask)
    assert out[:, :, 0].tolist() == [[1, 2, 3, 4], [1, 2, 0, 0]] and c[:, 0].tolist() == [-4, -2]
    empty, last, _ = masked_unroll(lambda x_t, s: s, torch.ones(2, 0, 1), torch.zeros(2, 3))
    assert empty.shape == (2, 0, 3)


def test_set_keep_bias_sets_the_second_gate_block():
    from course_lib.models.base import set_keep_bias

    for layer, gates in ((nn.LSTM(3, 4, batch_first=True), 4), (nn.GRU(3, 4, batch_first=True), 3)):
        set_keep_bias(layer, 1.5)
        b = (layer.bias_ih_l0 + layer.bias_hh_l0).detach().view(gates, 4)
        assert torch.allclose(b[1], torch.full((4,), 1.5))  # f (i, f, g, o) or z (r, z, n)
    with pytest.raises(TypeError, match="nn.LSTM or nn.GRU"):
        set_keep_bias(nn.RNN(3, 4), 1.0)
