"""The course's nbgrader preprocessors (``nbgrader_config.py`` puts them in place, so the stock
``nbgrader autograde`` uses them too):

* :class:`RepairSubmission` (first of the sanitize steps) puts right what ordinary notebook accidents do
  to nbgrader's metadata, from the gradebook: a copy-pasted answer cell (the same id twice), an extra
  cell with an id the assignment does not have, a test cell whose grade/solution/locked flag was
  toggled, a cell whose type was changed. A duplicate answer cell becomes an ordinary cell that still
  runs where it stands; a duplicate test or set-up cell is dropped (it is put back from the gradebook).
* :class:`RobustOverwriteCells` is nbgrader's ``OverwriteCells`` whose re-adding of deleted test cells
  also works when the cell before it was deleted too (answers merged into one cell): a missing cell goes
  after the nearest earlier cell of the source that is still there.
* :class:`JudgedExecute` replaces nbgrader's ``Execute``: the student's cells run in a sandboxed process
  and the tests in the grader's (:mod:`course_lib.grading.judge`); review flags
  (:mod:`course_lib.grading.flags`) go into the notebook's metadata.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells
from traitlets import Bool, Integer, Unicode

__all__ = ["RepairSubmission", "RobustOverwriteCells", "JudgedExecute", "HideHiddenTests", "FLAGS_KEY"]

FLAGS_KEY = "course_review_flags"


def _source_layout(db_url: str, notebook: str, assignment: str) -> tuple[list[str], dict[str, dict]]:
    """The source notebook's graded-cell ids in order, and each one's nbgrader metadata and cell type."""
    with Gradebook(db_url) as gb:  # nbgrader's own URL for this notebook's gradebook
        nb = gb.find_notebook(notebook, assignment)
        grade = {c.name: c for c in nb.grade_cells}
        solution = {c.name for c in nb.solution_cells}
        task = {c.name for c in nb.task_cells}
        order, meta = [], {}
        for c in nb.source_cells:
            order.append(c.name)
            m: dict[str, Any] = {"grade": c.name in grade, "grade_id": c.name, "locked": bool(c.locked),
                                 "schema_version": 3, "solution": c.name in solution, "task": c.name in task}
            if c.name in grade:
                m["points"] = float(grade[c.name].max_score)
            meta[c.name] = {"nbgrader": m, "cell_type": c.cell_type}
        return order, meta


class RepairSubmission(NbGraderPreprocessor):
    """Put the nbgrader metadata of a submitted notebook right, from the gradebook (see the module doc)."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources["nbgrader"]
        _, meta = _source_layout(info["db_url"], info["notebook"], info["assignment"])
        seen: set[str] = set()
        kept = []
        notes = []
        for cell in nb.cells:
            gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if gid is None:
                kept.append(cell)
                continue
            if gid not in meta:
                notes.append(f"cell with unknown id {gid!r}: graded as an ordinary cell")
                cell.metadata.pop("nbgrader", None)
                kept.append(cell)
                continue
            src = meta[gid]
            if gid in seen:
                if src["nbgrader"]["solution"] and not src["nbgrader"]["grade"] and cell.cell_type == "code":
                    notes.append(f"answer cell {gid!r} appears twice: the copy runs as an ordinary cell")
                    cell.metadata.pop("nbgrader", None)
                    kept.append(cell)
                else:
                    notes.append(f"cell {gid!r} appears twice: the copy is dropped")
                continue
            seen.add(gid)
            old = {k: cell.metadata.nbgrader.get(k) for k in ("grade", "solution", "locked", "points")}
            new = {k: src["nbgrader"].get(k) for k in old}
            if any(old[k] != new[k] for k in ("grade", "solution", "locked")) or \
                    (new["points"] is not None and old["points"] != new["points"]):
                notes.append(f"cell {gid!r}: its nbgrader flags were changed and are put back")
            checksum = cell.metadata.nbgrader.get("checksum")
            cell.metadata["nbgrader"] = nbformat.from_dict(dict(src["nbgrader"]))
            if checksum is not None:
                cell.metadata.nbgrader["checksum"] = checksum
            if cell.cell_type != src["cell_type"]:
                notes.append(f"cell {gid!r} was turned into a {cell.cell_type} cell; it is a {src['cell_type']} cell")
                _set_type(cell, src["cell_type"])
            kept.append(cell)
        nb.cells = kept
        for n in notes:
            self.log.warning("repair: %s", n)
        if notes:
            nb.metadata["course_repairs"] = notes
        return nb, resources


def _set_type(cell: NotebookNode, cell_type: str) -> None:
    cell.cell_type = cell_type
    if cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    else:
        cell.pop("outputs", None)
        cell.pop("execution_count", None)


