"""The profile hook that watches a student's function while it is graded.

Installed before any student code runs (in the sandboxed student process, or around one call when a
notebook is run in a normal kernel), it sees every Python call -- by code object, so an alias, a
``functools.partial``, a default argument or a dict value all land on the same code -- and every call
of a C function -- by name, so ``torch._VF.lstm_cell`` and ``torch.lstm_cell`` are one, and the
nameless C functions behind ``torch.ops.aten.<op>`` by identity. While a refusal list is armed
(``begin(spec)``), a hit is reported at once (``report("refused", what)``); calls that disturb the hook or
reach outside the function (``sys.setprofile``, frame and garbage-collector introspection, threads,
processes, TorchScript) are reported too, and count as hits while a graded call runs.

A refusal spec (built by :func:`course_lib.grading.guards.refusal_spec`) is a dict:
``codes`` (marshalled code objects), ``c_names`` (names of C functions), ``ops`` (``torch.ops.aten`` names).
"""
from __future__ import annotations

import _thread
import gc
import marshal
import os
import subprocess
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import torch

__all__ = ["Monitor", "watch_compiled_imports", "wrap_compiled", "WATCHED_FILE"]


class Monitor:
    """The profile hook and what it watches. ``begin(spec)`` arms the refusal list for one call,
    ``end()`` disarms it and returns what was hit."""

    def __init__(self, report: Callable[[str, str], None]):
        self._report = report
        self.codes: frozenset = frozenset()
        self.code_names: frozenset[str] = frozenset()
        self.c_names: frozenset[str] = frozenset()
        self.c_ids: frozenset[int] = frozenset()
        self.active = False
        self.hits: list[str] = []
        watch_c = {sys.setprofile: "sys.setprofile", sys.getprofile: "sys.getprofile", sys.settrace: "sys.settrace",
                   sys._getframe: "sys._getframe", gc.get_objects: "gc.get_objects",
                   gc.get_referrers: "gc.get_referrers", gc.get_referents: "gc.get_referents",
                   _thread.start_new_thread: "_thread.start_new_thread", os.fork: "os.fork", os.system: "os.system",
                   os.posix_spawn: "os.posix_spawn", os.kill: "os.kill", os.killpg: "os.killpg",
                   torch._C._jit_get_operation: "torch._C._jit_get_operation"}
        watch_py = {threading.setprofile.__code__: "threading.setprofile",
                    threading.Thread.start.__code__: "threading.Thread.start",
                    subprocess.Popen.__init__.__code__: "subprocess.Popen",
                    torch.jit.script.__code__: "torch.jit.script", torch.jit.trace.__code__: "torch.jit.trace",
                    torch.compile.__code__: "torch.compile"}
        # what honest work never needs while a graded call runs (the rest are only reported)
        self._always_bad = {"sys.setprofile", "threading.setprofile", "sys._getframe", "gc.get_objects",
                            "gc.get_referrers", "gc.get_referents", "_thread.start_new_thread", "os.fork",
                            "os.posix_spawn", "os.system", "subprocess.Popen", "threading.Thread.start",
                            "torch._C._jit_get_operation", "sys.getprofile"}
        self._watch_c = watch_c
        self._watch_py = watch_py
        self._watch_py_names = frozenset(c.co_name for c in watch_py)
        self.hook = self._make_hook()

    def _make_hook(self) -> Callable:
        m = self
        watch_c, watch_py, watch_py_names = self._watch_c, self._watch_py, self._watch_py_names

        def hook(frame: types.FrameType, event: str, arg: Any) -> None:
            if event == "c_call":
                if m.active and (getattr(arg, "__name__", None) in m.c_names or id(arg) in m.c_ids):
                    m._hit(f"called {_describe(arg)}")
                tag = watch_c.get(arg) if type(arg).__name__ == "builtin_function_or_method" else None
                if tag is not None:
                    m._event(tag, frame)
            elif event == "call":
                code = frame.f_code
                name = code.co_name
                if m.active and name in m.code_names and code in m.codes:
                    qualname = getattr(code, "co_qualname", name)  # Python 3.11+
                    m._hit(f"called {qualname}() from {os.path.basename(code.co_filename)}")
                elif m.active and name in m.c_names and code.co_filename == WATCHED_FILE:
                    m._hit(f"called {name}")
                if name in watch_py_names:
                    tag = watch_py.get(code)
                    if tag is not None:
                        m._event(tag, frame.f_back)
        return hook

    def _hit(self, what: str) -> None:
        self.hits.append(what)
        self._report("refused", what)

    def _event(self, tag: str, frame: types.FrameType | None) -> None:
        where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "?"
        if not _is_student_frame(frame):
            return
        if self.active and tag in self._always_bad:
            self._hit(f"used {tag} while being graded")
        else:
            self._report("suspicious", f"{tag} at {where}")

    def install(self) -> None:
        sys.setprofile(self.hook)
        threading.setprofile(self.hook)

    def ensure_installed(self) -> None:
        """Put the hook back if the student's code removed it (and say so)."""
        if sys.getprofile() is not self.hook:
            self._report("suspicious", "the grader's monitor was removed (sys.setprofile); it was put back")
            self.install()

    def begin(self, spec: dict) -> None:
        self.codes = frozenset(marshal.loads(c) for c in spec.get("codes", ()))
        self.code_names = frozenset(c.co_name for c in self.codes)
        self.c_names = frozenset(spec.get("c_names", ()))
        ids: set[int] = set()
        for name in spec.get("ops", ()):
            ids.update(id(op) for op in _op_builtins(name))
        self.c_ids = frozenset(ids)
        self.hits = []
        self.active = bool(self.codes or self.c_names or self.c_ids) or spec.get("watch", False)

    def end(self) -> list[str]:
        self.active = False
        hits, self.hits = self.hits, []
        return hits


