"""Grade a whole class in parallel, robustly.

``nbgrader autograde`` grades one submission after the other in one process. Here every submission is
graded by its own worker process in its own scratch copy of the course (the configuration, the
assignment's source and a copy of the gradebook), several at once; the scores and the autograded
notebooks are then merged into the real course by this process alone. Each submission is run *judged*
(``course_lib.grading.judge``, through the preprocessors ``nbgrader_config.py`` sets): its cells in a
sandboxed process that sees only its own folder, its tests in the worker. So

* a cell that loops (even one that swallows ``KeyboardInterrupt``) or kills its Python process loses
  only its item: the student process is stopped or restarted, the cells before it are replayed, and
  grading goes on;
* a submission cannot reach the course root, the gradebook, another student's folder or the worker's
  processes, and nothing it started survives its job;
* a wall-clock limit per submission: a worker past it is killed with everything it started, the
  submission is reported as not graded, and the rest of the class is graded as usual.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from collections.abc import Callable
from pathlib import Path
from typing import Any

from course_lib.grading.nbgrader_tools import ItemScore, _env, gradebook, read_scores

__all__ = ["review_flags", "SubmissionResult", "autograde_class", "grade_in_place", "merge_submission",
           "scratch_course", "submitted_students"]


def load_config(root: Path, cell_timeout: float | None = None) -> Any:
    """The traitlets ``Config`` of the course at ``root`` (its ``nbgrader_config.py``)."""
    from traitlets.config.loader import PyFileConfigLoader

    cfg = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    cfg.CourseDirectory.root = str(root)
    if cell_timeout is not None:
        cfg.JudgedExecute.timeout = int(cell_timeout)
    return cfg


def grade_in_place(root: Path, assignment: str, student: str, *, cell_timeout: float | None = None,
                   feedback: bool = False) -> str:
    """Autograde ``root/submitted/<student>/<assignment>`` in this process (and make its feedback HTML).

    The preprocessors are the course's (``nbgrader_config.py``): repaired metadata, judged execution.
    Returns nbgrader's log; raises ``RuntimeError`` with the log if nbgrader fails.
    """
    from nbgrader.converters import Autograde, GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.utils import capture_log, temp_attrs

    root = Path(root)
    cfg = load_config(root, cell_timeout)
    coursedir = CourseDirectory(config=cfg)
    cwd = os.getcwd()
    os.chdir(root)  # nbgrader resolves some paths against the current directory
    try:
        with temp_attrs(coursedir, assignment_id=assignment, student_id=student):
            app = Autograde(coursedir=coursedir, config=cfg)
            app.force = True
            app.create_student = True
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SQLAlchemy noise from nbgrader's gradebook code
                result = capture_log(app)
            if not result["success"]:
                raise RuntimeError(f"autograde of {student}/{assignment} failed:\n{result.get('error', '')}\n"
                                   f"{result.get('log', '')}")
            log = result.get("log", "")
            if feedback:
                fb = GenerateFeedback(coursedir=coursedir, config=cfg)
                fb.force = True
                result = capture_log(fb)
                if not result["success"]:
                    raise RuntimeError(f"generate_feedback failed:\n{result.get('error', '')}")
                log += result.get("log", "")
        return log
    finally:
        os.chdir(cwd)


def scratch_course(root: Path, assignment: str, dest: Path, gradebook: Path | None = None) -> Path:
    """A minimal copy of the course at ``dest``: its config, ``source/<assignment>`` and a gradebook copy."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(root / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(root / "source" / assignment, dest / "source" / assignment, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    gb = gradebook or root / "gradebook.db"
    if gb.exists():
        shutil.copyfile(gb, dest / "gradebook.db")
    return dest


def review_flags(root: Path, assignment: str, student: str) -> list[str]:
    """The review flags the judged run wrote into a student's autograded notebooks (empty if none)."""
    from course_lib.grading.preprocessors import FLAGS_KEY

    flags: list[str] = []
    for nb in sorted((Path(root) / "autograded" / student / assignment).glob("*.ipynb")):
        try:
            meta = json.loads(nb.read_text(encoding="utf-8")).get("metadata", {})
        except (OSError, ValueError):
            continue
        flags += [str(f) for f in meta.get(FLAGS_KEY, [])]
    return flags


