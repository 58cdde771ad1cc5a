"""An exact, plain-Python forward chainer over :class:`Reading` s: what a read theory entails.

It is the verifier a reader trains against (is this assignment of readings consistent with
the answers?), small and fast for theories of a few dozen sentences. Two semantics:

* **closed world** (RuleTaker): ``not p`` in a condition holds when ``p`` is not derived
  (negation as failure, evaluated stratum by stratum, or by the well-founded model when negation
  goes through recursion); a statement is True when derived,
  a negated statement when its atom is not derived. A conclusion "then it is not p" derives
  the explicit negative fact ``not p`` (which, closed world, answers nothing by itself).
* **open world** (ProofWriter): ``not p`` is a fact of its own, stated or derived (classical
  negation); a statement is True when derived, False when its negation is derived, Unknown
  (``None``) otherwise; both derived is a :class:`~greybox.errors.ContradictionError`.

Variables in a condition that only a negated literal binds range over the theory's constants.

Example:
    >>> from greybox.neural.logical_forms import Literal, Reading
    >>> big, red = Literal("big", ("X",)), Literal("red", ("X",))
    >>> theory = [Reading(Literal("big", ("bob",))), Reading(red, (big,)),
    ...           Reading(Literal("kind", ("X",)), (Literal("red", ("X",), negated=True), Literal("big", ("X",))))]
    >>> answer(theory, Literal("red", ("bob",))), answer(theory, Literal("kind", ("bob",), negated=True))
    (True, True)
    >>> answer(theory, Literal("red", ("ann",)), world="open") is None
    True
"""

from __future__ import annotations

from collections import defaultdict
from itertools import product
from typing import Iterable, Sequence

from ..errors import ContradictionError, StratificationError
from .logical_forms import Literal, Reading, is_variable

__all__ = ["Atom", "entails", "answer"]

#: a ground literal: (negated, predicate, arguments)
Atom = tuple[bool, str, tuple[str, ...]]


def _atom(lit: Literal) -> Atom:
    return (lit.negated, lit.predicate, lit.arguments)


def _strata(rules: Sequence[Reading], closed: bool) -> list[list[Reading]]:
    """Rules grouped so that, closed world, a predicate negated in a condition is complete before it is used."""
    if not closed or not rules:
        return [list(rules)]
    heads = {(r.head.negated, r.head.predicate) for r in rules}
    level: dict[tuple[bool, str], int] = {h: 0 for h in heads}
    for _ in range(len(heads) + 1):
        changed = False
        for r in rules:
            h = (r.head.negated, r.head.predicate)
            need = 0
            for b in r.body:
                key = (False, b.predicate)
                if b.negated:
                    need = max(need, level.get(key, -1) + 1)
                else:
                    need = max(need, level.get(key, 0))
            if need > level[h]:
                level[h] = need
                changed = True
        if not changed:
            return [[r for r in rules if level[(r.head.negated, r.head.predicate)] == s] for s in range(max(level.values()) + 1)]
    raise StratificationError("the theory negates a predicate that depends on itself",
                              hint="closed-world negation needs a stratified theory")


def _matches(body: Sequence[Literal], facts: dict[tuple[bool, str], set[tuple[str, ...]]], constants: set[str],
             closed: bool, blocked: dict[tuple[bool, str], set[tuple[str, ...]]] | None = None
             ) -> Iterable[dict[str, str]]:
    """Every substitution of the body's variables that satisfies it.

    Closed world, ``not p`` holds when ``p`` is not in ``blocked`` (default: not in ``facts``).
    """
    blocked = facts if blocked is None else blocked
    positive = [b for b in body if not (closed and b.negated)]
    negative = [b for b in body if closed and b.negated]
    subs: list[dict[str, str]] = [{}]
    for lit in positive:
        rows = facts.get((lit.negated, lit.predicate), ())
        nxt = []
        for s in subs:
            for row in rows:
                if len(row) != len(lit.arguments):
                    continue
                t = dict(s)
                for a, v in zip(lit.arguments, row):
                    if is_variable(a):
                        if t.setdefault(a, v) != v:
                            break
                    elif a != v:
                        break
                else:
                    nxt.append(t)
        subs = nxt
        if not subs:
            return []
    free = sorted({a for b in negative for a in b.arguments if is_variable(a)} - (set(subs[0]) if subs else set()))
    out = []
    for s in subs:
        for values in product(sorted(constants), repeat=len(free)):
            t = {**s, **dict(zip(free, values))}
            if all(tuple(t.get(a, a) for a in b.arguments) not in blocked.get((False, b.predicate), ()) for b in negative):
                out.append(t)
    return out


