"""The sandbox a student's code runs in while it is graded: bubblewrap + a throw-away unprivileged user.

What the student's process sees and may do (``bwrap`` from Debian's ``bubblewrap`` package, started as
root, then ``setpriv`` to an unused uid with no capabilities and ``no_new_privs``):

* files: the system (``/usr``, ``/etc``), Python, the course's virtual environment and the
  ``course_lib`` package, all **read-only**; its own working folder (a copy of its submission) read-write
  at ``/course/work``; a private ``/tmp``; a private course cache at ``/course/cache`` that shows the
  grader's trained models read-only (never its self-check gradebooks or feedback). Not visible: the
  course root (``source/``, the gradebook, ``nbgrader_config.py``), other students' folders, ``/root``,
  the rest of the repository;
* processes: its own PID namespace (it cannot see or signal any other process); every process it starts
  dies with the sandbox (the namespace's init is killed when the grader ends the job, and with the
  grader if it dies: ``--die-with-parent``); at most ``nproc`` processes;
* network: none (its own empty network namespace);
* limits: address space, file size, open files, CPU seconds (``setrlimit``, soft = hard).

As a normal user (a self-learner's laptop) the same view, PID and network namespaces are set up inside
a user namespace, keeping the user's own id. Without ``bwrap`` (or where user namespaces are disabled)
this cannot be set up: callers refuse to grade unless the user opts out explicitly (``--no-sandbox``)
for a single-user machine they trust.
The README's instructor section says what this protects against and what it does not.
"""
from __future__ import annotations

import functools
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

__all__ = ["Limits", "SandboxUnavailable", "sandbox_problem", "sandbox_command", "student_env", "limit_resources",
           "pick_uid", "UID_BASE", "WORK", "CACHE"]

UID_BASE = 61000          # uids UID_BASE .. UID_BASE + 3999 are used for sandboxes, one per running job
WORK = "/course/work"
CACHE = "/course/cache"


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be set up on this machine."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed student process (and everything it starts)."""

    memory_bytes: int = 6 * 2**30
    nproc: int = 256          # processes + threads of the sandbox's uid
    file_bytes: int = 256 * 2**20
    open_files: int = 512
    cpu_seconds: int = 3600


@functools.lru_cache(maxsize=1)
def sandbox_problem() -> str | None:
    """``None`` if sandboxes work here, else a sentence saying why not and what to do."""
    if sys.platform != "linux":
        return f"the sandbox needs Linux (bubblewrap); this is {sys.platform}"
    if shutil.which("bwrap") is None:
        return ("bubblewrap is not installed: `sudo apt-get install bubblewrap` (Debian/Ubuntu), "
                "or `python3 kit.py setup` as root")
    probe = sandbox_command(UID_BASE + 3999 if os.geteuid() == 0 else None, ["/usr/bin/true"], work=None)
    try:
        out = subprocess.run(probe, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap did not start: {exc}"
    if out.returncode != 0:
        hint = "" if os.geteuid() == 0 else " (a normal user needs unprivileged user namespaces; or grade as root)"
        return f"bubblewrap failed here: {out.stderr.strip() or out.returncode}{hint}"
    return None


def _system_binds() -> list[str]:
    args: list[str] = []
    for top in ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc"):
        p = Path(top)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), top]
        elif p.is_dir():
            args += ["--ro-bind", top, top]
    return args


def _python_paths() -> list[Path]:
    """What the student's Python needs read-only: the interpreter, the venv, the course_lib package."""
    import course_lib

    paths = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(course_lib.__file__).resolve().parent}
    real_exe = Path(sys.executable).resolve()
    if not any(real_exe.is_relative_to(p) for p in paths):
        paths.add(real_exe.parent)
    return sorted(p for p in paths if not str(p).startswith("/usr"))


