"""Exact inference over proofs under constraints: conditional probabilities and the MPE.

A *constraint* is ``(proofs, holds)``: a disjunction of proofs (each a ``frozenset``
of literals ``(fact_id, positive)``, as the ``proofs`` semiring gives them) that must
hold (``holds=True``) or must not. Evidence ``evidence(a, true)`` is the constraint
``(proofs of a, True)``; a query under evidence adds ``(proofs of q, True)``.

``probability(constraints, weights)`` is the weighted model count of the worlds that
satisfy every constraint: ``P(q | e) = probability(q and e) / probability(e)``.
``most_probable(constraints, weights)`` is the most probable such world (the MPE)
restricted to the fact groups the constraints mention, with its weight.

Both run one Shannon expansion over the fact groups (a group is one independent fact,
or the heads of one annotated disjunction, at most one of which holds): each branch
fixes which mentioned fact of the group holds, or that none of them does; constraints
that become true are dropped, and a false one closes the branch. Independent
components (no shared group) multiply; sub-problems are memoised. Sum gives the
probability, max the MPE; in the max, the "none of the mentioned facts" branch takes
the group's best remaining choice (an unmentioned fact, or no fact at all).

Example:
    >>> from greybox.semirings.wmc import FactWeights
    >>> w = FactWeights((0.3, 0.6), (0, 1))               # 0.3 :: a.  0.6 :: b.
    >>> a, b = frozenset({(0, True)}), frozenset({(1, True)})
    >>> round(probability([({a, b}, True)], w), 10)       # P(a or b) = 1 - 0.7 * 0.4
    0.72
    >>> round(probability([({a}, True), ({a, b}, True)], w) / probability([({a, b}, True)], w), 10)
    0.4166666667
    >>> p, world = most_probable([({a, b}, True)], w)      # best world where a or b holds
    >>> round(p, 10), world
    (0.42, {0: None, 1: 1})
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Iterable, Sequence

from greybox.semirings.wmc import FactWeights, condition_dnf, independent_parts
from greybox.errors import ResourceLimitError

__all__ = ["Constraint", "probability", "most_probable", "mentioned_groups"]

#: ``(proofs, holds)``: a disjunction of proofs that must hold (True) or must not (False)
Constraint = tuple[Iterable[frozenset], bool]

_TRUE = frozenset([frozenset()])
_EMPTY: frozenset = frozenset()


def probability(constraints: Sequence[Constraint], weights: FactWeights, *, deadline: float | None = None) -> float:
    """The probability that every constraint is met (each proof set holds, or does not).

    Args:
        constraints: ``(proofs, holds)`` pairs.
        weights: the facts' probabilities and groups.
        deadline: a ``time.monotonic()`` time after which to stop.

    Returns:
        The exact probability, in ``[0, 1]``.

    Raises:
        ResourceLimitError: the deadline passed.

    Example:
        >>> w = FactWeights((0.5, 0.2, 0.3), (0, 1, 1))   # 0.5 :: a.   0.2 :: b ; 0.3 :: c.
        >>> a, b, c = (frozenset({(i, True)}) for i in range(3))
        >>> round(probability([({b}, False), ({a, c}, True)], w), 10)   # not b, and a or c
        0.55
    """
    return _Search(weights, deadline).count(_normalise(constraints))


def most_probable(
    constraints: Sequence[Constraint], weights: FactWeights, *, deadline: float | None = None
) -> tuple[float, dict[int, int | None]]:
    """The most probable assignment of the mentioned groups under which every constraint is met.

    Args:
        constraints: ``(proofs, holds)`` pairs.
        weights: the facts' probabilities and groups.
        deadline: a ``time.monotonic()`` time after which to stop.

    Returns:
        ``(weight, world)``: ``world`` maps each group the constraints mention to the fact
        of it that holds (``None``: none of them); ``weight`` is the product of those
        choices' probabilities (0.0 and ``{}`` when no world meets the constraints).
        Groups the constraints do not mention are free: take each one's best choice.

    Raises:
        ResourceLimitError: the deadline passed.

    Example:
        >>> w = FactWeights((0.4, 0.9), (0, 1))               # 0.4 :: a.  0.9 :: b.
        >>> a, b = frozenset({(0, True)}), frozenset({(1, True)})
        >>> p, world = most_probable([({a}, False), ({b}, False)], w)   # neither a nor b
        >>> round(p, 10), world                                          # 0.6 * 0.1
        (0.06, {0: None, 1: None})
    """
    key = _normalise(constraints)
    if key is None:
        return 0.0, {}
    weight, world = _Search(weights, deadline).best(key)
    return weight, dict(sorted(world.items()))


def mentioned_groups(constraints: Sequence[Constraint], weights: FactWeights) -> set[int]:
    """The groups whose facts occur in the constraints' proofs.

    >>> w = FactWeights((0.5, 0.2, 0.3), (0, 1, 1))
    >>> sorted(mentioned_groups([({frozenset({(2, False)})}, True)], w))
    [1]
    """
    return {weights.groups[f] for proofs, _ in constraints for p in proofs for f, _ in p}


# ---------------------------------------------------------------- the search


def _normalise(constraints: Sequence[Constraint]) -> frozenset | None:
    """The constraints as a set of ``(absorbed dnf, holds)``; ``None`` when one is already violated."""
    out = set()
    for proofs, holds in constraints:
        dnf = _absorb(frozenset(proofs))
        value = _constant(dnf)
        if value is None:
            out.add((dnf, bool(holds)))
        elif value != bool(holds):
            return None
    return frozenset(out)


def _constant(dnf: frozenset) -> bool | None:
    """True (an empty proof: always holds), False (no proof), or None (depends on the facts)."""
    if not dnf:
        return False
    if frozenset() in dnf:
        return True
    return None


def _absorb(dnf: frozenset) -> frozenset:
    """Drop proofs that contain another proof (they add no world)."""
    if frozenset() in dnf:
        return _TRUE
    kept: list[frozenset] = []
    for p in sorted(dnf, key=len):
        if not any(q <= p for q in kept):
            kept.append(p)
    return frozenset(kept)


class _Search:
    def __init__(self, weights: FactWeights, deadline: float | None) -> None:
        self.w = weights
        self.deadline = deadline
        self.sums: dict[frozenset, float] = {}
        self.maxes: dict[frozenset, tuple[float, dict]] = {}

    def _tick(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise ResourceLimitError(
                "exact inference over the proofs took longer than the time allowed",
                hint="raise --timeout, or ask about fewer or less connected facts",
            )

    # -------------------------------------------------------- sum (probability)

    def count(self, cs: frozenset | None) -> float:
        if cs is None:
            return 0.0
        if not cs:
            return 1.0
        hit = self.sums.get(cs)
        if hit is not None:
            return hit
        self._tick()
        comps = self._components(cs)
        if len(comps) > 1:
            out = 1.0
            for c in comps:
                out *= self.count(c)
                if out == 0.0:
                    break
        else:
            out = 0.0
            for weight, _, sub in self._branches(cs, maximise=False):
                if weight > 0.0:
                    out += weight * self.count(sub)
        self.sums[cs] = out
        return out

    # -------------------------------------------------------- max (MPE)

    def best(self, cs: frozenset | None) -> tuple[float, dict]:
        if cs is None:
            return 0.0, {}
        if not cs:
            return 1.0, {}
        hit = self.maxes.get(cs)
        if hit is not None:
            return hit
        self._tick()
        comps = self._components(cs)
        if len(comps) > 1:
            weight, world = 1.0, {}
            for c in comps:
                w, part = self.best(c)
                if w == 0.0:
                    weight, world = 0.0, {}
                    break
                weight *= w
                world.update(part)
            out = (weight, world)
        else:
            out = (0.0, {})
            mentioned = self._groups(cs)
            for weight, (g, choice), sub in self._branches(cs, maximise=True):
                if weight <= out[0]:  # cannot beat the best so far: every sub-result is <= 1
                    continue
                w, part = self.best(sub)
                world = {**part, g: choice}
                if sub is not None and w > 0.0:
                    # groups the branch freed (their constraints became true) take their best value
                    for h in mentioned - self._groups(sub) - {g}:
                        fw, world[h] = self._free(h)
                        w *= fw
                if weight * w > out[0]:
                    out = (weight * w, world)
        self.maxes[cs] = out
        return out

    def _groups(self, cs: frozenset) -> set[int]:
        groups = self.w.groups
        return {groups[f] for dnf, _ in cs for p in dnf for f, _ in p}

    def _free(self, g: int) -> tuple[float, int | None]:
        """The most probable value of a group no constraint restricts: a fact of it, or none."""
        probs = self.w.probs
        members = self.w.members[g]
        options = [(probs[f], f) for f in members] + [(_rest(sum(probs[f] for f in members)), None)]
        return max(options, key=lambda o: o[0])

    # -------------------------------------------------------- shared

    def _components(self, cs: frozenset) -> list[frozenset]:
        groups = self.w.groups
        return independent_parts(cs, lambda c: [groups[f] for p in c[0] for f, _ in p])

    def _branches(self, cs: frozenset, *, maximise: bool):
        """``(weight, (group, choice), conditioned constraints)`` for each value of the busiest group."""
        groups, probs = self.w.groups, self.w.probs
        freq = Counter(groups[f] for dnf, _ in cs for p in dnf for f, _ in p)
        g = max(sorted(freq), key=lambda x: freq[x])
        mentioned = sorted({f for dnf, _ in cs for p in dnf for f, _ in p if groups[f] == g})
        # ranked so that the max search meets its best branch first and prunes the rest
        options: list[tuple[float, int | None]] = [(probs[f], f) for f in mentioned]
        members = self.w.members[g]
        rest = _rest(sum(probs[f] for f in members))
        if maximise:
            others = [(probs[f], f) for f in members if f not in mentioned]
            options.append(max(others + [(rest, None)], key=lambda o: o[0]))
        else:
            options.append((_rest(sum(probs[f] for f in mentioned)), None))
        options.sort(key=lambda o: -o[0])
        for weight, f in options:
            holds = f if f in mentioned else None
            yield weight, (g, f), _condition(cs, g, holds, groups)


def _condition(cs: frozenset, g: int, holds: int | None, groups) -> frozenset | None:
    """The constraints once group ``g`` is fixed (``holds`` is its fact that holds, or None)."""
    out = set()
    for dnf, want in cs:
        kept = condition_dnf(dnf, g, holds, groups)
        true = frozenset() in kept
        if true:
            if not want:
                return None
            continue
        if not kept:
            if want:
                return None
            continue
        out.add((_absorb(frozenset(kept)), want))
    return frozenset(out)


def _rest(total: float) -> float:
    """``1 - total`` with rounding noise below 1e-12 taken as 0."""
    rest = 1.0 - total
    return rest if rest > 1e-12 else 0.0
