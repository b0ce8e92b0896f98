"""Benchmark: autograde a class of 30 submissions with ``course autograde`` (parallel workers).

The class: 14 correct, 7 blank, 7 partly wrong, 1 endless loop and 1 kernel crash, submitted to a
scratch copy of the course. Prints the total wall time and every submission's per-item scores, and
checks them: correct work gets full auto points, blank gets 0, the loop and the crash lose only the
items they break, and every submission is graded.

    .venv/bin/python benchmarks/class_autograde.py                      # the toy assignment (tests/)
    .venv/bin/python benchmarks/class_autograde.py --assignment a1_embeddings --jobs 2
    .venv/bin/python benchmarks/class_autograde.py --modes sandbox,none  # the sandbox's cost, in one run

Every submission is graded judged (its cells in a sandboxed process, its tests in the grader's); with
``--modes ... none`` the same class is graded once more without the sandbox (``--no-sandbox``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import nbformat  # noqa: E402

from classroom_fixtures import TOY, expected_auto, make_course, real_variant, student_notebook  # noqa: E402
from course_lib.grading import generate_assignment, read_scores  # noqa: E402

MIX = ["solved"] * 14 + ["blank"] * 7 + ["partial"] * 7 + ["loop", "crash"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--assignment", default=TOY, help="toy (default) or a real assignment in assignments/source")
    ap.add_argument("--jobs", type=int, default=os.cpu_count())
    ap.add_argument("--cell-timeout", type=float, default=None, help="default: the course's (120 s)")
    ap.add_argument("--wall-limit", type=float, default=900)
    ap.add_argument("--modes", default="sandbox", help="comma-separated: sandbox, none")
    a = ap.parse_args()
    ok, times = True, {}
    for mode in a.modes.split(","):
        good, times[mode] = run_class(a, mode)
        ok &= good
    if len(times) > 1:
        print("wall time per mode: " + ", ".join(f"{m} {t:.1f} s" for m, t in times.items()) +
              (f"; sandbox / none = {times['sandbox'] / times['none']:.2f}" if {"sandbox", "none"} <= set(times)
               else ""))
    return 0 if ok else 1


def run_class(a: argparse.Namespace, mode: str) -> tuple[bool, float]:
    with tempfile.TemporaryDirectory(prefix="class-bench-") as tmp:
        root = make_course(Path(tmp) / "course", with_real=a.assignment != TOY)
        generate_assignment(root, a.assignment)
        nb_name = sorted((root / "source" / a.assignment).glob("*.ipynb"))[0].name
        variants = {f"s{i:02d}_{v}": v for i, v in enumerate(MIX)}
        for student, v in variants.items():
            dest = root / "submitted" / student / a.assignment
            dest.mkdir(parents=True)
            nb = (student_notebook(root / "release" / TOY / f"{TOY}.ipynb", v) if a.assignment == TOY
                  else real_variant(a.assignment, v, root))
            nbformat.write(nb, dest / nb_name)
        cmd = [str(Path(sys.executable).parent / "course"), "--root", str(root), "autograde", a.assignment,
               "--jobs", str(a.jobs), "--wall-limit", str(a.wall_limit)]
        if a.cell_timeout:
            cmd += ["--cell-timeout", str(a.cell_timeout)]
        if mode == "none":
            cmd.append("--no-sandbox")
        print("$", " ".join(cmd), flush=True)
        t0 = time.perf_counter()
        out = subprocess.run(cmd, text=True)
        total = time.perf_counter() - t0

        ok = out.returncode == 0
        full = {s.grade_id: s.max_score for s in read_scores(root, a.assignment, "s00_solved") if s.auto}
        for student, v in variants.items():
            got = {s.grade_id: s.score for s in read_scores(root, a.assignment, student) if s.auto}
            if a.assignment == TOY:
                good = got == expected_auto(v)
            elif v == "solved":
                good = got == full
            elif v == "blank":
                good = sum(got.values()) == 0
            else:  # partial, loop and crash lose some items, not all
                good = 0 < sum(got.values()) < sum(full.values())
            ok &= good
            if not good:
                print(f"UNEXPECTED {student}: {got}")
        print(f"\n{len(variants)} submissions of {a.assignment} with {a.jobs} job(s), sandbox {mode}: {total:.1f} s "
              f"wall (1-min load average at the end: {os.getloadavg()[0]:.1f}); per-item results as expected: {ok}")
        shutil.rmtree(root, ignore_errors=True)
    return ok, total


if __name__ == "__main__":
    sys.exit(main())
