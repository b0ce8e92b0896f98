"""The judged run at the level of cells: what crosses from the student's process (plain data of exact
types), what the tests can do with the student's objects (calls with in-place changes copied back,
gradients, random state, modules), the guards across the process boundary, and what a misbehaving
student process costs (only its own item). test_grading_attacks.py runs whole submissions."""
from __future__ import annotations

import math
import time

import numpy as np
import pytest
import torch

from course_lib.grading import wire
from course_lib.grading.judge import answer_names, run_judged
from course_lib.grading.sandbox import sandbox_problem

SANDBOX = sandbox_problem() is None


def _cell(source: str, kind: str) -> dict:
    meta = {"setup": {"grade": False, "locked": True, "solution": False},
            "answer": {"grade": False, "locked": False, "solution": True},
            "test": {"grade": True, "locked": True, "solution": False, "points": 1},
            "plain": None}[kind]
    cell = {"cell_type": "code", "source": source, "metadata": {}, "outputs": []}
    if meta is not None:
        cell["metadata"]["nbgrader"] = {"grade_id": f"{kind}{abs(hash(source)) % 10**6}", **meta}
    return cell


def judged(answers: list[str], tests: list[str], tmp_path, setup: str = "import torch\nimport math",
           timeout: float = 30, plain: list[str] = ()) -> list[dict]:
    cells = [_cell(setup, "setup")] + [_cell(a, "answer") for a in answers] + \
        [_cell(p, "plain") for p in plain] + [_cell(t, "test") for t in tests]
    run_judged(cells, tmp_path, answer_names(answers), sandbox=SANDBOX, cell_timeout=timeout)
    return [c for c in cells if c["metadata"].get("nbgrader", {}).get("grade")]


def errors(cell: dict) -> list[str]:
    return [f"{o['ename']}: {o['evalue']}" for o in cell["outputs"] if o["output_type"] == "error"]


def text(cell: dict) -> str:
    return "".join(o.get("text", "") for o in cell["outputs"] if o["output_type"] == "stream")


# -- the wire format

