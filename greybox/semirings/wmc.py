"""Proof literals and exact weighted model counting, in plain Python.

A *literal* is ``(fact_id, positive)``; a *proof* is a ``frozenset`` of literals.
Facts are grouped: facts of one annotated disjunction (or one neural output) share
a group and at most one of them holds; a fact alone in its group is an independent
Bernoulli variable. ``FactWeights`` holds the probability and group of every fact.

Canonical form of a proof (``canonical``): two different positive literals of one
group, or ``f`` with ``not f``, make it inconsistent (``None``); a positive literal
of a group makes the negative literals of the *other* facts of that group redundant,
so they are dropped.

``wmc`` gives the exact probability of a disjunction of proofs by Shannon expansion
over the groups the proofs mention (each branch fixes which fact of the group holds,
or that none of the mentioned ones does), splitting independent components apart
and memoizing sub-problems. The expansion is written once over ``Weights``: the
numbers of ``FactWeights`` here, or the symbols of ``greybox.semirings.symbolic``,
which gives the same count as a polynomial in the facts' probabilities.

Example:
    >>> w = FactWeights((0.5, 0.2, 0.8), (0, 1, 1))   # fact 0 alone; facts 1, 2 one group
    >>> canonical([(1, True), (2, False)], w)           # "1 holds" implies "2 does not"
    frozenset({(1, True)})
    >>> canonical([(1, True), (2, True)], w) is None    # two heads of one group
    True
    >>> round(proof_probability(frozenset({(0, True), (2, False)}), w), 10)
    0.1
    >>> round(wmc([frozenset({(0, True)}), frozenset({(1, True)})], w), 10)   # 1 - 0.5 * 0.8
    0.6
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Sequence

__all__ = [
    "Literal",
    "Proof",
    "FactWeights",
    "canonical",
    "conjoin",
    "proof_probability",
    "encode",
    "rank_key",
    "satisfied",
    "wmc",
    "independent_parts",
    "condition_dnf",
    "Weights",
    "count_models",
]

Literal = tuple[int, bool]
Proof = frozenset  # frozenset[Literal]


@dataclass(frozen=True)
class FactWeights:
    """Probability and group of each input fact, indexed by fact id ``0..F-1``.

    Args:
        probs: probability of each fact (1.0 for a certain fact).
        groups: mutual-exclusion group of each fact.
    """

    probs: tuple[float, ...]
    groups: tuple[int, ...]
    members: dict = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.probs) != len(self.groups):
            raise ValueError(f"FactWeights needs one group per probability, got {len(self.probs)} and {len(self.groups)}")
        members: dict[int, list[int]] = {}
        for f, g in enumerate(self.groups):
            members.setdefault(g, []).append(f)
        object.__setattr__(self, "members", {g: tuple(fs) for g, fs in members.items()})

    @classmethod
    def from_facts(cls, facts: Sequence) -> "FactWeights":
        """Weights of ``InputFact``-like objects (``id``, ``probability`` (None = certain), ``group``).

        The facts must be numbered ``0..F-1`` in order.

        >>> from types import SimpleNamespace as F
        >>> FactWeights.from_facts([F(id=0, probability=None, group=0), F(id=1, probability=0.3, group=1)]).probs
        (1.0, 0.3)
        """
        for i, f in enumerate(facts):
            if f.id != i:
                raise ValueError(f"facts must be numbered 0..F-1 in order; fact {i} has id {f.id}")
        return cls(
            tuple(1.0 if f.probability is None else float(f.probability) for f in facts),
            tuple(int(f.group) for f in facts),
        )


def canonical(literals: Iterable[Literal], weights: FactWeights) -> Proof | None:
    """The canonical form of a set of literals, or ``None`` when it is inconsistent."""
    groups = weights.groups
    positive: dict[int, int] = {}  # group -> the fact of it that holds
    negative: set[int] = set()
    for f, pos in literals:
        if pos:
            g = groups[f]
            held = positive.get(g)
            if held is not None and held != f:
                return None
            positive[g] = f
        else:
            negative.add(f)
    out = {(f, True) for f in positive.values()}
    for f in negative:
        held = positive.get(groups[f])
        if held is None:
            out.add((f, False))
        elif held == f:
            return None
        # else: another fact of the group holds, so "not f" is implied
    return frozenset(out)


def conjoin(a: Proof, b: Proof, weights: FactWeights) -> Proof | None:
    """Canonical union of two canonical proofs (``None`` if inconsistent)."""
    if not a:
        return b
    if not b:
        return a
    return canonical(a | b, weights)


def proof_probability(proof: Iterable[Literal], weights: FactWeights) -> float:
    """Probability of a canonical proof: the product over its groups.

    A group with a positive literal ``f`` contributes ``p(f)``; a group with only
    negative literals ``g1..gm`` contributes ``1 - sum p(gi)``.
    """
    probs, groups = weights.probs, weights.groups
    positive: dict[int, float] = {}
    negative: dict[int, float] = {}
    for f, pos in sorted(proof):
        g = groups[f]
        if pos:
            positive[g] = probs[f]
        else:
            negative[g] = negative.get(g, 0.0) + probs[f]
    out = 1.0
    for g in sorted(set(positive) | set(negative)):
        out *= positive[g] if g in positive else _rest(negative[g])
    return out


def _rest(total: float) -> float:
    """``1 - total``, with rounding noise below 1e-12 taken as 0 (the group always has a fact)."""
    rest = 1.0 - total
    return rest if rest > 1e-12 else 0.0


def encode(proof: Iterable[Literal]) -> tuple[int, ...]:
    """The tensor encoding of a proof: ``f + 1`` / ``-(f + 1)`` per literal, sorted ascending.

    >>> encode({(0, True), (3, False)})
    (-4, 1)
    """
    return tuple(sorted(f + 1 if pos else -(f + 1) for f, pos in proof))


def rank_key(proof: Proof, probability: float) -> tuple:
    """Sort key of the proof ranking: probability descending, then the encoded
    literals lexicographically ascending as if padded with zeros (hence the final 0)."""
    return (-probability, encode(proof) + (0,))


def satisfied(proof: Iterable[Literal], world: frozenset[int] | set[int]) -> bool:
    """Whether ``proof`` holds in the world where exactly the facts ``world`` are true."""
    return all((f in world) == pos for f, pos in proof)


def wmc(proofs: Iterable[Proof], weights: FactWeights) -> float:
    """Exact probability that at least one of ``proofs`` holds (groups honoured).

    >>> w = FactWeights((0.3, 0.6), (0, 0))   # one group: 0.3 :: a ; 0.6 :: b
    >>> round(wmc([frozenset({(0, True)}), frozenset({(1, True)})], w), 10)
    0.9
    >>> round(wmc([frozenset({(0, False)}), frozenset({(1, False)})], w), 10)   # at most one holds
    1.0
    """
    return count_models(proofs, _Numbers(weights))


class Weights:
    """The weights the model count multiplies: numbers (``FactWeights``) or symbols.

    ``fact(f)`` is the weight of "fact ``f`` holds" and ``rest(g, facts)`` that of "none of
    ``facts`` (some facts of group ``g``) holds"; either may be None for a weight that is
    exactly zero, whose branch is skipped. ``one`` and ``zero`` are the constants;
    results are combined with ``+ - *`` only.
    """

    def __init__(self, weights: FactWeights, zero=0.0, one=1.0) -> None:
        self.w, self.zero, self.one = weights, zero, one

    def fact(self, f: int):
        raise NotImplementedError

    def rest(self, g: int, facts: Sequence[int]):
        raise NotImplementedError

    def proof(self, proof: Iterable[Literal]):
        """The weight of one canonical proof: the product over its groups."""
        positive: dict[int, int] = {}
        negative: dict[int, list[int]] = {}
        for f, pos in sorted(proof):
            g = self.w.groups[f]
            if pos:
                positive[g] = f
            else:
                negative.setdefault(g, []).append(f)
        out = self.one
        for g in sorted(set(positive) | set(negative)):
            term = self.fact(positive[g]) if g in positive else self.rest(g, negative[g])
            if term is None:
                return self.zero
            out = out * term
        return out


class _Numbers(Weights):
    """The facts' probabilities, as ``proof_probability`` and ``wmc`` have always counted them."""

    def fact(self, f: int):
        p = self.w.probs[f]
        return p if p > 0.0 else None

    def rest(self, g: int, facts: Sequence[int]):
        rest = _rest(sum(self.w.probs[f] for f in facts))
        return rest if rest > 0.0 else None

    def proof(self, proof: Iterable[Literal]) -> float:
        return proof_probability(proof, self.w)


