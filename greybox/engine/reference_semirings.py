"""Plain-Python provenance semirings for the reference evaluator (one tag per tuple, no torch).

They carry the names of the tensor semirings of ``greybox.semirings`` plus ``proofs``
(every proof, the exact provenance):

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

A proof is a ``frozenset`` of literals ``(fact_id, positive)`` in canonical form
(``greybox.engine.wmc``). ``negate`` of a set of proofs ``P1 v ... v Pn`` is
``AND_i OR_{l in Pi} not l`` expanded to a disjunction one proof at a time, in
the order the tag lists them (ranked for top-k), keeping ``k`` after each step.
The ranking is: probability descending, ties by the encoded literal sequences,
ascending (``wmc.rank_key``). By default the proof semirings also discard proofs
of probability 0 (``not f`` for a certain fact ``f``, ...), which hold in no
possible world; ``drop_impossible=False`` keeps them.

A semiring object is configuration; ``bind(facts)`` gives the one used for an
evaluation (the proof semirings need the facts' probabilities and groups).

Example:
    >>> from types import SimpleNamespace as F
    >>> facts = [F(id=0, probability=0.9, group=0), F(id=1, probability=0.5, group=1)]
    >>> s = TopK(k=2).bind(facts)
    >>> a, b = s.from_fact(facts[0]), s.from_fact(facts[1])
    >>> s.add(b, a)
    (frozenset({(0, True)}), frozenset({(1, True)}))
    >>> [sorted(p) for p in s.negate(s.add(a, b))]
    [[(0, False), (1, False)]]
    >>> round(s.probability(s.add(a, b), facts), 10)
    0.95
"""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import ConfigError
from .wmc import FactWeights, canonical, proof_probability, rank_key, wmc

__all__ = [
    "ReferenceSemiring",
    "Boolean",
    "AddMult",
    "MaxMult",
    "MaxMin",
    "Proofs",
    "TopK",
    "SEMIRINGS",
    "make_semiring",
]


class ReferenceSemiring:
    """The operations the reference evaluator uses; subclasses fill them in."""

    name: str = "semiring"
    #: ``add(a, a) == a``; otherwise the evaluator propagates increments
    idempotent: bool = True

    def bind(self, facts: Sequence) -> "ReferenceSemiring":
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


class Boolean(ReferenceSemiring):
    """Truth values: every input fact holds.

    >>> s = Boolean()
    >>> s.add(False, True), s.mul(True, False), s.negate(True)
    (True, False, False)
    """

    name = "boolean"

    def zero(self) -> bool:
        return False

    def one(self) -> bool:
        return True

    def add(self, a: bool, b: bool) -> bool:
        return a or b

    def mul(self, a: bool, b: bool) -> bool:
        return a and b

    def negate(self, a: bool) -> bool:
        return not a

    def from_fact(self, fact: Any) -> bool:
        return True

    def probability(self, tag: bool, facts: Sequence | None = None) -> float:
        return 1.0 if tag else 0.0


class _Scalar(ReferenceSemiring):
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


class AddMult(_Scalar):
    """Sum-product (not idempotent).

    >>> AddMult().add(0.5, 0.25), AddMult().mul(0.5, 0.25)
    (0.75, 0.125)
    """

    name = "add-mult"
    idempotent = False

    def add(self, a: float, b: float) -> float:
        return a + b

    def mul(self, a: float, b: float) -> float:
        return a * b


class MaxMult(_Scalar):
    """Probability of the most probable derivation (Viterbi).

    >>> MaxMult().add(0.5, 0.25), MaxMult().mul(0.5, 0.25)
    (0.5, 0.125)
    """

    name = "max-mult"

    def add(self, a: float, b: float) -> float:
        return max(a, b)

    def mul(self, a: float, b: float) -> float:
        return a * b


class MaxMin(_Scalar):
    """Fuzzy truth: the strength of the strongest chain.

    >>> MaxMin().add(0.5, 0.25), MaxMin().mul(0.5, 0.25)
    (0.5, 0.25)
    """

    name = "max-min"

    def add(self, a: float, b: float) -> float:
        return max(a, b)

    def mul(self, a: float, b: float) -> float:
        return min(a, b)


