import numpy as np
import pytest
import torch

from course_lib.check import compare, describe_difference


def test_exact_close_and_not_close(capsys):
    assert compare(torch.tensor([1.0, 2.0]), [1.0, 2.0], name="v") == "v: exact (shape (2,))"
    line = compare(torch.tensor([1.0, 2.0 + 1e-6]), np.array([1.0, 2.0]), name="v")
    assert line.startswith("v: close: max abs diff")
    assert "✓" in capsys.readouterr().out
    with pytest.raises(AssertionError, match=r"v: NOT close: max abs diff 0.5"):
        compare(torch.tensor([1.0, 2.5]), [1.0, 2.0], name="v")


def test_shape_mismatch_none_and_nan():
    with pytest.raises(AssertionError, match=r"shape mismatch: got \(2, 3\), expected \(3, 2\)"):
        compare(torch.zeros(2, 3), torch.zeros(3, 2), quiet=True)
    with pytest.raises(AssertionError, match="forget to `return`"):
        compare(None, [1], quiet=True)
    with pytest.raises(AssertionError, match="got NaN in 1 of 2 entries"):
        compare([float("nan"), 1.0], [0.0, 1.0], quiet=True)


def test_integers_and_bf16():
    ok, msg = describe_difference(torch.tensor([1, 2, 3]), [1, 2, 4])
    assert not ok and msg == "not equal: 1 of 3 entries differ (shape (3,))"
    assert describe_difference(torch.ones(2, dtype=torch.bfloat16), [1.0, 1.0])[0]
    assert compare(torch.zeros(0, 4), np.zeros((0, 4)), quiet=True).endswith("exact (empty, shape (0, 4))")
