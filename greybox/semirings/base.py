"""The provenance-semiring protocol shared by every semiring and the engine.

The engine never branches on a semiring's name: it only calls the methods of
``Algebra`` below. A ``Semiring`` is the configuration (``k`` for top-k proofs,
...); ``Semiring.bind(facts)`` gives the ``Algebra`` for one evaluation, bound to
the ``FactTable`` of that evaluation's input facts. Nothing is global, so two
evaluations (two DDP ranks, two threads) never share state.

Tags are batched: a tag value for ``N`` tuples is either a tensor whose first
dimension is ``N`` or a tuple (``NamedTuple``) of such tensors. ``Algebra.index``
and ``Algebra.cat`` work on both shapes.

Input facts are identified by an integer id ``0..F-1`` into the ``FactTable``:
``probs[f]`` is the (differentiable) probability of fact ``f`` and
``groups[f]`` its mutual-exclusion group: facts of one annotated disjunction or
one neural output share a group and at most one of them holds. A fact alone in
its group is an independent Bernoulli variable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..errors import ConfigError
from .lazy_torch import torch

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["FactTable", "DeferredFactTable", "Semiring", "Algebra", "Tag", "tree_index", "tree_cat", "tree_len"]

Tag = Any  # Tensor (N, ...) or a NamedTuple of tensors with leading dimension N


@dataclass
class FactTable:
    """The input facts of one evaluation.

    Attributes:
        probs: ``(F,)`` float tensor of fact probabilities; autograd flows through it.
        groups: ``(F,)`` int64 tensor; facts that share a value are mutually exclusive.
    """

    probs: Tensor
    groups: Tensor

    def __post_init__(self) -> None:
        if self.probs.dim() != 1 or self.groups.shape != self.probs.shape:
            raise ValueError(
                f"FactTable needs probs (F,) and groups (F,), got {tuple(self.probs.shape)} "
                f"and {tuple(self.groups.shape)}"
            )

    @property
    def device(self) -> torch.device:
        return self.probs.device

    def __len__(self) -> int:
        return int(self.probs.shape[0])

    @classmethod
    def independent(cls, probs: Tensor) -> "FactTable":
        """Every fact in a group of its own.

        >>> FactTable.independent(torch.tensor([0.5, 0.9])).groups.tolist()
        [0, 1]
        """
        return cls(probs, torch.arange(probs.shape[0], device=probs.device))


class DeferredFactTable(FactTable):
    """A ``FactTable`` built on first use, for an evaluation that may never read it (the dense
    engine under add-mult, max-mult, max-min reads the inputs' cells, not the table).

    >>> t = DeferredFactTable(lambda: (torch.tensor([0.5, 0.9]), torch.tensor([0, 0])), 2, torch.device("cpu"))
    >>> len(t), t.groups.tolist()
    (2, [0, 0])
    """

    def __init__(self, build: Callable[[], tuple[Tensor, Tensor]], size: int, device: torch.device) -> None:
        self._build, self._size, self._device = build, size, device
        self._table: FactTable | None = None

    def _built(self) -> FactTable:
        if self._table is None:
            self._table = FactTable(*self._build())
        return self._table

    @property  # type: ignore[override]
    def probs(self) -> Tensor:
        return self._built().probs

    @property  # type: ignore[override]
    def groups(self) -> Tensor:
        return self._built().groups

    @property
    def device(self) -> torch.device:
        return self._device

    def __len__(self) -> int:
        return self._size


def tree_index(tag: Tag, idx: Tensor) -> Tag:
    """Rows ``idx`` of a tag (tensor or tuple of tensors)."""
    if isinstance(tag, torch.Tensor):
        return tag[idx]
    return type(tag)(*(t[idx] for t in tag))


def tree_cat(tags: Sequence[Tag]) -> Tag:
    """Concatenate tags along the tuple dimension."""
    first = tags[0]
    if isinstance(first, torch.Tensor):
        return torch.cat(list(tags), dim=0)
    return type(first)(*(torch.cat([t[i] for t in tags], dim=0) for i in range(len(first))))


def tree_len(tag: Tag) -> int:
    return int((tag if isinstance(tag, torch.Tensor) else tag[0]).shape[0])


class Algebra:
    """A semiring bound to the facts of one evaluation. All operations are row-wise over ``N`` tuples.

    Subclasses implement the abstract methods; ``index``/``cat``/``len`` are generic.
    """

    #: ``add(a, a) == a``. The engine may then re-derive a tuple any number of
    #: times; for a non-idempotent semiring (add-mult) it propagates increments.
    idempotent: bool = True

    def __init__(self, semiring: "Semiring", facts: FactTable) -> None:
        self.semiring = semiring
        self.facts = facts

    @property
    def device(self) -> torch.device:
        return self.facts.device

    # -- constants and inputs
    def zero(self, n: int) -> Tag:
        raise NotImplementedError

    def one(self, n: int) -> Tag:
        raise NotImplementedError

    def from_facts(self, fact_ids: Tensor) -> Tag:
        """Tags of input facts ``fact_ids`` ``(N,)``."""
        raise NotImplementedError

    # -- algebra
    def add(self, a: Tag, b: Tag) -> Tag:
        raise NotImplementedError

    def mul(self, a: Tag, b: Tag) -> Tag:
        raise NotImplementedError

    def negate(self, a: Tag) -> Tag:
        """The tag of "not a" (used by negation as failure on a tuple that was derived)."""
        raise NotImplementedError

    def segment_add(self, a: Tag, segments: Tensor, n_segments: int) -> Tag:
        """``out[s] = ⊕ a[i] for i with segments[i] == s``; empty segments get ``zero``."""
        raise NotImplementedError

    # -- reading results
    def probability(self, a: Tag) -> Tensor:
        """``(N,)`` float: the probability (or truth value as 0./1.) a tag stands for."""
        raise NotImplementedError

    def is_zero(self, a: Tag) -> Tensor:
        """``(N,)`` bool: rows that are certainly false and may be dropped."""
        raise NotImplementedError

    def changed(self, old: Tag, new: Tag) -> Tensor:
        """``(N,)`` bool: rows where ``new`` (= old ⊕ derived) differs from ``old`` enough to iterate again."""
        raise NotImplementedError

    def diverged(self, a: Tag) -> bool:
        """True when some tag left the semiring's carrier (e.g. an add-mult sum overflowed to inf)."""
        return False

    # -- generic helpers
    def index(self, a: Tag, idx: Tensor) -> Tag:
        return tree_index(a, idx)

    def cat(self, tags: Sequence[Tag]) -> Tag:
        return tree_cat(tags)

    def len(self, a: Tag) -> int:
        return tree_len(a)

    def segment_mul(self, a: Tag, segments: Tensor, n_segments: int) -> Tag:
        """``out[s] = ⊗ a[i] for i with segments[i] == s``; empty segments get ``one``.

        Generic: sorts rows by segment and folds the j-th member of every segment
        in one ``mul`` per j, so the cost is (largest segment) row-wise products.
        """
        n = self.len(a)
        out = self.one(n_segments)
        if n == 0:
            return out
        order = torch.argsort(segments, stable=True)  # (N,)
        seg_sorted = segments[order]
        counts = torch.bincount(seg_sorted, minlength=n_segments)  # (S,)
        starts = torch.cumsum(counts, 0) - counts  # (S,)
        rank = torch.arange(n, device=segments.device) - starts[seg_sorted]  # position inside segment
        for j in range(int(counts.max())):
            pick = rank == j
            rows = order[pick]
            segs = seg_sorted[pick]
            current = self.index(out, segs)
            updated = self.mul(current, self.index(a, rows))
            out = self.scatter_rows(out, segs, updated)
        return out

    def scatter_rows(self, base: Tag, idx: Tensor, rows: Tag) -> Tag:
        """A copy of ``base`` with rows ``idx`` replaced by ``rows`` (out of place, autograd-safe)."""
        if isinstance(base, torch.Tensor):
            return base.index_copy(0, idx, rows)
        return type(base)(*(b.index_copy(0, idx, r) for b, r in zip(base, rows)))


class Semiring:
    """A provenance semiring's configuration. ``bind`` makes the per-evaluation ``Algebra``."""

    name: str = "semiring"
    #: ``a ⊗ a == a``: conjoining a tuple twice changes nothing (boolean, max-min). Query-directed
    #: rewriting adds demand atoms to rule bodies, which keeps tags only in such semirings.
    idempotent_mul: bool = False
    algebra_class: type[Algebra] = Algebra
    #: the family's dense kernels (a ``greybox.semirings.dense.DenseKernel`` subclass), or None
    #: when it has none (top-k proofs keep proofs per tuple)
    dense: type | None = None
    #: the family's plain-Python form (a ``greybox.semirings.scalar.ScalarSemiring`` subclass)
    scalar: type | None = None

    def bind(self, facts: FactTable) -> Algebra:
        return self.algebra_class(self, facts)

    def scalar_form(self) -> Any:
        """The plain-Python form of this semiring, with the same settings (for the reference evaluator).

        >>> from greybox.semirings import MaxMult
        >>> MaxMult().scalar_form()
        MaxMultScalar()
        """
        if self.scalar is None:
            raise ConfigError(f"semiring {self.name} has no plain-Python form for the reference evaluator",
                              hint=f"set {type(self).__name__}.scalar to a greybox.semirings.scalar.ScalarSemiring subclass")
        return self.scalar()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
