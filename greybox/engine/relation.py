"""Relations as tensors: int64 tuple columns with a leading sample id, plus one semiring tag per row.

A ``Relation`` of arity ``a`` holds ``cols`` of shape ``(N, 1 + a)``: column 0 is
the sample id inside the batch, columns 1.. are the arguments (integers, or
symbol ids). ``tags`` holds the provenance of each row in the evaluation's semiring.
Rows are distinct tuples once a relation is ``merged``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..semirings.base import Algebra, Tag, tree_index

__all__ = ["Relation", "row_keys", "dedupe"]


@dataclass
class Relation:
    """``cols`` ``(N, 1 + arity)`` int64 and ``tags`` (N rows of semiring tags)."""

    cols: Tensor
    tags: Tag

    @property
    def arity(self) -> int:
        return int(self.cols.shape[1]) - 1

    def __len__(self) -> int:
        return int(self.cols.shape[0])

    @staticmethod
    def empty(arity: int, algebra: Algebra) -> "Relation":
        cols = torch.empty((0, 1 + arity), dtype=torch.int64, device=algebra.device)
        return Relation(cols, algebra.zero(0))

    def select(self, idx: Tensor) -> "Relation":
        return Relation(self.cols[idx], tree_index(self.tags, idx))


def row_keys(*col_sets: Tensor) -> list[Tensor]:
    """Dense int64 keys for rows: equal rows (across all given tensors) get equal keys.

    Each tensor is ``(N_i, C)`` with the same ``C``. When the value ranges fit in
    63 bits the rows are packed arithmetically (``O(N)``); otherwise
    ``torch.unique(dim=0)`` assigns the keys.

    >>> a = torch.tensor([[0, 5, 1], [0, 2, 2]]); b = torch.tensor([[0, 2, 2]])
    >>> ka, kb = row_keys(a, b)
    >>> bool(ka[1] == kb[0]), bool(ka[0] == kb[0])
    (True, False)
    """
    sizes = [int(c.shape[0]) for c in col_sets]
    allc = torch.cat(col_sets, dim=0)  # (sum N, C)
    if allc.shape[0] == 0 or allc.shape[1] == 0:
        zeros = torch.zeros(allc.shape[0], dtype=torch.int64, device=allc.device)
        return list(torch.split(zeros, sizes))
    lo = allc.min(dim=0).values  # (C,)
    span = allc.max(dim=0).values - lo + 1  # (C,)
    spans = span.tolist()
    total = 1
    for s in spans:
        total *= int(s)
    if total < 2**62:
        # key = sum_c (x_c - lo_c) * stride_c   (mixed-radix packing)
        strides = [1] * len(spans)
        for c in range(len(spans) - 2, -1, -1):
            strides[c] = strides[c + 1] * int(spans[c + 1])
        stride_t = torch.tensor(strides, dtype=torch.int64, device=allc.device)
        keys = ((allc - lo) * stride_t).sum(dim=1)  # (sum N,)
    else:
        _, keys = torch.unique(allc, dim=0, return_inverse=True)
    return list(torch.split(keys, sizes))


def dedupe(cols: Tensor, tags: Tag, algebra: Algebra) -> Relation:
    """Merge equal rows, adding (⊕) their tags; drops rows whose tag is zero."""
    if cols.shape[0] == 0:
        return Relation(cols, tags)
    (keys,) = row_keys(cols)
    uniq, inverse = torch.unique(keys, return_inverse=True)  # (U,), (N,)
    n_u = int(uniq.shape[0])
    first = torch.full((n_u,), cols.shape[0], dtype=torch.int64, device=cols.device)
    first = first.scatter_reduce(0, inverse, torch.arange(cols.shape[0], device=cols.device), "amin")
    merged_tags = algebra.segment_add(tags, inverse, n_u)
    out = Relation(cols[first], merged_tags)
    keep = ~algebra.is_zero(merged_tags)
    if not bool(keep.all()):
        out = out.select(keep.nonzero().squeeze(1))
    return out
