"""Integer intervals: the value range of one argument or variable, and arithmetic on them.

An interval is a pair ``(lo, hi)`` of Python ints with ``lo <= hi``; ``None`` is the
empty interval (no value at all). Arithmetic is sound: every value an expression can
take, for arguments inside the given intervals, lies inside the result. Values that
are undefined (``X // 0``, ``X mod 0``) make the literal fail, so they are left out.
Bounds are clamped to ``±BIG``; an interval that reaches ``BIG`` is unbounded.

Example:
    >>> add((0, 9), (0, 18))
    (0, 27)
    >>> floordiv((0, 19), (10, 10)), mod((0, 19), (10, 10))
    ((0, 1), (0, 9))
    >>> meet((0, 5), (7, 9)) is None
    True
"""

from __future__ import annotations

from typing import Mapping, Optional

from ...lang.ast import BinOp, Const, Expr, Neg, Var
from ...lang.walk import fold_expr

__all__ = [
    "Interval",
    "BIG",
    "meet",
    "hull",
    "point",
    "binary_interval",
    "size",
    "is_bounded",
    "add",
    "sub",
    "mul",
    "neg",
    "floordiv",
    "mod",
    "expr_interval",
    "narrow",
    "decide",
    "affine",
    "leaves_int64",
]

Interval = Optional[tuple[int, int]]

#: bounds are clamped to ±BIG: an interval that reaches it has no useful bound
BIG = 2**62


def _clamp(lo: int, hi: int) -> Interval:
    lo, hi = max(lo, -BIG), min(hi, BIG)
    return (lo, hi) if lo <= hi else None


def point(v: int) -> tuple[int, int]:
    """The interval holding ``v`` alone."""
    return (v, v)


def size(a: Interval) -> int:
    """Number of integers in ``a``.

    >>> size((3, 5)), size(None)
    (3, 0)
    """
    return 0 if a is None else a[1] - a[0] + 1


def is_bounded(a: Interval) -> bool:
    """Neither bound reached ``±BIG`` (an empty interval is bounded)."""
    return a is None or (a[0] > -BIG and a[1] < BIG)


def meet(a: Interval, b: Interval) -> Interval:
    """Intersection."""
    if a is None or b is None:
        return None
    return _clamp(max(a[0], b[0]), min(a[1], b[1]))


def hull(a: Interval, b: Interval) -> Interval:
    """The smallest interval holding both."""
    if a is None:
        return b
    if b is None:
        return a
    return (min(a[0], b[0]), max(a[1], b[1]))


def add(a: Interval, b: Interval) -> Interval:
    if a is None or b is None:
        return None
    return _clamp(a[0] + b[0], a[1] + b[1])


def sub(a: Interval, b: Interval) -> Interval:
    if a is None or b is None:
        return None
    return _clamp(a[0] - b[1], a[1] - b[0])


def neg(a: Interval) -> Interval:
    return None if a is None else (-a[1], -a[0])


def mul(a: Interval, b: Interval) -> Interval:
    if a is None or b is None:
        return None
    c = [x * y for x in a for y in b]
    return _clamp(min(c), max(c))


def _nonzero_parts(b: Interval) -> list[tuple[int, int]]:
    """``b`` without 0, as at most two intervals of one sign each."""
    if b is None:
        return []
    parts = []
    if b[0] < 0:
        parts.append((b[0], min(b[1], -1)))
    if b[1] > 0:
        parts.append((max(b[0], 1), b[1]))
    return parts


