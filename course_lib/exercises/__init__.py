"""Exercises inside the lectures: a fixed check for each, and a worked solution a learner can open.

A lecture's write-it-yourself exercise is a function the learner fills in, followed by one line::

    def my_ppmi(counts):
        # YOUR CODE HERE
        raise NotImplementedError

    check("L1.ppmi", my_ppmi)        # prints ✓/✗ lines; stuck? show_solution("L1.ppmi")

``check`` runs the learner's function on a small fixed input with a known answer and compares it with
:func:`course_lib.check.compare` (``exact`` / ``close: max abs diff …`` / what is wrong):

* an untouched exercise (it raises ``NotImplementedError`` or returns ``None``) prints "not attempted
  yet" and does **not** raise, so Run All works on a fresh notebook;
* a wrong answer raises ``AssertionError`` with the failing line (like an assignment's visible test);
* a right one prints its ✓ lines.

Each exercise is registered once, in ``course_lib/exercises/<lecture>.py``, with its check, its worked
solution and at least one plausible wrong answer; ``tests/test_exercises.py`` proves for every exercise
that the check passes the solution and rejects each wrong answer, so a check can never be a no-op.
Exercises never give away an assignment item (that test checks it too).
"""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Exercise", "register", "get", "all_exercises", "check", "show_solution", "NotAttempted"]

_REGISTRY: dict[str, Exercise] = {}


class NotAttempted(Exception):
    """Raised inside a check when the learner's function is still the stub."""


@dataclass(frozen=True)
class Exercise:
    """One write-it-yourself exercise.

    Attributes:
        id: ``"L<lecture>.<name>"``, e.g. ``"L1.ppmi"``.
        title: one line, shown when the check runs.
        run_check: ``run_check(answer)`` calls the learner's function on fixed inputs and checks the results
            with ``compare`` (raising ``AssertionError`` on a wrong value).
        solution: a worked solution (a function with the same signature as the learner's).
        wrong: plausible wrong answers that ``run_check`` must reject (tested).
    """

    id: str
    title: str
    run_check: Callable[[Callable[..., Any]], None]
    solution: Callable[..., Any]
    wrong: tuple[Callable[..., Any], ...] = field(default_factory=tuple)


def register(id: str, title: str, *, solution: Callable[..., Any], wrong: tuple[Callable[..., Any], ...]
             ) -> Callable[[Callable[[Callable[..., Any]], None]], Callable[[Callable[..., Any]], None]]:
    """Decorator for a check function: ``@register("L1.ppmi", "PPMI from counts", solution=..., wrong=(...))``."""
    if not wrong:
        raise ValueError(f"exercise {id!r}: give at least one wrong answer that the check must reject")

    def deco(run_check: Callable[[Callable[..., Any]], None]) -> Callable[[Callable[..., Any]], None]:
        if id in _REGISTRY:
            raise ValueError(f"exercise {id!r} is registered twice")
        _REGISTRY[id] = Exercise(id, title, run_check, solution, tuple(wrong))
        return run_check
    return deco


def _load_all() -> None:
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")


def get(exercise_id: str) -> Exercise:
    """The exercise with this id (``KeyError`` naming the known ids if there is none)."""
    if exercise_id not in _REGISTRY:
        _load_all()
    if exercise_id not in _REGISTRY:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(f"no exercise {exercise_id!r}; known: {known}")
    return _REGISTRY[exercise_id]


def all_exercises() -> list[Exercise]:
    """Every registered exercise, sorted by id."""
    _load_all()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def _guarded(answer: Callable[..., Any]) -> Callable[..., Any]:
    """The learner's function, with the stub (``NotImplementedError`` / ``None``) turned into ``NotAttempted``."""
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            out = answer(*args, **kwargs)
        except NotImplementedError:
            raise NotAttempted from None
        if out is None:
            raise NotAttempted
        return out
    return call


def check(exercise_id: str, answer: Callable[..., Any]) -> None:
    """Check the learner's ``answer`` for exercise ``exercise_id`` and print what happened:
    every check passed, not attempted yet (the stub is still there), or -- raised -- what is wrong.

    Raises:
        AssertionError: a check failed (the message says which and by how much).
    """
    ex = get(exercise_id)
    if not callable(answer):
        raise TypeError(f"check({exercise_id!r}, ...) expects your function, got {type(answer).__name__}")
    print(f"Exercise {ex.id}: {ex.title}")
    try:
        ex.run_check(_guarded(answer))
    except NotAttempted:
        print(f"  not attempted yet: fill in the function above, then run this cell again "
              f"(stuck? show_solution({ex.id!r}))")
        return
    except AssertionError as err:
        raise AssertionError(f"{ex.id}: {err}  (stuck? show_solution({ex.id!r}))") from None
    print("  all checks passed")


def solution_source(exercise_id: str) -> str:
    """The worked solution's source code."""
    return textwrap.dedent(inspect.getsource(get(exercise_id).solution))


def show_solution(exercise_id: str) -> None:
    """Print the worked solution of an exercise (try first: the check tells you what is wrong)."""
    print(f"# A worked solution of exercise {exercise_id}: {get(exercise_id).title}\n")
    print(solution_source(exercise_id))
