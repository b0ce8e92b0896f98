"""Models the lectures build by hand and reuse: one module per family.

Hand-built cells use the slides' names (``W``, ``U``, ``b``, ``V``, ``c``) and
their docstrings say which PyTorch weight each one is.
"""
