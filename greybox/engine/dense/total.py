"""A relation's ``total`` during a recursive fixpoint: a base tensor plus the blocks merged since.

Writing each round's few changed cells into the whole ``(B, *sizes)`` tensor would cost a
copy of it per round, forward and backward. ``Total`` keeps the tensor of round one
(``base``) and the list of ``recent`` blocks merged after it instead, and builds the
tensor only when a rule or the result reads it whole: one scatter of all blocks (a rule of a
later stratum reads the windows it needs, see ``TotalBlock``).

One list serves every semiring because a merged block holds, per changed cell, what
``total ⊕ block`` must give: the increment (add-mult: totals add up) or the new value
(idempotent semirings, where a new value is never below the old: ⊕ = max keeps it).

Example:
    >>> import torch
    >>> from collections import OrderedDict
    >>> from greybox.semirings import AddMult
    >>> from greybox.semirings.base import FactTable
    >>> from greybox.semirings.add_mult import AddMultDense
    >>> from greybox.engine.dense.body import Block, BodyRunner
    >>> k = AddMultDense(AddMult().bind(FactTable.independent(torch.ones(1))))
    >>> runner = BodyRunner(k, OrderedDict(), 1, None, torch.float32)
    >>> t = Total(torch.tensor([[1.0, 0.0, 0.0]]), (0,), (3,), k, runner)
    >>> recent, _ = t.merge([Block(torch.tensor([[0.5, 0.25]]), (1,))])
    >>> recent.lo, recent.values.tolist(), t.tensor().tolist()
    ((1,), [[0.5, 0.25]], [[1.0, 0.5, 0.25]])
"""

from __future__ import annotations

import torch
from torch import Tensor

from .body import Block, BodyRunner, embed
from ...semirings.dense import DenseKernel

__all__ = ["Total", "TotalBlock"]


class Total:
    """The total of one relation while its stratum iterates.

    Args:
        base: ``(B, *sizes)`` the relation after round one.
        lo, sizes: the relation's box.
        kernel: the evaluation's kernels.
        runner: for its cache of index maps.
    """

    def __init__(self, base: Tensor, lo: tuple[int, ...], sizes: tuple[int, ...], kernel: DenseKernel, runner: BodyRunner) -> None:
        self.base, self.lo, self.sizes = base, lo, sizes
        self.kernel, self.runner = kernel, runner
        self.pieces: list[Block] = []
        #: the bounding box of base's non-zero cells (None: base is zero), set by the fixpoint
        self.base_window: tuple[tuple[int, ...], tuple[int, ...]] | None = (lo, sizes)
        self._built: dict[int, Tensor] = {0: base}
        self._hull: tuple[tuple[int, ...], tuple[int, ...]] | None = None

    def _overlaps(self, w_lo: tuple[int, ...], w_sizes: tuple[int, ...]) -> bool:
        w = (w_lo, w_sizes)
        if self.base_window is not None and _overlap(self.base_window, w):
            return True
        if self._hull is None or not _overlap(self._hull, w):
            return False
        return any(_overlap((p.lo, tuple(p.values.shape[1:])), w) for p in self.pieces)

    def _append(self, block: Block) -> None:
        self.pieces.append(block)
        # the hull of every piece merged so far (a piece later cut or dropped leaves it larger, still a hull)
        lo, sizes = block.lo, tuple(block.values.shape[1:])
        if self._hull is None:
            self._hull = (lo, sizes)
            return
        h_lo, h_sizes = self._hull
        new_lo = tuple(min(a, b) for a, b in zip(h_lo, lo))
        new_hi = tuple(max(a + n, b + m) for a, n, b, m in zip(h_lo, h_sizes, lo, sizes))
        self._hull = (new_lo, tuple(h - l for l, h in zip(new_lo, new_hi)))

    def window(self, w_lo: tuple[int, ...], w_sizes: tuple[int, ...]) -> Tensor:
        """``(B, *w_sizes)``: the current values of the cells of one window."""
        built = self._built.get(len(self.pieces))
        if built is not None:
            return embed(Block(built, self.lo), w_lo, w_sizes)
        out: Tensor | None = None
        parts = []
        if self.base_window is not None and _overlap(self.base_window, (w_lo, w_sizes)):
            parts.append(Block(self.base, self.lo))
        parts += [p for p in self.pieces if _overlap((p.lo, tuple(p.values.shape[1:])), (w_lo, w_sizes))]
        for p in parts:
            t = embed(p, w_lo, w_sizes)
            out = t if out is None else self.kernel.add(out, t)
        if out is None:
            out = torch.zeros(self.base.shape[0], *w_sizes, dtype=self.base.dtype, device=self.base.device)
        return out

    def merge(self, blocks: list[Block]) -> tuple[Block | None, Tensor | None]:
        """Merge a round's derived blocks: ``(recent, check)``, as ``fixpoint.merge`` does row by row.

        ``check`` (a 0-d tensor or None) is not finite when a total overflowed.

        A cell changes when ``old ⊕ derived`` differs from ``old`` (``algebra.changed``);
        ``recent`` holds the changed cells' new values (idempotent semirings) or their
        increments (add-mult), zero elsewhere, and is kept as a piece of the total.
        """
        kernel = self.kernel
        lo, sizes = self.lo, self.sizes
        first = blocks[0]
        if len(blocks) == 1 and all(
            l <= b and b + n <= l + s for l, s, b, n in zip(lo, sizes, first.lo, first.values.shape[1:])
        ):  # one block inside the box: the window is the block
            win_lo, win_sizes, derived = first.lo, tuple(first.values.shape[1:]), first.values
        else:
            # the window: the hull of the derived blocks, inside the relation's box
            w_lo, w_hi = [], []
            for k in range(len(lo)):
                w_lo.append(max(min(b.lo[k] for b in blocks), lo[k]))
                w_hi.append(min(max(b.lo[k] + int(b.values.shape[1 + k]) - 1 for b in blocks), lo[k] + sizes[k] - 1))
            if any(h < l for l, h in zip(w_lo, w_hi)):
                return None, None
            win_lo = tuple(w_lo)
            win_sizes = tuple(h - l + 1 for l, h in zip(w_lo, w_hi))
            derived = embed(blocks[0], win_lo, win_sizes)
            for b in blocks[1:]:
                derived = kernel.add(derived, embed(b, win_lo, win_sizes))
        if not self._overlaps(win_lo, win_sizes):
            # cells no earlier round touched: each one that is not zero changes, to its derived value
            block = Block(derived, win_lo)
            self._append(block)
            return block, None
        old = self.window(win_lo, win_sizes)
        new = kernel.add(old, derived)
        changed = kernel.changed(old, new)
        zero = torch.zeros((), dtype=new.dtype, device=new.device)
        recent = torch.where(changed, new if kernel.idempotent else derived, zero)
        flag = new.detach().sum()  # not finite when a total overflowed
        block = Block(recent, win_lo)
        self._append(block)
        return block, flag

    def tensor(self, pieces: int | None = None) -> Tensor:
        """``(B, *sizes)``: base ⊕ the first ``pieces`` merged blocks (default: all), in one scatter."""
        n = len(self.pieces) if pieces is None else pieces
        hit = self._built.get(n)
        if hit is not None:
            return hit
        b = int(self.base.shape[0])
        cells = b
        for s in self.sizes:
            cells *= s
        idx, vals = [], []
        for p in self.pieces[:n]:
            idx.append(self.runner._cached(("cells", self.lo, self.sizes, p.lo, tuple(p.values.shape), p.values.device),
                                           lambda p=p: _cells(self.lo, self.sizes, p)))
            vals.append(p.values.reshape(-1))
        scattered = self.kernel.scatter(torch.cat(vals), torch.cat(idx), cells).view(self.base.shape)
        out = self.kernel.add(self.base, scattered)
        self._built[n] = out
        return out


