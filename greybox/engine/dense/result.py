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
    >>> from greybox.engine.dense.kernels import SumProduct
    >>> k = SumProduct(AddMult().bind(FactTable.independent(torch.ones(1))))
    >>> rels = DenseRelations(k, {"s": torch.tensor([[0.0, 0.25, 0.75]])}, {"s": ((3,), (3,))})
    >>> r = rels["s"]
    >>> r.cols.tolist(), r.tags.tolist()
    ([[0, 4], [0, 5]], [0.25, 0.75])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Iterator

import torch
from torch import Tensor

from ..relation import Relation
from .kernels import DenseKernel

__all__ = ["DenseRelations"]


class DenseRelations(Mapping):
    """Relation name -> ``Relation`` rows, converted from the dense tensors on first access.

    Args:
        kernel: the evaluation's kernels (which cells hold a tuple, their tags).
        tensors: relation -> ``(B, *sizes)`` values.
        boxes: relation -> ``(lo, sizes)`` of its arguments.
    """

    def __init__(self, kernel: DenseKernel, tensors: dict[str, Tensor], boxes: dict[str, tuple[tuple[int, ...], tuple[int, ...]]]) -> None:
        self.kernel = kernel
        self.tensors = tensors
        self.boxes = boxes
        self._rows: dict[str, Relation] = {}

    def __getitem__(self, name: str) -> Relation:
        rel = self._rows.get(name)
        if rel is not None:
            return rel
        t = self.tensors.get(name)
        if t is None:
            raise KeyError(
                f"relation '{name}' was not evaluated: it is neither a target nor something a target depends on"
            )
        lo, _ = self.boxes[name]
        mask = self.kernel.present(t)  # (B, *sizes)
        idx = mask.nonzero()  # (N, 1 + a): sample, then cell index per argument
        if lo:
            idx = idx + torch.tensor((0, *lo), dtype=idx.dtype, device=idx.device)
        rel = Relation(idx, self.kernel.tags(t[mask]))
        self._rows[name] = rel
        return rel

    def __iter__(self) -> Iterator[str]:
        return iter(self.tensors)

    def __len__(self) -> int:
        return len(self.tensors)

    def __contains__(self, name: object) -> bool:
        return name in self.tensors
