"""A small, fast nbgrader assignment ("toy") and its student variants, for the grading-flow tests.

The toy has every kind of item a real assignment has: two functions (solution cell + grade cell with
visible and hidden tests), a multiple-choice answer and a written (hand-graded) answer. It imports
nothing heavy, so one autograde takes seconds. ``make_course`` copies the real
``assignments/nbgrader_config.py`` (same time limits and options as the real course) next to it.

Variants of a submission (``student_notebook``): ``solved``, ``blank`` (the release as is),
``partial`` (one function wrong, the choice wrong), ``loop`` (one answer loops forever),
``crash`` (one answer kills the kernel).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
COURSE = REPO / "assignments"
TOY = "toy"
TOY_POINTS = {"test_double": 2.0, "test_square": 1.0, "test_mc1": 1.0}  # auto-graded items
TOY_MANUAL = {"written1": 2.0}


def _meta(grade_id: str, *, grade=False, solution=False, locked=False, points=None) -> dict:
    m = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
         "task": False}
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


def toy_source() -> nbformat.NotebookNode:
    """The instructor's source notebook of the toy assignment (with solutions and hidden tests)."""
    cells = [
        new_markdown_cell("# Toy assignment\nFill in the functions, choose an answer, write one sentence."),
        new_code_cell("import math", metadata=_meta("setup", locked=True)),
        new_code_cell("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
                      metadata=_meta("double", solution=True)),
        new_code_cell('assert double(2) == 4, "double(2) should be 4"\n'
                      "### BEGIN HIDDEN TESTS\nassert double(-3.5) == -7.0\nassert double(0) == 0\n"
                      "### END HIDDEN TESTS",
                      metadata=_meta("test_double", grade=True, locked=True, points=TOY_POINTS["test_double"])),
        new_code_cell("def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
                      metadata=_meta("square", solution=True)),
        new_code_cell('assert square(3) == 9, "square(3) should be 9"\n'
                      "### BEGIN HIDDEN TESTS\nassert square(-2) == 4\n### END HIDDEN TESTS",
                      metadata=_meta("test_square", grade=True, locked=True, points=TOY_POINTS["test_square"])),
        new_code_cell('answer_mc1 = None  # one of "a", "b", "c"\n### BEGIN SOLUTION\nanswer_mc1 = "b"\n'
                      "### END SOLUTION", metadata=_meta("mc1", solution=True)),
        new_code_cell('assert answer_mc1 in ("a", "b", "c"), "set answer_mc1 to \'a\', \'b\' or \'c\'"\n'
                      '### BEGIN HIDDEN TESTS\nassert answer_mc1 == "b"\n### END HIDDEN TESTS',
                      metadata=_meta("test_mc1", grade=True, locked=True, points=TOY_POINTS["test_mc1"])),
        new_markdown_cell("Why does doubling commute with negation?\n\n### BEGIN SOLUTION\n"
                          "Because 2(-x) = -(2x).\n### END SOLUTION",
                          metadata=_meta("written1", grade=True, solution=True, points=TOY_MANUAL["written1"])),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    return nb


def make_course(dest: Path, *, with_real: bool = False) -> Path:
    """A course root at ``dest`` holding the toy assignment (and the real ones if ``with_real``)."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(COURSE / "nbgrader_config.py", dest / "nbgrader_config.py")
    if with_real:
        shutil.copytree(COURSE / "source", dest / "source", dirs_exist_ok=True)
        if (COURSE / "release").is_dir():
            shutil.copytree(COURSE / "release", dest / "release", dirs_exist_ok=True)
    src = dest / "source" / TOY
    src.mkdir(parents=True, exist_ok=True)
    nbformat.write(toy_source(), src / f"{TOY}.ipynb")
    return dest


def _set_solution(nb, grade_id: str, source: str) -> None:
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            c.source = source
            return
    raise KeyError(grade_id)


def student_notebook(released: Path, variant: str) -> nbformat.NotebookNode:
    """A student's copy of the released toy notebook, filled in as ``variant`` says."""
    nb = nbformat.read(released, as_version=4)
    answers = {"double": "def double(x):\n    return 2 * x", "square": "def square(x):\n    return x * x",
               "mc1": 'answer_mc1 = "b"', "written1": "Because 2(-x) = -(2x)."}
    if variant == "blank":
        return nb
    if variant == "partial":
        answers["square"] = "def square(x):\n    return 2 * x  # wrong"
        answers["mc1"] = 'answer_mc1 = "a"'
    elif variant == "loop":
        answers["square"] = "def square(x):\n    while True:\n        pass"
    elif variant == "crash":
        answers["square"] = "import os\nos.kill(os.getpid(), 9)"
    elif variant != "solved":
        raise ValueError(f"variant must be solved, blank, partial, loop or crash, not {variant!r}")
    for gid, src in answers.items():
        _set_solution(nb, gid, src)
    return nb


def expected_auto(variant: str) -> dict[str, float]:
    """Auto-graded points per item that ``variant`` must get."""
    full = dict(TOY_POINTS)
    if variant == "blank":
        return {k: 0.0 for k in full}
    if variant == "partial":
        return {**full, "test_square": 0.0, "test_mc1": 0.0}
    if variant in ("loop", "crash"):
        return {**full, "test_square": 0.0}
    return full


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=1))


