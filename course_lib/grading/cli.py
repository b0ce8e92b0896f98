"""``course``: the course kit's command for self-study and for running a class.

    course check NOTEBOOK                 grade your own notebook (a copy) against the full tests
    course release A [--exchange DIR]     instructor: generate assignment A and release it to the exchange
    course collect A [--exchange DIR]     collect the students' submissions of A
    course autograde A [--jobs N]         autograde every collected submission, in parallel
    course export A --csv FILE            per-item scores: one row per student, one column per graded cell
    course feedback A [--return]          feedback HTML for every graded submission (and hand it back)

Instructor verbs act on the course root (``assignments/`` of this repository, or ``--root``/``$COURSE_ROOT``;
``--root`` may come before or after the verb);
the stock ``nbgrader`` commands keep working from that folder.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from course_lib.grading.classroom import SubmissionResult

__all__ = ["main"]


def _root(args: argparse.Namespace) -> Path:
    from course_lib.grading.nbgrader_tools import course_root

    return Path(args.root).resolve() if args.root else course_root()


def _exchange_args(args: argparse.Namespace) -> list[str]:
    ex = args.exchange or os.environ.get("COURSE_EXCHANGE")
    if not ex:
        return []
    ex = Path(ex).resolve()
    if not ex.exists():
        ex.mkdir(parents=True)
        ex.chmod(0o1777)  # every student writes their submissions here; the sticky bit keeps them apart
    return [f"--Exchange.root={ex}"]


def _nbgrader(root: Path, *args: str) -> str:
    from course_lib.grading.nbgrader_tools import nbgrader

    proc = nbgrader(root, *args)
    return proc.stdout + proc.stderr


def _check_assignment(root: Path, name: str) -> None:
    from course_lib.grading.nbgrader_tools import assignment_names

    names = assignment_names(root)
    if name not in names:
        raise SystemExit(f"course: no assignment {name!r} in {root / 'source'} (there are: {', '.join(names)})")


def _sandbox_or_exit(args: argparse.Namespace) -> None:
    """Grading runs the student's code in a sandbox; refuse clearly if there is none (unless opted out)."""
    from course_lib.grading.sandbox import sandbox_problem

    if getattr(args, "no_sandbox", False):
        os.environ["COURSE_SANDBOX"] = "off"
        return
    if os.environ.get("COURSE_SANDBOX") == "off":
        return
    problem = sandbox_problem()
    if problem:
        raise SystemExit(f"course {args.verb}: the student's code is graded in a sandbox, and there is none here: "
                         f"{problem}.\nOn a single-user machine you trust, grade without it: add --no-sandbox.")


def cmd_check(args: argparse.Namespace) -> int:
    from course_lib.grading.selfcheck import check_notebook, format_report

    _sandbox_or_exit(args)
    res = check_notebook(args.notebook, root=Path(args.root).resolve() if args.root else None,
                         feedback_dir=Path(args.feedback_dir) if args.feedback_dir else None,
                         cell_timeout=args.cell_timeout)
    print(format_report(res))
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    from course_lib.grading.nbgrader_tools import generate_assignment

    root = _root(args)
    _check_assignment(root, args.assignment)
    release = generate_assignment(root, args.assignment)
    print(f"generated {release}")
    _nbgrader(root, "release_assignment", args.assignment, "--force", *_exchange_args(args))
    print(f"released {args.assignment} to the exchange")
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    from course_lib.grading.classroom import submitted_students

    root = _root(args)
    _check_assignment(root, args.assignment)
    _nbgrader(root, "collect", args.assignment, "--update", *_exchange_args(args))
    students = submitted_students(root, args.assignment)
    print(f"collected {len(students)} submission(s) of {args.assignment}: {', '.join(students)}")
    return 0


def _in_gradebook(root: Path, assignment: str) -> bool:
    from nbgrader.api import MissingEntry

    from course_lib.grading.nbgrader_tools import gradebook

    if not (root / "gradebook.db").exists():
        return False
    with gradebook(root) as gb:
        try:
            gb.find_assignment(assignment)
            return True
        except MissingEntry:
            return False


