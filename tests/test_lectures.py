"""Every lecture notebook executes top to bottom with FAST = True, within 60 s, with no error
outputs, and its SUMMARY numbers pass tests/lecture_checks/<stem>.py.

Executions go through nbrun's on-disk cache, shared with the book (tests/test_site.py): whichever
needs a lecture first executes it, the other reads that execution back (its own time is the one
checked against the limit)."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

from nbrun import run_notebook_cached

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "lectures").glob("[0-9][0-9]_*.ipynb"))
CHECKS = Path(__file__).parent / "lecture_checks"
TIME_LIMIT_S = 60


def test_there_are_lectures():
    assert len(LECTURES) >= 1


@pytest.mark.parametrize("nb_path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_is_committed_clean(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell must be tagged 'parameters'"
    assert "FAST = False" in tagged[0].source
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None, "notebooks are committed without outputs"


@pytest.mark.slow
@pytest.mark.parametrize("nb_path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_runs_fast(nb_path):
    check = CHECKS / f"{nb_path.stem}.py"
    assert check.exists(), f"missing {check.relative_to(ROOT)}: each lecture needs checks on its SUMMARY"
    run = run_notebook_cached(nb_path, fast=True, timeout_per_cell=TIME_LIMIT_S * 3)
    assert not run.errors, "error outputs:\n" + "\n\n".join(run.errors)
    assert run.summary is not None, "the lecture must define SUMMARY = {...} in its last cells"
    spec = importlib.util.spec_from_file_location(f"check_{nb_path.stem}", check)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.check(run.summary, True)
    print(nb_path.stem, f"{run.seconds:.1f} s", "(cached execution)" if run.cached else "", json.dumps(run.summary))
    assert run.seconds <= TIME_LIMIT_S, \
        f"{nb_path.name} took {run.seconds:.1f} s with FAST = True (limit {TIME_LIMIT_S} s)"


@pytest.mark.parametrize("nb_path", LECTURES, ids=[p.stem for p in LECTURES])
def test_no_empty_code_cells(nb_path):
    """An empty code cell is a leftover of editing (a learner sees a blank box and it never runs)."""
    nb = nbformat.read(nb_path, as_version=4)
    empty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and not c.source.strip()]
    assert not empty, f"empty code cells at {empty}"
