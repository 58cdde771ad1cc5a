"""Integer arithmetic and comparisons over the columns of a ``Frame``, exact in 64 bits.

What is exact and what is an error is defined once in ``greybox.engine.int64``; this
module computes it on tensors.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..lang.ast import Const, Expr, Neg, Var
from ..lang.walk import fold_expr
from . import int64
from .frame import Frame
from .symbols import SymbolTable

__all__ = ["eval_expr", "apply_binop", "negate", "segment_sum", "compare", "const_code"]

_MIN, _MAX = int64.INT64_MIN, int64.INT64_MAX


def const_code(value: int | str, symbols: SymbolTable) -> int:
    """The int64 code of a constant: integers as themselves, symbols by their id."""
    return value if isinstance(value, int) else symbols.encode(value)


def eval_expr(expr: Expr, frame: Frame, symbols: SymbolTable, live: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Evaluate ``expr`` for every row of ``frame``, exactly in 64 bits.

    Operands are evaluated left to right, as the reference evaluator does: a part that
    is undefined makes the rest of the expression unevaluated for that row, so an
    overflow there is not an error.

    Args:
        live: ``(M,)`` bool, the rows whose values count (default: all); overflow in other
            rows is ignored.

    Returns:
        ``(values, ok)``: ``(M,)`` int64 values and an ``(M,)`` bool mask that is
        False where the value is undefined (``X // 0``, ``X mod 0``): such rows fail.

    Raises:
        ArithmeticOverflowError: the exact value in a live row is outside the 64-bit range.
    """
    m = len(frame)
    dev = frame.sample.device
    if live is None:
        live = torch.ones(m, dtype=torch.bool, device=dev)
    if isinstance(expr, Var):
        return frame.vals[expr.name], torch.ones(m, dtype=torch.bool, device=dev)
    if isinstance(expr, Const):
        v = const_code(expr.value, symbols)
        return torch.full((m,), v, dtype=torch.int64, device=dev), torch.ones(m, dtype=torch.bool, device=dev)
    # A postfix program on a stack, so that no expression is too deep for Python's recursion.
    # Left to right: the operands already on the stack are the left operands of the nodes
    # above, and a row where one of them is undefined does not count for what follows
    # (``context``: ``live`` and every ``ok`` on the stack; ``None`` for all True).
    code: list = []
    fold_expr(expr, leaf=code.append, unary=lambda e, _: code.append(e), binary=lambda e, _a, _b: code.append(e))
    values: list[tuple[Tensor, Tensor | None]] = []
    context: list[Tensor] = [live]
    for e in code:
        if isinstance(e, Var):
            values.append((frame.vals[e.name], None))
        elif isinstance(e, Const):
            values.append((torch.full((m,), const_code(e.value, symbols), dtype=torch.int64, device=dev), None))
        elif isinstance(e, Neg):
            v, ok = values.pop()
            context.pop()
            here = context[-1]
            values.append((negate(v, here if ok is None else ok & here), ok))
        else:
            (b, ok_b), (a, ok_a) = values.pop(), values.pop()
            context.pop()
            context.pop()
            ok = torch.ones(m, dtype=torch.bool, device=dev) if ok_a is None and ok_b is None else (
                ok_b if ok_a is None else ok_a if ok_b is None else ok_a & ok_b)
            values.append(apply_binop(e.op, a, b, ok, context[-1]))
        ok_top = values[-1][1]
        context.append(context[-1] if ok_top is None else context[-1] & ok_top)
    value, ok = values[0]
    return value, torch.ones(m, dtype=torch.bool, device=dev) if ok is None else ok


