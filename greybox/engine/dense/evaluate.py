"""The dense representation: a program's relations as ``(B, |D1|, ..., |Dn|)`` semiring tensors.

``DenseEvaluator`` is the dense path of one ``Engine``. ``prepare`` decides whether an
evaluation qualifies (``qualify.static_problem``, then the value ranges of
``domains.relation_boxes`` for the run's inputs) and compiles the plans; both are cached
per (targets, semiring kind, input value ranges), so repeated batches of the same ranges
pay one small ``.tolist()`` for the ranges and nothing else. ``representation`` gives a
``DenseRepresentation`` of one run, which the evaluation skeleton
(``greybox.engine.evaluation``) drives as it drives the sparse one: fact numbering,
strata, rounds and limits are the skeleton's.

The rounds (``DenseRounds``) are the sparse engine's semi-naive evaluation
(``greybox.engine.fixpoint.SparseRounds``) with whole tensors for relations. For a rule
``h :- b1, ..., bn`` whose atoms at positions ``I`` belong to the stratum, a round adds

    sum over i in I of   total(b_<i) ⊗ recent(b_i) ⊗ stable(b_>i)

and merges it cell by cell: a cell changes when ``old ⊕ derived`` differs from ``old``
by more than the algebra's tolerance; ``recent`` holds the changed cells' new values
(idempotent semirings) or their increments (add-mult, so that every derivation counts
once; a linear recursion is then ``recent_{t+1} = rule(recent_t)``, ``total += recent``).
``recent`` is read through a box around its non-zero cells, so a running sum touches one
position per round: in round one, the box of the facts, inputs and derived blocks
(known without reading a tensor); later, the derived window, cut to the bounding box of
its non-zero cells when it is large, found in the one ``.tolist()`` per round that also
decides termination. Limits are the skeleton's: rounds, wall-clock time, and tags
that overflow (a cycle that keeps adding) raise ``ResourceLimitError``.

Example:
    >>> import torch
    >>> from greybox.engine.engine import Engine, InputFacts
    >>> from greybox.semirings import AddMult
    >>> eng = Engine('''
    ...     nn(net, [X], Y, [0..9]) :: digit(X, Y).
    ...     prefix(0, 0).
    ...     prefix(J, S) :- prefix(I, S0), I < 2, digit(I, D), S is S0 + D, J is I + 1.
    ...     sum(S) :- prefix(2, S).
    ... ''')
    >>> p = torch.full((2, 10), 0.1)          # two images, uniform over 0..9
    >>> cols = torch.tensor([[0, i, d] for i in range(2) for d in range(10)])
    >>> res = eng.run(semiring=AddMult(), inputs={"digit": InputFacts(cols, p.reshape(-1))},
    ...               targets=["sum"], representation="dense")
    >>> [a for a in res.answers("sum")][:3]
    [(0, (0,), 0.01), (0, (1,), 0.02), (0, (2,), 0.03)]
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import torch
from torch import Tensor

from ...lang.ast import Negation
from ...semirings.base import Algebra, Semiring
from ..fixpoint import diverged_error
from ..numbering import NumberedFacts
from . import intervals as iv
from .body import Block, BodyRunner, embed
from .compile import (
    DenseProgram, DenseRule, DenseStratum, check_arithmetic, check_grid, compile_body, shape_of, static_ranges,
)
from .domains import relation_boxes
from ...semirings.dense import DenseKernel
from .kernels import dot, kernel_class, row_major
from .qualify import DenseUnsupportedError, static_problem
from .result import DenseRelations
from .total import Total, TotalBlock

if TYPE_CHECKING:  # pragma: no cover
    from ..engine import Engine
    from ..evaluation import Bounds, RunInputs

__all__ = ["DenseEvaluator", "DenseRepresentation", "DenseRounds", "Prepared"]

#: compiled programs kept per engine (one per distinct input value ranges)
PROGRAMS_KEPT = 64


class Prepared:
    """A qualifying evaluation: its compiled program and the semiring's kernels."""

    def __init__(self, program: DenseProgram, kernel: type[DenseKernel]) -> None:
        self.program = program
        self.kernel = kernel


