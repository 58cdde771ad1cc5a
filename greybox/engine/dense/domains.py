"""Value ranges: the interval of every argument of every relation, and of every rule variable.

A relation is held densely over the box of its argument intervals. The boxes come from
the run's actual inputs (the smallest and largest value of each input column) and the
program's constants, propagated through the rules to a fixpoint:

* a variable ranges over the intersection of the arguments it is read from;
* ``S is S0 + D`` gives ``S`` the interval sum; comparisons narrow (``I < N``);
* a rule's head widens its relation's box to hold what the rule derives.

A recursive stratum runs the fixpoint on boxes (see ``relation_boxes``), so that a running
sum bounded by a counter (``I < N``) gets the box its N rounds can fill. Bounds that keep
growing are widened to ``±BIG`` after ``PLAIN_ROUNDS`` rounds, and comparisons may bound
them again. A box that stays unbounded, or holds more than ``MAX_CELLS`` cells, keeps the
evaluation sparse.

Example:
    >>> from greybox.lang.parser import parse_program
    >>> prog = parse_program("p(0, 0). p(J, S) :- p(I, S0), d(I, D), I < 3, S is S0 + D, J is I + 1.")
    >>> shape = RuleShape.of(prog.statements[1], lambda v: v, lambda v: v)
    >>> rule_ranges(shape, {0: [(0, 0), (0, 0)], 1: [(0, 4), (0, 9)]})
    {'I': (0, 0), 'S0': (0, 0), 'D': (0, 9), 'S': (0, 9), 'J': (1, 1)}
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from ...lang.ast import Assign, Atom, Clause, Comparison, Expr, Var
from . import intervals as iv
from .intervals import BIG, Interval
from .qualify import DenseUnsupportedError

__all__ = ["RuleShape", "rule_ranges", "head_box", "relation_boxes", "cells", "MAX_CELLS", "MAX_GRID", "PLAIN_ROUNDS"]

#: most cells one relation may have per sample
MAX_CELLS = 1_000_000
#: most cells one step of a rule body may span per sample (the product of its live variables' ranges)
MAX_GRID = 1_000_000
#: rounds of plain interval propagation in a recursive stratum before growing bounds are widened
PLAIN_ROUNDS = 512
#: rounds after widening
WIDEN_ROUNDS = 64

_FULL = (-BIG, BIG)

#: ``('var', name)`` or ``('const', code)``; code None: a symbol never seen, which matches nothing
Arg = tuple[str, object]


def cells(box: Sequence[Interval]) -> int:
    """Cells of a box (1 for a zero-arity relation, 0 when an interval is empty)."""
    n = 1
    for a in box:
        n *= iv.size(a)
    return n


@dataclass(frozen=True)
class RuleShape:
    """What the value ranges of one rule depend on.

    Attributes:
        clause: the rule.
        atoms: ``(body position, args)`` of each positive atom.
        tests: comparisons (and ``is`` whose target is bound elsewhere), as ``(op, left, right)``.
        binds: ``(target, expr)`` of each ``is`` / ``=`` that gives a variable its value.
        head: the head's arguments.
        const: code of a constant in an expression.
    """

    clause: Clause
    atoms: tuple[tuple[int, tuple[Arg, ...]], ...]
    tests: tuple[tuple[str, Expr, Expr], ...]
    binds: tuple[tuple[str, Expr], ...]
    head: tuple[Arg, ...]
    const: Callable[[object], object]

    @staticmethod
    def of(clause: Clause, lookup: Callable[[object], object], encode: Callable[[object], object]) -> "RuleShape":
        """Shape of ``clause``. ``lookup`` codes constants read from relations, ``encode`` the others."""

        def args(atom: Atom, code) -> tuple[Arg, ...]:
            return tuple(("var", a.name) if isinstance(a, Var) else ("const", code(a.value)) for a in atom.args)

        atoms, tests, binds = [], [], []
        bound: set[str] = set()
        for pos, lit in enumerate(clause.body):
            if isinstance(lit, Atom):
                atoms.append((pos, args(lit, lookup)))
                bound.update(lit.variables())
        # `is` and `=` in an order where each reads only bound variables (as the planner runs them)
        rest = [lit for lit in clause.body if isinstance(lit, (Assign, Comparison))]
        while rest:
            for lit in rest:
                if isinstance(lit, Assign):
                    if set(lit.expr.variables()) <= bound:
                        if lit.target.name in bound:
                            tests.append(("=", lit.target, lit.expr))
                        else:
                            binds.append((lit.target.name, lit.expr))
                            bound.add(lit.target.name)
                        break
                else:
                    free = [v for v in lit.variables() if v not in bound]
                    if not free:
                        tests.append((lit.op, lit.left, lit.right))
                        break
                    if lit.op == "=" and len(free) == 1:
                        (name,) = free
                        if isinstance(lit.left, Var) and lit.left.name == name:
                            expr = lit.right
                        elif isinstance(lit.right, Var) and lit.right.name == name:
                            expr = lit.left
                        else:
                            continue
                        binds.append((name, expr))
                        bound.add(name)
                        break
            else:  # pragma: no cover - the safety checks reject such rules
                raise ValueError(f"rule {clause} binds a variable nowhere")
            rest.remove(lit)
        return RuleShape(clause, tuple(atoms), tuple(tests), tuple(binds), args(clause.head, encode), encode)


def _code(v, const):
    return v if isinstance(v, int) else const(v)


def rule_ranges(shape: RuleShape, boxes: Mapping[int, Sequence[Interval]], passes: int = 4) -> dict[str, Interval] | None:
    """The interval of each variable of a rule whose body atoms range over ``boxes``.

    Args:
        shape: the rule.
        boxes: for each body position of a positive atom, the intervals of its arguments.
        passes: rounds of narrowing through comparisons and ``is``.

    Returns:
        Variable -> interval, or None when the rule can derive nothing.
    """
    ranges: dict[str, Interval] = {}
    for pos, args in shape.atoms:
        box = boxes[pos]
        for (kind, v), a in zip(args, box):
            if a is None:
                return None
            if kind == "const":
                if v is None or not a[0] <= v <= a[1]:
                    return None
            else:
                r = iv.meet(ranges.get(v, _FULL), a)
                if r is None:
                    return None
                ranges[v] = r
    const = shape.const
    for _ in range(passes):
        before = dict(ranges)
        for name, expr in shape.binds:
            r = iv.meet(ranges.get(name, _FULL), iv.expr_interval(expr, ranges, const))
            if r is None:
                return None
            ranges[name] = r
        for op, left, right in shape.tests:
            a = iv.expr_interval(left, ranges, const)
            b = iv.expr_interval(right, ranges, const)
            na, nb = iv.narrow(op, a, b)
            if na is None or nb is None:
                return None
            for side, new in ((left, na), (right, nb)):
                if isinstance(side, Var):
                    ranges[side.name] = new
        if ranges == before:
            break
    return ranges


def head_box(shape: RuleShape, ranges: Mapping[str, Interval]) -> list[Interval]:
    """The intervals of the head's arguments."""
    return [iv.point(v) if kind == "const" else ranges[v] for kind, v in shape.head]  # type: ignore[arg-type]