def floordiv(a: Interval, b: Interval) -> Interval:
    """``a // b`` (floor division); divisors 0 are left out (the literal fails there)."""
    if a is None:
        return None
    out: Interval = None
    for part in _nonzero_parts(b):
        # floor(x / y) is monotone in x and, for y of one sign, in y: the corners bound it
        c = [x // y for x in a for y in part]
        out = hull(out, (min(c), max(c)))
    return None if out is None else _clamp(*out)


def mod(a: Interval, b: Interval) -> Interval:
    """``a mod b`` with the sign of the divisor (Python's ``%``); divisors 0 are left out."""
    if a is None:
        return None
    out: Interval = None
    for lo, hi in _nonzero_parts(b):
        if lo > 0:
            if a[0] >= 0 and a[1] < lo:
                part = a  # x mod y == x for 0 <= x < y
            else:
                part = (0, hi - 1) if a[0] < 0 else (0, min(a[1], hi - 1))
        else:
            part = (lo + 1, 0) if a[1] > 0 else (max(a[0], lo + 1), 0)
        out = hull(out, part)
    return out


def _minmax(op: str, a: Interval, b: Interval) -> Interval:
    if a is None or b is None:
        return None
    f = min if op == "min" else max
    return (f(a[0], b[0]), f(a[1], b[1]))


def expr_interval(expr: Expr, ranges: Mapping[str, Interval], const=lambda v: v) -> Interval:
    """The values ``expr`` can take when each variable ranges over ``ranges``.

    Args:
        expr: an integer expression of the rule language.
        ranges: the interval of each variable of ``expr``.
        const: maps a constant's value to its integer code (symbols -> ids).

    >>> from greybox.lang.ast import BinOp, Var, Const
    >>> expr_interval(BinOp("+", Var("S0"), Var("D")), {"S0": (0, 9), "D": (0, 9)})
    (0, 18)
    """
    def leaf(e: Var | Const) -> Interval:
        if isinstance(e, Var):
            return ranges[e.name]
        v = const(e.value)
        return None if v is None else point(v)

    return fold_expr(expr, leaf=leaf, unary=lambda e, a: neg(a), binary=lambda e, a, b: binary_interval(e.op, a, b))


def binary_interval(op: str, a: Interval, b: Interval) -> Interval:
    """The values of ``a op b`` for ``a`` and ``b`` in their intervals.

    >>> binary_interval("*", (-2, 3), (1, 4))
    (-8, 12)
    """
    if op == "+":
        return add(a, b)
    if op == "-":
        return sub(a, b)
    if op == "*":
        return mul(a, b)
    if op == "//":
        return floordiv(a, b)
    if op == "mod":
        return mod(a, b)
    if op in ("min", "max"):
        return _minmax(op, a, b)
    raise ValueError(f"unknown arithmetic operator {op!r}")


def narrow(op: str, a: Interval, b: Interval) -> tuple[Interval, Interval]:
    """Intervals of ``a`` and ``b`` restricted to the values that can satisfy ``a op b``.

    >>> narrow("<", (0, 15), (15, 15))
    ((0, 14), (15, 15))
    >>> narrow("=", (0, 9), (5, 20))
    ((5, 9), (5, 9))
    """
    if a is None or b is None:
        return None, None
    if op == "<":
        return meet(a, (a[0], b[1] - 1)), meet(b, (a[0] + 1, b[1]))
    if op == "<=":
        return meet(a, (a[0], b[1])), meet(b, (a[0], b[1]))
    if op == ">":
        nb, na = narrow("<", b, a)
        return na, nb
    if op == ">=":
        nb, na = narrow("<=", b, a)
        return na, nb
    if op == "=":
        m = meet(a, b)
        return m, m
    if op == "!=":
        if a[0] == a[1] == b[0] == b[1]:
            return None, None
        return a, b
    raise ValueError(f"unknown comparison {op!r}")


def decide(op: str, a: Interval, b: Interval) -> bool | None:
    """True (False) when ``a op b`` holds (fails) for every pair of values; None when it depends.

    >>> decide("<", (0, 14), (15, 15)), decide(">=", (0, 14), (15, 15)), decide("<", (0, 15), (15, 15))
    (True, False, None)
    """
    if a is None or b is None:
        return None
    if op == "<":
        return True if a[1] < b[0] else False if a[0] >= b[1] else None
    if op == "<=":
        return True if a[1] <= b[0] else False if a[0] > b[1] else None
    if op == ">":
        return decide("<", b, a)
    if op == ">=":
        return decide("<=", b, a)
    if op == "=":
        if a[0] == a[1] == b[0] == b[1]:
            return True
        return False if meet(a, b) is None else None
    if op == "!=":
        eq = decide("=", a, b)
        return None if eq is None else not eq
    raise ValueError(f"unknown comparison {op!r}")


def affine(expr: Expr, const=lambda v: v) -> tuple[dict[str, int], int] | None:
    """``expr`` as ``sum(coef[v] * v) + c`` when it is linear (``+ - *`` by constants), else None.

    >>> affine(BinOp("-", BinOp("-", Var("N"), Const(1)), Var("X")))
    ({'N': 1, 'X': -1}, -1)
    >>> affine(BinOp("mod", Var("S"), Const(10))) is None
    True
    """
    def leaf(e: Var | Const) -> tuple[dict[str, int], int] | None:
        if isinstance(e, Var):
            return {e.name: 1}, 0
        v = const(e.value)
        return None if v is None else ({}, v)

    def unary(e: Neg, inner) -> tuple[dict[str, int], int] | None:
        return None if inner is None else ({k: -c for k, c in inner[0].items()}, -inner[1])

    def binary(e: BinOp, a, b) -> tuple[dict[str, int], int] | None:
        if e.op not in ("+", "-", "*") or a is None or b is None:
            return None
        if e.op == "*":
            if a[0] and b[0]:
                return None
            (coef, c), k = (a, b[1]) if not b[0] else (b, a[1])
            return {v: x * k for v, x in coef.items() if x * k}, c * k
        sign = 1 if e.op == "+" else -1
        coef = dict(a[0])
        for v, x in b[0].items():
            coef[v] = coef.get(v, 0) + sign * x
        return {v: x for v, x in coef.items() if x}, a[1] + sign * b[1]

    return fold_expr(expr, leaf=leaf, unary=unary, binary=binary)  # bottom-up, without recursion


_INT64 = (-(2**63), 2**63 - 1)


def leaves_int64(expr: Expr, ranges: Mapping[str, Interval], const=lambda v: v) -> bool:
    """Whether ``expr`` or a part of it can take a value outside the 64-bit range.

    Computed with exact (unclamped) intervals, so that a dense grid, which evaluates
    ``expr`` at every point of its variables' ranges, is only used where no point
    overflows; a variable with an empty range makes the answer False (nothing runs).

    >>> from greybox.lang.ast import BinOp, Var, Const
    >>> leaves_int64(BinOp("*", Var("X"), Const(2**61)), {"X": (0, 3)})
    False
    >>> leaves_int64(BinOp("*", Var("X"), Const(2**61)), {"X": (0, 4)})
    True
    """
    out = False

    def outside(r: Interval) -> Interval:
        nonlocal out
        if r is not None and (r[0] < _INT64[0] or r[1] > _INT64[1]):
            out = True
        return r

    def leaf(e: Var | Const) -> Interval:
        if isinstance(e, Var):
            return outside(ranges.get(e.name))
        v = const(e.value)
        return outside(None if v is None else point(v))

    def binary(e: BinOp, a: Interval, b: Interval) -> Interval:
        if a is None or b is None:
            return None
        if e.op in ("+", "-", "*"):
            c = [x + y if e.op == "+" else x - y if e.op == "-" else x * y for x in a for y in b]
            return outside((min(c), max(c)))
        if e.op == "//":
            c = [x // y for x in a for part in _nonzero_parts(b) for y in part]
            return outside((min(c), max(c)) if c else None)
        return outside(mod(a, b) if e.op == "mod" else _minmax(e.op, a, b))

    # bottom-up without recursion; exact (unclamped) bounds
    fold_expr(expr, leaf=leaf, unary=lambda e, r: outside(None if r is None else (-r[1], -r[0])), binary=binary)
    return out
