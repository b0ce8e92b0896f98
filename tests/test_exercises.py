"""Every lecture exercise's check passes its worked solution, rejects each wrong answer, reports an
untouched stub as "not attempted" (without raising), is used by its lecture, and gives away no
assignment item."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_lib.exercises import all_exercises, check, show_solution, solution_source

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = all_exercises()
IDS = [e.id for e in EXERCISES]


def _lecture_sources() -> dict[int, str]:
    out = {}
    for p in sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(p, as_version=4)
        out[int(p.name[:2])] = "\n".join(c.source for c in nb.cells)
    return out


def test_there_are_exercises():
    assert EXERCISES


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_solution_passes(ex, capsys):
    check(ex.id, ex.solution)
    assert "all checks passed" in capsys.readouterr().out


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_every_wrong_answer_fails(ex):
    for wrong in ex.wrong:
        with pytest.raises(AssertionError, match=re.escape(ex.id)):
            check(ex.id, wrong)


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_stub_is_not_attempted(ex, capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    for untouched in (stub, lambda *a, **k: None):
        check(ex.id, untouched)
        assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize("ex", EXERCISES, ids=IDS)
def test_solution_can_be_shown(ex, capsys):
    show_solution(ex.id)
    assert solution_source(ex.id).strip() in capsys.readouterr().out


def test_each_exercise_is_used_by_its_lecture():
    sources = _lecture_sources()
    for ex in EXERCISES:
        lecture = int(ex.id.split(".")[0][1:])
        assert lecture in sources, f"{ex.id}: no lecture {lecture}"
        assert re.search(rf"check\(\s*[\"']{re.escape(ex.id)}[\"']", sources[lecture]), \
            f"{ex.id} is registered but lecture {lecture} never checks it"
    for lecture, src in sources.items():
        for used in re.findall(r"check\(\s*[\"'](L\d+\.\w+)[\"']", src):
            assert used in IDS, f"lecture {lecture} checks {used!r}, which is not registered"


def _solution_lines(text: str) -> set[str]:
    keep = set()
    for line in text.splitlines():
        s = re.sub(r"\s+", "", line.split("#")[0])
        if len(s) >= 25 and not s.startswith(("def", "return", '"""')):  # a real line of logic
            keep.add(s)
    return keep


def test_no_exercise_gives_an_assignment_item_away():
    regions = []
    for src in sorted((ROOT / "assignments" / "source").glob("*/*.ipynb")):
        for c in nbformat.read(src, as_version=4).cells:
            regions += re.findall(r"### BEGIN SOLUTION(.*?)### END SOLUTION", c.source, flags=re.S)
    assignment_lines = _solution_lines("\n".join(regions))
    for ex in EXERCISES:
        shared = _solution_lines(solution_source(ex.id)) & assignment_lines
        assert len(shared) < 2, f"{ex.id}'s solution repeats an assignment's solution: {sorted(shared)}"
