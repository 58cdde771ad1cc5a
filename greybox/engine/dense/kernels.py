"""A semiring's ⊕ and ⊗ over dense tensors: contraction, reduction and scatter along axes.

A dense relation holds one semiring value per cell of ``(B, |D1|, ..., |Dn|)``; a cell
whose tuple is not derived holds the semiring's zero (0). The kernels below are the
dense counterpart of ``greybox.semirings``' row-wise algebra; the elementwise
operations (``add``, ``mul``, ``changed``) are the bound algebra's own.

================  ==========================  =========================
semiring          ⊗ (conjunction)              ⊕ (projection, union)
================  ==========================  =========================
add-mult          product (``einsum``)         sum
max-mult          product                      max
max-min           min                          max
boolean           product of 0/1 values        max
================  ==========================  =========================

Example:
    >>> import torch
    >>> from greybox.semirings import AddMult
    >>> from greybox.semirings.base import FactTable
    >>> k = SumProduct(AddMult().bind(FactTable.independent(torch.ones(1))))
    >>> a, b = torch.ones(2, 3), torch.ones(2, 3)     # (B, X), (B, X)
    >>> t, axes = k.join(a, ["X"], b, ["X"], drop={"X"})
    >>> t.tolist(), axes
    ([3.0, 3.0], [])
"""

from __future__ import annotations

import string

import torch
import torch.nn.functional as F
from torch import Tensor

from ...semirings.add_mult import AddMult
from ...semirings.base import Algebra, Semiring
from ...semirings.boolean import Boolean
from ...semirings.max_min import MaxMin
from ...semirings.max_mult import MaxMult

__all__ = ["DenseKernel", "SumProduct", "MaxProduct", "MaxMinKernel", "BooleanKernel", "kernel_class", "dot",
           "row_major"]

_LETTERS = string.ascii_letters.replace("z", "")  # 'z' is the batch axis in einsum


def dot(rows: Tensor, weights: Tensor) -> Tensor:
    """``(N, k) @ (k,)`` over int64: the flat cell of each row, given the strides ``weights``.

    >>> dot(torch.tensor([[1, 2], [3, 4]]), torch.tensor([10, 1])).tolist()
    [12, 34]
    """
    if rows.device.type == "cpu":  # one kernel; CUDA has no int64 matrix product
        return rows @ weights
    return (rows * weights).sum(dim=-1)


def row_major(sizes) -> tuple[list[int], int]:
    """The strides of a C-order box of ``sizes`` and its number of cells.

    >>> row_major((2, 3, 4))
    ([12, 4, 1], 24)
    """
    strides, n = [], 1
    for size in reversed(sizes):
        strides.append(n)
        n *= size
    return strides[::-1], n


def _union(a_axes: list[str], b_axes: list[str]) -> list[str]:
    return list(a_axes) + [x for x in b_axes if x not in a_axes]


