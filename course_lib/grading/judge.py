"""Judged execution: a submission's test cells run in the grader's process, its own cells elsewhere.

nbgrader runs a whole submission -- the student's answers and the instructor's tests -- in one kernel,
so code in an answer cell can rewrite the tests before they run (an IPython input transformer), replace
the checker (``compare``, ``numpy.allclose``), read expected values off the caller's stack, or open the
instructor's files. Here the notebook is split:

* the student's cells (answers, the ungraded "try it" cells, and the locked set-up cells) run in a
  **student process** (:mod:`course_lib.grading.student`), normally inside a sandbox
  (:mod:`course_lib.grading.sandbox`): it never sees a test cell or an expected value;
* the locked set-up cells and every **test cell** run in this process, in a namespace of their own.
  The names a test uses that the assignment's answers define (``rnn_step``, ``answer_powers``,
  ``MyScalarMix``) are looked up in the student process and bound to proxies: data comes back as plain
  values of exact types (:mod:`course_lib.grading.wire`), functions and objects as :class:`RemoteObject`
  handles whose calls go to the student process with the test's arguments.

A call sends the arguments (pickled), the random-number state and grad mode; it returns the value, what
the function printed, in-place changes of the arguments (copied back, so ``clip_gradients`` can scale
``p.grad``), and the new random state. Calls are differentiable (a gradient flows back through the
student process). Inside ``refuse_reference`` the student's monitor is armed for the call; inside
``graded_alone`` the student's names are bound to functions that run here. A call that runs past the
cell's time limit is interrupted, then killed; a dead or killed student process is started again and its
cells replayed, so only the item that broke loses points.
"""
from __future__ import annotations

import ast
import builtins
import contextlib
import io
import os
import pickle
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import types
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from course_lib.grading import guards, wire
from course_lib.grading.protocol import CallbackRef, HandleRef, IterArg, leaves, mutables, plain_tensors, \
    rebuild_tensor, send_frame
from course_lib.grading.sandbox import Limits, limit_resources, pick_uid, sandbox_command, student_env

__all__ = ["StudentProcess", "Judge", "RemoteObject", "RemoteModule", "StudentTimeout", "StudentDied",
           "answer_names", "referenced_names"]

MAX_REPLY = wire.MAX_BYTES


class StudentTimeout(RuntimeError):
    """The student's code ran past the time limit (it was interrupted or stopped)."""


class StudentDied(RuntimeError):
    """The student's process died (its code crashed it, exhausted a limit, or broke the protocol)."""


# ---------------------------------------------------------------- the student's process

