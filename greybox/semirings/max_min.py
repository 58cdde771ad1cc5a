"""The max-min (fuzzy, Gödel) semiring ``([0, 1], max, min)``: the strength of the strongest chain.

- ``MaxMin``: the tensor semiring (``MaxMinAlgebra``);
- ``MaxMinDense``: its dense kernels (⊗ the minimum, ⊕ the maximum);
- ``MaxMinScalar``: its plain-Python form for the reference evaluator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy_torch import torch

if TYPE_CHECKING:
    from torch import Tensor

from .base import Semiring
from .dense import MaxDense
from .probabilistic import ProbabilityAlgebra
from .scalar import ProbabilityScalar

__all__ = ["MaxMin", "MaxMinAlgebra", "MaxMinDense", "MaxMinScalar"]


class MaxMinAlgebra(ProbabilityAlgebra):
    idempotent = True

    def add(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.maximum(a, b)

    def mul(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.minimum(a, b)

    def segment_add(self, a: Tensor, segments: Tensor, n_segments: int) -> Tensor:
        return self.zero(n_segments).index_reduce(0, segments, a, "amax", include_self=True)


class MaxMinDense(MaxDense):
    """max-min over dense tensors: ⊗ is the minimum (the weakest link), ⊕ the maximum."""


class MaxMinScalar(ProbabilityScalar):
    """Fuzzy truth in plain Python: the strength of the strongest chain.

    >>> MaxMinScalar().add(0.5, 0.25), MaxMinScalar().mul(0.5, 0.25)
    (0.5, 0.25)
    """

    name = "max-min"

    def add(self, a: float, b: float) -> float:
        return max(a, b)

    def mul(self, a: float, b: float) -> float:
        return min(a, b)


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
    dense = MaxMinDense
    scalar = MaxMinScalar
