"""Build the course as a book: every lecture executed, rendered by Sphinx + myst-nb + sphinx-book-theme.

    .venv/bin/python tools/site/build.py [--full] [--out build/site]     (or: python3 kit.py site)

1. Every ``lectures/NN_*.ipynb`` (globbed, in name order) is executed as the test-suite does
   (``tests/nbrun.py``: ``FAST = True`` injected after the ``parameters`` cell; ``--full`` injects
   ``FAST = False``, which reuses the models trained before under ``course_lib.data.cache_dir()``),
   through nbrun's cache of executed notebooks, so a lecture the tests have just run is not run again.
   An error output in any lecture fails the build; each lecture's execution time is printed.
2. A staging folder ``OUT/src`` is written from those executions: one page per lecture, one per
   *released* assignment (``assignments/release/<name>/<name>.ipynb``, never ``source/``), an index made
   from the README's overview and a page on grading one's own work (the README's sections). Each page
   links the notebook as committed for download. Nothing here is a source: it is rewritten every build.
3. ``sphinx-build`` renders ``OUT/src`` to ``OUT/html`` with ``tools/site/conf.py``. Nothing is fetched
   from the internet at build time or by the pages (MathJax is served from the build folder).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
CONF_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tests"))
from nbrun import SUMMARY_TAG, run_notebooks_cached  # noqa: E402

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def lecture_paths(root: Path = ROOT) -> list[Path]:
    """The lecture notebooks, in course order (their ``NN_`` prefix)."""
    return sorted((root / "lectures").glob("[0-9][0-9]_*.ipynb"))


def released_assignments(root: Path = ROOT) -> list[Path]:
    """The students' versions of the assignments (``assignments/release/<name>/<name>.ipynb``)."""
    return sorted(p for p in (root / "assignments" / "release").glob("*/*.ipynb")
                  if p.stem == p.parent.name)


