"""Per-item score export: one row per student, one column per graded cell.

nbgrader's own ``nbgrader export`` writes totals per assignment only; this reads the gradebook and
writes every graded cell's score (auto-graded or, once graded by hand, the manual score).
"""
from __future__ import annotations

import csv
from pathlib import Path

import nbformat

from course_lib.grading.nbgrader_tools import gradebook

__all__ = ["item_columns", "score_table", "write_csv"]


def item_columns(root: Path, assignment: str) -> list[tuple[str, str, float]]:
    """(notebook, grade_id, max points) of every graded cell, in notebook order."""
    cols = []
    for src in sorted((Path(root) / "source" / assignment).glob("*.ipynb")):
        nb = nbformat.read(src, as_version=4)
        for c in nb.cells:
            meta = c.metadata.get("nbgrader", {})
            if meta.get("grade"):
                cols.append((src.stem, meta["grade_id"], float(meta.get("points", 0))))
    if not cols:
        raise FileNotFoundError(f"no graded cells in {Path(root) / 'source' / assignment}")
    return cols


def score_table(root: Path, assignment: str) -> tuple[list[str], list[list]]:
    """Header and rows: ``student_id``, one column ``notebook/grade_id`` per item, ``total``, ``max_total``,
    ``needs_manual_grade``, ``review_flags`` (constructs a human should look at, see
    ``course_lib.grading.flags``). An item waiting for a human grader (a written answer) is an empty cell;
    nbgrader itself gives 0 to a written answer left exactly as released."""
    from course_lib.grading.classroom import review_flags

    root = Path(root)
    cols = item_columns(root, assignment)
    multi = len({nb for nb, _, _ in cols}) > 1
    header = ["student_id"] + [f"{nb}/{gid}" if multi else gid for nb, gid, _ in cols] + \
        ["total", "max_total", "needs_manual_grade", "review_flags"]
    rows = []
    with gradebook(root) as gb:
        for sub in sorted(gb.find_assignment(assignment).submissions, key=lambda s: s.student.id):
            scores = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    if g.manual_score is not None:
                        scores[(nb.name, g.name)] = g.manual_score + (g.extra_credit or 0.0)
                    elif not g.needs_manual_grade and g.auto_score is not None:
                        scores[(nb.name, g.name)] = g.auto_score + (g.extra_credit or 0.0)
                    else:
                        scores[(nb.name, g.name)] = None  # waits for a human grader
            vals = [scores.get((nb, gid)) for nb, gid, _ in cols]
            rows.append([sub.student.id] + ["" if v is None else round(float(v), 4) for v in vals] +
                        [round(sum(v or 0.0 for v in vals), 4), sum(p for _, _, p in cols),
                         bool(sub.needs_manual_grade), "; ".join(review_flags(root, assignment, sub.student.id))])
    return header, rows


def write_csv(root: Path, assignment: str, path: Path) -> int:
    """Write ``score_table`` to ``path``; returns the number of students."""
    header, rows = score_table(root, assignment)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return len(rows)
