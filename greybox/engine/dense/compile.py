"""Rule -> dense plan: the steps that evaluate a rule body over dense tensors.

A body is evaluated left to right in the order of the sparse planner
(``greybox.engine.plan.order_body``) over a *factor*: one semiring value per sample and
per value of each live variable, ``(B, |V1|, ..., |Vk|)``. Each step below extends or
filters the factor, and then sums out (⊕) the variables no later literal and not the
head needs, as the sparse engine drops them:

=================  =====================================================================
``AtomStep``       ``p(X, c, Y)``: slice ``p`` to the variables' ranges, ⊗ into the factor
``FilterStep``       ``X < N``, ``T =:= S mod 10``: a 0/1 mask over the grid of its variables
``BindStep``       ``S is S0 + D``: scatter (⊕) each grid point to the axis of ``S``
``NegStep``        ``\\+ q(X)``: ⊗ with ``1 - q`` (idempotent semirings)
=================  =====================================================================

Each rule gets one plan for the first round and one per atom of its own stratum (the
atom that reads the recent tuples, as semi-naive evaluation runs it); ``check_grid``
keeps every step under ``MAX_GRID`` cells per sample.

Example:
    >>> from greybox.engine.engine import Engine
    >>> eng = Engine("p(0, 0). p(J, S) :- p(I, S0), d(I, D), I < 3, S is S0 + D, J is I + 1.", inputs={"d": 2})
    >>> rule = eng.strata[0][0][0]
    >>> plan = compile_body(rule.clause, rule.delta[0], rule.head_vars, eng.symbols)
    >>> [type(s).__name__ for s in plan.steps]
    ['AtomStep', 'FilterStep', 'AtomStep', 'BindStep', 'BindStep']
    >>> [sorted(s.drop) for s in plan.steps]
    [[], [], [], ['I'], ['D', 'S0']]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from ...lang.ast import Assign, Atom, Clause, Comparison, Expr, Literal, Negation, Var
from ..plan import Step, local_vars
from ..symbols import SymbolTable
from . import intervals as iv
from .domains import MAX_GRID, Arg, RuleShape, rule_ranges
from .qualify import DenseUnsupportedError

__all__ = [
    "AtomStep",
    "FilterStep",
    "BindStep",
    "NegStep",
    "BodyPlan",
    "DenseRule",
    "DenseStratum",
    "DenseProgram",
    "compile_body",
    "shape_of",
    "check_grid",
]


@dataclass(frozen=True, eq=False)
class AtomStep:
    literal: Atom
    position: int
    args: tuple[Arg, ...]
    drop: frozenset[str]


@dataclass(frozen=True, eq=False)
class FilterStep:
    literal: Literal
    op: str
    left: Expr
    right: Expr
    vars: tuple[str, ...]
    drop: frozenset[str]


@dataclass(frozen=True, eq=False)
class BindStep:
    literal: Literal
    target: str
    expr: Expr
    vars: tuple[str, ...]
    drop: frozenset[str]
    #: ``(coefficients, constant)`` when ``expr`` is linear: a shift of one axis needs no scatter
    affine: tuple[dict[str, int], int] | None


@dataclass(frozen=True, eq=False)
class NegStep:
    literal: Negation
    predicate: str
    args: tuple[Arg, ...]
    local: frozenset[str]
    drop: frozenset[str]


PlanStep = AtomStep | FilterStep | BindStep | NegStep


@dataclass(frozen=True, eq=False)
class BodyPlan:
    """The steps of one body order; after the last one the factor's axes are the head's variables."""

    steps: tuple[PlanStep, ...]


@dataclass(eq=False)
class DenseRule:
    """A rule with its plans: ``base`` (first round) and ``delta[i]`` (recent tuples at body position ``i``)."""

    clause: Clause
    shape: RuleShape
    weight_fact: int | None
    internal: list[int]
    base: BodyPlan
    delta: dict[int, BodyPlan] = field(default_factory=dict)
    #: relations read under negation (whole, from lower strata)
    negated: list[str] = field(default_factory=list)


@dataclass(eq=False)
class DenseStratum:
    rules: list[DenseRule]
    relations: frozenset[str]
    recursive: bool

    def __post_init__(self) -> None:
        #: the facts that weight this stratum's weighted rules (``w :: h :- body``)
        self.weight_facts = [rule.weight_fact for rule in self.rules if rule.weight_fact is not None]


@dataclass(eq=False)
class DenseProgram:
    """Everything one evaluation needs, for one set of value ranges.

    Attributes:
        boxes: relation -> ``(lo, size)`` per argument; the dense tensor is ``(B, *sizes)``.
        strata: the strata to evaluate, in order.
        static: relation -> ``(cells, fact ids)``: where the program's own facts go in one sample.
        cache: tensors derived from the plans (index maps, masks), per device; filled while running.
        ones: relations of certain facts that fill their box (every cell holds the semiring's one).
        seeds: relation -> the box of its facts and inputs (an interval is None where it has none):
            where its non-zero cells lie before its rules run.
        seed_ones: derived relations without inputs whose certain facts fill their seed box: the
            first recent block of a recursion over them (``reach(start).``) is all ones.
        cells: the most cells per sample of one relation or one step's grid: a batch of ``B``
            samples holds at most ``B * cells`` tuples or bindings at a time.
    """

    boxes: dict[str, tuple[tuple[int, int], ...]]
    strata: list[DenseStratum]
    static: dict[str, tuple[list[int], list[int]]]
    cache: dict = field(default_factory=dict)
    ones: frozenset[str] = frozenset()
    seeds: dict[str, list] = field(default_factory=dict)
    seed_ones: frozenset[str] = frozenset()
    cells: int = 0

    def __post_init__(self) -> None:
        #: the relations some stratum derives
        self.derived = frozenset(name for stratum in self.strata for name in stratum.relations)


def shape_of(clause: Clause, symbols: SymbolTable) -> RuleShape:
    """The value-range shape of ``clause``: constants read from relations are looked up, others encoded."""
    return RuleShape.of(
        clause,
        lambda v: v if isinstance(v, int) else symbols.lookup(v),
        lambda v: v if isinstance(v, int) else symbols.encode(v),
    )


def _args(atom: Atom, symbols: SymbolTable) -> tuple[Arg, ...]:
    return tuple(
        ("var", a.name) if isinstance(a, Var) else ("const", a.value if isinstance(a.value, int) else symbols.lookup(a.value))
        for a in atom.args
    )


def compile_body(clause: Clause, order: Sequence[Step], head_vars: set[str], symbols: SymbolTable) -> BodyPlan:
    """The dense steps of ``clause``'s body in the order ``order`` (from the sparse planner).

    Args:
        clause: the rule.
        order: its body literals in execution order.
        head_vars: the variables of the head (never summed out).
        symbols: codes of symbolic constants.
    """
    body = clause.body
    order = _late_binds(order)
    encode = lambda v: v if isinstance(v, int) else symbols.encode(v)  # noqa: E731
    # the variables each step reads or binds, as the factor sees them
    uses: list[set[str]] = []
    for step in order:
        lit = step.literal
        if isinstance(lit, Negation):
            uses.append(set(lit.variables()) - local_vars(lit, body, head_vars))
        else:
            uses.append(set(lit.variables()))
    last: dict[str, int] = {}
    for i, u in enumerate(uses):
        for v in u:
            last[v] = i
    steps: list[PlanStep] = []
    bound: set[str] = set()
    for i, step in enumerate(order):
        lit = step.literal
        drop = frozenset(v for v in uses[i] if last[v] == i and v not in head_vars)
        if isinstance(lit, Atom):
            steps.append(AtomStep(lit, step.position, _args(lit, symbols), drop))
            bound.update(lit.variables())
        elif isinstance(lit, Negation):
            local = frozenset(local_vars(lit, body, head_vars))
            steps.append(NegStep(lit, lit.atom.predicate, _args(lit.atom, symbols), local, drop))
        elif isinstance(lit, Assign):
            if lit.target.name in bound:
                steps.append(FilterStep(lit, "=", lit.target, lit.expr, tuple(lit.variables()), drop))
            else:
                steps.append(BindStep(lit, lit.target.name, lit.expr, tuple(lit.expr.variables()), drop,
                                      iv.affine(lit.expr, encode)))
                bound.add(lit.target.name)
        elif isinstance(lit, Comparison):
            free = [v for v in lit.variables() if v not in bound]
            if free:
                (name,) = free  # the planner runs `X = expr` when only X is unbound
                expr = lit.right if isinstance(lit.left, Var) and lit.left.name == name else lit.left
                steps.append(BindStep(lit, name, expr, tuple(expr.variables()), drop, iv.affine(expr, encode)))
                bound.add(name)
            else:
                steps.append(FilterStep(lit, lit.op, lit.left, lit.right, tuple(lit.variables()), drop))
        else:  # qualify.static_problem lets no other literal through
            raise TypeError(f"literal {lit!r} has no dense step")
    return BodyPlan(tuple(steps))


def _binds_target(lit: Literal, bound: set[str]) -> str | None:
    if isinstance(lit, Assign) and lit.target.name not in bound:
        return lit.target.name
    if isinstance(lit, Comparison):
        free = [v for v in lit.variables() if v not in bound]
        if free:
            return free[0]
    return None


def _late_binds(order: Sequence[Step]) -> list[Step]:
    """``order`` with each ``is`` moved down to just before the first literal that reads its target.

    The sparse planner computes ``J is I + 1`` as soon as ``I`` is bound; densely it is
    cheaper once ``I``'s other uses are done, because then the step sums ``I`` out (a shift
    of one axis, or a scatter over the grid of the expression's variables).
    """
    steps = list(order)
    bound: set[str] = set()
    targets: list[str | None] = []
    for step in steps:
        t = _binds_target(step.literal, bound)
        targets.append(t)
        bound.update(step.literal.variables())
    out: list[Step] = []
    waiting: list[tuple[str, Step]] = []
    for step, target in zip(steps, targets):
        if target is not None:
            waiting.append((target, step))
            continue
        uses = set(step.literal.variables())
        ready = [w for w in waiting if w[0] in uses]
        # a bind that reads another's target must follow it: release in the original order
        while ready:
            first = waiting.index(ready[0])
            for w in waiting[: first + 1]:
                out.append(w[1])
            waiting = waiting[first + 1:]
            ready = [w for w in waiting if w[0] in uses]
        out.append(step)
    out.extend(w[1] for w in waiting)
    return out


def check_grid(plan: BodyPlan, ranges: dict[str, iv.Interval], clause: Clause, max_grid: int = MAX_GRID) -> int:
    """Raise when a step of ``plan`` spans more than ``max_grid`` cells per sample over ``ranges``.

    Returns:
        The most cells per sample of one step.

    Raises:
        DenseUnsupportedError: naming the rule and the step.
    """
    live: list[str] = []
    most = 0
    for step in plan.steps:
        if isinstance(step, AtomStep):
            new = [a for k, a in step.args if k == "var" and a not in live]
            live = live + list(dict.fromkeys(new))
        elif isinstance(step, BindStep):
            # the scatter reads the grid before and writes the one after: the expression's
            # summed-out variables and the target are never live together
            live = [v for v in live if v not in step.drop or v not in step.vars] + [step.target]
        grid = 1
        for v in live:
            grid *= iv.size(ranges.get(v))
        most = max(most, grid)
        if grid > max_grid:
            span = getattr(step.literal, "span", None) or clause.span
            raise DenseUnsupportedError(
                f"a step of the rule for '{clause.head.predicate}' spans {grid:,} values per sample "
                f"(variables {', '.join(live)}), more than {max_grid:,}",
                file=getattr(span, "file", None), line=getattr(span, "line", None) or None,
                column=getattr(span, "column", None) or None,
                hint="use representation='auto' or 'sparse' for rules over large domains",
            )
        live = [v for v in live if v not in step.drop]
    return most


def check_arithmetic(plan: BodyPlan, ranges: dict[str, iv.Interval], clause: Clause, const) -> None:
    """Raise when an expression of ``plan`` can leave the 64-bit range somewhere on its grid.

    A grid evaluates an expression at every point of its variables' ranges, also at points
    no binding reaches; the sparse engine evaluates only the bindings, and raises an
    overflow exactly when one of them overflows.

    Raises:
        DenseUnsupportedError: naming the rule and the literal.
    """
    for step in plan.steps:
        if isinstance(step, FilterStep):
            exprs = (step.left, step.right)
        elif isinstance(step, BindStep):
            exprs = (step.expr,)
        else:
            continue
        if any(iv.leaves_int64(e, ranges, const) for e in exprs):
            span = getattr(step.literal, "span", None) or clause.span
            raise DenseUnsupportedError(
                f"arithmetic in the rule for '{clause.head.predicate}' may leave the 64-bit range "
                "on the values its variables range over",
                file=getattr(span, "file", None), line=getattr(span, "line", None) or None,
                column=getattr(span, "column", None) or None,
                hint="use representation='auto' or 'sparse' (exact 64-bit arithmetic per binding)",
            )


def static_ranges(rule: DenseRule, boxes: dict[str, list[iv.Interval]]) -> dict[str, iv.Interval] | None:
    """Variable ranges of ``rule`` when every body atom ranges over its relation's whole box."""
    return rule_ranges(rule.shape, {pos: boxes[rule.clause.body[pos].predicate] for pos, _ in rule.shape.atoms})
