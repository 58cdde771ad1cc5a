"""The intermediate values of the parser's reductions and their conversion into AST terms.

A reduction of :mod:`greybox.lang.parser` cannot always tell what its children
will become: ``name(args)`` is an atom, a weight or ``min``/``max`` by context,
``0.5`` is only valid as a probability, a list only inside ``nn(...)``. Such
children stay intermediate values (:class:`_Call`, :class:`_Float`,
:class:`_List`, :class:`_Range`, :class:`_Agg`, :class:`_NN`, :class:`_Pending`)
until :class:`~greybox.lang.builder._Builder` knows their place; the helpers
here turn them (and raw tokens ``(type, text, line, column)``) into terms,
expressions, atoms, integers, probabilities and names, or raise a
:class:`_Problem` at the value's position when they cannot.

Example:
    >>> from greybox.lang.ast import Span
    >>> half = _Float("0.5", Span("k.dl", 1, 3, 1, 6))
    >>> _describe_value(half)
    'the number 0.5'
    >>> try:
    ...     _expr(half)
    ... except _Problem as p:
    ...     print(p.line, p.column, p.message)
    1 3 0.5 is not an integer
    >>> _int(("INT", "42", 1, 1)), _probability("0.25", ("FLOAT", "0.25", 1, 1)), _name(("NAME", "edge", 1, 1))
    (42, 0.25, 'edge')
"""

from __future__ import annotations

import re
from typing import Any, Callable

from .ast import Atom, BinOp, Const, Neg, Span, Var

__all__ = [
    "_Agg",
    "_Call",
    "_Float",
    "_List",
    "_NN",
    "_Pending",
    "_Problem",
    "_Range",
    "_WEIGHT_HINT",
    "_atom",
    "_describe_value",
    "_end",
    "_expr",
    "_int",
    "_name",
    "_not_integer",
    "_probability",
    "_start",
    "_term",
    "_unescape",
]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_ARG_HINT = "an argument is a variable or a constant; compute other values first, e.g. `Y is X + 1, p(Y)`"
_WEIGHT_HINT = "a weight is a probability between 0 and 1 (`0.7 :: f(a).`) or a learnable `t(0.5)` / `t(_)`"


# ---------------------------------------------------------------- positions


def _start(x: Any) -> tuple[int, int]:
    if x.__class__ is tuple:
        return x[2], x[3]
    if isinstance(x, list):
        return _start(x[0])
    return x.span.line, x.span.column


def _end(x: Any) -> tuple[int, int]:
    if x.__class__ is tuple:
        return x[2], x[3] + len(x[1])
    if isinstance(x, list):
        return _end(x[-1])
    s = x.span
    return s.end_line, s.end_column


# ---------------------------------------------------------------- problems