def _derive(shape: RuleShape, get) -> list[Interval] | None:
    """The head box of one rule whose body atom at ``pos`` ranges over ``get(pos, relation)``."""
    boxes = {}
    for pos, _ in shape.atoms:
        box = get(pos, shape.clause.body[pos].predicate)
        if box is None:
            return None
        boxes[pos] = box
    ranges = rule_ranges(shape, boxes)
    return None if ranges is None else head_box(shape, ranges)


def _join(into: dict[str, list[Interval]], name: str, box: list[Interval]) -> bool:
    """``into[name] ⊔= box``; whether it grew."""
    old = into[name]
    new = [iv.hull(a, b) for a, b in zip(old, box)]
    into[name] = new
    return new != old


def relation_boxes(
    strata: Sequence[tuple[Sequence[RuleShape], frozenset[str], bool]],
    initial: Mapping[str, list[Interval]],
    *,
    max_cells: int = MAX_CELLS,
    plain_rounds: int = PLAIN_ROUNDS,
) -> dict[str, list[Interval]]:
    """Boxes of the relations of ``strata`` (in evaluation order) and of those in ``initial``.

    A recursive stratum is run on boxes the way the fixpoint runs on tuples: each round
    derives from the previous round's box (``recent``) and the relations' boxes so far,
    so a recursion that a counter bounds (``I < N``) stops when its recent box is empty,
    even though the hull alone (every ``S0`` with every ``I``) would keep growing. It also
    stops when the boxes are closed under all rules. After ``plain_rounds`` rounds,
    bounds still growing are widened to ``±BIG`` and only closure is sought.

    Args:
        strata: ``(rules, relations, recursive)`` per stratum to evaluate.
        initial: the box of each relation's facts and inputs (every relation the strata read).

    Raises:
        DenseUnsupportedError: a box is unbounded or has more than ``max_cells`` cells.

    >>> from greybox.lang.parser import parse_program
    >>> prog = parse_program("n(0). n(Y) :- n(X), Y is X + 1, Y < 100.")
    >>> shape = RuleShape.of(prog.statements[1], lambda v: v, lambda v: v)
    >>> relation_boxes([([shape], frozenset({"n"}), True)], {"n": [(0, 0)]})["n"]
    [(0, 99)]
    """
    boxes = {name: list(box) for name, box in initial.items()}
    for rules, names, recursive in strata:
        for name in names:
            if name not in boxes:
                arity = len(next(s.head for s in rules if s.clause.head.predicate == name))
                boxes[name] = [None] * arity

        def whole(pos: int, rel: str) -> list[Interval]:
            return boxes[rel]

        # round one: the rules that read no relation of this stratum
        for shape in rules:
            if not any(shape.clause.body[pos].predicate in names for pos, _ in shape.atoms):
                head = _derive(shape, whole)
                if head is not None:
                    _join(boxes, shape.clause.head.predicate, head)
        _check_cells(boxes, names, max_cells, rules)
        if not recursive:
            continue
        # recent[r]: the box of what the last round may have added to r (None: nothing)
        recent: dict[str, list[Interval] | None] = {name: list(boxes[name]) for name in names}
        rounds, widened = 0, False
        while True:
            rounds += 1
            if rounds > plain_rounds + WIDEN_ROUNDS:
                rule = next((s.clause for s in rules if s.clause.head.predicate in names), None)
                raise _unbounded(sorted(names)[0], 0, rule, True)
            # closure: the boxes hold everything any rule derives from them
            grown: set[tuple[str, int, int]] = set()
            for shape in rules:
                head = _derive(shape, whole)
                if head is None:
                    continue
                name = shape.clause.head.predicate
                for k, (old, new) in enumerate(zip(boxes[name], head)):
                    merged = iv.hull(old, new)
                    if merged != old:
                        if old is None or merged[0] < old[0]:
                            grown.add((name, k, 0))
                        if old is None or merged[1] > old[1]:
                            grown.add((name, k, 1))
            if not grown:
                break
            if widened:
                for name, k, side in grown:
                    old = boxes[name][k]
                    if old is None:
                        boxes[name][k] = (-BIG, BIG)
                    else:
                        boxes[name][k] = (-BIG, old[1]) if side == 0 else (old[0], BIG)
                continue
            # one round of the fixpoint on boxes: a rule reads the recent box at one atom of
            # this stratum and the whole boxes elsewhere
            derived: dict[str, list[Interval] | None] = {name: None for name in names}
            for shape in rules:
                for pos, _ in shape.atoms:
                    pivot = shape.clause.body[pos].predicate
                    if pivot not in names or recent[pivot] is None:
                        continue

                    def get(p: int, rel: str, pos: int = pos) -> list[Interval] | None:
                        return recent[rel] if p == pos else boxes[rel]

                    head = _derive(shape, get)
                    if head is not None:
                        name = shape.clause.head.predicate
                        prev = derived[name]
                        derived[name] = head if prev is None else [iv.hull(x, y) for x, y in zip(prev, head)]
            if all(d is None for d in derived.values()):
                break  # no round can add a tuple: the recursion stops, and the boxes hold all it derived
            for name in names:
                if derived[name] is not None:
                    _join(boxes, name, derived[name])  # type: ignore[arg-type]
                recent[name] = derived[name]
            _check_cells(boxes, names, max_cells, rules)
            if rounds >= plain_rounds:
                widened = True
        for name in names:
            for k, a in enumerate(boxes[name]):
                if not iv.is_bounded(a):
                    rule = next((s.clause for s in rules if s.clause.head.predicate == name), None)
                    raise _unbounded(name, k, rule, widened)
        _check_cells(boxes, names, max_cells, rules)
    return boxes


