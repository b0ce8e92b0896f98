"""`course check`: a learner grades their own notebook offline.

On the toy assignment (fast): scores item by item for solved / partial / blank work, the learner's
file is never written, any file name and any current directory work, and deleted or edited test
cells are restored before grading. On the first real assignment (when there is one): its source
gets full auto points through the `course` command itself.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from classroom_fixtures import REPO, TOY, expected_auto, make_course, student_notebook
from course_lib.grading import assignment_names, generate_assignment
from course_lib.grading.selfcheck import check_notebook, find_assignment, format_report

pytestmark = pytest.mark.slow
COURSE_BIN = Path(sys.executable).parent / "course"


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = make_course(tmp_path_factory.mktemp("selfcheck") / "course")
    generate_assignment(root, TOY)
    return root


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def _md5(p: Path) -> str:
    return hashlib.md5(p.read_bytes()).hexdigest()


def _auto(res) -> dict[str, float]:
    return {i.grade_id: i.score for i in res.items if i.auto}


@pytest.mark.parametrize("variant", ["solved", "partial"])
def test_scores_and_learner_file_untouched(toy, tmp_path, variant):
    nb = tmp_path / f"renamed {variant} copy.ipynb"  # a name the assignment never had
    nbformat.write(student_notebook(toy / "release" / TOY / f"{TOY}.ipynb", variant), nb)
    before, mtime = _md5(nb), nb.stat().st_mtime_ns
    res = check_notebook(nb, root=toy, feedback_dir=tmp_path / "fb")
    assert (res.assignment, res.notebook) == (TOY, f"{TOY}.ipynb")
    assert _auto(res) == expected_auto(variant)
    assert [i.score for i in res.items if not i.auto] == [None], "the written answer waits for the instructor"
    assert (_md5(nb), nb.stat().st_mtime_ns) == (before, mtime), "the learner's notebook was modified"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([nb.name, "fb"]), "files left next to it"
    html = res.feedback_html.read_text()
    assert res.feedback_html.parent == tmp_path / "fb" and "test_double" in html
    report = format_report(res)
    assert f"total (auto-graded): {sum(expected_auto(variant).values()):g} / 4" in report
    assert str(res.feedback_html) in report


def test_deleted_and_edited_tests_are_restored(toy, tmp_path):
    nb = student_notebook(toy / "release" / TOY / f"{TOY}.ipynb", "partial")
    # the learner deletes the test of square (which they got wrong) and rewrites the choice's test
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "test_square"]
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "test_mc1":
            c.source = "pass  # trust me"
    path = tmp_path / "cheat.ipynb"
    nbformat.write(nb, path)
    res = check_notebook(path, root=toy, feedback_dir=tmp_path / "fb")
    assert _auto(res) == expected_auto("partial"), "deleted/edited test cells must be put back before grading"


def test_command_from_another_directory(toy, tmp_path):
    nb = tmp_path / "work" / "mine.ipynb"
    nb.parent.mkdir()
    nbformat.write(student_notebook(toy / "release" / TOY / f"{TOY}.ipynb", "solved"), nb)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "COURSE_ROOT": str(toy)}
    out = subprocess.run([str(COURSE_BIN), "check", os.path.relpath(nb, elsewhere), "--feedback-dir", "fb"],
                         cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "total (auto-graded): 4 / 4" in out.stdout
    assert (elsewhere / "fb" / "mine.html").exists()


def test_not_an_assignment(toy, tmp_path):
    nb = tmp_path / "random.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), nb)
    with pytest.raises(ValueError, match="does not look like one of the course's assignments"):
        find_assignment(nb, toy)
    out = subprocess.run([str(COURSE_BIN), "--root", str(toy), "check", str(nb)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and "does not look like" in out.stderr


REAL = assignment_names(REPO / "assignments")


@pytest.mark.skipif(not REAL, reason="no assignment under assignments/source yet")
def test_real_assignment_source_gets_full_marks(tmp_path):
    """The first real assignment's solution notebook, checked with the installed command from /tmp."""
    name = REAL[0]
    src = sorted((REPO / "assignments" / "source" / name).glob("*.ipynb"))[0]
    copy = tmp_path / "my_solution.ipynb"
    copy.write_bytes(src.read_bytes())
    out = subprocess.run([str(COURSE_BIN), "check", str(copy), "--feedback-dir", str(tmp_path / "fb")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    total = next(ln for ln in out.stdout.splitlines() if ln.startswith("total (auto-graded):"))
    got, full = total.split(":")[1].split("+")[0].split("/")
    assert float(got) == float(full) > 0, out.stdout


def test_poisoned_cache_is_detected_and_rebuilt(toy, tmp_path):
    """A cached gradebook whose tests were replaced (by hand, or by code run without the sandbox) is made
    again: the blank notebook still scores 0, and the feedback never shows hidden tests' code."""
    import sqlite3

    from course_lib.grading.selfcheck import _template_gradebook

    nb = tmp_path / "blank.ipynb"
    nbformat.write(student_notebook(toy / "release" / TOY / f"{TOY}.ipynb", "blank"), nb)
    db = _template_gradebook(toy, TOY)
    con = sqlite3.connect(db)
    con.execute("update source_cell set source = 'pass' where name like 'test_%'")
    con.commit()
    con.close()
    res = check_notebook(nb, root=toy, feedback_dir=tmp_path / "fb")
    assert _auto(res) == expected_auto("blank")
    html = res.feedback_html.read_text()
    assert "hidden tests are not shown" in html and "double(-3.5)" not in html
