"""What crosses from a student's process to the grader: plain data in a format that runs no code.

The grader never unpickles anything a student's process sends. Values come as a JSON tree (tagged
nodes) followed by the raw bytes of tensors and arrays, and are rebuilt here with **exact** types:
a ``str`` subclass whose ``__eq__`` always says yes arrives as a plain ``str`` holding its characters, a
tensor subclass as a plain ``torch.Tensor`` holding its numbers. Anything that is not plain data (a
function, a module, a generator, an object of the student's own class) stays in the student's process
and is sent as a *handle* (``{"t": "handle", "id": ...}``) that the grader resolves to a proxy.

``encode`` runs in the student's process, ``decode`` in the grader's. ``decode`` checks every node and
refuses anything malformed or too large with :class:`WireError`.
"""
from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

__all__ = ["WireError", "encode", "decode", "MAX_BYTES"]

MAX_BYTES = 512 * 2**20  # one message: more than any test needs, less than what could hurt the grader
_MAX_DEPTH = 64

_TORCH_DTYPES = {str(d).removeprefix("torch."): d for d in (
    torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.int16,
    torch.int8, torch.uint8, torch.bool, torch.complex64, torch.complex128)}
_NUMPY_KINDS = "biufc"  # bool, int, uint, float, complex: no objects, no strings


class WireError(ValueError):
    """A message from a student's process that is not well-formed plain data."""


# ---------------------------------------------------------------- student side: encode

def encode(obj: Any, handle: Callable[[Any], dict] | None = None) -> bytes:
    """Bytes for ``obj``: a JSON tree of tagged nodes, then the raw buffers it refers to.

    ``handle(x)`` is called for anything that is not plain data and must return a JSON-able dict
    (``{"t": "handle", ...}``); without it such values raise ``TypeError``.
    """
    buffers: list[bytes] = []
    tree = _enc(obj, buffers, handle, 0, set())
    head = json.dumps(tree, allow_nan=True).encode()
    return struct.pack("<QI", len(head), len(buffers)) + head + b"".join(
        struct.pack("<Q", len(b)) + b for b in buffers)


def _enc(x: Any, buffers: list[bytes], handle: Callable[[Any], dict] | None, depth: int, seen: set[int]) -> Any:
    if depth > _MAX_DEPTH:
        raise TypeError("the value is nested too deeply")
    if x is None or type(x) is bool:
        return x
    if isinstance(x, bool):  # not reachable (bool cannot be subclassed), kept for clarity
        return bool(x)
    if isinstance(x, int) and not isinstance(x, np.generic):
        return {"t": "int", "v": str(int.__index__(x))}
    if isinstance(x, float) and not isinstance(x, np.generic):
        return {"t": "float", "v": float.__repr__(float(x))}
    if isinstance(x, str):  # a str subclass (numpy's str_ too) travels as the characters it holds
        return {"t": "str", "v": str.__str__(x)}
    if isinstance(x, (bytes, bytearray)):
        buffers.append(bytes(x))
        return {"t": "bytes", "b": len(buffers) - 1}
    if isinstance(x, torch.Tensor):
        return _enc_tensor(x, buffers)
    if isinstance(x, (np.ndarray, np.generic)):
        arr = np.asarray(x)
        if arr.dtype.kind not in _NUMPY_KINDS:
            if arr.dtype.kind == "U":  # numpy strings: as a list of str
                return {"t": "nplist", "shape": list(arr.shape), "v": [str(s) for s in arr.reshape(-1)]}
            return handle(x) if handle else _refuse(x)
        buffers.append(np.ascontiguousarray(arr).tobytes())
        return {"t": "ndarray", "dtype": arr.dtype.str, "shape": list(arr.shape), "b": len(buffers) - 1,
                "scalar": isinstance(x, np.generic)}
    if isinstance(x, torch.dtype):
        return {"t": "dtype", "v": str(x).removeprefix("torch.")}
    if isinstance(x, torch.device):
        return {"t": "device", "v": str(x)}
    if isinstance(x, torch.Size):
        return {"t": "size", "v": [int(d) for d in x]}
    if isinstance(x, (list, tuple, set, frozenset, dict)):
        if id(x) in seen:
            raise TypeError("the value contains itself")
        seen = seen | {id(x)}
        if isinstance(x, dict):
            items = list(dict.items(x))
            return {"t": "dict", "k": [_enc(k, buffers, handle, depth + 1, seen) for k, _ in items],
                    "v": [_enc(v, buffers, handle, depth + 1, seen) for _, v in items]}
        kind = "list" if isinstance(x, list) else "tuple" if isinstance(x, tuple) else \
            "frozenset" if isinstance(x, frozenset) else "set"
        seq = list(list.__iter__(x)) if isinstance(x, list) else list(tuple.__iter__(x)) \
            if isinstance(x, tuple) else list(x)
        return {"t": kind, "v": [_enc(v, buffers, handle, depth + 1, seen) for v in seq]}
    return handle(x) if handle else _refuse(x)


def _refuse(x: Any) -> Any:
    raise TypeError(f"a {type(x).__name__} cannot be sent as plain data")


