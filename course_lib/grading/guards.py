"""Context managers the assignments' hidden tests use.

- :func:`refuse_reference` makes sure an answer computes its result itself instead of handing the work
  to a library version (``torch.nn``, ``course_lib``). References are recognised by **what runs**, not
  by the name the student's code uses: every Python function is matched by its code object (and the
  private helpers of its module that it calls), every C function by its name, so
  ``def f(..., _g=torch.lstm_cell)``, ``torch._VF.lstm_cell``, ``functools.partial``, a dict value or
  ``torch.nn.utils.clip_grad._clip_grads_with_norm_`` are all caught (see :mod:`course_lib.grading.monitor`).
- :func:`graded_alone` grades each question on its own: the functions of *earlier* questions are
  replaced by correct versions, so a mistake is never counted twice.

Under the course's grader (:mod:`course_lib.grading.judge`) both act on the student's separate
process: the refusal is armed there for every call of a student function inside the block, and the
replacements run in the grader's process. In a normal kernel (an instructor running the source
notebook) they act in place. Tests import them inside the test cell, so a student cannot replace them.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import marshal
import sys
import types
from collections.abc import Iterator
from typing import Any

__all__ = ["refuse_reference", "graded_alone", "refusal_spec", "REFUSED_MESSAGE"]

REFUSED_MESSAGE = ("this question asks you to write the computation yourself; "
                   "your function called a library function that does it for you")

# set by the judge while it runs test cells: then the guards act on the student's process
_JUDGE: Any = None


def refuse_reference(*targets: tuple[Any, str], namespace: dict[str, Any] | None = None
                     ) -> contextlib.AbstractContextManager[None]:
    """While active, an answer that runs any of ``targets`` -- pairs ``(object, attribute name)``, e.g.
    ``(torch.nn.functional, "cosine_similarity")`` -- fails with ``RuntimeError``.

    ``namespace`` is accepted for compatibility and ignored: what is refused is what runs.
    """
    spec = refusal_spec(*targets)
    if _JUDGE is not None:
        return _JUDGE.refusing(spec)
    return _refuse_here(spec)


def refusal_spec(*targets: tuple[Any, str]) -> dict[str, list]:
    """The monitor's description of ``targets``: code objects, C-function names, ``torch.ops`` names."""
    codes: dict[Any, None] = {}
    c_names: set[str] = set()
    for t in targets:
        if not (isinstance(t, tuple) and len(t) == 2 and isinstance(t[1], str)):
            raise TypeError(f"targets are (object, attribute name) pairs, got {t!r}")
        owner, name = t
        obj = inspect.getattr_static(owner, name) if isinstance(owner, type) else getattr(owner, name)
        _collect(obj, codes, c_names, f"{getattr(owner, '__name__', owner)}.{name}")
    return {"codes": [marshal.dumps(c) for c in codes], "c_names": sorted(c_names), "ops": sorted(c_names)}


def _collect(obj: Any, codes: dict[Any, None], c_names: set[str], label: str) -> None:
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        for f in (obj.fget, obj.fset, obj.fdel):
            if f is not None:
                _collect(f, codes, c_names, label)
        return
    if isinstance(obj, functools.partial):
        return _collect(obj.func, codes, c_names, label)
    if isinstance(obj, types.MethodType):
        obj = obj.__func__
    if isinstance(obj, types.BuiltinFunctionType) or type(obj).__name__ in (
            "builtin_function_or_method", "method_descriptor", "cython_function_or_method"):
        c_names.add(obj.__name__)
        return
    if type(obj).__name__ in ("OpOverloadPacket", "OpOverload"):
        c_names.add(obj.__name__.split(".")[0] if type(obj).__name__ == "OpOverloadPacket"
                    else obj._overloadpacket.__name__)
        return
    if isinstance(obj, type):
        for v in vars(obj).values():
            if isinstance(v, (types.FunctionType, staticmethod, classmethod, property)):
                _collect(v, codes, c_names, label)
        return
    if isinstance(obj, types.FunctionType):
        inner = inspect.unwrap(obj)
        if not isinstance(inner, types.FunctionType):  # a wrapper around a C or Cython function
            return _collect(inner, codes, c_names, label)
        for code in _function_codes(obj):
            codes[code] = None
        return
    raise TypeError(f"refuse_reference cannot watch {label} (a {type(obj).__name__})")


def _function_codes(fn: types.FunctionType) -> list[types.CodeType]:
    """The code of ``fn`` (unwrapped from decorators), its nested functions, and -- transitively -- the
    private (``_name``) functions of its own module it calls by name."""
    out: list[types.CodeType] = []
    seen: set[int] = set()
    stack = [inspect.unwrap(fn)]
    while stack:
        f = stack.pop()
        if id(f) in seen or not isinstance(f, types.FunctionType):
            continue
        seen.add(id(f))
        todo = [f.__code__]
        while todo:
            code = todo.pop()
            out.append(code)
            todo += [c for c in code.co_consts if isinstance(c, types.CodeType)]
            for name in code.co_names:
                g = f.__globals__.get(name)
                if name.startswith("_") and isinstance(g, types.FunctionType) and g.__module__ == f.__module__:
                    stack.append(inspect.unwrap(g))
    return out


@contextlib.contextmanager
def _refuse_here(spec: dict[str, list]) -> Iterator[None]:
    """In this process: watch the block with a monitor; raise if a refused reference ran."""
    from course_lib.grading.monitor import Monitor, wrap_compiled

    for name, mod in list(sys.modules.items()):  # Cython functions raise no profile event: wrap them
        if mod is not None and name.split(".")[0] == "gensim":
            wrap_compiled(mod)
    monitor = Monitor(lambda kind, detail: None)
    old = sys.getprofile()
    monitor.begin(spec)
    sys.setprofile(monitor.hook)
    try:
        yield
    finally:
        sys.setprofile(old)
        hits = monitor.end()
    if hits:
        raise RuntimeError(f"{REFUSED_MESSAGE} ({hits[0]})")


def graded_alone(namespace: dict[str, Any] | None = None, **replacements: Any
                 ) -> contextlib.AbstractContextManager[None]:
    """While active, the named functions of the student (in ``namespace``, default the caller's globals)
    are replaced by ``replacements``; afterwards the student's own versions are put back."""
    if _JUDGE is not None:
        return _JUDGE.replacing(replacements)
    ns = namespace if namespace is not None else sys._getframe(1).f_globals
    return _replace(ns, replacements)


@contextlib.contextmanager
def _replace(ns: dict[str, Any], replacements: dict[str, Any]) -> Iterator[None]:
    missing = [k for k in replacements if k not in ns]
    saved = {k: ns[k] for k in replacements if k in ns}
    ns.update(replacements)
    try:
        yield
    finally:
        ns.update(saved)
        for k in missing:
            ns.pop(k, None)
