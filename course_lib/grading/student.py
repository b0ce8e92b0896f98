"""The student's side of a judged grading run: a process (inside the sandbox) that runs the student's
cells and answers the grader's calls of the student's functions.

It never sees a test: the grader runs the test cells in its own process and only asks this one to
*call* a function (``rnn_step(x, h, U, W, b)``), to *look up* a name (``answer_powers``) or to run one of
the student's cells. Arguments arrive as pickles from the grader; results go back as plain data
(:mod:`course_lib.grading.wire`), so nothing the student's code does to this process -- input
transformers, a replaced ``compare``, a ``str`` whose ``__eq__`` is always true, an object that reads
the caller's stack -- can change a verdict, which is computed elsewhere against values this process
never holds.

One thing can only be watched from in here: whether the student's function *computes* its result or
hands the work to a library reference (``torch.lstm_cell``, ``course_lib``'s own version). A profile
hook, installed before any student code runs, sees every Python call (by code object, so aliases,
``functools.partial``, default arguments and dict values all land on the same code) and every call of
a C function (by name, so ``torch._VF.lstm_cell`` and ``torch.lstm_cell`` are one). While the grader's
call runs with a refusal list, a hit is reported to the grader at once, out of band; calls that
disturb the hook itself (``sys.setprofile``, introspection of frames or the garbage collector,
starting threads or processes) are reported too.

Run as ``python -m course_lib.grading.student IN_FD OUT_FD``.
"""
from __future__ import annotations

import builtins
import contextlib
import io
import os
import pickle
import sys
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any, TextIO

import torch

from course_lib.grading import wire
from course_lib.grading.monitor import Monitor, watch_compiled_imports
from course_lib.grading.protocol import CallbackRef, HandleRef, IterArg, ProtocolError, mutables, plain_tensors, \
    recv_frame, send_frame

__all__ = ["main"]

MAX_REQUEST = 1 << 30


# ---------------------------------------------------------------- the server