def _check_cells(boxes, names, max_cells: int, rules) -> None:
    for name in names:
        if all(iv.is_bounded(a) for a in boxes[name]) and cells(boxes[name]) > max_cells:
            raise _too_large(name, boxes[name], max_cells, rules)


def _where(clause: Clause | None) -> dict:
    span = getattr(clause, "span", None)
    return {"file": getattr(span, "file", None), "line": getattr(span, "line", None) or None,
            "column": getattr(span, "column", None) or None}


def _too_large(name: str, box, max_cells: int, rules) -> DenseUnsupportedError:
    rule = next((s.clause for s in rules if s.clause.head.predicate == name), None)
    sizes = " x ".join(str(iv.size(a)) for a in box)
    return DenseUnsupportedError(
        f"relation '{name}' spans {sizes} values per sample, more than the {max_cells:,} cells of a dense relation",
        hint="use representation='auto' or 'sparse' for relations over large domains",
        **_where(rule),
    )


def _unbounded(name: str, k: int, rule: Clause | None, widened: bool) -> DenseUnsupportedError:
    return DenseUnsupportedError(
        f"the values of argument {k + 1} of '{name}' have no bound that interval reasoning can find"
        + (" (a recursive rule keeps creating new values)" if widened else ""),
        hint="bound the recursion with a comparison (e.g. `I < N`), or use representation='auto' or 'sparse'",
        **_where(rule),
    )