class _ProofAlgebra(ReferenceSemiring):
    """Shared by ``Proofs`` and ``TopK``: canonical unions, negation by DNF expansion.

    With ``drop_impossible`` (the default) a proof of probability 0 is discarded like
    an inconsistent one: e.g. ``not f`` for a certain fact ``f``, or ``not a, not b``
    when ``a`` and ``b`` are the heads of a disjunction whose probabilities sum to 1.
    Such a proof holds in no possible world, so dropping it keeps the tuples of a
    deterministic program the same as in the boolean semiring.
    """

    def __init__(self, weights: FactWeights | None = None, drop_impossible: bool = True) -> None:
        self.weights = weights
        self.drop_impossible = drop_impossible
        self._prob_cache: dict[frozenset, float] = {}

    def _w(self) -> FactWeights:
        if self.weights is None:
            raise ValueError(f"{type(self).__name__} must be bound to facts first: semiring.bind(facts)")
        return self.weights

    def _prob(self, proof: frozenset) -> float:
        p = self._prob_cache.get(proof)
        if p is None:
            p = self._prob_cache[proof] = proof_probability(proof, self._w())
        return p

    def _key(self, proof: frozenset) -> tuple:
        return rank_key(proof, self._prob(proof))

    def _possible(self, proof: frozenset) -> bool:
        return not self.drop_impossible or self._prob(proof) > 0.0

    def _products(self, a, b) -> set:
        w = self._w()
        out = set()
        for p in a:
            for q in b:
                u = canonical(p | q, w) if (p and q) else (p or q)
                if u is not None and self._possible(u):
                    out.add(u)
        return out

    def from_fact(self, fact: Any) -> Any:
        proof = frozenset({(int(fact.id), True)})
        return self._make({proof} if self._possible(proof) else set())

    def negate(self, a: Any) -> Any:
        result = self.one()
        for proof in self._ordered(a):
            clause = [frozenset({(f, not pos)}) for f, pos in sorted(proof)]
            result = self.mul(result, self._make(c for c in clause if self._possible(c)))
            if self.is_zero(result):
                break
        return result

    def probability(self, tag: Any, facts: Sequence | None = None) -> float:
        weights = self.weights if facts is None else FactWeights.from_facts(facts)
        if weights is None:
            raise ValueError("probability of a proof tag needs the facts")
        return wmc(tag, weights)

    def ranked(self, tag: Any) -> list:
        """The proofs of a tag, best first."""
        return sorted(tag, key=self._key)

    def _make(self, proofs) -> Any:
        raise NotImplementedError

    def _ordered(self, tag: Any) -> list:
        raise NotImplementedError


class Proofs(_ProofAlgebra):
    """Every proof: exact provenance (``k`` = infinity). Tags are frozensets of proofs.

    >>> from types import SimpleNamespace as F
    >>> facts = [F(id=0, probability=0.5, group=0)]
    >>> s = Proofs().bind(facts)
    >>> sorted(s.negate(s.from_fact(facts[0])))
    [frozenset({(0, False)})]
    """

    name = "proofs"

    def bind(self, facts: Sequence) -> "Proofs":
        return Proofs(FactWeights.from_facts(facts), self.drop_impossible)

    def zero(self) -> frozenset:
        return frozenset()

    def one(self) -> frozenset:
        return frozenset([frozenset()])

    def add(self, a: frozenset, b: frozenset) -> frozenset:
        return a | b

    def mul(self, a: frozenset, b: frozenset) -> frozenset:
        return frozenset(self._products(a, b))

    def _make(self, proofs) -> frozenset:
        return frozenset(proofs)

    def _ordered(self, tag: frozenset) -> list:
        return self.ranked(tag)


class TopK(_ProofAlgebra):
    """The ``k`` most probable proofs; a tag is a tuple of distinct proofs, best first.

    Args:
        k: how many proofs each tuple keeps (>= 1).
        weights: the facts' probabilities and groups (``bind`` sets them).
        drop_impossible: discard proofs of probability 0 (see ``_ProofAlgebra``).
    """

    name = "top-k"

    def __init__(self, k: int = 3, weights: FactWeights | None = None, drop_impossible: bool = True) -> None:
        if k < 1:
            raise ValueError(f"top-k needs k >= 1, got {k}")
        super().__init__(weights, drop_impossible)
        self.k = k

    def bind(self, facts: Sequence) -> "TopK":
        return TopK(self.k, FactWeights.from_facts(facts), self.drop_impossible)

    def zero(self) -> tuple:
        return ()

    def one(self) -> tuple:
        return (frozenset(),)

    def _make(self, proofs) -> tuple:
        return tuple(sorted(set(proofs), key=self._key)[: self.k])

    def add(self, a: tuple, b: tuple) -> tuple:
        return self._make(set(a) | set(b))

    def mul(self, a: tuple, b: tuple) -> tuple:
        return self._make(self._products(a, b))

    def _ordered(self, tag: tuple) -> list:
        return list(tag)

    def __repr__(self) -> str:
        return f"TopK(k={self.k})"


SEMIRINGS = {"boolean": Boolean, "add-mult": AddMult, "max-mult": MaxMult, "max-min": MaxMin, "proofs": Proofs, "top-k": TopK}


def make_semiring(spec: str | ReferenceSemiring, *, k: int = 3) -> ReferenceSemiring:
    """A semiring from its name (``k`` is used by ``top-k``) or the object itself.

    >>> make_semiring("top-k", k=5)
    TopK(k=5)

    Raises:
        ConfigError: for an unknown name.
    """
    if isinstance(spec, ReferenceSemiring):
        return spec
    if spec == "top-k":
        return TopK(k)
    cls = SEMIRINGS.get(spec)
    if cls is None:
        raise ConfigError(
            f"unknown semiring {spec!r}",
            hint=f"use one of {', '.join(sorted(SEMIRINGS))}",
        )
    return cls()