def _parents(path: Path, made: set[str]) -> list[str]:
    """``--dir`` for each missing parent of ``path``, mode 0755 (bwrap would make them 0700, and the
    student's uid could not reach ``path``: e.g. a clone in ``mktemp -d``, whose parents live on the
    sandbox's empty ``/tmp``)."""
    args: list[str] = []
    for parent in reversed(path.parents[:-1]):  # without "/"
        exists = parent == Path("/tmp") or any(parent.is_relative_to(t) for t in ("/usr", "/etc", "/proc", "/dev"))
        if str(parent) not in made and not exists:
            made.add(str(parent))
            args += ["--perms", "0755", "--dir", str(parent)]
    return args


def sandbox_command(uid: int | None, argv: list[str], *, work: Path | None,
                    cache_files: Sequence[Path] = (), env: dict[str, str] | None = None) -> list[str]:
    """The command line that runs ``argv`` sandboxed, with ``work`` at ``/course/work``.

    ``uid``: as root, the throw-away user to switch to; ``None`` (a normal user, e.g. a self-learner's
    laptop): the process keeps the user's id inside a user namespace (same file view, PID namespace and
    empty network; only the per-user process limit is shared with the user's own processes).
    ``cache_files``: files shown read-only in the private course cache (trained models).
    """
    cmd = ["bwrap", *(["--unshare-user"] if uid is None else []), "--unshare-pid", "--unshare-net", "--unshare-ipc",
           "--unshare-uts", "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "sandbox",
           "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp", *_system_binds()]
    made: set[str] = set()
    for p in _python_paths():
        cmd += _parents(p, made) + ["--ro-bind", str(p), str(p)]
    cmd += _parents(Path(CACHE), made) + ["--perms", "0777", "--tmpfs", CACHE]
    for f in cache_files:
        cmd += ["--ro-bind", str(f), f"{CACHE}/{f.name}"]
    if work is not None:
        cmd += ["--bind", str(work), WORK, "--chdir", WORK]
    cmd += ["--clearenv"]
    for k, v in (env or {}).items():
        cmd += ["--setenv", k, v]
    if uid is None:
        return cmd + ["--cap-drop", "ALL", "--", *argv]
    return cmd + ["--", shutil.which("setpriv") or "/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}",
                  "--clear-groups", "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--", *argv]


def student_env(uid: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment inside the sandbox: nothing of the grader's, one thread, no progress bars."""
    env = {"HOME": WORK, "USER": f"student{uid}", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
           "TMPDIR": "/tmp", "COURSE_CACHE": CACHE, "MPLBACKEND": "Agg", "PYTHONNOUSERSITE": "1",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONBREAKPOINT": "0", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "COURSE_PROGRESS": "0", "COURSE_LIVE_PLOT": "0", "LANG": "C.UTF-8"}
    env.update(extra or {})
    return env


def limit_resources(limits: Limits) -> None:
    """``preexec_fn`` for the sandbox: soft = hard limits, inherited by everything inside."""
    nproc = limits.nproc
    if os.geteuid() != 0:  # the limit counts all of this user's processes: leave room for the user's own
        nproc += len(psutil.pids())
    for res, value in ((resource.RLIMIT_AS, limits.memory_bytes), (resource.RLIMIT_NPROC, nproc),
                       (resource.RLIMIT_FSIZE, limits.file_bytes), (resource.RLIMIT_NOFILE, limits.open_files),
                       (resource.RLIMIT_CPU, limits.cpu_seconds), (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(res, (value, value))


def pick_uid() -> tuple[int, Any]:
    """A sandbox uid reserved for this job (a held lock), which no running process uses: limits and
    signals are then per job. Returns ``(uid, lock)``; closing ``lock`` frees the uid."""
    import fcntl

    lockdir = Path(tempfile.gettempdir()) / "course-sandbox-uids"
    lockdir.mkdir(mode=0o700, exist_ok=True)
    used = set()
    for p in psutil.process_iter(["uids"]):
        try:
            used.add(p.info["uids"].real)
        except (psutil.Error, AttributeError):
            pass
    start = os.getpid() % 4000
    for k in range(4000):
        uid = UID_BASE + (start + k) % 4000
        if uid in used:
            continue
        lock = open(lockdir / str(uid), "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            continue
        return uid, lock
    raise SandboxUnavailable("no free sandbox uid")