def _copy(err: DenseUnsupportedError) -> DenseUnsupportedError:
    """A fresh instance of a cached error (an exception object carries its last traceback)."""
    return DenseUnsupportedError(err.message, file=err.file, line=err.line, column=err.column,
                                 source_line=err.source_line, hint=err.hint)


class DenseEvaluator:
    """The dense path of one ``Engine``, with its caches (no state is shared between engines).

    Args:
        engine: the compiled program.
    """

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self._static: dict[tuple, DenseUnsupportedError | None] = {}
        self._programs: OrderedDict[tuple, DenseProgram | DenseUnsupportedError] = OrderedDict()
        self._needed: dict[tuple | None, set[str]] = {}  # the relations the targets depend on
        # the box of the program's own facts, per relation
        self._fact_boxes: dict[str, list[iv.Interval]] = {}
        for name, (codes, _) in engine._static.items():
            if codes.shape[0]:
                lo, hi = codes.min(dim=0).values.tolist(), codes.max(dim=0).values.tolist()
                self._fact_boxes[name] = list(zip(lo, hi))
        self._learnable_ids = frozenset(engine.learnable_facts)

    # ------------------------------------------------------------------ deciding

    def prepare(
        self, semiring: Semiring, targets: Sequence[str] | None,
        bounds: Mapping[str, "Bounds"],
    ) -> Prepared | DenseUnsupportedError:
        """The compiled program for this evaluation, or why it does not qualify.

        Args:
            semiring: the evaluation's semiring.
            targets: the relations asked for (None: all).
            bounds: per input with rows, the lowest and highest value of each column (sample id
                first) and of its group ids (``RunInputs.bounds``).
        """
        eng = self.engine
        tkey = None if targets is None else tuple(sorted(set(targets)))
        kernel = kernel_class(semiring)
        skey = (tkey, kernel, semiring.name)
        if skey not in self._static:
            self._static[skey] = static_problem(eng, targets, semiring)
        if self._static[skey] is not None:
            return _copy(self._static[skey])  # type: ignore[arg-type]
        assert kernel is not None
        needed = self._needed.get(tkey)
        if needed is None:
            needed = self._needed[tkey] = eng.dependencies(targets) if targets is not None else set(eng.arities)
        # the inputs' value ranges
        ranges: dict[str, list[iv.Interval]] = {}
        for name, (lo, hi, _) in bounds.items():
            ranges[name] = list(zip(lo[1:], hi[1:]))
        signature = tuple(sorted((name, tuple(box)) for name, box in ranges.items() if name in needed))
        key = (skey, len(eng.symbols), signature)
        program = self._programs.get(key)
        if program is None:
            try:
                program = self._compile(needed, ranges)
            except DenseUnsupportedError as err:
                program = err
            self._programs[key] = program
            if len(self._programs) > PROGRAMS_KEPT:
                self._programs.popitem(last=False)
        else:
            self._programs.move_to_end(key)
        if isinstance(program, DenseUnsupportedError):
            return _copy(program)
        return Prepared(program, kernel)

    def _compile(self, needed: set[str], input_ranges: dict[str, list[iv.Interval]]) -> DenseProgram:
        eng = self.engine
        initial: dict[str, list[iv.Interval]] = {}
        for name in needed:
            box: list[iv.Interval] = [None] * eng.arities[name]
            for other in (self._fact_boxes.get(name), input_ranges.get(name)):
                if other is not None:
                    box = [iv.hull(a, b) for a, b in zip(box, other)]
            initial[name] = box
            for k, a in enumerate(box):
                if a is not None and not iv.is_bounded(a):
                    # interval reasoning clamps at ±BIG: such values stay exact in the sparse engine
                    raise DenseUnsupportedError(
                        f"argument {k + 1} of '{name}' holds values beyond ±2**62 ({a[0]} .. {a[1]})",
                        hint="use representation='auto' or 'sparse' for values near the 64-bit limits",
                    )
        strata: list[DenseStratum] = []
        for rules, names, recursive in eng.strata:
            if not (names & needed):
                continue
            dense_rules = []
            for rule in rules:
                clause = rule.clause
                dense_rules.append(DenseRule(
                    clause, shape_of(clause, eng.symbols), rule.weight_fact, list(rule.internal),
                    compile_body(clause, rule.base, rule.head_vars, eng.symbols),
                    {i: compile_body(clause, steps, rule.head_vars, eng.symbols) for i, steps in rule.delta.items()},
                    [lit.atom.predicate for lit in clause.body if isinstance(lit, Negation)],
                ))
            strata.append(DenseStratum(dense_rules, names, recursive))
        const = lambda v: v if isinstance(v, int) else eng.symbols.lookup(v)  # noqa: E731
        most = 0  # the most cells per sample of one step's grid or one relation
        boxes = relation_boxes([([r.shape for r in s.rules], s.relations, s.recursive) for s in strata], initial)
        for s in strata:
            for rule in s.rules:
                ranges = static_ranges(rule, boxes)
                if ranges is None:
                    continue
                for plan in [rule.base, *rule.delta.values()]:
                    most = max(most, check_grid(plan, ranges, rule.clause))
                    check_arithmetic(plan, ranges, rule.clause, const)
        laid: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {}
        for name in needed:
            box = boxes[name]
            laid[name] = (tuple(a[0] if a else 0 for a in box), tuple(iv.size(a) for a in box))
            most = max(most, math.prod(laid[name][1]))
        static: dict[str, tuple[list[int], list[int]]] = {}
        ones: set[str] = set()
        seed_ones: set[str] = set()
        derived = {rule.clause.head.predicate for rules, _, _ in eng.strata for rule in rules}
        for name, (codes, ids) in eng._static.items():
            if name not in needed or not codes.shape[0]:
                continue
            lo, sizes = laid[name]
            cells = []
            for row in codes.tolist():
                c = 0
                for v, l, n in zip(row, lo, sizes):
                    c = c * n + (v - l)
                cells.append(c)
            static[name] = (cells, ids.tolist())
            certain = all(eng.facts[i].probability in (None, 1.0) and not eng.facts[i].learnable for i in static[name][1])
            if not certain or name in input_ranges:
                continue
            if name not in derived and len(set(cells)) == math.prod(sizes):
                ones.add(name)
            seed_cells = math.prod(iv.size(a) for a in initial[name])
            if name in derived and len(set(cells)) == seed_cells:
                seed_ones.add(name)
        return DenseProgram(laid, strata, static, OrderedDict(), frozenset(ones), initial, frozenset(seed_ones), most)

    def representation(self, prepared: Prepared, run: "RunInputs") -> "DenseRepresentation":
        """The dense relations of one run of a prepared program."""
        return DenseRepresentation(self, prepared, run)