class _Problem(Exception):
    """A semantic error found while building a node; turned into a ParseError by ``_parse``."""

    def __init__(self, message: str, at: Any, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.line, self.column = _start(at)
        self.hint = hint


# ---------------------------------------------------------------- intermediate values


class _Call:
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


class _Float:
    __slots__ = ("text", "span")

    def __init__(self, text: str, span: Span) -> None:
        self.text, self.span = text, span


class _List:
    __slots__ = ("items", "span")

    def __init__(self, items: list, span: Span) -> None:
        self.items, self.span = items, span


class _Range:
    __slots__ = ("low", "high", "span")

    def __init__(self, low: int, high: int, span: Span) -> None:
        self.low, self.high, self.span = low, high, span


class _Agg:
    __slots__ = ("op", "vars", "body", "span")

    def __init__(self, op: str, vars: tuple, body: tuple, span: Span) -> None:
        self.op, self.vars, self.body, self.span = op, vars, body, span


class _NN:
    __slots__ = ("model", "inputs", "output", "domain", "span")

    def __init__(self, model: str, inputs: tuple, output: Var, domain: Any, span: Span) -> None:
        self.model, self.inputs, self.output, self.domain, self.span = model, inputs, output, domain, span


class _Pending:
    """A statement without its final span (the ``.`` is read after it)."""

    __slots__ = ("make", "args", "span")

    def __init__(self, make: Callable, args: tuple, span: Span) -> None:
        self.make, self.args, self.span = make, args, span


_EXPR_CLASSES = frozenset({Var, Const, BinOp, Neg})


def _describe_value(x: Any) -> str:
    if isinstance(x, _Call):
        return f"the term {x.name}(...)"
    if isinstance(x, _Float):
        return f"the number {x.text}"
    if isinstance(x, _List):
        return "a list"
    if isinstance(x, _Range):
        return f"the range {x.low}..{x.high}"
    if isinstance(x, _Agg):
        return f"the aggregate {x.op}{{...}}"
    if isinstance(x, (BinOp, Neg)):
        return "an arithmetic expression"
    if isinstance(x, Var):
        return f"the variable {x.name}"
    if isinstance(x, Const):
        return f"the constant {x.value!r}"
    return "this"


def _not_integer(x: _Float) -> _Problem:
    return _Problem(
        f"{x.text} is not an integer",
        x,
        "constants and arithmetic are integers; a number with a point is only a probability, as in `0.7 :: f(a).`",
    )


def _expr(x: Any) -> Any:
    """``x`` used in arithmetic or a comparison."""
    if x.__class__ in _EXPR_CLASSES:
        return x
    if isinstance(x, _Call):
        f = x.function()
        if f is not None:
            return f
        if x.name in ("min", "max"):
            raise _Problem(f"{x.name} takes two arguments", x, f"write `{x.name}(A, B)`")
        raise _Problem(
            f"`{x.name}(...)` is not an arithmetic function",
            x,
            "arithmetic has + - * // mod, unary -, min(A, B) and max(A, B); test an atom as its own literal",
        )
    if isinstance(x, _Float):
        raise _not_integer(x)
    if isinstance(x, _Agg):
        raise _Problem(
            "an aggregate must stand alone on one side of `=`", x, "write `N = count{X : p(X)}` as its own literal"
        )
    raise _Problem(f"{_describe_value(x)} cannot be used here", x, "lists only appear in `nn(...)` declarations")


def _term(x: Any) -> Any:
    """``x`` used as an argument of an atom."""
    if x.__class__ is Var or x.__class__ is Const:
        return x
    if isinstance(x, _Float):
        raise _not_integer(x)
    raise _Problem(f"{_describe_value(x)} cannot be an argument", x, _ARG_HINT)


def _atom(call: _Call) -> Atom:
    """``name(args)`` read as an atom (a head, a body literal or a negated one)."""
    args = tuple(call.args)
    for a in args:
        if a.__class__ is not Var and a.__class__ is not Const:
            if call.name == "not" and isinstance(a, _Call):
                raise _Problem("`not(...)` around an atom is not supported", call, "write `\\+ p(X)` or `not p(X)`")
            _term(a)
    return Atom(call.name, args, call.span)


def _int(tok: tuple) -> int:
    text = tok[1]
    # (the length test keeps int() away from its limit on very long digit strings)
    if len(text.lstrip("-0")) > 19 or not (_INT64_MIN <= (value := int(text)) <= _INT64_MAX):
        raise _Problem(
            f"integer {text[:24]}{'...' if len(text) > 24 else ''} is out of range",
            tok,
            "integers are 64-bit: between -9223372036854775808 and 9223372036854775807",
        )
    return value


def _probability(text: str, at: Any) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise _Problem(f"probability {text} is not between 0 and 1", at, _WEIGHT_HINT)
    return value + 0.0  # -0.0 -> 0.0


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
            "\\": "\\", "'": "'", '"': '"'}  # fmt: skip
_ESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)")


def _unescape(tok: tuple) -> str:
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
        raise _Problem(
            f"unknown escape \\{code[0]} in a quoted string",
            ("STRING", "", line, column),
            "use \\\\ for a backslash, \\' or \\\" for a quote, \\n \\t \\r, or \\xHH \\uHHHH \\UHHHHHHHH",
        )

    return _ESCAPE_RE.sub(replace, body)


def _name(tok: tuple) -> str:
    return tok[1] if tok[0] == "NAME" else _unescape(tok)
