"""The add-mult semiring ``([0, 1], +, *)`` (sum-product).

Exact when the proofs it adds are mutually exclusive and the facts it multiplies
are independent -- a running sum over digit readings is such a program -- and a
fast approximation elsewhere. Sums are not clipped, so the result stays a
polynomial in the input probabilities (differentiable everywhere).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .base import Semiring
from .probabilistic import ScalarAlgebra

__all__ = ["AddMult"]


class AddMultAlgebra(ScalarAlgebra):
    idempotent = False

    def add(self, a: Tensor, b: Tensor) -> Tensor:
        return a + b

    def mul(self, a: Tensor, b: Tensor) -> Tensor:
        return a * b

    def segment_add(self, a: Tensor, segments: Tensor, n_segments: int) -> Tensor:
        return self.zero(n_segments).index_add(0, segments, a)


class AddMult(Semiring):
    """Sum-product provenance.

    >>> from greybox.semirings.base import FactTable
    >>> alg = AddMult().bind(FactTable.independent(torch.tensor([0.5, 0.25])))
    >>> t = alg.from_facts(torch.tensor([0, 1]))
    >>> float(alg.add(t[:1], t[1:])), float(alg.mul(t[:1], t[1:]))
    (0.75, 0.125)
    """

    name = "add-mult"
    algebra_class = AddMultAlgebra