class Server:
    """Answers the grader's requests, one at a time, on two pipes."""

    def __init__(self, in_fd: int, out_fd: int):
        self.in_fd, self.out_fd = in_fd, out_fd
        self.lock = threading.Lock()
        self.handles: dict[int, Any] = {}
        self.handle_of: dict[int, int] = {}
        self.graphs: dict[int, tuple[list[torch.Tensor], list[torch.Tensor]]] = {}
        self.bound: dict[str, Any] = {}
        self.monitor = Monitor(self.event)
        self.shell = _make_shell()
        self.ns = self.shell.user_ns

    # -- messages
    def event(self, kind: str, detail: str) -> None:
        self.send({"event": kind, "detail": detail})

    def send(self, msg: dict) -> None:
        try:
            data = wire.encode(msg, handle=self._handle)
        except Exception as exc:  # noqa: BLE001 - e.g. a value that contains itself: reported, not crashed on
            data = wire.encode({k: v for k, v in msg.items() if k in ("event", "detail")} or
                               {"error": _error_info(TypeError(f"the result cannot be sent: {exc}"))})
        with self.lock:
            send_frame(self.out_fd, data)

    def recv(self) -> dict:
        server = self

        class _Unpickler(pickle.Unpickler):
            def persistent_load(self, pid: Any) -> Any:
                kind, value = pid
                if kind == "handle":
                    return server.handles[value]
                if kind == "callback":
                    return server.callback_stub(CallbackRef(*value))
                raise pickle.UnpicklingError(f"unknown persistent id {kind!r}")

        return _Unpickler(io.BytesIO(recv_frame(self.in_fd, MAX_REQUEST))).load()

    def _handle(self, x: Any) -> dict:
        hid = self.handle_of.get(id(x))
        if hid is None or self.handles.get(hid) is not x:
            hid = len(self.handles) + 1
            self.handles[hid] = x
            self.handle_of[id(x)] = hid
        return {"t": "handle", "id": hid, "type": type(x).__qualname__,
                "module": isinstance(x, torch.nn.Module), "callable": callable(x)}

    def callback_stub(self, ref: CallbackRef) -> Callable:
        server = self

        def call_grader(*args: Any, **kwargs: Any) -> Any:
            server.send({"op": "callback", "id": ref.id, "args": list(args), "kwargs": kwargs})
            while True:
                msg = server.recv()
                if msg.get("op") == "callback_result":
                    if "error" in msg:
                        raise _rebuild_error(msg["error"])
                    return _unwrap(msg["value"])
                server.send(server.dispatch(msg))

        call_grader.__name__ = call_grader.__qualname__ = ref.name
        return call_grader

    # -- requests
    def serve(self) -> None:
        watch_compiled_imports()
        self.monitor.install()
        while True:
            try:
                req = self.recv()
            except ProtocolError:
                return
            if req.get("op") == "exit":
                return
            self.monitor.ensure_installed()
            self.send(self.dispatch(req))

    def dispatch(self, req: dict) -> dict:
        op = req.get("op")
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            return {"error": _error_info(ValueError(f"unknown request {op!r}"))}
        return handler(req)

    def op_cell(self, req: dict) -> dict:
        out = io.StringIO()
        with _captured(out):
            result = self.shell.run_cell(req["source"], store_history=True, silent=False)
        reply: dict[str, Any] = {"out": out.getvalue()}
        err = result.error_before_exec or result.error_in_exec
        if err is not None:
            reply["error"] = _error_info(err)
        return reply

    def op_lookup(self, req: dict) -> dict:
        name = req["name"]
        if name not in self.ns:
            return {"found": False}
        return {"found": True, "value": _plain(self.ns[name])}

    def op_getattr(self, req: dict) -> dict:
        obj = self.handles[req["handle"]]
        try:
            return {"value": _plain(getattr(obj, req["name"]))}
        except Exception as exc:  # noqa: BLE001 - the student's object: any error is theirs
            return {"error": _error_info(exc)}

    def op_module_state(self, req: dict) -> dict:
        mod = self.handles[req["handle"]]
        return {"params": {n: p.detach() for n, p in mod.named_parameters()},
                "requires_grad": {n: p.requires_grad for n, p in mod.named_parameters()},
                "grads": {n: p.grad for n, p in mod.named_parameters() if p.grad is not None},
                "buffers": {n: b for n, b in mod.named_buffers()}}

    def op_load_params(self, req: dict) -> dict:
        mod = self.handles[req["handle"]]
        params = dict(mod.named_parameters())
        with torch.no_grad():
            for name, (value, requires_grad, grad) in req["params"].items():
                p = params[name]
                if p.shape == value.shape and p.dtype == value.dtype:
                    p.copy_(value)
                else:
                    p.data = value.clone()
                p.requires_grad_(requires_grad)
                p.grad = grad
        return {}

    def op_bind(self, req: dict) -> dict:
        name, fn = req["name"], req["function"]
        if fn is None:
            if name in self.bound:
                original = self.bound.pop(name)
                if original is _MISSING:
                    self.ns.pop(name, None)
                else:
                    self.ns[name] = original
        else:
            self.bound.setdefault(name, self.ns.get(name, _MISSING))
            self.ns[name] = fn
        return {}

    def op_call(self, req: dict) -> dict:
        target = req["target"]
        fn = self.handles[target.id] if isinstance(target, HandleRef) else self.ns.get(target, _MISSING)
        if fn is _MISSING:
            return {"error": _error_info(NameError(f"name {target!r} is not defined"))}
        args, kwargs = [_unwrap(a) for a in req["args"]], {k: _unwrap(v) for k, v in req["kwargs"].items()}
        tracked = list(mutables((req["args"], req["kwargs"])))
        before = [_state(t) for t in tracked]
        modules = [self.handles[h] for h in req.get("modules", ())]
        out = io.StringIO()
        torch.set_rng_state(req["rng"])
        reply: dict[str, Any] = {}
        with _captured(out), torch.set_grad_enabled(req["grad"]):
            self.monitor.begin(req.get("refuse", {}))
            try:
                value = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 - reported to the grader, never raised here
                value, reply["error"] = None, _error_info(exc)
            finally:
                hits = self.monitor.end()
        reply["out"] = out.getvalue()
        reply["refused"] = hits
        reply["rng"] = torch.get_rng_state()
        reply["mut"] = [(i, *_changes(t, b)) for i, (t, b) in enumerate(zip(tracked, before)) if _changed(t, b)]
        if "error" in reply:
            return reply
        reply["value"] = _plain(value)
        if req["grad"]:
            outs = [t for t in plain_tensors(value) if t.requires_grad]
            leaves = [t for t in tracked if isinstance(t, torch.Tensor) and t.requires_grad] + \
                [p for m in modules for p in m.parameters() if p.requires_grad]
            if outs and leaves:
                gid = len(self.graphs) + 1
                self.graphs[gid] = (outs, leaves)
                reply["graph"] = gid
        return reply

    def op_backward(self, req: dict) -> dict:
        outs, leaves = self.graphs[req["graph"]]
        grads = req["grads"]
        pairs = [(o, g) for o, g in zip(outs, grads) if g is not None]
        if not pairs:
            return {"grads": [None] * len(leaves)}
        try:
            got = torch.autograd.grad([o for o, _ in pairs], leaves, [g for _, g in pairs], allow_unused=True,
                                      retain_graph=True)
        except Exception as exc:  # noqa: BLE001
            return {"error": _error_info(exc)}
        return {"grads": list(got)}

    def op_release(self, req: dict) -> dict:
        self.graphs.clear()
        return {}