class StudentProcess:
    """One student process (sandboxed unless ``sandbox=False``) and the pipes to it.

    Args:
        work: the working folder (a copy of the submission's folder); the student's code may write there.
        sandbox: run inside bubblewrap as a throw-away user (the default everywhere it can be set up).
        cache_files: trained-model files the student's code may read (shown read-only in its cache).
        limits: resource limits inside the sandbox.
        log: where the process's own stdout/stderr go (not the student's prints: those come back per call).
    """

    def __init__(self, work: Path, *, sandbox: bool = True, cache_files: Sequence[Path] = (),
                 limits: Limits | None = None, log: Path | None = None):
        self.work, self.sandbox, self.cache_files = Path(work), sandbox, list(cache_files)
        self.limits = limits or Limits()
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.events: list[tuple[str, str]] = []   # ("refused"|"suspicious", detail), in order
        self.on_callback: Callable[[dict], dict] | None = None
        self.resolve: Callable[[dict], Any] = lambda node: node
        self.uid: int | None = None
        self._uid_lock: Any = None

    def start(self, timeout: float = 180.0) -> None:
        r_in, w_in = os.pipe()    # grader -> student
        r_out, w_out = os.pipe()  # student -> grader
        argv = [sys.executable, "-m", "course_lib.grading.student", str(r_in), str(w_out)]
        logf: Any = open(self.log, "ab") if self.log else subprocess.DEVNULL
        try:
            if self.sandbox:
                if os.geteuid() == 0:
                    self.uid, self._uid_lock = pick_uid()
                    self._own_work(self.uid)
                cmd = sandbox_command(self.uid, argv, work=self.work, cache_files=self.cache_files,
                                      env=student_env(self.uid or os.getuid()))
                self.proc = subprocess.Popen(cmd, pass_fds=(r_in, w_out), stdin=subprocess.DEVNULL, stdout=logf,
                                             stderr=logf, preexec_fn=lambda: limit_resources(self.limits))
            else:
                env = dict(os.environ)
                env.update({k: v for k, v in student_env(0).items() if k not in ("HOME", "USER", "COURSE_CACHE",
                                                                                  "PATH")})
                self.proc = subprocess.Popen(argv, pass_fds=(r_in, w_out), stdin=subprocess.DEVNULL, stdout=logf,
                                             stderr=logf, cwd=self.work, env=env, start_new_session=True)
        finally:
            os.close(r_in)
            os.close(w_out)
            if logf is not subprocess.DEVNULL:
                logf.close()
        self.w: int | None = w_in
        self.r: int | None = r_out
        ready = self._read(time.monotonic() + timeout)
        if not ready.get("ready"):
            self.kill()
            raise StudentDied(f"the student process did not start: {ready}")

    def _own_work(self, uid: int) -> None:
        for root, dirs, files in os.walk(self.work):
            for name in dirs + files:
                os.lchown(os.path.join(root, name), uid, uid)
        os.chown(self.work, uid, uid)
        os.chmod(self.work, 0o700)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def request(self, msg: dict, timeout: float) -> dict:
        """Send ``msg``; answer the student's callbacks and collect its events until the reply comes."""
        w = self.w
        if not self.alive() or w is None:
            raise StudentDied("the student process is not running")
        try:
            send_frame(w, self._pickle(msg))
        except (BrokenPipeError, OSError) as exc:
            self.kill()
            raise StudentDied(f"the student process is gone ({exc})") from None
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get("op") == "callback" and self.on_callback is not None:
                answer = self.on_callback(reply)
                send_frame(w, self._pickle(answer))
                continue
            return reply

    def _pickle(self, msg: dict) -> bytes:
        buf = io.BytesIO()
        _GraderPickler(buf, self).dump(msg)
        return buf.getvalue()

    def _read(self, deadline: float) -> dict:
        """The next message that is not an event (events are recorded on the way)."""
        interrupted = False
        r = self.r
        if r is None:
            raise StudentDied("the student process is not running")
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                if not interrupted and self.alive():
                    self.interrupt()
                    interrupted, deadline = True, time.monotonic() + 5.0
                    continue
                self.kill()
                raise StudentTimeout("ran past the time limit and was stopped")
            ready = select.select([r], [], [], min(left, 1.0))[0]
            if not ready:
                if not self.alive():
                    self.kill()
                    raise StudentDied("the student process died")
                continue
            try:
                frame = _recv(r)
                msg = wire.decode(frame, resolve=self.resolve)
            except Exception as exc:  # noqa: BLE001 - whatever it sent, it is the student's process that failed
                self.kill()
                raise StudentDied(f"the student process died or broke the protocol ({exc})") from None
            if not isinstance(msg, dict):
                self.kill()
                raise StudentDied("the student process sent something that is not a message")
            if "event" in msg:
                if len(self.events) < 1000:
                    self.events.append((str(msg.get("event")), str(msg.get("detail"))[:500]))
                continue
            if interrupted:
                raise StudentTimeout("ran past the time limit and was interrupted")
            return msg

    def interrupt(self) -> None:
        """SIGINT to the student's Python (a ``KeyboardInterrupt`` in the running code)."""
        for p in self._processes():
            try:  # the Python inside (bwrap and setpriv carry the same words on their command lines)
                if p.name().startswith("python") and "course_lib.grading.student" in " ".join(p.cmdline()):
                    p.send_signal(signal.SIGINT)
            except Exception:  # noqa: BLE001 - the process may be gone already
                pass

    def _processes(self) -> list:
        import psutil

        if self.proc is None:
            return []
        try:
            return [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
        except psutil.Error:
            return []

    def kill(self) -> None:
        """End the student process and everything it started (the sandbox's whole PID namespace)."""
        if self.proc is None:
            return
        procs = self._processes()
        if not self.sandbox:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        for p in procs:
            with contextlib.suppress(Exception):
                p.kill()
        with contextlib.suppress(Exception):
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.sandbox and self.uid is not None:
            _kill_uid(self.uid)
        if self._uid_lock is not None:
            self._uid_lock.close()  # the uid is free for another job
            self._uid_lock = None
        for fd in (getattr(self, "w", None), getattr(self, "r", None)):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.w = self.r = None
        self.proc = None

    def close(self) -> None:
        if self.alive():
            with contextlib.suppress(Exception):
                assert self.w is not None and self.proc is not None
                send_frame(self.w, pickle.dumps({"op": "exit"}))
                self.proc.wait(timeout=5)
        self.kill()


def _kill_uid(uid: int) -> None:
    """Kill any process still running as ``uid`` (nothing should be: the PID namespace is gone)."""
    import psutil

    for p in psutil.process_iter(["uids"]):
        try:
            if p.info["uids"].real == uid:
                p.kill()
        except (psutil.Error, AttributeError):
            pass


def _recv(fd: int) -> bytes:
    from course_lib.grading.protocol import recv_frame

    return recv_frame(fd, MAX_REPLY)


class _GraderPickler(pickle.Pickler):
    """Pickles the grader's messages: proxies as handle ids, the grader's own functions as callbacks,
    tensors as detached leaves (with their flags), iterators as their items."""

    def __init__(self, file: io.BytesIO, student: StudentProcess):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.student = student
        self._raw: set[int] = set()
        self._keep: list = []

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, RemoteObject):
            return ("handle", obj._hid)
        if isinstance(obj, CallbackRef):
            return ("callback", (obj.id, obj.name))
        return None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, torch.Tensor) and id(obj) not in self._raw:
            data = obj.detach().cpu().clone()
            grad = obj.grad.detach().cpu().clone() if obj.is_leaf and obj.grad is not None else None
            self._raw.update(id(t) for t in (data, grad) if t is not None)
            self._keep += [data, grad]  # their ids stay unique while pickling
            return rebuild_tensor, (data, obj.requires_grad, isinstance(obj, torch.nn.Parameter), grad)
        return NotImplemented


