"""Every assignment grades end to end with nbgrader (picked up from assignments/source/):

(a) the source notebook submitted as is -> full auto-graded points, item by item;
(b) the released notebook untouched -> 0 auto-graded points;
(c) the source with one test cell deleted -> the cell is restored and that item scores 0;
and the committed release/ is what generate_assignment produces.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import assignment_names, autograde, generate_assignment

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "assignments"
ASSIGNMENTS = assignment_names(COURSE)
# one xdist worker per assignment, so its generated copy is shared by its tests
PARAMS = [pytest.param(a, marks=pytest.mark.xdist_group(a)) for a in ASSIGNMENTS]


def _copy_course(tmp_path: Path) -> Path:
    dest = tmp_path / "course"
    shutil.copytree(COURSE, dest, ignore=shutil.ignore_patterns(
        "gradebook.db", "submitted", "autograded", "feedback", ".nbgrader.log", ".ipynb_checkpoints", "release"))
    return dest


def _grade_cells(nb) -> list[tuple[str, float, str]]:
    out = []
    for c in nb.cells:
        meta = c.metadata.get("nbgrader", {})
        if meta.get("grade"):
            out.append((meta["grade_id"], float(meta.get("points", 0)), c.cell_type))
    return out


def _strip_ids(nb):
    nb = json.loads(json.dumps(nb))
    nb.get("metadata", {}).pop("language_info", None)
    for c in nb["cells"]:
        c.pop("id", None)
    return nb


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    cache = {}

    def get(name: str) -> Path:
        if name not in cache:
            course = _copy_course(tmp_path_factory.mktemp(name))
            generate_assignment(course, name)
            cache[name] = course
        return cache[name]
    return get


def test_there_are_assignments():
    assert ASSIGNMENTS, "no assignments under assignments/source"


@pytest.mark.parametrize("name", PARAMS)
def test_release_in_sync_and_clean(name, generated):
    course = generated(name)
    for src_nb in sorted((COURSE / "source" / name).glob("*.ipynb")):
        committed = COURSE / "release" / name / src_nb.name
        assert committed.exists(), f"release/{name}/{src_nb.name} is not committed"
        fresh = nbformat.read(course / "release" / name / src_nb.name, as_version=4)
        ours = nbformat.read(committed, as_version=4)
        assert _strip_ids(fresh) == _strip_ids(ours), (
            f"release/{name}/{src_nb.name} is out of date: run `cd assignments && nbgrader generate_assignment "
            f"{name} --force`")
        for nb in (ours, nbformat.read(src_nb, as_version=4)):
            for c in nb.cells:
                if c.cell_type == "code":
                    assert not c.outputs and c.execution_count is None, "notebooks are committed without outputs"


@pytest.mark.slow
@pytest.mark.parametrize("name", PARAMS)
def test_grading_pipeline(name, generated):
    course = generated(name)
    src_nbs = sorted((COURSE / "source" / name).glob("*.ipynb"))
    expected = {nb.stem: _grade_cells(nbformat.read(nb, as_version=4)) for nb in src_nbs}
    auto_items = {(nbname, gid): pts for nbname, cells in expected.items() for gid, pts, kind in cells
                  if kind == "code"}
    assert auto_items, "an assignment needs auto-graded items"
    assert any(kind == "markdown" for cells in expected.values() for _, _, kind in cells), \
        "an assignment needs a written answer graded by hand"

    # (a) the solutions get full marks, item by item
    scores = autograde(course, name, "solution", {nb.name: nb for nb in src_nbs})
    got = {(s.notebook, s.grade_id): s for s in scores if s.auto}
    assert set(got) == set(auto_items)
    for key, pts in auto_items.items():
        assert got[key].score == pts, f"source {key}: {got[key].score} of {pts} points"
    manual = [s for s in scores if not s.auto]
    assert manual and all(s.score is None for s in manual), "written answers wait for a human grader"

    # (b) the untouched release gets nothing
    released = {nb.name: course / "release" / name / nb.name for nb in src_nbs}
    scores = autograde(course, name, "blank", released)
    auto = [s for s in scores if s.auto]
    assert len(auto) == len(auto_items)
    assert sum(s.score for s in auto) == 0, [(s.grade_id, s.score) for s in auto if s.score]

    # (c) a student blanks one answer and deletes its test cell: the test is put back, that item
    #     scores 0 and every other item keeps its full points
    first = src_nbs[0]
    nb = nbformat.read(first, as_version=4)
    released_nb = nbformat.read(released[first.name], as_version=4)
    blank_cells = {c.metadata["nbgrader"]["grade_id"]: c for c in released_nb.cells
                   if c.metadata.get("nbgrader", {}).get("solution")}
    victim_id = next(gid for gid, _, kind in expected[first.stem] if kind == "code")
    victim_pos = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == victim_id)
    sol_pos = max(i for i, c in enumerate(nb.cells[:victim_pos])
                  if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"))
    nb.cells[sol_pos] = blank_cells[nb.cells[sol_pos].metadata["nbgrader"]["grade_id"]]
    del nb.cells[victim_pos]
    tampered = course / "tampered.ipynb"
    nbformat.write(nb, tampered)
    scores = autograde(course, name, "tampered", {first.name: tampered, **{n.name: n for n in src_nbs[1:]}})
    by_id = {(s.notebook, s.grade_id): s for s in scores if s.auto}
    assert set(by_id) == set(auto_items), "the deleted test cell was not restored"
    for key, pts in auto_items.items():
        want = 0 if key == (first.stem, victim_id) else pts
        assert by_id[key].score == want, f"tampered {key}: {by_id[key].score}, expected {want}"


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_header_points_match_the_cells(name):
    """The header's "Points: N for code and multiple choice ..., M for the written ..." is what the cells give."""
    import re

    for src in sorted((COURSE / "source" / name).glob("*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        auto = sum(p for _, p, kind in _grade_cells(nb) if kind == "code")
        manual = sum(p for _, p, kind in _grade_cells(nb) if kind == "markdown")
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        m = re.search(r"Points:\s*(\d+)\s*for code and multiple choice.*?(\d+)\s*for the (?:written|report)",
                      text, re.S)
        assert m, f"{src.name}: no 'Points: N for code and multiple choice ..., M for the written ...' line"
        assert (int(m.group(1)), int(m.group(2))) == (auto, manual), \
            f"{src.name}: the header says {m.group(1)} + {m.group(2)}, the cells give {auto:g} + {manual:g}"
