"""Models the lectures build by hand and reuse: one module per family.

Hand-built cells use the slides' names (``W``, ``U``, ``b``, ``V``, ``c``) and
their docstrings say which PyTorch weight each one is; what they share (gate views, weight copy
from PyTorch, the masked unroll, ``eval_mode``) is in :mod:`course_lib.models.base`. Every
sequence model takes ``forward(tokens, mask)``; the losses are in :mod:`course_lib.models.losses`.
Models never import the trainer: training recipes live in :mod:`course_lib.recipes`.
"""