# ---------------------------------------------------------------- proxies

class RemoteObject:
    """An object of the student's (a function, a class, an instance) that lives in the student process.

    Calling it calls it there; reading an attribute reads it there (plain data comes back as data,
    anything else as another proxy). Names starting with ``_`` are not forwarded.
    """

    def __init__(self, judge: "Judge", hid: int, type_name: str, is_callable: bool):
        object.__setattr__(self, "_judge", judge)
        object.__setattr__(self, "_hid", hid)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_callable", is_callable)
        object.__setattr__(self, "_owner", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        owner = self._owner
        return self._judge.call(HandleRef(self._hid), args, kwargs, modules=[owner] if owner is not None else [])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        value = self._judge.getattr(self._hid, name)
        if isinstance(value, RemoteObject) and value._owner is None:
            object.__setattr__(value, "_owner", self._owner)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"the grader does not set attributes on the student's {self._type}")

    def __iter__(self) -> Iterator[Any]:
        it = self._judge.call_method(self, "__iter__")
        while True:
            try:
                yield self._judge.call_method(it, "__next__")
            except StopIteration:
                return

    def __len__(self) -> int:
        n = self._judge.call_method(self, "__len__")
        if type(n) is not int:
            raise TypeError("__len__ did not return an int")
        return n

    def __getitem__(self, key: Any) -> Any:
        return self._judge.call_method(self, "__getitem__", key)

    def __repr__(self) -> str:
        return f"<the student's {self._type} (in the student process)>"


