"""The max-min (fuzzy, Gödel) semiring ``([0, 1], max, min)``: the strength of the strongest chain."""

from __future__ import annotations

import torch
from torch import Tensor

from .base import Semiring
from .probabilistic import ScalarAlgebra

__all__ = ["MaxMin"]


class MaxMinAlgebra(ScalarAlgebra):
    idempotent = True

    def add(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.maximum(a, b)

    def mul(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.minimum(a, b)

    def segment_add(self, a: Tensor, segments: Tensor, n_segments: int) -> Tensor:
        return self.zero(n_segments).index_reduce(0, segments, a, "amax", include_self=True)


class MaxMin(Semiring):
    """Fuzzy truth.

    >>> from greybox.semirings.base import FactTable
    >>> alg = MaxMin().bind(FactTable.independent(torch.tensor([0.5, 0.25])))
    >>> t = alg.from_facts(torch.tensor([0, 1]))
    >>> float(alg.add(t[:1], t[1:])), float(alg.mul(t[:1], t[1:]))
    (0.5, 0.25)
    """

    name = "max-min"
    idempotent_mul = True
    algebra_class = MaxMinAlgebra
