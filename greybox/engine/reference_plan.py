"""The body-evaluation plan of the reference evaluator: rule bodies compiled into steps.

One concept: how ``reference`` evaluates one rule body (or query) over bindings.
A ``ReferencePlan`` orders a body with the tensor engine's planner (``plan.order_body``)
and compiles each literal into a step: ``_AtomStep`` (a join with a relation
view), ``_NegationStep``, ``_CompareStep`` (comparisons, ``X = expr``, ``X is
expr``) and ``_AggregateStep``. Bindings are tuples indexed by the plan's
``slots``; each travels with its tag, and a step maps a list of ``(binding,
tag)`` rows to the next. ``ReferenceRule`` holds a rule's base plan, one plan per atom of
its stratum (that atom first, for semi-naive rounds), and builds its head tuples.
``RunContext`` carries what steps need while running. The order of constants
(``value_order``) and the integer arithmetic of expressions live here too. The
semantics of each literal are described in ``reference``.

Example:
    >>> from greybox.lang.parser import parse_query
    >>> from greybox.engine.reference_semirings import make_semiring
    >>> from greybox.engine.reference_relations import TaggedRelation
    >>> p = TaggedRelation("p", 1)
    >>> for v in (1, 2, 3):
    ...     p.set((v,), True)
    >>> q = parse_query("?- p(X), X > 1, Y is X * 10.")
    >>> plan = ReferencePlan(q.body, {"X", "Y"}, q.span)
    >>> ctx = RunContext(make_semiring("boolean"), {"p": p})
    >>> plan.run(ctx, lambda pos, atom: ctx.full[atom.predicate])
    [((2, 20), True), ((3, 30), True)]
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from ..errors import ResourceLimitError, UnsafeRuleError
from ..lang.ast import (
    Aggregate,
    Assign,
    Atom,
    BinOp,
    Clause,
    Comparison,
    Const,
    Literal,
    Neg,
    Negation,
    Var,
)
from ..lang.walk import fold_expr
from . import int64
from .plan import aggregate_groups, order_body
from .reference_relations import EMPTY, TaggedRelation
from ..semirings.scalar import ScalarSemiring

__all__ = ["Value", "Row", "value_order", "tuple_order", "RunContext", "ReferencePlan", "ReferenceRule"]

Value = Any  # int | str
Row = tuple  # (binding values..., ) ; tags travel beside it


def value_order(v: Value) -> tuple:
    """Sort key of constants: integers (numerically) before symbols (alphabetically).

    >>> sorted(["b", 3, "a", -1], key=value_order)
    [-1, 3, 'a', 'b']
    """
    return (0, v, "") if isinstance(v, int) else (1, 0, str(v))


def tuple_order(t: tuple) -> tuple:
    return tuple(value_order(v) for v in t)


# ---------------------------------------------------------------- expressions


class _Fail(Exception):
    """A literal fails for this binding (division by zero, arithmetic on a symbol)."""


def _compile_expr(expr, slots: Mapping[str, int]) -> Callable[[Row], Value]:
    """``expr`` as a function of a binding, evaluated left to right, exactly in 64 bits (``int64``).

    The expression becomes a postfix program run on a stack, so that a sum of 100,000 terms
    needs no Python recursion, neither to compile nor to evaluate. Every value an operation
    reads must be an integer; a variable or constant alone may be any value.

    >>> from greybox.lang.ast import BinOp, Const, Neg, Var
    >>> _compile_expr(BinOp("-", Neg(Var("X")), Const(3)), {"X": 0})((4,))
    -7
    """
    if isinstance(expr, Var):
        i = slots[expr.name]
        return lambda b: b[i]
    if isinstance(expr, Const):
        v = expr.value
        return lambda b: v
    code: list[tuple[int, Any]] = []  # (0, slot) | (1, constant) | (2, None): negate | (3, op)
    fold_expr(expr, leaf=lambda e: code.append((0, slots[e.name]) if isinstance(e, Var) else (1, e.value)),
              unary=lambda e, _: code.append((2, None)), binary=lambda e, _a, _b: code.append((3, e.op)))

    def run(b: Row) -> Value:
        stack: list[int] = []
        for kind, x in code:
            if kind == 0:
                stack.append(_int(b[x]))
            elif kind == 1:
                stack.append(_int(x))
            elif kind == 2:
                stack[-1] = int64.negate(stack[-1])
            else:
                right = stack.pop()
                stack[-1] = _divide(x, stack[-1], right) if x in ("//", "mod") else int64.binop(x, stack[-1], right)
        return stack[0]

    return run


def _int(v: Value) -> int:
    if not isinstance(v, int):
        raise _Fail
    return v


def _divide(op: str, a: int, b: int) -> int:
    if b == 0:
        raise _Fail  # undefined: the literal fails for this binding
    return int64.binop(op, a, b)


def _compare(op: str, a: Value, b: Value) -> bool:
    if op == "=":
        return type(a) is type(b) and a == b
    if op == "!=":
        return not (type(a) is type(b) and a == b)
    ka, kb = value_order(a), value_order(b)
    if op == "<":
        return ka < kb
    if op == "<=":
        return ka <= kb
    if op == ">":
        return ka > kb
    if op == ">=":
        return ka >= kb
    raise AssertionError(f"unknown comparison {op!r}")


# ---------------------------------------------------------------- planning


def _order(body: Sequence[Literal], head_vars: set[str], first: int | None, span_of) -> list[int]:
    """Execution order of ``body``: the tensor engine's planner, so both evaluators join in one order.

    (The order matters only to top-k, which truncates after every product.)
    """
    return [step.position for step in order_body(tuple(body), head_vars, first, span_of)]


# ---------------------------------------------------------------- steps


def _too_many(what: str, limit: int, made: int | None = None) -> ResourceLimitError:
    size = f"{made:,} bindings" if made is not None else "bindings"
    return ResourceLimitError(
        f"{what} would make {size}, more than the limit of {limit:,} (max_tuples)",
        hint="atoms that share no variable multiply their sizes: join them on a shared variable or "
        "filter first; or raise the limit with evaluate(..., max_tuples=N) / query(..., max_tuples=N)",
    )


class RunContext:
    """What steps need while running: the semiring, the complete relations, caches."""

    def __init__(self, sr: ScalarSemiring, full: dict[str, TaggedRelation], max_rows: int | None = None) -> None:
        self.sr = sr
        self.full = full
        #: the most bindings one step may make (``max_tuples``); a step stops as soon as it passes
        self.max_rows = max_rows
        self.cache: dict[Any, Any] = {}
        self.weight_facts: dict[Any, Any] = {}  # compiled rule -> its weight fact
        self.hooks = getattr(sr, "records_derivations", False)


def _classify_args(atom: Atom, slots: dict[str, int]) -> tuple[list, list, list, dict[str, int]]:
    """How an atom's arguments meet the bindings so far.

    Returns ``(positions, key, checks, first_new)``: the positions looked up (a constant, or a
    variable already in ``slots``) with their key parts ``(is_constant, value or slot)``;
    ``(first, later)`` positions of a new variable that repeats; the first position of each new variable.
    """
    positions, key, checks = [], [], []
    first_new: dict[str, int] = {}
    for p, arg in enumerate(atom.args):
        if isinstance(arg, Const):
            positions.append(p)
            key.append((True, arg.value))
        elif arg.name in slots:
            positions.append(p)
            key.append((False, slots[arg.name]))
        elif arg.name in first_new:
            checks.append((first_new[arg.name], p))
        else:
            first_new[arg.name] = p
    return positions, key, checks, first_new


class _AtomStep:
    def __init__(self, atom: Atom, position: int, slots: dict[str, int]) -> None:
        self.atom, self.position = atom, position
        positions, key, checks, first_new = _classify_args(atom, slots)
        new_pos = list(first_new.values())
        for name in first_new:
            slots[name] = len(slots)
        self.positions = tuple(positions)
        self.key = tuple(key)
        self.new_pos = tuple(new_pos)
        self.checks = tuple(checks)

    def _matches(self, cache: dict, key: tuple, source) -> list:
        matches = cache.get(key)
        if matches is None:
            matches = cache[key] = [
                (t, ttag) for t, ttag in source.match(self.positions, key) if all(t[i] == t[j] for i, j in self.checks)
            ]
        return matches

    def run(self, rows, ctx: RunContext, source) -> list:
        sr, out = ctx.sr, []
        mul, is_zero = sr.mul, sr.is_zero
        cache: dict[tuple, list] = {}
        limit = ctx.max_rows
        if limit is not None and rows:
            # the size of the join, from the matches of each binding, before any row is made
            if not self.key:  # nothing bound: every binding meets the same matches
                made = len(rows) * len(self._matches(cache, (), source))
            else:
                made = sum(len(self._matches(cache, tuple(v if c else b[v] for c, v in self.key), source))
                           for b, _ in rows)
            if made > limit:
                raise _too_many(f"the join with '{self.atom.predicate}'", limit, made)
        for b, tag in rows:
            key = tuple(v if is_const else b[v] for is_const, v in self.key)
            for t, ttag in self._matches(cache, key, source):
                nt = mul(tag, ttag)
                if not is_zero(nt):
                    out.append((b + tuple(t[p] for p in self.new_pos), nt))
        return out


class _NegationStep:
    def __init__(self, lit: Negation, slots: dict[str, int]) -> None:
        self.lit = lit
        atom = lit.atom
        positions, key, checks, _ = _classify_args(atom, slots)
        self.positions, self.key, self.checks = tuple(positions), tuple(key), tuple(checks)

    def _shown(self, key: tuple) -> tuple:
        """The negated atom's arguments: the looked-up values, ``_`` for existential variables."""
        given = dict(zip(self.positions, key))
        return tuple(given.get(p, "_") for p in range(len(self.lit.atom.args)))

    def run(self, rows, ctx: RunContext, source) -> list:
        sr, out = ctx.sr, []
        rel = ctx.full.get(self.lit.atom.predicate)
        cache: dict[tuple, Any] = {}
        for b, tag in rows:
            key = tuple(v if is_const else b[v] for is_const, v in self.key)
            if key not in cache:
                total = None
                if rel is not None:
                    for t, ttag in rel.match(self.positions, key):
                        if all(t[i] == t[j] for i, j in self.checks):
                            total = ttag if total is None else sr.add(total, ttag)
                if total is None:
                    cache[key] = sr.absent(self.lit.atom, self._shown(key)) if ctx.hooks else None
                else:
                    cache[key] = sr.negate(total)
            neg = cache[key]
            nt = tag if neg is None else sr.mul(tag, neg)
            if not sr.is_zero(nt):
                out.append((b, nt))
        return out


