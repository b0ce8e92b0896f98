"""Execute a course notebook the way the test-suite does (papermill-style parameters).

The cell tagged ``parameters`` is followed by an injected cell (``FAST = True`` by default),
every cell runs in a fresh kernel, and the notebook's ``SUMMARY`` dict is read back.
"""
from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_lib.threads import single_thread_env

SUMMARY_MARK = "__COURSE_SUMMARY__"


@dataclass
class NotebookRun:
    path: Path
    seconds: float
    errors: list[str] = field(default_factory=list)
    summary: dict | None = None
    nb: nbformat.NotebookNode | None = None


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


def run_notebook(path: str | os.PathLike, fast: bool = True, timeout_per_cell: int = 600,
                 extra_params: dict | None = None) -> NotebookRun:
    """Execute ``path`` with ``FAST = fast``; collect error outputs and ``SUMMARY``."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    inject_parameters(nb, {"FAST": fast, **(extra_params or {})})
    nb.cells.append(nbformat.v4.new_code_cell(
        "import json as _json\n"
        f"print({SUMMARY_MARK!r} + _json.dumps(globals().get('SUMMARY'), default=float))"))
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
    seconds = time.perf_counter() - t0
    run = NotebookRun(path, seconds, nb=nb)
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                run.errors.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}\n"
                                  + "\n".join(out.get("traceback", [])[-3:]))
            if out.get("output_type") == "stream" and SUMMARY_MARK in out.get("text", ""):
                text = out["text"].split(SUMMARY_MARK, 1)[1].strip()
                run.summary = json.loads(text)
    return run


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
