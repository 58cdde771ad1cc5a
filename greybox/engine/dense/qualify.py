"""Which evaluations the dense representation takes: the fragment it computes exactly.

An evaluation qualifies when its semiring has dense kernels (add-mult, max-mult,
max-min, boolean; top-k proofs stay sparse) and every rule of the relations it needs
is made of positive atoms, comparisons and ``is`` arithmetic; negation qualifies in
the idempotent semirings (boolean, max-mult, max-min), where tags never leave
``[0, 1]``. Aggregates do not qualify. Whether the value ranges are small enough is
decided later, from the inputs (``greybox.engine.dense.domains``).

Example:
    >>> from greybox.engine.engine import Engine
    >>> from greybox.semirings import AddMult, TopKProofs
    >>> eng = Engine("q(1). p(X) :- q(X), \\\\+ r(X). r(2).")
    >>> print(static_problem(eng, None, TopKProofs(2)).message)
    semiring top-k has no dense kernels (proofs are kept per tuple)
    >>> print(static_problem(eng, None, AddMult()).message)
    negation under add-mult is not evaluated densely
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from ...errors import ConfigError
from ...lang.ast import Aggregate, Const, Negation
from ...semirings.base import Semiring
from .kernels import kernel_class

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Engine

__all__ = ["DenseUnsupportedError", "static_problem"]

_HINT = "use representation='auto' (falls back to the sparse engine) or 'sparse'"


class DenseUnsupportedError(ConfigError):
    """``representation='dense'`` was asked for an evaluation outside the dense fragment.

    The message says why (the semiring, a literal, or value ranges too large or unbounded)
    and, when a rule is at fault, where it is written.
    """


def _at(node, message: str, hint: str = _HINT) -> DenseUnsupportedError:
    span = getattr(node, "span", None)
    return DenseUnsupportedError(
        message,
        file=getattr(span, "file", None),
        line=getattr(span, "line", None) or None,
        column=getattr(span, "column", None) or None,
        hint=hint,
    )


def _big_constant(node) -> int | None:
    """An integer constant of magnitude at least 2**62 inside ``node`` (a literal), if any."""
    stack = [node]  # depth first, left to right, without recursion (expressions can be very deep)
    while stack:
        node = stack.pop()
        if isinstance(node, Const):
            if isinstance(node.value, int) and abs(node.value) >= 2**62:
                return node.value
            continue
        parts = []
        for name in getattr(node, "__dataclass_fields__", {}):
            if name == "span":
                continue
            value = getattr(node, name)
            parts += [p for p in (value if isinstance(value, tuple) else (value,)) if hasattr(p, "__dataclass_fields__")]
        stack.extend(reversed(parts))
    return None


def static_problem(engine: "Engine", targets: Sequence[str] | None, semiring: Semiring) -> DenseUnsupportedError | None:
    """Why the evaluation cannot be dense, judged from the program alone; None when it may be.

    Args:
        engine: the compiled program.
        targets: the relations asked for (None: all).
        semiring: the evaluation's semiring.

    Returns:
        The error to raise in ``representation='dense'``, or None.
    """
    cls = kernel_class(semiring)
    if cls is None:
        return DenseUnsupportedError(
            f"semiring {semiring.name} has no dense kernels (proofs are kept per tuple)"
            if semiring.name == "top-k" else f"semiring {semiring.name} has no dense kernels",
            hint=_HINT,
        )
    needed = engine.dependencies(targets) if targets is not None else set(engine.arities)
    for rules, names, _ in engine.strata:
        if not (names & needed):
            continue
        for rule in rules:
            for lit in rule.clause.body:
                if isinstance(lit, Aggregate):
                    return _at(lit, f"aggregate {lit.op}{{...}} in a rule of '{rule.clause.head.predicate}' "
                                    "is not evaluated densely")
                big = _big_constant(lit)
                if big is not None:
                    return _at(lit, f"the constant {big} in a rule of '{rule.clause.head.predicate}' is beyond ±2**62, "
                                    "where interval reasoning stops")
                if isinstance(lit, Negation) and not cls.idempotent:
                    return _at(lit, f"negation under {semiring.name} is not evaluated densely",
                               hint="add-mult tags may exceed 1, where the sparse engine drops the negative "
                                    "results of 1 - tag; " + _HINT)
    return None