def _first_overflow(op: str, bad: Tensor, *operands: Tensor) -> None:
    """Raise the overflow of the first row of ``bad`` (one read from the device when there is one)."""
    if not bool(bad.any()):
        return
    bad, *operands = torch.broadcast_tensors(bad, *operands)
    i = int(bad.reshape(-1).nonzero()[0, 0])
    vals = tuple(int(t.reshape(-1)[i]) for t in operands)
    if op == "neg":
        raise int64.overflow(op, vals, -vals[0])
    exact = {"+": vals[0] + vals[1], "-": vals[0] - vals[1], "*": vals[0] * vals[1]}
    raise int64.overflow(op, vals, exact[op] if op in exact else vals[0] // vals[1])


def _may_overflow(op: str, a: Tensor, b: Tensor | None = None) -> bool:
    """Whether ``a op b`` can leave int64 for some row, from the operands' bounds (one read from the device).

    Most arithmetic is on small values: then no row needs the exact test.
    """
    if a.numel() == 0 or (b is not None and b.numel() == 0):
        return False
    parts = [a.min(), a.max()] + ([b.min(), b.max()] if b is not None else [])
    bounds = torch.stack(parts).tolist()
    if op == "neg":
        return bounds[0] == _MIN
    (la, ha), (lb, hb) = bounds[:2], bounds[2:]
    if op == "//":
        return la == _MIN and lb <= -1 <= hb
    if op == "+":
        corners = (la + lb, ha + hb)
    elif op == "-":
        corners = (la - hb, ha - lb)
    else:
        corners = (la * lb, la * hb, ha * lb, ha * hb)
    return min(corners) < _MIN or max(corners) > _MAX


def negate(a: Tensor, live: Tensor) -> Tensor:
    """``-a``; raises ``ArithmeticOverflowError`` where ``live`` and ``a == -2**63``."""
    if _may_overflow("neg", a):
        _first_overflow("neg", live & (a == _MIN), a)
    return -a


def _mul_overflows(a: Tensor, b: Tensor) -> Tensor:
    """Where ``a * b`` leaves int64, decided by divisions that cannot themselves overflow or trap."""
    one = torch.ones((), dtype=a.dtype, device=a.device)
    pa, pb, na = a > 0, b > 0, a < 0
    pos_a = torch.where(pa, a, one)  # divisors are never 0 and never -1 under -2**63
    pos_b = torch.where(pb, b, one)
    neg_a = torch.where(na, a, -one)
    top = torch.full((), _MAX, dtype=a.dtype, device=a.device)
    bottom = torch.full((), _MIN, dtype=a.dtype, device=a.device)
    return (
        (pa & pb & (a > torch.div(top, pos_b, rounding_mode="trunc")))
        | (pa & ~pb & (b < torch.div(bottom, pos_a, rounding_mode="trunc")))
        | (~pa & pb & (a < torch.div(bottom, pos_b, rounding_mode="trunc")))
        | (na & ~pb & (b < torch.div(top, neg_a, rounding_mode="trunc")))
    )


def apply_binop(op: str, a: Tensor, b: Tensor, ok: Tensor, live: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """``a op b`` elementwise, exactly in 64 bits, and where it is defined (``ok`` and no division by zero).

    Floor division and modulo follow Python (and Prolog's mod): the sign of the divisor.
    Overflow is detected in int64 itself (sums by the signs of the operands, products by a
    division), never through floating point.

    Args:
        live: where an overflow is an error (default: everywhere ``ok``); tensors broadcast.

    Raises:
        ArithmeticOverflowError: the exact result of a row that is ``ok`` and ``live`` is
            outside the 64-bit range.

    >>> v, ok = apply_binop("mod", torch.tensor([7, -7, 1]), torch.tensor([3, 3, 0]), torch.ones(3, dtype=torch.bool))
    >>> v.tolist()[:2], ok.tolist()
    ([1, 2], [True, True, False])
    >>> apply_binop("*", torch.tensor([2**62]), torch.tensor([4]), torch.ones(1, dtype=torch.bool))
    Traceback (most recent call last):
    ...
    greybox.errors.ArithmeticOverflowError: integer overflow: 4611686018427387904 * 4 = 18446744073709551616 is outside the 64-bit range
    hint: integers are 64-bit (-9223372036854775808 .. 9223372036854775807): bound the values with a comparison before the arithmetic (e.g. `X < 1000000, Y is X * X`)
    """
    if op in ("+", "-", "*") and not _may_overflow(op, a, b):
        return (a + b if op == "+" else a - b if op == "-" else a * b), ok
    check = ok if live is None else ok & live
    if op == "+":
        # a + b > MAX  <=>  a > MAX - b (b > 0);  a + b < MIN  <=>  a < MIN - b (b < 0)
        over = (a > _MAX - b.clamp_min(0)) | (a < _MIN - b.clamp_max(0))
        _first_overflow(op, check & over, a, b)
        return a + torch.where(over, torch.zeros_like(b), b), ok
    if op == "-":
        over = (a > _MAX + b.clamp_max(0)) | (a < _MIN + b.clamp_min(0))
        _first_overflow(op, check & over, a, b)
        return a - torch.where(over, torch.zeros_like(b), b), ok
    if op == "*":
        over = _mul_overflows(a, b)
        _first_overflow(op, check & over, a, b)
        return a * torch.where(over, torch.zeros_like(b), b), ok
    if op == "min":
        return torch.minimum(a, b), ok
    if op == "max":
        return torch.maximum(a, b), ok
    nonzero = b != 0
    # -2**63 // -1 is 2**63; the hardware traps on it, so it is never computed
    trap = (a == _MIN) & (b == -1)
    safe_b = torch.where(nonzero & ~trap, b, torch.ones_like(b))
    if op == "//":
        _first_overflow(op, (ok if live is None else ok & live) & nonzero & trap, a, b)
        return torch.div(a, safe_b, rounding_mode="floor"), ok & nonzero
    if op == "mod":
        return torch.remainder(a, safe_b), ok & nonzero  # x mod 1 == x mod -1 == 0
    raise ValueError(f"unknown arithmetic operator {op!r}")


def compare(op: str, a: Tensor, b: Tensor) -> Tensor:
    """``(M,)`` bool for ``a op b`` with ``op`` in ``< <= > >= = !=``."""
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    if op == "=":
        return a == b
    if op == "!=":
        return a != b
    raise ValueError(f"unknown comparison {op!r}")


def segment_sum(values: Tensor, segments: Tensor, n: int) -> Tensor:
    """``(n,)`` exact int64 sums of ``values`` ``(D,)`` per segment id ``segments`` ``(D,)``.

    Each value is split into its high and low 32 bits, whose sums cannot overflow for
    fewer than ``2**31`` values; the carry is then added and the total checked, so only a
    total (not a partial sum) outside the 64-bit range is an error, as in the reference.

    Raises:
        ArithmeticOverflowError: a segment's total is outside the 64-bit range.

    >>> segment_sum(torch.tensor([2**62, 2**62, -2**62, 5]), torch.tensor([0, 0, 0, 1]), 2).tolist()
    [4611686018427387904, 5]
    """
    mask = (1 << 32) - 1
    low = torch.bitwise_and(values, mask)  # (D,) in [0, 2**32)
    high = torch.bitwise_right_shift(values, 32)  # (D,) in [-2**31, 2**31), floor
    zeros = torch.zeros(n, dtype=torch.int64, device=values.device)
    s_low = zeros.index_add(0, segments, low)
    s_high = zeros.index_add(0, segments, high) + torch.bitwise_right_shift(s_low, 32)
    rest = torch.bitwise_and(s_low, mask)
    over = (s_high < -(2**31)) | (s_high >= 2**31)
    if bool(over.any()):
        i = int(over.nonzero()[0, 0])
        count = int((segments == i).sum())
        raise int64.overflow("sum", (count,), int(s_high[i]) * 2**32 + int(rest[i]))
    return torch.bitwise_left_shift(s_high, 32) + rest