def entails(theory: Sequence[Reading], world: str = "closed", well_founded: bool = True) -> set[Atom]:
    """Every literal the theory derives (facts, then rules to a fixpoint, stratum by stratum).

    Closed world, a theory whose negation goes through recursion has no strata; it is answered
    by its well-founded model (what the task's program answers too), or, with
    ``well_founded=False``, refused.

    Raises:
        StratificationError: closed world, ``well_founded=False``, and a predicate depends negatively on itself.
    """
    closed = world == "closed"
    facts: dict[tuple[bool, str], set[tuple[str, ...]]] = defaultdict(set)
    constants: set[str] = set()
    rules = []
    for r in (part for reading in theory for part in reading.parts()):
        for lit in (r.head, *r.body):
            constants.update(a for a in lit.arguments if not is_variable(a))
        if r.is_fact:
            facts[(r.head.negated, r.head.predicate)].add(r.head.arguments)
        else:
            rules.append(r)
    try:
        strata = _strata(rules, closed)
    except StratificationError:
        if not well_founded:
            raise
        facts = _well_founded(rules, facts, constants)
    else:
        for stratum in strata:
            _fixpoint(stratum, facts, constants, closed)
    return {(neg, pred, row) for (neg, pred), rows in facts.items() for row in rows}


def _fixpoint(rules: Sequence[Reading], facts: dict, constants: set[str], closed: bool, blocked: dict | None = None) -> dict:
    """Add to ``facts`` what ``rules`` derive from them until nothing changes (``not p`` checked against ``blocked``)."""
    changed = True
    while changed:
        changed = False
        for r in rules:
            key = (r.head.negated, r.head.predicate)
            for s in _matches(r.body, facts, constants, closed, blocked):
                row = tuple(s.get(a, a) for a in r.head.arguments)
                if row not in facts[key]:
                    facts[key].add(row)
                    changed = True
    return facts


def _well_founded(rules: Sequence[Reading], facts: dict, constants: set[str]) -> dict:
    """Closed world, what is true in the well-founded model (the alternating fixpoint).

    ``Γ(J)`` is the least model where ``not p`` holds when ``p`` is not in ``J``. From
    ``true = ∅``, ``possible = Γ(true)`` over-estimates and ``Γ(possible)`` under-estimates;
    they are iterated until ``true`` stops growing. An atom that is possible but not true is
    undefined (a paradox such as "if something is not red then it is red") and is not derived.
    """
    def gamma(blocked: dict) -> dict:
        return _fixpoint(rules, defaultdict(set, {k: set(v) for k, v in facts.items()}), constants, True, blocked)

    true: dict = defaultdict(set)
    while True:
        again = gamma(gamma(true))
        if again == true:
            return again
        true = again


def answer(theory: Sequence[Reading] | set[Atom], question: Literal, world: str = "closed") -> bool | None:
    """Whether the theory (or what it entails) makes the statement ``question`` true.

    Returns:
        Closed world: True or False. Open world: True, False, or ``None`` for Unknown.

    Raises:
        ContradictionError: open world, the theory derives both the statement and its negation.
    """
    derived = theory if isinstance(theory, set) else entails(theory, world)
    pos = (False, question.predicate, question.arguments) in derived
    if world == "closed":
        return pos != question.negated
    neg = (True, question.predicate, question.arguments) in derived
    if pos and neg:
        raise ContradictionError(f"the theory derives both {Literal(question.predicate, question.arguments)} and its negation",
                                 hint="a contradictory theory answers nothing; check the sentences that derive them")
    if not pos and not neg:
        return None
    return pos != question.negated
