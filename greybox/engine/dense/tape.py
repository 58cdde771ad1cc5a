"""A rule plan compiled for one geometry: the tensor operations of a body, decided once.

Everything ``BodyRunner.run`` decides about a rule depends on the ranges of its
variables, which depend on the boxes of the blocks it reads (and not on their values):
the slices of each atom, the axes of the factor, the permutations, which comparisons are
decided by the ranges, the masks and index maps. ``compile_tape`` makes those decisions
once per geometry and records the operations left to do; ``Tape.play`` runs them on the
blocks of a call. Shapes are read from the tensors when played (the batch size may vary).

Each operation is ``(function, params)``; the function takes ``(runner, factor, blocks,
relations, *params)`` and returns the next factor.

Example:
    >>> import torch
    >>> from collections import OrderedDict
    >>> from greybox.engine.engine import Engine
    >>> from greybox.semirings import AddMult
    >>> from greybox.semirings.base import FactTable
    >>> from greybox.semirings.add_mult import AddMultDense
    >>> from greybox.engine.dense.body import Block, BodyRunner
    >>> from greybox.engine.dense.compile import compile_body, shape_of
    >>> eng = Engine("s(S) :- d(0, A), d(1, B), S is A + B.", inputs={"d": 2})
    >>> rule = eng.strata[0][0][0]
    >>> plan = compile_body(rule.clause, rule.base, rule.head_vars, eng.symbols)
    >>> kernel = AddMultDense(AddMult().bind(FactTable.independent(torch.ones(1))))
    >>> runner = BodyRunner(kernel, OrderedDict(), 1, None, torch.float32)
    >>> d = Block(torch.ones(1, 2, 2), (0, 0))
    >>> tape = compile_tape(runner, plan, shape_of(rule.clause, eng.symbols), {0: d, 1: d}, {})
    >>> [f.__name__ for f, _ in tape.ops], tape.lo
    (['_read', '_read_join', '_shift_add'], (0,))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from ...lang.ast import BinOp, Const, Expr, Neg, Var
from ...lang.walk import fold_expr
from ..expr import apply_binop, compare
from . import intervals as iv
from .compile import AtomStep, BindStep, BodyPlan, FilterStep, NegStep
from .domains import RuleShape, head_box, rule_ranges

if TYPE_CHECKING:  # pragma: no cover
    from .body import Block, BodyRunner

__all__ = ["Tape", "compile_tape"]


@dataclass(frozen=True, eq=False)
class Tape:
    """The operations of one rule body for one geometry; ``lo``: the head block's lower corner."""

    ops: tuple[tuple[Callable, tuple], ...]
    lo: tuple[int, ...]

    def play(self, runner: "BodyRunner", blocks: Mapping[int, "Block"], relations: Mapping[str, "Block"]) -> Tensor:
        """The head's values ``(B, *sizes)`` for the blocks of one call."""
        factor = None
        for op, params in self.ops:
            factor = op(runner, factor, blocks, relations, *params)
        return factor  # type: ignore[return-value]


# ---------------------------------------------------------------------- operations


# The factor is the body evaluated so far: ``(B, |V1|, ..., |Vk|)``, one axis per live variable
# (``V1..Vk``, the compiler's ``axes``), a cell holding the ⊕ of the tags of the bindings it stands
# for. Each operation below says which part of a rule it executes, on the rule
# ``h(X, Z) :- p(X, Y), q(Y, Z)`` unless another is named.


def _unit(runner, factor, blocks, relations, n: int) -> Tensor:
    # h(X) :- X is 3: the empty body, before any atom is read (n variables of one value each)
    # -> (B, 1, ..., 1): the semiring's one, n axes of size 1
    return runner.unit(n)


def _grow(runner, factor, blocks, relations, k: int, sizes) -> Tensor:
    # h(X, Y) :- p(X), c(Y): ⊗ an atom whose cells are all one (certain facts filling their box)
    # (B, |X|) -> (B, |X|, 1) -> (B, |X|, |Y|): new axes of size 1, expanded to the new variables' sizes
    factor = factor.reshape(*factor.shape, *[1] * k)
    return factor.expand(*factor.shape[: factor.dim() - k], *sizes) if sizes is not None else factor