def _overlap(a, b) -> bool:
    (alo, asz), (blo, bsz) = a, b
    return all(x < y + m and y < x + n for x, n, y, m in zip(alo, asz, blo, bsz))


def _cells(lo, sizes, piece: Block) -> Tensor:
    """Flat cell index in ``(B, *sizes)`` of every cell of ``piece`` (which lies inside the box)."""
    dev = piece.values.device
    b = int(piece.values.shape[0])
    cell = torch.arange(b, device=dev).view(-1, *[1] * len(sizes))
    for k, (l, o, s) in enumerate(zip(piece.lo, lo, sizes)):
        n = int(piece.values.shape[1 + k])
        view = [1] * (1 + len(sizes))
        view[1 + k] = n
        cell = cell * s + torch.arange(l - o, l - o + n, device=dev).view(view)
    return cell.expand(piece.values.shape).reshape(-1)


class TotalBlock:
    """A ``Total`` read as a ``Block`` of its whole box: a rule reads the windows it needs, so
    that the relation is built into one tensor only when a rule reads it whole."""

    ones = False

    def __init__(self, total: Total) -> None:
        self.total = total
        self.lo = total.lo

    @property
    def values(self) -> Tensor:
        return self.total.tensor()

    @property
    def box(self) -> list:
        return [(lo, lo + n - 1) if n else None for lo, n in zip(self.lo, self.total.sizes)]

    @property
    def sizes(self) -> tuple[int, ...]:
        return self.total.sizes

    def read(self, index: tuple) -> Tensor:
        """As ``Block.read``: ``index`` is ``slice(None)``, then an int or a slice per argument."""
        w_lo, w_sizes, pick = [], [], [slice(None)]
        for lo, n, ix in zip(self.lo, self.total.sizes, index[1:]):
            if isinstance(ix, slice):  # a variable's range (slice(None): the whole axis)
                start, stop, _ = ix.indices(n)
                w_lo.append(lo + start)
                w_sizes.append(max(0, stop - start))
                pick.append(slice(None))
            else:  # a constant: a window of one, then its axis dropped
                w_lo.append(lo + ix)
                w_sizes.append(1)
                pick.append(0)
        t = self.total.window(tuple(w_lo), tuple(w_sizes))  # (B, *w_sizes)
        return t[tuple(pick)] if 0 in pick else t
