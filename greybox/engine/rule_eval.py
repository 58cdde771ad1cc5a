"""Executing one rule body over tensors: joins, filters, arithmetic, negation, aggregation.

Each step below is written under the Datalog literal it executes. Every step maps a
``Frame`` of ``M`` bindings to a new one; tags are combined with the evaluation's
semiring (``mul`` for a conjunction), so the same code serves every provenance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from ..lang.ast import Aggregate, Assign, Atom, Clause, Comparison, Const, Literal, Negation, Var
from ..semirings.base import Algebra
from .expr import compare, eval_expr, segment_sum
from .frame import Frame
from .join import equi_join, lookup
from .plan import Step, aggregate_groups, local_vars, order_body
from .relation import Relation, dedupe, row_keys
from .symbols import SymbolTable

__all__ = ["RuleContext", "eval_body", "eval_head", "RelationGetter"]

#: ``get(position, atom) -> Relation`` gives the version of the relation a body atom reads
RelationGetter = Callable[[int, Atom], Relation]


@dataclass
class RuleContext:
    """What executing a rule needs besides its relations."""

    algebra: Algebra
    symbols: SymbolTable
    batch_size: int
    #: all relations computed so far (lower strata and inputs), for negations and aggregates
    relations: dict[str, Relation]
    #: the most bindings one join may produce (``Limits.max_tuples``); checked before they are made
    max_rows: int | None = None


def _const(value: int | str, symbols: SymbolTable) -> int | None:
    if isinstance(value, int):
        return value
    return symbols.lookup(value)


def _match_atom(atom: Atom, rel: Relation, symbols: SymbolTable) -> tuple[Relation, dict[str, int]]:
    """Rows of ``rel`` that agree with the constants and repeated variables of ``atom``.

    Returns the filtered relation and, for each variable, the column it is read from.
    """
    mask = torch.ones(len(rel), dtype=torch.bool, device=rel.cols.device)
    first_col: dict[str, int] = {}
    for i, arg in enumerate(atom.args):
        col = rel.cols[:, 1 + i]
        if isinstance(arg, Const):
            code = _const(arg.value, symbols)
            mask = mask & (col == code) if code is not None else torch.zeros_like(mask)
        elif arg.name in first_col:  # p(X, X): both columns equal
            mask = mask & (col == rel.cols[:, first_col[arg.name]])
        else:
            first_col[arg.name] = 1 + i
    if not bool(mask.all()):
        rel = rel.select(mask.nonzero().squeeze(1))
    return rel, first_col


def _drop_zero(frame: Frame, algebra: Algebra) -> Frame:
    return frame.keep(~algebra.is_zero(frame.tag))


def join_atom(frame: Frame, atom: Atom, rel: Relation, ctx: RuleContext) -> Frame:
    """``..., p(args), ...``: equi-join the bindings with ``p`` on the sample and shared variables."""
    rel, cols = _match_atom(atom, rel, ctx.symbols)
    shared = [v for v in cols if v in frame.vals]
    new = [v for v in cols if v not in frame.vals]
    left = frame.key_cols(shared)  # (M, 1 + S)
    right = torch.stack([rel.cols[:, 0]] + [rel.cols[:, cols[v]] for v in shared], dim=1)  # (N, 1 + S)
    lk, rk = row_keys(left, right)
    li, ri = equi_join(lk, rk, max_pairs=ctx.max_rows, what=f"the join with '{atom.predicate}'")  # (P,), (P,)
    out = frame.select(li)
    for v in new:
        out.vals[v] = rel.cols[ri, cols[v]]
    out.tag = ctx.algebra.mul(out.tag, ctx.algebra.index(rel.tags, ri))
    return _drop_zero(out, ctx.algebra)


def _comparison(frame: Frame, lit: Comparison, ctx: RuleContext) -> Frame:
    free = [v for v in lit.variables() if v not in frame.vals]
    if free:
        # X = expr binds X (X may be on either side)
        (name,) = free
        expr = lit.right if isinstance(lit.left, Var) and lit.left.name == name else lit.left
        val, ok = eval_expr(expr, frame, ctx.symbols)
        frame.vals = {**frame.vals, name: val}
        return frame.keep(ok)
    a, ok_a = eval_expr(lit.left, frame, ctx.symbols)
    b, ok_b = eval_expr(lit.right, frame, ctx.symbols, ok_a)  # left to right, as the reference
    return frame.keep(ok_a & ok_b & compare(lit.op, a, b))


def _assign(frame: Frame, lit: Assign, ctx: RuleContext) -> Frame:
    val, ok = eval_expr(lit.expr, frame, ctx.symbols)
    name = lit.target.name
    if name in frame.vals:  # already bound: `is` tests equality
        return frame.keep(ok & (frame.vals[name] == val))
    frame.vals = {**frame.vals, name: val}
    return frame.keep(ok)


def _project(rel: Relation, atom: Atom, keep_vars: list[str], ctx: RuleContext) -> Relation:
    """``q'(sample, keep_vars)``: ``q`` restricted to the atom's constants, other variables summed out (⊕)."""
    rel, cols = _match_atom(atom, rel, ctx.symbols)
    proj = torch.stack([rel.cols[:, 0]] + [rel.cols[:, cols[v]] for v in keep_vars], dim=1)
    return dedupe(proj, rel.tags, ctx.algebra)


def _negation(frame: Frame, lit: Negation, body, head_vars, ctx: RuleContext) -> Frame:
    """``\\+ q(args)``: rows whose ``q`` tuple was derived get ``negate(tag)``; others keep their tag."""
    local = local_vars(lit, body, head_vars)
    keep_vars = [v for v in lit.atom.variables() if v not in local]
    alg = ctx.algebra
    q = _project(ctx.relations[lit.atom.predicate], lit.atom, keep_vars, ctx)
    lk, rk = row_keys(frame.key_cols(keep_vars), q.cols)
    idx = lookup(lk, rk)  # (M,) row of q or -1
    found = (idx >= 0).nonzero().squeeze(1)
    neg = alg.scatter_rows(alg.one(len(frame)), found, alg.negate(alg.index(q.tags, idx[found])))
    frame.tag = alg.mul(frame.tag, neg)
    return _drop_zero(frame, alg)


def _aggregate(frame: Frame, lit: Aggregate, body, head_vars, ctx: RuleContext) -> Frame:
    """``R = op{Vars : Body}`` grouped by the body variables shared with the rest of the rule."""
    alg = ctx.algebra
    groups = aggregate_groups(lit, body, head_vars)
    listed = [v.name for v in lit.vars]
    inner = eval_body(lit.body, set(groups) | set(listed), ctx, lambda pos, atom: ctx.relations[atom.predicate])
    # distinct bindings of (groups, listed vars) per sample; duplicates are one binding (⊕)
    distinct = dedupe(inner.key_cols(groups + listed), inner.tag, alg)  # (D, 1 + G + V)
    gcols = distinct.cols[:, : 1 + len(groups)]
    (gkeys,) = row_keys(gcols)
    uniq, seg = torch.unique(gkeys, return_inverse=True)
    n_groups = int(uniq.shape[0])
    first = torch.full((n_groups,), len(distinct), dtype=torch.int64, device=seg.device)
    first = first.scatter_reduce(0, seg, torch.arange(len(distinct), device=seg.device), "amin")
    value_col = distinct.cols[:, 1 + len(groups)] if lit.op != "count" else None
    zeros = torch.zeros(n_groups, dtype=torch.int64, device=seg.device)
    if lit.op == "count":
        agg = zeros.index_add(0, seg, torch.ones_like(seg))
    elif lit.op == "sum":
        agg = segment_sum(value_col, seg, n_groups)  # exact: an overflowing total raises
    else:
        agg = zeros.scatter_reduce(0, seg, value_col, "amin" if lit.op == "min" else "amax", include_self=False)
    # the result holds when all the aggregated tuples hold: ⊗ of their tags
    result = Relation(torch.cat([gcols[first], agg[:, None]], dim=1), alg.segment_mul(distinct.tags, seg, n_groups))

    bound_g = [g for g in groups if g in frame.vals]
    new_g = [g for g in groups if g not in frame.vals]
    res_name = lit.result.name
    if not new_g and lit.op in ("count", "sum"):
        # left join: a group with no tuple counts 0 / sums to 0, with tag one
        lk, rk = row_keys(frame.key_cols(bound_g), result.cols[:, : 1 + len(groups)])
        idx = lookup(lk, rk)
        found = (idx >= 0).nonzero().squeeze(1)
        if len(result):
            value = torch.where(idx >= 0, result.cols[idx.clamp_min(0), -1], torch.zeros_like(idx))
        else:  # nothing to aggregate in any group
            value = torch.zeros_like(idx)
        tag = alg.scatter_rows(alg.one(len(frame)), found, alg.index(result.tags, idx[found]))
        out = Frame(frame.sample, alg.mul(frame.tag, tag), dict(frame.vals))
    else:
        pos = {g: 1 + groups.index(g) for g in groups}
        right = torch.stack([result.cols[:, 0]] + [result.cols[:, pos[g]] for g in bound_g], dim=1)
        lk, rk = row_keys(frame.key_cols(bound_g), right)
        li, ri = equi_join(lk, rk, max_pairs=ctx.max_rows, what=f"the join with {lit.op}{{...}}")
        out = frame.select(li)
        for g in new_g:
            out.vals[g] = result.cols[ri, pos[g]]
        value = result.cols[ri, -1]
        out.tag = alg.mul(out.tag, alg.index(result.tags, ri))
    if res_name in out.vals:  # N = count{...} with N already bound tests equality
        out = out.keep(out.vals[res_name] == value)
    else:
        out.vals[res_name] = value
    return _drop_zero(out, alg)


def eval_body(
    body: tuple[Literal, ...],
    head_vars: set[str],
    ctx: RuleContext,
    get: RelationGetter,
    steps: list[Step] | None = None,
) -> Frame:
    """All bindings of ``body`` (one per sample and satisfying assignment), with their tags."""
    if steps is None:
        steps = order_body(body, head_vars)
    # variables still needed after each step (by later literals or the head): the rest are dropped
    needed_after: list[set[str]] = [set()] * len(steps)
    needed = set(head_vars)
    for i in range(len(steps) - 1, -1, -1):
        needed_after[i] = set(needed)
        needed |= set(steps[i].literal.variables())
    frame = Frame.unit(ctx.batch_size, ctx.algebra)
    for i, step in enumerate(steps):
        if i:
            frame.vals = {k: v for k, v in frame.vals.items() if k in needed_after[i - 1]}
        lit = step.literal
        if len(frame) == 0:
            # nothing left to extend: every variable of the body is bound to no row
            empty = frame.sample.new_empty(0)
            for other in body:
                for v in other.variables():
                    frame.vals.setdefault(v, empty)
            if isinstance(lit, Aggregate):
                frame.vals.setdefault(lit.result.name, empty)
            break
        if isinstance(lit, Atom):
            frame = join_atom(frame, lit, get(step.position, lit), ctx)
        elif isinstance(lit, Comparison):
            frame = _comparison(frame, lit, ctx)
        elif isinstance(lit, Assign):
            frame = _assign(frame, lit, ctx)
        elif isinstance(lit, Negation):
            frame = _negation(frame, lit, body, head_vars, ctx)
        elif isinstance(lit, Aggregate):
            frame = _aggregate(frame, lit, body, head_vars, ctx)
        else:  # pragma: no cover - the AST has no other literal
            raise TypeError(f"unknown literal {lit!r}")
    return frame


def eval_head(clause: Clause, frame: Frame, ctx: RuleContext, weight_fact: int | None, merge_equal: bool = True) -> Relation:
    """``head :- body``: project the bindings onto the head, ⊗ the rule's weight, ⊕ equal tuples.

    With ``merge_equal=False`` equal tuples stay separate rows (the fixpoint's merge adds them).
    """
    alg = ctx.algebra
    m = len(frame)
    dev = frame.sample.device
    cols = [frame.sample]
    for arg in clause.head.args:
        if isinstance(arg, Var):
            cols.append(frame.vals[arg.name])
        else:
            cols.append(torch.full((m,), ctx.symbols.encode(arg.value) if isinstance(arg.value, str) else arg.value,
                                   dtype=torch.int64, device=dev))
    tag = frame.tag
    if weight_fact is not None:
        tag = alg.mul(tag, alg.from_facts(torch.full((m,), weight_fact, dtype=torch.int64, device=dev)))
    rows = torch.stack(cols, dim=1)
    return dedupe(rows, tag, alg) if merge_equal else Relation(rows, tag)