def _reduce(runner, factor, blocks, relations, dims: list[int]) -> Tensor:
    # h(X) :- p(X, Y): ⊕ over Y, which no later literal needs
    # (B, |X|, |Y|) -> (B, |X|)
    return runner.kernel.reduce(factor, dims)


def _slice(block: "Block", index, diagonals) -> Tensor:
    # p(X, 3, Y) with X, Y in their ranges: the cells of the block they can reach
    # (B, |p1|, |p2|, |p3|) -> (B, |X|, |Y|); p(X, X): its diagonal, (B, |p1|, |p2|) -> (B, |X|)
    t = block.values if index is None else block.read(index)
    for i, j in diagonals:  # p(X, X): the diagonal
        t = torch.diagonal(t, dim1=1 + i, dim2=1 + j)
    return t


def _read(runner, factor, blocks, relations, pos: int, index, diagonals, extra: int) -> Tensor:
    # h(X, Z) :- p(X, Y), ...: the first atom read is the factor
    # (B, |X|, |Y|) -> (B, |X|, |Y|, 1, ...): one axis of size 1 per variable with one value bound before
    t = _slice(blocks[pos], index, diagonals)
    return t.reshape(*t.shape, *[1] * extra) if extra else t


def _read_join(runner, factor, blocks, relations, pos: int, index, diagonals, join: tuple) -> Tensor:
    # h(X, Z) :- p(X, Y), q(Y, Z): body(X, Y) ⊗ q(Y, Z), ⊕ over Y when no later literal needs it
    # (B, |X|, |Y|) ⊗ (B, |Y|, |Z|) -> (B, |X|, |Z|)
    return runner.kernel.join_apply(join, factor, _slice(blocks[pos], index, diagonals))


def _mask(runner, factor, blocks, relations, mask: Tensor) -> Tensor:
    # h(X, Y) :- p(X, Y), X < Y: body ⊗ [X < Y]
    # (B, |X|, |Y|) * (1, |X|, |Y|) 0/1 -> (B, |X|, |Y|)
    return factor * mask


def _relabel(runner, factor, blocks, relations, kept: list[int]) -> Tensor:
    # h(J) :- start(I), J is I + 1, I of one value: the axes of one-value variables go, the target's comes last
    # (B, |I| = 1) -> (B, |J| = 1)
    shape = [factor.shape[0], *[factor.shape[1 + i] for i in kept], 1]
    return factor if list(factor.shape) == shape else factor.reshape(shape)


def _flip(runner, factor, blocks, relations, dims: list[int]) -> Tensor:
    # h(Y) :- p(X), Y is 9 - X: X's axis in ascending values of -X
    # (B, |X|) -> (B, |X|) reversed along X
    return factor.flip(dims)


def _permute(runner, factor, blocks, relations, perm: tuple[int, ...]) -> Tensor:
    # h(Y, X) :- p(X, Y): the factor's axes in the order the next step (or the head) reads them
    # (B, |X|, |Y|) -> (B, |Y|, |X|)
    return factor.permute(perm)


def _shift_add(runner, factor, blocks, relations, times: int) -> Tensor:
    # s(S) :- d(0, A), d(1, B), S is A + B: out[S = A + B] = ⊕ over A of body(A, B), once per extra summand
    # (B, |A|, |B|) -> (B, |A| + |B| - 1)
    for _ in range(times):
        # (..., a, b) -> (..., a + b - 1): out[..., x + y] = ⊕_x f[..., x, y]
        factor = runner.kernel.shift_add(factor)
    return factor


def _narrow(runner, factor, blocks, relations, start: int, length: int) -> Tensor:
    # s(S) :- d(A), d(B), S is A + B, S < 10: the sums the target's range keeps
    # (B, ..., |A| + |B| - 1) -> (B, ..., |S|)
    return factor.narrow(-1, start, length)


