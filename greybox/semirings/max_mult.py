"""The max-mult (Viterbi) semiring ``([0, 1], max, *)``: the probability of the single best proof."""

from __future__ import annotations

import torch
from torch import Tensor

from .base import Semiring
from .probabilistic import ScalarAlgebra

__all__ = ["MaxMult"]


class MaxMultAlgebra(ScalarAlgebra):
    idempotent = True

    def add(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.maximum(a, b)

    def mul(self, a: Tensor, b: Tensor) -> Tensor:
        return a * b

    def segment_add(self, a: Tensor, segments: Tensor, n_segments: int) -> Tensor:
        return self.zero(n_segments).index_reduce(0, segments, a, "amax", include_self=True)


class MaxMult(Semiring):
    """Best-proof probability.

    >>> from greybox.semirings.base import FactTable
    >>> alg = MaxMult().bind(FactTable.independent(torch.tensor([0.5, 0.25])))
    >>> t = alg.from_facts(torch.tensor([0, 1]))
    >>> float(alg.add(t[:1], t[1:])), float(alg.mul(t[:1], t[1:]))
    (0.5, 0.125)
    """

    name = "max-mult"
    algebra_class = MaxMultAlgebra
