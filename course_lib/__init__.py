"""course_lib: the shared library of the RNN course kit.

Every lecture and assignment imports from here instead of redefining helpers.
Submodules (one idea each):

- ``course_lib.env``       device choice, seeding, a one-line environment report
- ``course_lib.check``     ``compare()`` for student-facing checks
- ``course_lib.data``      vocabularies, tokenising, offline corpora, batching
- ``course_lib.models``    hand-built cells and models that lectures reuse
- ``course_lib.train``     ``fit()``: the trainer (clipping, bf16, checkpoints, live plot)
- ``course_lib.evaluate``  word similarity, analogies, bits per character
- ``course_lib.viz``       the plots the lectures share
- ``course_lib.grading``   the ``course`` command and nbgrader helpers
"""
from __future__ import annotations

__version__ = "0.1.0"

from course_lib.check import compare
from course_lib.env import choose_device, env_report, seed_everything

__all__ = ["compare", "choose_device", "env_report", "seed_everything", "__version__"]
