"""Executing a dense rule plan: blocks of relations in, the head's block out.

A ``Block`` is a dense relation, or a window of one: ``values`` ``(B, n1, ..., na)`` whose
cell ``[b, i1, ..., ia]`` holds the tuple ``(lo1 + i1, ..., loa + ia)`` of sample ``b``.
``BodyRunner.run`` computes a rule's variable ranges from the blocks it reads
(``domains.rule_ranges``), then runs the plan's steps over a factor (see
``greybox.engine.dense.compile``) and returns the head's block, or None when the rule
derives nothing. Index maps and masks depend only on the ranges, so they are cached.

Example:
    >>> import torch
    >>> from greybox.engine.engine import Engine
    >>> from greybox.semirings import AddMult
    >>> from greybox.semirings.base import FactTable
    >>> from greybox.engine.dense.kernels import SumProduct
    >>> eng = Engine("s(S) :- d(0, A), d(1, B), S is A + B.", inputs={"d": 2})
    >>> rule = eng.strata[0][0][0]
    >>> from greybox.engine.dense.compile import compile_body, shape_of
    >>> plan = compile_body(rule.clause, rule.base, rule.head_vars, eng.symbols)
    >>> d = Block(torch.tensor([[[0.5, 0.5], [0.25, 0.75]]]), (0, 0))  # one sample: d(0, {0,1}), d(1, {0,1})
    >>> kernel = SumProduct(AddMult().bind(FactTable.independent(torch.ones(1))))
    >>> runner = BodyRunner(kernel, OrderedDict(), 1, d.values.device, torch.float32)
    >>> out = runner.run(plan, shape_of(rule.clause, eng.symbols), {0: d, 1: d}, {}, None)
    >>> out.lo, out.values.tolist()
    ((0,), [[0.125, 0.5, 0.375]])
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from ...lang.ast import BinOp, Const, Expr, Neg, Var
from ..expr import apply_binop, compare
from . import intervals as iv
from .compile import AtomStep, BindStep, BodyPlan, NegStep, FilterStep
from .domains import RuleShape, head_box, rule_ranges
from .kernels import DenseKernel

__all__ = ["Block", "BodyRunner", "embed"]

#: index maps and masks kept per program (they depend on the ranges only)
CACHE_ENTRIES = 4096


@dataclass
class Block:
    """``values`` ``(B, n1, ..., na)``: the cell of index ``i`` holds the tuple ``lo + i``."""

    values: Tensor
    lo: tuple[int, ...]

    @property
    def box(self) -> list[iv.Interval]:
        return [(lo, lo + n - 1) if n else None for lo, n in zip(self.lo, self.values.shape[1:])]


def embed(block: Block, lo: tuple[int, ...], sizes: tuple[int, ...]) -> Tensor:
    """``block`` placed in the box ``lo``/``sizes`` (zero elsewhere, cells outside the box dropped)."""
    values = block.values
    pads: list[int] = []
    index: list[slice] = [slice(None)]
    clip = False
    for k in range(len(lo)):
        n = int(values.shape[1 + k])
        start = max(0, lo[k] - block.lo[k])
        stop = min(n, lo[k] + sizes[k] - block.lo[k])
        if start > 0 or stop < n:
            clip = True
        index.append(slice(start, max(start, stop)))
    if clip:
        values = values[tuple(index)]
    for k in range(len(lo) - 1, -1, -1):
        first = max(block.lo[k], lo[k])
        n = int(values.shape[1 + k])
        left = first - lo[k] if n else 0
        pads += [left, sizes[k] - left - n]
    return F.pad(values, pads) if any(pads) else values


def _grid_values(expr: Expr, grids: Mapping[str, Tensor], const, like: Tensor) -> tuple[Tensor, Tensor]:
    """``expr`` over broadcast grids of its variables: ``(values, ok)`` (ok False where undefined)."""
    if isinstance(expr, Var):
        g = grids[expr.name]
        return g, torch.ones_like(g, dtype=torch.bool)
    if isinstance(expr, Const):
        v = const(expr.value)
        t = torch.tensor(v, dtype=torch.int64, device=like.device)
        return t, torch.ones((), dtype=torch.bool, device=like.device)
    if isinstance(expr, Neg):
        v, ok = _grid_values(expr.operand, grids, const, like)
        return -v, ok
    assert isinstance(expr, BinOp), expr
    a, ok_a = _grid_values(expr.left, grids, const, like)
    b, ok_b = _grid_values(expr.right, grids, const, like)
    return apply_binop(expr.op, a, b, ok_a & ok_b)  # the sparse engine's arithmetic, on the grid


class BodyRunner:
    """Runs rule plans with one kernel; ``cache`` holds index maps and masks between calls."""

    def __init__(self, kernel: DenseKernel, cache: OrderedDict, batch_size: int, device, dtype: torch.dtype) -> None:
        self.kernel = kernel
        self.cache = cache
        self.batch_size, self.device, self.dtype = batch_size, device, dtype

    def unit(self) -> Tensor:
        """One binding per sample with tag one: ``(B,)``."""
        return torch.ones(self.batch_size, dtype=self.dtype, device=self.device)

    # ------------------------------------------------------------------ helpers

    def _cached(self, key, make: Callable[[], object]):
        hit = self.cache.get(key)
        if hit is None:
            hit = make()
            self.cache[key] = hit
            if len(self.cache) > CACHE_ENTRIES:
                self.cache.popitem(last=False)
        return hit

    @staticmethod
    def _grids(names, ranges, axes: list[str], device) -> dict[str, Tensor]:
        """For each variable, ``arange(lo, hi + 1)`` shaped to broadcast over ``(1, *axes)``."""
        out = {}
        for v in names:
            lo, hi = ranges[v]
            shape = [1] * (1 + len(axes))
            shape[1 + axes.index(v)] = hi - lo + 1
            out[v] = torch.arange(lo, hi + 1, device=device).view(shape)
        return out

    def _reduce(self, t: Tensor, axes: list[str], drop) -> tuple[Tensor, list[str]]:
        dims = [1 + i for i, x in enumerate(axes) if x in drop]
        if not dims:
            return t, axes
        return self.kernel.reduce(t, dims), [x for x in axes if x not in drop]

    # ------------------------------------------------------------------ steps

    def _read(self, block: Block, step: AtomStep, ranges) -> tuple[Tensor, list[str]]:
        """``p(X, c, X)`` -> the block sliced to the variables' ranges, ``(B, *vars)``."""
        index: list[object] = [slice(None)]
        axes: list[str] = []
        whole = True
        for k, (kind, v) in enumerate(step.args):
            lo = block.lo[k]
            if kind == "const":
                index.append(v - lo)  # rule_ranges checked that the constant lies in the block
                whole = False
            else:
                r = ranges[v]
                index.append(slice(r[0] - lo, r[1] - lo + 1))
                axes.append(v)
                whole = whole and r[0] == lo and r[1] - lo + 1 == block.values.shape[1 + k]
        t = block.values if whole else block.values[tuple(index)]
        while len(set(axes)) < len(axes):  # p(X, X): the diagonal
            v = next(x for x in axes if axes.count(x) > 1)
            i = axes.index(v)
            j = axes.index(v, i + 1)
            t = torch.diagonal(t, dim1=1 + i, dim2=1 + j)
            axes = [x for k, x in enumerate(axes) if k not in (i, j)] + [v]
        return t, axes

    def _test(self, step: FilterStep, factor: Tensor, axes: list[str], ranges, const) -> Tensor:
        key = ("mask", id(step), tuple(axes), tuple(ranges[v] for v in step.vars), factor.device, factor.dtype)

        def make() -> Tensor:
            grids = self._grids(step.vars, ranges, axes, factor.device)
            a, ok_a = _grid_values(step.left, grids, const, factor)
            b, ok_b = _grid_values(step.right, grids, const, factor)
            return (ok_a & ok_b & compare(step.op, a, b)).to(factor.dtype)

        # body ⊗ [left op right]: a 0/1 mask over the grid of the test's variables
        return factor * self._cached(key, make)

    def _bind(self, step: BindStep, factor: Tensor | None, axes: list[str], ranges, const) -> tuple[Tensor, list[str]] | None:
        target = ranges[step.target]
        if factor is None:  # `X = 3` before any atom
            factor = self.unit()
        dev = factor.device
        gone = [v for v in step.vars if v in step.drop]
        kept = [v for v in step.vars if v not in step.drop]
        if step.affine is not None:
            coef, c = step.affine
            moving = [v for v in coef if iv.size(ranges[v]) > 1]
            if all(v in gone and abs(coef[v]) == 1 for v in moving):
                return self._linear(step, factor, axes, ranges, target, moving, gone)
        # general map: scatter (⊕) each grid point of the expression's variables to the target's axis
        others = [x for x in axes if x not in step.vars]
        order = others + kept + gone
        if order != axes:
            factor = factor.permute(0, *[1 + axes.index(x) for x in order])
        n_gone = 1
        for v in gone:
            n_gone *= iv.size(ranges[v])
        size = iv.size(target)
        src = factor.reshape(*factor.shape[: 1 + len(others) + len(kept)], n_gone)  # (B, *others, *kept, |gone|)
        key = ("bind", id(step), len(others), tuple(ranges[v] for v in step.vars), target, dev)

        def make() -> Tensor:
            layout = kept + gone
            grids = self._grids(step.vars, ranges, layout, dev)
            val, ok = _grid_values(step.expr, grids, const, src)
            val = val.expand(1, *[iv.size(ranges[v]) for v in layout])
            ok = ok.expand_as(val)
            idx = val - target[0]
            valid = ok & (idx >= 0) & (idx < size)
            idx = torch.where(valid, idx, torch.full_like(idx, size))  # out of range: a slot that is cut off
            return idx.reshape(1, *[1] * len(others), *idx.shape[1: 1 + len(kept)], n_gone)

        index = self._cached(key, make).expand_as(src)
        out = self.kernel.scatter(src, index, size + 1)[..., :size]  # (B, *others, *kept, |target|)
        return out, others + kept + [step.target]

    def _linear(self, step: BindStep, factor: Tensor, axes, ranges, target, moving, gone) -> tuple[Tensor, list[str]] | None:
        """``J is I + 1``, ``S is S0 + D``, ``S is A - B + C``: a sum of variables with slopes ±1.

        One variable: its axis is relabelled (flipped for slope -1). Several: the axes are
        summed pairwise by skewing, ``out[..., x + y] = ⊕_x f[..., x, y]`` (each row of the
        ``(x, y)`` plane shifted by ``x``, then ⊕ down the columns), with no index map.
        """
        coef, c = step.affine
        offset = c + sum(x * ranges[v][0] for v, x in coef.items() if v not in moving)
        # the other variables of the expression hold one value each: ⊕ over them is a squeeze
        points = [v for v in gone if v not in moving]
        factor, axes = self._reduce(factor, axes, set(points))
        if not moving:
            if not target[0] <= offset <= target[1]:
                return None
            return factor.unsqueeze(-1), axes + [step.target]  # lo of the new axis: target[0] == offset
        # each moving variable's axis as ascending values of coef * v
        first = offset
        for v in moving:
            lo, hi = ranges[v]
            if coef[v] < 0:
                factor = factor.flip(1 + axes.index(v))
                first -= hi
            else:
                first += lo
        others = [x for x in axes if x not in moving]
        order = sorted(moving, key=lambda v: iv.size(ranges[v]))  # the largest last
        layout = others + order
        if layout != axes:
            factor = factor.permute(0, *[1 + axes.index(x) for x in layout])
        for _ in range(len(order) - 1):
            # (..., a, b) -> (..., a + b - 1): row i shifted right by i, then ⊕ over the rows
            *pre, a, b = factor.shape
            skew = F.pad(factor, (0, a)).reshape(*pre, a * (b + a))
            skew = skew[..., : a * (b + a - 1)].reshape(*pre, a, b + a - 1)
            factor = self.kernel.reduce(skew, [skew.dim() - 2])
        n = int(factor.shape[-1])
        start, stop = max(0, target[0] - first), min(n, target[1] - first + 1)
        if start >= stop:
            return None
        if start > 0 or stop < n:
            factor = factor.narrow(-1, start, stop - start)
        return factor, others + [step.target]

    def _negate(self, step: NegStep, relations: Mapping[str, Block], ranges) -> tuple[Tensor, list[str]] | None:
        """``\\+ q(args)`` -> ``1 - q`` over the grid of the bound variables; None: q holds nowhere there."""
        block = relations[step.predicate]
        box = block.box
        # each variable's interval: the bound ones from the rule, the local ones from q's box
        want: dict[str, iv.Interval] = {}
        for (kind, v), a in zip(step.args, box):
            if kind == "var":
                want[v] = ranges[v] if v not in step.local else iv.meet(want.get(v, a), a)
        index: list[object] = [slice(None)]
        pads: list[tuple[int, int]] = []
        axes: list[str] = []
        for (kind, v), a in zip(step.args, box):
            if kind == "const":
                if v is None or a is None or not a[0] <= v <= a[1]:
                    return None
                index.append(v - a[0])
                continue
            w = want[v]
            o = iv.meet(a, w)
            if o is None:
                return None
            index.append(slice(o[0] - a[0], o[1] - a[0] + 1))
            pads.append((o[0] - w[0], w[1] - o[1]))
            axes.append(v)
        q = block.values[tuple(index)]
        flat = [p for pair in reversed(pads) for p in pair]
        if any(flat):
            q = F.pad(q, flat)
        while len(set(axes)) < len(axes):
            v = next(x for x in axes if axes.count(x) > 1)
            i = axes.index(v)
            j = axes.index(v, i + 1)
            q = torch.diagonal(q, dim1=1 + i, dim2=1 + j)
            axes = [x for k, x in enumerate(axes) if k not in (i, j)] + [v]
        q, axes = self._reduce(q, axes, step.local)  # q'(bound vars) = ⊕ over the local ones
        return self.kernel.negate(q), axes

    # ------------------------------------------------------------------ the rule

    def run(
        self,
        plan: BodyPlan,
        shape: RuleShape,
        blocks: Mapping[int, Block],
        relations: Mapping[str, Block],
        weight: Tensor | None,
    ) -> Block | None:
        """Evaluate one rule: the head's block, or None when the rule derives nothing.

        Args:
            plan: the body order to run.
            shape: the rule's value-range shape.
            blocks: the block each positive body atom reads, by body position.
            relations: whole relations of lower strata (for negations).
            weight: the rule's weight (a 0-d tensor), or None.
        """
        boxes = {pos: tuple(blocks[pos].box) for pos in blocks}
        key = ("ranges", id(shape), tuple(sorted(boxes.items())))
        (ranges,) = self._cached(key, lambda: (rule_ranges(shape, boxes),))
        if ranges is None:
            return None
        kernel, const = self.kernel, shape.const
        factor: Tensor | None = None  # None: the unit (one binding per sample, tag one)
        axes: list[str] = []
        for step in plan.steps:
            if isinstance(step, AtomStep):
                # body ⊗ p(args), then ⊕ over the variables no later literal needs
                t, t_axes = self._read(blocks[step.position], step, ranges)
                if factor is None:
                    factor, axes = self._reduce(t, t_axes, step.drop)
                else:
                    factor, axes = kernel.join(factor, axes, t, t_axes, set(step.drop))
                continue
            if isinstance(step, FilterStep):
                # body ⊗ [left op right]
                left = iv.expr_interval(step.left, ranges, const)
                right = iv.expr_interval(step.right, ranges, const)
                verdict = iv.decide(step.op, left, right)
                if verdict is False:
                    return None
                if verdict is None:
                    assert factor is not None
                    factor = self._test(step, factor, axes, ranges, const)
            elif isinstance(step, BindStep):
                # body ⊗ [target == expr], ⊕ over the expression's variables no later literal needs
                out = self._bind(step, factor, axes, ranges, const)
                if out is None:
                    return None
                factor, axes = out
            else:
                # body ⊗ (1 - ⊕_local q(args))
                neg = self._negate(step, relations, ranges)
                if neg is not None:
                    t, t_axes = neg
                    if factor is None:
                        factor, axes = t, t_axes
                    else:
                        factor, axes = kernel.join(factor, axes, t, t_axes, set())
            if factor is not None:
                factor, axes = self._reduce(factor, axes, step.drop)
        return self._head(shape, factor, axes, ranges, weight)

    def _head(self, shape: RuleShape, factor: Tensor | None, axes: list[str], ranges, weight) -> Block | None:
        """``head(args)``: the factor's axes in head order; constants and repeated variables laid out."""
        if factor is None:  # a body of tests only
            factor = self.unit()
        head_vars = list(dict.fromkeys(v for k, v in shape.head if k == "var"))
        assert sorted(axes) == sorted(head_vars), (axes, head_vars)
        if axes != head_vars:
            factor = factor.permute(0, *[1 + axes.index(v) for v in head_vars])
        box = head_box(shape, ranges)
        seen: list[str] = []
        for k, (kind, v) in enumerate(shape.head):
            if kind == "const":
                factor = factor.unsqueeze(1 + k)
            elif v in seen:  # h(X, X): values on the diagonal of the two axes
                j = next(i for i, (kk, vv) in enumerate(shape.head) if kk == "var" and vv == v)
                n = iv.size(ranges[v])
                eye_shape = [1] * (factor.dim() + 1)
                eye_shape[1 + j] = eye_shape[1 + k] = n
                eye = torch.eye(n, dtype=factor.dtype, device=factor.device).view(eye_shape)
                factor = factor.unsqueeze(1 + k) * eye
            else:
                seen.append(v)
        if weight is not None:
            # weighted rule: head ⊗ w
            factor = self.kernel.mul(factor, weight)
        return Block(factor, tuple(a[0] for a in box))
