"""The reference evaluator: plain Python, one tag per tuple, any semiring.

It is the ground truth the tensor engine is tested against, and what ``greybox
query`` runs. It is written for clarity, not for scale.

Evaluation (``evaluate``) goes stratum by stratum in semi-naive fashion, with
datafrog's vocabulary: for a rule ``h :- b1, ..., bn`` whose atoms at positions
``I`` are in the stratum being computed, one round adds (``to_add``)

    sum over i in I of   total(b_<i) * recent(b_i) * stable(b_>i)

where ``stable`` is a relation before the previous round, ``recent`` what that
round changed and ``total = stable + recent``. Round one evaluates the rules that
read no relation of the stratum; all its tuples are ``recent`` and ``stable`` is
empty. For an idempotent semiring ``recent`` holds the tuples whose tag changed,
with their new tag; for add-mult it holds the *increments*, so the sum telescopes
``prod total - prod stable`` and every ground derivation is counted once; it
stops when no tag changes by more than 1e-9 relative, and a cycle that keeps
adding runs into ``max_iterations``. Tuples whose tag is the semiring's zero are
not kept (with the proof semirings: tuples without a consistent proof of
non-zero probability, see ``reference_semirings``).

A body runs left to right over bindings: comparisons, ``is``, negations and
aggregates as soon as their variables are bound, then the atom sharing most bound
variables; in a semi-naive round the atom that reads ``recent`` runs first. (The
order matters only to ``top-k``, which truncates after every product.)

Literals:

* ``\\+ q(args)``: the tags of the ``q`` tuples that match (variables that occur
  nowhere else are existential) are added up; if any matched the literal
  contributes ``negate(sum)``, otherwise ``one``.
* comparisons ``< <= > >= = !=`` (``X = expr`` binds an unbound ``X``) and ``X is
  expr``; integers compare numerically, symbols alphabetically, integers before
  symbols. Arithmetic is on integers: ``//`` and ``mod`` follow Python (floor,
  the sign of the divisor); by zero the literal fails.
* ``R = op{Vars : Body}``: ``Body`` is evaluated on its own, grouped by its
  variables that occur elsewhere in the rule; ``count`` counts the distinct
  bindings of ``Vars``, ``sum``/``min``/``max`` aggregate the first of them over
  those bindings. The tag of a result is the product of the tags of the distinct
  bindings (each the sum of its derivations): exact when the aggregated relations
  are deterministic. When every group variable is bound before the aggregate runs
  (those that other atoms of the body bind run first), an empty group gives
  ``count`` 0 and ``sum`` 0 with tag ``one``; ``min``/``max`` fail.
* a weighted rule ``p :: h :- body`` conjoins its weight fact to the body.

Facts: the program's own (``collect_facts``, ids ``0..S-1``) then ``extra_facts``
renumbered ``S, S+1, ...`` in the order given; their groups are renumbered after
the program's groups (extra facts that shared a group still share one).

Example:
    >>> from greybox.lang.parser import parse_program
    >>> from greybox.lang.analysis import analyze
    >>> info = analyze(parse_program('''
    ...     edge(a, b). 0.5 :: edge(b, c).
    ...     path(X, Y) :- edge(X, Y).
    ...     path(X, Z) :- path(X, Y), edge(Y, Z).
    ... '''))
    >>> model = evaluate(info, semiring="max-mult")
    >>> model.tuples("path")
    [('a', 'b'), ('a', 'c'), ('b', 'c')]
    >>> model.probability("path", ("a", "c"))
    0.5
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence

from .plan import aggregate_groups, order_body
from ..errors import ArityError, ResourceLimitError, UnknownRelationError, UnsafeRuleError
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
    Query,
    Var,
)
from .reference_semirings import Proofs, ReferenceSemiring, TopK, make_semiring
from .wmc import FactWeights, proof_probability, wmc

__all__ = ["Model", "Answer", "Evaluator", "evaluate", "exact_probabilities", "query", "value_order", "all_facts"]

Value = Any  # int | str
Row = tuple  # (binding values..., ) ; tags travel beside it


def value_order(v: Value) -> tuple:
    """Sort key of constants: integers (numerically) before symbols (alphabetically).

    >>> sorted(["b", 3, "a", -1], key=value_order)
    [-1, 3, 'a', 'b']
    """
    return (0, v, "") if isinstance(v, int) else (1, 0, str(v))


def _tuple_order(t: tuple) -> tuple:
    return tuple(value_order(v) for v in t)


# ---------------------------------------------------------------- relations


class _Relation:
    """Tuples with tags, with hash indexes on the argument positions joins look up."""

    __slots__ = ("name", "arity", "tags", "_indexes")

    def __init__(self, name: str, arity: int) -> None:
        self.name = name
        self.arity = arity
        self.tags: dict[tuple, Any] = {}
        self._indexes: dict[tuple[int, ...], dict[tuple, list[tuple]]] = {}

    def __len__(self) -> int:
        return len(self.tags)

    def set(self, t: tuple, tag: Any) -> None:
        if t not in self.tags:
            for positions, index in self._indexes.items():
                index.setdefault(tuple(t[p] for p in positions), []).append(t)
        self.tags[t] = tag

    def lookup(self, positions: tuple[int, ...], key: tuple) -> Iterable[tuple]:
        if not positions:
            return self.tags.keys()
        if len(positions) == self.arity:  # every argument given: a plain lookup
            return (key,) if key in self.tags else ()
        index = self._indexes.get(positions)
        if index is None:
            index = {}
            for t in self.tags:
                index.setdefault(tuple(t[p] for p in positions), []).append(t)
            self._indexes[positions] = index
        return index.get(key, ())

    def match(self, positions: tuple[int, ...], key: tuple) -> Iterable[tuple[tuple, Any]]:
        tags = self.tags
        return [(t, tags[t]) for t in self.lookup(positions, key)]


class _Stable:
    """A relation as it was before the last round: ``previous`` holds the old tags of what changed."""

    _MISSING = object()

    def __init__(self, base: _Relation, previous: dict[tuple, Any]) -> None:
        self.base = base
        self.previous = previous

    def match(self, positions: tuple[int, ...], key: tuple) -> list[tuple[tuple, Any]]:
        out = []
        prev, tags, missing = self.previous, self.base.tags, self._MISSING
        for t in self.base.lookup(positions, key):
            tag = prev.get(t, tags[t]) if prev else tags[t]
            if tag is not missing:
                out.append((t, tag))
        return out


class _Recent:
    """The tuples of one round (``recent``), indexed lazily."""

    def __init__(self, tags: dict[tuple, Any]) -> None:
        self.tags = tags
        self._indexes: dict[tuple[int, ...], dict[tuple, list[tuple]]] = {}

    def __len__(self) -> int:
        return len(self.tags)

    def match(self, positions: tuple[int, ...], key: tuple) -> list[tuple[tuple, Any]]:
        if not positions:
            return list(self.tags.items())
        index = self._indexes.get(positions)
        if index is None:
            index = self._indexes[positions] = {}
            for t in self.tags:
                index.setdefault(tuple(t[p] for p in positions), []).append(t)
        return [(t, self.tags[t]) for t in index.get(key, ())]


class _Empty:
    def match(self, positions, key) -> list:
        return []


_EMPTY = _Empty()


# ---------------------------------------------------------------- expressions


class _Fail(Exception):
    """A literal fails for this binding (division by zero, arithmetic on a symbol)."""


def _compile_expr(expr, slots: Mapping[str, int]) -> Callable[[Row], Value]:
    if isinstance(expr, Var):
        i = slots[expr.name]
        return lambda b: b[i]
    if isinstance(expr, Const):
        v = expr.value
        return lambda b: v
    if isinstance(expr, Neg):
        f = _compile_expr(expr.operand, slots)
        return lambda b: -_int(f(b))
    if isinstance(expr, BinOp):
        lf, rf, op = _compile_expr(expr.left, slots), _compile_expr(expr.right, slots), expr.op
        fn = _ARITH[op]
        return lambda b: fn(_int(lf(b)), _int(rf(b)))
    raise AssertionError(f"not an expression: {expr!r}")


def _int(v: Value) -> int:
    if not isinstance(v, int):
        raise _Fail
    return v


def _div(a: int, b: int) -> int:
    if b == 0:
        raise _Fail
    return a // b


def _mod(a: int, b: int) -> int:
    if b == 0:
        raise _Fail
    return a % b


_ARITH: dict[str, Callable[[int, int], int]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "//": _div,
    "mod": _mod,
    "min": min,
    "max": max,
}


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


class _Ctx:
    """What steps need while running: the semiring, the complete relations, caches."""

    def __init__(self, sr: ReferenceSemiring, full: dict[str, _Relation]) -> None:
        self.sr = sr
        self.full = full
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

    def run(self, rows, ctx: _Ctx, source) -> list:
        sr, out = ctx.sr, []
        mul, is_zero = sr.mul, sr.is_zero
        cache: dict[tuple, list] = {}
        for b, tag in rows:
            key = tuple(v if is_const else b[v] for is_const, v in self.key)
            matches = cache.get(key)
            if matches is None:
                matches = cache[key] = [
                    (t, ttag) for t, ttag in source.match(self.positions, key) if all(t[i] == t[j] for i, j in self.checks)
                ]
            for t, ttag in matches:
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

    def run(self, rows, ctx: _Ctx, source) -> list:
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

    def run(self, rows, ctx: _Ctx, source) -> list:
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

    def _note(self, ctx: _Ctx, tag, values):
        if not ctx.hooks:
            return tag
        return ctx.sr.mul(tag, ctx.sr.builtin(self.lit, values))


class _AggregateStep:
    def __init__(self, lit: Aggregate, body, head_vars: set[str], slots: dict[str, int], span) -> None:
        self.lit = lit
        self.groups = aggregate_groups(lit, tuple(body), head_vars)
        self.listed = [v.name for v in lit.vars]
        self.inner = _Plan(lit.body, set(self.groups) | set(self.listed), span)
        self.bound_g = [g for g in self.groups if g in slots]
        self.new_g = [g for g in self.groups if g not in slots]
        self.bound_slots = [slots[g] for g in self.bound_g]
        for g in self.new_g:
            slots[g] = len(slots)
        self.result_slot = slots.get(lit.result.name)
        if self.result_slot is None:
            slots[lit.result.name] = len(slots)

    def _table(self, ctx: _Ctx) -> dict[tuple, dict[tuple, tuple[Value, Any]]]:
        """bound-group key -> (new-group values -> (result, tag))."""
        hit = ctx.cache.get(self)
        if hit is not None:
            return hit
        sr = ctx.sr
        rows = self.inner.run(ctx, lambda pos, atom: ctx.full.get(atom.predicate, _EMPTY))
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
            entries = sorted(per.items(), key=lambda kv: _tuple_order(kv[0]))
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
            return sum(firsts)
        if not firsts:
            return None
        pick = min if op == "min" else max
        return pick(firsts, key=value_order)

    def run(self, rows, ctx: _Ctx, source) -> list:
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
        return out


class _Plan:
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

    def run(self, ctx: _Ctx, source_of: Callable[[int, Atom], Any]) -> list:
        rows = [((), ctx.sr.one())]
        for step in self.steps:
            if not rows:
                break
            source = source_of(step.position, step.atom) if isinstance(step, _AtomStep) else None
            rows = step.run(rows, ctx, source)
        return rows


class _Rule:
    """A rule ready to run: base plan, one plan per stratum atom (that atom first), head builder."""

    def __init__(self, clause: Clause, stratum: frozenset[str]) -> None:
        self.clause = clause
        self.internal = [i for i, lit in enumerate(clause.body) if isinstance(lit, Atom) and lit.predicate in stratum]
        head_vars = set(clause.head.variables())
        self.base = _Plan(clause.body, head_vars, clause.span)
        self.delta = {i: _Plan(clause.body, head_vars, clause.span, first=i) for i in self.internal}
        for plan in [self.base, *self.delta.values()]:
            for arg in clause.head.args:
                if isinstance(arg, Var) and arg.name not in plan.slots:
                    span = arg.span if arg.span.line else clause.span
                    raise UnsafeRuleError(
                        f"variable {arg.name} of the head {clause.head.predicate} is not bound by the body",
                        file=span.file, line=span.line or None, column=span.column or None,
                        hint=f"add a positive atom that binds {arg.name}",
                    )

    def heads(self, plan: _Plan, ctx: _Ctx, source_of) -> dict[tuple, Any]:
        """``to_add`` of this rule: head tuple -> sum of the tags of its derivations."""
        sr = ctx.sr
        rows = plan.run(ctx, source_of)
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


# ---------------------------------------------------------------- the model


@dataclass
class Model:
    """The result of an evaluation.

    Attributes:
        relations: relation name -> {argument tuple: tag}; every relation of the program is present.
        facts: the input facts, numbered ``0..F-1`` (the program's, then the extra ones).
        semiring: the (bound) semiring the tags belong to.
    """

    relations: dict[str, dict[tuple, Any]]
    facts: list
    semiring: ReferenceSemiring

    def tag(self, relation: str, args: Sequence[Value]) -> Any:
        """The tag of one tuple (the semiring's zero when it was not derived)."""
        return self.relations.get(relation, {}).get(tuple(args), self.semiring.zero())

    def probability(self, relation: str, args: Sequence[Value]) -> float:
        """The probability the semiring gives a tuple (0.0 when it was not derived)."""
        rel = self.relations.get(relation, {})
        t = tuple(args)
        if t not in rel:
            return 0.0
        return self.semiring.probability(rel[t], self.facts)

    def tuples(self, relation: str) -> list[tuple]:
        """The derived tuples of ``relation``, sorted (integers before symbols)."""
        return sorted(self.relations.get(relation, {}), key=_tuple_order)


def all_facts(info, extra_facts: Sequence = ()) -> list:
    """The program's facts (``collect_facts``) followed by ``extra_facts`` renumbered after them.

    Raises:
        UnknownRelationError: an extra fact names a relation the program does not have.
        ArityError: an extra fact has the wrong number of arguments.
    """
    from ..lang.facts import collect_facts

    own = list(collect_facts(info))
    n = len(own)
    next_group = max((f.group for f in own), default=-1) + 1
    groups: dict[Any, int] = {}
    out = list(own)
    for i, f in enumerate(extra_facts):
        rel = info.relations.get(f.relation) if f.relation is not None else None
        if rel is None:
            raise UnknownRelationError(
                f"input fact for unknown relation {f.relation!r}",
                hint=f"declare it in the program (e.g. `type {f.relation}(...).`) or use one of: "
                f"{', '.join(sorted(info.relations))}",
            )
        if len(f.args) != rel.arity:
            raise ArityError(
                f"input fact {f.relation}{tuple(f.args)} has {len(f.args)} arguments, "
                f"but {f.relation} has {rel.arity}",
                hint=f"give {rel.arity} arguments",
            )
        g = groups.setdefault(f.group, next_group + len(groups))
        out.append(replace(f, id=n + i, group=g, args=tuple(f.args)))
    return out


def _weight_facts(facts: Sequence) -> tuple[dict[int, Any], list]:
    by_identity = {id(f.clause): f for f in facts if f.relation is None and f.clause is not None}
    weighted = [f for f in facts if f.relation is None and f.clause is not None]
    return by_identity, weighted


def _weight_for(clause: Clause, by_identity: dict[int, Any], weighted: list) -> Any:
    f = by_identity.get(id(clause))
    if f is not None:
        return f
    if getattr(clause, "weight", None) is None:
        return None
    for f in weighted:
        if f.clause == clause and f.clause.span == clause.span:
            return f
    for f in weighted:
        if f.clause == clause:
            return f
    return None




class Evaluator:
    """A program compiled once (rule bodies ordered into steps) and evaluated on any facts.

    Args:
        info: the analysed program (``ProgramInfo``).

    Raises:
        UnsafeRuleError: a rule body cannot be ordered (the analysis rejects such rules first).

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> from greybox.lang.analysis import analyze
        >>> ev = Evaluator(analyze(parse_program("0.4 :: p(a). q(X) :- p(X).")))
        >>> ev.run(all_facts(ev.info), semiring="add-mult").probability("q", ("a",))
        0.4
    """

    def __init__(self, info) -> None:
        self.info = info
        # the analysis turns an annotated disjunction with a body into one weighted rule per head
        self.strata = [(stratum, [_Rule(c, stratum.relations) for c in stratum.rules]) for stratum in info.strata]

    def run(
        self,
        facts: Sequence,
        *,
        semiring: str | ReferenceSemiring = "boolean",
        k: int = 3,
        max_iterations: int = 10_000,
        max_tuples: int = 1_000_000,
        time_budget_s: float | None = None,
    ) -> "Model":
        """Evaluate on ``facts`` (numbered ``0..F-1``, e.g. ``all_facts(info, extra)``); see ``evaluate``."""
        started = time.monotonic()
        facts = list(facts)
        sr = make_semiring(semiring, k=k).bind(facts)
        ctx = _Ctx(sr, {})
        full = ctx.full
        for name, rel_info in self.info.relations.items():
            full[name] = _Relation(name, rel_info.arity)
        for f in facts:
            if f.relation is None:
                continue
            rel = full.setdefault(f.relation, _Relation(f.relation, len(f.args)))
            t = tuple(f.args)
            tag = sr.from_fact(f)
            if t in rel.tags:
                tag = sr.add(rel.tags[t], tag)
            if not sr.is_zero(tag):
                rel.set(t, tag)
        by_identity, weighted = _weight_facts(facts)
        limits = (max_iterations, max_tuples, time_budget_s, started)
        for stratum, rules in self.strata:
            for rule in rules:
                w = _weight_for(rule.clause, by_identity, weighted)
                if w is not None:
                    ctx.weight_facts[rule] = w
            _run_stratum(rules, stratum, ctx, limits)
        return Model({name: dict(rel.tags) for name, rel in full.items()}, facts, sr)


def evaluate(
    info,
    extra_facts: Sequence = (),
    *,
    semiring: str | ReferenceSemiring = "boolean",
    k: int = 3,
    max_iterations: int = 10_000,
    max_tuples: int = 1_000_000,
    time_budget_s: float | None = None,
    facts: Sequence | None = None,
) -> "Model":
    """Evaluate a program to its least model in ``semiring``.

    Args:
        info: the analysed program (``ProgramInfo``).
        extra_facts: run-time ``InputFact``s for input or neural relations; they are
            renumbered after the program's own facts (see ``all_facts``).
        semiring: a name (``boolean``, ``add-mult``, ``max-mult``, ``max-min``,
            ``proofs``, ``top-k``) or a ``ReferenceSemiring``.
        k: proofs kept per tuple by ``top-k``.
        max_iterations: rounds per stratum.
        max_tuples: tuples one relation may hold.
        time_budget_s: wall-clock seconds for the whole evaluation (None: no limit).
        facts: use these (already numbered ``0..F-1``) instead of ``all_facts(info, extra_facts)``.

    Returns:
        The ``Model``.

    Raises:
        ResourceLimitError: a limit was passed; ``relation`` names the relation that kept growing.
        UnknownRelationError, ArityError: an extra fact does not fit the program.
    """
    facts = list(facts) if facts is not None else all_facts(info, extra_facts)
    return Evaluator(info).run(
        facts, semiring=semiring, k=k, max_iterations=max_iterations, max_tuples=max_tuples, time_budget_s=time_budget_s
    )


def _limit_error(kind: str, relation: str, limit) -> ResourceLimitError:
    hint = (
        "a recursive rule may keep creating new values (e.g. `n(Y) :- n(X), Y is X + 1.`); "
        f"bound it with a comparison, or raise {kind}"
    )
    what = {
        "max_tuples": f"relation '{relation}' grew past {limit:,} tuples",
        "max_iterations": f"relation '{relation}' was still changing after {limit:,} rounds",
        "time_budget_s": f"evaluation ran past its time budget of {limit:g} s while deriving '{relation}'",
    }[kind]
    return ResourceLimitError(what, relation=relation, hint=hint)


def _diverged(relation: str) -> ResourceLimitError:
    return ResourceLimitError(
        f"the tags of relation '{relation}' grew without bound (a cyclic derivation keeps adding)",
        relation=relation,
        hint="add-mult sums every derivation, which diverges on cycles; use max-mult or top-k for recursive programs",
    )


def _merge(rel: _Relation, to_add: dict[tuple, Any], sr: ReferenceSemiring, previous: dict) -> dict[tuple, Any]:
    """Add ``to_add`` into ``rel``; return ``recent`` (new tags, or increments for add-mult)."""
    recent: dict[tuple, Any] = {}
    missing = _Stable._MISSING
    for t, inc in to_add.items():
        old = rel.tags.get(t)
        new = inc if old is None else sr.add(old, inc)
        if sr.is_zero(new):
            continue
        if isinstance(new, float) and not math.isfinite(new):
            raise _diverged(rel.name)
        if old is None or new != old:
            previous[t] = missing if old is None else old
            rel.set(t, new)
        if old is None or sr.changed(old, new):
            recent[t] = new if sr.idempotent else inc
    return recent


def _run_stratum(rules: list[_Rule], stratum, ctx: _Ctx, limits) -> None:
    max_iterations, max_tuples, time_budget_s, started = limits
    sr, full = ctx.sr, ctx.full
    names = sorted(stratum.relations)

    def check(name: str) -> None:
        if len(full[name]) > max_tuples:
            raise _limit_error("max_tuples", name, max_tuples)
        if time_budget_s is not None and time.monotonic() - started > time_budget_s:
            raise _limit_error("time_budget_s", name, time_budget_s)

    def whole(pos: int, atom: Atom):
        return full.get(atom.predicate, _EMPTY)

    # round one: the rules that read nothing of this stratum, over everything known so far
    to_add: dict[str, dict[tuple, Any]] = {r: {} for r in names}
    for rule in rules:
        if not rule.internal:
            _accumulate(to_add[rule.clause.head.predicate], rule.heads(rule.base, ctx, whole), sr)
    recent: dict[str, _Recent] = {}
    for r in names:
        _merge(full[r], to_add[r], sr, {})
        # against an empty ``stable`` every tuple is recent, with its whole tag
        recent[r] = _Recent(dict(full[r].tags))
        check(r)
    if not stratum.recursive:
        return
    stable: dict[str, Any] = {r: _EMPTY for r in names}
    rounds = 0
    while any(len(recent[r]) for r in names):
        rounds += 1
        busiest = max(names, key=lambda r: len(recent[r]))
        if rounds > max_iterations:
            raise _limit_error("max_iterations", busiest, max_iterations)
        if time_budget_s is not None and time.monotonic() - started > time_budget_s:
            raise _limit_error("time_budget_s", busiest, time_budget_s)
        to_add = {r: {} for r in names}
        for rule in rules:
            for i in rule.internal:
                if not len(recent[rule.clause.body[i].predicate]):
                    continue

                def source_of(pos: int, atom: Atom, i: int = i, rule: _Rule = rule):
                    if atom.predicate not in stratum.relations:
                        return full.get(atom.predicate, _EMPTY)
                    if pos == i:
                        return recent[atom.predicate]
                    return full[atom.predicate] if pos < i else stable[atom.predicate]

                _accumulate(to_add[rule.clause.head.predicate], rule.heads(rule.delta[i], ctx, source_of), sr)
        for r in names:
            previous: dict[tuple, Any] = {}
            recent[r] = _Recent(_merge(full[r], to_add[r], sr, previous))
            stable[r] = _Stable(full[r], previous)
            check(r)


def _accumulate(into: dict[tuple, Any], new: dict[tuple, Any], sr: ReferenceSemiring) -> None:
    for t, tag in new.items():
        into[t] = tag if t not in into else sr.add(into[t], tag)


# ---------------------------------------------------------------- exact probabilities and queries


def exact_probabilities(info, extra_facts: Sequence = (), **limits) -> dict[tuple[str, tuple], float]:
    """The exact probability of every derived tuple: the weighted model count of all its proofs.

    Exact for every construct but aggregates over probabilistic relations (whose tag
    is the product of the aggregated tuples' tags).

    Args:
        info: the analysed program.
        extra_facts: run-time input facts (see ``evaluate``).
        **limits: ``max_iterations``, ``max_tuples``, ``time_budget_s`` for ``evaluate``.

    Returns:
        ``{(relation, args): probability}`` for every tuple with at least one consistent proof.
    """
    model = evaluate(info, extra_facts, semiring="proofs", **limits)
    weights = model.semiring.weights
    return {(name, t): wmc(tag, weights) for name, rel in model.relations.items() for t, tag in rel.items()}


@dataclass(frozen=True)
class Answer:
    """One answer to a query.

    Attributes:
        variables: the query's variables, in order of first occurrence.
        values: their values in this answer.
        probability: exact probability of the answer (1.0 in a program without probabilistic facts).
        proofs: the best proofs (top-k), best first; each a frozenset of ``(fact_id, positive)``.
        proof_probabilities: the probability of each proof.
        tag: the answer's tag in the semiring of the query.
    """

    variables: tuple[str, ...]
    values: tuple
    probability: float
    proofs: tuple[frozenset, ...] = ()
    proof_probabilities: tuple[float, ...] = ()
    tag: Any = field(default=None, compare=False, repr=False)

    @property
    def bindings(self) -> dict[str, Value]:
        """``{variable: value}``."""
        return dict(zip(self.variables, self.values))


def _rename_query(q: Query) -> tuple[Query, tuple[str, ...]]:
    """The query with each ``_`` renamed apart, and its answer variables (the named ones)."""
    from ..lang.safety import rename_anonymous

    renamed, anonymous = rename_anonymous(q)
    return renamed, tuple(v for v in renamed.variables() if v not in anonymous)


def _answer_tags(model: Model, q: Query, names: tuple[str, ...]) -> dict[tuple, Any]:
    sr = model.semiring
    ctx = _Ctx(sr, {})
    for name, tags in model.relations.items():
        rel = ctx.full[name] = _Relation(name, len(next(iter(tags), ())))
        for t, tag in tags.items():
            rel.set(t, tag)
    plan = _Plan(q.body, set(names), q.span)
    rows = plan.run(ctx, lambda pos, atom: ctx.full.get(atom.predicate, _EMPTY))
    out: dict[tuple, Any] = {}
    idx = [plan.slots[n] for n in names]
    for b, tag in rows:
        key = tuple(b[i] for i in idx)
        out[key] = tag if key not in out else sr.add(out[key], tag)
    return out


def query(
    info,
    q: Query,
    extra_facts: Sequence = (),
    *,
    semiring: str | ReferenceSemiring = "top-k",
    k: int = 3,
    exact: bool = True,
    **limits,
) -> list[Answer]:
    """Answers to a conjunctive query, most probable first (ties: by values).

    Args:
        info: the analysed program.
        q: the query (``parse_query("?- grandparent(ann, X).")``).
        extra_facts: run-time input facts.
        semiring: the semiring whose tags the answers carry; the proofs shown come
            from ``top-k`` or ``proofs``.
        k: how many proofs per answer.
        exact: compute the exact probability from all proofs (can grow exponentially
            on large recursive programs); when False the probability is the one the
            ``semiring`` gives the answer (for ``top-k``: that of its best proofs, a lower bound).
        **limits: resource limits for ``evaluate``.

    Returns:
        A list of ``Answer``; with ``exact`` the probability is the weighted model count
        of all proofs of the answer (1.0 in a program without probabilistic facts).

    Example:
        >>> from greybox.lang.parser import parse_program, parse_query
        >>> from greybox.lang.analysis import analyze
        >>> info = analyze(parse_program("0.6 :: p(a). 0.5 :: p(b). q(X) :- p(X)."))
        >>> [(a.values, a.probability) for a in query(info, parse_query("?- q(X)."))]
        [(('a',), 0.6), (('b',), 0.5)]
    """
    q, names = _rename_query(q)
    facts = all_facts(info, extra_facts)
    model = evaluate(info, semiring=semiring, k=k, facts=facts, **limits)
    tags = _answer_tags(model, q, names)
    probabilistic = any(f.probability is not None for f in facts)
    weights = FactWeights.from_facts(facts)
    if not exact:
        exact_tags = None
    elif isinstance(model.semiring, Proofs):
        exact_tags = tags
    elif probabilistic:
        exact_tags = _answer_tags(evaluate(info, semiring="proofs", facts=facts, **limits), q, names)
    else:
        exact_tags = None
    keys = set(tags) if exact_tags is None else set(exact_tags)
    answers = []
    for key in keys:
        tag = tags.get(key, model.semiring.zero())
        if exact_tags is not None:
            prob = wmc(exact_tags[key], weights)
        elif exact:
            prob = 1.0  # no probabilistic fact: every derived answer holds
        else:
            prob = model.semiring.probability(tag, facts)
        proofs: tuple = ()
        if isinstance(model.semiring, (Proofs, TopK)):
            proofs = tuple(model.semiring.ranked(tag))[:k]
        answers.append(
            Answer(names, key, prob, proofs, tuple(proof_probability(p, weights) for p in proofs), tag)
        )
    answers.sort(key=lambda a: (-a.probability, _tuple_order(a.values)))
    return answers
