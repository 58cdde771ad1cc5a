"""Sets of proofs in plain Python: the exact provenance (``ProofsScalar``) and what top-k shares with it.

A proof is a ``frozenset`` of literals ``(fact_id, positive)`` in canonical form
(``greybox.semirings.wmc``). ``negate`` of a set of proofs ``P1 v ... v Pn`` is
``AND_i OR_{l in Pi} not l`` expanded to a disjunction one proof at a time, in
the order the tag lists them (ranked for top-k), keeping ``k`` after each step.
The ranking is: probability descending, ties by the encoded literal sequences,
ascending (``wmc.rank_key``). By default the proof semirings also discard proofs
of probability 0 (``not f`` for a certain fact ``f``, ...), which hold in no
possible world; ``drop_impossible=False`` keeps them.

Example:
    >>> from types import SimpleNamespace as F
    >>> facts = [F(id=0, probability=0.9, group=0), F(id=1, probability=0.5, group=1)]
    >>> s = ProofsScalar().bind(facts)
    >>> a, b = s.from_fact(facts[0]), s.from_fact(facts[1])
    >>> [sorted(p) for p in s.ranked(s.add(b, a))]
    [[(0, True)], [(1, True)]]
    >>> [sorted(p) for p in s.negate(s.add(a, b))]
    [[(0, False), (1, False)]]
    >>> round(s.probability(s.add(a, b), facts), 10)
    0.95
"""

from __future__ import annotations

from typing import Any, Sequence

from .scalar import ScalarSemiring
from .wmc import FactWeights, canonical, proof_probability, rank_key, wmc

__all__ = ["ProofSetScalar", "ProofsScalar"]


class ProofSetScalar(ScalarSemiring):
    """Shared by ``ProofsScalar`` and ``TopKScalar``: canonical unions, negation by DNF expansion.

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


class ProofsScalar(ProofSetScalar):
    """Every proof: exact provenance (``k`` = infinity). Tags are frozensets of proofs.

    >>> from types import SimpleNamespace as F
    >>> facts = [F(id=0, probability=0.5, group=0)]
    >>> s = ProofsScalar().bind(facts)
    >>> sorted(s.negate(s.from_fact(facts[0])))
    [frozenset({(0, False)})]
    """

    name = "proofs"

    def bind(self, facts: Sequence) -> "ProofsScalar":
        return ProofsScalar(FactWeights.from_facts(facts), self.drop_impossible)

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
