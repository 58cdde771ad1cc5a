"""What one evaluation gives back: every relation, read as rows, probabilities or Python values.

Both representations of the engine return an ``EvalResult``: the sparse one with its
``Relation`` per name, the dense one with ``greybox.engine.dense.result.DenseRelations``,
which turns a tensor into rows only when it is read and reads single cells directly.

Example:
    >>> from greybox.engine.engine import Engine
    >>> from greybox.semirings import AddMult
    >>> res = Engine("0.5 :: q(1). q(2).").run(semiring=AddMult())
    >>> res.answers("q")
    [(0, (1,), 0.5), (0, (2,), 1.0)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

import torch
from torch import Tensor

from ..semirings.base import Algebra
from .join import lookup
from .relation import Relation, row_keys

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Engine

__all__ = ["EvalResult"]


@dataclass
class EvalResult:
    """Every relation of one evaluation, with helpers to read answers back as Python values."""

    engine: "Engine"
    relations: Mapping[str, Relation]
    algebra: Algebra
    batch_size: int
    input_offsets: dict[str, tuple[int, int]]

    def __getitem__(self, name: str) -> Relation:
        return self.relations[name]

    def decode(self, name: str, cols: Tensor) -> list[tuple]:
        """Rows ``(N, 1 + a)`` of relation ``name`` as Python argument tuples (symbols decoded)."""
        kinds = self.engine.symbol_columns.get(name, [])
        out = []
        for row in cols[:, 1:].tolist():
            out.append(tuple(self.engine.symbols.decode(v) if i < len(kinds) and kinds[i] else v for i, v in enumerate(row)))
        return out

    def probabilities(self, name: str) -> tuple[Tensor, Tensor]:
        """``(cols (N, 1 + a), probs (N,))`` of relation ``name``; probs keep their autograd graph."""
        rel = self.relations[name]
        return rel.cols, self.algebra.probability(rel.tags)

    def probability_at(self, name: str, rows: Tensor) -> Tensor:
        """``(N,)`` probability of each tuple ``rows`` ``(N, 1 + a)`` of relation ``name``, 0 where it was
        not derived; gradients flow back to the inputs.

        A dense evaluation reads the cells of ``rows`` directly, without listing the relation's tuples.

        >>> from greybox.engine.engine import Engine
        >>> from greybox.semirings import AddMult
        >>> res = Engine("0.5 :: q(1). q(2).").run(semiring=AddMult())
        >>> res.probability_at("q", torch.tensor([[0, 1], [0, 3], [0, 2]])).tolist()
        [0.5, 0.0, 1.0]
        """
        dense = getattr(self.relations, "tags_at", None)
        if dense is not None:
            found, tags = dense(name, rows)
            return torch.where(found, self.algebra.probability(tags), 0.0)
        cols, probs = self.probabilities(name)
        n = int(rows.shape[0])
        if not len(probs):
            return torch.zeros(n, device=rows.device, dtype=torch.float32)
        wk, hk = row_keys(rows.to(cols.device), cols)
        idx = lookup(wk, hk)  # (N,)
        p = probs[idx.clamp_min(0)]
        return torch.where(idx >= 0, p, torch.zeros_like(p))

    def probability_per_sample(self, name: str, codes: Tensor) -> Tensor:
        """``(B,)`` probability of one tuple per sample: ``codes`` ``(B, a)`` are the arguments of
        sample ``0..B-1``'s tuple (``probability_at`` with the sample ids left implicit).

        >>> from greybox.engine.engine import Engine
        >>> from greybox.semirings import AddMult
        >>> res = Engine("0.5 :: q(1). q(2).").run(semiring=AddMult(), batch_size=2)
        >>> res.probability_per_sample("q", torch.tensor([[1], [3]])).tolist()
        [0.5, 0.0]
        """
        dense = getattr(self.relations, "tags_per_sample", None)
        if dense is not None and int(codes.shape[0]) == self.batch_size:
            found, tags = dense(name, codes)
            return torch.where(found, self.algebra.probability(tags), 0.0)
        samples = torch.arange(int(codes.shape[0]), device=codes.device)[:, None]
        return self.probability_at(name, torch.cat([samples, codes.to(torch.int64)], dim=1))

    def answers(self, name: str) -> list[tuple[int, tuple, float]]:
        """``(sample, args, probability)`` for every tuple of ``name`` (for inspection and tests)."""
        cols, probs = self.probabilities(name)
        return [
            (int(s), args, round(float(p), 6))
            for s, args, p in zip(cols[:, 0].tolist(), self.decode(name, cols), probs.detach().tolist())
        ]