class _CompareStep:
    """``left op right`` with both sides bound, or ``X = expr`` / ``X is expr`` binding ``X``."""

    def __init__(self, lit: Comparison | Assign, slots: dict[str, int]) -> None:
        self.lit = lit
        if isinstance(lit, Assign):
            left, right, op = lit.target, lit.expr, "="
        else:
            left, right, op = lit.left, lit.right, lit.op
        self.op = op
        self.binds = False
        if op == "=" and isinstance(left, Var) and left.name not in slots:
            left, right = right, left  # bind the right-hand variable from the left expression
        if op == "=" and isinstance(right, Var) and right.name not in slots:
            self.binds = True
            self.value = _compile_expr(left, slots)
            slots[right.name] = len(slots)
        else:
            self.left, self.right = _compile_expr(left, slots), _compile_expr(right, slots)

    def run(self, rows, ctx: RunContext, source) -> list:
        out = []
        for b, tag in rows:
            try:
                if self.binds:
                    v = self.value(b)
                    out.append((b + (v,), self._note(ctx, tag, (v,))))
                else:
                    a, c = self.left(b), self.right(b)
                    if _compare(self.op, a, c):
                        out.append((b, self._note(ctx, tag, (a, c))))
            except _Fail:
                continue
        return out

    def _note(self, ctx: RunContext, tag, values):
        if not ctx.hooks:
            return tag
        return ctx.sr.mul(tag, ctx.sr.builtin(self.lit, values))