def _scatter(runner, factor, blocks, relations, keep: int, gone: int, index: Tensor, size: int) -> Tensor:
    # h(X, Z) :- p(X, Y), Z is Y * Y: out[X, Z] = ⊕ over the Y with Y * Y = Z of body(X, Y)
    # (B, |X|, |Y|) -> (B, |X|, |Z| + 1) -> (B, |X|, |Z|): values out of Z's range go to the cut-off slot
    src = factor.reshape(*factor.shape[: 1 + keep], gone)  # (B, *others, *kept, |gone|)
    return runner.kernel.scatter(src, index.expand_as(src), size + 1)[..., :size]


def _negated(runner, block: "Block", index, pads, diagonals, dims) -> Tensor:
    # h(X) :- p(X), \+ q(X, _): 1 - ⊕ over the local variable of q(X, _), over X's range
    # (B, |q1|, |q2|) -> (B, |X|, |_|) (sliced, zero-padded where q has no cell) -> (B, |X|)
    q = block.values[index]
    if pads is not None:
        q = F.pad(q, pads)
    for i, j in diagonals:
        q = torch.diagonal(q, dim1=1 + i, dim2=1 + j)
    if dims:
        q = runner.kernel.reduce(q, dims)  # q'(bound vars) = ⊕ over the local ones
    return runner.kernel.negate(q)


def _negate(runner, factor, blocks, relations, name: str, index, pads, diagonals, dims) -> Tensor:
    # ok :- \+ q(_): the negation is the first literal that makes a factor
    # (B, |q1|) -> (B,)
    return _negated(runner, relations[name], index, pads, diagonals, dims)


def _negate_join(runner, factor, blocks, relations, name: str, index, pads, diagonals, dims, join: tuple) -> Tensor:
    # h(X, Y) :- p(X, Y), \+ q(Y): body(X, Y) ⊗ (1 - q(Y))
    # (B, |X|, |Y|) ⊗ (B, |Y|) -> (B, |X|, |Y|)
    return runner.kernel.join_apply(join, factor, _negated(runner, relations[name], index, pads, diagonals, dims))


def _unsqueeze(runner, factor, blocks, relations, dim: int) -> Tensor:
    # h(X, 3) :- p(X): the head's constant argument, an axis of one value
    # (B, |X|) -> (B, |X|, 1)
    return factor.unsqueeze(dim)


#: operations that may only re-lay the factor's cells (``_fuse_layouts`` checks that they do)
_LAYOUT = frozenset({_grow, _relabel, _reduce, _permute, _unsqueeze})


def _diagonal_head(runner, factor, blocks, relations, dim: int, eye: Tensor) -> Tensor:
    # h(X, X) :- p(X): the values on the diagonal of the head's two axes for X
    # (B, |X|) -> (B, |X|, 1) * (1, |X|, |X|) identity -> (B, |X|, |X|)
    return factor.unsqueeze(dim) * eye


# ---------------------------------------------------------------------- compiling


def _grid_values(expr: Expr, grids: Mapping[str, Tensor], const, like: Tensor) -> tuple[Tensor, Tensor]:
    """``expr`` over broadcast grids of its variables: ``(values, ok)`` (ok False where undefined)."""

    def leaf(e: Var | Const) -> tuple[Tensor, Tensor]:
        if isinstance(e, Var):
            g = grids[e.name]
            return g, torch.ones_like(g, dtype=torch.bool)
        t = torch.tensor(const(e.value), dtype=torch.int64, device=like.device)
        return t, torch.ones((), dtype=torch.bool, device=like.device)

    # bottom-up without recursion (a sum of many terms is as deep as it is long)
    return fold_expr(expr, leaf=leaf, unary=lambda e, v: (-v[0], v[1]),
                     binary=lambda e, a, b: apply_binop(e.op, a[0], b[0], a[1] & b[1]))  # the sparse engine's arithmetic


