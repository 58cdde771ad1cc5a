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
from typing import Callable

import torch

from ..errors import ArithmeticOverflowError, ResourceLimitError
from ..lang.ast import Atom, Clause
from ..semirings.base import Algebra
from .int64 import located
from .plan import Step, order_body
from .relation import Relation, RowEncoder, dedupe, row_keys, sorted_unique
from .rule_eval import RuleContext, eval_body, eval_head

__all__ = ["Limits", "CompiledRule", "SparseRounds", "check_round", "diverged_error", "merge"]


@dataclass(frozen=True)
class Limits:
    """Resource limits of one evaluation; passing one raises ``ResourceLimitError``.

    Args:
        max_iterations: rounds of semi-naive evaluation per stratum.
        max_tuples: tuples one relation may hold, and bindings one join of a rule body may
            make (summed over the batch); a join is refused before its output is allocated.
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
    def compile(
        clause: Clause, weight_fact: int | None, stratum: frozenset[str], single: frozenset[str] = frozenset()
    ) -> "CompiledRule":
        internal = [i for i, lit in enumerate(clause.body) if isinstance(lit, Atom) and lit.predicate in stratum]
        head_vars = set(clause.head.variables())
        rule = CompiledRule(clause, weight_fact, internal, head_vars)
        rule.base = order_body(clause.body, head_vars, single=single)
        rule.delta = {i: order_body(clause.body, head_vars, first=i, single=single) for i in internal}
        return rule


def _keyed(rel: Relation, algebra: Algebra, extra: Tensor) -> Relation:
    """``rel`` sorted by the keys of an encoder that also fits the rows ``extra``."""
    enc = rel.encoder
    if rel.keys is not None and enc is not None and enc.fits(extra):
        return rel
    both = torch.cat([rel.cols, extra], dim=0)
    enc = RowEncoder.fit(both) if both.shape[0] else None
    if enc is None:
        return rel  # values too spread out for one int64 key: merge falls back to sorting everything
    keys = enc.encode(rel.cols)
    keys, order = torch.sort(keys)
    return Relation(rel.cols[order], algebra.index(rel.tags, order), keys, enc)


def merge(total: Relation, derived: Relation, algebra: Algebra) -> tuple[Relation, Relation]:
    """``to_add`` -> (new total, recent).

    ``recent`` holds the tuples whose tag changed: with their new tag for an
    idempotent semiring, with the increment for add-mult. The total stays sorted
    by key, so a round costs a search per derived tuple plus one pass to insert
    the new ones -- never a sort of the whole relation.
    """
    if len(derived) == 0:
        return total, Relation(derived.cols, derived.tags)
    total = _keyed(total, algebra, derived.cols)
    if total.encoder is None:
        return _merge_unsorted(total, derived, algebra)
    enc = total.encoder
    keys_t = total.keys
    n_t = len(total)
    # dedupe what this round derived: ⊕ equal tuples
    uk, inverse, first = sorted_unique(enc.encode(derived.cols))  # (U,), (D,), (U,)
    inc = algebra.segment_add(derived.tags, inverse, int(uk.shape[0]))
    cols_u = derived.cols[first]
    pos = torch.searchsorted(keys_t, uk)  # (U,)
    found = torch.zeros_like(uk, dtype=torch.bool)
    if n_t:
        found = keys_t[pos.clamp_max(n_t - 1)] == uk
    # tuples already known: old ⊕ increment
    fi = found.nonzero().squeeze(1)
    ep = pos[fi]
    old_e = algebra.index(total.tags, ep)
    inc_e = algebra.index(inc, fi)
    new_e = algebra.add(old_e, inc_e)
    changed_e = algebra.changed(old_e, new_e)
    ce = changed_e.nonzero().squeeze(1)
    tags_t = algebra.scatter_rows(total.tags, ep[ce], algebra.index(new_e, ce)) if len(ce) else total.tags
    # new tuples, inserted in key order
    ni = (~found).nonzero().squeeze(1)
    inc_n = algebra.index(inc, ni)
    keep_n = (~algebra.is_zero(inc_n)).nonzero().squeeze(1)
    ni, inc_n = ni[keep_n], algebra.index(inc_n, keep_n)
    new_keys, new_cols = uk[ni], cols_u[ni]
    n_n = int(ni.shape[0])
    if n_n:
        old_at = torch.arange(n_t, device=keys_t.device) + torch.searchsorted(new_keys, keys_t)
        new_at = torch.searchsorted(keys_t, new_keys) + torch.arange(n_n, device=keys_t.device)
        perm = torch.empty(n_t + n_n, dtype=torch.int64, device=keys_t.device)
        perm[old_at] = torch.arange(n_t, device=keys_t.device)
        perm[new_at] = torch.arange(n_t, n_t + n_n, device=keys_t.device)
        merged = Relation(
            torch.cat([total.cols, new_cols])[perm],
            algebra.index(algebra.cat([tags_t, inc_n]), perm),
            torch.cat([keys_t, new_keys])[perm],
            enc,
        )
    else:
        merged = Relation(total.cols, tags_t, keys_t, enc)
    recent_e = algebra.index(new_e if algebra.idempotent else inc_e, ce)
    recent = Relation(torch.cat([cols_u[fi[ce]], new_cols]), algebra.cat([recent_e, inc_n]))
    return merged, recent


def _merge_unsorted(total: Relation, derived: Relation, algebra: Algebra) -> tuple[Relation, Relation]:
    """``merge`` for rows too spread out for one int64 key: sort everything each round."""
    n_old = len(total)
    k_old, k_new = row_keys(total.cols, derived.cols)
    uniq, inverse, first = sorted_unique(torch.cat([k_old, k_new]))  # (U,), (T + D,), (U,)
    n_u = int(uniq.shape[0])
    cols = torch.cat([total.cols, derived.cols], dim=0)[first]  # (U, 1 + a)
    old = algebra.scatter_rows(algebra.zero(n_u), inverse[:n_old], total.tags)
    increment = algebra.segment_add(derived.tags, inverse[n_old:], n_u)
    new = algebra.add(old, increment)
    changed = algebra.changed(old, new) & ~algebra.is_zero(new)
    idx = changed.nonzero().squeeze(1)
    recent = Relation(cols[idx], algebra.index(new if algebra.idempotent else increment, idx))
    keep = (~algebra.is_zero(new)).nonzero().squeeze(1)
    return Relation(cols[keep], algebra.index(new, keep)), recent


def check_round(limits: Limits, iteration: int, started: float, busiest: Callable[[], str]) -> None:
    """Raise ``ResourceLimitError`` when round ``iteration`` of a stratum would pass ``limits``.

    ``busiest`` names the relation that changed most in the last round (asked only to raise).

    >>> check_round(Limits(max_iterations=2), 3, time.monotonic(), lambda: "path")
    Traceback (most recent call last):
    ...
    greybox.errors.ResourceLimitError: relation 'path' was still changing after 2 rounds...
    """
    if iteration > limits.max_iterations:
        name = busiest()
        raise ResourceLimitError(
            f"relation '{name}' was still changing after {limits.max_iterations:,} rounds",
            relation=name,
            hint="a recursive rule may keep creating new values (e.g. `n(Y) :- n(X), Y is X + 1.`); "
            "bound it with a comparison, or raise Limits(max_iterations=...)",
        )
    if limits.time_budget_s is not None and time.monotonic() - started > limits.time_budget_s:
        name = busiest()
        raise ResourceLimitError(
            f"evaluation ran past its time budget of {limits.time_budget_s:g} s while deriving '{name}'",
            relation=name,
            hint="raise Limits(time_budget_s=...) or check the rules of that relation for unbounded growth",
        )


def diverged_error(relation: str) -> ResourceLimitError:
    """The error of a relation whose tags grew without bound (add-mult on a cycle)."""
    return ResourceLimitError(
        f"the tags of relation '{relation}' grew without bound (a cyclic derivation keeps adding)",
        relation=relation,
        hint="add-mult sums every derivation, which diverges on cycles; use max-mult or top-k for recursive programs",
    )


def _check_size(limits: Limits, rel: Relation, name: str) -> None:
    if len(rel) > limits.max_tuples:
        raise ResourceLimitError(
            f"relation '{name}' grew past {limits.max_tuples:,} tuples",
            relation=name,
            hint="a recursive rule may keep creating new values (e.g. `n(Y) :- n(X), Y is X + 1.`); "
            "bound it with a comparison, or raise Limits(max_tuples=...)",
        )


class SparseRounds:
    """Semi-naive rounds of one stratum over tuple columns; the relations live in ``ctx.relations``.

    Made, it has run round one (the rules that read no relation of the stratum, merged into
    the facts); ``step`` runs one more round. The evaluation skeleton
    (``greybox.engine.evaluation``) drives the rounds and checks the limits between them.
    """

    def __init__(
        self,
        rules: list[CompiledRule],
        relations: frozenset[str],
        ctx: RuleContext,
        arities: dict[str, int],
        limits: Limits,
    ) -> None:
        self.rules, self.relations, self.ctx, self.arities, self.limits = rules, relations, ctx, arities, limits
        alg = ctx.algebra
        full = ctx.relations

        def base_getter(pos: int, atom: Atom) -> Relation:
            return full[atom.predicate]

        to_add: dict[str, list[Relation]] = {r: [] for r in relations}
        for rule in rules:
            if not rule.internal:
                to_add[rule.clause.head.predicate].append(_fire(rule, rule.base, ctx, base_getter))
        self.total: dict[str, Relation] = {}
        self.recent: dict[str, Relation] = {}
        for r in relations:
            start = full.get(r, Relation.empty(arities[r], alg))  # facts of r, if any
            derived = _union(to_add[r], arities[r], alg)
            self.total[r], _ = merge(start, derived, alg)
            # against an empty ``stable`` every tuple of round one is recent, with its whole tag
            self.recent[r] = self.total[r]
            _check_size(limits, self.total[r], r)
            full[r] = self.total[r]
        self.stable = {r: Relation.empty(arities[r], alg) for r in relations}

    def changing(self) -> bool:
        """Whether the last round changed a relation."""
        return any(len(self.recent[r]) for r in self.relations)

    def busiest(self) -> str:
        """The relation that changed most in the last round."""
        return max(self.relations, key=lambda r: len(self.recent[r]))

    def step(self) -> None:
        """One round: ``to_add`` from every rule and atom of the stratum that read a recent tuple, merged."""
        relations, ctx, alg, full = self.relations, self.ctx, self.ctx.algebra, self.ctx.relations
        total, recent, stable = self.total, self.recent, self.stable
        to_add: dict[str, list[Relation]] = {r: [] for r in relations}
        for rule in self.rules:
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

                to_add[rule.clause.head.predicate].append(_fire(rule, rule.delta[i], ctx, getter))
        for r in relations:
            stable[r] = total[r]
            total[r], recent[r] = merge(total[r], _union(to_add[r], self.arities[r], alg), alg)
            _check_size(self.limits, total[r], r)
            if alg.diverged(total[r].tags):
                raise diverged_error(r)
            full[r] = total[r]

    def finish(self) -> None:
        """Nothing left to do: every round wrote its totals into ``ctx.relations``."""


def _fire(rule: CompiledRule, steps: list[Step], ctx: RuleContext, getter) -> Relation:
    """``to_add`` of one rule in one order; an overflow or a join past the limit names the rule."""
    try:
        frame = eval_body(rule.clause.body, rule.head_vars, ctx, getter, steps)
        return eval_head(rule.clause, frame, ctx, rule.weight_fact, merge_equal=False)
    except (ArithmeticOverflowError, ResourceLimitError) as err:
        raise located(err, rule.clause) from None


def _union(parts: list[Relation], arity: int, alg: Algebra) -> Relation:
    parts = [p for p in parts if len(p)]
    if not parts:
        return Relation.empty(arity, alg)
    if len(parts) == 1:
        return parts[0]
    # equal rows stay apart here: merge() adds them up in the same pass as the lookup
    return Relation(torch.cat([p.cols for p in parts]), alg.cat([p.tags for p in parts]))
