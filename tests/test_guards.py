import pytest
import torch
import torch.nn.functional as F

from course_lib.grading.guards import graded_alone, refuse_reference

cos_alias = F.cosine_similarity


def student_uses_alias(a, b):
    return cos_alias(a, b, dim=-1)


def student_uses_module(a, b):
    return F.cosine_similarity(a, b, dim=-1)


def student_by_hand(a, b):
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))


def test_refuse_reference_catches_module_and_alias_calls_and_restores():
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    with refuse_reference((F, "cosine_similarity")):
        with pytest.raises(RuntimeError, match="write the computation yourself"):
            student_uses_module(a, b)
        with pytest.raises(RuntimeError, match="write the computation yourself"):
            student_uses_alias(a, b)
        got = student_by_hand(a, b)
    assert torch.allclose(got, F.cosine_similarity(a, b, dim=-1), atol=1e-6)
    assert cos_alias is F.cosine_similarity  # both put back
    with pytest.raises(TypeError, match="pairs"):
        refuse_reference(F)


def helper():
    return "student"


def test_graded_alone_swaps_and_restores():
    with graded_alone(helper=lambda: "reference"):
        assert helper() == "reference"
    assert helper() == "student"
    ns = {}
    with graded_alone(namespace=ns, new=1):
        assert ns == {"new": 1}
    assert ns == {}
