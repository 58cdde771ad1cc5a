"""Variable safety: every variable that must have a value gets one from a positive literal.

A rule is *safe* when each variable it needs is bound:

* a positive atom binds all of its variables;
* ``Z is expr`` binds ``Z`` once the variables of ``expr`` are bound, and so does
  ``Z = expr`` (or ``expr = Z``) when ``Z`` is not bound otherwise;
* an aggregate ``N = op{Vars : Body}`` binds its result ``N`` and its *group
  variables* (the variables of ``Body`` that occur elsewhere in the rule). Its
  body is checked like a rule of its own: its variables must be bound by the
  aggregate's own positive literals, because the aggregate is computed on its own
  and then joined with the rest of the rule.

Variables needed: those of the head, of negations, of comparisons (other than the
one ``=`` binds) and of arithmetic; the listed ``Vars`` of an aggregate. A fact
must be ground.

``_`` is anonymous: :func:`rename_anonymous` gives each occurrence a fresh name
``_1``, ``_2``, ... . An anonymous variable inside a negation is existentially
quantified *inside* the negation: ``\\+ parent(_, X)`` holds when there is no
``parent`` tuple with second argument ``X``, whatever its first argument. It
therefore needs no binding. A *named* variable that occurs only in a negation is
reported, since it is usually a typo; write ``_`` when any value is meant.

Example:
    >>> from greybox.lang.parser import parse_program
    >>> clause = parse_program("orphan(X) :- person(X), \\\\+ parent(_, X).").statements[0]
    >>> renamed, anonymous = rename_anonymous(clause)
    >>> renamed.body[1].atom.args[0].name, sorted(anonymous)
    ('_1', ['_1'])
    >>> unsafe_variables(renamed, anonymous)
    []
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import Iterable

from .ast import (
    NO_SPAN,
    Aggregate,
    AnnotatedDisjunction,
    Assign,
    Atom,
    BinOp,
    Clause,
    Comparison,
    Const,
    Expr,
    Literal,
    Neg,
    Negation,
    Query,
    Span,
    Var,
)
from .walk import expr_vars, fold_expr

__all__ = [
    "ANONYMOUS",
    "NO_NAMES",
    "Unsafe",
    "rename_anonymous",
    "group_variables",
    "bound_variables",
    "unsafe_variables",
    "literal_atoms",
    "show_atom",
    "show_expr",
    "show_literal",
    "show_aggregate",
]

ANONYMOUS = "_"


@dataclass(frozen=True)
class Unsafe:
    """One variable that is needed but never bound.

    Attributes:
        name: the variable's name (``_`` for an anonymous one).
        kind: what needs it: ``'fact'`` (facts must be ground), ``'head'``,
            ``'negation'``, ``'comparison'``, ``'arithmetic'``, ``'aggregate'`` (a listed
            variable not bound in the aggregate's body) or ``'aggregate-result'`` (the
            result variable also occurs inside the aggregate).
        text: source-like text of the node that needs it (``p(X)``, ``X < Y``).
        span: the occurrence to point at.
        anonymous: whether it is an occurrence of ``_``.
    """

    name: str
    kind: str
    text: str
    span: Span
    anonymous: bool = False


# ---------------------------------------------------------------- anonymous variables


def rename_anonymous(stmt):
    """Give each ``_`` in ``stmt`` a fresh name ``_1``, ``_2``, ... (in reading order).

    Names already used in the statement are skipped, so the new names never clash.

    Args:
        stmt: a ``Clause``, ``AnnotatedDisjunction`` or ``Query``.

    Returns:
        ``(renamed, anonymous)``: the statement (the same object when it has no
        ``_``) and the frozenset of the names given to ``_``.

    Example:
        >>> from greybox.lang.ast import Atom, Clause, Var
        >>> c = Clause(Atom("p", (Var("X"),)), (Atom("q", (Var("X"), Var("_"), Var("_"))),))
        >>> r, anon = rename_anonymous(c)
        >>> [a.name for a in r.body[0].args], sorted(anon)
        (['X', '_1', '_2'], ['_1', '_2'])
    """
    if not _has_anonymous(stmt):
        return stmt, NO_NAMES
    renamer = _Renamer(set(_statement_variables(stmt)))
    if isinstance(stmt, Clause):
        out = replace(stmt, head=renamer.atom(stmt.head), body=renamer.body(stmt.body))
    elif isinstance(stmt, AnnotatedDisjunction):
        heads = tuple((p, renamer.atom(h)) for p, h in stmt.heads)
        out = replace(stmt, heads=heads, body=renamer.body(stmt.body))
    elif isinstance(stmt, Query):
        out = replace(stmt, body=renamer.body(stmt.body))
    else:
        raise AssertionError(f"no variables to rename in {type(stmt).__name__}")
    return out, frozenset(renamer.fresh)


#: The empty set of names (one shared object: ``frozenset()`` makes a new one each time).
NO_NAMES: frozenset[str] = frozenset()


class _Renamer:
    """Fresh names for ``_``; a class, not nested closures, which would form reference cycles."""

    def __init__(self, used: set[str]) -> None:
        self.used = used
        self.counter = 0
        self.fresh: list[str] = []

    def new_name(self) -> str:
        while True:
            self.counter += 1
            name = f"_{self.counter}"
            if name not in self.used:
                self.fresh.append(name)
                return name

    def leaf(self, t):
        if t.__class__ is Var and t.name == ANONYMOUS:
            return replace(t, name=self.new_name())
        return t

    def term(self, t):
        if t.__class__ is Var or t.__class__ is Const:
            return self.leaf(t)
        # an expression may nest thousands of levels deep: rebuilt without recursion
        return fold_expr(t, self.leaf, _rebuild_neg, _rebuild_binop)

    def atom(self, a: Atom) -> Atom:
        if not any(x.__class__ is Var and x.name == ANONYMOUS for x in a.args):
            return a
        return replace(a, args=tuple(self.term(x) for x in a.args))

    def body(self, body: tuple) -> tuple:
        return tuple(self.literal(b) for b in body)

    def literal(self, lit):
        if isinstance(lit, Atom):
            return self.atom(lit)
        if isinstance(lit, Negation):
            return replace(lit, atom=self.atom(lit.atom))
        if isinstance(lit, Comparison):
            return replace(lit, left=self.term(lit.left), right=self.term(lit.right))
        if isinstance(lit, Assign):
            return replace(lit, target=self.term(lit.target), expr=self.term(lit.expr))
        if isinstance(lit, Aggregate):
            return replace(
                lit,
                result=self.term(lit.result),
                vars=tuple(self.term(v) for v in lit.vars),
                body=self.body(lit.body),
            )
        raise AssertionError(f"not a literal: {lit!r}")


def _rebuild_neg(e: Neg, operand):
    return e if operand is e.operand else replace(e, operand=operand)


def _rebuild_binop(e: BinOp, left, right):
    return e if left is e.left and right is e.right else replace(e, left=left, right=right)


def _has_anonymous(stmt) -> bool:
    # the common case (no `_`) must be cheap: this runs for every statement
    if isinstance(stmt, Clause):
        for a in stmt.head.args:
            if a.__class__ is Var and a.name == ANONYMOUS:
                return True
        if not stmt.body:
            return False
    for name in _statement_variables(stmt):
        if name == ANONYMOUS:
            return True
    return False


def _statement_variables(stmt) -> Iterable[str]:
    if isinstance(stmt, Clause):
        yield from (a.name for a in stmt.head.args if isinstance(a, Var))
    elif isinstance(stmt, AnnotatedDisjunction):
        for _, h in stmt.heads:
            yield from (a.name for a in h.args if isinstance(a, Var))
    for lit in stmt.body:
        yield from _literal_variables(lit)


def _literal_variables(lit: Literal) -> Iterable[str]:
    """Every variable occurrence of ``lit`` (with repeats; ``Aggregate.variables`` omits its listed vars)."""
    if isinstance(lit, Aggregate):
        yield lit.result.name
        yield from (v.name for v in lit.vars)
        for b in lit.body:
            yield from _literal_variables(b)
    elif isinstance(lit, Atom):
        yield from (a.name for a in lit.args if isinstance(a, Var))
    elif isinstance(lit, Negation):
        yield from (a.name for a in lit.atom.args if isinstance(a, Var))
    else:
        yield from lit.variables()


def literal_atoms(lit: Literal) -> Iterable[tuple[Atom, bool]]:
    """The atoms of ``lit`` with whether they are positive, looking inside aggregates.

    Example:
        >>> from greybox.lang.ast import Atom, Negation
        >>> [(a.predicate, pos) for a, pos in literal_atoms(Negation(Atom("q")))]
        [('q', False)]
    """
    if isinstance(lit, Atom):
        yield lit, True
    elif isinstance(lit, Negation):
        yield lit.atom, False
    elif isinstance(lit, Aggregate):
        for b in lit.body:
            yield from literal_atoms(b)


# ---------------------------------------------------------------- binding


def group_variables(agg: Aggregate, body: tuple[Literal, ...], head: Iterable[Atom] = ()) -> tuple[str, ...]:
    """The group variables of ``agg``: its body's variables that occur elsewhere in the rule.

    Args:
        agg: an aggregate literal of ``body``.
        body: the body it belongs to (other literals there, other aggregates included,
            count as "elsewhere").
        head: the head atoms of the rule (none for a query or an aggregate's body).

    Returns:
        The names in order of first occurrence in the aggregate's body.

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> c = parse_program("n(P, N) :- person(P), N = count{C : parent(P, C)}.").statements[0]
        >>> group_variables(c.body[1], c.body, [c.head])
        ('P',)
    """
    elsewhere: set[str] = set()
    for h in head:
        elsewhere.update(h.variables())
    for other in body:
        if other is not agg:
            elsewhere.update(_literal_variables(other))
    inner: dict[str, None] = {}
    for b in agg.body:
        for name in _literal_variables(b):
            inner[name] = None
    return tuple(n for n in inner if n in elsewhere and n != agg.result.name)


def bound_variables(body: tuple[Literal, ...], head: Iterable[Atom] = ()) -> set[str]:
    """The variables that ``body`` binds (see the module docstring for the rules).

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> c = parse_program("p(Z) :- q(X), Z is X + Y.").statements[0]
        >>> sorted(bound_variables(c.body, [c.head]))
        ['X']
    """
    heads = tuple(head)
    bound: set[str] = set()
    # what each aggregate adds is computed once: recomputing it on every round of
    # the loop below would take time exponential in how deeply aggregates nest
    adds: dict[int, set[str]] = {}
    for i, lit in enumerate(body):
        if isinstance(lit, Atom):
            bound.update(lit.variables())
        elif isinstance(lit, Aggregate):
            adds[i] = {lit.result.name} | (set(group_variables(lit, body, heads)) & bound_variables(lit.body))
    changed = True
    while changed:
        changed = False
        for i, lit in enumerate(body):
            if isinstance(lit, Assign):
                if lit.target.name not in bound and set(lit.expr.variables()) <= bound:
                    bound.add(lit.target.name)
                    changed = True
            elif isinstance(lit, Comparison) and lit.op == "=":
                for side, other in ((lit.left, lit.right), (lit.right, lit.left)):
                    if isinstance(side, Var) and side.name not in bound and set(other.variables()) <= bound:
                        bound.add(side.name)
                        changed = True
                        break
            elif isinstance(lit, Aggregate):
                new = adds[i]
                if not new <= bound:
                    bound |= new
                    changed = True
    return bound


# ---------------------------------------------------------------- checking


def unsafe_variables(stmt, anonymous: frozenset[str] = frozenset()) -> list[Unsafe]:
    """Every variable of ``stmt`` that is needed but not bound, in reading order.

    Each variable is reported once per statement, at its first offending occurrence.

    Args:
        stmt: a ``Clause``, ``AnnotatedDisjunction`` or ``Query`` (with ``_`` renamed
            by :func:`rename_anonymous`).
        anonymous: the names :func:`rename_anonymous` gave to ``_``.

    Returns:
        A list of :class:`Unsafe` (empty when the statement is safe).

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> c = parse_program("p(X) :- \\\\+ q(X).").statements[0]
        >>> [(u.name, u.kind, u.text) for u in unsafe_variables(c)]
        [('X', 'head', 'p(X)')]
    """
    heads: tuple[Atom, ...]
    if isinstance(stmt, Clause):
        heads = (stmt.head,)
    elif isinstance(stmt, AnnotatedDisjunction):
        heads = tuple(h for _, h in stmt.heads)
    else:
        heads = ()
    out: list[Unsafe] = []
    seen: set[str] = set()

    def report(var: Var, kind: str, text, fallback: Span) -> None:
        """``text`` is the node's text or a :class:`_Text` that makes it (once, when first needed)."""
        if var.name in seen:
            return
        seen.add(var.name)
        anon = var.name in anonymous
        span = var.span if var.span != NO_SPAN else fallback
        out.append(Unsafe(ANONYMOUS if anon else var.name, kind, _clip(str(text)), span, anon))

    if not stmt.body and heads:  # a fact: must be ground
        for h in heads:
            text = _Text(show_atom, h, anonymous)
            for a in h.args:
                if isinstance(a, Var):
                    report(a, "fact", text, h.span)
        return out

    bound = bound_variables(stmt.body, heads)
    for h in heads:
        text = _Text(show_atom, h, anonymous)
        for a in h.args:
            if isinstance(a, Var) and a.name not in bound:
                report(a, "head", text, h.span)
    _check_body(stmt.body, bound, anonymous, report)
    return out


class _Text:
    """The text of a node for messages, made on first use only (an atom may have thousands of unbound variables)."""

    __slots__ = ("make", "args", "text")

    def __init__(self, make, *args) -> None:
        self.make, self.args, self.text = make, args, None

    def __str__(self) -> str:
        if self.text is None:
            self.text = self.make(*self.args)
        return self.text


#: The longest node text shown in a message about one of its variables.
_TEXT_WIDTH = 200


def _clip(text: str) -> str:
    """``text`` cut to about ``_TEXT_WIDTH`` characters (a message is read, not parsed)."""
    return text if len(text) <= _TEXT_WIDTH else text[: _TEXT_WIDTH - 4] + " ..."


def _check_body(body, bound, anonymous, report) -> None:
    for lit in body:
        if isinstance(lit, Negation):
            for a in lit.atom.args:
                # `_` in a negation is existential inside it: never needs a binding
                if isinstance(a, Var) and a.name not in bound and a.name not in anonymous:
                    report(a, "negation", _Text(lambda atom: "\\+ " + show_atom(atom, anonymous), lit.atom),
                           lit.span)
        elif isinstance(lit, Comparison):
            # (the text is built once per literal: a long expression has many occurrences)
            unbound = [v for v in _expr_vars(lit.left) + _expr_vars(lit.right) if v.name not in bound]
            if unbound:
                text = f"{show_expr(lit.left, anonymous)} {lit.op} {show_expr(lit.right, anonymous)}"
                for v in unbound:
                    report(v, "comparison", text, lit.span)
        elif isinstance(lit, Assign):
            unbound = [v for v in _expr_vars(lit.expr) if v.name not in bound]
            if unbound:
                text = f"{show_expr(lit.target, anonymous)} is {show_expr(lit.expr, anonymous)}"
                for v in unbound:
                    report(v, "arithmetic", text, lit.span)
        elif isinstance(lit, Aggregate):
            inner = bound_variables(lit.body)
            text = _Text(show_aggregate, lit, anonymous)
            for v in lit.vars:
                if v.name not in inner:
                    report(v, "aggregate", text, lit.span)
            if lit.result.name in set().union(*(set(_literal_variables(b)) for b in lit.body)):
                report(lit.result, "aggregate-result", text, lit.span)
            _check_body(lit.body, inner, anonymous, report)


def _expr_vars(e: Expr) -> list[Var]:
    return expr_vars(e)


# ---------------------------------------------------------------- text for messages


def show_expr(e: Expr, anonymous: frozenset[str] = frozenset()) -> str:
    """Compact source-like text of a term or expression (``_`` for renamed anonymous variables)."""
    if e.__class__ is Var or e.__class__ is Const:
        return _show_leaf(e, anonymous)
    if not isinstance(e, (BinOp, Neg)):
        raise AssertionError(f"not an expression: {e!r}")
    # (built without recursion: an expression may nest thousands of levels deep)
    return "".join(fold_expr(
        e,
        lambda leaf: deque((_show_leaf(leaf, anonymous),)),
        _show_neg,
        _show_binop,
    ))


def _show_leaf(e, anonymous: frozenset[str]) -> str:
    if e.__class__ is Var:
        return ANONYMOUS if e.name in anonymous else e.name
    return str(e.value) if isinstance(e.value, int) or _plain_symbol(e.value) else repr(e.value)


def _show_neg(e: Neg, operand: deque) -> deque:
    operand.appendleft("-")
    return operand


def _show_binop(e: BinOp, left: deque, right: deque) -> deque:
    if e.op in ("min", "max"):
        left.appendleft(f"{e.op}(")
        left.append(", ")
        left += right
        left.append(")")
    else:
        left.append(f" {e.op} ")
        left += right
    return left


def show_atom(a: Atom, anonymous: frozenset[str] = frozenset()) -> str:
    """Compact source-like text of an atom."""
    if not a.args:
        return a.predicate
    return f"{a.predicate}({', '.join(show_expr(x, anonymous) for x in a.args)})"


def show_literal(lit: Literal, anonymous: frozenset[str] = frozenset()) -> str:
    """Compact source-like text of a body literal."""
    if isinstance(lit, Atom):
        return show_atom(lit, anonymous)
    if isinstance(lit, Negation):
        return "\\+ " + show_atom(lit.atom, anonymous)
    if isinstance(lit, Comparison):
        return f"{show_expr(lit.left, anonymous)} {lit.op} {show_expr(lit.right, anonymous)}"
    if isinstance(lit, Assign):
        return f"{show_expr(lit.target, anonymous)} is {show_expr(lit.expr, anonymous)}"
    return show_aggregate(lit, anonymous)


def show_aggregate(agg: Aggregate, anonymous: frozenset[str] = frozenset()) -> str:
    """Compact source-like text of an aggregate: ``N = count{C : parent(P, C)}``."""
    listed = ", ".join(show_expr(v, anonymous) for v in agg.vars)
    body = ", ".join(show_literal(b, anonymous) for b in agg.body)
    return f"{show_expr(agg.result, anonymous)} = {agg.op}{{{listed} : {body}}}"


def _plain_symbol(s: str) -> bool:
    return bool(s) and s[0].islower() and s.replace("_", "a").isalnum()