class DenseRepresentation:
    """Relations of one run as ``(B, *sizes)`` semiring tensors over the boxes of a prepared program.

    Args:
        evaluator: the engine's dense path (its caches).
        prepared: the compiled program (``DenseEvaluator.prepare``).
        run: the checked inputs.
    """

    def __init__(self, evaluator: DenseEvaluator, prepared: Prepared, run: "RunInputs") -> None:
        self.evaluator, self.prepared, self.run = evaluator, prepared, run
        self.program = prepared.program
        # None: a relation with no facts and no inputs, all zero before its rules run;
        # a Total: a recursive relation, built when read whole
        self.full: dict[str, Tensor | Total | None] = {}

    def load(self, facts: NumberedFacts, algebra: Algebra) -> None:
        """Every relation the targets need, its facts and inputs scattered into its box."""
        program, run = self.program, self.run
        dev, dtype, batch_size = run.device, run.dtype, run.batch_size
        self.static_probs = facts.static_probs
        self.kernel = kernel = self.prepared.kernel(algebra)
        self.cache = program.cache.setdefault((dev, dtype), OrderedDict())
        self.runner = runner = BodyRunner(kernel, self.cache, batch_size, dev, dtype)
        for name in program.boxes:
            self.full[name] = self._base(name)
            if self.full[name] is None and name not in program.derived:
                self.full[name] = torch.zeros(batch_size, *program.boxes[name][1], dtype=dtype, device=dev)
        self.weights: dict[int, Tensor] = {}

    def _base(self, name: str) -> Tensor | None:
        """``(B, *sizes)``: the facts of ``name`` (the same in every sample) ⊕ its run-time inputs;
        None when it has neither."""
        program, kernel, runner = self.program, self.kernel, self.runner
        static_probs, inputs, batch = self.static_probs, self.run.inputs, self.run.batch_size
        dev = runner.device
        lo, sizes = program.boxes[name]
        strides, cells = row_major(sizes)
        out: Tensor | None = None
        if name in program.static:
            cell_list, ids = program.static[name]

            def facts() -> Tensor:
                cell_idx, fact_idx = torch.tensor([cell_list, ids], dtype=torch.int64, device=dev)
                # the program's facts of `name`, one sample's worth, ⊕ over equal facts
                return kernel.scatter(kernel.from_probs(static_probs[fact_idx]), cell_idx, cells)  # (cells,)

            learnable = self.evaluator._learnable_ids
            if learnable and any(i in learnable for i in ids):
                out = facts().view(1, *sizes).expand(batch, *sizes)
            else:  # constant from one run to the next
                out = runner._cached(("facts", name, type(kernel), batch),
                                     lambda: facts().view(1, *sizes).expand(batch, *sizes))
        inp = inputs.get(name)
        if inp is not None and inp.cells is not None and len(inp):
            values, grid_lo, _ = inp.cells
            # p(args) of each cell, the grid placed in the relation's box
            t = _grid_in_box(kernel.from_probs(values.to(runner.dtype)), grid_lo, lo, sizes, batch)
            out = t if out is None else kernel.add(out, t)
        elif inp is not None and len(inp):
            stride_t = runner._cached(
                ("input", name, sizes, dev), lambda: torch.tensor((cells, *strides), dtype=torch.int64, device=dev)
            )
            offset = sum(l * s for l, s in zip(lo, strides))
            flat = dot(inp.cols, stride_t)  # (N,) the cell of each input row
            if offset:
                flat = flat - offset
            # p(args) of each input row, ⊕ over equal rows
            t = kernel.scatter(kernel.from_probs(inp.probabilities(runner.dtype)), flat, batch * cells).view(batch, *sizes)
            out = t if out is None else kernel.add(out, t)
        return out

    def strata(self) -> Iterable[DenseStratum]:
        return self.program.strata

    def first_round(self, stratum: DenseStratum) -> "DenseRounds":
        for fact in stratum.weight_facts:
            self.weights[fact] = self.kernel.from_probs(self.static_probs[fact])
        return DenseRounds(stratum, self)

    def relations(self) -> DenseRelations:
        return DenseRelations(self.kernel, self.full, self.program.boxes, self.cache)


