"""Integer arithmetic and comparisons over the columns of a ``Frame``."""

from __future__ import annotations

import torch
from torch import Tensor

from ..lang.ast import BinOp, Const, Expr, Neg, Var
from .frame import Frame
from .symbols import SymbolTable

__all__ = ["eval_expr", "apply_binop", "compare", "const_code"]


def const_code(value: int | str, symbols: SymbolTable) -> int:
    """The int64 code of a constant: integers as themselves, symbols by their id."""
    return value if isinstance(value, int) else symbols.encode(value)


def eval_expr(expr: Expr, frame: Frame, symbols: SymbolTable) -> tuple[Tensor, Tensor]:
    """Evaluate ``expr`` for every row of ``frame``.

    Returns:
        ``(values, ok)``: ``(M,)`` int64 values and an ``(M,)`` bool mask that is
        False where the value is undefined (``X // 0``, ``X mod 0``): such rows fail.
    """
    m = len(frame)
    dev = frame.sample.device
    if isinstance(expr, Var):
        return frame.vals[expr.name], torch.ones(m, dtype=torch.bool, device=dev)
    if isinstance(expr, Const):
        v = const_code(expr.value, symbols)
        return torch.full((m,), v, dtype=torch.int64, device=dev), torch.ones(m, dtype=torch.bool, device=dev)
    if isinstance(expr, Neg):
        v, ok = eval_expr(expr.operand, frame, symbols)
        return -v, ok
    assert isinstance(expr, BinOp), expr
    a, ok_a = eval_expr(expr.left, frame, symbols)
    b, ok_b = eval_expr(expr.right, frame, symbols)
    return apply_binop(expr.op, a, b, ok_a & ok_b)


def apply_binop(op: str, a: Tensor, b: Tensor, ok: Tensor) -> tuple[Tensor, Tensor]:
    """``a op b`` elementwise, and where it is defined (``ok`` and no division by zero).

    Floor division and modulo follow Python (and Prolog's mod): the sign of the divisor.

    >>> v, ok = apply_binop("mod", torch.tensor([7, -7, 1]), torch.tensor([3, 3, 0]), torch.ones(3, dtype=torch.bool))
    >>> v.tolist()[:2], ok.tolist()
    ([1, 2], [True, True, False])
    """
    if op == "+":
        return a + b, ok
    if op == "-":
        return a - b, ok
    if op == "*":
        return a * b, ok
    if op == "min":
        return torch.minimum(a, b), ok
    if op == "max":
        return torch.maximum(a, b), ok
    nonzero = b != 0
    safe_b = torch.where(nonzero, b, torch.ones_like(b))
    if op == "//":
        return torch.div(a, safe_b, rounding_mode="floor"), ok & nonzero
    if op == "mod":
        return torch.remainder(a, safe_b), ok & nonzero
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