class DenseKernel:
    """The dense operations of one semiring, bound to one evaluation's algebra.

    Every tensor has the batch axis first; ``axes`` name the other axes (variables).
    """

    #: ``a ⊕ a == a``: the fixpoint propagates new values (else increments)
    idempotent: bool = True

    def __init__(self, algebra: Algebra) -> None:
        self.algebra = algebra

    # -- values
    def from_probs(self, probs: Tensor) -> Tensor:
        """Cell values of input facts with probabilities ``probs``.

        A fact of probability 0 is no fact (the sparse engine drops it), so no gradient
        reaches it.
        """
        return torch.where(probs > 0, probs, 0.0)

    def tags(self, values: Tensor) -> Tensor:
        """Row tags of the algebra for cells ``values`` (the derived ones)."""
        return values

    def present(self, values: Tensor) -> Tensor:
        """Cells that hold a tuple (the sparse engine keeps a row for them)."""
        return values > 0

    def add(self, a: Tensor, b: Tensor) -> Tensor:
        return self.algebra.add(a, b)

    def mul(self, a: Tensor, b: Tensor) -> Tensor:
        return self.algebra.mul(a, b)

    def negate(self, a: Tensor) -> Tensor:
        return 1.0 - a

    def changed(self, old: Tensor, new: Tensor) -> Tensor:
        return self.algebra.changed(old, new)

    def diverged(self, values: Tensor) -> Tensor | None:
        """A 0-d bool tensor: some value left the carrier (None: cannot happen)."""
        return ~torch.isfinite(values).all()

    # -- along axes
    def reduce(self, t: Tensor, dims: list[int]) -> Tensor:
        """⊕ over ``dims`` (axes of size 1 only: a reshape, no reduction)."""
        if all(t.shape[d] == 1 for d in dims):
            return t.reshape([n for d, n in enumerate(t.shape) if d not in dims])
        return self._reduce(t, dims)

    def _reduce(self, t: Tensor, dims: list[int]) -> Tensor:
        """⊕ over ``dims``, some of them longer than 1."""
        raise NotImplementedError

    def scatter(self, src: Tensor, index: Tensor, size: int) -> Tensor:
        """``out[..., j] = ⊕ src[..., i] for index[..., i] == j`` along the last axis; ``(..., size)``."""
        raise NotImplementedError

    def shift_add(self, t: Tensor) -> Tensor:
        """``(..., a, b) -> (..., a + b - 1)``: ``out[..., s] = ⊕_x t[..., x, s - x]`` (a sum of two axes).

        Row ``x`` is shifted right by ``x`` (a skew of the padded rows), then ⊕ down the columns.
        """
        return self.reduce(_skew(t), [t.dim() - 2])

    def join(self, a: Tensor, a_axes: list[str], b: Tensor, b_axes: list[str], drop: set[str]) -> tuple[Tensor, list[str]]:
        """``a ⊗ b`` aligned on shared axis names, then ⊕ over the axes in ``drop``.

        Returns the tensor and its axis names: ``a``'s, then ``b``'s new ones, minus ``drop``.
        """
        plan, out_axes = self.join_plan(a_axes, b_axes, drop)
        return self.join_apply(plan, a, b), out_axes

    def join_plan(self, a_axes: list[str], b_axes: list[str], drop) -> tuple[tuple, list[str]]:
        """What ``join`` does for these axes (it depends on the names only): ``(plan, out_axes)``."""
        axes = _union(a_axes, b_axes)
        out_axes = [x for x in axes if x not in drop]
        order = [b_axes.index(x) for x in axes if x in b_axes]
        b_perm = None if order == list(range(len(b_axes))) else (0, *[1 + i for i in order])
        b_pos = tuple(b_axes.index(x) if x in b_axes else None for x in axes)  # b's axis of each output axis
        dims = [1 + i for i, x in enumerate(axes) if x in drop]
        return ("product", b_perm, b_pos, len(axes) - len(a_axes), dims), out_axes

    def join_apply(self, plan: tuple, a: Tensor, b: Tensor) -> Tensor:
        """``join`` by a plan of ``join_plan``."""
        _, b_perm, b_pos, a_new, dims = plan
        b_t = b.permute(b_perm) if b_perm is not None else b
        b_shape = [b.shape[0], *[1 if k is None else b.shape[1 + k] for k in b_pos]]
        a_v = a.reshape(*a.shape, *[1] * a_new) if a_new else a
        b_v = b_t.reshape(b_shape) if list(b_t.shape) != b_shape else b_t
        prod = self.mul(a_v, b_v)  # (B, *axes)
        return self.reduce(prod, dims) if dims else prod


def _skew(t: Tensor) -> Tensor:
    """``(..., a, b) -> (..., a, a + b - 1)``: row ``x`` shifted right by ``x``, zeros elsewhere."""
    *pre, a, b = t.shape
    skew = F.pad(t, (0, a)).reshape(*pre, a * (b + a))
    return skew[..., : a * (b + a - 1)].reshape(*pre, a, b + a - 1)


