"""Names a module keeps importable after they moved to another module, imported when first used.

When a function moves to a module *above* its old home (a training recipe that uses the trainer,
an analysis that uses the model), the old home cannot import it eagerly without an import cycle.
Instead it declares the moved names, and Python's module ``__getattr__`` (PEP 562) imports the new
home on first use::

    __getattr__, __dir__ = moved_names(__name__, {"pretrained_bilm": "course_lib.recipes.bilm"})

``from course_lib.models.elmo import pretrained_bilm`` then gives the very same function as
``from course_lib.recipes.bilm import pretrained_bilm``.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["moved_names"]


def moved_names(module: str, moved: Mapping[str, str | tuple[str, str]]
                ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A module's ``(__getattr__, __dir__)`` for names that live elsewhere now.

    Args:
        module: the old home's ``__name__``.
        moved: ``{name: new module}``, or ``{name: (new module, name there)}`` for a renamed one.
    """
    def __getattr__(name: str) -> Any:
        if name in moved:
            target = moved[name]
            home, attr = (target, name) if isinstance(target, str) else target
            return getattr(importlib.import_module(home), attr)
        raise AttributeError(f"module {module!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        import sys

        return sorted({*vars(sys.modules[module]), *moved})

    return __getattr__, __dir__
