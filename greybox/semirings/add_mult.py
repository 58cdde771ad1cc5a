"""The add-mult semiring ``([0, 1], +, *)`` (sum-product), in its three forms.

Exact when the proofs it adds are mutually exclusive and the facts it multiplies
are independent -- a running sum over digit readings is such a program -- and a
fast approximation elsewhere. Sums are not clipped, so the result stays a
polynomial in the input probabilities (differentiable everywhere).

- ``AddMult``: the tensor semiring (row-wise tags, ``AddMultAlgebra``);
- ``AddMultDense``: its dense kernels (joins are ``einsum`` contractions);
- ``AddMultScalar``: its plain-Python form for the reference evaluator.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from .lazy_torch import torch

if TYPE_CHECKING:
    from torch import Tensor

from .base import Semiring
from .dense import EINSUM_LETTERS, DenseKernel, union_axes
from .probabilistic import ProbabilityAlgebra
from .scalar import ProbabilityScalar

__all__ = ["AddMult", "AddMultAlgebra", "AddMultDense", "AddMultScalar"]


class AddMultAlgebra(ProbabilityAlgebra):
    idempotent = False

    def add(self, a: Tensor, b: Tensor) -> Tensor:
        return a + b

    def mul(self, a: Tensor, b: Tensor) -> Tensor:
        return a * b

    def segment_add(self, a: Tensor, segments: Tensor, n_segments: int) -> Tensor:
        return self.zero(n_segments).index_add(0, segments, a)


@functools.cache
def _shift_sum() -> type:
    """The autograd function of ``AddMultDense.shift_add`` (made on first use: it subclasses a torch class)."""

    class ShiftSum(torch.autograd.Function):
        """``(..., a, b) -> (..., a + b - 1)`` sums, whose gradient is a strided view of the output's:
        ``d t[x, y] = d out[x + y]`` (no skewed tensor is built backwards)."""

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

    return ShiftSum


class AddMultDense(DenseKernel):
    """add-mult over dense tensors: joins are ``einsum`` contractions, so summed-out axes are never materialised.

    >>> from greybox.semirings.base import FactTable
    >>> k = AddMultDense(AddMult().bind(FactTable.independent(torch.ones(1))))
    >>> a, b = torch.ones(2, 3), torch.ones(2, 3)     # (B, X), (B, X)
    >>> t, axes = k.join(a, ["X"], b, ["X"], drop={"X"})
    >>> t.tolist(), axes
    ([3.0, 3.0], [])
    """

    idempotent = False

    def _reduce(self, t: Tensor, dims: list[int]) -> Tensor:
        return t.sum(dim=dims)

    def scatter(self, src: Tensor, index: Tensor, size: int) -> Tensor:
        out = torch.zeros(*src.shape[:-1], size, dtype=src.dtype, device=src.device)
        return out.scatter_add(-1, index, src)

    def shift_add(self, t: Tensor) -> Tensor:
        return _shift_sum().apply(t)

    def join_plan(self, a_axes, b_axes, drop):
        shared = set(a_axes) & set(b_axes)
        if not (set(drop) & shared):
            # no contraction: sum out each side's own axes first, then a broadcast product
            a_dims = [1 + i for i, x in enumerate(a_axes) if x in drop]
            b_dims = [1 + i for i, x in enumerate(b_axes) if x in drop]
            inner, out_axes = super().join_plan([x for x in a_axes if x not in drop], [x for x in b_axes if x not in drop], set())
            return ("sums", a_dims, b_dims, inner), out_axes
        axes = union_axes(a_axes, b_axes)
        out_axes = [x for x in axes if x not in drop]
        letter = {x: EINSUM_LETTERS[i] for i, x in enumerate(axes)}
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


class AddMultScalar(ProbabilityScalar):
    """Sum-product in plain Python (not idempotent).

    >>> AddMultScalar().add(0.5, 0.25), AddMultScalar().mul(0.5, 0.25)
    (0.75, 0.125)
    """

    name = "add-mult"
    idempotent = False

    def add(self, a: float, b: float) -> float:
        return a + b

    def mul(self, a: float, b: float) -> float:
        return a * b


class AddMult(Semiring):
    """Sum-product provenance.

    >>> from greybox.semirings.base import FactTable
    >>> alg = AddMult().bind(FactTable.independent(torch.tensor([0.5, 0.25])))
    >>> t = alg.from_facts(torch.tensor([0, 1]))
    >>> float(alg.add(t[:1], t[1:])), float(alg.mul(t[:1], t[1:]))
    (0.75, 0.125)
    """

    name = "add-mult"
    algebra_class = AddMultAlgebra
    dense = AddMultDense
    scalar = AddMultScalar
