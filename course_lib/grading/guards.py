"""Context managers the assignments' hidden tests use.

- :func:`refuse_reference` makes sure an answer computes its result itself instead of calling a
  library version (``torch.nn``, ``course_lib``) that does it.
- :func:`graded_alone` grades each question on its own: the functions of *earlier* questions are
  replaced by correct versions, so a mistake is never counted twice.

Both act on the namespace of the caller (the notebook's globals) unless one is given.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["refuse_reference", "graded_alone"]

REFUSED_MESSAGE = ("this question asks you to write the computation yourself; "
                   "your function called a library function that does it for you")


def refuse_reference(*targets: tuple[Any, str], namespace: dict[str, Any] | None = None
                     ) -> contextlib.AbstractContextManager[None]:
    """While active, calling any of ``targets`` -- pairs ``(object, attribute name)``, e.g.
    ``(torch.nn.functional, "cosine_similarity")`` -- raises ``RuntimeError``.

    Names in ``namespace`` (default: the caller's globals) bound to the same objects, such as
    ``from torch.nn.functional import cosine_similarity as cs``, are refused too.
    """
    for t in targets:
        if not (isinstance(t, tuple) and len(t) == 2 and isinstance(t[1], str)):
            raise TypeError(f"targets are (object, attribute name) pairs, got {t!r}")
    ns = namespace if namespace is not None else sys._getframe(1).f_globals
    return _refuse(targets, ns)


@contextlib.contextmanager
def _refuse(targets: tuple[tuple[Any, str], ...], ns: dict[str, Any]) -> Iterator[None]:
    originals = [getattr(owner, name) for owner, name in targets]

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(REFUSED_MESSAGE)

    aliases = {k: v for k, v in ns.items() if any(v is o for o in originals)}
    for owner, name in targets:
        setattr(owner, name, refused)
    ns.update({k: refused for k in aliases})
    try:
        yield
    finally:
        for (owner, name), original in zip(targets, originals):
            setattr(owner, name, original)
        ns.update(aliases)


def graded_alone(namespace: dict[str, Any] | None = None, **replacements: Any
                 ) -> contextlib.AbstractContextManager[None]:
    """While active, the named functions (in ``namespace``, default the caller's globals) are
    replaced by ``replacements``; afterwards the student's own versions are put back."""
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
