"""Symbolic provenance in traces: answers' probabilities as polynomials, and the exact why-not.

``answer_polynomials`` finds every proof of the answers of a query with the reference
evaluator (the ``proofs`` semiring) and turns each answer's proofs into a polynomial
over the perceived facts' probabilities (``greybox.semirings.symbolic``).
``symbolic_record`` is the trace's record of one of them.

``exact_changes`` answers "why not Y?" from the polynomials: for one perceived fact
``f`` at a time it solves ``P(Y) = P(Z)`` for ``f``'s probability ``t``, every rival
answer ``Z``, with the other readings of ``f``'s input sharing ``1 - t`` in proportion
(``Polynomial.moved``) and every other fact fixed, and keeps the ``t`` nearest to the
current probability past which ``Y`` beats every rival. The numeric ``why_not``
(``greybox.trace.why_not``) holds the winner fixed and leaves the other readings as they
are, so its change is sufficient but larger; this one is exact for a change of one fact.
Only the rivals given are checked (the trace gives every answer of the query).

Example:
    >>> from greybox.semirings.symbolic import fact_symbols, symbolic_probability
    >>> from greybox.semirings.wmc import FactWeights
    >>> w = FactWeights((0.7, 0.3), (0, 0))                  # one input read as a (0.7) or b (0.3)
    >>> syms = fact_symbols([("r", (0, "a")), ("r", (0, "b"))], w)
    >>> pa, pb = (symbolic_probability([frozenset({(f, True)})], w, syms) for f in (0, 1))
    >>> [(c.symbol, round(c.threshold, 6), c.rival) for c in exact_changes("b", pb, {"a": pa}, {0: ("r(0, a)", None), 1: ("r(0, b)", None)})]
    [('p(r(0)=a)', 0.5, 'a'), ('p(r(0)=b)', 0.5, 'a')]
"""

from __future__ import annotations

import time
from typing import Any, Mapping, Sequence

import numpy as np

from greybox.engine.reference import evaluate
from greybox.errors import ResourceLimitError
from greybox.semirings.proofs import ProofsScalar
from greybox.semirings.symbolic import MAX_SHOWN_TERMS, Polynomial, fact_symbols, symbolic_probability
from greybox.semirings.wmc import FactWeights
from greybox.trace.schema import ExactChange, SymbolicFact, SymbolicProbability

__all__ = ["answer_polynomials", "symbolic_record", "exact_changes", "crossing", "MAX_PROOFS"]

#: the most proofs a tuple may have for symbolic provenance (more would not be read, and fill the memory)
MAX_PROOFS = 256


class _BoundedProofs(ProofsScalar):
    """Every proof, with certain facts as ``one``, within a number of proofs per tuple and a deadline.

    Proofs multiply fast in a program with many uncertain facts (a story with many
    people read by a network); past ``max_proofs`` proofs for any tuple, or past the
    deadline, the evaluation stops with ``ResourceLimitError`` rather than fill the memory.
    """

    def __init__(self, certain: frozenset[int], max_proofs: int, deadline: float, weights: FactWeights | None = None) -> None:
        super().__init__(weights)
        self.certain, self.max_proofs, self.deadline = certain, max_proofs, deadline
        self._calls = 0

    def bind(self, facts: Sequence) -> "_BoundedProofs":
        return _BoundedProofs(self.certain, self.max_proofs, self.deadline, FactWeights.from_facts(facts))

    def from_fact(self, fact: Any) -> frozenset:
        return self.one() if fact.id in self.certain else super().from_fact(fact)

    def _bounded(self, tag: frozenset) -> frozenset:
        if len(tag) > self.max_proofs:
            raise ResourceLimitError(f"a tuple has more than {self.max_proofs} proofs",
                                     hint="symbolic provenance is for answers with few proofs")
        return tag

    def add(self, a: frozenset, b: frozenset) -> frozenset:
        return self._bounded(super().add(a, b))

    def mul(self, a: frozenset, b: frozenset) -> frozenset:
        self._calls += 1
        if self._calls % 64 == 0 and time.monotonic() > self.deadline:
            raise ResourceLimitError("the proofs were not all found in the time budget",
                                     hint="raise the proof time budget (--proof-budget)")
        return self._bounded(super().mul(a, b))

    def _make(self, proofs) -> frozenset:
        return self._bounded(frozenset(proofs))


def answer_polynomials(info, facts: Sequence, relation: str, pattern: Sequence[Any | None], perceived: Sequence[int],
                       *, time_budget_s: float | None = None, max_proofs: int = MAX_PROOFS) -> dict[tuple, Polynomial]:
    """The polynomial of every answer tuple of ``relation`` that fits ``pattern``.

    Args:
        info: the analysed program.
        facts: the input facts, numbered ``0..F-1`` (``InputFact``-like).
        relation: the query's relation.
        pattern: one entry per argument: a value the tuple must have, or None (an answer position).
        perceived: the ids of the facts that become symbols.
        time_budget_s: seconds the proof evaluation may take.
        max_proofs: the most proofs any tuple may have.

    Returns:
        ``{tuple: Polynomial}``.

    Raises:
        ResourceLimitError: the evaluation ran past ``time_budget_s``, or a tuple has more than
            ``max_proofs`` proofs.
    """
    deadline = time.monotonic() + (time_budget_s if time_budget_s is not None else float("inf"))
    certain = frozenset(f.id for f in facts if f.probability is None)
    model = evaluate(info, semiring=_BoundedProofs(certain, max_proofs, deadline), facts=facts,
                     time_budget_s=time_budget_s)
    weights: FactWeights = model.semiring.weights
    atoms = [(f.relation, tuple(f.args)) if f.relation is not None else None for f in model.facts]
    symbols = fact_symbols(atoms, weights, perceived)
    out = {}
    for args, proofs in model.relations.get(relation, {}).items():
        if len(args) == len(pattern) and all(p is None or p == a for p, a in zip(pattern, args)):
            out[args] = symbolic_probability(proofs, weights, symbols)
    return out


