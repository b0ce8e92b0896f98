#!/usr/bin/env python3
"""Set up the RNN course kit and open it, or test it. One command each:

    python3 kit.py lab     # set up (first time only), then open JupyterLab at the course
    python3 kit.py test    # set up (first time only), then ruff, mypy and the whole test-suite
    python3 kit.py site    # set up (first time only), then build the course book (build/site/html)

Set-up: a virtual environment in ``.venv``; PyTorch (the CPU build ``torch==2.13.0`` when the
environment has no torch yet -- a GPU user who installed their own CUDA build keeps it); this
package and its dependencies; a Jupyter kernel "Python (RNN course)"; the nbgrader JupyterLab
extensions enabled. A second run only checks that all of this is still in place.

Options: ``--python PATH`` (the interpreter for the venv), ``--port N`` (lab), ``--full`` (site:
execute the lectures with ``FAST = False``), and anything after ``--`` goes to pytest
(``python3 kit.py test -- -k vocab``) or to ``tools/site/build.py`` (``python3 kit.py site -- --out DIR``).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
TORCH_CPU = "torch==2.13.0"
KERNEL = "rnn-course"


def say(msg: str) -> None:
    print(f"[kit] {msg}", flush=True)


def run(*cmd: str | os.PathLike, **kw: Any) -> None:
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def ok(*cmd: str | os.PathLike) -> bool:
    return subprocess.run([str(c) for c in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


def setup(python: str) -> None:
    if sys.version_info < (3, 10):  # noqa: UP036 - kit.py runs on whatever python3 the user has
        sys.exit("the course kit needs Python 3.10 or newer")
    if not PY.exists():
        say(f"creating the virtual environment {VENV}")
        run(python, "-m", "venv", VENV)
    pip: list[str | os.PathLike] = [PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if not ok(PY, "-c", "import torch"):
        say(f"installing PyTorch ({TORCH_CPU}, CPU build)")
        try:
            run(*pip, TORCH_CPU)
        except subprocess.CalledProcessError:
            say(f"{TORCH_CPU} is not available for this Python/platform; installing the newest torch instead")
            run(*pip, "torch>=2.4")
    stamp = VENV / ".course-kit-installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    installed = ok(PY, "-c", "import course_lib, nbgrader, pytest, myst_nb")
    if not stamp.exists() or stamp.read_text() != digest or not installed:
        say("installing the course kit and its dependencies")
        run(*pip, "-e", f"{ROOT}[test,site]")
        stamp.write_text(digest)
    # the kernel lives inside .venv (--sys-prefix), so two checkouts of the course never overwrite each
    # other's kernel; Jupyter run from a virtual environment looks there first
    kernel_dir = VENV / "share" / "jupyter" / "kernels" / KERNEL
    if not (kernel_dir / "kernel.json").exists() or str(PY) not in (kernel_dir / "kernel.json").read_text():
        say(f"registering the Jupyter kernel '{KERNEL}'")
        run(PY, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL, "--display-name",
            "Python (RNN course)", stdout=subprocess.DEVNULL)
    ensure_nbgrader_extensions()
    ensure_sandbox()


def ensure_sandbox() -> None:
    """Grading runs a student's code inside bubblewrap (Debian's ``bubblewrap``); install it as root."""
    if not sys.platform.startswith("linux") or shutil.which("bwrap"):
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing bubblewrap (the sandbox that grading runs students' code in)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run("apt-get", "update", "-qq", env=env, stdout=subprocess.DEVNULL)
        run("apt-get", "install", "-y", "-qq", "--no-install-recommends", "bubblewrap", env=env,
            stdout=subprocess.DEVNULL)
    else:
        say("note: bubblewrap is missing, so `course check` / `course autograde` need --no-sandbox "
            "(install it: sudo apt-get install bubblewrap)")


def ensure_nbgrader_extensions() -> None:
    jupyter = BIN / "jupyter"
    listing = subprocess.run([str(jupyter), "labextension", "list"], capture_output=True, text=True).stderr + \
        subprocess.run([str(jupyter), "labextension", "list"], capture_output=True, text=True).stdout
    line = next((ln for ln in listing.splitlines() if "@jupyter/nbgrader" in ln), "")
    if "enabled" not in line or "disabled" in line:
        say("enabling the nbgrader JupyterLab extension")
        run(jupyter, "labextension", "enable", "--level=sys_prefix", "@jupyter/nbgrader", stdout=subprocess.DEVNULL)
    for ext in ("formgrader", "validate_assignment", "assignment_list", "course_list"):
        run(jupyter, "server", "extension", "enable", "--sys-prefix", f"nbgrader.server_extensions.{ext}",
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_env() -> dict[str, str]:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from course_lib.threads import single_thread_env  # torch-free: runs on the system Python

    env = dict(os.environ)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    env.update(single_thread_env(headless=True))
    return env


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["lab", "test", "site", "setup"])
    ap.add_argument("--python", default=sys.executable, help="interpreter used to create .venv")
    ap.add_argument("--port", type=int, default=8888)
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--full", action="store_true", help="site: execute the lectures with FAST = False")
    a = ap.parse_args(argv)
    setup(a.python)
    if a.command == "setup":
        say("ready")
        return 0
    if a.command == "test":
        env = test_env()
        # the checkers first (seconds): ruff (lint) and mypy (types), as configured in pyproject.toml
        for check in (["ruff", "check", "."], ["mypy"]):
            cmd = [str(PY), "-m", *check]
            say(" ".join(cmd))
            rc = subprocess.run(cmd, cwd=ROOT, env=env).returncode
            if rc:
                return rc
        workers = "2" if (os.cpu_count() or 1) >= 2 else "1"
        cmd = [str(PY), "-m", "pytest", "-n", workers, "--dist", "loadgroup", "--durations", "15", *extra]
        say(" ".join(cmd))
        return subprocess.run(cmd, cwd=ROOT, env=env).returncode
    if a.command == "site":
        cmd = [str(PY), str(ROOT / "tools" / "site" / "build.py"), *(["--full"] if a.full else []), *extra]
        say(" ".join(cmd))
        return subprocess.run(cmd, cwd=ROOT, env=test_env()).returncode
    cmd = [str(BIN / "jupyter"), "lab", f"--ServerApp.root_dir={ROOT}", f"--port={a.port}"]
    if a.no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and cloud machines often run as root
    say("starting JupyterLab: open lectures/01_word_embeddings.ipynb to begin")
    env = dict(os.environ)
    env["PATH"] = str(BIN) + os.pathsep + env.get("PATH", "")
    return subprocess.run(cmd, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
