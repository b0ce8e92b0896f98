"""Self-study: grade your own notebook offline, against the full tests (visible and hidden).

``course check PATH`` finds which assignment the notebook belongs to (by the ids of its graded
cells, so the file may have any name and live anywhere), copies it into a scratch course, and grades
the copy exactly as the instructor's ``nbgrader autograde`` would: test cells you deleted or edited are
put back from the source first. Your file is only read. The scores come back item by item, with the
path of nbgrader's feedback HTML (your notebook with every test's output), kept in the course cache.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from course_lib.grading.classroom import grade_in_place, scratch_course, skip_slow_imports
from course_lib.grading.nbgrader_tools import ItemScore, assignment_names, course_root, gradebook, read_scores
from course_lib.threads import single_thread_env

__all__ = ["CheckResult", "check_notebook", "find_assignment", "format_report"]

STUDENT = "self"


@dataclass
class CheckResult:
    """The outcome of ``check_notebook``: scores per graded item, and where the feedback is."""

    assignment: str
    notebook: str  # the assignment's notebook the file was graded as
    items: list[ItemScore]
    feedback_html: Path
    seconds: float

    @property
    def auto_score(self) -> float:
        return sum(i.score or 0.0 for i in self.items if i.auto)

    @property
    def auto_max(self) -> float:
        return sum(i.max_score for i in self.items if i.auto)

    @property
    def manual_max(self) -> float:
        return sum(i.max_score for i in self.items if not i.auto)


def _cell_ids(path: Path) -> set[str]:
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(nb, dict) or "cells" not in nb:
        raise ValueError(f"{path} is not a Jupyter notebook (no 'cells')")
    return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in nb["cells"]} - {None}


def find_assignment(path: Path, root: Path) -> tuple[str, str]:
    """(assignment, notebook file name) of the source notebook sharing most graded-cell ids with ``path``.

    Raises ``ValueError`` when no assignment notebook shares a single id (not an assignment notebook).
    """
    ids = _cell_ids(path)
    best, best_n = None, 0
    for name in assignment_names(root):
        for src in sorted((root / "source" / name).glob("*.ipynb")):
            n = len(ids & _cell_ids(src))
            if n > best_n:
                best, best_n = (name, src.name), n
    if best is None:
        raise ValueError(f"{path} does not look like one of the course's assignments "
                         f"({', '.join(assignment_names(root)) or 'none found'} in {root / 'source'}): "
                         "none of its cells carries an nbgrader id of theirs")
    return best


def template_matches_source(db: Path, root: Path, assignment: str) -> bool:
    """Whether a cached gradebook still holds exactly the assignment's tests, set-up cells and points.

    The self-check restores test cells from this gradebook, so a gradebook whose tests were replaced
    (say by ``pass``) would let a blank notebook pass: such a cache is detected here and made again.
    """
    import nbformat
    from nbgrader.api import MissingEntry

    try:
        with gradebook(db) as gb:
            for src in sorted((root / "source" / assignment).glob("*.ipynb")):
                want = {}
                for c in nbformat.read(src, as_version=4).cells:
                    m = c.metadata.get("nbgrader", {})
                    if (m.get("grade") or m.get("locked")) and not m.get("solution"):
                        want[m["grade_id"]] = (c.source, float(m.get("points", 0)) if m.get("grade") else None)
                nb = gb.find_notebook(src.stem, assignment)
                points = {g.name: float(g.max_score) for g in nb.grade_cells}
                have = {c.name: (c.source, points.get(c.name)) for c in nb.source_cells
                        if c.name in want or (c.locked and c.name not in {s.name for s in nb.solution_cells})}
                if have != want or set(points) - set(want) - {s.name for s in nb.solution_cells}:
                    return False
    except (MissingEntry, Exception):  # noqa: BLE001 - unreadable or foreign: not ours
        return False
    return True


def _template_gradebook(root: Path, assignment: str) -> Path:
    """A gradebook that knows ``assignment``, cached per version of its source (made once: it takes seconds)."""
    import nbgrader

    from course_lib.cache import atomic_write, cache_dir

    h = hashlib.sha256(nbgrader.__version__.encode())
    for f in sorted((root / "source" / assignment).rglob("*")):
        if f.is_file() and ".ipynb_checkpoints" not in f.parts:
            h.update(f.relative_to(root).as_posix().encode())
            h.update(f.read_bytes())
    h.update((root / "nbgrader_config.py").read_bytes())
    cached = cache_dir() / "selfcheck" / f"{assignment}-{h.hexdigest()[:16]}.db"
    if cached.exists():
        if template_matches_source(cached, root, assignment):
            return cached
        cached.unlink()  # changed since it was made (by hand or by code that ran unsandboxed): made again
    from nbgrader.converters import GenerateAssignment
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log, temp_attrs

    from course_lib.grading.classroom import load_config

    with tempfile.TemporaryDirectory(prefix="course-check-gen-") as tmp:
        course = scratch_course(root, assignment, Path(tmp) / "course", gradebook=Path(tmp) / "none.db")
        cfg = load_config(course)
        coursedir = CourseDirectory(config=cfg)
        cwd = os.getcwd()
        os.chdir(course)
        try:
            with temp_attrs(coursedir, assignment_id=assignment):
                app = GenerateAssignment(coursedir=coursedir, config=cfg)
                app.force = True
                app.create_assignment = True
                res = capture_log(app)
        finally:
            os.chdir(cwd)
        if not res["success"]:
            raise RuntimeError(f"could not prepare the grader for {assignment}:\n{res.get('error', '')}")
        cached.parent.mkdir(parents=True, exist_ok=True)
        def copy_db(tmp_db: Path) -> None:
            shutil.copyfile(course / "gradebook.db", tmp_db)

        atomic_write(cached, copy_db)
    return cached


def check_notebook(path: str | os.PathLike, *, root: Path | None = None, feedback_dir: Path | None = None,
                   cell_timeout: float | None = None) -> CheckResult:
    """Grade a copy of the notebook at ``path`` against the full tests; ``path`` itself is never written.

    Args:
        path: a learner's notebook of one of the course's assignments (any name, any folder).
        root: the course root (default: found from this package, see ``course_root``).
        feedback_dir: where the feedback HTML goes (default: ``<course cache>/feedback/<assignment>``).
        cell_timeout: seconds a cell may run (default: the course's ``Execute.timeout``).
    """
    t0 = time.perf_counter()
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    root = Path(root) if root else course_root()
    skip_slow_imports()
    bindir = str(Path(sys.executable).parent)  # nbgrader runs `alembic` from PATH
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
    for var, value in single_thread_env().items():
        os.environ.setdefault(var, value)
    if not os.access(root / "source", os.R_OK | os.X_OK):
        raise RuntimeError(f"{root / 'source'} is not readable here: on a class server the hidden tests are the "
                           "instructor's, so check your work with the Validate button instead")
    assignment, nb_name = find_assignment(path, root)
    template = _template_gradebook(root, assignment)
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        course = scratch_course(root, assignment, Path(tmp) / "course", gradebook=template)
        sub = course / "submitted" / STUDENT / assignment
        sub.mkdir(parents=True)
        # the other notebooks of a multi-notebook assignment count as not done
        shutil.copyfile(path, sub / nb_name)
        grade_in_place(course, assignment, STUDENT, cell_timeout=cell_timeout, feedback=True)
        from course_lib.grading.export import item_columns

        order = {gid: k for k, (nb, gid, _) in enumerate(item_columns(root, assignment))}
        items = sorted((i for i in read_scores(course, assignment, STUDENT) if i.notebook == Path(nb_name).stem),
                       key=lambda i: order.get(i.grade_id, len(order)))  # in the notebook's order
        html = course / "feedback" / STUDENT / assignment / (Path(nb_name).stem + ".html")
        if feedback_dir is None:
            from course_lib.cache import cache_dir
            feedback_dir = cache_dir() / "feedback" / assignment
        feedback_dir = Path(feedback_dir)
        feedback_dir.mkdir(parents=True, exist_ok=True)
        dest = feedback_dir / (path.stem + ".html")
        shutil.copyfile(html, dest)
    return CheckResult(assignment, nb_name, items, dest, time.perf_counter() - t0)


def format_report(res: CheckResult) -> str:
    """A plain-text table: one row per graded item, the total, and the feedback's path."""
    rows = [("item", "points", "max", "graded by")]
    for i in res.items:
        score = "-" if i.score is None else f"{i.score:g}"
        rows.append((i.grade_id, score, f"{i.max_score:g}", "tests" if i.auto else "instructor"))
    w = [max(len(r[k]) for r in rows) for k in range(4)]
    line = lambda r: f"{r[0]:<{w[0]}}  {r[1]:>{w[1]}}  {r[2]:>{w[2]}}  {r[3]}"  # noqa: E731
    out = [f"{res.assignment} ({res.notebook}): graded a copy against the full tests", line(rows[0]),
           "-" * (sum(w) + 6 + len("instructor"))]
    out += [line(r) for r in rows[1:]]
    out.append(f"total (auto-graded): {res.auto_score:g} / {res.auto_max:g}"
               + (f"   + {res.manual_max:g} points of written answers, graded by your instructor"
                  if res.manual_max else ""))
    out.append(f"feedback (every test's output): {res.feedback_html}")
    out.append(f"checked in {res.seconds:.1f} s")
    return "\n".join(out)
