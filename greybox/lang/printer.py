"""Write the AST back as canonical greybox source.

The output reads like hand-written Prolog: the Prolog spellings ``=<`` and ``\\=``,
``\\+`` for negation, only the parentheses that precedence needs, constants quoted
only when they must be, and probabilities printed so that they read back as the
very same float. Parsing the output gives back an equal AST:
``parse_program(format_program(p)) == p``.

Example:
    >>> from greybox.lang.parser import parse_program
    >>> prog = parse_program("0.5::coin. win(X):-roll(X),X>=5,not lost(X). q(X,Y):-Y is (X+1)*2.")
    >>> print(format_program(prog), end="")
    0.5 :: coin.
    win(X) :- roll(X), X >= 5, \\+ lost(X).
    q(X, Y) :- Y is (X + 1) * 2.
"""

from __future__ import annotations

import re
from collections import deque

from .ast import (
    Aggregate,
    AnnotatedDisjunction,
    Assign,
    Atom,
    BinOp,
    BuiltinDomain,
    Clause,
    Comparison,
    Const,
    DomainDeclaration,
    Learnable,
    Neg,
    Negation,
    NeuralDeclaration,
    Probability,
    Program,
    Query,
    RangeDomain,
    SetDomain,
    TypeDeclaration,
    Var,
)
from .walk import fold_expr

__all__ = [
    "format_program",
    "format_statement",
    "format_literal",
    "format_expr",
    "format_atom",
    "format_constant",
    "format_weight",
    "format_domain",
]

#: A body longer than this goes on indented lines of its own.
LINE_WIDTH = 100

_PLAIN_NAME = re.compile(r"[a-z][A-Za-z0-9_]*\Z")
# Names that read as an operator in some positions (`X is Y`, `X mod Y`, `not p`):
# a constant spelled like one is quoted so that it can never be misread.
_KEYWORDS = frozenset({"is", "mod", "not"})
_PROLOG_OPS = {"<=": "=<", "!=": "\\="}
# How tightly each arithmetic operator binds; unary minus and operands bind tighter still.
_STRENGTH = {"+": 1, "-": 1, "*": 2, "//": 2, "mod": 2}
_UNARY = 3
_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def format_program(program: Program) -> str:
    """The whole program, one statement per line (a long rule spreads over several).

    Args:
        program: the program to print.

    Returns:
        Source text ending with a newline (empty for an empty program).

    Example:
        >>> from greybox.lang.ast import Atom, Clause, Const, Program
        >>> format_program(Program((Clause(Atom("parent", (Const("ann"), Const("Bob Smith")))),)))
        "parent(ann, 'Bob Smith').\\n"
    """
    return "".join(format_statement(s) + "\n" for s in program.statements)


def format_statement(statement) -> str:
    """One statement, ending with ``.``.

    Args:
        statement: a ``Clause``, ``AnnotatedDisjunction``, ``NeuralDeclaration``,
            ``DomainDeclaration``, ``TypeDeclaration`` or ``Query``.

    Returns:
        Its canonical source text.

    Raises:
        TypeError: if ``statement`` is not a statement node.

    Example:
        >>> from greybox.lang.parser import parse_statement
        >>> format_statement(parse_statement("0.2::heads(C);0.8::tails(C):-coin(C)"))
        '0.2 :: heads(C) ; 0.8 :: tails(C) :- coin(C).'
        >>> format_statement(parse_statement("nn(net,[X],Y,[0..9])::digit(X,Y)"))
        'nn(net, [X], Y, [0..9]) :: digit(X, Y).'
    """
    if isinstance(statement, Clause):
        head = format_atom(statement.head)
        if statement.weight is not None:
            head = f"{format_weight(statement.weight)} :: {head}"
        return _with_body(head, statement.body)
    if isinstance(statement, AnnotatedDisjunction):
        heads = " ; ".join(f"{format_weight(p)} :: {format_atom(a)}" for p, a in statement.heads)
        return _with_body(heads, statement.body)
    if isinstance(statement, NeuralDeclaration):
        inputs = ", ".join(v.name for v in statement.inputs)
        domain = statement.domain
        if isinstance(domain, RangeDomain):
            classes = f"[{domain.low}..{domain.high}]"
        elif isinstance(domain, SetDomain):
            classes = "[" + ", ".join(format_constant(c) for c in domain.values) + "]"
        else:
            classes = format_domain(domain)
        model = format_constant(Const(statement.model))
        return f"nn({model}, [{inputs}], {statement.output.name}, {classes}) :: {format_atom(statement.atom)}."
    if isinstance(statement, DomainDeclaration):
        return f"domain {statement.name} = {format_domain(statement.domain)}."
    if isinstance(statement, TypeDeclaration):
        name = _format_predicate(statement.predicate)
        if not statement.domains:
            return f"type {name}."
        return f"type {name}(" + ", ".join(format_constant(Const(d)) for d in statement.domains) + ")."
    if isinstance(statement, Query):
        return "?- " + ", ".join(format_literal(lit) for lit in statement.body) + "."
    raise TypeError(f"not a statement: {statement!r}")