_MISSING = object()


def _plain(x: Any) -> Any:
    """What is sent for ``x``: itself (plain data is encoded, the rest becomes a handle)."""
    return x


def _unwrap(x: Any) -> Any:
    if isinstance(x, IterArg):
        return iter(x.items)
    if isinstance(x, list):
        return [_unwrap(v) for v in x]
    if isinstance(x, tuple) and type(x) is tuple:
        return tuple(_unwrap(v) for v in x)
    if isinstance(x, dict) and type(x) is dict:
        return {k: _unwrap(v) for k, v in x.items()}
    return x


def _state(t: Any) -> tuple:
    if isinstance(t, torch.Generator):
        return (bytes(t.get_state().numpy()),)
    g = t.grad
    return (t._version, t.data_ptr(), t.dtype, tuple(t.shape), id(g) if g is not None else None,
            g._version if g is not None else None)


def _changed(t: Any, before: tuple) -> bool:
    return _state(t) != before


def _changes(t: Any, before: tuple) -> tuple:
    if isinstance(t, torch.Generator):
        return ("generator", t.get_state(), None)
    return ("tensor", t.detach(), t.grad)


@contextlib.contextmanager
def _captured(out: io.StringIO) -> Iterator[None]:
    """stdout and stderr of the student's code go to ``out`` (its warnings too): never the grader's stderr."""
    import warnings

    old = sys.stdout, sys.stderr
    old_show = warnings.showwarning
    sys.stdout = sys.stderr = out
    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
        out.write(warnings.formatwarning(message, category, filename, lineno, line))

    warnings.showwarning = show
    try:
        yield
    finally:
        sys.stdout, sys.stderr = old
        warnings.showwarning = old_show


def _error_info(exc: BaseException) -> dict:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"type": type(exc).__name__, "mro": [c.__name__ for c in type(exc).__mro__ if c.__module__ == "builtins"],
            "message": str(exc)[:4000], "traceback": tb[-6000:]}


def _rebuild_error(info: dict) -> BaseException:
    cls = getattr(builtins, info.get("type", ""), None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        cls = RuntimeError
    return cls(info.get("message", ""))


def _make_shell() -> Any:
    os.environ.setdefault("IPYTHONDIR", os.path.join(os.environ.get("TMPDIR", "/tmp"), "ipython"))
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance(colors="NoColor")
    shell.user_ns["__name__"] = "__main__"
    return shell


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    in_fd, out_fd = int(argv[0]), int(argv[1])
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)  # the student's code reads nothing from the grader's pipes by accident
    server = Server(in_fd, out_fd)
    server.send({"ready": True, "pid": os.getpid()})
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