class _ShiftSum(torch.autograd.Function):
    """``SumProduct.shift_add``, whose gradient is a strided view of the output's: ``d t[x, y] = d out[x + y]``
    (no skewed tensor is built backwards)."""

    @staticmethod
    def forward(ctx, t: Tensor) -> Tensor:  # type: ignore[override]
        *pre, a, b = t.shape
        ctx.b = b
        skew = t.new_zeros(*pre, a, a + b - 1)
        strides = skew.stride()
        # row x of t written from column x on: a view of the zeros whose rows step one further
        skew.as_strided((*pre, a, b), (*strides[:-2], strides[-2] + 1, 1)).copy_(t)
        return skew.sum(dim=-2)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        return grad.unfold(-1, ctx.b, 1).contiguous()  # (..., a, b)


class SumProduct(DenseKernel):
    """add-mult: joins are ``einsum`` contractions, so summed-out axes are never materialised."""

    idempotent = False

    def _reduce(self, t: Tensor, dims: list[int]) -> Tensor:
        return t.sum(dim=dims)

    def scatter(self, src: Tensor, index: Tensor, size: int) -> Tensor:
        out = torch.zeros(*src.shape[:-1], size, dtype=src.dtype, device=src.device)
        return out.scatter_add(-1, index, src)

    def shift_add(self, t: Tensor) -> Tensor:
        return _ShiftSum.apply(t)

    def join_plan(self, a_axes, b_axes, drop):
        shared = set(a_axes) & set(b_axes)
        if not (set(drop) & shared):
            # no contraction: sum out each side's own axes first, then a broadcast product
            a_dims = [1 + i for i, x in enumerate(a_axes) if x in drop]
            b_dims = [1 + i for i, x in enumerate(b_axes) if x in drop]
            inner, out_axes = super().join_plan([x for x in a_axes if x not in drop], [x for x in b_axes if x not in drop], set())
            return ("sums", a_dims, b_dims, inner), out_axes
        axes = _union(a_axes, b_axes)
        out_axes = [x for x in axes if x not in drop]
        letter = {x: _LETTERS[i] for i, x in enumerate(axes)}
        spec = "z{},z{}->z{}".format(
            "".join(letter[x] for x in a_axes), "".join(letter[x] for x in b_axes), "".join(letter[x] for x in out_axes)
        )
        return ("einsum", spec), out_axes

    def join_apply(self, plan, a, b):
        if plan[0] == "einsum":
            return torch.einsum(plan[1], a, b)
        _, a_dims, b_dims, inner = plan
        if a_dims:
            a = a.sum(dim=a_dims)
        if b_dims:
            b = b.sum(dim=b_dims)
        return super().join_apply(inner, a, b)


class MaxProduct(DenseKernel):
    """max-mult: ⊗ is the product, ⊕ the maximum (the best single derivation)."""

    def _reduce(self, t: Tensor, dims: list[int]) -> Tensor:
        return t.amax(dim=dims)

    def scatter(self, src: Tensor, index: Tensor, size: int) -> Tensor:
        out = torch.zeros(*src.shape[:-1], size, dtype=src.dtype, device=src.device)
        return out.scatter_reduce(-1, index, src, "amax", include_self=True)


class MaxMinKernel(MaxProduct):
    """max-min: ⊗ is the minimum (the weakest link), ⊕ the maximum."""


class BooleanKernel(MaxProduct):
    """boolean: cells hold 0./1. in the evaluation's float dtype, never with a gradient."""

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


_KERNELS: dict[type[Semiring], type[DenseKernel]] = {
    AddMult: SumProduct,
    MaxMult: MaxProduct,
    MaxMin: MaxMinKernel,
    Boolean: BooleanKernel,
}


def kernel_class(semiring: Semiring) -> type[DenseKernel] | None:
    """The dense kernels of ``semiring``, or None (top-k proofs, or a semiring defined elsewhere).

    >>> from greybox.semirings import MaxMult, TopKProofs
    >>> kernel_class(MaxMult()).__name__, kernel_class(TopKProofs(3))
    ('MaxProduct', None)
    """
    return _KERNELS.get(type(semiring))
