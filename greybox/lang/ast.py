"""The abstract syntax of greybox programs.

Every node is a frozen dataclass that keeps the ``Span`` it was read from. Spans
do not take part in equality, so ``parse(print(parse(src))) == parse(src)``
holds even though the printed text is laid out differently.

A program is an ordered tuple of statements:

===========================  ==============================================
``Clause``                   ``p(X) :- q(X), \\+ r(X).``, facts ``f(a).``,
                             ``0.7 :: f(a).``, ``t(0.5) :: p(X) :- q(X).``
``AnnotatedDisjunction``     ``0.2 :: a ; 0.8 :: b.`` (optionally ``:- body``)
``NeuralDeclaration``        ``nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).``
``DomainDeclaration``        ``domain digit = 0..9.`` / ``domain person = {ann, bob}.``
``TypeDeclaration``          ``type parent(person, person).``
``Query``                    ``?- grandfather(X, Y).``
===========================  ==============================================

Body literals: ``Atom`` (positive), ``Negation`` (``\\+ p(X)`` or ``not p(X)``),
``Comparison`` (``X < Y``, ``X \\= Y``, ``X = Y``), ``Assign`` (``Z is X + Y``),
``Aggregate`` (``N = count{X : friend(P, X)}``).

Example:
    >>> a = Atom("parent", (Const("ann"), Var("X")))
    >>> a.variables()
    ('X',)
    >>> a == Atom("parent", (Const("ann"), Var("X"), ), span=Span(None, 9, 9))
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Union

__all__ = [
    "Span",
    "NO_SPAN",
    "expr_leaves",
    "Var",
    "Const",
    "BinOp",
    "Neg",
    "Term",
    "Expr",
    "Atom",
    "Negation",
    "Comparison",
    "Assign",
    "Aggregate",
    "Literal",
    "Probability",
    "Learnable",
    "Weight",
    "Clause",
    "AnnotatedDisjunction",
    "NeuralDeclaration",
    "RangeDomain",
    "SetDomain",
    "BuiltinDomain",
    "DomainExpr",
    "DomainDeclaration",
    "TypeDeclaration",
    "Query",
    "Statement",
    "Program",
    "COMPARISON_OPS",
    "ARITHMETIC_OPS",
    "AGGREGATE_OPS",
]

# Canonical operator spellings kept in the AST. The parser also accepts the
# Prolog spellings (``=<`` for ``<=``, ``\=`` and ``=\=`` for ``!=``, ``==`` and ``=:=`` for ``=``);
# the printer writes the Prolog ones back (``=<``, ``\=``).
COMPARISON_OPS = ("<", "<=", ">", ">=", "=", "!=")
ARITHMETIC_OPS = ("+", "-", "*", "//", "mod", "min", "max")
AGGREGATE_OPS = ("count", "sum", "min", "max")


@dataclass(frozen=True, slots=True)
class Span:
    """Where a node was read from: 1-based line and column of its first character."""

    file: str | None
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.file or '<input>'}:{self.line}:{self.column}"


NO_SPAN = Span(None, 0, 0)


def _span() -> Span:
    return field(default=NO_SPAN, compare=False, repr=False)


# ---------------------------------------------------------------- terms


@dataclass(frozen=True, slots=True)
class Var:
    """A logic variable (``X``, ``_Tmp``). ``_`` alone is anonymous: each use is a fresh variable."""

    name: str
    span: Span = _span()

    def variables(self) -> tuple[str, ...]:
        return (self.name,)


@dataclass(frozen=True, slots=True)
class Const:
    """A constant: an ``int`` or a symbol/string (``ann``, ``'Ann Smith'``) held as ``str``."""

    value: int | str
    span: Span = _span()

    def variables(self) -> tuple[str, ...]:
        return ()


class _CompoundExpr:
    """What ``BinOp`` and ``Neg`` share: every walk over them is iterative, not recursive.

    Expressions can be nested thousands of levels deep (a sum of 10,000 terms is a chain of
    10,000 BinOps), so everything that walks one does it with an explicit stack rather than
    by recursion, which would pass Python's recursion limit.
    """

    __slots__ = ()

    def variables(self) -> tuple[str, ...]:
        return _expr_variables(self)

    def __eq__(self, other: object) -> bool:
        return _expr_equal(self, other)

    def __hash__(self) -> int:
        return _expr_hash(self)

    def __repr__(self) -> str:
        return _expr_repr(self)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class BinOp(_CompoundExpr):
    """Integer arithmetic ``left op right``; ``op`` is one of ``ARITHMETIC_OPS``."""

    op: str
    left: "Expr"
    right: "Expr"
    span: Span = _span()


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class Neg(_CompoundExpr):
    """Unary minus ``-expr``."""

    operand: "Expr"
    span: Span = _span()


Term = Union[Var, Const]
Expr = Union[Var, Const, BinOp, Neg]


def _dedupe(names: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


def expr_leaves(expr: "Expr") -> list[Union[Var, Const]]:
    """The variables and constants of ``expr``, left to right, with repeats (no recursion).

    The one leaf walk of the language (re-exported by :mod:`greybox.lang.walk`).

    Example:
        >>> expr_leaves(BinOp("-", Var("A"), Neg(BinOp("*", Const(2), Var("A")))))
        [Var(name='A'), Const(value=2), Var(name='A')]
    """
    out: list = []
    stack = [expr]
    while stack:
        e = stack.pop()
        cls = e.__class__
        if cls is BinOp:
            stack.append(e.right)
            stack.append(e.left)
        elif cls is Neg:
            stack.append(e.operand)
        else:
            out.append(e)
    return out


def _expr_variables(expr: "Expr") -> tuple[str, ...]:
    """The variable names of ``expr`` in reading order, each once (no recursion)."""
    return tuple(dict.fromkeys(e.name for e in expr_leaves(expr) if e.__class__ is Var))


def _expr_equal(a: "Expr", b: object) -> bool:
    """``a == b`` for expressions, as the generated dataclass ``__eq__`` (spans ignored), without recursion."""
    if a.__class__ is not b.__class__:
        return NotImplemented  # type: ignore[return-value]
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if x is y:
            continue
        cls = x.__class__
        if cls is not y.__class__:
            return False
        if cls is BinOp:
            if x.op != y.op:
                return False
            stack.append((x.right, y.right))
            stack.append((x.left, y.left))
        elif cls is Neg:
            stack.append((x.operand, y.operand))
        elif x != y:
            return False
    return True


def _expr_hash(expr: "Expr") -> int:
    """A hash consistent with :func:`_expr_equal`: of the expression written in prefix order."""
    parts: list = []
    stack = [expr]
    while stack:
        e = stack.pop()
        cls = e.__class__
        if cls is BinOp:
            parts.append(e.op)
            stack.append(e.right)
            stack.append(e.left)
        elif cls is Neg:
            parts.append(Neg)
            stack.append(e.operand)
        else:
            parts.append(cls)
            parts.append(e)
    return hash(tuple(parts))


def _expr_repr(expr: "Expr") -> str:
    """The dataclass-style ``repr`` of an expression, built without recursion."""
    out: list[str] = []
    stack: list = [expr]
    while stack:
        e = stack.pop()
        cls = e.__class__
        if cls is str:  # text queued between the parts of a node
            out.append(e)
        elif cls is BinOp:
            out.append(f"BinOp(op={e.op!r}, left=")
            stack += [")", e.right, ", right=", e.left]
        elif cls is Neg:
            out.append("Neg(operand=")
            stack += [")", e.operand]
        else:
            out.append(repr(e))
    return "".join(out)


# ---------------------------------------------------------------- literals


@dataclass(frozen=True, slots=True)
class Atom:
    """``predicate(arg, ...)``; a zero-arity atom is written ``predicate``."""

    predicate: str
    args: tuple[Term, ...] = ()
    span: Span = _span()

    @property
    def arity(self) -> int:
        return len(self.args)

    @property
    def key(self) -> tuple[str, int]:
        """``(predicate, arity)``, the identity of the relation this atom is about."""
        return (self.predicate, len(self.args))

    def variables(self) -> tuple[str, ...]:
        return _dedupe(tuple(a.name for a in self.args if isinstance(a, Var)))

    def is_ground(self) -> bool:
        return all(isinstance(a, Const) for a in self.args)


@dataclass(frozen=True, slots=True)
class Negation:
    """Negation as failure: ``\\+ atom`` (also written ``not atom``)."""

    atom: Atom
    span: Span = _span()

    def variables(self) -> tuple[str, ...]:
        return self.atom.variables()


@dataclass(frozen=True, slots=True)
class Comparison:
    """``left op right`` with ``op`` in ``COMPARISON_OPS``.

    ``=`` compares; when exactly one side is an unbound variable it binds that
    variable to the value of the other side (like ``is``).
    """

    op: str
    left: Expr
    right: Expr
    span: Span = _span()

    def variables(self) -> tuple[str, ...]:
        return _dedupe(self.left.variables() + self.right.variables())


@dataclass(frozen=True, slots=True)
class Assign:
    """``Var is expr``: binds ``target`` to the integer value of ``expr``."""

    target: Var
    expr: Expr
    span: Span = _span()

    def variables(self) -> tuple[str, ...]:
        return _dedupe((self.target.name,) + self.expr.variables())


@dataclass(frozen=True, slots=True)
class Aggregate:
    """``Result = op{Vars : Body}``.

    * ``count`` counts the distinct bindings of ``Vars``;
    * ``sum``, ``min``, ``max`` aggregate the first variable of ``Vars`` over the
      distinct bindings of ``Vars`` (list more variables to keep equal values apart:
      ``S = sum{V, X : score(X, V)}``).

    Variables of ``body`` that also occur elsewhere in the rule group the
    aggregate; the others are local to it. An empty group has count 0 and sum 0,
    and no min or max (the literal fails).
    """

    result: Var
    op: str
    vars: tuple[Var, ...]
    body: tuple["Literal", ...]
    span: Span = _span()

    def variables(self) -> tuple[str, ...]:
        names: tuple[str, ...] = (self.result.name,)
        for lit in self.body:
            names += lit.variables()
        return _dedupe(names)


Literal = Union[Atom, Negation, Comparison, Assign, Aggregate]


# ---------------------------------------------------------------- weights


@dataclass(frozen=True, slots=True)
class Probability:
    """A fixed probability ``p ::`` with 0 <= p <= 1."""

    value: float
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class Learnable:
    """A learnable weight ``t(p) ::`` starting at ``initial`` (``t(_)`` starts at 0.5)."""

    initial: float | None = None
    span: Span = _span()


Weight = Union[Probability, Learnable]


# ---------------------------------------------------------------- statements


@dataclass(frozen=True, slots=True)
class Clause:
    """A fact (empty ``body``) or a rule ``head :- body``, optionally weighted."""

    head: Atom
    body: tuple[Literal, ...] = ()
    weight: Weight | None = None
    span: Span = _span()

    @property
    def is_fact(self) -> bool:
        return not self.body


@dataclass(frozen=True, slots=True)
class AnnotatedDisjunction:
    """``p1 :: h1 ; p2 :: h2 ; ... [:- body].``: at most one head holds, ``sum(p) <= 1``."""

    heads: tuple[tuple[Probability, Atom], ...]
    body: tuple[Literal, ...] = ()
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class RangeDomain:
    """Integers ``low..high`` inclusive."""

    low: int
    high: int
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class SetDomain:
    """An explicit finite set of constants ``{a, b, c}`` (or ``[a, b, c]`` in ``nn`` declarations)."""

    values: tuple[Const, ...]
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class BuiltinDomain:
    """The unbounded built-in domains ``int`` and ``symbol``."""

    name: str
    span: Span = _span()


DomainExpr = Union[RangeDomain, SetDomain, BuiltinDomain]


@dataclass(frozen=True, slots=True)
class NeuralDeclaration:
    """``nn(model, [In...], Out, Domain) :: atom.``

    The module bound to ``model`` at run time reads the inputs named by ``inputs``
    and returns a distribution over ``domain`` for ``output``; each class becomes
    one fact of ``atom``, and the facts for one input are mutually exclusive.
    """

    model: str
    inputs: tuple[Var, ...]
    output: Var
    domain: DomainExpr
    atom: Atom
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class DomainDeclaration:
    """``domain name = 0..9.`` / ``domain name = {a, b}.`` / ``domain name = int.``"""

    name: str
    domain: DomainExpr
    span: Span = _span()


@dataclass(frozen=True, slots=True)
class TypeDeclaration:
    """``type rel(dom1, dom2).``: declares a relation and the domain of each argument.

    Domains are named by ``DomainDeclaration`` or are the built-ins ``int`` and ``symbol``.
    A declared relation with no facts or rules is an input, filled at run time.
    """

    predicate: str
    domains: tuple[str, ...]
    span: Span = _span()

    @property
    def key(self) -> tuple[str, int]:
        return (self.predicate, len(self.domains))


@dataclass(frozen=True, slots=True)
class Query:
    """``?- literal, literal.``: the answers are the bindings of the query's variables."""

    body: tuple[Literal, ...]
    span: Span = _span()

    def variables(self) -> tuple[str, ...]:
        names: tuple[str, ...] = ()
        for lit in self.body:
            names += lit.variables()
        return _dedupe(tuple(n for n in names if n != "_"))


Statement = Union[
    Clause, AnnotatedDisjunction, NeuralDeclaration, DomainDeclaration, TypeDeclaration, Query
]


@dataclass(frozen=True, slots=True)
class Program:
    """A parsed program: statements in source order, plus the file they came from."""

    statements: tuple[Statement, ...] = ()
    file: str | None = field(default=None, compare=False)

    def __iter__(self) -> Iterator[Statement]:
        return iter(self.statements)

    def __len__(self) -> int:
        return len(self.statements)

    def of_type(self, kind: type) -> tuple:
        return tuple(s for s in self.statements if isinstance(s, kind))

    @property
    def clauses(self) -> tuple[Clause, ...]:
        return self.of_type(Clause)

    @property
    def queries(self) -> tuple[Query, ...]:
        return self.of_type(Query)

    @property
    def neural(self) -> tuple[NeuralDeclaration, ...]:
        return self.of_type(NeuralDeclaration)

    def __add__(self, other: "Program") -> "Program":
        return Program(self.statements + other.statements, self.file)
