"""Shared machinery of the semirings whose tag is one probability per tuple: ``(N,)`` float tensors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy_torch import torch

if TYPE_CHECKING:
    from torch import Tensor

from .base import Algebra

__all__ = ["ProbabilityAlgebra"]


class ProbabilityAlgebra(Algebra):
    """Tags are ``(N,)`` floats in [0, 1]; ``negate`` is ``1 - a`` for every scalar semiring."""

    #: relative change under which a tag counts as saturated (for the fixpoint test)
    tolerance: float = 1e-9

    def zero(self, n: int) -> Tensor:
        return torch.zeros(n, dtype=self.facts.probs.dtype, device=self.device)

    def one(self, n: int) -> Tensor:
        return torch.ones(n, dtype=self.facts.probs.dtype, device=self.device)

    def from_facts(self, fact_ids: Tensor) -> Tensor:
        return self.facts.probs[fact_ids]

    def negate(self, a: Tensor) -> Tensor:
        return 1.0 - a

    def probability(self, a: Tensor) -> Tensor:
        return a

    def is_zero(self, a: Tensor) -> Tensor:
        return a <= 0

    def diverged(self, a: Tensor) -> bool:
        return bool(a.numel()) and not bool(torch.isfinite(a).all())

    def changed(self, old: Tensor, new: Tensor) -> Tensor:
        # a value that overflowed counts as changed, so that the fixpoint sees the divergence
        return ((new - old).abs() > self.tolerance * new.abs().clamp_min(1e-30)) | ~torch.isfinite(new)
