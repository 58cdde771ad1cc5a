"""Chain rules ``r3(X, Z) :- r1(X, Y), r2(Y, Z)``: recognise them, take them out, write them.

A *chain rule* composes two binary relations through a middle variable. Its body is
exactly two atoms ``r1(X, Y), r2(Y, Z)`` over three distinct variables, its head is
``r3(X, Z)``, and it may add ``X \\= Z`` (the head relation is irreflexive: no one is
their own sibling). A weight ``p :: ...`` is kept; a learnable weight ``t(p) :: ...``
is not a chain rule here (it stays with the rest of the program).

Example:
    >>> from greybox.lang.parser import parse_program
    >>> prog = parse_program('''
    ...     male(Y) :- father(_, Y).
    ...     grandfather(X, Z) :- father(X, Y), father(Y, Z).
    ...     brother(X, Z) :- father(X, Y), son(Y, Z), X \\\\= Z.
    ... ''')
    >>> rest, rules = split_chain_rules(prog)
    >>> len(rest), [r.triple for r in rules]
    (1, [('father', 'father', 'grandfather'), ('father', 'son', 'brother')])
    >>> rules[1].text()
    'brother(X, Z) :- father(X, Y), son(Y, Z), X \\\\= Z.'
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from greybox.lang.ast import Atom, Clause, Comparison, Probability, Program, Var

__all__ = ["ChainRule", "as_chain_rule", "split_chain_rules"]


@dataclass(frozen=True)
class ChainRule:
    """``weight :: head(X, Z) :- first(X, Y), second(Y, Z)[, X \\= Z]``.

    Attributes:
        first, second: the body relations ``r1``, ``r2``.
        head: the head relation ``r3``.
        distinct: whether the rule requires ``X \\= Z``.
        weight: the rule's probability, ``None`` for a certain rule.
    """

    first: str
    second: str
    head: str
    distinct: bool = False
    weight: float | None = None

    @property
    def triple(self) -> tuple[str, str, str]:
        """``(r1, r2, r3)``: what two rules must share to say the same thing."""
        return (self.first, self.second, self.head)

    def text(self, *, with_weight: bool = False) -> str:
        """The rule as greybox source, in the variable names ``X, Y, Z``.

        Args:
            with_weight: write ``p :: `` before the head when the rule has a weight.

        >>> ChainRule("father", "mother", "grandmother", weight=0.25).text(with_weight=True)
        '0.25 :: grandmother(X, Z) :- father(X, Y), mother(Y, Z).'
        """
        body = f"{self.first}(X, Y), {self.second}(Y, Z)" + (", X \\= Z" if self.distinct else "")
        prefix = f"{self.weight!r} :: " if with_weight and self.weight is not None else ""
        return f"{prefix}{self.head}(X, Z) :- {body}."


def _var(term) -> str | None:
    return term.name if isinstance(term, Var) and term.name != "_" else None


def as_chain_rule(clause: Clause, relations: Collection[str] | None = None) -> ChainRule | None:
    """The chain rule ``clause`` is, or ``None``.

    Args:
        clause: any clause.
        relations: when given, every relation of the rule must be one of these.

    Returns:
        The ``ChainRule``; ``None`` when the clause has another shape, a learnable weight,
        or a relation outside ``relations``.

    >>> from greybox.lang.parser import parse_statement
    >>> as_chain_rule(parse_statement("uncle(X, Z) :- father(X, Y), brother(Y, Z)."))
    ChainRule(first='father', second='brother', head='uncle', distinct=False, weight=None)
    >>> as_chain_rule(parse_statement("son(Y, X) :- father(X, Y), male(X).")) is None
    True
    """
    if not isinstance(clause, Clause) or not (clause.weight is None or isinstance(clause.weight, Probability)):
        return None
    head, body = clause.head, clause.body
    atoms = [lit for lit in body if isinstance(lit, Atom)]
    others = [lit for lit in body if not isinstance(lit, Atom)]
    if len(head.args) != 2 or len(atoms) != 2 or len(others) > 1:
        return None
    if any(len(atom.args) != 2 for atom in atoms):
        return None
    x, z = (_var(a) for a in head.args)
    (a1, b1), (a2, b2) = ((_var(atom.args[0]), _var(atom.args[1])) for atom in atoms)
    # r3(X, Z) :- r1(X, Y), r2(Y, Z) with X, Y, Z three different named variables
    if None in (x, z, b1) or len({x, z, b1}) != 3 or (a1, a2, b2) != (x, b1, z):
        return None
    distinct = False
    if others:
        cmp = others[0]
        sides = {_var(cmp.left), _var(cmp.right)} if isinstance(cmp, Comparison) else set()
        if not isinstance(cmp, Comparison) or cmp.op != "!=" or sides != {x, z}:
            return None
        distinct = True
    names = (atoms[0].predicate, atoms[1].predicate, head.predicate)
    if relations is not None and not all(n in relations for n in names):
        return None
    weight = clause.weight.value if isinstance(clause.weight, Probability) else None
    return ChainRule(*names, distinct=distinct, weight=weight)


def split_chain_rules(
    program: Program, relations: Collection[str] | None = None
) -> tuple[Program, tuple[ChainRule, ...]]:
    """Take the chain rules out of a program.

    Args:
        program: a parsed program.
        relations: only rules over these relations count (``None``: any).

    Returns:
        ``(the program without them, the chain rules in source order)``.
    """
    kept, rules = [], []
    for statement in program.statements:
        rule = as_chain_rule(statement, relations) if isinstance(statement, Clause) else None
        if rule is None:
            kept.append(statement)
        else:
            rules.append(rule)
    return Program(tuple(kept), program.file), tuple(rules)
