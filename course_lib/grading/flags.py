"""Review flags: constructs in a student's cells that honest answers to this course's questions do not
need, and that tampering does. A hint for the instructor (``course autograde`` prints them, ``course
export`` has a column), never a verdict: grades come from the judged run, whatever the flags say.
"""
from __future__ import annotations

import ast
import re
from typing import Any

__all__ = ["static_flags", "PATTERNS"]

# (what, regular expression on the source)
PATTERNS: list[tuple[str, str]] = [
    ("IPython hooks", r"\bget_ipython\b|input_transformers|ast_transformers|events\.register|set_custom_exc|"
                      r"showtraceback"),
    ("stack frames", r"\b_getframe\b|\bcurrentframe\b|inspect\.stack|\bf_back\b|\bf_globals\b|\bf_locals\b|"
                     r"\btb_frame\b|__traceback__"),
    ("function internals", r"__code__|__closure__|cell_contents|__globals__|__defaults__|__kwdefaults__"),
    ("the garbage collector", r"\bgc\.(get_|referr)"),
    ("ctypes", r"\bctypes\b"),
    ("processes or threads", r"\bsubprocess\b|os\.(system|fork|popen|kill|spawn|exec)|\bmultiprocessing\b|"
                             r"\bthreading\b|_thread\b|\bsignal\."),
    ("builtins or modules", r"\bbuiltins\b|__builtins__|sys\.modules|\bimportlib\b|__import__"),
    ("profiling or tracing hooks", r"sys\.(setprofile|settrace|getprofile|gettrace)|setprofile|settrace"),
    ("compiled or low-level torch", r"torch\.jit|torch\.compile|torch\._C\b|torch\.ops\b|\b_VF\b"),
    ("exec / eval", r"\bexec\s*\(|\beval\s*\(|\bcompile\s*\("),
    ("grading files", r"\.ipynb\b|\.db\b|gradebook|nbgrader|source/|autograded|submitted/"),
    ("paths outside the working folder", r"[\"'](/(?!course/work)[\w.-]+|\.\./|~/)"),
]
_COMPILED = [(what, re.compile(rx)) for what, rx in PATTERNS]


def _source(cell: Any) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def static_flags(nb: Any) -> list[str]:
    """``"<cell>: <what> (line N: ...)"`` for each flagged construct in the student's code cells
    (answer cells and ordinary cells; never the locked set-up or test cells)."""
    out = []
    for k, cell in enumerate(nb.get("cells", []) if isinstance(nb, dict) else nb.cells):
        if cell.get("cell_type") != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("locked") or (meta.get("grade") and not meta.get("solution")):
            continue
        name = meta.get("grade_id") or f"cell {k}"
        for lineno, line in enumerate(_code_lines(_source(cell)), 1):
            for what, rx in _COMPILED:
                if rx.search(line):
                    out.append(f"{name}: {what} (line {lineno}: {line.strip()[:80]})")
    return out


def _code_lines(src: str) -> list[str]:
    """The lines of ``src`` with comments and docstrings blanked (so prose never raises a flag)."""
    lines = src.splitlines()
    try:
        tree = ast.parse(src)
    except SyntaxError:
        return [ln.split("#")[0] for ln in lines]
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and \
                    isinstance(first.value.value, str):
                for i in range(first.lineno - 1, (first.end_lineno or first.lineno)):
                    lines[i] = ""
    return [re.sub(r"#.*$", "", ln) if "#" in ln else ln for ln in lines]
