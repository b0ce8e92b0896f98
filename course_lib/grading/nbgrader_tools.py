"""Thin, tested wrappers around the nbgrader command line.

nbgrader reads ``nbgrader_config.py`` from the current directory only, so every
command here runs *in* the course root. nbgrader shells out to ``alembic``, so the
directory of the running Python's scripts is put first on ``PATH``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from course_lib.threads import single_thread_env

__all__ = ["ItemScore", "course_root", "assignment_names", "nbgrader", "generate_assignment", "autograde",
           "gradebook", "read_scores"]


@dataclass(frozen=True)
class ItemScore:
    """The score of one graded cell of one submission."""

    notebook: str
    grade_id: str
    score: float | None  # None: needs manual grading and has not been graded
    max_score: float
    auto: bool  # graded by tests (True) or by hand (False)


def course_root(start: str | os.PathLike | None = None) -> Path:
    """The nbgrader course root: the ``assignments`` folder of this repository.

    Looks at ``$COURSE_ROOT`` first, then upwards from ``start`` (default: this package's folder
    and the current directory) for a folder holding ``assignments/nbgrader_config.py``.
    """
    env = os.environ.get("COURSE_ROOT")
    if env:
        root = Path(env)
        if not (root / "nbgrader_config.py").exists():
            raise FileNotFoundError(f"COURSE_ROOT={env} has no nbgrader_config.py")
        return root
    starts = [Path(start)] if start else [Path(__file__).resolve(), Path.cwd()]
    for s in starts:
        for d in [s, *s.parents]:
            if (d / "nbgrader_config.py").exists() and (d / "source").is_dir():
                return d
            if (d / "assignments" / "nbgrader_config.py").exists():
                return d / "assignments"
    raise FileNotFoundError("could not find the course root (a folder 'assignments' with nbgrader_config.py); "
                            "set COURSE_ROOT")


def assignment_names(root: Path) -> list[str]:
    """Assignments in ``root/source`` (folders holding a notebook), sorted."""
    src = root / "source"
    return sorted(d.name for d in src.iterdir() if d.is_dir() and any(d.glob("*.ipynb")))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.update(single_thread_env(headless=True))
    return env


def nbgrader(root: Path, *args: str, timeout: float = 900, check: bool = True) -> subprocess.CompletedProcess:
    """Run ``nbgrader ARGS`` in the course root; raise with its output if it fails."""
    exe = shutil.which("nbgrader", path=str(Path(sys.executable).parent)) or "nbgrader"
    proc = subprocess.run([exe, *args], cwd=root, env=_env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def generate_assignment(root: Path, assignment: str) -> Path:
    """``nbgrader generate_assignment --force``; returns ``root/release/<assignment>``."""
    nbgrader(root, "generate_assignment", assignment, "--force")
    return root / "release" / assignment


def autograde(root: Path, assignment: str, student: str, notebooks: dict[str, Path]) -> list[ItemScore]:
    """Submit ``notebooks`` (``{name_in_assignment: file}``) for ``student`` and autograde them.

    The files are copied to ``submitted/<student>/<assignment>/``; returns the per-item scores.
    """
    dest = root / "submitted" / student / assignment
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name, path in notebooks.items():
        shutil.copyfile(path, dest / (name if name.endswith(".ipynb") else name + ".ipynb"))
    nbgrader(root, "autograde", assignment, "--student", student, "--create", "--force")
    return read_scores(root, assignment, student)


def gradebook(path: Path) -> Any:
    """nbgrader's ``Gradebook`` for a course root (its ``gradebook.db``) or a gradebook file; a context manager."""
    from nbgrader.api import Gradebook

    path = Path(path)
    return Gradebook(f"sqlite:///{path / 'gradebook.db' if path.is_dir() else path}")


def read_scores(root: Path, assignment: str, student: str) -> list[ItemScore]:
    """Per-item scores of one submission, read from the gradebook."""
    with gradebook(root) as gb:
        sub = gb.find_submission(assignment, student)
        out = []
        for nb in sub.notebooks:
            for g in nb.grades:
                manual = _is_manual(gb, assignment, nb.name, g.name)
                score = g.manual_score if manual else g.score
                out.append(ItemScore(nb.name, g.name, None if score is None else float(score), float(g.max_score),
                                     not manual))
        return sorted(out, key=lambda s: (s.notebook, s.grade_id))


def _is_manual(gb: Any, assignment: str, notebook: str, grade_id: str) -> bool:
    cell = gb.find_grade_cell(grade_id, notebook, assignment)
    return cell.cell_type == "markdown"
