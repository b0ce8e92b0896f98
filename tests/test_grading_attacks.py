"""A class of hostile, honest-but-unusual and victim submissions, graded through ``course autograde`` (two
jobs, several students in one run) and some through ``course check``:

* a submission that solves nothing scores 0 whatever it does to its own process (input or AST
  transformers, replaced checkers, a ``str`` that equals everything, an object reading the caller's
  stack, stealing the solutions, a detached process that waits to rewrite the gradebook);
* an answer that hands the work to the reference loses that item, however it reaches it;
* classmates' scores, submissions, the course's ``source/``, config and gradebook are untouched by
  attackers; no process a student started survives the run;
* honest work keeps full marks: warnings and logging, helpers named like the tests' variables, a
  duplicated answer cell, merged cells with a deleted test, an unknown cell id, toggled flags; an
  interrupt-proof endless loop costs only its item.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from attacks import A2, A3, A6, class_of_submissions
from classroom_fixtures import make_course, not_another_workers
from course_lib.grading import generate_assignment, read_scores
from course_lib.grading.sandbox import UID_BASE, sandbox_problem

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("attacks")]
COURSE_BIN = Path(sys.executable).parent / "course"


def course(*args: str, timeout: float = 1500) -> subprocess.CompletedProcess:
    return subprocess.run([str(COURSE_BIN), *args], capture_output=True, text=True, timeout=timeout)


def _tree_digest(path: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        h.update(str(f.relative_to(path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _gradebook_definition(db: Path) -> str:
    """A digest of what the gradebook says the assignments are (their cells, tests, points)."""
    con = sqlite3.connect(db)
    h = hashlib.sha256()
    for table in ("assignment", "notebook", "base_cell", "source_cell", "grade_cells", "solution_cells"):
        h.update(repr(sorted(con.execute(f"select * from {table}").fetchall(), key=repr)).encode())
    con.close()
    return h.hexdigest()


def _sandbox_processes() -> list[psutil.Process]:
    """Sandboxed processes alive now that are not another test's (see ``not_another_workers``)."""
    out = []
    for p in psutil.process_iter(["uids"]):
        try:
            if UID_BASE <= p.info["uids"].real < UID_BASE + 4000:
                out.append(p)
        except (psutil.Error, AttributeError):
            pass
    return not_another_workers(out)


@pytest.fixture(scope="module")
def attacked_class(tmp_path_factory):
    if sandbox_problem():
        pytest.skip(f"no sandbox here: {sandbox_problem()}")
    root = make_course(tmp_path_factory.mktemp("attacks") / "course", with_real=True)
    for a in (A2, A3, A6):
        generate_assignment(root, a)
    subs = class_of_submissions(root)
    for student, (nb, assignment, _) in subs.items():
        dest = root / "submitted" / student / assignment
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / f"{assignment}.ipynb")
        (dest / "timestamp.txt").write_text("2026-01-15 10:00:00.000000 UTC")
    before = {"source": _tree_digest(root / "source"), "config": (root / "nbgrader_config.py").read_bytes(),
              "definition": _gradebook_definition(root / "gradebook.db"),
              "victims": {s: (root / "submitted" / s / A2 / f"{A2}.ipynb").read_bytes() for s in subs
                          if s.startswith("z_")}}
    t0 = time.perf_counter()
    runs = {a: course("--root", str(root), "autograde", a, "--jobs", "2", "--cell-timeout", "20",
                      *[f"--student={s}" for s, (_, aa, _) in subs.items() if aa == a]) for a in (A2, A3, A6)}
    seconds = time.perf_counter() - t0
    time.sleep(4)  # give a surviving process (there must be none) the time to do its harm
    return root, subs, runs, before, seconds


def test_every_submission_gets_what_it_solved(attacked_class):
    root, subs, runs, _, seconds = attacked_class
    for out in runs.values():
        print(out.stdout)
        assert "NOT graded" not in out.stdout, out.stdout + out.stderr
    print(f"{len(subs)} submissions graded in {seconds:.1f} s")
    wrong = {}
    for student, (_, assignment, expected) in subs.items():
        got = {s.grade_id: s.score for s in read_scores(root, assignment, student) if s.auto}
        if got != expected:
            wrong[student] = {k: (got.get(k), v) for k, v in expected.items() if got.get(k) != v}
    assert not wrong, f"(got, expected) per item: {json.dumps(wrong, indent=1)}"


def test_nothing_outside_the_sandbox_changed(attacked_class):
    root, subs, _, before, _ = attacked_class
    assert _tree_digest(root / "source") == before["source"], "source/ was changed"
    assert (root / "nbgrader_config.py").read_bytes() == before["config"], "the config was changed"
    for s, data in before["victims"].items():
        assert (root / "submitted" / s / A2 / f"{A2}.ipynb").read_bytes() == data, f"{s}'s submission was changed"
    assert not list((root / "source").rglob("torch.py"))
    assert _gradebook_definition(root / "gradebook.db") == before["definition"], "the gradebook's tests changed"
    con = sqlite3.connect(root / "gradebook.db")
    assert con.execute("select count(*) from grade where manual_score is not null").fetchone()[0] == 0
    assert _sandbox_processes() == [], "a student's process survived the run"


def test_review_flags_name_the_tampering(attacked_class):
    _, _, runs, _, _ = attacked_class
    lines = {ln.split()[0]: ln for ln in runs[A2].stdout.splitlines() if ln and not ln.startswith(" ")}
    flagged = runs[A2].stdout
    for student in ("a_input_transformer", "a_stack_reader", "a_steal_source", "a_gradebook_writer"):
        assert student in lines
    assert "review:" in flagged and "IPython hooks" in flagged and "stack frames" in flagged


def test_export_has_a_review_column(attacked_class, tmp_path):
    root, subs, _, _, _ = attacked_class
    out = course("--root", str(root), "export", A2, "--csv", str(tmp_path / "a2.csv"))
    assert out.returncode == 0, out.stderr
    import csv

    rows = {r["student_id"]: r for r in csv.DictReader((tmp_path / "a2.csv").open())}
    assert rows["a_input_transformer"]["review_flags"]
    assert rows["z_victim0"]["review_flags"] == ""


@pytest.mark.parametrize("student", ["a_input_transformer", "a_steal_source", "b_default_argument"])
def test_course_check_gives_the_same_verdict(attacked_class, student, tmp_path):
    root, subs, _, _, _ = attacked_class
    nb, assignment, expected = subs[student]
    path = tmp_path / "mine.ipynb"
    nbformat.write(nb, path)
    out = course("check", str(path), "--feedback-dir", str(tmp_path / "fb"))
    assert out.returncode == 0, out.stdout + out.stderr
    for item, pts in expected.items():
        row = next(ln for ln in out.stdout.splitlines() if ln.startswith(item + " "))
        assert float(row.split()[1]) == pts, f"{student} {item}: {row}"
    shutil.rmtree(tmp_path / "fb", ignore_errors=True)