def _with_body(head: str, body: tuple) -> str:
    if not body:
        return head + "."
    literals = [format_literal(lit) for lit in body]
    one_line = f"{head} :- " + ", ".join(literals) + "."
    if len(one_line) <= LINE_WIDTH:
        return one_line
    return f"{head} :-\n    " + ",\n    ".join(literals) + "."


def format_literal(literal) -> str:
    """One body literal.

    Args:
        literal: an ``Atom``, ``Negation``, ``Comparison``, ``Assign`` or ``Aggregate``.

    Returns:
        Its source text (negation as ``\\+``, comparisons in their Prolog spelling).

    Raises:
        TypeError: if ``literal`` is not a literal node.

    Example:
        >>> from greybox.lang.ast import Comparison, Var
        >>> format_literal(Comparison("<=", Var("X"), Var("Y")))
        'X =< Y'
        >>> from greybox.lang.parser import parse_query
        >>> format_literal(parse_query("N = count{C : parent(P, C)}").body[0])
        'N = count{C : parent(P, C)}'
    """
    if isinstance(literal, Atom):
        return format_atom(literal)
    if isinstance(literal, Negation):
        return "\\+ " + format_atom(literal.atom)
    if isinstance(literal, Comparison):
        op = _PROLOG_OPS.get(literal.op, literal.op)
        return f"{format_expr(literal.left)} {op} {format_expr(literal.right)}"
    if isinstance(literal, Assign):
        return f"{literal.target.name} is {format_expr(literal.expr)}"
    if isinstance(literal, Aggregate):
        variables = ", ".join(v.name for v in literal.vars)
        body = ", ".join(format_literal(lit) for lit in literal.body)
        listed = f"{variables} : " if variables else ": "
        return f"{literal.result.name} = {literal.op}{{{listed}{body}}}"
    raise TypeError(f"not a literal: {literal!r}")


def format_expr(expr) -> str:
    """An arithmetic expression with the fewest parentheses that keep its meaning.

    Args:
        expr: a ``Var``, ``Const``, ``BinOp`` or ``Neg``.

    Returns:
        Its source text.

    Raises:
        TypeError: if ``expr`` is not an expression node.

    Example:
        >>> from greybox.lang.ast import BinOp, Const, Neg, Var
        >>> format_expr(BinOp("-", Var("A"), BinOp("-", Var("B"), Const(1))))
        'A - (B - 1)'
        >>> format_expr(BinOp("*", Neg(Var("A")), BinOp("max", Var("B"), Const(-2))))
        '-A * max(B, -2)'
    """
    if isinstance(expr, Var):
        return expr.name
    if isinstance(expr, Const):
        return format_constant(expr)
    if not isinstance(expr, (BinOp, Neg)):
        raise TypeError(f"not an expression: {expr!r}")
    # bottom-up without recursion (a long sum nests thousands of levels deep);
    # each value is (pieces of text, how tightly its outermost operator binds)
    return "".join(fold_expr(expr, _leaf_text, _neg_text, _binop_text)[0])


def _leaf_text(expr) -> tuple[deque[str], int]:
    return deque((expr.name if expr.__class__ is Var else format_constant(expr),)), _UNARY


