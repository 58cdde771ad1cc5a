"""The boolean semiring ``({0, 1}, or, and)``: plain Datalog truth, no probabilities.

- ``Boolean``: the tensor semiring; tags are ``(N,)`` bool tensors (``BooleanAlgebra``);
- ``BooleanDense``: its dense kernels; cells hold 0./1. in the evaluation's float dtype;
- ``BooleanScalar``: its plain-Python form for the reference evaluator (``bool`` tags).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

from .lazy_torch import torch

if TYPE_CHECKING:
    from torch import Tensor

from .base import Algebra, Semiring
from .dense import MaxDense
from .scalar import ScalarSemiring

__all__ = ["Boolean", "BooleanAlgebra", "BooleanDense", "BooleanScalar"]


class BooleanAlgebra(Algebra):
    idempotent = True

    def zero(self, n: int) -> Tensor:
        return torch.zeros(n, dtype=torch.bool, device=self.device)

    def one(self, n: int) -> Tensor:
        return torch.ones(n, dtype=torch.bool, device=self.device)

    def from_facts(self, fact_ids: Tensor) -> Tensor:
        # a fact given to a boolean evaluation holds unless its probability is 0
        return self.facts.probs[fact_ids] > 0

    def add(self, a: Tensor, b: Tensor) -> Tensor:
        return a | b

    def mul(self, a: Tensor, b: Tensor) -> Tensor:
        return a & b

    def negate(self, a: Tensor) -> Tensor:
        return ~a

    def segment_add(self, a: Tensor, segments: Tensor, n_segments: int) -> Tensor:
        out = torch.zeros(n_segments, dtype=torch.int64, device=a.device)
        return out.index_add_(0, segments, a.long()) > 0

    def probability(self, a: Tensor) -> Tensor:
        return a.float()

    def is_zero(self, a: Tensor) -> Tensor:
        return ~a

    def changed(self, old: Tensor, new: Tensor) -> Tensor:
        return old != new


class BooleanDense(MaxDense):
    """boolean over dense tensors: cells hold 0./1. in the evaluation's float dtype, never with a gradient."""

    def from_probs(self, probs: Tensor) -> Tensor:
        return (probs.detach() > 0).to(probs.dtype)

    def tags(self, values: Tensor) -> Tensor:
        return values > 0

    def add(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.maximum(a, b)

    def mul(self, a: Tensor, b: Tensor) -> Tensor:
        return a * b

    def changed(self, old: Tensor, new: Tensor) -> Tensor:
        return old != new

    def diverged(self, values: Tensor) -> Tensor | None:
        return None


class BooleanScalar(ScalarSemiring):
    """Truth values in plain Python: every input fact holds.

    >>> s = BooleanScalar()
    >>> s.add(False, True), s.mul(True, False), s.negate(True)
    (True, False, False)
    """

    name = "boolean"

    def zero(self) -> bool:
        return False

    def one(self) -> bool:
        return True

    def add(self, a: bool, b: bool) -> bool:
        return a or b

    def mul(self, a: bool, b: bool) -> bool:
        return a and b

    def negate(self, a: bool) -> bool:
        return not a

    def from_fact(self, fact: Any) -> bool:
        return True

    def probability(self, tag: bool, facts: Sequence | None = None) -> float:
        return 1.0 if tag else 0.0


class Boolean(Semiring):
    """Plain Datalog truth: a tuple holds or it does not.

    >>> from greybox.semirings.base import FactTable
    >>> alg = Boolean().bind(FactTable.independent(torch.tensor([0.3, 0.0])))
    >>> alg.from_facts(torch.tensor([0, 1])).tolist()
    [True, False]
    """

    name = "boolean"
    idempotent_mul = True
    algebra_class = BooleanAlgebra
    dense = BooleanDense
    scalar = BooleanScalar
