"""course_lib: the shared library of the RNN course kit.

Every lecture and assignment imports from here instead of redefining helpers.
Submodules (one idea each):

- ``course_lib.env``       device choice, seeding, a one-line environment report
- ``course_lib.cache``     the course cache: ``cache_dir``, ``fingerprint``, ``atomic_save``, ``cached``
- ``course_lib.check``     ``compare()`` for student-facing checks
- ``course_lib.data``      vocabularies, tokenising, offline corpora, batching, masks, tasks
- ``course_lib.embeddings``  one-hot, lookup, cosine, neighbours, PPMI-SVD vectors (lecture 1)
- ``course_lib.models``    hand-built cells and models the lectures reuse, their losses
- ``course_lib.train``     ``fit()``: the trainer (clipping, bf16, checkpoints, live plot)
- ``course_lib.recipes``   how each pretrained model is trained (on top of models and ``fit``)
- ``course_lib.metrics``   accuracy / precision / recall / F1 (``binary_scores``)
- ``course_lib.contextual``  contextual-similarity analysis of the biLM (lecture 7)
- ``course_lib.formal_languages``  a^n b^n (c^n): strings and what is predictable (lecture 6)
- ``course_lib.generate``  sampling with temperature / top-k, beam search
- ``course_lib.evaluate``  word similarity, analogies
- ``course_lib.seq_metrics``  edit distance, word and phoneme error rates (lecture 8)
- ``course_lib.seq2seq_tasks``  lecture 8's encoder-decoder experiments (train, decode, score)
- ``course_lib.viz``       the plots the lectures share
- ``course_lib.grading``   the ``course`` command and nbgrader helpers

The top-level names below are imported lazily, so ``import course_lib`` (and the ``course``
command) does not pay for importing torch until it is needed.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {"compare": "course_lib.check", "choose_device": "course_lib.env", "env_report": "course_lib.env",
         "seed_everything": "course_lib.env"}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'course_lib' has no attribute {name!r}")
