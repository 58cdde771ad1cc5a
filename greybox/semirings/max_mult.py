"""The max-mult (Viterbi) semiring ``([0, 1], max, *)``: the probability of the single best proof.

- ``MaxMult``: the tensor semiring (``MaxMultAlgebra``);
- ``MaxMultDense``: its dense kernels (⊗ the product, ⊕ the maximum);
- ``MaxMultScalar``: its plain-Python form for the reference evaluator.
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

__all__ = ["MaxMult", "MaxMultAlgebra", "MaxMultDense", "MaxMultScalar"]


class MaxMultAlgebra(ProbabilityAlgebra):
    idempotent = True

    def add(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.maximum(a, b)

    def mul(self, a: Tensor, b: Tensor) -> Tensor:
        return a * b

    def segment_add(self, a: Tensor, segments: Tensor, n_segments: int) -> Tensor:
        return self.zero(n_segments).index_reduce(0, segments, a, "amax", include_self=True)


class MaxMultDense(MaxDense):
    """max-mult over dense tensors: ⊗ is the product, ⊕ the maximum (the best single derivation)."""


class MaxMultScalar(ProbabilityScalar):
    """Probability of the most probable derivation (Viterbi), in plain Python.

    >>> MaxMultScalar().add(0.5, 0.25), MaxMultScalar().mul(0.5, 0.25)
    (0.5, 0.125)
    """

    name = "max-mult"

    def add(self, a: float, b: float) -> float:
        return max(a, b)

    def mul(self, a: float, b: float) -> float:
        return a * b


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
    dense = MaxMultDense
    scalar = MaxMultScalar
