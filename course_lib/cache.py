"""The course cache: where built things are kept, what their files are called, and how they are written.

Everything the course builds once and reuses -- processed corpora, trained word vectors, the
biLM, a lecture's trained model -- is a file in :func:`cache_dir`. Four small pieces, used by all:

- :func:`cache_dir`: ``$COURSE_CACHE``, else ``$XDG_CACHE_HOME/rnn-course``, else ``~/.cache/rnn-course``;
- :func:`fingerprint`: a short stable hash of the settings a file was built with;
- :func:`atomic_save` / :func:`atomic_write`: write to a temporary file next to the target, then
  rename it over the target, so an interrupt or a crash never leaves a half-written file (and a
  reader never sees one);
- :func:`cached`: load the file if it is there and readable, else build the value and save it.

**The cache-version rule.** Every cached file carries a ``version`` in its name; bump it when the
code that builds the file changes what it contains, and old files are simply no longer found.
A file that depends on settings is ``<name>_<fingerprint(settings + {"v": version})><suffix>``
(:func:`cache_file`); one that depends on nothing else is ``<name>_v<version><suffix>``.

Torch is imported only when a ``.pt`` file is read or written, so importing this module is cheap.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["cache_dir", "fingerprint", "cache_file", "atomic_write", "atomic_save", "cached"]

T = TypeVar("T")


def cache_dir() -> Path:
    """The user cache directory for processed data and trained models (created if missing)."""
    root = os.environ.get("COURSE_CACHE")
    if root:
        path = Path(root)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
        path = Path(base) / "rnn-course"
    path.mkdir(parents=True, exist_ok=True)
    return path


def fingerprint(obj: object) -> str:
    """A short stable hash of a JSON-able object (used to name cache files): 12 hex digits."""
    return hashlib.sha1(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:12]


def cache_file(name: str, settings: Mapping[str, Any] | None, version: int, suffix: str = ".pt") -> Path:
    """The path of a cached file, by the cache-version rule (see the module docstring).

    Args:
        name: what the file holds, e.g. ``"skipgram"``.
        settings: everything the content depends on (JSON-able), or None.
        version: the version of the code that builds it.
        suffix: the file ending, e.g. ``".pt"`` or ``".json.gz"``.

    >>> cache_file("wiki_sentences", None, 1, ".json.gz").name
    'wiki_sentences_v1.json.gz'
    """
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"version must be a positive int, got {version!r}")
    if settings is None:
        return cache_dir() / f"{name}_v{version}{suffix}"
    if "v" in settings:
        raise ValueError("settings must not have a key 'v': the version is given as version=...")
    return cache_dir() / f"{name}_{fingerprint({**settings, 'v': version})}{suffix}"


def atomic_write(path: str | os.PathLike, write: Callable[[Path], None]) -> None:
    """Write a file atomically: ``write(tmp)`` fills a temporary file next to ``path``, which is then
    renamed over ``path`` (``os.replace``). The folder is created if missing; on an error the
    temporary file is removed and ``path`` is left as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")  # one per process: writers never share it
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save(obj, path)``, atomically (see :func:`atomic_write`)."""
    import torch

    atomic_write(path, lambda tmp: torch.save(obj, tmp))


def _torch_load(path: Path) -> Any:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def cached(name: str, settings: Mapping[str, Any] | None, build: Callable[[], T], *, version: int,
           suffix: str = ".pt", load: Callable[[Path], T] | None = None,
           save: Callable[[T, Path], None] | None = None, read: bool = True, write: bool = True) -> T:
    """Load a value from the cache, or build it and save it there.

    The file is :func:`cache_file` ``(name, settings, version, suffix)``. A file that exists but
    cannot be read (damaged, or written by an incompatible version) is reported, removed and built
    again.

    Args:
        name, settings, version, suffix: name the file (the cache-version rule).
        build: makes the value when the file is missing (or not to be read).
        load: ``load(path) -> value`` (default: ``torch.load`` of tensors and plain containers).
        save: ``save(value, path)`` writing ``path`` (default: ``torch.save``); it is always given a
            temporary path, renamed into place afterwards (atomic).
        read: use an existing file (False: always build, e.g. to retrain).
        write: save what was built (False: keep the cache as it is).

    Returns:
        The loaded or the newly built value.
    """
    path = cache_file(name, settings, version, suffix)
    if read and path.exists():
        try:
            return (load or _torch_load)(path)
        except Exception as exc:  # noqa: BLE001 - a damaged cache file is rebuilt
            print(f"could not read {path} ({type(exc).__name__}: {exc}); building it again")
            path.unlink(missing_ok=True)
    value = build()
    if write:
        if save is None:
            atomic_save(value, path)
        else:
            atomic_write(path, lambda tmp: save(value, tmp))
    return value