class RemoteModule(RemoteObject):
    """A student's ``nn.Module``: its parameters are mirrored here as ordinary ``nn.Parameter`` objects,
    so a test can set them (``with torch.no_grad(): m.w.copy_(...)``), run a backward pass and read
    ``m.w.grad``; the mirror is sent before and read back after every call that involves the module."""

    def __init__(self, judge: "Judge", hid: int, type_name: str):
        super().__init__(judge, hid, type_name, True)
        object.__setattr__(self, "_owner", self)
        object.__setattr__(self, "_prefix", "")
        object.__setattr__(self, "_params", {})
        object.__setattr__(self, "_pulled", False)

    # the root of a module tree holds the mirror; submodules share it under a prefix
    def _adopt(self, root: "RemoteModule", prefix: str) -> None:
        object.__setattr__(self, "_owner", root)
        object.__setattr__(self, "_prefix", prefix)

    def _mirror(self) -> dict[str, torch.nn.Parameter]:
        root = self._owner
        if not root._pulled:
            root._pull()
        return root._params

    def _pull(self) -> None:
        state = self._judge.request({"op": "module_state", "handle": self._hid})
        params = self._params
        with torch.no_grad():
            for name, value in state["params"].items():
                rg = bool(state["requires_grad"].get(name, True))
                p = params.get(name)
                if p is None or p.shape != value.shape or p.dtype != value.dtype:
                    if p is None:
                        params[name] = p = torch.nn.Parameter(value.detach().clone(), requires_grad=rg)
                    else:
                        p.data = value.detach().clone()
                else:
                    p.copy_(value)
                p.requires_grad_(rg)
                p.grad = state["grads"].get(name)
        for gone in set(params) - set(state["params"]):
            del params[gone]
        object.__setattr__(self, "_pulled", True)

    def _push(self) -> None:
        params = self._mirror()
        self._judge.request({"op": "load_params", "handle": self._hid, "params": {
            n: (p.detach(), p.requires_grad, p.grad) for n, p in params.items()}})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        mirror = self._mirror()
        full = self._prefix + name
        if full in mirror:
            return mirror[full]
        value = self._judge.getattr(self._hid, name)
        if isinstance(value, RemoteModule) and value._owner is value:
            value._adopt(self._owner, full + ".")
        elif isinstance(value, RemoteObject) and value._owner is None:
            object.__setattr__(value, "_owner", self._owner)
        return value

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, torch.nn.Parameter]]:
        for n, p in self._mirror().items():
            if n.startswith(self._prefix):
                yield prefix + n[len(self._prefix):], p

    def parameters(self, recurse: bool = True) -> Iterator[torch.nn.Parameter]:
        for _, p in self.named_parameters():
            yield p

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            p.grad = None