def _diagonals(axes: list[str]) -> tuple[list[tuple[int, int]], list[str]]:
    """Repeated variables (``p(X, X)``): the pairs of axes to take diagonals of, and the axes after."""
    pairs = []
    while len(set(axes)) < len(axes):
        v = next(x for x in axes if axes.count(x) > 1)
        i = axes.index(v)
        j = axes.index(v, i + 1)
        pairs.append((i, j))
        axes = [x for k, x in enumerate(axes) if k not in (i, j)] + [v]
    return pairs, axes


def _read_plan(block: "Block", step: AtomStep, ranges) -> tuple[tuple | None, list, list[str]]:
    """``p(X, c, X)`` -> (index into the block or None for all of it, diagonals, axes)."""
    index: list[object] = [slice(None)]
    axes: list[str] = []
    whole = True
    for k, ((kind, v), lo, n) in enumerate(zip(step.args, block.lo, block.sizes)):
        if kind == "const":
            index.append(v - lo)  # rule_ranges checked that the constant lies in the block
            whole = False
        else:
            r = ranges[v]
            all_of_it = r[0] == lo and r[1] - lo + 1 == n
            index.append(slice(None) if all_of_it else slice(r[0] - lo, r[1] - lo + 1))  # (a whole axis: no op)
            axes.append(v)
            whole = whole and all_of_it
    diagonals, axes = _diagonals(axes)
    return (None if whole else tuple(index)), diagonals, axes


def compile_tape(
    runner: "BodyRunner", plan: BodyPlan, shape: RuleShape, blocks: Mapping[int, "Block"], relations: Mapping[str, "Block"]
) -> Tape | None:
    """The operations of ``plan`` for the geometry of ``blocks`` (and ``relations``); None: the rule derives nothing.

    Masks and index maps are made here, on the runner's device.
    """
    ranges = rule_ranges(shape, {pos: b.box for pos, b in blocks.items()})
    if ranges is None:
        return None
    compiler = _Compiler(runner, ranges, shape)
    for step in plan.steps:
        if not compiler.step(step, blocks, relations):
            return None
    return _fuse_layouts(compiler.head(), runner, blocks, relations)


def _reshape(runner, factor, blocks, relations, sizes: tuple[int, ...]) -> Tensor:
    # h(Y, X) :- p(X, Y), X = 2: a run of layout operations that only renames cells (axes of size 1
    # added, dropped or moved), as one reshape
    # (B, |X| = 1, |Y|) -> (B, |Y|, |X| = 1)
    return factor.reshape(factor.shape[0], *sizes)


def _fuse_layouts(tape: Tape, runner: "BodyRunner", blocks, relations) -> Tape:
    """``tape`` with each run of layout operations that only renames the factor's cells (new or
    dropped axes of size one, a permutation of them) replaced by one reshape.

    Fewer views mean fewer autograd nodes. Whether a run is a reshape is checked by playing it
    on numbered cells, for two batch sizes.
    """
    layout = [op in _LAYOUT for op, _ in tape.ops]
    if not any(layout[1:]):  # no run to check (a tape's first operation makes the factor)
        return tape
    # the shapes of one play (with autograd on: a block may keep what it builds when read)
    shapes, factor = [], None
    for op, params in tape.ops:
        factor = op(runner, factor, blocks, relations, *params)
        shapes.append(tuple(factor.shape))
    ops: list[tuple[Callable, tuple]] = []
    i = 0
    while i < len(tape.ops):
        j = i
        while i > 0 and j < len(tape.ops) and layout[j]:
            j += 1
        if j > i and _renames(tape.ops[i:j], shapes[i - 1], shapes[j - 1], runner):
            if shapes[j - 1] != shapes[i - 1]:  # else the run changes nothing and goes
                ops.append((_reshape, (shapes[j - 1][1:],)))
            i = j
        else:
            ops.append(tape.ops[i])
            i += 1
    return Tape(tuple(ops), tape.lo)


