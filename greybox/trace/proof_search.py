"""The k most probable proofs of one tuple of one example, found fast.

An explanation needs the best few proofs of one answer of one example. The tensor
engine's ``top-k`` semiring computes them for every tuple of a whole batch at once,
which costs seconds on a program of a hundred rules (the kinship rules) even for one
small story. For one example the facts are few, so the plain-Python reference
evaluator (``engine.reference``) in the same ``top-k`` algebra is faster, and two
more things make it fast:

* **certain facts stay out of proofs**: a fact of probability 1 holds in every world,
  so naming it adds nothing; proofs that differ only in certain facts (which gender
  fact made a man a father) are one proof, and the k proofs found differ in what is
  uncertain; a proof that contains another one is dropped (it adds nothing to it);
* **improbable facts are left out, as long as that cannot change the answer**: a
  proof is at most as probable as its least probable fact, so when the search among
  the facts of probability ``>= t`` finds ``k`` proofs of probability ``>= t``, they are
  the ``k`` most probable proofs of all. The search starts with a high ``t`` and lowers
  it (by a third, or to the next fact's probability) until that holds, every fact is
  in, the proofs still missing would be less than 1% as probable as the best one, or
  the time budget is spent; the result says which, and how far it is sure;
* **a hint goes first**: the caller may name the facts the answer depends on (in a
  max-product semiring, those with a gradient: the best proof's); a first round among
  them alone finds the best proof in a moment, and when the answer's probability is
  an upper bound on every proof's (max-product), reaching it proves the proof best.

Example:
    >>> from greybox.lang.parser import parse_program
    >>> from greybox.lang.analysis import analyze
    >>> from greybox.engine.reference import all_facts
    >>> info = analyze(parse_program('''
    ...     0.9 :: edge(a, b). 0.8 :: edge(b, c). 0.001 :: edge(a, c). edge(c, d).
    ...     path(X, Y) :- edge(X, Y).
    ...     path(X, Z) :- path(X, Y), edge(Y, Z).
    ... '''))
    >>> found = top_proofs(info, all_facts(info), "path", ("a", "d"), k=2, floor=0.0)
    >>> [(round(p, 3), sorted(proof)) for p, proof in found.proofs], found.exact
    ([(0.72, [(0, True), (1, True)]), (0.001, [(2, True)])], True)
    >>> top_proofs(info, all_facts(info), "path", ("a", "d"), k=1).threshold  # one round: 0.72 >= 0.1
    0.1

    The second proof is less than 1% as probable as the first: by default it is not searched for.

    >>> found = top_proofs(info, all_facts(info), "path", ("a", "d"), k=2)
    >>> len(found.proofs), found.stopped, round(found.threshold, 4)
    (1, 'floor', 0.0072)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal, Sequence

from greybox.engine.reference import evaluate
from greybox.semirings.top_k import TopKScalar
from greybox.semirings.wmc import FactWeights
from greybox.errors import ResourceLimitError

__all__ = ["ProofSearch", "top_proofs"]


@dataclass(frozen=True)
class ProofSearch:
    """The proofs found for one tuple.

    Attributes:
        proofs: ``(probability, literals)`` per proof, most probable first; ``literals`` is a
            frozenset of ``(fact_id, positive)`` naming only uncertain facts.
        threshold: in the last round, facts less probable than this were left out (0.0: none).
        exact: True when ``proofs`` are what this ``top-k`` search gives with every fact in
            (all proofs when there are fewer than ``k``). The first is then the most probable
            proof; like every top-k semiring, the others are the best kept along the way.
        stopped: why the search ended: ``complete`` (exact), ``floor`` (every proof of
            probability ``>= threshold`` is found, and no less probable one was looked for),
            or ``time`` (the budget ran out).
        sure: how many of the first proofs are certainly the most probable ones.
    """

    proofs: list[tuple[float, frozenset]]
    threshold: float
    exact: bool
    stopped: Literal["complete", "floor", "time"] = "complete"
    sure: int = 0


class _UncertainTopK(TopKScalar):
    """``top-k`` where certain facts are ``one``, left-out facts ``zero``, and supersets of a kept proof dropped.

    It also keeps the deadline: the evaluator checks its time budget between rounds,
    which can be long, so ``mul`` looks at the clock every few hundred products.
    """

    def __init__(self, k: int, certain: frozenset[int], left_out: frozenset[int], deadline: float,
                 weights: FactWeights | None = None) -> None:
        super().__init__(k, weights)
        self.certain = certain
        self.left_out = left_out
        self.deadline = deadline
        self._calls = 0

    def bind(self, facts: Sequence) -> "_UncertainTopK":
        return _UncertainTopK(self.k, self.certain, self.left_out, self.deadline, FactWeights.from_facts(facts))

    def _make(self, proofs) -> tuple:
        # absorption: a proof that holds whenever a smaller one does adds nothing (p or (p and q) = p)
        ranked = sorted(set(proofs), key=self._key)
        kept: list[frozenset] = []
        for proof in ranked:
            if not any(small <= proof for small in kept):
                kept.append(proof)
                if len(kept) == self.k:
                    break
        return tuple(kept)

    def mul(self, a: tuple, b: tuple) -> tuple:
        self._calls += 1
        if self._calls % 256 == 0 and time.monotonic() > self.deadline:
            raise ResourceLimitError("the proof search ran past its time budget", hint="raise time_budget_s")
        return super().mul(a, b)

    def from_fact(self, fact: Any) -> Any:
        if fact.id in self.left_out:
            return self.zero()
        if fact.id in self.certain:
            return self.one()
        return super().from_fact(fact)


def _probability(fact: Any) -> float:
    return 1.0 if fact.probability is None else float(fact.probability)


def top_proofs(
    info,
    facts: Sequence,
    relation: str,
    args: Sequence,
    k: int = 3,
    *,
    start: float = 0.1,
    floor: float = 0.01,
    time_budget_s: float = 3.0,
    hint: frozenset[int] | None = None,
    bound: float | None = None,
) -> ProofSearch:
    """The ``k`` most probable proofs of ``relation(args)``.

    Args:
        info: the analysed program.
        facts: every input fact, numbered ``0..F-1`` (``InputFact``-like: ``id``, ``relation``,
            ``args``, ``probability`` (None: certain), ``group``).
        relation, args: the tuple, with argument values as in ``facts``.
        k: how many proofs.
        start: the first threshold (lowered per round).
        floor: proofs less probable than ``floor`` times the best one (or ``start`` while none
            is found) are not searched for.
        time_budget_s: wall-clock seconds for the whole search.
        hint: uncertain facts to search among first, alone (e.g. those the tuple's probability
            depends on): a cheap first round, so that a search cut short still has proofs.
        bound: no proof is more probable than this (e.g. the tuple's probability in a
            max-product semiring); a proof that reaches it is certainly the most probable.

    Returns:
        The proofs found, how many are sure, and why the search stopped.
    """
    certain = frozenset(f.id for f in facts if _probability(f) >= 1.0)
    uncertain = sorted((_probability(f) for f in facts if 0.0 < _probability(f) < 1.0), reverse=True)
    deadline = time.monotonic() + time_budget_s
    threshold = min(start, 1.0)
    goal = tuple(args)
    found = ProofSearch([], threshold, False, "time", 0)

    def run(left_out: frozenset[int]) -> list[tuple[float, frozenset]]:
        model = evaluate(info, semiring=_UncertainTopK(k, certain, left_out, deadline), facts=facts,
                         time_budget_s=max(0.0, deadline - time.monotonic()))
        return [(model.semiring._prob(p), p) for p in model.relations.get(relation, {}).get(goal, ())]

    def reaches_bound(proofs: list) -> int:
        return int(bool(proofs) and bound is not None and proofs[0][0] >= bound * (1 - 1e-6))

    if hint is not None:
        try:
            proofs = run(frozenset(f.id for f in facts if 0.0 < _probability(f) < 1.0 and f.id not in hint))
        except ResourceLimitError:
            return found
        found = ProofSearch(proofs, threshold, False, "time", reaches_bound(proofs))
        if found.sure >= k:
            return ProofSearch(proofs, threshold, True, "complete", found.sure)  # the best proof was all we wanted
        if proofs:
            threshold = min(threshold, proofs[0][0])
    while True:
        if not uncertain or threshold <= uncertain[-1]:
            threshold = 0.0  # every fact is in: the result is exact
        try:
            proofs = run(frozenset(f.id for f in facts if 0.0 < _probability(f) < threshold))
        except ResourceLimitError:
            return found
        if threshold == 0.0 or (len(proofs) >= k and proofs[k - 1][0] >= threshold):
            return ProofSearch(proofs, threshold, True, "complete", len(proofs))
        # a proof left out by the threshold is less probable than it
        sure = max(sum(1 for p, _ in proofs if p >= threshold), reaches_bound(proofs))
        found = ProofSearch(proofs, threshold, False, "time", sure)
        if time.monotonic() >= deadline:
            return found
        # the next threshold lets in at least one more fact, and not many more
        lower = [p for p in uncertain if p < threshold]
        limit = floor * (proofs[0][0] if proofs else start)
        nxt = min(threshold / 3, lower[0]) if lower else 0.0
        if nxt < limit:
            if not [p for p in lower if p >= limit]:
                # no fact between the limit and this threshold: this round found every proof above the limit
                return ProofSearch(proofs, limit, False, "floor", sum(1 for p, _ in proofs if p >= limit))
            nxt = limit
        threshold = nxt