def real_variant(name: str, variant: str, course: Path = COURSE) -> nbformat.NotebookNode:
    """A student's copy of a real assignment's (first) released notebook, filled in as ``variant`` says.

    ``solved``: the source's solutions pasted into the answer cells; ``blank``: the release as is;
    ``partial``: every second code answer left blank; ``loop``: the first code answer starts with an
    endless loop; ``crash``: the second code answer starts by killing the kernel.
    """
    src = sorted((course / "source" / name).glob("*.ipynb"))[0]
    rel = nbformat.read(course / "release" / name / src.name, as_version=4)
    if variant == "blank":
        return rel
    sols = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nbformat.read(src, as_version=4).cells
            if c.metadata.get("nbgrader", {}).get("solution")}
    answer_cells = [c for c in rel.cells if c.metadata.get("nbgrader", {}).get("solution")]
    code_answers = [c for c in answer_cells if c.cell_type == "code"]
    for c in answer_cells:
        c.source = "\n".join(ln for ln in sols[c.metadata["nbgrader"]["grade_id"]].splitlines()
                             if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    if variant == "partial":
        blank = {c.metadata["nbgrader"]["grade_id"]: c.source for c in
                 nbformat.read(course / "release" / name / src.name, as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("solution")}
        for c in code_answers[::2]:
            c.source = blank[c.metadata["nbgrader"]["grade_id"]]
    elif variant == "loop":
        code_answers[0].source = "while True:\n    pass\n" + code_answers[0].source
    elif variant == "crash":
        code_answers[min(1, len(code_answers) - 1)].source = "import os\nos._exit(1)\n" + \
            code_answers[min(1, len(code_answers) - 1)].source
    elif variant != "solved":
        raise ValueError(f"variant must be solved, blank, partial, loop or crash, not {variant!r}")
    return rel


def not_another_workers(procs: list) -> list:
    """``procs`` (psutil processes) less those that belong to another pytest-xdist worker: under ``-n 2``
    the other worker may be grading at this moment, and its processes descend from that worker (a
    process this test leaked has lost its parent and hangs from init instead)."""
    import psutil

    me = psutil.Process()
    parent = me.parent()
    others = ({c.pid for c in parent.children()} - {me.pid}) if parent else set()
    kept = []
    for p in procs:
        try:
            if not others & {p.pid, *(a.pid for a in p.parents())}:
                kept.append(p)
        except psutil.Error:  # it ended meanwhile
            pass
    return kept


def install_or_skip(script: str, what: str) -> None:
    """Run ``tools/<script>`` (installs ``what``); skip the test where that needs root we do not have,
    fail it where root could not install."""
    import os
    import subprocess

    import pytest

    out = subprocess.run(["bash", str(REPO / "tools" / script)], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        if os.geteuid() != 0:
            pytest.skip(f"{what} missing and cannot be installed without root:\n{out.stderr}")
        pytest.fail(f"tools/{script} failed:\n{out.stdout}\n{out.stderr}")