def submitted_students(root: Path, assignment: str) -> list[str]:
    """Students with a submission of ``assignment`` under ``root/submitted``, sorted."""
    sub = root / "submitted"
    if not sub.is_dir():
        return []
    return sorted(d.name for d in sub.iterdir() if (d / assignment).is_dir())


def merge_submission(main_root: Path, scratch_root: Path, assignment: str, student: str) -> None:
    """Copy one graded submission (gradebook rows and autograded files) from a scratch course into the main one.

    Manual scores and comments already in the main gradebook are kept.
    """
    src_dir = scratch_root / "autograded" / student / assignment
    dst_dir = main_root / "autograded" / student / assignment
    if dst_dir.exists():
        shutil.rmtree(dst_dir)
    dst_dir.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src_dir, dst_dir)
    with gradebook(scratch_root) as src, gradebook(main_root) as dst:
        s = src.find_student(student)
        dst.update_or_create_student(student, first_name=s.first_name, last_name=s.last_name, email=s.email,
                                     lms_user_id=s.lms_user_id)
        sub = src.find_submission(assignment, student)
        dsub = dst.update_or_create_submission(assignment, student, timestamp=sub.timestamp)
        for nb in sub.notebooks:
            dnb = dst.find_submission_notebook(nb.name, assignment, student)
            dnb.flagged = nb.flagged
            for g in nb.grades:
                dg = dst.find_grade(g.name, nb.name, assignment, student)
                dg.auto_score = g.auto_score
                if dg.manual_score is None:
                    dg.needs_manual_grade = g.needs_manual_grade
            for c in nb.comments:
                dc = dst.find_comment(c.name, nb.name, assignment, student)
                dc.auto_comment = c.auto_comment
        del dsub
        dst.db.commit()


@dataclass
class SubmissionResult:
    """What happened to one student's submission."""

    student: str
    status: str  # "graded", "timeout" (wall limit: not graded) or "error" (nbgrader failed: not graded)
    seconds: float
    items: list[ItemScore] = field(default_factory=list)
    message: str = ""
    flags: list[str] = field(default_factory=list)  # review flags (course_lib.grading.flags), for a human

    @property
    def auto_score(self) -> float:
        return sum(i.score or 0.0 for i in self.items if i.auto)


def skip_slow_imports() -> None:
    """Make ``jsonschema`` skip ``rfc3987_syntax``, which builds a grammar on import (seconds per process).

    nbformat only validates notebooks against a schema without IRI formats, so nothing is lost; every
    grading process imports nbformat, and on a 2-core machine these seconds add up.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def _kill_tree(proc: subprocess.Popen) -> None:
    """Kill a worker and everything it started (kernels run in sessions of their own)."""
    import psutil

    try:
        procs = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        procs = []
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    proc.kill()
    proc.wait()
    psutil.wait_procs(procs, timeout=5)


class _Worker:
    """A grading process that stays up between submissions (nbgrader takes seconds to import).

    It reads one JSON job per line on stdin and answers one JSON line on its stdout; a job past its
    wall limit gets the worker killed with its kernel (a fresh worker takes the next job).
    """

    def __init__(self, log: Path):
        self._log = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "course_lib.grading.classroom", "_serve"], env=_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log)

    def run(self, job: dict, wall_limit: float) -> dict:
        import select

        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(job) + "\n").encode())
        self.proc.stdin.flush()
        fd, buf, deadline = self.proc.stdout.fileno(), b"", time.monotonic() + wall_limit
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                self.close()
                return {"status": "timeout", "message": f"not graded: ran past the wall limit of {wall_limit:.0f} s"}
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                self.close()
                return {"status": "error", "message": "the grading worker died"}
            buf += chunk
        return json.loads(buf.split(b"\n")[0])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            _kill_tree(self.proc)
        self._log.close()


def _serve() -> int:
    """Worker loop: grade the jobs read from stdin; only the JSON answers go to the real stdout."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything else printed (nbgrader, kernels) goes to the log
    skip_slow_imports()
    for line in sys.stdin:
        job = json.loads(line)
        try:
            grade_in_place(Path(job["root"]), job["assignment"], job["student"], cell_timeout=job.get("cell_timeout"))
            ans = {"status": "graded", "message": ""}
        except Exception as exc:  # noqa: BLE001 - reported for this submission only
            msg = str(exc)  # nbgrader's traceback comes first, then its log: keep both ends
            ans = {"status": "error", "message": msg if len(msg) <= 6000 else msg[:3000] + "\n...\n" + msg[-3000:]}
        out.write(json.dumps(ans) + "\n")
        out.flush()
    return 0


