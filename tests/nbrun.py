"""Execute a course notebook the way the test-suite does (papermill-style parameters).

The cell tagged ``parameters`` is followed by an injected cell (``FAST = True`` by default),
every cell runs in a fresh kernel, and the notebook's ``SUMMARY`` dict is read back.

``run_notebook_cached`` keeps each clean execution on disk (``build/executed/``, or
``$COURSE_NB_CACHE``; ``COURSE_NB_CACHE=off`` turns it off), keyed by a hash of the notebook, the
parameters, ``course_lib``'s files, this runner and the main package versions. The lecture tests and
the book (``kit.py site``) both go through it, so one CI run executes each lecture once.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import json
import os
import platform
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_lib.threads import single_thread_env

SUMMARY_MARK = "__COURSE_SUMMARY__"
SUMMARY_TAG = "summary-readback"  # the cell the runner appends to read SUMMARY back
ROOT = Path(__file__).resolve().parents[1]
KEY_PACKAGES = ("torch", "numpy", "scipy", "gensim", "matplotlib", "nbclient", "ipykernel")


@dataclass
class NotebookRun:
    path: Path
    seconds: float
    errors: list[str] = field(default_factory=list)
    summary: dict | None = None
    nb: nbformat.NotebookNode | None = None
    cached: bool = False  # True when read back from the execution cache (``seconds`` is that run's)


def inject_parameters(nb: nbformat.NotebookNode, params: dict) -> nbformat.NotebookNode:
    """Insert a cell assigning ``params`` right after the cell tagged ``parameters``."""
    idx = next((i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    if idx is None:
        raise ValueError("the notebook has no cell tagged 'parameters'")
    src = "# injected by the test runner\n" + "\n".join(f"{k} = {v!r}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(src, metadata={"tags": ["injected-parameters"]})
    nb.cells.insert(idx + 1, cell)
    return nb


def kernel_env() -> dict[str, str]:
    env = {**os.environ, **single_thread_env(headless=True)}
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    return env


def run_notebook(path: str | os.PathLike, fast: bool = True, timeout_per_cell: int | None = None,
                 extra_params: dict | None = None) -> NotebookRun:
    """Execute ``path`` with ``FAST = fast``; collect error outputs and ``SUMMARY``.

    ``timeout_per_cell`` (seconds) defaults to 600 with FAST and 1800 in full mode, where one cell may
    train for most of the lecture's 15 minutes (lecture 8's two g2p models, trained at once)."""
    if timeout_per_cell is None:
        timeout_per_cell = 600 if fast else 1800
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    inject_parameters(nb, {"FAST": fast, **(extra_params or {})})
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json as _json\n"
        f"print({SUMMARY_MARK!r} + _json.dumps(globals().get('SUMMARY'), default=float))",
        metadata={"tags": [SUMMARY_TAG]}))
    client = NotebookClient(nb, timeout=timeout_per_cell, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    old = dict(os.environ)
    os.environ.update(kernel_env())
    t0 = time.perf_counter()
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    return _collect(NotebookRun(path, time.perf_counter() - t0, nb=nb))


def _collect(run: NotebookRun) -> NotebookRun:
    """Fill ``run.errors`` and ``run.summary`` from the outputs of the executed ``run.nb``."""
    for i, cell in enumerate(run.nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                run.errors.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}\n"
                                  + "\n".join(out.get("traceback", [])[-3:]))
            if out.get("output_type") == "stream" and SUMMARY_MARK in out.get("text", ""):
                text = out["text"].split(SUMMARY_MARK, 1)[1].strip()
                run.summary = json.loads(text)
    return run


def cache_folder() -> Path | None:
    """Where executed notebooks are kept: ``$COURSE_NB_CACHE``, else ``build/executed``; None if "off"."""
    where = os.environ.get("COURSE_NB_CACHE", "")
    if where.lower() in ("0", "off", "no", "false"):
        return None
    return Path(where) if where else ROOT / "build" / "executed"


def cache_key(path: str | os.PathLike, params: dict) -> str:
    """Hash of everything an execution's outputs depend on that lives in this checkout or venv."""
    h = hashlib.sha256()
    h.update(Path(path).read_bytes())
    h.update(json.dumps(params, sort_keys=True).encode())
    h.update(Path(__file__).read_bytes())
    for f in sorted((ROOT / "course_lib").rglob("*")):
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes())
    versions = [platform.python_version()]
    for pkg in KEY_PACKAGES:
        try:
            versions.append(f"{pkg}={importlib.metadata.version(pkg)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{pkg}=none")
    h.update(" ".join(versions).encode())
    return h.hexdigest()[:20]


