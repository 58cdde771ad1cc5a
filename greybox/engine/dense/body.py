"""Executing a dense rule plan: blocks of relations in, the head's block out.

A ``Block`` is a dense relation, or a window of one: ``values`` ``(B, n1, ..., na)`` whose
cell ``[b, i1, ..., ia]`` holds the tuple ``(lo1 + i1, ..., loa + ia)`` of sample ``b``.
``BodyRunner.run`` computes a rule's variable ranges from the blocks it reads
(``domains.rule_ranges``), then runs the plan's steps over a factor (see
``greybox.engine.dense.compile``) and returns the head's block, or None when the rule
derives nothing. What the steps do depends only on the ranges: it is compiled once per
geometry of the blocks (``greybox.engine.dense.tape``), masks and index maps included.

Example:
    >>> import torch
    >>> from greybox.engine.engine import Engine
    >>> from greybox.semirings import AddMult
    >>> from greybox.semirings.base import FactTable
    >>> from greybox.semirings.add_mult import AddMultDense
    >>> eng = Engine("s(S) :- d(0, A), d(1, B), S is A + B.", inputs={"d": 2})
    >>> rule = eng.strata[0][0][0]
    >>> from greybox.engine.dense.compile import compile_body, shape_of
    >>> plan = compile_body(rule.clause, rule.base, rule.head_vars, eng.symbols)
    >>> d = Block(torch.tensor([[[0.5, 0.5], [0.25, 0.75]]]), (0, 0))  # one sample: d(0, {0,1}), d(1, {0,1})
    >>> kernel = AddMultDense(AddMult().bind(FactTable.independent(torch.ones(1))))
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

from . import intervals as iv
from .compile import BodyPlan
from .domains import RuleShape
from ...semirings.dense import DenseKernel
from .tape import compile_tape

__all__ = ["Block", "BodyRunner", "embed"]

#: index maps and masks kept per program (they depend on the ranges only)
CACHE_ENTRIES = 4096


@dataclass
class Block:
    """``values`` ``(B, n1, ..., na)``: the cell of index ``i`` holds the tuple ``lo + i``.

    ``ones``: every cell holds the semiring's one (certain facts that fill the box), so
    that a rule reading the block needs no product with it.
    """

    values: Tensor
    lo: tuple[int, ...]
    ones: bool = False

    @property
    def box(self) -> list[iv.Interval]:
        return [(lo, lo + n - 1) if n else None for lo, n in zip(self.lo, self.values.shape[1:])]

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(self.values.shape[1:])

    def read(self, index: tuple) -> Tensor:
        """``values[index]``: ``index`` is ``slice(None)`` for the samples, then an int or a slice per argument."""
        return self.values[index]


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


class BodyRunner:
    """Runs rule plans with one kernel; ``cache`` holds index maps and masks between calls."""

    def __init__(self, kernel: DenseKernel, cache: OrderedDict, batch_size: int, device, dtype: torch.dtype) -> None:
        self.kernel = kernel
        self.cache = cache
        self.batch_size, self.device, self.dtype = batch_size, device, dtype

    def unit(self, axes: int = 0) -> Tensor:
        """One binding per sample with tag one: ``(B,)``, or ``(B, 1, ...)`` over ``axes`` axes of one value each."""
        return torch.ones(self.batch_size, *[1] * axes, dtype=self.dtype, device=self.device)

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

        The operations are compiled once per geometry of the blocks (``tape.compile_tape``).

        Args:
            plan: the body order to run.
            shape: the rule's value-range shape.
            blocks: the block each positive body atom reads, by body position.
            relations: whole relations of lower strata (for negations).
            weight: the rule's weight (a 0-d tensor), or None.
        """
        key = (
            "tape", id(plan), tuple((pos, b.lo, b.sizes, b.ones) for pos, b in blocks.items()),
            tuple((name, b.lo, b.sizes) for name, b in relations.items()),
        )
        tape = self.cache.get(key)
        if tape is None:
            tape = self._cached(key, lambda: compile_tape(self, plan, shape, blocks, relations) or _NOTHING)
        if tape is _NOTHING:
            return None
        factor = tape.play(self, blocks, relations)
        if weight is not None:
            # weighted rule: head ⊗ w
            factor = self.kernel.mul(factor, weight)
        return Block(factor, tape.lo)


#: the tape of a geometry where the rule derives nothing
_NOTHING = object()