def first_heading(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The text of the notebook's first ``# `` heading in a markdown cell."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def _insert_after_title(nb: nbformat.NotebookNode, text: str) -> None:
    """Put markdown ``text`` right under the notebook's first ``# `` heading (or on top without one)."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        lines = cell.source.splitlines()
        for i, line in enumerate(lines):
            if line.startswith("# "):
                cell.source = "\n".join(lines[:i + 1] + ["", text, ""] + lines[i + 1:])
                return
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(text))


def _download(label: str, rel: str) -> str:
    return f"{{download}}`{label} <{rel}>`"


def execute_lectures(paths: list[Path], fast: bool) -> dict[Path, nbformat.NotebookNode]:
    """Execute (or read back from the cache) every lecture; exit with the errors if one has any."""
    done: dict[Path, nbformat.NotebookNode] = {}
    failed = []
    mode = "FAST = True" if fast else "FAST = False (full)"
    print(f"[site] executing {len(paths)} lectures with {mode}", flush=True)
    for run in run_notebooks_cached(paths, fast=fast, timeout_per_cell=600 if fast else 3600):
        how = "from the execution cache, it took" if run.cached else "executed in"
        print(f"[site]   {run.path.name}: {how} {run.seconds:.1f} s"
              + (f", {len(run.errors)} ERROR output(s)" if run.errors else ""), flush=True)
        if run.errors:
            failed.append(f"{run.path.name}:\n" + "\n\n".join(run.errors))
        done[run.path] = run.nb
    if failed:
        sys.exit("[site] the book is not built: error outputs in\n" + "\n\n".join(failed))
    return {p: done[p] for p in paths}


def lecture_page(nb: nbformat.NotebookNode, name: str, fast: bool) -> nbformat.NotebookNode:
    """The executed notebook as it is shown: the runner's read-back cell dropped, the injected
    parameter explained, live widgets (which need a kernel) replaced by a note, a header note."""
    nb.cells = [c for c in nb.cells if SUMMARY_TAG not in c.metadata.get("tags", [])]
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell.source = f"FAST = {fast}  # this page's setting (the notebook says FAST = False)"
        if cell.cell_type == "code":
            for out in cell.outputs:
                if WIDGET_MIME in out.get("data", {}):
                    out["data"] = {"text/markdown": "*An interactive widget is here: run the notebook in "
                                                    "JupyterLab to use it.*"}
    mode = ("in the **quick mode** (`FAST = True`: small data, few training steps, so its numbers are "
            "rougher than a full run's)" if fast else
            "in the **full mode** (`FAST = False`: the models trained for real)")
    _insert_after_title(nb, f"```{{note}}\nThis page shows the notebook executed {mode}. "
                            f"{_download(f'Download {name}', f'../downloads/lectures/{name}')} "
                            "(as in the repository, without outputs) to run it yourself.\n```")
    return nb


def assignment_page(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """A released assignment with a header note on how to work on it and grade it; its title cell is
    shown first (the notebook opens with its locked setup cells)."""
    titled = [i for i, c in enumerate(nb.cells)
              if c.cell_type == "markdown" and any(ln.startswith("# ") for ln in c.source.splitlines())]
    if titled:
        nb.cells.insert(0, nb.cells.pop(titled[0]))
    _insert_after_title(nb, "```{note}\nThis is the assignment as students get it: the task text and "
                            "the visible tests, no solutions and no hidden tests. "
                            f"{_download(f'Download {name}', f'../downloads/assignments/{name}')}, fill in "
                            "the cells marked `YOUR CODE HERE` / `YOUR ANSWER HERE`, and grade your copy "
                            "with `.venv/bin/course check` (see {doc}`../grading`).\n```")
    return nb


def readme_sections(text: str) -> tuple[str, str, dict[str, str]]:
    """Split a README into (title, text before the first ``## ``, {heading: body})."""
    title, intro, sections, current = "", [], {}, None
    for line in text.splitlines():
        if line.startswith("# ") and not title:
            title = line[2:].strip()
        elif line.startswith("## "):
            current = line[3:].strip()
            sections[current] = []
        elif current is None:
            intro.append(line)
        else:
            sections[current].append(line)
    return title, "\n".join(intro).strip(), {k: "\n".join(v).strip() for k, v in sections.items()}


def _section(sections: dict[str, str], prefix: str) -> str:
    return next((body for head, body in sections.items() if head.lower().startswith(prefix.lower())), "")


def _without_tables(body: str) -> str:
    return "\n".join(ln for ln in body.splitlines() if not ln.lstrip().startswith("|")).strip()


def index_page(readme: str, lectures: list[tuple[str, str]], assignments: list[str], fast: bool) -> str:
    """The book's front page from the README: overview, lecture table (linked), assignments, set-up.

    ``lectures``: (notebook file name, title) in course order; ``assignments``: released names.
    """
    title, intro, sections = readme_sections(readme)
    lecture_text = _section(sections, "The lectures")
    learn = {}
    for row in lecture_text.splitlines():
        m = re.match(r"\s*\|[^|]*\|\s*`([^`]+\.ipynb)`\s*\|(.*)\|\s*$", row)
        if m:
            learn[m.group(1)] = m.group(2).strip()
    rows = ["| # | lecture | what you learn |", "|---|---------|----------------|"]
    for name, head in lectures:
        short = head.split("—", 1)[-1].strip()
        rows.append(f"| {int(name[:2])} | [{short}](lectures/{name}) | {learn.get(name, '')} |")
    assign_text = _section(sections, "The assignments")
    for name in assignments:
        assign_text = assign_text.replace(f"| `{name}` |", f"| [{name}](assignments/{name}.ipynb) |")
    mode = "the quick mode (`FAST = True`)" if fast else "the full mode (`FAST = False`)"
    parts = [
        f"# {title}", intro,
        f"```{{note}}\nThis book shows every lecture executed, with its outputs and figures, in {mode}, "
        "built from the same notebooks the course runs. Each page links its notebook for download.\n```",
        "## The lectures", "\n".join(rows), _without_tables(lecture_text),
        "## The assignments", assign_text,
        "How to work on one and grade it yourself: {doc}`grading`.",
    ]
    for head in ("Two commands", "Hardware"):
        body = _section(sections, head)
        if body:
            parts += [f"## {'Run the course yourself' if head == 'Two commands' else head}", body]
    toc_lectures = "\n".join(f"lectures/{name[:-len('.ipynb')]}" for name, _ in lectures)
    toc_assign = "\n".join(["grading"] + [f"assignments/{n}" for n in assignments])
    parts += [f"```{{toctree}}\n:hidden:\n:caption: Lectures\n\n{toc_lectures}\n```",
              f"```{{toctree}}\n:hidden:\n:caption: Assignments\n\n{toc_assign}\n```"]
    return "\n\n".join(p for p in parts if p) + "\n"


def grading_page(readme: str) -> str:
    """How students and self-learners work on an assignment and grade it (the README's sections)."""
    _, _, sections = readme_sections(readme)
    parts = ["# Grade your own work"]
    for head in ("Students", "Self-learners"):
        body = _section(sections, head)
        if body:
            parts += [f"## {'Working on an assignment' if head == 'Students' else 'Grading it yourself'}", body]
    return "\n\n".join(parts) + "\n"


def stage(src: Path, executed: dict[Path, nbformat.NotebookNode], fast: bool) -> None:
    """Write the Sphinx source folder ``src`` (emptied first)."""
    shutil.rmtree(src, ignore_errors=True)
    for sub in ("lectures", "assignments", "downloads/lectures", "downloads/assignments"):
        (src / sub).mkdir(parents=True)
    lectures = []
    for path, nb in executed.items():
        shutil.copyfile(path, src / "downloads" / "lectures" / path.name)
        lectures.append((path.name, first_heading(nb, path.stem)))
        nbformat.write(lecture_page(nb, path.name, fast), src / "lectures" / path.name)
    names = []
    for path in released_assignments():
        shutil.copyfile(path, src / "downloads" / "assignments" / path.name)
        nb = nbformat.read(path, as_version=4)
        nbformat.write(assignment_page(nb, path.name), src / "assignments" / path.name)
        names.append(path.stem)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (src / "index.md").write_text(index_page(readme, lectures, names, fast), encoding="utf-8")
    (src / "grading.md").write_text(grading_page(readme), encoding="utf-8")


def build(out: Path, fast: bool = True) -> Path:
    """Execute, stage and render the book into ``out/html``; returns the path of its index.html."""
    t0 = time.perf_counter()
    paths = lecture_paths()
    if not paths:
        sys.exit("[site] no lectures/NN_*.ipynb found")
    executed = execute_lectures(paths, fast)
    t_exec = time.perf_counter() - t0
    stage(out / "src", executed, fast)
    html = out / "html"
    shutil.rmtree(html, ignore_errors=True)
    shutil.rmtree(out / "doctrees", ignore_errors=True)
    print("[site] rendering with Sphinx", flush=True)
    warnings = out / "sphinx-warnings.txt"
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-c", str(CONF_DIR), "-w", str(warnings),
           "-d", str(out / "doctrees"), str(out / "src"), str(html)]
    if subprocess.run(cmd, cwd=ROOT).returncode != 0:
        sys.exit("[site] sphinx-build failed")
    n_warn = sum(1 for ln in warnings.read_text().splitlines() if "WARNING" in ln or "ERROR" in ln)
    if n_warn:
        print(f"[site] Sphinx gave {n_warn} warning(s): see {warnings}", flush=True)
    size = sum(f.stat().st_size for f in html.rglob("*") if f.is_file())
    print(f"[site] built in {time.perf_counter() - t0:.0f} s (lectures {t_exec:.0f} s, rendering "
          f"{time.perf_counter() - t0 - t_exec:.0f} s); {size / 2**20:.1f} MiB in {html}", flush=True)
    print(f"[site] open {html / 'index.html'}  (or: python3 -m http.server -d {html})", flush=True)
    return html / "index.html"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="execute with FAST = False (reuses the course cache)")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "site", help="build folder (default build/site)")
    a = ap.parse_args(argv)
    build(a.out.resolve(), fast=not a.full)
    return 0


if __name__ == "__main__":
    sys.exit(main())