def _neg_text(expr: Neg, operand: tuple[deque[str], int]) -> tuple[deque[str], int]:
    pieces, strength = operand
    inner = expr.operand
    # `-(3)` keeps Neg(Const(3)) apart from the constant -3
    if strength < _UNARY or (inner.__class__ is Const and isinstance(inner.value, int)):
        pieces.appendleft("-(")
        pieces.append(")")
    else:
        pieces.appendleft("-")
    return pieces, _UNARY


def _binop_text(expr: BinOp, left: tuple[deque[str], int], right: tuple[deque[str], int]) -> tuple[deque[str], int]:
    lp, ls = left
    rp, rs = right
    if expr.op in ("min", "max"):
        lp.appendleft(f"{expr.op}(")
        lp.append(", ")
        lp += rp
        lp.append(")")
        return lp, _UNARY
    strength = _STRENGTH[expr.op]
    if ls < strength:
        lp.appendleft("(")
        lp.append(")")
    lp.append(f" {expr.op} ")
    if rs <= strength:  # the operators group to the left
        lp.append("(")
        lp += rp
        lp.append(")")
    else:
        lp += rp
    return lp, strength


def _strength(expr) -> int:
    if isinstance(expr, BinOp) and expr.op in _STRENGTH:
        return _STRENGTH[expr.op]
    return _UNARY


def format_atom(atom: Atom) -> str:
    """``predicate(arg, ...)``, or just ``predicate`` for a zero-arity atom.

    Example:
        >>> from greybox.lang.ast import Atom, Const, Var
        >>> format_atom(Atom("likes", (Var("X"), Const("ice cream"))))
        "likes(X, 'ice cream')"
    """
    name = _format_predicate(atom.predicate)
    if not atom.args:
        return name
    args = ", ".join(a.name if isinstance(a, Var) else format_constant(a) for a in atom.args)
    return f"{name}({args})"


def _format_predicate(name: str) -> str:
    return name if _PLAIN_NAME.match(name) else _quote(name)


def format_constant(const: Const) -> str:
    """An integer, a plain lowercase name, or quoted text.

    Example:
        >>> from greybox.lang.ast import Const
        >>> [format_constant(Const(v)) for v in (-3, "ann", "Ann", "is", "it's")]
        ['-3', 'ann', "'Ann'", "'is'", "'it\\\\'s'"]
    """
    value = const.value
    if isinstance(value, int):
        return str(value)
    if _PLAIN_NAME.match(value) and value not in _KEYWORDS:
        return value
    return _quote(value)


def _quote(text: str) -> str:
    out = []
    for c in text:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif c.isprintable():
            out.append(c)
        elif ord(c) < 0x100:
            out.append(f"\\x{ord(c):02x}")
        elif ord(c) < 0x10000:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(f"\\U{ord(c):08x}")
    return "'" + "".join(out) + "'"


def format_weight(weight) -> str:
    """``0.7`` for a fixed probability, ``t(0.5)`` or ``t(_)`` for a learnable one.

    The probability is printed as Python's ``repr`` of the float, which reads back
    as exactly the same float.

    Example:
        >>> from greybox.lang.ast import Learnable, Probability
        >>> [format_weight(w) for w in (Probability(0.1), Probability(1), Learnable(), Learnable(1e-05))]
        ['0.1', '1.0', 't(_)', 't(1e-05)']
    """
    if isinstance(weight, Probability):
        return repr(float(weight.value) + 0.0)  # + 0.0 turns -0.0 into 0.0
    if isinstance(weight, Learnable):
        return "t(_)" if weight.initial is None else f"t({float(weight.initial) + 0.0!r})"
    raise TypeError(f"not a weight: {weight!r}")


def format_domain(domain) -> str:
    """The right-hand side of a domain declaration: ``0..9``, ``{a, b}``, ``int`` or ``symbol``.

    Example:
        >>> from greybox.lang.ast import Const, RangeDomain, SetDomain
        >>> format_domain(RangeDomain(-1, 1)), format_domain(SetDomain((Const("red"), Const(2))))
        ('-1..1', '{red, 2}')
    """
    if isinstance(domain, RangeDomain):
        return f"{domain.low}..{domain.high}"
    if isinstance(domain, SetDomain):
        return "{" + ", ".join(format_constant(c) for c in domain.values) + "}"
    if isinstance(domain, BuiltinDomain):
        return domain.name
    raise TypeError(f"not a domain: {domain!r}")