def symbolic_record(answer: str, poly: Polynomial) -> SymbolicProbability:
    """The trace's record of one answer's polynomial (the whole of it; renderers collapse it)."""
    used = poly.used()
    return SymbolicProbability(
        answer=answer, expression=poly.text(), display=poly.display(), summary=poly.display(MAX_SHOWN_TERMS),
        terms=len(poly.terms()),
        probability=min(1.0, max(0.0, poly.value())),
        symbols=[SymbolicFact(name=s.name, display=s.display, fact_id=s.fact_id,
                              probability=min(1.0, max(0.0, s.probability))) for s in used],
    )


def crossing(target: Polynomial, rivals: Mapping[str, Polynomial], fact_id: int) -> tuple[float, str] | None:
    """The probability of fact ``fact_id`` nearest its current one past which ``target`` beats every rival.

    Args:
        target: the polynomial of the answer that should win.
        rivals: the polynomials of the other answers, by answer.
        fact_id: the fact whose probability changes (its group follows, ``Polynomial.moved``).

    Returns:
        ``(threshold, rival)``: at ``threshold`` the target ties ``rival`` and a hair past it
        (away from the current probability) wins; None when no probability of this fact makes
        the target win, or it wins already.

    Example:
        >>> from greybox.semirings.symbolic import fact_symbols, symbolic_probability
        >>> w = FactWeights((0.2, 0.5), (0, 1))                   # two independent facts
        >>> syms = fact_symbols([("x", ()), ("y", ())], w)
        >>> px, py = (symbolic_probability([frozenset({(f, True)})], w, syms) for f in (0, 1))
        >>> [(round(t, 9), rival) for t, rival in (crossing(px, {"y": py}, 0), crossing(px, {"y": py}, 1))]
        [(0.5, 'y'), (0.2, 'y')]
    """
    me = target.symbols[fact_id]
    p = me.probability
    # as a function of t, a polynomial of degree at most the most factors of the fact's group in one
    # term (its other facts move with it): sampled at degree + 1 points, it is interpolated exactly
    degree = max([target.group_degree(me.group), *(r.group_degree(me.group) for r in rivals.values()), 1])
    xs = np.linspace(0.0, 1.0, degree + 1)
    moves = [target.moved(fact_id, float(x)) for x in xs]  # the rivals' symbols are the target's
    own = np.array([target.value(m) for m in moves])
    diffs = {}
    for name, rival in rivals.items():
        ys = own - np.array([rival.value(m) for m in moves])
        coeffs = np.polyfit(xs, ys, degree)
        if np.all(np.abs(coeffs) < 1e-12):
            return None  # a tie whatever the probability: the target never beats this rival
        diffs[name] = coeffs
    points = {0.0, 1.0}
    for coeffs in diffs.values():
        if len(coeffs) > 1:
            for root in np.roots(coeffs):
                if abs(root.imag) < 1e-12 and -1e-12 <= root.real <= 1 + 1e-12:
                    points.add(min(1.0, max(0.0, float(root.real))))
    ordered = sorted(points)

    def wins(x: float) -> bool:
        return all(np.polyval(c, x) > 0 for c in diffs.values())

    best = None
    for a, b in zip(ordered, ordered[1:]):
        if b - a > 1e-12 and wins((a + b) / 2):
            if a < p < b:
                return None  # it wins already
            edge = a if p <= a else b
            if best is None or abs(edge - p) < abs(best - p):
                best = edge
    if best is None:
        return None
    rival = min(diffs, key=lambda n: abs(np.polyval(diffs[n], best)))
    return best, rival


def exact_changes(target: str, target_poly: Polynomial, rivals: Mapping[str, Polynomial],
                  changeable: Mapping[int, tuple[str, Any]], *, limit: int = 3) -> list[ExactChange]:
    """The smallest changes of one changeable fact each that make ``target`` win, smallest first.

    Args:
        target: the answer that should win.
        target_poly: its polynomial.
        rivals: every other answer's polynomial (the predicted one among them).
        changeable: the facts that may change, ``{fact_id: (atom, source)}`` (the source is
            copied into the change, or None).
        limit: how many changes to keep.

    Returns:
        ``ExactChange``s, the smallest ``|threshold - probability|`` first (ties: by fact id).
    """
    others = {name: poly for name, poly in rivals.items() if name != target}
    used = {s.fact_id for s in target_poly.used()}
    for poly in others.values():
        used |= {s.fact_id for s in poly.used()}
    found = []
    for f in sorted(used & set(changeable)):
        hit = crossing(target_poly, others, f)
        if hit is None:
            continue
        sym = target_poly.symbols[f]
        atom, source = changeable[f]
        found.append(ExactChange(fact_id=f, atom=atom, symbol=sym.display,
                                 from_probability=min(1.0, max(0.0, sym.probability)),
                                 threshold=hit[0], rival=hit[1], source=source))
    found.sort(key=lambda c: (abs(c.threshold - c.from_probability), c.fact_id))
    return found[:limit]
