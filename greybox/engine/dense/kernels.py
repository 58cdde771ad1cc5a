"""What the dense engine needs of a semiring's dense form: finding its kernels, and cell arithmetic.

The kernels themselves live with their semiring, one file per family
(``greybox.semirings.add_mult.AddMultDense``, ``max_mult.MaxMultDense``,
``max_min.MaxMinDense``, ``boolean.BooleanDense``, on the base
``greybox.semirings.dense.DenseKernel``); a semiring names its kernels in its
``dense`` attribute and ``kernel_class`` reads it.

Example:
    >>> from greybox.semirings import AddMult
    >>> from greybox.semirings.base import FactTable
    >>> k = kernel_class(AddMult())(AddMult().bind(FactTable.independent(torch.ones(1))))
    >>> a, b = torch.ones(2, 3), torch.ones(2, 3)     # (B, X), (B, X)
    >>> t, axes = k.join(a, ["X"], b, ["X"], drop={"X"})
    >>> t.tolist(), axes
    ([3.0, 3.0], [])
"""

from __future__ import annotations

import torch
from torch import Tensor

from ...semirings.base import Semiring
from ...semirings.dense import DenseKernel

__all__ = ["kernel_class", "dot", "row_major"]


def dot(rows: Tensor, weights: Tensor) -> Tensor:
    """``(N, k) @ (k,)`` over int64: the flat cell of each row, given the strides ``weights``.

    >>> dot(torch.tensor([[1, 2], [3, 4]]), torch.tensor([10, 1])).tolist()
    [12, 34]
    """
    if rows.device.type == "cpu":  # one kernel; CUDA has no int64 matrix product
        return rows @ weights
    return (rows * weights).sum(dim=-1)


def row_major(sizes) -> tuple[list[int], int]:
    """The strides of a C-order box of ``sizes`` and its number of cells.

    >>> row_major((2, 3, 4))
    ([12, 4, 1], 24)
    """
    strides, n = [], 1
    for size in reversed(sizes):
        strides.append(n)
        n *= size
    return strides[::-1], n


def kernel_class(semiring: Semiring) -> type[DenseKernel] | None:
    """The dense kernels of ``semiring`` (its ``dense`` attribute), or None (top-k proofs has none).

    >>> from greybox.semirings import MaxMult, TopKProofs
    >>> kernel_class(MaxMult()).__name__, kernel_class(TopKProofs(3))
    ('MaxMultDense', None)
    """
    return getattr(semiring, "dense", None)