class DenseRounds:
    """Semi-naive rounds of one stratum over dense tensors (as ``fixpoint.SparseRounds``).

    Made, it has run round one; in a recursive stratum ``step`` runs one more round, and
    ``finish`` leaves each relation's total as a ``Total`` (built into one tensor when read whole).
    """

    def __init__(self, stratum: DenseStratum, rep: DenseRepresentation) -> None:
        self.stratum, self.rep = stratum, rep
        program, full, runner, kernel = rep.program, rep.full, rep.runner, rep.kernel
        self.names = names = stratum.relations
        self.boxes = boxes = program.boxes
        self.lower_blocks: dict[str, Block | TotalBlock] = {}  # relations of lower strata do not change here

        # -- round one: the rules that read no relation of this stratum
        to_add: dict[str, list[Block]] = {r: [] for r in names}
        for rule in stratum.rules:
            if not rule.internal:
                out = self._fire(rule, rule.base, lambda pos, p: self._whole(p))
                if out is not None:
                    to_add[rule.clause.head.predicate].append(out)
        recent: dict[str, Block | None] = {}
        for r in names:
            lo, sizes = boxes[r]
            held = full[r]  # the facts and inputs of r (a relation of this stratum: not a Total yet)
            assert not isinstance(held, Total)
            if to_add[r]:
                held = _merge(held, lo, sizes, to_add[r], kernel)
            elif held is None:
                held = torch.zeros(runner.batch_size, *sizes, dtype=runner.dtype, device=runner.device)
            full[r] = held
            if stratum.recursive:
                # against an empty `stable` every tuple of round one is recent, with its whole tag; its
                # cells lie in the box of the facts, the inputs and the blocks just derived
                seen = program.seeds.get(r, [None] * len(lo))
                for b in to_add[r]:
                    seen = [iv.hull(x, y) for x, y in zip(seen, b.box)]
                block = _cut(held, lo, sizes, seen)
                if block is not None and not to_add[r] and r in program.seed_ones:
                    # certain facts that fill the window: later rounds need no product with them
                    block.ones = True
                recent[r] = block
        self.recent = recent
        if not stratum.recursive:
            return
        self.totals = {r: Total(full[r], *boxes[r], kernel, runner) for r in names}
        self.active = {r: recent[r] is not None for r in names}
        for r in names:
            block = recent[r]
            self.totals[r].base_window = None if block is None else (block.lo, tuple(block.values.shape[1:]))
        self.stable: dict[str, int | None] = {r: None for r in names}  # pieces of the total before the last round

    def _whole(self, name: str) -> Block | TotalBlock:
        block = self.lower_blocks.get(name)
        if block is not None:
            return block
        held = self.rep.full[name]
        if isinstance(held, Total):  # a recursive relation of a lower stratum, read window by window
            block = TotalBlock(held)
        else:
            block = Block(held, self.boxes[name][0], name in self.rep.program.ones)
        if name not in self.names:
            self.lower_blocks[name] = block
        return block

    def _fire(self, rule: DenseRule, plan, get) -> Block | None:
        blocks = {}
        for pos, _ in rule.shape.atoms:
            b = get(pos, rule.clause.body[pos].predicate)
            if b is None:
                return None
            blocks[pos] = b
        lower = {p: self._whole(p) for p in rule.negated}
        weight = self.rep.weights.get(rule.weight_fact)  # type: ignore[arg-type]
        return self.rep.runner.run(plan, rule.shape, blocks, lower, weight)

    def changing(self) -> bool:
        return any(self.active[r] for r in self.names)

    def busiest(self) -> str:
        return max(self.names, key=lambda r: _count(self.recent[r]))

    def step(self) -> None:
        names, boxes, totals, recent, stable = self.names, self.boxes, self.totals, self.recent, self.stable
        to_add: dict[str, list[Block]] = {r: [] for r in names}
        for rule in self.stratum.rules:
            for i in rule.internal:
                if not self.active[rule.clause.body[i].predicate]:
                    continue

                def get(pos: int, p: str, i: int = i, rule: DenseRule = rule) -> Block | TotalBlock | None:
                    if p not in names:
                        return self._whole(p)
                    if pos == i:
                        return recent[p]
                    if rule.internal.index(pos) < rule.internal.index(i):
                        return Block(totals[p].tensor(), boxes[p][0])
                    n = stable[p]
                    return None if n is None else Block(totals[p].tensor(n), boxes[p][0])

                out = self._fire(rule, rule.delta[i], get)
                if out is not None:
                    to_add[rule.clause.head.predicate].append(out)
        merged: set[str] = set()
        flags: dict[str, Tensor | None] = {r: None for r in names}
        for r in names:
            stable[r] = before = len(totals[r].pieces)
            if not to_add[r]:
                recent[r] = None
                continue
            recent[r], flags[r] = totals[r].merge(to_add[r])
            if len(totals[r].pieces) > before:
                merged.add(r)
        self.active, diverged = _occupancy(names, recent, flags)
        for r in names:
            if diverged[r]:
                raise diverged_error(r)
            pieces = totals[r].pieces
            if r in merged:
                # keep the merged block cut to its non-zero cells (or drop it: it changed nothing)
                if recent[r] is None:
                    pieces.pop()
                else:
                    pieces[-1] = recent[r]  # type: ignore[assignment]

    def finish(self) -> None:
        for r in self.names:
            self.rep.full[r] = self.totals[r]  # built into one tensor only when read whole


