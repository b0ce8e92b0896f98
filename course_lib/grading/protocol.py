"""The pieces both sides of a judged grading run share: message framing, the walk that finds the tensors
an argument holds (so that in-place changes can be copied back), and the markers that travel inside
the grader's messages.

Directions: the grader (trusted) sends pickles to the student's process -- the student's process can
only hurt itself by what it unpickles; the student's process sends :mod:`course_lib.grading.wire` data,
which the grader decodes without running any code.
"""
from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["send_frame", "recv_frame", "ProtocolError", "IterArg", "HandleRef", "CallbackRef", "mutables",
           "leaves", "plain_tensors", "rebuild_tensor"]

_LEN = struct.Struct(">Q")


class ProtocolError(RuntimeError):
    """The other side broke the protocol (closed the pipe, sent garbage, or too much)."""


def send_frame(fd: int, payload: bytes) -> None:
    """Write one length-prefixed message to ``fd``."""
    data = _LEN.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def recv_frame(fd: int, limit: int) -> bytes:
    """Read one length-prefixed message from ``fd`` (at most ``limit`` bytes); blocks."""
    head = _read_exact(fd, _LEN.size)
    (n,) = _LEN.unpack(head)
    if n > limit:
        raise ProtocolError(f"a message of {n} bytes is over the limit of {limit}")
    return _read_exact(fd, n)


def _read_exact(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise ProtocolError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


@dataclass
class IterArg:
    """An iterator argument (``model.parameters()``, ``iter([...])``), sent as its items; the student's
    function receives a fresh iterator over them, as it would have in one process."""

    items: list


@dataclass(frozen=True)
class HandleRef:
    """An object that lives in the student's process, referred to by its handle id."""

    id: int


@dataclass(frozen=True)
class CallbackRef:
    """A function that lives in the grader's process; calling it from the student's side asks the grader."""

    id: int
    name: str


def mutables(obj: Any) -> Iterator[torch.Tensor | torch.Generator]:
    """Every tensor (and generator) ``obj`` holds, in a fixed order, each once: the same walk on the
    grader's arguments and on their copies in the student's process gives matching sequences."""
    seen: set[int] = set()

    def walk(x: Any, depth: int) -> Iterator[torch.Tensor | torch.Generator]:
        if depth > 32 or id(x) in seen:
            return
        if isinstance(x, (torch.Tensor, torch.Generator)):
            seen.add(id(x))
            yield x
        elif isinstance(x, torch.nn.Module):
            seen.add(id(x))
            for _, p in x.named_parameters(recurse=True, remove_duplicate=True):
                yield from walk(p, depth + 1)
            for _, b in x.named_buffers(recurse=True, remove_duplicate=True):
                yield from walk(b, depth + 1)
        elif isinstance(x, IterArg):
            yield from walk(x.items, depth + 1)
        elif isinstance(x, (list, tuple)):
            seen.add(id(x))
            for v in x:
                yield from walk(v, depth + 1)
        elif isinstance(x, dict):
            seen.add(id(x))
            for v in x.values():
                yield from walk(v, depth + 1)

    yield from walk(obj, 0)


def leaves(value: Any, depth: int = 32) -> Iterator[Any]:
    """What ``value`` holds inside its lists, tuples and dicts (their values), depth first and in order,
    down to ``depth`` levels; ``value`` itself when it is none of those."""
    if depth < 0:
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from leaves(v, depth - 1)
    elif isinstance(value, dict):
        for v in value.values():
            yield from leaves(v, depth - 1)
    else:
        yield value


def plain_tensors(value: Any) -> list[torch.Tensor]:
    """The tensors of a returned value that travel as data (inside lists, tuples and dicts), in order:
    the outputs a gradient can flow back through."""
    return [x for x in leaves(value) if isinstance(x, torch.Tensor)]


def rebuild_tensor(data: torch.Tensor, requires_grad: bool, parameter: bool, grad: torch.Tensor | None = None
                   ) -> torch.Tensor:
    """How the grader's tensors are rebuilt in the student's process: as leaves, with their flag and grad."""
    t: torch.Tensor
    if parameter:
        t = torch.nn.Parameter(data, requires_grad=requires_grad)
    else:
        t = data.requires_grad_(requires_grad) if data.is_floating_point() or data.is_complex() else data
    if grad is not None:
        t.grad = grad
    return t
