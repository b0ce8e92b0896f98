"""Turn a jupytext percent-format script into a clean course notebook (and back).

    python tools/py2nb.py lectures_src/01_word_embeddings.py lectures/01_word_embeddings.ipynb
    python tools/py2nb.py --to-py lectures/01_word_embeddings.ipynb /tmp/01.py

Cell metadata that is kept: ``tags`` (e.g. ``parameters``) and ``nbgrader``.
The notebook gets the ``python3`` kernelspec and no outputs.
"""
from __future__ import annotations

import argparse
import sys

import jupytext
import nbformat

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop jupytext bookkeeping and outputs; keep only tags and nbgrader metadata."""
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC, "language_info": {"name": "python"}})
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict({k: v for k, v in cell.metadata.items() if k in ("tags", "nbgrader")})
        cell.pop("id", None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    nb.nbformat, nb.nbformat_minor = 4, 5
    # an empty code cell (e.g. a blank line after the script's header) is a blank box that never runs
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.source.strip()]
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i:03d}"
    return nb


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src")
    ap.add_argument("dest")
    ap.add_argument("--to-py", action="store_true", help="notebook -> percent script")
    a = ap.parse_args(argv)
    if a.to_py:
        nb = nbformat.read(a.src, as_version=4)
        jupytext.write(nb, a.dest, fmt="py:percent")
        return 0
    nb = jupytext.read(a.src, fmt="py:percent")
    nbformat.validate(clean(nb))
    nbformat.write(nb, a.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