def _merge(total: Tensor | None, lo, sizes, blocks: list[Block], kernel: DenseKernel) -> Tensor:
    """Round one's merge into the whole relation (``fixpoint.merge``: a cell takes ``old ⊕ derived``
    where that differs from ``old``); ``total`` None: the relation has no facts (every derived cell is new)."""
    derived = embed(blocks[0], lo, sizes)
    for b in blocks[1:]:
        derived = kernel.add(derived, embed(b, lo, sizes))
    if total is None:
        return derived
    new = kernel.add(total, derived)
    return torch.where(kernel.changed(total, new), new, total)

def _occupancy(names, recent: dict[str, Block | None], flags: dict[str, Tensor | None]) -> tuple[dict, dict]:
    """Which relations changed in the last round, and whether a value overflowed.

    One ``.tolist()`` for the whole stratum. A large recent block is also cut to the
    bounding box of its non-zero cells (``recent`` is updated), so that the next round
    reads only those.
    """
    parts: list[Tensor] = []
    order = sorted(names) if len(names) > 1 else list(names)
    cut: dict[str, bool] = {}
    for r in order:
        block = recent[r]
        if block is None:
            continue
        t = block.values.detach()
        # cells are never negative: the sum is positive when some cell is not zero, and not
        # finite when a value overflowed
        parts.append(t.sum())
        flag = flags[r]
        if flag is not None:
            parts.append(flag.to(t.dtype))
        cut[r] = _bounding_box_pays(t)
        if cut[r]:
            nz = t != 0
            dims = list(range(nz.dim()))
            for k in range(1, nz.dim()):
                parts.append(nz.any(dim=[d for d in dims if d != k]).to(t.dtype))
    if len(parts) > 1:
        flat = torch.cat([p.reshape(-1) for p in parts]).tolist()
    else:
        flat = [parts[0].item()] if parts else []
    changed: dict[str, bool] = {}
    diverged: dict[str, bool] = {}
    at = 0
    for r in order:
        block = recent[r]
        if block is None:
            changed[r], diverged[r] = False, False
            continue
        total, at = flat[at], at + 1
        flag = 0.0
        if flags[r] is not None:
            flag, at = flat[at], at + 1
        changed[r] = total != 0
        diverged[r] = not (math.isfinite(total) and math.isfinite(flag))
        if cut[r]:
            index: list[slice] = [slice(None)]
            lo = []
            for base, n in zip(block.lo, block.values.shape[1:]):
                row = flat[at: at + n]
                at += n
                first = row.index(1.0) if 1.0 in row else 0
                last = n - 1 - row[::-1].index(1.0) if 1.0 in row else -1
                index.append(slice(first, max(first, last + 1)))
                lo.append(base + first)
            block = Block(block.values[tuple(index)], tuple(lo))
        recent[r] = block if changed[r] else None
    return changed, diverged