def count_models(proofs: Iterable[Proof], weights: Weights):
    """The weighted count of the worlds where at least one of ``proofs`` holds, in ``weights``.

    >>> count_models([frozenset({(0, True)}), frozenset({(1, True)})], _Numbers(FactWeights((0.5, 0.5), (0, 1))))
    0.75
    """
    dnf = frozenset(proofs)
    if not dnf:
        return weights.zero
    if frozenset() in dnf:
        return weights.one
    return _Counter(weights).count(_absorb(dnf))


def _absorb(dnf: frozenset) -> frozenset:
    """Drop proofs that contain another proof (their models are already counted)."""
    ordered = sorted(dnf, key=len)
    kept: list[frozenset] = []
    for p in ordered:
        if not any(q <= p for q in kept):
            kept.append(p)
    return frozenset(kept)


class _Counter:
    """Shannon expansion over groups with component splitting and memoization."""

    def __init__(self, weights: Weights) -> None:
        self.weights = weights
        self.w = weights.w
        self.memo: dict[frozenset, object] = {}

    def count(self, dnf: frozenset):
        one = self.weights.one
        if not dnf:
            return self.weights.zero
        if frozenset() in dnf:
            return one
        if len(dnf) == 1:
            (p,) = dnf
            return self.weights.proof(p)
        hit = self.memo.get(dnf)
        if hit is not None:
            return hit
        comps = self._components(dnf)
        if len(comps) > 1:
            miss = one
            for c in comps:
                miss *= one - self.count(c)
            out = one - miss
        else:
            out = self._expand(dnf)
        self.memo[dnf] = out
        return out

    def _components(self, dnf: frozenset) -> list[frozenset]:
        groups = self.w.groups
        return independent_parts(dnf, lambda p: [groups[f] for f, _ in p])

    def _expand(self, dnf: frozenset):
        groups = self.w.groups
        freq = Counter(groups[f] for p in dnf for f, _ in p)
        g = max(sorted(freq), key=lambda x: freq[x])
        mentioned = sorted({f for p in dnf for f, _ in p if groups[f] == g})
        total = self.weights.zero
        # branch: fact f of group g holds (so every other fact of g does not)
        for f in mentioned:
            weight = self.weights.fact(f)
            if weight is None:
                continue
            total += weight * self.count(self._condition(dnf, g, f))
        # branch: none of the mentioned facts of g holds
        rest = self.weights.rest(g, mentioned)
        if rest is not None:
            total += rest * self.count(self._condition(dnf, g, None))
        return total

    def _condition(self, dnf: frozenset, g: int, holds: int | None) -> frozenset:
        return condition_dnf(dnf, g, holds, self.w.groups)