class _RemoteGrad(torch.autograd.Function):
    """Makes a student call differentiable: backward asks the student process for the input gradients."""

    @staticmethod
    def forward(ctx: Any, link: dict, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        ctx.link = link
        return tuple(t.detach().clone() for t in link["outputs"])

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        link = ctx.link
        got = link["judge"].request({"op": "backward", "graph": link["graph"], "grads": list(grads)})
        if "error" in got:
            raise _rebuild(got["error"])
        in_grads = list(got["grads"])
        return (None, *[g if g is None else g.to(i.dtype) for g, i in zip(in_grads, link["inputs"])])


# ---------------------------------------------------------------- the judge

def answer_names(solution_sources: list[str]) -> set[str]:
    """The top-level names the assignment's answer cells define (functions, classes, variables)."""
    names: set[str] = set()
    for src in solution_sources:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for t in targets:
                    names |= {n.id for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def referenced_names(code: types.CodeType) -> set[str]:
    """Every name ``code`` (and the functions it defines) may look up globally."""
    out: set[str] = set()
    todo = [code]
    while todo:
        c = todo.pop()
        out.update(c.co_names)
        todo += [k for k in c.co_consts if isinstance(k, types.CodeType)]
    return out


def _rebuild(info: Any) -> BaseException:
    """The student's exception, as the nearest built-in exception class (so ``except ValueError`` works)."""
    if not isinstance(info, dict):
        return RuntimeError("the student's code failed")
    mro = [m for m in info.get("mro", []) if isinstance(m, str)]
    cls: type[BaseException] = RuntimeError
    for name in mro:
        c = getattr(builtins, name, None)
        if isinstance(c, type) and issubclass(c, Exception) and c is not Exception:
            cls = c
            break
    else:
        if "KeyboardInterrupt" in mro:
            cls = StudentTimeout
    exc = cls(str(info.get("message", "")))
    tb = str(info.get("traceback", ""))
    if tb and hasattr(exc, "add_note"):
        exc.add_note("in your code:\n" + tb)
    return exc


class Judge:
    """Runs one notebook: the student's cells in a student process, the tests here.

    Args:
        start_student: makes a fresh, started :class:`StudentProcess` (called again after a crash).
        answers: the names the answer cells define (see :func:`answer_names`).
        cell_timeout: seconds one cell (a test cell: all its calls together) may take.
    """

    def __init__(self, start_student: Callable[[], StudentProcess], answers: set[str], cell_timeout: float = 120.0):
        self._start = start_student
        self.answers = set(answers)
        self.cell_timeout = float(cell_timeout)
        self.ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        self.student: StudentProcess | None = None
        self.replay: list[str] = []          # the student's cells that ran to the end, in order
        self.flags: list[str] = []           # suspicious events, for the instructor
        self._refusals: list[dict] = []
        self._callbacks: dict[int, Callable] = {}
        self._remotes: dict[int, RemoteObject] = {}
        self._deadline = 0.0
        self._broken = ""                    # why the student process cannot be started, once it could not

    # -- the student process
    def _ensure_student(self) -> StudentProcess:
        if self.student is None or not self.student.alive():
            if self.student is not None:
                self._collect_events()
                self.student.kill()
            self._remotes = {}
            if self._broken:
                raise StudentDied(self._broken)
            try:
                s = self._start()
            except Exception as exc:  # noqa: BLE001 - e.g. the sandbox broke: every later cell fails at once
                self._broken = f"the student process could not start: {exc}"
                raise StudentDied(self._broken) from None
            s.resolve, s.on_callback = self._resolve, self._callback
            self.student = s
            for src in self.replay:     # the state the next cells expect
                with contextlib.suppress(StudentTimeout, StudentDied):
                    s.request({"op": "cell", "source": src}, timeout=self.cell_timeout)
        return self.student

    def request(self, msg: dict) -> dict:
        left = max(self._deadline - time.monotonic(), 0.5)
        try:
            return self._ensure_student().request(msg, timeout=left)
        except (StudentTimeout, StudentDied):
            raise

    def _collect_events(self) -> list[str]:
        s = self.student
        if s is None:
            return []
        refused = [d for k, d in s.events if k == "refused"]
        self.flags += [d for k, d in s.events if k == "suspicious"]
        s.events.clear()
        return refused

    def _resolve(self, node: dict) -> Any:
        if node.get("t") != "handle" or type(node.get("id")) is not int:
            raise wire.WireError(f"unexpected node {node.get('t')!r}")
        hid = node["id"]
        obj = self._remotes.get(hid)
        if obj is None:
            type_name = str(node.get("type", "object"))[:100]
            obj = RemoteModule(self, hid, type_name) if node.get("module") is True else \
                RemoteObject(self, hid, type_name, node.get("callable") is True)
            self._remotes[hid] = obj
        return obj

    def _callback(self, msg: dict) -> dict:
        cid = msg.get("id")
        fn = self._callbacks.get(cid) if isinstance(cid, int) else None
        if fn is None:
            return {"op": "callback_result", "error": {"type": "RuntimeError", "mro": ["RuntimeError"],
                                                       "message": "unknown callback"}}
        args, kwargs = msg.get("args", []), msg.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            return {"op": "callback_result", "error": {"type": "TypeError", "mro": ["TypeError"],
                                                       "message": "bad callback arguments"}}
        try:
            return {"op": "callback_result", "value": fn(*args, **kwargs)}
        except Exception as exc:  # noqa: BLE001 - the grader's replacement failed: report it to the caller
            return {"op": "callback_result", "error": {"type": type(exc).__name__,
                                                       "mro": [c.__name__ for c in type(exc).__mro__],
                                                       "message": str(exc)}}

    def _as_callback(self, fn: Callable) -> CallbackRef:
        cid = len(self._callbacks) + 1
        self._callbacks[cid] = fn
        return CallbackRef(cid, getattr(fn, "__name__", "callback"))

    # -- what the tests do with the student's objects
    def call(self, target: HandleRef | str, args: tuple, kwargs: dict, modules: list | None = None) -> Any:
        """Call the student's function ``target`` with the test's arguments; see the module docstring."""
        args2, kwargs2 = self._outgoing(list(args)), {k: self._outgoing(v) for k, v in kwargs.items()}
        tracked = list(mutables((args2, kwargs2)))
        involved = [m for m in (modules or []) if m is not None]
        involved += [self._remotes[r.id] for r in _handle_refs((args2, kwargs2))
                     if isinstance(self._remotes.get(r.id), RemoteModule)]
        roots = list({id(m._owner): m._owner for m in involved}.values())
        for m in roots:
            m._push()
        spec = _merge(self._refusals)
        self._collect_events()
        reply = self.request({"op": "call", "target": target, "args": args2, "kwargs": kwargs2,
                              "rng": torch.get_rng_state(), "grad": torch.is_grad_enabled(), "refuse": spec,
                              "modules": [m._hid for m in roots]})
        refused = self._collect_events() + [h for h in reply.get("refused", []) if isinstance(h, str)]
        if isinstance(reply.get("rng"), torch.Tensor) and reply["rng"].dtype == torch.uint8:
            with contextlib.suppress(RuntimeError):
                torch.set_rng_state(reply["rng"])
        self._apply_mutations(tracked, reply.get("mut", []))
        for m in roots:
            m._pull()
        out = reply.get("out", "")
        if isinstance(out, str) and out:
            print(out, end="" if out.endswith("\n") else "\n")
        if refused:
            raise RuntimeError(f"{guards.REFUSED_MESSAGE} ({refused[0]})")
        if "error" in reply:
            raise _rebuild(reply["error"])
        value = reply.get("value")
        graph = reply.get("graph")
        if type(graph) is int:
            value = self._differentiable(value, graph, tracked, roots)
        return value

    def call_method(self, obj: RemoteObject, name: str, *args: Any) -> Any:
        method = self.getattr(obj._hid, name)
        if not isinstance(method, RemoteObject):
            raise TypeError(f"{name} of the student's {obj._type} is not callable")
        owner = obj._owner
        return self.call(HandleRef(method._hid), args, {}, modules=[owner] if owner is not None else [])

    def getattr(self, hid: int, name: str) -> Any:
        reply = self.request({"op": "getattr", "handle": hid, "name": name})
        if "error" in reply:
            raise _rebuild(reply["error"])
        return reply.get("value")

    def _outgoing(self, x: Any) -> Any:
        """The test's argument as it travels: iterators as items, the grader's functions as callbacks."""
        if isinstance(x, RemoteObject) or isinstance(x, (torch.Tensor, torch.nn.Module, torch.Generator)):
            return x
        if isinstance(x, (types.FunctionType, types.MethodType, types.LambdaType)) or \
                type(x).__name__ == "partial":
            return self._as_callback(x)
        if isinstance(x, list):
            return [self._outgoing(v) for v in x]
        if type(x) is tuple:
            return tuple(self._outgoing(v) for v in x)
        if type(x) is dict:
            return {k: self._outgoing(v) for k, v in x.items()}
        if isinstance(x, (types.GeneratorType, Iterator)) and not isinstance(x, (str, bytes)):
            return IterArg([self._outgoing(v) for v in x])
        return x

    @staticmethod
    def _apply_mutations(tracked: list, muts: Any) -> None:
        if not isinstance(muts, list):
            return
        for m in muts:
            if not (isinstance(m, tuple) and len(m) == 4 and type(m[0]) is int and 0 <= m[0] < len(tracked)):
                continue
            i, kind, data, grad = m
            t = tracked[i]
            if kind == "generator" and isinstance(t, torch.Generator) and isinstance(data, torch.Tensor):
                with contextlib.suppress(RuntimeError):
                    t.set_state(data)
            elif kind == "tensor" and isinstance(t, torch.Tensor) and isinstance(data, torch.Tensor):
                with torch.no_grad(), contextlib.suppress(RuntimeError):
                    if t.shape == data.shape and t.dtype == data.dtype:
                        if not torch.equal(t, data):
                            t.copy_(data)
                    else:
                        t.data = data
                if grad is None or isinstance(grad, torch.Tensor):
                    with contextlib.suppress(RuntimeError, TypeError):
                        t.grad = grad

    def _differentiable(self, value: Any, graph: int, tracked: list, roots: list) -> Any:
        outs = [t for t in plain_tensors(value) if t.requires_grad]
        inputs = [t for t in tracked if isinstance(t, torch.Tensor) and t.requires_grad] + \
            [p for m in roots for p in m.parameters() if p.requires_grad]
        if not outs or not inputs:
            return value
        link = {"judge": self, "graph": graph, "outputs": outs, "inputs": inputs}
        new = _RemoteGrad.apply(link, *inputs)
        swap = {id(o): n for o, n in zip(outs, new)}
        return _swap_tensors(value, swap)

    # -- the guards, under the judge
    @contextlib.contextmanager
    def refusing(self, spec: dict) -> Iterator[None]:
        self._refusals.append(spec)
        try:
            yield
        finally:
            self._refusals.remove(spec)

    @contextlib.contextmanager
    def replacing(self, replacements: dict[str, Any]) -> Iterator[None]:
        done = []
        try:
            for name, fn in replacements.items():
                self.request({"op": "bind", "name": name, "function": self._as_callback(fn)})
                done.append(name)
            yield
        finally:
            for name in done:
                with contextlib.suppress(StudentTimeout, StudentDied):
                    self.request({"op": "bind", "name": name, "function": None})

    # -- cells
    def run_student_cell(self, source: str) -> list[dict]:
        """Run one of the student's cells in the student process; its outputs (stdout, error)."""
        self._deadline = time.monotonic() + self.cell_timeout
        try:
            reply = self.request({"op": "cell", "source": source})
        except StudentTimeout:
            return [_error("CellTimeout", f"the cell ran past the time limit of {self.cell_timeout:.0f} s and "
                                          "was stopped (the cells after it still ran)")]
        except StudentDied as exc:
            return [_error("KernelDied", f"the cell stopped the Python process ({exc}); it was restarted for "
                                         "the cells after it")]
        self.replay.append(source)
        outs = []
        if isinstance(reply.get("out"), str) and reply["out"]:
            outs.append(_stream(reply["out"]))
        if "error" in reply and isinstance(reply["error"], dict):
            e = reply["error"]
            outs.append(_error(str(e.get("type", "Error")), str(e.get("message", "")),
                               str(e.get("traceback", "")).splitlines()[-30:]))
        return outs

    def run_setup_cell(self, source: str) -> list[dict]:
        """A locked set-up cell: run in the student process and here."""
        outs = self.run_student_cell(source)
        return outs + self._exec_here(source, label="set-up cell")

    def run_test_cell(self, source: str) -> list[dict]:
        """A test cell: run here, against proxies of the student's answers."""
        return self._exec_here(source, label="test cell", bind=True)

    def _exec_here(self, source: str, label: str, bind: bool = False) -> list[dict]:
        self._deadline = time.monotonic() + self.cell_timeout
        out = io.StringIO()
        error = None
        try:
            code = compile(source, f"<{label}>", "exec")
        except SyntaxError as exc:
            return [_error("SyntaxError", str(exc))]
        try:
            if bind:
                self._bind_answers(code)
            guards._JUDGE = self
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out), warnings.catch_warnings():
                warnings.showwarning = _writer(out)
                exec(code, self.ns)  # noqa: S102 - the instructor's test code, never the student's
        except BaseException as exc:  # noqa: BLE001 - any failure fails this item only
            error = exc
        finally:
            guards._JUDGE = None
            self._callbacks.clear()
            if self.student is not None and self.student.alive():
                with contextlib.suppress(StudentTimeout, StudentDied):
                    self.request({"op": "release"})
        outs = [_stream(out.getvalue())] if out.getvalue() else []
        if error is not None:
            outs.append(_error(type(error).__name__, str(error), _test_traceback(error, source, label)))
        return outs

    def _bind_answers(self, code: types.CodeType) -> None:
        for name in sorted(referenced_names(code) & self.answers):
            reply = self.request({"op": "lookup", "name": name})
            if reply.get("found") is True:
                self.ns[name] = reply.get("value")
            else:
                self.ns.pop(name, None)

    def run_notebook(self, cells: list[dict]) -> None:
        """Run every code cell of ``cells`` (nbformat cell dicts, in order), filling in their outputs."""
        for cell in cells:
            if cell.get("cell_type") != "code":
                continue
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                outs = self.run_test_cell(cell["source"])
            elif meta.get("locked") and not meta.get("solution"):
                outs = self.run_setup_cell(cell["source"])
            else:
                outs = self.run_student_cell(cell["source"])
            cell["outputs"] = outs
        self._collect_events()

    def close(self) -> None:
        if self.student is not None:
            self._collect_events()
            self.student.close()
            self.student = None


def _handle_refs(x: Any) -> list[HandleRef]:
    """The student's objects that ``x`` (the grader's arguments) refers to."""
    out: list[HandleRef] = []
    for v in leaves(x):
        if isinstance(v, RemoteObject):
            out.append(HandleRef(v._hid))
        elif isinstance(v, IterArg):
            out += _handle_refs(v.items)
    return out


def _swap_tensors(x: Any, swap: dict[int, torch.Tensor]) -> Any:
    if isinstance(x, torch.Tensor):
        return swap.get(id(x), x)
    if isinstance(x, list):
        return [_swap_tensors(v, swap) for v in x]
    if type(x) is tuple:
        return tuple(_swap_tensors(v, swap) for v in x)
    if type(x) is dict:
        return {k: _swap_tensors(v, swap) for k, v in x.items()}
    return x


def _merge(specs: list[dict]) -> dict:
    merged: dict[str, list] = {"codes": [], "c_names": [], "ops": []}
    for s in specs:
        for k in merged:
            merged[k] += [v for v in s.get(k, []) if v not in merged[k]]
    return merged


def _writer(out: io.StringIO) -> Callable[..., None]:
    """A ``warnings.showwarning`` that writes into ``out`` (the test's output, never stderr)."""
    def show(msg: Warning | str, cat: type[Warning], fn: str, ln: int, file: Any = None, line: str | None = None
             ) -> None:
        out.write(warnings.formatwarning(msg, cat, fn, ln, line))
    return show


def _stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def _error(ename: str, evalue: str, tb: list[str] | None = None) -> dict:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": tb or [f"{ename}: {evalue}"]}


def hidden_lines(source: str) -> set[int]:
    """Line numbers (1-based) inside ``### BEGIN HIDDEN TESTS`` ... ``### END HIDDEN TESTS``."""
    hidden, inside = set(), False
    for i, line in enumerate(source.splitlines(), 1):
        if "### BEGIN HIDDEN TESTS" in line:
            inside = True
        if inside:
            hidden.add(i)
        if "### END HIDDEN TESTS" in line:
            inside = False
    return hidden


def _test_traceback(exc: BaseException, source: str, label: str) -> list[str]:
    """Where in the test cell it failed -- without showing lines of hidden tests."""
    lines = source.splitlines()
    hidden = hidden_lines(source)
    out = []
    for fs in traceback.extract_tb(exc.__traceback__):
        if fs.filename == f"<{label}>":
            if fs.lineno in hidden:
                out.append(f"  {label}, line {fs.lineno} (a hidden test)")
            elif fs.lineno and 0 < fs.lineno <= len(lines):
                out.append(f"  {label}, line {fs.lineno}: {lines[fs.lineno - 1].strip()}")
    notes = getattr(exc, "__notes__", None) or []
    return ["Traceback (test cell):", *out, f"{type(exc).__name__}: {exc}", *notes]


def run_judged(cells: list[dict], work: Path, answers: set[str], *, sandbox: bool, cell_timeout: float,
               cache_files: Sequence[Path] = (), limits: Limits | None = None, log: Path | None = None) -> list[str]:
    """Run a notebook's ``cells`` judged (outputs filled in place); returns the review flags raised."""
    def start() -> StudentProcess:
        s = StudentProcess(work, sandbox=sandbox, cache_files=cache_files, limits=limits, log=log)
        s.start()
        return s

    judge = Judge(start, answers, cell_timeout=cell_timeout)
    saved = torch.get_rng_state(), torch.get_default_dtype(), torch.is_grad_enabled()
    try:
        torch.manual_seed(0)
        judge.run_notebook(cells)
    finally:
        judge.close()
        torch.set_rng_state(saved[0])
        torch.set_default_dtype(saved[1])
        torch.set_grad_enabled(saved[2])
    return judge.flags


def scratch_work_dir(prefix: str = "course-judge-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