class _AggregateStep:
    def __init__(self, lit: Aggregate, body, head_vars: set[str], slots: dict[str, int], span) -> None:
        self.lit = lit
        self.groups = aggregate_groups(lit, tuple(body), head_vars)
        self.listed = [v.name for v in lit.vars]
        self.inner = ReferencePlan(lit.body, set(self.groups) | set(self.listed), span)
        self.bound_g = [g for g in self.groups if g in slots]
        self.new_g = [g for g in self.groups if g not in slots]
        self.bound_slots = [slots[g] for g in self.bound_g]
        for g in self.new_g:
            slots[g] = len(slots)
        self.result_slot = slots.get(lit.result.name)
        if self.result_slot is None:
            slots[lit.result.name] = len(slots)

    def _table(self, ctx: RunContext) -> dict[tuple, dict[tuple, tuple[Value, Any]]]:
        """bound-group key -> (new-group values -> (result, tag))."""
        hit = ctx.cache.get(self)
        if hit is not None:
            return hit
        sr = ctx.sr
        rows = self.inner.run(ctx, lambda pos, atom: ctx.full.get(atom.predicate, EMPTY))
        gi = [self.inner.slots[g] for g in self.groups]
        li = [self.inner.slots[v] for v in self.listed]
        distinct: dict[tuple, dict[tuple, Any]] = {}
        for b, tag in rows:
            g = tuple(b[i] for i in gi)
            v = tuple(b[i] for i in li)
            per = distinct.setdefault(g, {})
            per[v] = tag if v not in per else sr.add(per[v], tag)
        nb = len(self.bound_g)
        order = [self.groups.index(g) for g in self.bound_g + self.new_g]
        table: dict[tuple, dict[tuple, tuple[Value, Any]]] = {}
        for g, per in distinct.items():
            entries = sorted(per.items(), key=lambda kv: tuple_order(kv[0]))
            value = self._value([v for v, _ in entries])
            if value is None:
                continue
            tag = sr.one()
            for _, t in entries:
                tag = sr.mul(tag, t)
            if ctx.hooks:
                tag = sr.aggregate(self.lit, value, tag)
            if sr.is_zero(tag):
                continue
            key = tuple(g[i] for i in order)
            table.setdefault(key[:nb], {})[key[nb:]] = (value, tag)
        ctx.cache[self] = table  # keyed by the step itself (an id could be reused)
        return table

    def _value(self, values: list[tuple]) -> Value | None:
        op = self.lit.op
        if op == "count":
            return len(values)
        firsts = [v[0] for v in values]
        if op == "sum":
            if not all(isinstance(x, int) for x in firsts):
                return None
            return int64.total(firsts)
        if not firsts:
            return None
        pick = min if op == "min" else max
        return pick(firsts, key=value_order)

    def run(self, rows, ctx: RunContext, source) -> list:
        sr, out = ctx.sr, []
        table = self._table(ctx)
        empty_ok = not self.new_g and self.lit.op in ("count", "sum")
        for b, tag in rows:
            key = tuple(b[i] for i in self.bound_slots)
            found = table.get(key)
            if not found:
                if not empty_ok:
                    continue
                found = {(): (0, sr.aggregate(self.lit, 0, sr.one()) if ctx.hooks else sr.one())}
            for new_vals, (value, atag) in found.items():
                if self.result_slot is not None:
                    if not _compare("=", b[self.result_slot], value):
                        continue
                    extra = new_vals
                else:
                    extra = new_vals + (value,)
                nt = sr.mul(tag, atag)
                if not sr.is_zero(nt):
                    out.append((b + extra, nt))
            if ctx.max_rows is not None and len(out) > ctx.max_rows:
                raise _too_many(f"the join with {self.lit.op}{{...}}", ctx.max_rows)
        return out