class FileLock:
    """An exclusive ``flock`` on ``path`` (several pytest-xdist workers share the cache).

    ``acquire(wait=False)`` returns False at once when another process holds it. Without ``fcntl``
    (Windows) every acquire succeeds: at worst a notebook is executed twice.
    """

    def __init__(self, path: Path):
        self.path, self.fd = path, None

    def acquire(self, wait: bool) -> bool:
        try:
            import fcntl
        except ImportError:
            return True
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            return False
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the flock
            self.fd = None


def _read_cached(path: Path, entry: Path) -> NotebookRun | None:
    if not entry.exists():
        return None
    nb = nbformat.read(entry, as_version=4)
    seconds = float(nb.metadata.get("course_run", {}).get("seconds", 0.0))
    return _collect(NotebookRun(path, seconds, nb=nb, cached=True))


def run_notebook_cached(path: str | os.PathLike, fast: bool = True, timeout_per_cell: int = 600,
                        extra_params: dict | None = None, wait: bool = True) -> NotebookRun | None:
    """``run_notebook``, through the on-disk cache of clean executions (see the module docstring).

    A hit is read back (``cached=True``, ``seconds`` of the run that made it). A miss executes under a
    per-notebook lock, and a run without error outputs is stored atomically; one with errors is not,
    so the next call tries again. With ``wait=False`` it returns None instead of waiting for another
    process that is executing the same notebook.
    """
    path = Path(path)
    folder = cache_folder()
    if folder is None:
        return run_notebook(path, fast, timeout_per_cell, extra_params)
    folder.mkdir(parents=True, exist_ok=True)
    params = {"FAST": fast, **(extra_params or {})}
    stem = f"{path.stem}.{'fast' if fast else 'full'}"
    entry = folder / f"{stem}.{cache_key(path, params)}.ipynb"
    hit = _read_cached(path, entry)
    if hit is not None:
        return hit
    lock = FileLock(folder / f"{stem}.lock")
    if not lock.acquire(wait):
        return None
    try:
        hit = _read_cached(path, entry)  # another process may have made it while we waited
        if hit is not None:
            return hit
        run = run_notebook(path, fast, timeout_per_cell, extra_params)
        if not run.errors:
            run.nb.metadata["course_run"] = {"seconds": run.seconds, "params": params}
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{stem}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                nbformat.write(run.nb, f)
            os.replace(tmp, entry)
            for old in folder.glob(f"{stem}.*.ipynb"):  # earlier versions of this notebook
                if old != entry:
                    old.unlink(missing_ok=True)
        return run
    finally:
        lock.release()


def run_notebooks_cached(paths: list[Path], fast: bool = True, timeout_per_cell: int = 600):
    """Yield a ``NotebookRun`` per path through the cache, in the order they finish.

    Notebooks another process is executing right now are left for later, so two processes working
    through the same list (the lecture tests and the book) keep each other busy instead of waiting.
    """
    pending = list(paths)
    while pending:
        progressed = False
        for p in list(pending):
            run = run_notebook_cached(p, fast, timeout_per_cell, wait=False)
            if run is not None:
                pending.remove(p)
                progressed = True
                yield run
        if pending and not progressed:
            yield run_notebook_cached(pending.pop(0), fast, timeout_per_cell, wait=True)


def save_pngs(run: NotebookRun, out_dir: str | os.PathLike) -> list[Path]:
    """Write every image output of an executed notebook to ``out_dir`` as PNG files."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, cell in enumerate(run.nb.cells):
        for j, out in enumerate(cell.get("outputs", [])):
            data = out.get("data", {})
            if "image/png" in data:
                p = out_dir / f"{run.path.stem}_cell{i:03d}_{j}.png"
                p.write_bytes(base64.b64decode(data["image/png"]))
                paths.append(p)
    return paths