def independent_parts(items: Iterable, groups_of) -> list[frozenset]:
    """``items`` split into parts that share no group of facts (union-find over the groups).

    Parts are independent: the probability of a disjunction (or conjunction) over them
    factorises, which keeps exact counting polynomial where proofs do not interact.

    Args:
        items: the proofs (or constraints), each touching the groups ``groups_of(item)`` (not empty).
        groups_of: the groups of facts an item reads.

    Returns:
        The parts, in the order of their first item.

    >>> [sorted(part) for part in independent_parts(["ab", "c", "bd"], lambda s: list(s))]
    [['ab', 'bd'], ['c']]
    """
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    first: dict = {}
    for item in items:
        gs = list(groups_of(item))
        root = find(gs[0])
        first[item] = root
        for g in gs[1:]:
            r = find(g)
            if r != root:
                parent[r] = root
    parts: dict = {}
    for item, root in first.items():
        parts.setdefault(find(root), set()).add(item)
    return [frozenset(p) for p in parts.values()]


def condition_dnf(dnf: frozenset, group: int, holds: int | None, groups) -> frozenset:
    """The proofs ``dnf`` once the facts of ``group`` are fixed: ``holds`` is the one that holds (or None).

    A proof that needs another choice of the group is dropped; the others lose the group's
    literals. A proof left with no literal holds outright: the result is then the set of the empty proof.

    >>> groups = {1: 0, 2: 0, 3: 1}
    >>> sorted(map(sorted, condition_dnf(frozenset({frozenset({(1, True), (3, True)}), frozenset({(2, True)})}), 0, 1, groups)))
    [[(3, True)]]
    >>> condition_dnf(frozenset({frozenset({(2, True)})}), 0, 2, groups)
    frozenset({frozenset()})
    """
    out = set()
    for proof in dnf:
        keep = []
        for f, pos in proof:
            if groups[f] != group:
                keep.append((f, pos))
            elif (f == holds) != pos:
                break
        else:
            if not keep:
                return frozenset([frozenset()])
            out.add(frozenset(keep))
    return frozenset(out)
