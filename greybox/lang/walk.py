"""Walking arithmetic expressions without recursion.

An expression can be nested as deep as its source is long: ``X is 1+1+...+1``
with 10,000 terms is a chain of 10,000 :class:`~greybox.lang.ast.BinOp` nodes,
and ``- - - 1`` nests one :class:`~greybox.lang.ast.Neg` per minus. A recursive
walker passes Python's recursion limit (about 1,000 frames) on such input, so
every walker of the language goes through the two helpers here, which keep their
own stack: :func:`expr_leaves` lists the variables and constants in reading
order, :func:`fold_expr` computes a value bottom-up (a printed text, a rebuilt
expression, an evaluated number).

Example:
    >>> from greybox.lang.parser import parse_statement
    >>> expr = parse_statement("p(X) :- q(Y), X is " + "+".join(["Y"] * 5000)).body[1].expr
    >>> len(expr_leaves(expr)), expr_depth(expr)
    (5000, 4999)
    >>> fold_expr(expr, leaf=lambda e: 2, unary=lambda e, v: -v, binary=lambda e, a, b: a + b)
    10000
"""

from __future__ import annotations

from typing import Callable, TypeVar

from .ast import BinOp, Const, Expr, Neg, Var, expr_leaves

__all__ = ["expr_leaves", "expr_vars", "expr_depth", "fold_expr"]

T = TypeVar("T")


def expr_vars(expr: Expr) -> list[Var]:
    """The variable occurrences of ``expr``, left to right, with repeats.

    Example:
        >>> [v.name for v in expr_vars(BinOp("+", Var("B"), BinOp("max", Const(1), Var("B"))))]
        ['B', 'B']
    """
    return [e for e in expr_leaves(expr) if e.__class__ is Var]


def expr_depth(expr: Expr) -> int:
    """How deeply ``expr`` nests: 0 for a variable or constant, 1 for ``X + 1``, ...

    Example:
        >>> expr_depth(Neg(Neg(Var("X")))), expr_depth(BinOp("+", Const(1), Const(2)))
        (2, 1)
    """
    deepest = 0
    stack = [(expr, 0)]
    while stack:
        e, depth = stack.pop()
        cls = e.__class__
        if cls is BinOp:
            stack.append((e.left, depth + 1))
            stack.append((e.right, depth + 1))
        elif cls is Neg:
            stack.append((e.operand, depth + 1))
        elif depth > deepest:
            deepest = depth
    return deepest


def fold_expr(
    expr: Expr,
    leaf: Callable[[Var | Const], T],
    unary: Callable[[Neg, T], T],
    binary: Callable[[BinOp, T, T], T],
) -> T:
    """Compute a value bottom-up over ``expr``, children before their parent.

    Args:
        expr: the expression.
        leaf: the value of a ``Var`` or ``Const``.
        unary: the value of ``Neg`` from the node and its operand's value.
        binary: the value of ``BinOp`` from the node and its operands' values.

    Returns:
        The value of ``expr``.

    Raises:
        TypeError: a node is not an expression node.

    Example:
        >>> text = fold_expr(BinOp("*", Neg(Var("X")), Const(3)), leaf=lambda e: str(getattr(e, "name", "")
        ...     or e.value), unary=lambda e, v: f"-{v}", binary=lambda e, a, b: f"({a} {e.op} {b})")
        >>> text
        '(-X * 3)'
    """
    values: list = []
    # (node, False): first visit, children still to do; (node, True): children done
    stack: list[tuple[Expr, bool]] = [(expr, False)]
    while stack:
        e, done = stack.pop()
        cls = e.__class__
        if cls is BinOp:
            if done:
                right = values.pop()
                values[-1] = binary(e, values[-1], right)
            else:
                stack.append((e, True))
                stack.append((e.right, False))
                stack.append((e.left, False))
        elif cls is Neg:
            if done:
                values[-1] = unary(e, values[-1])
            else:
                stack.append((e, True))
                stack.append((e.operand, False))
        elif cls is Var or cls is Const:
            values.append(leaf(e))
        else:
            raise TypeError(f"not an expression: {e!r}")
    return values[0]
