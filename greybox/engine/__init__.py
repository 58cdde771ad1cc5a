"""The rule engine: a tensor evaluator for training and serving, and a plain-Python reference.

``Engine`` (tensors, batched, any device, differentiable) is what models use;
``greybox.engine.reference`` is the small ground-truth evaluator that tests compare
against and that ``greybox query`` uses. Importing this package does not import torch;
the tensor engine's names load on first use.
"""

from __future__ import annotations

__all__ = ["Engine", "InputFacts", "EvalResult", "Limits", "DenseUnsupportedError"]


def __getattr__(name: str):
    if name == "DenseUnsupportedError":
        from .dense.qualify import DenseUnsupportedError

        return DenseUnsupportedError
    if name in __all__:
        from . import engine

        return getattr(engine, name)
    raise AttributeError(f"module 'greybox.engine' has no attribute {name!r}")
