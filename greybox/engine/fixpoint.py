"""Semi-naive evaluation of one stratum (datafrog's vocabulary: stable / recent / to_add).

For a rule ``h :- b1, ..., bn`` whose atoms ``b_i`` at positions ``I`` belong to the
stratum being computed, one round adds

    sum over i in I of   total(b_<i) * recent(b_i) * stable(b_>i)

where ``stable`` is a relation before the previous round, ``recent`` what that
round added and ``total = stable ⊕ recent``. This telescopes ``prod total - prod
stable``, so for a non-idempotent semiring (add-mult) where ``recent`` carries
*increments* every ground derivation is counted exactly once; for idempotent
semirings ``recent`` carries the changed tuples with their new tags.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch

from ..errors import ResourceLimitError
from ..lang.ast import Atom, Clause
from ..semirings.base import Algebra
from .plan import Step, order_body
from .relation import Relation, dedupe, row_keys
from .rule_eval import RuleContext, eval_body, eval_head

__all__ = ["Limits", "CompiledRule", "run_stratum", "merge"]


@dataclass(frozen=True)
class Limits:
    """Resource limits of one evaluation; passing one raises ``ResourceLimitError``.

    Args:
        max_iterations: rounds of semi-naive evaluation per stratum.
        max_tuples: tuples one relation may hold (summed over the batch).
        time_budget_s: wall-clock seconds for the whole evaluation (None: no limit).
    """

    max_iterations: int = 10_000
    max_tuples: int = 50_000_000
    time_budget_s: float | None = None


@dataclass
class CompiledRule:
    """A rule with its body orders: ``base`` (no delta) and one per stratum atom it reads."""

    clause: Clause
    weight_fact: int | None
    internal: list[int]  # body positions of atoms whose relation is in the rule's stratum
    head_vars: set[str] = field(default_factory=set)
    base: list[Step] = field(default_factory=list)
    delta: dict[int, list[Step]] = field(default_factory=dict)

    @staticmethod
    def compile(clause: Clause, weight_fact: int | None, stratum: frozenset[str]) -> "CompiledRule":
        internal = [i for i, lit in enumerate(clause.body) if isinstance(lit, Atom) and lit.predicate in stratum]
        head_vars = set(clause.head.variables())
        rule = CompiledRule(clause, weight_fact, internal, head_vars)
        rule.base = order_body(clause.body, head_vars)
        rule.delta = {i: order_body(clause.body, head_vars, first=i) for i in internal}
        return rule


def merge(total: Relation, derived: Relation, algebra: Algebra) -> tuple[Relation, Relation]:
    """``to_add`` -> (new total, recent).

    ``recent`` holds the tuples whose tag changed: with their new tag for an
    idempotent semiring, with the increment for add-mult.
    """
    if len(derived) == 0:
        return total, Relation(derived.cols, derived.tags)
    n_old = len(total)
    k_old, k_new = row_keys(total.cols, derived.cols)
    uniq, inverse = torch.unique(torch.cat([k_old, k_new]), return_inverse=True)  # (U,), (T + D,)
    n_u = int(uniq.shape[0])
    all_cols = torch.cat([total.cols, derived.cols], dim=0)
    first = torch.full((n_u,), all_cols.shape[0], dtype=torch.int64, device=all_cols.device)
    first = first.scatter_reduce(0, inverse, torch.arange(all_cols.shape[0], device=all_cols.device), "amin")
    cols = all_cols[first]  # (U, 1 + a)
    old = algebra.scatter_rows(algebra.zero(n_u), inverse[:n_old], total.tags)
    increment = algebra.segment_add(derived.tags, inverse[n_old:], n_u)
    new = algebra.add(old, increment)
    changed = algebra.changed(old, new) & ~algebra.is_zero(new)
    idx = changed.nonzero().squeeze(1)
    recent = Relation(cols[idx], algebra.index(new if algebra.idempotent else increment, idx))
    keep = (~algebra.is_zero(new)).nonzero().squeeze(1)
    return Relation(cols[keep], algebra.index(new, keep)), recent


def _check_time(limits: Limits, started: float, relation: str) -> None:
    if limits.time_budget_s is not None and time.monotonic() - started > limits.time_budget_s:
        raise ResourceLimitError(
            f"evaluation ran past its time budget of {limits.time_budget_s:g} s while deriving '{relation}'",
            relation=relation,
            hint="raise Limits(time_budget_s=...) or check the rules of that relation for unbounded growth",
        )


def _check_size(limits: Limits, rel: Relation, name: str) -> None:
    if len(rel) > limits.max_tuples:
        raise ResourceLimitError(
            f"relation '{name}' grew past {limits.max_tuples:,} tuples",
            relation=name,
            hint="a recursive rule may keep creating new values (e.g. `n(Y) :- n(X), Y is X + 1.`); "
            "bound it with a comparison, or raise Limits(max_tuples=...)",
        )


def run_stratum(
    rules: list[CompiledRule],
    relations: frozenset[str],
    recursive: bool,
    ctx: RuleContext,
    arities: dict[str, int],
    limits: Limits,
    started: float,
) -> None:
    """Compute the relations of one stratum into ``ctx.relations``."""
    alg = ctx.algebra
    full = ctx.relations

    def base_getter(pos: int, atom: Atom) -> Relation:
        return full[atom.predicate]

    to_add: dict[str, list[Relation]] = {r: [] for r in relations}
    for rule in rules:
        if not rule.internal:
            frame = eval_body(rule.clause.body, rule.head_vars, ctx, base_getter, rule.base)
            to_add[rule.clause.head.predicate].append(eval_head(rule.clause, frame, ctx, rule.weight_fact))
    total: dict[str, Relation] = {}
    recent: dict[str, Relation] = {}
    for r in relations:
        start = full.get(r, Relation.empty(arities[r], alg))  # facts of r, if any
        derived = _union(to_add[r], arities[r], alg)
        total[r], _ = merge(start, derived, alg)
        # against an empty ``stable`` every tuple of round one is recent, with its whole tag
        recent[r] = total[r]
        _check_size(limits, total[r], r)
        full[r] = total[r]
    if not recursive:
        return
    stable = {r: Relation.empty(arities[r], alg) for r in relations}
    iteration = 0
    while any(len(recent[r]) for r in relations):
        iteration += 1
        busiest = max(relations, key=lambda r: len(recent[r]))
        if iteration > limits.max_iterations:
            raise ResourceLimitError(
                f"relation '{busiest}' was still changing after {limits.max_iterations:,} rounds",
                relation=busiest,
                hint="a recursive rule may keep creating new values (e.g. `n(Y) :- n(X), Y is X + 1.`); "
                "bound it with a comparison, or raise Limits(max_iterations=...)",
            )
        _check_time(limits, started, busiest)
        to_add = {r: [] for r in relations}
        for rule in rules:
            for i in rule.internal:
                pivot = rule.clause.body[i]
                if len(recent[pivot.predicate]) == 0:
                    continue

                def getter(pos: int, atom: Atom, i: int = i, rule: CompiledRule = rule) -> Relation:
                    if atom.predicate not in relations:
                        return full[atom.predicate]
                    if pos == i:
                        return recent[atom.predicate]
                    before = rule.internal.index(pos) < rule.internal.index(i)
                    return total[atom.predicate] if before else stable[atom.predicate]

                frame = eval_body(rule.clause.body, rule.head_vars, ctx, getter, rule.delta[i])
                to_add[rule.clause.head.predicate].append(eval_head(rule.clause, frame, ctx, rule.weight_fact))
        for r in relations:
            stable[r] = total[r]
            total[r], recent[r] = merge(total[r], _union(to_add[r], arities[r], alg), alg)
            _check_size(limits, total[r], r)
            full[r] = total[r]


def _union(parts: list[Relation], arity: int, alg: Algebra) -> Relation:
    parts = [p for p in parts if len(p)]
    if not parts:
        return Relation.empty(arity, alg)
    if len(parts) == 1:
        return parts[0]
    return dedupe(torch.cat([p.cols for p in parts]), alg.cat([p.tags for p in parts]), alg)
