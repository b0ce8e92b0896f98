"""refuse_reference recognises a reference by what runs (code objects, C-function names), however the
student's code reaches it; graded_alone swaps and restores. These run the guards in this process (as an
instructor running the source notebook does); the judged, sandboxed path is in test_judge.py."""
import functools

import pytest
import torch
import torch.nn.functional as F

import course_lib.models.deep as deep
from course_lib.grading.guards import graded_alone, refuse_reference

cos_alias = F.cosine_similarity
TABLE = {"cos": F.cosine_similarity}


def by_hand(a, b):
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))


# every way a student has been seen to reach a reference
CHEATS = {
    "module attribute": lambda a, b: F.cosine_similarity(a, b, dim=-1),
    "alias": lambda a, b: cos_alias(a, b, dim=-1),
    "default argument": lambda a, b, _f=F.cosine_similarity: _f(a, b, dim=-1),
    "functools.partial": functools.partial(lambda a, b, f: f(a, b, dim=-1), f=torch.cosine_similarity),
    "dict value": lambda a, b: TABLE["cos"](a, b, dim=-1),
    "torch._VF / torch": lambda a, b: torch.cosine_similarity(a, b, dim=-1),
    "torch.ops": lambda a, b: torch.ops.aten.cosine_similarity(a, b, -1),
}


@pytest.mark.parametrize("how", list(CHEATS))
def test_refused_however_reached(how):
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    with pytest.raises(RuntimeError, match="write the computation yourself"):
        with refuse_reference((F, "cosine_similarity")):
            CHEATS[how](a, b)


def test_honest_work_passes_and_nothing_stays_patched():
    a, b = torch.randn(3, 4), torch.randn(3, 4)
    with refuse_reference((F, "cosine_similarity")):
        got = by_hand(a, b)
    assert torch.allclose(got, F.cosine_similarity(a, b, dim=-1), atol=1e-6)
    assert cos_alias is F.cosine_similarity
    with pytest.raises(TypeError, match="pairs"):
        refuse_reference(F)


def test_python_reference_and_its_private_helpers():
    grads = [torch.randn(3, requires_grad=True) for _ in range(2)]
    for p in grads:
        p.grad = torch.ones(3)
    # the public function, and the private helper it calls, are both refused
    for call in (lambda: torch.nn.utils.clip_grad_norm_(grads, 1.0),
                 lambda: torch.nn.utils.clip_grad._clip_grads_with_norm_(grads, 1.0, torch.tensor(2.0))):
        with pytest.raises(RuntimeError, match="clip"):
            with refuse_reference((torch.nn.utils, "clip_grad_norm_")):
                call()
    # a copy of the function object (same code) is the same reference
    x, lengths = torch.randn(2, 3, 1), torch.tensor([3, 1])
    clone = type(deep.reverse_padded)(deep.reverse_padded.__code__, deep.reverse_padded.__globals__)
    with pytest.raises(RuntimeError, match="reverse_padded"):
        with refuse_reference((deep, "reverse_padded")):
            clone(x, lengths)


def test_module_methods_and_cython_functions():
    cell = torch.nn.LSTMCell(2, 3)
    x = torch.randn(1, 2)
    with pytest.raises(RuntimeError, match="lstm_cell"):
        with refuse_reference((torch, "lstm_cell")):
            cell(x)  # nn.LSTMCell.forward calls torch._VF.lstm_cell
    from gensim.models import fasttext

    with pytest.raises(RuntimeError, match="compute_ngrams"):
        with refuse_reference((fasttext, "compute_ngrams")):
            fasttext.compute_ngrams("where", 3, 6)


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
