"""Dense relations read back as tuple rows, one relation at a time and only when asked for.

``EvalResult`` reads a relation as ``Relation(cols, tags)``: here the cells that hold a
tuple (tag not zero, as the sparse engine keeps no row for a zero tag) become rows,
in the order of their cells, which is the sparse engine's row order too (sample, then
arguments ascending). Tags are indexed out of the dense tensor, so gradients flow back
to the input probabilities.

Example:
    >>> import torch
    >>> from greybox.semirings import AddMult
    >>> from greybox.semirings.base import FactTable
    >>> from greybox.semirings.add_mult import AddMultDense
    >>> k = AddMultDense(AddMult().bind(FactTable.independent(torch.ones(1))))
    >>> rels = DenseRelations(k, {"s": torch.tensor([[0.0, 0.25, 0.75]])}, {"s": ((3,), (3,))})
    >>> r = rels["s"]
    >>> r.cols.tolist(), r.tags.tolist()
    ([[0, 4], [0, 5]], [0.25, 0.75])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Iterator

import torch
from torch import Tensor

from ..relation import Relation
from ...semirings.dense import DenseKernel
from .kernels import dot, row_major

__all__ = ["DenseRelations"]


class DenseRelations(Mapping):
    """Relation name -> ``Relation`` rows, converted from the dense tensors on first access.

    Args:
        kernel: the evaluation's kernels (which cells hold a tuple, their tags).
        tensors: relation -> ``(B, *sizes)`` values, or an object whose ``tensor()`` builds them.
        boxes: relation -> ``(lo, sizes)`` of its arguments.
        cache: where to keep the index tensors of ``tags_at`` between evaluations on one device (None: nowhere).
    """

    def __init__(self, kernel: DenseKernel, tensors: dict[str, Any],
                 boxes: dict[str, tuple[tuple[int, ...], tuple[int, ...]]], cache: dict | None = None) -> None:
        self.kernel = kernel
        self.tensors = tensors
        self.boxes = boxes
        self._cache = cache
        self._rows: dict[str, Relation] = {}

    def __getitem__(self, name: str) -> Relation:
        rel = self._rows.get(name)
        if rel is not None:
            return rel
        t = self.tensor(name)
        lo, _ = self.boxes[name]
        mask = self.kernel.present(t)  # (B, *sizes)
        idx = mask.nonzero()  # (N, 1 + a): sample, then cell index per argument
        if lo:
            idx = idx + torch.tensor((0, *lo), dtype=idx.dtype, device=idx.device)
        rel = Relation(idx, self.kernel.tags(t[mask]))
        self._rows[name] = rel
        return rel

    def tensor(self, name: str) -> Tensor:
        """``(B, *sizes)``: the values of relation ``name`` (a recursive one is built on first access)."""
        t = self.tensors.get(name)
        if t is None:
            raise KeyError(
                f"relation '{name}' was not evaluated: it is neither a target nor something a target depends on"
            )
        if not isinstance(t, Tensor):  # a fixpoint's total, kept as blocks until now
            t = self.tensors[name] = t.tensor()
        return t

    def tags_at(self, name: str, rows: Tensor) -> tuple[Tensor, Tensor]:
        """``(found (N,) bool, tags (N,))`` of the tuples ``rows`` ``(N, 1 + a)`` (sample id first).

        The cells are read directly: ``found`` is False for a tuple outside the box or not derived.
        """
        t = self.tensor(name)
        lo, sizes = self.boxes[name]
        b = int(t.shape[0])
        key = ("rows", name, b, lo, sizes, t.device)
        bounds = self._cache.get(key) if self._cache is not None else None
        if bounds is None:
            strides, _ = row_major((b, *sizes))
            offset = sum(l * s for l, s in zip(lo, strides[1:]))
            low, high = (0, *lo), (b - 1, *(l + s - 1 for l, s in zip(lo, sizes)))
            bounds = (*torch.tensor([low, high, strides], dtype=torch.int64, device=t.device), offset)
            if self._cache is not None:
                self._cache[key] = bounds
        low_t, high_t, stride_t, offset = bounds
        rows = rows.to(t.device)
        near = torch.clamp(rows, low_t, high_t)  # (N, 1 + a) the nearest tuple in the box
        inside = (near == rows).all(dim=1)  # (N,)
        values = t.reshape(-1)[dot(near, stride_t) - offset]  # (N,)
        return inside & self.kernel.present(values), self.kernel.tags(values)

    def tags_per_sample(self, name: str, codes: Tensor) -> tuple[Tensor, Tensor]:
        """``(found (B,) bool, tags (B,))`` of one tuple per sample: the arguments ``codes`` ``(B, a)``
        in sample ``0..B-1`` (``tags_at`` with the sample ids left implicit)."""
        t = self.tensor(name)
        lo, sizes = self.boxes[name]
        b = int(t.shape[0])
        key = ("per sample", name, b)  # the cache belongs to one device
        bounds = self._cache.get(key) if self._cache is not None else None
        if bounds is None:
            strides, n = row_major(sizes)
            high = tuple(l + size - 1 for l, size in zip(lo, sizes))
            low_t, high_t, stride_t = torch.tensor([lo, high, strides], dtype=torch.int64, device=t.device)
            # where each sample's cells start, less the offset of the box's first tuple
            starts = torch.arange(b, device=t.device) * n - sum(l * st for l, st in zip(lo, strides))
            bounds = (low_t, high_t, stride_t, starts)
            if self._cache is not None:
                self._cache[key] = bounds
        low_t, high_t, stride_t, starts = bounds
        if codes.device != t.device:
            codes = codes.to(t.device)
        near = torch.clamp(codes, low_t, high_t)  # (B, a) the nearest tuple in the box
        inside = (near == codes).all(dim=1)  # (B,)
        # the cell of each sample's tuple
        values = torch.take(t, starts + (near[:, 0] if len(sizes) == 1 else dot(near, stride_t)))  # (B,)
        return inside & self.kernel.present(values), self.kernel.tags(values)

    def __iter__(self) -> Iterator[str]:
        return iter(self.tensors)

    def __len__(self) -> int:
        return len(self.tensors)

    def __contains__(self, name: object) -> bool:
        return name in self.tensors
