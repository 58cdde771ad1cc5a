"""The canonical list of a program's input facts, shared by every evaluator.

Both evaluators number the facts of a program the same way, so that a proof found
by one names the same facts as a proof found by the other. :func:`collect_facts`
walks the clauses in source order and gives each input fact the next id:

* a fact ``f(a).`` is certain (``probability=None``); ``0.7 :: f(a).`` has probability
  0.7; ``t(0.6) :: f(a).`` is learnable and starts at 0.6 (``t(_)`` at 0.5);
* each head of an annotated disjunction ``0.2 :: a ; 0.8 :: b.`` is a fact, and the
  heads of one disjunction share a *group* (at most one of them holds);
* a weighted rule ``p :: h :- body`` (or ``t(p) :: ...``) gets one fact with
  ``relation=None`` that stands for its weight: the evaluators conjoin it with the
  rule's body. Its ``clause`` is the very rule object listed in the strata, so match
  it with ``is`` (two identical weighted rules are two independent choices);
* an annotated disjunction with a body gets one such weight fact per head, all in
  one group; ``clause`` is the weighted rule ``p_i :: h_i :- body`` that
  :attr:`ProgramInfo.disjunction_rules` and the strata hold.

Every other fact is its own group. Ids and groups count from 0 in that order.
Facts of neural relations and of relations given at run time are not listed here.

Example:
    >>> from greybox.lang.parser import parse_program
    >>> from greybox.lang.analysis import analyze
    >>> info = analyze(parse_program('''
    ...     edge(a, b).
    ...     0.7 :: edge(b, c).
    ...     0.2 :: coin(heads) ; 0.8 :: coin(tails).
    ...     0.9 :: path(X, Y) :- edge(X, Y).
    ... '''))
    >>> for f in collect_facts(info):
    ...     print(f.id, f.relation, f.args, f.probability, f.group)
    0 edge ('a', 'b') None 0
    1 edge ('b', 'c') 0.7 1
    2 coin ('heads',) 0.2 2
    3 coin ('tails',) 0.8 2
    4 None () 0.9 3
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .analysis import ProgramInfo
from .ast import NO_SPAN, AnnotatedDisjunction, Atom, Clause, Const, Learnable, Probability, Span, Weight

__all__ = ["InputFact", "collect_facts", "DEFAULT_LEARNABLE"]

#: the starting probability of ``t(_) :: ...``
DEFAULT_LEARNABLE = 0.5


@dataclass(frozen=True)
class InputFact:
    """One input fact (or rule weight) of a program.

    Attributes:
        id: its position in :func:`collect_facts`'s list (0, 1, 2, ...).
        relation: the relation of the fact, or ``None`` for the weight of a rule.
        args: the fact's constants as Python values (``()`` for a rule weight).
        probability: its probability (the starting value when learnable), or ``None``
            for a certain fact.
        group: facts of one group are mutually exclusive (the heads of one annotated
            disjunction); every other fact has a group of its own.
        learnable: whether the probability is a learnable weight (``t(p) ::``).
        span: where the fact (or the weighted rule) is written.
        clause: for a rule weight, the weighted rule (as found in the strata); else ``None``.
    """

    id: int
    relation: str | None
    args: tuple[int | str, ...]
    probability: float | None
    group: int
    learnable: bool = False
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    clause: Clause | None = field(default=None, repr=False)


def collect_facts(info: ProgramInfo) -> list[InputFact]:
    """The input facts of an analysed program, in canonical order (see the module docstring).

    Args:
        info: the result of :func:`greybox.lang.analysis.analyze`.

    Returns:
        The facts with ids ``0..n-1`` in list order.

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> from greybox.lang.analysis import analyze
        >>> info = analyze(parse_program("q(1). t(_) :: p(X) :- q(X)."))
        >>> [(f.relation, f.probability, f.learnable, f.clause is info.strata[0].rules[0])
        ...  for f in collect_facts(info)]
        [('q', None, False, False), (None, 0.5, True, True)]
    """
    facts: list[InputFact] = []
    groups = 0

    def add(relation, args, probability, group, learnable, span, clause=None) -> None:
        facts.append(InputFact(len(facts), relation, args, probability, group, learnable, span, clause))

    for position, stmt in enumerate(info.clauses):
        if isinstance(stmt, Clause):
            if stmt.is_fact:
                probability, learnable = _weight(stmt.weight)
                add(stmt.head.predicate, _args(stmt.head), probability, groups, learnable, stmt.span)
                groups += 1
            elif stmt.weight is not None:
                probability, learnable = _weight(stmt.weight)
                add(None, (), probability, groups, learnable, stmt.span, stmt)
                groups += 1
        elif isinstance(stmt, AnnotatedDisjunction):
            if stmt.body:
                for (p, head), rule in zip(stmt.heads, info.disjunction_rules[position]):
                    add(None, (), p.value, groups, False, head.span, rule)
            else:
                for p, head in stmt.heads:
                    add(head.predicate, _args(head), p.value, groups, False, head.span)
            groups += 1
    return facts


def _weight(weight: Weight | None) -> tuple[float | None, bool]:
    if weight is None:
        return None, False
    if isinstance(weight, Probability):
        return weight.value, False
    assert isinstance(weight, Learnable)
    return (DEFAULT_LEARNABLE if weight.initial is None else weight.initial), True


def _args(atom: Atom) -> tuple[int | str, ...]:
    # analysis rejects non-ground facts, so every argument is a constant here
    assert all(isinstance(a, Const) for a in atom.args), f"fact {atom} is not ground"
    return tuple(a.value for a in atom.args)  # type: ignore[union-attr]
