"""The dense form of a semiring: ⊕ and ⊗ over whole tensors, along named axes.

A dense relation holds one semiring value per cell of ``(B, |D1|, ..., |Dn|)``; a cell
whose tuple is not derived holds the semiring's zero (0). ``DenseKernel`` is the
dense counterpart of the row-wise ``Algebra``: contraction (``join``), reduction
(``reduce``) and scatter along axes; the elementwise operations (``add``, ``mul``,
``changed``) are the bound algebra's own. Each family's file defines its kernel
(``AddMultDense``, ``MaxMultDense``, ``MaxMinDense``, ``BooleanDense``) and names it in
its semiring's ``dense`` attribute; the engine finds it there.

================  ==========================  =========================
semiring          ⊗ (conjunction)              ⊕ (projection, union)
================  ==========================  =========================
add-mult          product (``einsum``)         sum
max-mult          product                      max
max-min           min                          max
boolean           product of 0/1 values        max
================  ==========================  =========================

Example:
    >>> from greybox.semirings import MaxMult
    >>> from greybox.semirings.base import FactTable
    >>> k = MaxMult.dense(MaxMult().bind(FactTable.independent(torch.ones(1))))
    >>> a, b = torch.tensor([[0.5, 0.75]]), torch.tensor([[0.5, 0.5]])  # (B, X), (B, X)
    >>> t, axes = k.join(a, ["X"], b, ["X"], drop={"X"})                  # max over X of a * b
    >>> t.tolist(), axes
    ([0.375], [])
"""

from __future__ import annotations

import string
from typing import TYPE_CHECKING

from .base import Algebra
from .lazy_torch import torch

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["DenseKernel", "MaxDense", "EINSUM_LETTERS", "union_axes"]

#: letters for einsum axes; 'z' is the batch axis
EINSUM_LETTERS = string.ascii_letters.replace("z", "")


def union_axes(a_axes: list[str], b_axes: list[str]) -> list[str]:
    """``a_axes`` then the axes of ``b_axes`` not among them.

    >>> union_axes(["X", "Y"], ["Y", "Z"])
    ['X', 'Y', 'Z']
    """
    return list(a_axes) + [x for x in b_axes if x not in a_axes]


def skew(t: Tensor) -> Tensor:
    """``(..., a, b) -> (..., a, a + b - 1)``: row ``x`` shifted right by ``x``, zeros elsewhere."""
    *pre, a, b = t.shape
    skewed = torch.nn.functional.pad(t, (0, a)).reshape(*pre, a * (b + a))
    return skewed[..., : a * (b + a - 1)].reshape(*pre, a, b + a - 1)


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
        return self.reduce(skew(t), [t.dim() - 2])

    def join(self, a: Tensor, a_axes: list[str], b: Tensor, b_axes: list[str], drop: set[str]) -> tuple[Tensor, list[str]]:
        """``a ⊗ b`` aligned on shared axis names, then ⊕ over the axes in ``drop``.

        Returns the tensor and its axis names: ``a``'s, then ``b``'s new ones, minus ``drop``.
        """
        plan, out_axes = self.join_plan(a_axes, b_axes, drop)
        return self.join_apply(plan, a, b), out_axes

    def join_plan(self, a_axes: list[str], b_axes: list[str], drop) -> tuple[tuple, list[str]]:
        """What ``join`` does for these axes (it depends on the names only): ``(plan, out_axes)``."""
        axes = union_axes(a_axes, b_axes)
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


class MaxDense(DenseKernel):
    """The kernels whose ⊕ is the maximum (max-mult, max-min, boolean); ⊗ is the algebra's."""

    def _reduce(self, t: Tensor, dims: list[int]) -> Tensor:
        return t.amax(dim=dims)

    def scatter(self, src: Tensor, index: Tensor, size: int) -> Tensor:
        out = torch.zeros(*src.shape[:-1], size, dtype=src.dtype, device=src.device)
        return out.scatter_reduce(-1, index, src, "amax", include_self=True)