def autograde_class(root: Path, assignment: str, students: list[str] | None = None, *, jobs: int | None = None,
                    wall_limit: float = 900.0, cell_timeout: float | None = None,
                    progress: Callable[[SubmissionResult], None] | None = None) -> list[SubmissionResult]:
    """Autograde every submission of ``assignment`` (or only ``students``) with ``jobs`` workers in parallel.

    The assignment must have been generated (``course release`` / ``nbgrader generate_assignment``) so
    that the gradebook knows it. Results come back in the order of ``students``; graded ones are in the
    main gradebook and ``autograded/`` afterwards. ``progress(result)`` is called as each one finishes.
    """
    from nbgrader.api import MissingEntry

    root = Path(root)
    students = submitted_students(root, assignment) if students is None else list(students)
    if not students:
        raise FileNotFoundError(f"no submissions of {assignment!r} under {root / 'submitted'}")
    try:
        with gradebook(root) as gb:
            gb.find_assignment(assignment)
    except MissingEntry:
        raise RuntimeError(f"the gradebook does not know {assignment!r}: run `course release {assignment}` "
                           f"(or `nbgrader generate_assignment {assignment}`) first") from None
    jobs = max(1, min(jobs or (os.cpu_count() or 1), len(students)))
    results: dict[str, SubmissionResult] = {}
    with tempfile.TemporaryDirectory(prefix="course-autograde-") as tmp:
        work = Path(tmp)
        workers: "queue.Queue[_Worker | None]" = queue.Queue()
        for _ in range(jobs):
            workers.put(None)  # started on first use

        def one(student: str) -> SubmissionResult:
            scratch = scratch_course(root, assignment, work / student)
            shutil.copytree(root / "submitted" / student / assignment, scratch / "submitted" / student / assignment,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            worker = workers.get()
            if worker is None or not worker.alive():
                worker = _Worker(work / "workers.log")
            t0 = time.perf_counter()
            job = {"root": str(scratch), "assignment": assignment, "student": student, "cell_timeout": cell_timeout}
            try:
                ans = worker.run(job, wall_limit)
                if ans["status"] == "error":  # nbgrader itself failed (e.g. a kernel that did not start): once more
                    if not worker.alive():
                        worker = _Worker(work / "workers.log")
                    retry = worker.run(job, wall_limit)
                    ans = retry if retry["status"] != "error" else ans
            finally:
                workers.put(worker if worker.alive() else None)
            return SubmissionResult(student, ans["status"], time.perf_counter() - t0, message=ans["message"])

        try:
            with ThreadPoolExecutor(jobs) as pool:
                futures = {s: pool.submit(one, s) for s in students}
                for s in students:  # merged one at a time by this thread: one writer for the gradebook
                    res = futures[s].result()
                    if res.status == "graded":
                        try:
                            with warnings.catch_warnings():
                                warnings.simplefilter("ignore")  # SQLAlchemy noise from nbgrader's own API
                                merge_submission(root, work / s, assignment, s)
                            res.items = read_scores(root, assignment, s)
                            res.flags = review_flags(root, assignment, s)
                        except Exception as exc:  # noqa: BLE001 - reported per submission, the class goes on
                            res.status, res.message = "error", f"merging the scores failed: {exc}"
                    shutil.rmtree(work / s, ignore_errors=True)
                    results[s] = res
                    if progress:
                        progress(res)
        finally:
            while not workers.empty():
                w = workers.get()
                if w is not None and w.proc.stdin is not None:
                    w.proc.stdin.close()
                    try:
                        w.proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        pass
                    w.close()
    return [results[s] for s in students]


def _main(argv: list[str]) -> int:
    if argv == ["_serve"]:
        return _serve()
    raise SystemExit("internal entry point: python -m course_lib.grading.classroom _serve")


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