def cmd_autograde(args: argparse.Namespace) -> int:
    from course_lib.grading.classroom import autograde_class, skip_slow_imports
    from course_lib.grading.nbgrader_tools import generate_assignment

    skip_slow_imports()
    root = _root(args)
    _check_assignment(root, args.assignment)
    _sandbox_or_exit(args)
    if not _in_gradebook(root, args.assignment):
        generate_assignment(root, args.assignment)
    t0 = time.perf_counter()

    def show(r: SubmissionResult) -> None:
        items = " ".join(f"{i.grade_id}={'-' if i.score is None else f'{i.score:g}'}" for i in r.items)
        msg = r.message.strip()
        if msg and r.status != "error":
            msg = msg.splitlines()[-1]       # an nbgrader failure is shown whole, anything else in one line
        print(f"{r.student:<20} {r.status:<8} {r.seconds:6.1f} s  auto {r.auto_score:g}  {items}"
              + ("\n    " + msg.replace("\n", "\n    ") if msg else ""), flush=True)
        for f in r.flags[:6]:
            print(f"    review: {f}")
        if len(r.flags) > 6:
            print(f"    review: ... and {len(r.flags) - 6} more (course export has them all)")

    results = autograde_class(root, args.assignment, args.student or None, jobs=args.jobs,
                              wall_limit=args.wall_limit, cell_timeout=args.cell_timeout, progress=show)
    bad = [r for r in results if r.status != "graded"]
    print(f"autograded {len(results) - len(bad)} of {len(results)} submission(s) of {args.assignment} "
          f"with {args.jobs or os.cpu_count()} job(s) in {time.perf_counter() - t0:.1f} s"
          + (f"; NOT graded: {', '.join(r.student + ' (' + r.status + ')' for r in bad)}" if bad else ""))
    return 1 if bad else 0


def cmd_export(args: argparse.Namespace) -> int:
    from course_lib.grading.export import write_csv

    root = _root(args)
    _check_assignment(root, args.assignment)
    n = write_csv(root, args.assignment, Path(args.csv))
    print(f"wrote {n} student row(s) to {args.csv}")
    return 0


def cmd_feedback(args: argparse.Namespace) -> int:
    root = _root(args)
    _check_assignment(root, args.assignment)
    if args.show_hidden:
        os.environ["COURSE_FEEDBACK_HIDDEN"] = "show"
    _nbgrader(root, "generate_feedback", args.assignment, "--force")
    print(f"feedback HTML in {root / 'feedback'}/<student>/{args.assignment}/")
    if args.return_:
        _nbgrader(root, "release_feedback", args.assignment, *_exchange_args(args))
        print("feedback released: students get it with `nbgrader fetch_feedback "
              f"{args.assignment}` (or the Assignments tab)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="course", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    root_help = "the nbgrader course root (default: this repository's assignments/); before or after the verb"
    ap.add_argument("--root", help=root_help)
    # `course check NB --root R` as well as `course --root R check NB`: each verb accepts --root too,
    # and sets it only when it is given there (SUPPRESS), so a --root before the verb is kept
    after_verb = argparse.ArgumentParser(add_help=False)
    after_verb.add_argument("--root", default=argparse.SUPPRESS, help=root_help)
    sub = ap.add_subparsers(dest="verb", required=True)

    p = sub.add_parser("check", parents=[after_verb], help="grade a copy of your notebook against the full tests")
    p.add_argument("notebook")
    p.add_argument("--feedback-dir", help="where to put the feedback HTML (default: the course cache)")
    p.add_argument("--cell-timeout", type=float, help="seconds a cell may run (default: the course's, 120)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run your code without the sandbox (only on a single-user machine you trust)")
    p.set_defaults(func=cmd_check)

    for name, func, text in [("release", cmd_release, "generate an assignment and release it to the exchange"),
                             ("collect", cmd_collect, "collect the submissions from the exchange")]:
        p = sub.add_parser(name, parents=[after_verb], help=text)
        p.add_argument("assignment")
        p.add_argument("--exchange", help="the exchange folder (default: $COURSE_EXCHANGE or nbgrader's)")
        p.set_defaults(func=func)

    p = sub.add_parser("autograde", parents=[after_verb], help="autograde every collected submission, several at once")
    p.add_argument("assignment")
    p.add_argument("--jobs", type=int, default=None, help="submissions graded at once (default: CPU count)")
    p.add_argument("--student", action="append", help="only this student (repeatable)")
    p.add_argument("--wall-limit", type=float, default=900.0,
                   help="seconds one submission may take in all; past it, it is reported as not graded")
    p.add_argument("--cell-timeout", type=float, help="seconds a cell may run (default: the course's, 120)")
    p.add_argument("--no-sandbox", action="store_true",
                   help="grade without the sandbox: ONLY for work you trust (never a class)")
    p.set_defaults(func=cmd_autograde)

    p = sub.add_parser("export", parents=[after_verb], help="per-item scores as CSV (one column per graded cell)")
    p.add_argument("assignment")
    p.add_argument("--csv", required=True, help="output file")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("feedback", parents=[after_verb],
                       help="generate feedback HTML (and --return it to the students)")
    p.add_argument("assignment")
    p.add_argument("--return", dest="return_", action="store_true", help="release the feedback to the exchange")
    p.add_argument("--show-hidden", action="store_true",
                   help="include the hidden tests' code in the feedback (by default students do not see it)")
    p.add_argument("--exchange", help="the exchange folder (default: $COURSE_EXCHANGE or nbgrader's)")
    p.set_defaults(func=cmd_feedback)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:
        print(f"course {args.verb}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
