"""Dense evaluation: relations over small finite domains as semiring tensors ``(B, |D1|, ..., |Dn|)``.

``Engine.run`` takes this path by itself (``representation="auto"``) when the evaluation
qualifies: a semiring with dense kernels (add-mult, max-mult, max-min, boolean), rules
of positive atoms, comparisons and ``is`` arithmetic (negation too, in the idempotent
semirings), and value ranges, computed from the run's inputs, of at most
``domains.MAX_CELLS`` cells per relation and sample. Joins are then tensor contractions,
``is`` an index map with a scatter, and comparisons masks; the result is the sparse
engine's, row for row.

Modules, in the order an evaluation uses them:

* ``qualify``: which programs and semirings qualify; ``DenseUnsupportedError``;
* ``intervals`` and ``domains``: value ranges of arguments and rule variables;
* ``compile``: rule -> dense plan (steps over a factor of live variables);
* ``kernels``: a semiring's ⊕ and ⊗ over tensors;
* ``body``: running a plan; ``evaluate``: the dense representation and its semi-naive rounds,
  driven by the engine's one evaluation skeleton (``greybox.engine.evaluation``); ``result``: rows back.
"""

from __future__ import annotations

__all__ = ["DenseEvaluator", "DenseUnsupportedError"]


def __getattr__(name: str):
    if name == "DenseEvaluator":
        from .evaluate import DenseEvaluator

        return DenseEvaluator
    if name == "DenseUnsupportedError":
        from .qualify import DenseUnsupportedError

        return DenseUnsupportedError
    raise AttributeError(f"module 'greybox.engine.dense' has no attribute {name!r}")
