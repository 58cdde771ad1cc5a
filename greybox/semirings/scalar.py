"""The scalar form of a semiring: one plain-Python tag per tuple, for the reference evaluator.

Each family's file defines its scalar form beside its tensor and dense forms
(``BooleanScalar``, ``AddMultScalar``, ``MaxMultScalar``, ``MaxMinScalar``,
``TopKScalar``; ``ProofsScalar`` keeps every proof and has no tensor form) and names it
in its semiring's ``scalar`` attribute. No torch here.

============  ===========================  ==========================================
name          tag                          add / mul
============  ===========================  ==========================================
boolean       ``bool``                     or / and
add-mult      ``float``                    + / *   (not idempotent: increments)
max-mult      ``float``                    max / *
max-min       ``float``                    max / min
proofs        frozenset of proofs          union / pairwise canonical unions
top-k         tuple of <= k proofs, ranked union, keep k / pairwise unions, keep k
============  ===========================  ==========================================

A scalar semiring object is configuration; ``bind(facts)`` gives the one used for an
evaluation (the proof semirings need the facts' probabilities and groups).

Example:
    >>> from greybox.semirings.add_mult import AddMultScalar
    >>> s = AddMultScalar()
    >>> s.add(s.one(), s.negate(0.25)), s.is_zero(s.zero())
    (1.75, True)
"""

from __future__ import annotations

from typing import Any, Sequence

__all__ = ["ScalarSemiring", "ProbabilityScalar"]


class ScalarSemiring:
    """The operations the reference evaluator uses; subclasses fill them in."""

    name: str = "semiring"
    #: ``add(a, a) == a``; otherwise the evaluator propagates increments
    idempotent: bool = True

    def bind(self, facts: Sequence) -> "ScalarSemiring":
        """The semiring to use with these input facts (stateless ones return themselves)."""
        return self

    def zero(self) -> Any:
        raise NotImplementedError

    def one(self) -> Any:
        raise NotImplementedError

    def add(self, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def mul(self, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def negate(self, a: Any) -> Any:
        raise NotImplementedError

    def from_fact(self, fact: Any) -> Any:
        """The tag of an input fact (``InputFact``: ``id``, ``probability``, ``group``)."""
        raise NotImplementedError

    def probability(self, tag: Any, facts: Sequence | None = None) -> float:
        """The probability a tag stands for (truth value 0./1. for boolean)."""
        raise NotImplementedError

    def changed(self, old: Any, new: Any) -> bool:
        """Whether ``new`` differs from ``old`` enough to iterate again."""
        return old != new

    def is_zero(self, tag: Any) -> bool:
        """Whether a tag means "certainly false" (such tuples are not kept)."""
        return tag == self.zero()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ProbabilityScalar(ScalarSemiring):
    """Tags are floats; a certain fact has tag 1.0; ``negate`` is ``1 - a``."""

    tolerance: float = 1e-9

    def zero(self) -> float:
        return 0.0

    def one(self) -> float:
        return 1.0

    def negate(self, a: float) -> float:
        return 1.0 - a

    def from_fact(self, fact: Any) -> float:
        return 1.0 if fact.probability is None else float(fact.probability)

    def probability(self, tag: float, facts: Sequence | None = None) -> float:
        return float(tag)

    def changed(self, old: float, new: float) -> bool:
        return abs(new - old) > self.tolerance * max(abs(new), 1e-30)

    def is_zero(self, tag: float) -> bool:
        return tag <= 0.0
