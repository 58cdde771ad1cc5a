"""A ``Frame`` is the table of variable bindings built while one rule body is evaluated."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from ..semirings.base import Algebra, Tag, tree_index

__all__ = ["Frame"]


@dataclass
class Frame:
    """``M`` partial bindings: ``sample`` ``(M,)``, one ``(M,)`` int64 column per bound variable, ``tag``."""

    sample: Tensor
    tag: Tag
    vals: dict[str, Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.sample.shape[0])

    @staticmethod
    def unit(batch_size: int, algebra: Algebra) -> "Frame":
        """One empty binding per sample, each with tag ``one``: the start of every rule body."""
        sample = torch.arange(batch_size, device=algebra.device)
        return Frame(sample, algebra.one(batch_size))

    def select(self, idx: Tensor) -> "Frame":
        return Frame(self.sample[idx], tree_index(self.tag, idx), {k: v[idx] for k, v in self.vals.items()})

    def keep(self, mask: Tensor) -> "Frame":
        if bool(mask.all()):
            return self
        return self.select(mask.nonzero().squeeze(1))

    def key_cols(self, names: list[str]) -> Tensor:
        """``(M, 1 + len(names))``: sample id then the named variables."""
        return torch.stack([self.sample] + [self.vals[n] for n in names], dim=1)