def _renames(ops, before: tuple[int, ...], after: tuple[int, ...], runner: "BodyRunner") -> bool:
    """Do ``ops`` turn a factor of shape ``before`` into its reshape to ``after`` (any batch size)?"""
    for batch in (before[0], before[0] + 1):
        cells = torch.arange(batch * math.prod(before[1:]), dtype=torch.float64).reshape(batch, *before[1:])
        out = cells
        for op, params in ops:
            out = op(runner, out, {}, {}, *params)
        if tuple(out.shape) != (batch, *after[1:]) or out.numel() != cells.numel():
            return False
        if not torch.equal(out, cells.reshape(out.shape)):
            return False
    return True


class _Compiler:
    """The factor's axes while a plan is compiled; ``live`` False: the factor is still the unit over ``axes``
    (one value each), laid out only when a tensor needs it."""

    def __init__(self, runner: "BodyRunner", ranges, shape: RuleShape) -> None:
        self.runner, self.ranges, self.shape = runner, ranges, shape
        self.kernel = runner.kernel
        self.ops: list[tuple[Callable, tuple]] = []
        self.axes: list[str] = []
        self.live = False

    def _emit(self, op: Callable, *params) -> None:
        self.ops.append((op, params))

    def _materialise(self) -> None:
        if not self.live:
            self._emit(_unit, len(self.axes))
            self.live = True

    def _drop(self, drop) -> None:
        """⊕ over the variables no later literal needs (an axis of the unit just goes)."""
        dims = [1 + i for i, x in enumerate(self.axes) if x in drop]
        if dims and self.live:
            self._emit(_reduce, dims)
        if dims:
            self.axes = [x for x in self.axes if x not in drop]

    def _size(self, v: str) -> int:
        return iv.size(self.ranges[v])

    def step(self, step, blocks, relations) -> bool:
        """Compile one step; False when the rule derives nothing."""
        if isinstance(step, AtomStep):
            block = blocks[step.position]
            if block.ones:
                self._broadcast(step)
            else:
                self._atom(step, block)
            return True
        if isinstance(step, FilterStep):
            # body ⊗ [left op right]
            const = self.shape.const
            left = iv.expr_interval(step.left, self.ranges, const)
            right = iv.expr_interval(step.right, self.ranges, const)
            verdict = iv.decide(step.op, left, right)
            if verdict is False:
                return False
            if verdict is None:
                self._materialise()
                self._emit(_mask, self._test_mask(step))
        elif isinstance(step, BindStep):
            # body ⊗ [target == expr], ⊕ over the expression's variables no later literal needs
            self._materialise()
            if not self._bind(step):
                return False
        else:
            # body ⊗ (1 - ⊕_local q(args))
            self._negation(step, relations)
        self._drop(step.drop)
        return True

    def _broadcast(self, step: AtomStep) -> None:
        """``factor ⊗ p(args)`` for a block of ones: new axes for ``p``'s new variables only; a dropped
        variable with one value needs no axis at all (⊕ over one cell is that cell)."""
        new = [v for v in dict.fromkeys(a for k, a in step.args if k == "var") if v not in self.axes]
        keep = [v for v in new if v not in step.drop or self._size(v) > 1]
        sizes = [self._size(v) for v in keep]
        if not self.live and all(n == 1 for n in sizes):
            self.axes = [v for v in self.axes + keep if v not in step.drop]
            return
        self._materialise()
        if keep:
            self._emit(_grow, len(keep), sizes if any(n > 1 for n in sizes) else None)
            self.axes = self.axes + keep
        self._drop(step.drop)

    def _atom(self, step: AtomStep, block: "Block") -> None:
        # body ⊗ p(args), then ⊕ over the variables no later literal needs
        index, diagonals, t_axes = _read_plan(block, step, self.ranges)
        if not self.live:
            extra = [v for v in self.axes if v not in t_axes]  # the unit's axes, one value each
            self._emit(_read, step.position, index, diagonals, len(extra))
            self.axes, self.live = t_axes + extra, True
            self._drop(step.drop)
            return
        join, self.axes = self.kernel.join_plan(self.axes, t_axes, set(step.drop))
        self._emit(_read_join, step.position, index, diagonals, join)

    def _test_mask(self, step: FilterStep) -> Tensor:
        """A 0/1 mask over the grid of the test's variables, laid out along the factor's axes."""
        runner, ranges, const = self.runner, self.ranges, self.shape.const
        like = torch.empty(0, dtype=runner.dtype, device=runner.device)
        grids = runner._grids(step.vars, ranges, self.axes, runner.device)
        # h(X, Y) :- p(X, Y), X < Y: [X < Y] at every grid point of X and Y (False where undefined)
        # (1, |X|, 1) < (1, 1, |Y|) -> (1, |X|, |Y|) 0/1, along the factor's axes
        a, ok_a = _grid_values(step.left, grids, const, like)
        b, ok_b = _grid_values(step.right, grids, const, like)
        return (ok_a & ok_b & compare(step.op, a, b)).to(runner.dtype)

    def _bind(self, step: BindStep) -> bool:
        ranges = self.ranges
        gone = [v for v in step.vars if v in step.drop]
        kept = [v for v in step.vars if v not in step.drop]
        if step.affine is not None:
            coef, _ = step.affine
            moving = [v for v in coef if self._size(v) > 1]
            if all(v in gone and abs(coef[v]) == 1 for v in moving):
                return self._linear(step, moving, gone)
        # general map: scatter (⊕) each grid point of the expression's variables to the target's axis
        axes = self.axes
        others = [x for x in axes if x not in step.vars]
        order = others + kept + gone
        if order != axes:
            self._emit(_permute, (0, *[1 + axes.index(x) for x in order]))
        target = ranges[step.target]
        size = iv.size(target)
        n_gone = 1
        for v in gone:
            n_gone *= self._size(v)
        runner = self.runner
        layout = kept + gone
        like = torch.empty(0, dtype=runner.dtype, device=runner.device)
        grids = runner._grids(step.vars, ranges, layout, runner.device)
        # h(X, Z) :- p(X, Y), Z is Y * Y: Z's value at every grid point of the expression's variables
        # (1, *|kept|, *|gone|) -> its cell along Z's axis, or the cut-off slot |Z| where out of range or undefined
        val, ok = _grid_values(step.expr, grids, self.shape.const, like)
        val = val.expand(1, *[self._size(v) for v in layout])
        ok = ok.expand_as(val)
        idx = val - target[0]
        valid = ok & (idx >= 0) & (idx < size)
        idx = torch.where(valid, idx, torch.full_like(idx, size))  # out of range: a slot that is cut off
        index = idx.reshape(1, *[1] * len(others), *idx.shape[1: 1 + len(kept)], n_gone)  # (1, 1.., *|kept|, |gone|)
        self._emit(_scatter, len(others) + len(kept), n_gone, index, size)
        self.axes = others + kept + [step.target]
        return True

    def _linear(self, step: BindStep, moving: list[str], gone: list[str]) -> bool:
        """``J is I + 1``, ``S is S0 + D``, ``S is A - B + C``: a sum of variables with slopes ±1.

        One variable: its axis is relabelled (flipped for slope -1). Several: the axes are
        summed pairwise by skewing, ``out[..., x + y] = ⊕_x f[..., x, y]`` (each row of the
        ``(x, y)`` plane shifted by ``x``, then ⊕ down the columns), with no index map.
        """
        ranges, target = self.ranges, self.ranges[step.target]
        coef, c = step.affine  # type: ignore[misc]
        offset = c + sum(x * ranges[v][0] for v, x in coef.items() if v not in moving)
        # the other variables of the expression hold one value each: ⊕ over them is a squeeze
        points = [v for v in gone if v not in moving]
        if not moving:
            if not target[0] <= offset <= target[1]:
                return False
            # the points' axes go and the target's comes last, one value each (lo: target[0] == offset)
            kept = [i for i, x in enumerate(self.axes) if x not in points]
            self._emit(_relabel, kept)
            self.axes = [self.axes[i] for i in kept] + [step.target]
            return True
        self._drop(set(points))
        axes = self.axes
        # each moving variable's axis as ascending values of coef * v
        first, flips = offset, []
        for v in moving:
            lo, hi = ranges[v]
            if coef[v] < 0:
                flips.append(1 + axes.index(v))
                first -= hi
            else:
                first += lo
        if flips:
            self._emit(_flip, flips)
        others = [x for x in axes if x not in moving]
        order = sorted(moving, key=self._size)  # the largest last
        layout = others + order
        if layout != axes:
            self._emit(_permute, (0, *[1 + axes.index(x) for x in layout]))
        if len(order) > 1:
            self._emit(_shift_add, len(order) - 1)
        n = sum(self._size(v) for v in order) - (len(order) - 1)
        start, stop = max(0, target[0] - first), min(n, target[1] - first + 1)
        if start >= stop:
            return False
        if start > 0 or stop < n:
            self._emit(_narrow, start, stop - start)
        self.axes = others + [step.target]
        return True

    def _negation(self, step: NegStep, relations: Mapping[str, "Block"]) -> None:
        """``\\+ q(args)`` -> ``1 - q`` over the grid of the bound variables (nothing when q holds nowhere there)."""
        block = relations[step.predicate]
        box = block.box
        # each variable's interval: the bound ones from the rule, the local ones from q's box
        want: dict[str, iv.Interval] = {}
        for (kind, v), a in zip(step.args, box):
            if kind == "var":
                want[v] = self.ranges[v] if v not in step.local else iv.meet(want.get(v, a), a)
        index: list[object] = [slice(None)]
        pads: list[tuple[int, int]] = []
        axes: list[str] = []
        for (kind, v), a in zip(step.args, box):
            if kind == "const":
                if v is None or a is None or not a[0] <= v <= a[1]:
                    return
                index.append(v - a[0])
                continue
            w = want[v]
            o = iv.meet(a, w)
            if o is None:
                return
            index.append(slice(o[0] - a[0], o[1] - a[0] + 1))
            pads.append((o[0] - w[0], w[1] - o[1]))
            axes.append(v)
        flat = [p for pair in reversed(pads) for p in pair]
        diagonals, axes = _diagonals(axes)
        dims = [1 + i for i, x in enumerate(axes) if x in step.local]
        axes = [x for x in axes if x not in step.local]
        params = (step.predicate, tuple(index), flat if any(flat) else None, diagonals, dims)
        if not self.live and not self.axes:
            self._emit(_negate, *params)
            self.axes, self.live = axes, True
            return
        self._materialise()
        join, self.axes = self.kernel.join_plan(self.axes, axes, set())
        self._emit(_negate_join, *params, join)

    def head(self) -> Tape:
        """``head(args)``: the factor's axes in head order; constants and repeated variables laid out."""
        self._materialise()
        shape, ranges, axes = self.shape, self.ranges, self.axes
        head_vars = list(dict.fromkeys(v for k, v in shape.head if k == "var"))
        assert sorted(axes) == sorted(head_vars), (axes, head_vars)
        if axes != head_vars:
            self._emit(_permute, (0, *[1 + axes.index(v) for v in head_vars]))
        seen: list[str] = []
        dims = 1 + len(head_vars)
        for k, (kind, v) in enumerate(shape.head):
            if kind == "const":
                self._emit(_unsqueeze, 1 + k)
                dims += 1
            elif v in seen:  # h(X, X): values on the diagonal of the two axes
                j = next(i for i, (kk, vv) in enumerate(shape.head) if kk == "var" and vv == v)
                n = iv.size(ranges[v])
                eye_shape = [1] * (dims + 1)
                eye_shape[1 + j] = eye_shape[1 + k] = n
                eye = torch.eye(n, dtype=self.runner.dtype, device=self.runner.device).view(eye_shape)
                self._emit(_diagonal_head, 1 + k, eye)
                dims += 1
            else:
                seen.append(v)
        return Tape(tuple(self.ops), tuple(a[0] for a in head_box(shape, ranges)))