class ReferencePlan:
    """A body compiled into steps; bindings are tuples indexed by ``slots``."""

    def __init__(self, body: Sequence[Literal], head_vars: set[str], span, first: int | None = None) -> None:
        self.body = tuple(body)
        self.slots: dict[str, int] = {}
        self.steps: list = []
        for i in _order(self.body, head_vars, first, span):
            lit = self.body[i]
            if isinstance(lit, Atom):
                self.steps.append(_AtomStep(lit, i, self.slots))
            elif isinstance(lit, Negation):
                self.steps.append(_NegationStep(lit, self.slots))
            elif isinstance(lit, (Comparison, Assign)):
                self.steps.append(_CompareStep(lit, self.slots))
            elif isinstance(lit, Aggregate):
                self.steps.append(_AggregateStep(lit, self.body, head_vars, self.slots, span))
            else:  # pragma: no cover - the AST has no other literal
                raise AssertionError(f"unknown literal {lit!r}")

    def run(self, ctx: RunContext, source_of: Callable[[int, Atom], Any]) -> list:
        rows = [((), ctx.sr.one())]
        for step in self.steps:
            if not rows:
                break
            source = source_of(step.position, step.atom) if isinstance(step, _AtomStep) else None
            rows = step.run(rows, ctx, source)
        return rows