class RobustOverwriteCells(OverwriteCells):
    """nbgrader's ``OverwriteCells``; deleted test cells go back after the nearest earlier cell still there."""

    def add_missing_grade_cells(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [c.name for c in source_nb.source_cells]
        by_name = {c.name: c for c in source_nb.source_cells}
        solution_ids = {c.name for c in source_nb.solution_cells}
        for gc in source_nb.grade_cells:
            present = {c["metadata"]["nbgrader"]["grade_id"]: i for i, c in enumerate(nb.cells)
                       if "grade_id" in c["metadata"].get("nbgrader", {})}
            if gc.name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", gc.name)
            cell = nbformat.from_dict(self.missing_cell_transform(by_name[gc.name], gc.max_score,
                                                                  is_solution=gc.name in solution_ids))
            earlier = [present[n] for n in order[:order.index(gc.name)] if n in present]
            nb.cells.insert(max(earlier) + 1 if earlier else 0, cell)
        return nb, resources


class JudgedExecute(NbGraderPreprocessor):
    """Execute a submission judged: the student's cells sandboxed, the tests in the grader's process."""

    timeout = Integer(120, help="seconds one cell may run (a test cell: all its calls together)").tag(config=True)
    sandbox = Unicode("auto", help="'auto' (required: refuse to grade if it cannot be set up), "
                                   "'off' (no sandbox: a single-user machine you trust)").tag(config=True)
    show_models = Bool(True, help="let the student's code read the grader's trained models (read-only)"
                       ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        from course_lib.grading.flags import static_flags
        from course_lib.grading.judge import answer_names, run_judged
        from course_lib.grading.sandbox import SandboxUnavailable, sandbox_problem

        use_sandbox = self.sandbox != "off"
        if use_sandbox:
            problem = sandbox_problem()
            if problem:
                raise SandboxUnavailable(f"cannot grade in a sandbox here: {problem}. On a single-user machine "
                                         "you trust, grade without it (`course check --no-sandbox`, or "
                                         "c.JudgedExecute.sandbox = 'off').")
        info = resources["nbgrader"]
        answers = answer_names(_solution_sources(self._source_notebook(resources)))
        submitted = Path(resources.get("metadata", {}).get("path") or ".")
        work = Path(tempfile.mkdtemp(prefix="course-work-"))
        try:
            for f in submitted.iterdir() if submitted.is_dir() else []:
                if f.is_file() and f.suffix != ".ipynb" and f.stat().st_size < 64 * 2**20:
                    shutil.copyfile(f, work / f.name)
            cells = nb.cells
            flags = run_judged(cells, work, answers, sandbox=use_sandbox, cell_timeout=float(self.timeout),
                               cache_files=_model_files() if self.show_models else [])
            for cell in cells:
                if cell.cell_type == "code":
                    cell.outputs = [nbformat.from_dict(o) for o in cell.get("outputs", [])]
        finally:
            shutil.rmtree(work, ignore_errors=True)
        flags = static_flags(nb) + [f"at run time: {f}" for f in flags]
        nb.metadata[FLAGS_KEY] = flags
        self.log.info("judged %s/%s: %d review flag(s)", info["assignment"], info["notebook"], len(flags))
        return nb, resources

    def _source_notebook(self, resources: dict) -> dict:
        root = Path(self.coursedir_root(resources))
        info = resources["nbgrader"]
        path = root / "source" / info["assignment"] / f"{info['notebook']}.ipynb"
        return json.loads(path.read_text(encoding="utf-8"))

    def coursedir_root(self, resources: dict) -> str:
        try:
            return self.config.CourseDirectory.root or "."
        except AttributeError:
            return "."


def _solution_sources(nb: dict) -> list[str]:
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"]
            if c["cell_type"] == "code" and c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def _model_files() -> list[Path]:
    """The grader's trained models and corpora (top-level files of the course cache; never its
    self-check gradebooks or feedback, which live in sub-folders)."""
    from course_lib.cache import cache_dir

    d = cache_dir()
    return sorted(p for p in d.iterdir() if p.is_file() and not p.name.startswith(".")) if d.is_dir() else []


class HideHiddenTests(NbGraderPreprocessor):
    """For feedback returned to students: each hidden-test region of a test cell becomes one comment line
    (how many lines were hidden). Their printed results and the failing line's message still show."""

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int) -> tuple[NotebookNode, dict]:
        if cell.cell_type != "code" or "### BEGIN HIDDEN TESTS" not in cell.source:
            return cell, resources
        out, hidden = [], None
        for line in cell.source.splitlines():
            if hidden is None and "### BEGIN HIDDEN TESTS" in line:
                hidden = 0
            elif hidden is not None and "### END HIDDEN TESTS" in line:
                out.append(f"# ({hidden} lines of hidden tests are not shown)")
                hidden = None
            elif hidden is not None:
                hidden += 1
            else:
                out.append(line)
        if hidden is not None:
            out.append(f"# ({hidden} lines of hidden tests are not shown)")
        cell.source = "\n".join(out)
        return cell, resources
