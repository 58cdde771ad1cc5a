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

__all__ = ["Relation", "RowEncoder", "row_keys", "sorted_unique", "dedupe"]


class RowEncoder:
    """Packs rows of small integers into one int64 key (mixed radix), stable across calls.

    The encoder is fitted once with headroom and reused while new rows fit, so that a
    relation's keys can stay sorted from one round of evaluation to the next.

    >>> enc = RowEncoder.fit(torch.tensor([[0, 3, 7], [0, 4, 1]]))
    >>> bool(enc.fits(torch.tensor([[0, 5, 2]])))
    True
    >>> enc.encode(torch.tensor([[0, 3, 7]])).tolist() == enc.encode(torch.tensor([[0, 3, 7]])).tolist()
    True
    """

    def __init__(self, lo: Tensor, hi: Tensor, strides: Tensor) -> None:
        self.lo, self.hi, self.strides = lo, hi, strides

    @staticmethod
    def fit(cols: Tensor, headroom: int = 2) -> "RowEncoder | None":
        """An encoder for ``cols`` and for values up to ``headroom`` times their range; None if 62 bits are not enough."""
        lo_t, hi_t = torch.aminmax(cols, dim=0)
        # the spans in Python ints: hi - lo can pass 2**63 for values near the 64-bit limits
        los = lo_t.tolist()
        spans = [(h - l + 1) * headroom for l, h in zip(los, hi_t.tolist())]
        total = 1
        for v in spans:
            total *= v
        if total >= 2**62:
            return None
        strides = [1] * len(spans)
        for c in range(len(spans) - 2, -1, -1):
            strides[c] = strides[c + 1] * spans[c + 1]
        # the highest value each column may hold, kept inside int64 (values never pass it)
        highs = [min(l + s - 1, 2**63 - 1) for l, s in zip(los, spans)]
        dev = cols.device
        return RowEncoder(lo_t, torch.tensor(highs, dtype=torch.int64, device=dev),
                          torch.tensor(strides, dtype=torch.int64, device=dev))

    def fits(self, cols: Tensor) -> bool:
        if cols.shape[0] == 0:
            return True
        # compare, never subtract: ``cols - lo`` wraps around for values far from ``lo``
        return bool(((cols >= self.lo) & (cols <= self.hi)).all())

    def encode(self, cols: Tensor) -> Tensor:
        """``(N, C)`` -> ``(N,)`` keys; equal rows get equal keys and the order of keys is the rows' order.

        ``cols`` must ``fit``: then ``cols - lo`` is below ``2**62`` and nothing wraps.
        """
        return ((cols - self.lo) * self.strides).sum(dim=1)


@dataclass
class Relation:
    """``cols`` ``(N, 1 + arity)`` int64 and ``tags`` (N rows of semiring tags).

    A relation kept by the fixpoint also carries ``keys``: its rows encoded by
    ``encoder``, sorted ascending (the rows are stored in that order).
    """

    cols: Tensor
    tags: Tag
    keys: Tensor | None = None
    encoder: RowEncoder | None = None

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
    lo, hi = torch.aminmax(allc, dim=0)  # (C,), (C,)
    # spans in Python ints: ``hi - lo`` wraps around in int64 for values near the limits
    spans = [h - l + 1 for l, h in zip(lo.tolist(), hi.tolist())]
    total = 1
    for s in spans:
        total *= s
    if total < 2**62:
        # key = sum_c (x_c - lo_c) * stride_c   (mixed-radix packing; each x_c - lo_c < span_c)
        strides = [1] * len(spans)
        for c in range(len(spans) - 2, -1, -1):
            strides[c] = strides[c + 1] * spans[c + 1]
        stride_t = torch.tensor(strides, dtype=torch.int64, device=allc.device)
        keys = ((allc - lo) * stride_t).sum(dim=1)  # (sum N,)
    else:
        _, keys = torch.unique(allc, dim=0, return_inverse=True)
    return list(torch.split(keys, sizes))


def sorted_unique(keys: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(uniq, inverse, first)``: sorted distinct keys, the group of each key, the first row of each group.

    One sort; cheaper than ``torch.unique(return_inverse=True)`` on CPU.

    >>> u, inv, first = sorted_unique(torch.tensor([7, 3, 7, 1]))
    >>> u.tolist(), inv.tolist(), first.tolist()
    ([1, 3, 7], [2, 1, 2, 0], [3, 1, 0])
    """
    sorted_k, order = torch.sort(keys, stable=True)
    starts = torch.ones_like(sorted_k, dtype=torch.bool)
    starts[1:] = sorted_k[1:] != sorted_k[:-1]
    group_sorted = torch.cumsum(starts, 0) - 1
    inverse = torch.empty_like(group_sorted)
    inverse[order] = group_sorted
    return sorted_k[starts], inverse, order[starts]


def dedupe(cols: Tensor, tags: Tag, algebra: Algebra) -> Relation:
    """Merge equal rows, adding (⊕) their tags; drops rows whose tag is zero."""
    if cols.shape[0] == 0:
        return Relation(cols, tags)
    (keys,) = row_keys(cols)
    uniq, inverse, first = sorted_unique(keys)  # (U,), (N,), (U,)
    n_u = int(uniq.shape[0])
    merged_tags = algebra.segment_add(tags, inverse, n_u)
    out = Relation(cols[first], merged_tags)
    keep = ~algebra.is_zero(merged_tags)
    if not bool(keep.all()):
        out = out.select(keep.nonzero().squeeze(1))
    return out