class ReferenceRule:
    """A rule ready to run: base plan, one plan per stratum atom (that atom first), head builder."""

    def __init__(self, clause: Clause, stratum: frozenset[str]) -> None:
        self.clause = clause
        self.internal = [i for i, lit in enumerate(clause.body) if isinstance(lit, Atom) and lit.predicate in stratum]
        head_vars = set(clause.head.variables())
        self.base = ReferencePlan(clause.body, head_vars, clause.span)
        self.delta = {i: ReferencePlan(clause.body, head_vars, clause.span, first=i) for i in self.internal}
        for plan in [self.base, *self.delta.values()]:
            for arg in clause.head.args:
                if isinstance(arg, Var) and arg.name not in plan.slots:
                    span = arg.span if arg.span.line else clause.span
                    raise UnsafeRuleError(
                        f"variable {arg.name} of the head {clause.head.predicate} is not bound by the body",
                        file=span.file, line=span.line or None, column=span.column or None,
                        hint=f"add a positive atom that binds {arg.name}",
                    )

    def heads(self, plan: ReferencePlan, ctx: RunContext, source_of) -> dict[tuple, Any]:
        """``to_add`` of this rule: head tuple -> sum of the tags of its derivations."""
        sr = ctx.sr
        try:
            rows = plan.run(ctx, source_of)
        except (int64.ArithmeticOverflowError, ResourceLimitError) as err:
            raise int64.located(err, self.clause) from None
        getters = [(True, a.value) if isinstance(a, Const) else (False, plan.slots[a.name]) for a in self.clause.head.args]
        out: dict[tuple, Any] = {}
        weight_fact = ctx.weight_facts.get(self)
        weight = None if weight_fact is None else sr.from_fact(weight_fact)
        for b, tag in rows:
            t = tuple(v if c else b[v] for c, v in getters)
            if weight is not None:
                tag = sr.mul(tag, weight)
            if ctx.hooks:
                tag = sr.rule(self.clause, t, tag)
            if sr.is_zero(tag):
                continue
            out[t] = tag if t not in out else sr.add(out[t], tag)
        return out