def _describe(fn: Any) -> str:
    name = getattr(fn, "__name__", "?")
    owner = getattr(fn, "__self__", None)
    owner_name = getattr(owner, "__name__", None) if owner is not None else None
    return f"{owner_name}.{name}" if isinstance(owner_name, str) else name


def _op_builtins(name: str) -> list:
    """The C functions behind ``torch.ops.aten.<name>`` (every overload), which carry no useful name."""
    try:
        packet = getattr(torch.ops.aten, name)
    except (AttributeError, RuntimeError):
        return []
    out = [getattr(packet, "_op", None)]
    for ov in packet.overloads():
        out.append(getattr(getattr(packet, ov), "_op", None))
    return [o for o in out if o is not None]


_LIB_PREFIXES = tuple({os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))})


def _is_student_frame(frame: types.FrameType | None) -> bool:
    if frame is None:
        return False
    fn = frame.f_code.co_filename
    return not (fn.startswith("<frozen") or os.path.realpath(fn).startswith(_LIB_PREFIXES))


# ---------------------------------------------------------------- compiled (Cython) functions
# A call of a Cython function raises no profile event, so the functions of these packages are wrapped,
# as each module is imported, in small Python functions the monitor sees (by name, file "<watched>").
WATCHED_PACKAGES = ("gensim",)
WATCHED_FILE = "<watched>"


def _wrapper(fn: Callable) -> Callable:
    name = fn.__name__
    if not name.isidentifier():
        return fn
    ns: dict[str, Any] = {"_fn": fn}
    exec(compile(f"def {name}(*args, **kwargs):\n    return _fn(*args, **kwargs)\n", WATCHED_FILE, "exec"), ns)
    w = ns[name]
    w.__doc__, w.__wrapped__ = fn.__doc__, fn
    return w


def wrap_compiled(module: Any) -> None:
    """Replace the module's Cython functions by watched wrappers (in place)."""
    for attr, value in list(vars(module).items()):
        if type(value).__name__ == "cython_function_or_method":
            setattr(module, attr, _wrapper(value))


class _WatchImports:
    """A meta-path finder that wraps the Cython functions of the watched packages as they are imported."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname.split(".")[0] not in WATCHED_PACKAGES:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_wrap(module: Any) -> None:
            exec_module(module)
            wrap_compiled(module)

        loader.exec_module = exec_and_wrap  # type: ignore[method-assign]
        return spec


def watch_compiled_imports() -> None:
    """Install the import hook (before any student code runs); wrap what is already imported."""
    sys.meta_path.insert(0, _WatchImports())
    for name, mod in list(sys.modules.items()):
        if name.split(".")[0] in WATCHED_PACKAGES and mod is not None:
            wrap_compiled(mod)
