"""The boolean semiring: ``({0, 1}, or, and)``. Tags are ``(N,)`` bool tensors; no probabilities."""

from __future__ import annotations

import torch
from torch import Tensor

from .base import Algebra, Semiring

__all__ = ["Boolean"]


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
