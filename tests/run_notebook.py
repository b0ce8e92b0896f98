"""Run one notebook as the test-suite does and report.

    python tests/run_notebook.py lectures/01_word_embeddings.ipynb [--full] [--save-png DIR]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from nbrun import run_notebook, save_pngs  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("--full", action="store_true", help="FAST = False (default FAST = True)")
    ap.add_argument("--fast", action="store_true", help="FAST = True (the default)")
    ap.add_argument("--save-png", metavar="DIR")
    ap.add_argument("--save-executed", metavar="PATH", help="write the executed notebook here")
    a = ap.parse_args()
    fast = not a.full
    run = run_notebook(a.notebook, fast=fast)
    print(f"{a.notebook}: {run.seconds:.1f} s (FAST = {fast}), {len(run.errors)} error output(s)")
    for e in run.errors:
        print("ERROR", e)
    print("SUMMARY =", json.dumps(run.summary, indent=1))
    if a.save_png:
        for p in save_pngs(run, a.save_png):
            print("saved", p)
    if a.save_executed:
        import nbformat
        nbformat.write(run.nb, a.save_executed)
    check = Path(__file__).parent / "lecture_checks" / f"{Path(a.notebook).stem}.py"
    ok = not run.errors
    if check.exists():
        spec = importlib.util.spec_from_file_location("check", check)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        try:
            mod.check(run.summary or {}, fast)
            print(f"{check.name}: all checks passed")
        except AssertionError as e:
            ok = False
            print(f"{check.name}: FAILED: {e}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
