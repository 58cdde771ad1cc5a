"""Exact 64-bit integer arithmetic: the one definition both evaluators share.

Integers in the rule language are 64-bit (``-2**63 .. 2**63-1``). An operation whose
exact result lies outside that range raises ``ArithmeticOverflowError``; it never
wraps around (the tensor engine's int64) nor grows without bound (Python's ``int``).
The reference evaluator checks its results here; the tensor engine detects overflow
in int64 itself (``greybox.engine.expr``) and builds the same error here, so both
evaluators raise the same error with the same message and location.

Division and modulo by zero are not errors: the value is undefined and the literal
fails for that binding (no tuple is derived), as a comparison that does not hold.

This module does not import torch.

Example:
    >>> binop("*", 3, -4)
    -12
    >>> binop("*", 2**62, 4)
    Traceback (most recent call last):
    ...
    greybox.errors.ArithmeticOverflowError: integer overflow: 4611686018427387904 * 4 = 18446744073709551616 is outside the 64-bit range
    hint: integers are 64-bit (-9223372036854775808 .. 9223372036854775807): bound the values with a comparison before the arithmetic (e.g. `X < 1000000, Y is X * X`)
"""

from __future__ import annotations

from typing import Iterable

from ..errors import ArithmeticOverflowError, GreyboxError, TypeCheckError

__all__ = [
    "INT64_MIN", "INT64_MAX", "ArithmeticOverflowError", "fits", "overflow", "binop", "negate", "total", "located",
    "check_facts",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_HINT = (
    f"integers are 64-bit ({INT64_MIN} .. {INT64_MAX}): bound the values with a comparison "
    "before the arithmetic (e.g. `X < 1000000, Y is X * X`)"
)


def fits(value: int) -> bool:
    """Whether ``value`` is a 64-bit integer.

    >>> fits(2**63 - 1), fits(2**63), fits(-2**63)
    (True, False, True)
    """
    return INT64_MIN <= value <= INT64_MAX


def _describe(operation: str, operands: tuple, exact: int) -> str:
    if operation == "neg":
        return f"-({operands[0]}) = {exact}"
    if operation == "sum":
        return f"sum{{...}} of {operands[0]:,} values = {exact}"
    a, b = operands
    return f"{a} {operation} {b} = {exact}"


def overflow(operation: str, operands: tuple, exact: int) -> ArithmeticOverflowError:
    """The error for an operation whose exact result ``exact`` is outside the 64-bit range.

    Args:
        operation: ``+ - * //`` for a binary operator, ``neg`` for unary minus, ``sum`` for
            the aggregate (then ``operands`` is ``(number of values,)``).
        operands: the operands' values.
        exact: the exact result.
    """
    return ArithmeticOverflowError(
        f"integer overflow: {_describe(operation, operands, exact)} is outside the 64-bit range",
        operation=operation, operands=operands, hint=_HINT,
    )


def _check(operation: str, operands: tuple, exact: int) -> int:
    if not INT64_MIN <= exact <= INT64_MAX:
        raise overflow(operation, operands, exact)
    return exact


def binop(op: str, a: int, b: int) -> int:
    """``a op b`` for ``op`` in ``+ - * // mod min max``, exactly; ``//`` and ``mod`` floor (Python's).

    Raises:
        ArithmeticOverflowError: the result is outside the 64-bit range.
        ZeroDivisionError: ``//`` or ``mod`` by zero (the caller makes the literal fail).

    >>> binop("//", -7, 2), binop("mod", -7, 3), binop("max", 2, 5)
    (-4, 2, 5)
    """
    if op == "+":
        return _check(op, (a, b), a + b)
    if op == "-":
        return _check(op, (a, b), a - b)
    if op == "*":
        return _check(op, (a, b), a * b)
    if op == "//":
        return _check(op, (a, b), a // b)
    if op == "mod":
        return a % b  # between 0 and the divisor: never outside the range of its operands
    if op == "min":
        return min(a, b)
    if op == "max":
        return max(a, b)
    raise ValueError(f"unknown arithmetic operator {op!r}")


def negate(a: int) -> int:
    """``-a``, exactly (``-(-2**63)`` overflows).

    >>> negate(5)
    -5
    """
    return _check("neg", (a,), -a)


def total(values: Iterable[int]) -> int:
    """The aggregate ``sum``: exact, and an error when the total (not a partial sum) is out of range.

    >>> total([2**62, 2**62, -2**62])
    4611686018427387904
    """
    vals = list(values)
    return _check("sum", (len(vals),), sum(vals))


def located(err: GreyboxError, clause, *, what: str | None = None) -> GreyboxError:
    """A copy of ``err`` that says which rule raised it: ``file:line`` of ``clause`` and its head.

    An error that already has a location is returned as it is.

    Args:
        err: an ``ArithmeticOverflowError`` or ``ResourceLimitError`` raised while a rule body ran.
        clause: the rule (a ``Clause``) or query (a ``Query``) being evaluated.
        what: how to name it (default: ``the rule for 'HEAD'`` or ``the query``).
    """
    if err.line is not None or getattr(err, "_located", False):
        return err
    span = getattr(clause, "span", None)
    head = getattr(clause, "head", None)
    if what is None:
        what = f"the rule for '{head.predicate}'" if head is not None else "the query"
    # the constructor's keywords are the error's own attributes (hint, operation, relation, ...)
    kw = {k: v for k, v in vars(err).items()
          if k not in ("message", "file", "line", "column", "source_line") and not k.startswith("_")}
    line = getattr(span, "line", 0) or None
    new = type(err)(
        f"{err.message} (in {what})", **kw,
        file=getattr(span, "file", None) if line else None, line=line,
        column=(getattr(span, "column", 0) or None) if line else None,
    )
    new._located = True
    return new


def check_facts(facts: Iterable) -> None:
    """Raise when a fact holds an integer outside the 64-bit range (e.g. read from a data file).

    Args:
        facts: ``InputFact``s (rule weights, with no relation, are skipped).

    Raises:
        TypeCheckError: naming the fact and where it was read.
    """
    for f in facts:
        if f.relation is None:
            continue
        for v in f.args:
            if isinstance(v, int) and not INT64_MIN <= v <= INT64_MAX:
                span = getattr(f, "span", None)
                line = getattr(span, "line", 0) or None
                raise TypeCheckError(
                    f"the fact {f.relation}({', '.join(map(str, f.args))}) holds the integer {v}, "
                    "outside the 64-bit range",
                    file=getattr(span, "file", None) if line else None, line=line,
                    hint=f"integers are 64-bit ({INT64_MIN} .. {INT64_MAX}): write larger numbers as symbols",
                )