def _enc_tensor(x: torch.Tensor, buffers: list[bytes]) -> dict:
    with torch._C.DisableTorchFunctionSubclass():
        t = torch.Tensor.detach(x).to("cpu")
        if t.is_sparse:
            t = t.to_dense()
        t = t.contiguous()
        dtype = t.dtype
        name = str(dtype).removeprefix("torch.")
        if name not in _TORCH_DTYPES:
            raise TypeError(f"tensors of dtype {dtype} cannot be sent")
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        buffers.append(raw)
        return {"t": "tensor", "dtype": name, "shape": list(t.shape), "b": len(buffers) - 1,
                "rg": bool(x.requires_grad)}


# ---------------------------------------------------------------- grader side: decode

def decode(data: bytes, resolve: Callable[[dict], Any] | None = None) -> Any:
    """The value ``encode`` made, rebuilt with exact types; handles go to ``resolve(node)``."""
    if len(data) > MAX_BYTES:
        raise WireError(f"message of {len(data)} bytes is over the limit of {MAX_BYTES}")
    try:
        n_head, n_buf = struct.unpack_from("<QI", data, 0)
        pos = 12
        head = data[pos:pos + n_head]
        if len(head) != n_head:
            raise WireError("truncated message")
        pos += n_head
        buffers = []
        for _ in range(n_buf):
            (n,) = struct.unpack_from("<Q", data, pos)
            pos += 8
            buf = data[pos:pos + n]
            if len(buf) != n:
                raise WireError("truncated buffer")
            buffers.append(buf)
            pos += n
        if pos != len(data):
            raise WireError("trailing bytes after the message")
        tree = json.loads(head)
    except (struct.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WireError(f"malformed message: {exc}") from None
    return _dec(tree, buffers, resolve, 0)


def _dec(node: Any, buffers: list[bytes], resolve: Callable[[dict], Any] | None, depth: int) -> Any:
    if depth > _MAX_DEPTH:
        raise WireError("nested too deeply")
    if node is None or type(node) is bool:
        return node
    if type(node) is not dict or type(node.get("t")) is not str:
        raise WireError(f"unexpected node {type(node).__name__}")
    t = node["t"]
    sub = lambda v: _dec(v, buffers, resolve, depth + 1)  # noqa: E731
    if t == "int":
        return int(_str(node["v"]))
    if t == "float":
        return float(_str(node["v"]))
    if t == "str":
        return _str(node["v"])
    if t == "bytes":
        return bytes(_buf(node, buffers))
    if t in ("list", "tuple", "set", "frozenset"):
        items = [sub(v) for v in _list(node["v"])]
        return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[t](items)
    if t == "dict":
        keys, vals = _list(node["k"]), _list(node["v"])
        if len(keys) != len(vals):
            raise WireError("dict keys and values differ in number")
        return {sub(k): sub(v) for k, v in zip(keys, vals)}
    if t == "tensor":
        dtype = _TORCH_DTYPES.get(_str(node["dtype"]))
        if dtype is None:
            raise WireError(f"unknown tensor dtype {node['dtype']!r}")
        shape = _shape(node["shape"])
        raw = _buf(node, buffers)
        numel = math.prod(shape)
        itemsize = torch.empty((), dtype=dtype).element_size()
        if len(raw) != numel * itemsize:
            raise WireError(f"tensor of shape {shape} and dtype {dtype} needs {numel * itemsize} bytes, got {len(raw)}")
        if numel == 0:
            out = torch.empty(shape, dtype=dtype)
        else:
            out = torch.frombuffer(bytearray(raw), dtype=torch.uint8).view(dtype).reshape(shape).clone()
        return out.requires_grad_(True) if node.get("rg") is True and out.is_floating_point() else out
    if t == "ndarray":
        dt = np.dtype(_str(node["dtype"]))
        if dt.kind not in _NUMPY_KINDS:
            raise WireError(f"array dtype {dt} is not allowed")
        shape = _shape(node["shape"])
        raw = _buf(node, buffers)
        if len(raw) != math.prod(shape) * dt.itemsize:
            raise WireError("array buffer size does not match its shape")
        arr = np.frombuffer(raw, dtype=dt).reshape(shape).copy()
        return arr[()] if node.get("scalar") is True else arr
    if t == "nplist":
        return np.array([_str(s) for s in _list(node["v"])]).reshape(_shape(node["shape"]))
    if t == "dtype":
        d = _TORCH_DTYPES.get(_str(node["v"]))
        if d is None:
            raise WireError(f"unknown dtype {node['v']!r}")
        return d
    if t == "device":
        return torch.device(_str(node["v"]))
    if t == "size":
        return torch.Size(_shape(node["v"]))
    if resolve is not None:
        return resolve(node)
    raise WireError(f"unknown node type {t!r}")


def _str(v: Any) -> str:
    if type(v) is not str:
        raise WireError("expected a string")
    return v


def _list(v: Any) -> list:
    if type(v) is not list:
        raise WireError("expected a list")
    return v


def _shape(v: Any) -> tuple[int, ...]:
    if type(v) is not list or not all(type(d) is int and 0 <= d < 2**40 for d in v):
        raise WireError("bad shape")
    return tuple(v)


def _buf(node: dict, buffers: list[bytes]) -> bytes:
    b = node.get("b")
    if type(b) is not int or not 0 <= b < len(buffers):
        raise WireError("bad buffer reference")
    return buffers[b]