def test_wire_round_trip_keeps_plain_data_and_exact_types():
    class Sneaky(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    value = {"s": Sneaky("a"), "i": 3, "b": True, "f": float("nan"), "t": torch.arange(6.0).view(2, 3)[:, 1:],
             "h": torch.tensor(2, dtype=torch.bfloat16), "n": np.float64(1.5), "a": np.arange(4, dtype=np.int16),
             "l": [1, (2, None)], "z": torch.Size([2, 3]), "d": torch.float64, "e": torch.empty(0, 3)}
    got = wire.decode(wire.encode(value))
    assert type(got["s"]) is str and got["s"] == "a" and got["s"] != "b"
    assert torch.equal(got["t"], torch.tensor([[1.0, 2.0], [4.0, 5.0]])) and type(got["t"]) is torch.Tensor
    assert got["h"].dtype == torch.bfloat16 and float(got["h"]) == 2.0
    assert type(got["n"]) is np.float64 and got["a"].dtype == np.int16
    assert got["l"] == [1, (2, None)] and got["z"] == torch.Size([2, 3]) and got["d"] is torch.float64
    assert math.isnan(got["f"]) and got["e"].shape == (0, 3) and got["b"] is True


def test_wire_refuses_what_is_not_data_and_malformed_messages():
    with pytest.raises(TypeError):
        wire.encode(lambda: 1)
    good = wire.encode([torch.ones(3)])
    for bad in (good[:-3], good + b"x", b"\x00" * 5, good.replace(b'"tensor"', b'"pickle"')):
        with pytest.raises(wire.WireError):
            wire.decode(bad)


# -- calls across the boundary

def test_values_functions_and_mutation(tmp_path):
    answers = ['''
def double(x):
    print("student says hi")
    return 2 * x

def scale_grads(params, c):
    params = list(params)
    for p in params:
        if p.grad is not None:
            p.grad.mul_(c)
    return len([p for p in params if p.grad is not None])

answer = "b"
''']
    tests = ['assert double(torch.ones(2)).tolist() == [2.0, 2.0]\nassert type(answer) is str and answer == "b"',
             '''
a, b = torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)
a.grad, b.grad = torch.tensor([1.0, 2.0]), None
gen = (p for p in [a, b])
assert scale_grads(gen, 3.0) == 1
assert a.grad.tolist() == [3.0, 6.0] and b.grad is None
''']
    cells = judged(answers, tests, tmp_path)
    assert [errors(c) for c in cells] == [[], []]
    assert "student says hi" in text(cells[0])


def test_gradients_random_state_and_modules(tmp_path):
    answers = ['''
import torch.nn as nn

def square_sum(x):
    return (x ** 2).sum()

def noise(n):
    return torch.randn(n)

class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(3))
        self.inner = nn.Linear(3, 1)

    def forward(self, x):
        return self.inner(x * self.w)
''']
    tests = ['''
x = torch.tensor([1.0, -2.0], requires_grad=True)
square_sum(x).backward()
assert x.grad.tolist() == [2.0, -4.0], x.grad
torch.manual_seed(7)
a = noise(3)
torch.manual_seed(7)
assert torch.equal(a, torch.randn(3)), "the student's draws come from the test's random state"
assert not torch.equal(noise(3), a), "and advance it"
''', '''
m = Scale()
with torch.no_grad():
    m.w.copy_(torch.tensor([1.0, 2.0, 3.0]))
    m.inner.weight.fill_(1.0)
    m.inner.bias.zero_()
out = m(torch.ones(1, 3))
assert out.item() == 6.0, out
out.sum().backward()
assert m.w.grad.tolist() == [1.0, 1.0, 1.0] and m.inner.weight.grad.tolist() == [[1.0, 2.0, 3.0]]
assert [n for n, _ in m.named_parameters()] == ["w", "inner.weight", "inner.bias"]
assert m.inner.in_features == 3
m2 = m.double()
assert m2 is m and m.w.dtype == torch.float64
''']
    cells = judged(answers, tests, tmp_path)
    assert [errors(c) for c in cells] == [[], []]


def test_guards_across_the_boundary(tmp_path):
    answers = ['''
import torch.nn.functional as F

def cos(a, b, _f=F.cosine_similarity):
    return _f(a, b, dim=-1)

def outer(x):
    return inner(x) + 1

def inner(x):
    return x * 0
''']
    tests = ['''
from course_lib.grading.guards import refuse_reference
import torch.nn.functional as F
a = torch.ones(2, 3)
assert torch.allclose(cos(a, a), torch.ones(2))
with refuse_reference((F, "cosine_similarity")):
    cos(a, a)
''', '''
from course_lib.grading.guards import graded_alone
with graded_alone(inner=lambda x: x * 10):
    assert outer(torch.tensor(2.0)).item() == 21.0
assert outer(torch.tensor(2.0)).item() == 1.0
''']
    cells = judged(answers, tests, tmp_path)
    assert any("write the computation yourself" in e for e in errors(cells[0])), cells[0]["outputs"]
    assert errors(cells[1]) == []


def test_a_misbehaving_answer_costs_only_its_item(tmp_path):
    answers = ['''
import os

def fine(x):
    return x + 1

def loops(x):
    while True:
        try:
            while True:
                pass
        except KeyboardInterrupt:
            pass

def dies(x):
    os._exit(3)
''']
    tests = ["assert fine(1) == 2", "loops(1)", "assert fine(2) == 3", "dies(1)", "assert fine(3) == 4"]
    t0 = time.perf_counter()
    cells = judged(answers, tests, tmp_path, timeout=4)
    assert time.perf_counter() - t0 < 60
    assert [bool(errors(c)) for c in cells] == [False, True, False, True, False], [errors(c) for c in cells]
    assert "time limit" in errors(cells[1])[0] and "died" in errors(cells[3])[0]


def test_hidden_test_lines_never_show_in_the_traceback(tmp_path):
    test = "x = 1\n### BEGIN HIDDEN TESTS\nsecret_value = 41\nassert fine(secret_value) == 43, 'off by one'\n" \
           "### END HIDDEN TESTS"
    cells = judged(["def fine(x):\n    return x + 1"], [test], tmp_path)
    tb = \
        "\n".join("\n".join(o["traceback"]) for o in cells[0]["outputs"] if o["output_type"] == "error")
    assert "off by one" in tb and "secret_value" not in tb and "a hidden test" in tb


@pytest.mark.skipif(not SANDBOX, reason="no sandbox here")
def test_the_student_reaches_a_venv_under_a_private_temporary_folder(tmp_path, monkeypatch):
    """A clone in ``mktemp -d`` (mode 0700, on the host's ``/tmp``): the bound folders' parents on the
    sandbox's empty ``/tmp`` must be traversable by the student's uid, or the student's Python cannot start."""
    import os
    import subprocess

    from course_lib.grading import sandbox

    private = tmp_path / "clone"
    (private / "venv").mkdir(parents=True)
    private.chmod(0o700)
    (private / "venv" / "hello.txt").write_text("reached")
    monkeypatch.setattr(sandbox, "_python_paths", lambda: [private / "venv"])
    uid, lock = sandbox.pick_uid() if os.geteuid() == 0 else (None, None)
    cmd = sandbox.sandbox_command(uid, ["/bin/cat", str(private / "venv" / "hello.txt")], work=None)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    finally:
        if lock is not None:
            lock.close()
    assert (out.returncode, out.stdout) == (0, "reached"), out.stderr