#: a recent block with more cells than this per sample is cut to its non-zero cells' bounding box
BOUNDING_BOX_CELLS = 256


def _grid_in_box(values: Tensor, grid_lo: tuple[int, ...], lo: tuple[int, ...], sizes: tuple[int, ...],
                 batch: int) -> Tensor:
    """``(batch, *sizes)``: a grid of cells ``values`` ``(B', n1, ..., na)`` whose first cell is
    ``grid_lo``, placed in the relation's box ``lo``/``sizes`` (which holds it); zero elsewhere."""
    pad: list[int] = []
    # F.pad lists (before, after) from the last axis to the first
    for g, n, l, size in reversed(list(zip(grid_lo, values.shape[1:], lo, sizes))):
        pad += [g - l, (l + size) - (g + n)]
    pad += [0, batch - values.shape[0]]
    if not any(pad):
        return values
    return torch.nn.functional.pad(values, pad)


def _cut(values: Tensor, lo: tuple[int, ...], sizes: tuple[int, ...], window: list) -> Block | None:
    """The block of ``values`` (a relation of box ``lo``/``sizes``) inside ``window``; None when it is empty."""
    index: list[slice] = [slice(None)]
    w_lo = []
    for l, n, w in zip(lo, sizes, window):
        if w is None:
            return None
        start, stop = max(w[0] - l, 0), min(w[1] - l + 1, n)
        if start >= stop:
            return None
        index.append(slice(start, stop))
        w_lo.append(l + start)
    whole = all(x.start == 0 and x.stop == n for x, n in zip(index[1:], sizes))
    return Block(values if whole else values[tuple(index)], tuple(w_lo))


def _bounding_box_pays(t: Tensor) -> bool:
    return t.dim() > 1 and math.prod(t.shape[1:]) > BOUNDING_BOX_CELLS


def _count(block: Block | None) -> int:
    return 0 if block is None else int((block.values != 0).sum())
