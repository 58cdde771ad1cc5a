"""Ordering a rule body into executable steps.

A body is executed left to right over a ``Frame`` of bindings. The planner picks
an order in which every literal runs as soon as what it needs is bound:
comparisons, ``is`` and negations wait for their variables; positive atoms join
on the variables they share with what is bound so far (the most shared first).
In semi-naive evaluation the planner starts from the atom that reads the recent
tuples, because that is usually the smallest input.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UnsafeRuleError
from ..lang.ast import Aggregate, Assign, Atom, Comparison, Literal, Negation, Var

__all__ = ["Step", "order_body", "local_vars", "aggregate_groups"]


@dataclass(frozen=True)
class Step:
    """One literal of the body and, for positive atoms, its position in the written body."""

    literal: Literal
    position: int


def local_vars(literal: Negation | Aggregate, body: tuple[Literal, ...], head_vars: set[str]) -> set[str]:
    """Variables of ``literal`` that occur nowhere else in the rule (existential inside it)."""
    elsewhere = set(head_vars)
    for other in body:
        if other is not literal:
            elsewhere |= set(other.variables())
    if isinstance(literal, Aggregate):
        own = set()
        for lit in literal.body:
            own |= set(lit.variables())
        return own - elsewhere
    return set(literal.variables()) - elsewhere


def aggregate_groups(agg: Aggregate, body: tuple[Literal, ...], head_vars: set[str]) -> list[str]:
    """Group-by variables of an aggregate: its body variables that also occur elsewhere in the rule."""
    inner: list[str] = []
    for lit in agg.body:
        for v in lit.variables():
            if v not in inner:
                inner.append(v)
    local = local_vars(agg, body, head_vars)
    return [v for v in inner if v not in local and v != agg.result.name]


def _ready(lit: Literal, bound: set[str], body, head_vars) -> bool:
    if isinstance(lit, Comparison):
        free = set(lit.variables()) - bound
        if not free:
            return True
        # X = expr binds X when expr is bound (either side)
        if lit.op == "=" and len(free) == 1:
            (v,) = free
            # only when the other side does not read v itself (`X = X // 2` tests, after X is bound)
            return (isinstance(lit.left, Var) and lit.left.name == v and v not in lit.right.variables()) or (
                isinstance(lit.right, Var) and lit.right.name == v and v not in lit.left.variables()
            )
        return False
    if isinstance(lit, Assign):
        return set(lit.expr.variables()) <= bound
    if isinstance(lit, Negation):
        return set(lit.variables()) - local_vars(lit, body, head_vars) <= bound
    if isinstance(lit, Aggregate):
        groups = aggregate_groups(lit, body, head_vars)
        # group variables that some other body literal binds must be bound first (count 0 needs them)
        others = set()
        for other in body:
            if other is not lit and isinstance(other, Atom):
                others |= set(other.variables())
        return {g for g in groups if g in others} <= bound
    return False


def order_body(
    body: tuple[Literal, ...],
    head_vars: set[str],
    first: int | None = None,
    span=None,
    single: frozenset[str] = frozenset(),
) -> list[Step]:
    """Executable order of ``body``; ``first`` forces which positive atom runs first.

    >>> from greybox.lang.ast import Atom, Var, Comparison
    >>> X, Y = Var("X"), Var("Y")
    >>> body = (Comparison("<", X, Y), Atom("p", (X,)), Atom("q", (X, Y)))
    >>> [s.position for s in order_body(body, set())]
    [1, 2, 0]

    ``single`` names relations known to hold at most one tuple per sample.
    """
    remaining = list(range(len(body)))
    bound: set[str] = set()
    steps: list[Step] = []

    def take(i: int) -> None:
        remaining.remove(i)
        lit = body[i]
        steps.append(Step(lit, i))
        if isinstance(lit, Atom):
            bound.update(lit.variables())
        elif isinstance(lit, Assign):
            bound.add(lit.target.name)
        elif isinstance(lit, Comparison):
            bound.update(lit.variables())
        elif isinstance(lit, Aggregate):
            bound.add(lit.result.name)
            bound.update(aggregate_groups(lit, body, head_vars))

    if first is not None:
        take(first)
    while remaining:
        ready = [i for i in remaining if not isinstance(body[i], Atom) and _ready(body[i], bound, body, head_vars)]
        if ready:
            take(ready[0])
            continue
        atoms = [i for i in remaining if isinstance(body[i], Atom)]
        if atoms:
            # relations with at most one tuple per sample first (joining them never adds rows,
            # and the comparisons they enable filter early); then most variables already bound;
            # then fewer new variables; then written order
            def score(i: int) -> tuple[int, int, int, int]:
                vs = set(body[i].variables())
                return (body[i].predicate not in single, -len(vs & bound), len(vs - bound), i)

            take(min(atoms, key=score))
            continue
        aggs = [i for i in remaining if isinstance(body[i], Aggregate)]
        if aggs:
            take(aggs[0])
            continue
        # the static checks reject unsafe rules before planning: this is a program built in code
        lit = body[remaining[0]]
        where = getattr(lit, "span", None) or span
        raise UnsafeRuleError(
            f"cannot evaluate {type(lit).__name__.lower()}: its variables "
            f"{sorted(set(lit.variables()) - bound)} are never bound",
            file=getattr(where, "file", None), line=getattr(where, "line", None) or None,
            column=getattr(where, "column", None) or None,
            hint="bind every variable with a positive atom before it is compared, negated or computed",
        )
    return steps
