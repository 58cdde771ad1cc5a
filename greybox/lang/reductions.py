"""The intermediate values of the parser's reductions and their conversion into AST terms.

A reduction of :mod:`greybox.lang.parser` cannot always tell what its children
will become: ``name(args)`` is an atom, a weight or ``min``/``max`` by context,
``0.5`` is only valid as a probability, a list only inside ``nn(...)``. Such
children stay intermediate values (:class:`Call`, :class:`Float`,
:class:`List`, :class:`Range`, :class:`Agg`, :class:`NN`, :class:`Pending`)
until :class:`~greybox.lang.builder.Builder` knows their place; the helpers
here turn them (and raw tokens ``(type, text, line, column)``) into terms,
expressions, atoms, integers, probabilities and names, or raise a
:class:`Problem` at the value's position when they cannot.

Example:
    >>> from greybox.lang.ast import Span
    >>> half = Float("0.5", Span("k.dl", 1, 3, 1, 6))
    >>> describe_value(half)
    'the number 0.5'
    >>> try:
    ...     as_expr(half)
    ... except Problem as p:
    ...     print(p.line, p.column, p.message)
    1 3 0.5 is not an integer
    >>> as_int(("INT", "42", 1, 1)), as_probability("0.25", ("FLOAT", "0.25", 1, 1)), as_name(("NAME", "edge", 1, 1))
    (42, 0.25, 'edge')
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .ast import Atom, BinOp, Const, Neg, Span, Var

__all__ = [
    "Agg",
    "Call",
    "Float",
    "List",
    "NN",
    "Pending",
    "Problem",
    "Range",
    "WEIGHT_HINT",
    "as_atom",
    "describe_value",
    "token_end",
    "as_expr",
    "as_int",
    "as_name",
    "as_probability",
    "token_start",
    "unescape",
]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_ARG_HINT = "an argument is a variable or a constant; compute other values first, e.g. `Y is X + 1, p(Y)`"
WEIGHT_HINT = "a weight is a probability between 0 and 1 (`0.7 :: f(a).`) or a learnable `t(0.5)` / `t(_)`"


# ---------------------------------------------------------------- positions


def token_start(x: Any) -> tuple[int, int]:
    if x.__class__ is tuple:
        return x[2], x[3]
    if isinstance(x, list):
        return token_start(x[0])
    return x.span.line, x.span.column


def token_end(x: Any) -> tuple[int, int]:
    if x.__class__ is tuple:
        return x[2], x[3] + len(x[1])
    if isinstance(x, list):
        return token_end(x[-1])
    s = x.span
    return s.end_line, s.end_column


# ---------------------------------------------------------------- problems


class Problem(Exception):
    """A semantic error found while building a node; turned into a ParseError by ``_parse``."""

    def __init__(self, message: str, at: Any, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.line, self.column = token_start(at)
        self.hint = hint


# ---------------------------------------------------------------- intermediate values


class Call:
    """``name(args)``: an atom, a weight (``t(0.5)``, ``nn(...)``) or ``min``/``max``, by context."""

    __slots__ = ("name", "args", "span")

    def __init__(self, name: str, args: list, span: Span) -> None:
        self.name, self.args, self.span = name, args, span

    def function(self) -> BinOp | None:
        """The call as ``min(A, B)`` / ``max(A, B)`` if it is one whose arguments are expressions."""
        if self.name in ("min", "max") and len(self.args) == 2:
            a, b = self.args
            if a.__class__ in _EXPR_CLASSES and b.__class__ in _EXPR_CLASSES:
                return BinOp(self.name, a, b, self.span)
        return None


class Float:
    __slots__ = ("text", "span")

    def __init__(self, text: str, span: Span) -> None:
        self.text, self.span = text, span


class List:
    __slots__ = ("items", "span")

    def __init__(self, items: list, span: Span) -> None:
        self.items, self.span = items, span


class Range:
    __slots__ = ("low", "high", "span")

    def __init__(self, low: int, high: int, span: Span) -> None:
        self.low, self.high, self.span = low, high, span


class Agg:
    __slots__ = ("op", "vars", "body", "span")

    def __init__(self, op: str, vars: tuple, body: tuple, span: Span) -> None:
        self.op, self.vars, self.body, self.span = op, vars, body, span


class NN:
    __slots__ = ("model", "inputs", "output", "domain", "span")

    def __init__(self, model: str, inputs: tuple, output: Var, domain: Any, span: Span) -> None:
        self.model, self.inputs, self.output, self.domain, self.span = model, inputs, output, domain, span


class Pending:
    """A statement without its final span (the ``.`` is read after it)."""

    __slots__ = ("make", "args", "span")

    def __init__(self, make: Callable, args: tuple, span: Span) -> None:
        self.make, self.args, self.span = make, args, span


_EXPR_CLASSES = frozenset({Var, Const, BinOp, Neg})


def describe_value(x: Any) -> str:
    if isinstance(x, Call):
        return f"the term {x.name}(...)"
    if isinstance(x, Float):
        return f"the number {x.text}"
    if isinstance(x, List):
        return "a list"
    if isinstance(x, Range):
        return f"the range {x.low}..{x.high}"
    if isinstance(x, Agg):
        return f"the aggregate {x.op}{{...}}"
    if isinstance(x, (BinOp, Neg)):
        return "an arithmetic expression"
    if isinstance(x, Var):
        return f"the variable {x.name}"
    if isinstance(x, Const):
        return f"the constant {x.value!r}"
    return "this"


def _not_integer(x: Float) -> Problem:
    return Problem(
        f"{x.text} is not an integer",
        x,
        "constants and arithmetic are integers; a number with a point is only a probability, as in `0.7 :: f(a).`",
    )


def as_expr(x: Any) -> Any:
    """``x`` used in arithmetic or a comparison."""
    if x.__class__ in _EXPR_CLASSES:
        return x
    if isinstance(x, Call):
        f = x.function()
        if f is not None:
            return f
        if x.name in ("min", "max"):
            raise Problem(f"{x.name} takes two arguments", x, f"write `{x.name}(A, B)`")
        raise Problem(
            f"`{x.name}(...)` is not an arithmetic function",
            x,
            "arithmetic has + - * // mod, unary -, min(A, B) and max(A, B); test an atom as its own literal",
        )
    if isinstance(x, Float):
        raise _not_integer(x)
    if isinstance(x, Agg):
        raise Problem(
            "an aggregate must stand alone on one side of `=`", x, "write `N = count{X : p(X)}` as its own literal"
        )
    raise Problem(f"{describe_value(x)} cannot be used here", x, "lists only appear in `nn(...)` declarations")


def _term(x: Any) -> Any:
    """``x`` used as an argument of an atom."""
    if x.__class__ is Var or x.__class__ is Const:
        return x
    if isinstance(x, Float):
        raise _not_integer(x)
    raise Problem(f"{describe_value(x)} cannot be an argument", x, _ARG_HINT)


def as_atom(call: Call) -> Atom:
    """``name(args)`` read as an atom (a head, a body literal or a negated one)."""
    args = tuple(call.args)
    for a in args:
        if a.__class__ is not Var and a.__class__ is not Const:
            if call.name == "not" and isinstance(a, Call):
                raise Problem("`not(...)` around an atom is not supported", call, "write `\\+ p(X)` or `not p(X)`")
            _term(a)
    return Atom(call.name, args, call.span)


def as_int(tok: tuple) -> int:
    text = tok[1]
    # (the length test keeps int() away from its limit on very long digit strings)
    if len(text.lstrip("-0")) > 19 or not (_INT64_MIN <= (value := int(text)) <= _INT64_MAX):
        raise Problem(
            f"integer {text[:24]}{'...' if len(text) > 24 else ''} is out of range",
            tok,
            "integers are 64-bit: between -9223372036854775808 and 9223372036854775807",
        )
    return value


def as_probability(text: str, at: Any) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise Problem(f"probability {text} is not between 0 and 1", at, WEIGHT_HINT)
    return value + 0.0  # -0.0 -> 0.0


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
            "\\": "\\", "'": "'", '"': '"'}  # fmt: skip
_ESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)")


def unescape(tok: tuple) -> str:
    body = tok[1][1:-1]
    if "\\" not in body:
        return body

    def replace(m: re.Match) -> str:
        code = m.group(1)
        if code in _ESCAPES:
            return _ESCAPES[code]
        if len(code) > 1 and int(code[1:], 16) <= 0x10FFFF:
            return chr(int(code[1:], 16))
        line, column = tok[2], tok[3] + 1 + m.start()
        raise Problem(
            f"unknown escape \\{code[0]} in a quoted string",
            ("STRING", "", line, column),
            "use \\\\ for a backslash, \\' or \\\" for a quote, \\n \\t \\r, or \\xHH \\uHHHH \\UHHHHHHHH",
        )

    return _ESCAPE_RE.sub(replace, body)


def as_name(tok: tuple) -> str:
    return tok[1] if tok[0] == "NAME" else unescape(tok)
