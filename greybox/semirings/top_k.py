"""The top-k proofs semiring: each tuple carries its ``k`` most probable proofs.

- ``TopKProofs``: the tensor semiring (``TopKAlgebra``, tags are ``ProofTag``); no dense kernels;
- ``TopKScalar``: its plain-Python form for the reference evaluator (tags are tuples of
  proofs, ``greybox.semirings.proofs``).

A proof is a set of input-fact literals (``f`` or ``not f``) that together make
the tuple true. The tag of ``N`` tuples is a ``ProofTag``:

- ``lits``: ``(N, K, L)`` int64, ``K == k`` proofs per tuple of at most ``L``
  literals, encoded ``f + 1`` (fact ``f`` holds), ``-(f + 1)`` (it does not),
  ``0`` (padding);
- ``valid``: ``(N, K)`` bool, which of the ``K`` slots hold a proof.

Every proof is canonical (see ``proofs_tensor.canonicalize``): literals distinct
and sorted ascending with padding last, no two facts of one mutual-exclusion
group, never ``f`` with ``not f``, no negative literal implied by a positive one
of its group. The proofs of a tuple are distinct, valid ones first, ranked by
probability descending (``proofs_tensor.rank_score``), ties by the zero-padded
literal sequences ascending. A proof of probability 0 holds in no possible world
and is dropped (``drop_impossible=False`` keeps it). ``L`` differs from tag to
tag: operations pad the narrower tag and trim columns that hold only padding.
Select rows with ``Algebra.index``: slicing a ``ProofTag`` slices the tuple.

``probability`` is the exact probability of the disjunction of the kept proofs
(inclusion-exclusion over their ``2^K`` subsets, mutually exclusive groups
honoured), differentiable w.r.t. the fact probabilities. It is a lower bound of
the tuple's probability, exact when no proof was dropped.

Example:
    >>> from greybox.semirings.base import FactTable
    >>> facts = FactTable(torch.tensor([0.6, 0.3, 0.5]), torch.tensor([0, 0, 1]))  # facts 0, 1 exclusive
    >>> alg = TopKProofs(k=2).bind(facts)
    >>> f0, f1, f2 = (alg.from_facts(torch.tensor([i])) for i in range(3))
    >>> either = alg.add(f0, f2)                     # f0 or f2
    >>> alg.to_proofs(either)
    [[(1,), (3,)]]
    >>> round(float(alg.probability(either)), 4)     # 0.6 + 0.5 - 0.3
    0.8
    >>> alg.to_proofs(alg.mul(f0, f1))               # f0 and f1 exclude each other
    [[]]
    >>> alg.to_proofs(alg.negate(either))            # not f0 and not f2
    [[(-3, -1)]]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Sequence

from .lazy_torch import torch

if TYPE_CHECKING:
    from torch import Tensor

from ..errors import ConfigError
from .base import Algebra, FactTable, Semiring
from .proofs import ProofSetScalar
from .wmc import FactWeights
from .proofs_tensor import (
    canonicalize,
    disjunction_probability,
    pad_literals,
    proof_probabilities,
    rank_and_keep,
    trim_literals,
)

__all__ = ["ProofTag", "TopKAlgebra", "TopKProofs", "TopKScalar", "check_k"]


def check_k(k: object) -> int:
    """``k`` if it is a positive integer.

    >>> check_k(3)
    3
    >>> check_k(0)
    Traceback (most recent call last):
    ...
    greybox.errors.ConfigError: top-k proofs needs k >= 1 (an integer), got 0
    hint: keep at least one proof per tuple: k: 1 or more (e.g. TopKProofs(k=3))
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ConfigError(f"top-k proofs needs k >= 1 (an integer), got {k!r}",
                          hint="keep at least one proof per tuple: k: 1 or more (e.g. TopKProofs(k=3))")
    return k


class ProofTag(NamedTuple):
    """The top-k proofs of ``N`` tuples: ``lits (N, K, L)`` int64 and ``valid (N, K)`` bool."""

    lits: Tensor
    valid: Tensor


class TopKAlgebra(Algebra):
    """Top-k proofs bound to one evaluation's facts. All operations are row-wise over ``N`` tuples.

    Costs, for tags with ``K`` proofs of ``L1`` and ``L2`` literals:
    ``add`` ranks ``2K`` candidates per row; ``mul`` canonicalises the ``K*K``
    unions of ``L1 + L2`` literals (a few sorts of ``(N*K*K, L1+L2)``) and ranks
    them (``O(L)`` passes over ``(N, K*K)``); ``negate`` is up to ``K`` products
    by a clause of at most ``K`` single literals; ``probability`` sums ``2^K'``
    terms per row (``K'`` the most proofs of any row). Each operation reads a few
    numbers back from the device (tag widths), so it synchronises with it.
    """

    idempotent = True

    def __init__(self, semiring: "TopKProofs", facts: FactTable) -> None:
        super().__init__(semiring, facts)
        self.k = semiring.k

    # -- constants and inputs
    def zero(self, n: int) -> ProofTag:
        """No proof: ``valid`` all False."""
        lits = torch.zeros(n, self.k, 1, dtype=torch.int64, device=self.device)  # (N, k, 1)
        return ProofTag(lits, torch.zeros(n, self.k, dtype=torch.bool, device=self.device))

    def one(self, n: int) -> ProofTag:
        """The single empty proof (true without any fact)."""
        tag = self.zero(n)
        tag.valid[:, 0] = True
        return tag

    def from_facts(self, fact_ids: Tensor) -> ProofTag:
        """One proof per row: the fact itself (none for a fact of probability 0, unless kept)."""
        fact_ids = fact_ids.to(self.device)
        tag = self.one(int(fact_ids.shape[0]))
        tag.lits[:, 0, 0] = fact_ids + 1
        if self.semiring.drop_impossible:
            possible = self.facts.probs.detach()[fact_ids] > 0  # (N,)
            tag.valid[:, 0] = possible
            tag.lits[:, 0, 0] *= possible
        return tag

    def from_proofs(self, rows: Sequence[Sequence[Sequence[int]]]) -> ProofTag:
        """A tag from Python proofs: ``rows[i]`` lists row ``i``'s proofs as literal codes.

        The proofs are canonicalised (inconsistent ones dropped), merged and ranked; ``k`` are kept.

        >>> alg = TopKProofs(k=2).bind(FactTable.independent(torch.tensor([0.5, 0.9])))
        >>> alg.to_proofs(alg.from_proofs([[[1, 2, 1], [2], [2, -2]], []]))
        [[(2,), (1, 2)], []]
        """
        n = len(rows)
        n_cand = max([len(r) for r in rows] + [1])
        width = max([len(p) for r in rows for p in r] + [1])
        lits = torch.zeros(n, n_cand, width, dtype=torch.int64)  # (N, C, L)
        valid = torch.zeros(n, n_cand, dtype=torch.bool)  # (N, C)
        for i, proofs in enumerate(rows):
            for j, proof in enumerate(proofs):
                lits[i, j, : len(proof)] = torch.tensor(list(proof), dtype=torch.int64)
                valid[i, j] = True
        lits, valid = lits.to(self.device), valid.to(self.device)
        flat, flat_valid = canonicalize(lits.reshape(n * n_cand, width), valid.reshape(-1), self.facts.groups)
        return self._keep(flat.reshape(n, n_cand, flat.shape[1]), flat_valid.reshape(n, n_cand))

    def to_proofs(self, a: ProofTag) -> list[list[tuple[int, ...]]]:
        """The proofs of each row, in rank order, as tuples of literal codes.

        >>> alg = TopKProofs(k=2).bind(FactTable.independent(torch.tensor([0.5, 0.9])))
        >>> alg.to_proofs(alg.one(1)), alg.to_proofs(alg.zero(1))
        ([[()]], [[]])
        """
        lits, valid = a.lits.tolist(), a.valid.tolist()
        return [
            [tuple(c for c in proof if c != 0) for proof, ok in zip(row, row_ok) if ok]
            for row, row_ok in zip(lits, valid)
        ]

    def proof_sets(self, a: ProofTag, row: int) -> set[frozenset[tuple[int, bool]]]:
        """The proofs of one row as sets of literals ``(fact_id, positive)``.

        >>> alg = TopKProofs(k=2).bind(FactTable.independent(torch.tensor([0.5, 0.9])))
        >>> [sorted(p) for p in alg.proof_sets(alg.from_proofs([[[1, -2]]]), 0)]
        [[(0, True), (1, False)]]
        """
        proofs = self.to_proofs(self.index(a, torch.tensor([row], device=a.valid.device)))[0]
        return {frozenset((abs(c) - 1, c > 0) for c in proof) for proof in proofs}

    # -- algebra
    def add(self, a: ProofTag, b: ProofTag) -> ProofTag:
        """Union of the two proof sets, then the best ``k``."""
        width = max(a.lits.shape[2], b.lits.shape[2])
        lits = torch.cat([pad_literals(a.lits, width), pad_literals(b.lits, width)], dim=1)  # (N, 2K, L)
        return self._keep(lits, torch.cat([a.valid, b.valid], dim=1))  # -> (N, k, L')

    def mul(self, a: ProofTag, b: ProofTag) -> ProofTag:
        """All pairwise unions of a proof of ``a`` with a proof of ``b`` (consistent ones), then the best ``k``."""
        return self._product(a.lits, a.valid, b.lits, b.valid)

    def negate(self, a: ProofTag) -> ProofTag:
        """``not (P1 or ... or Pn) = AND_i OR_{l in Pi} not l``, expanded to DNF one proof at a time.

        Proofs are taken in rank order; each clause ``OR_{l in Pi} not l`` is a tag
        of single-literal proofs (its best ``k``), and the best ``k`` are kept after
        each product. ``negate(zero) = one`` and ``negate(one) = zero``.
        """
        lits, valid = a.lits, a.valid  # (N, K, L), (N, K)
        n, width = lits.shape[0], lits.shape[2]
        out = self.one(n)
        for i in range(lits.shape[1]):
            if not bool(valid[:, i].any()):
                break  # valid proofs come first: no row has an i-th proof
            # OR over the literals of proof i, negated: one single-literal proof per literal
            clause_lits = (-lits[:, i, :])[:, :, None]  # (N, L, 1)
            clause_valid = lits[:, i, :] != 0  # (N, L)
            # a row without an i-th proof conjoins `one`
            absent = ~valid[:, i]
            first = torch.arange(width, device=lits.device) == 0  # (L,)
            clause_valid = torch.where(absent[:, None], first, clause_valid)
            clause_lits = torch.where(absent[:, None, None], 0, clause_lits)
            clause = self._keep(clause_lits, clause_valid)  # (N, k, 1)
            out = self._product(out.lits, out.valid, clause.lits, clause.valid)
        return out

    def segment_add(self, a: ProofTag, segments: Tensor, n_segments: int) -> ProofTag:
        """``out[s]`` = the best ``k`` of all proofs of the rows of segment ``s``.

        Rows are grouped by segment and merged ``fan`` rows at a time (one ranking
        of ``(groups, fan*K)`` candidates per round), so the whole reduction costs
        ``ceil(log_fan(largest segment))`` rounds whatever the skew of the segments.
        """
        n = self.len(a)
        if n == 0:
            return self.zero(n_segments)
        order = torch.argsort(segments, stable=True)  # (N,)
        seg = segments[order]
        lits, valid = a.lits[order], a.valid[order]  # (N, K, L), (N, K)
        counts = torch.bincount(seg, minlength=n_segments)  # (S,)
        rank = torch.arange(n, device=seg.device) - (torch.cumsum(counts, 0) - counts)[seg]  # (N,) place in segment
        while True:
            largest = int(counts.max())
            fan = largest if largest <= 16 else 8
            group_counts = (counts + fan - 1) // fan  # (S,) rows of each segment after this round
            group_starts = torch.cumsum(group_counts, 0) - group_counts
            group = group_starts[seg] + rank // fan  # (N,) merged row each row goes to
            n_groups = int(group_counts.sum())
            width = lits.shape[2]
            buf_lits = lits.new_zeros(n_groups, fan, self.k, width)  # (G, fan, K, L)
            buf_valid = valid.new_zeros(n_groups, fan, self.k)  # (G, fan, K)
            buf_lits[group, rank % fan] = lits
            buf_valid[group, rank % fan] = valid
            lits, valid = rank_and_keep(
                buf_lits.reshape(n_groups, fan * self.k, width),
                buf_valid.reshape(n_groups, fan * self.k),
                self.k,
                self.facts.probs,
                self.facts.groups,
                self.semiring.drop_impossible,
            )  # (G, k, L')
            counts = group_counts
            seg = torch.repeat_interleave(torch.arange(n_segments, device=seg.device), counts)  # (G,)
            rank = torch.arange(n_groups, device=seg.device) - group_starts[seg]
            if fan == largest:
                break  # one row per non-empty segment
        out_lits = lits.new_zeros(n_segments, self.k, lits.shape[2]).index_copy(0, seg, lits)  # (S, k, L)
        out_valid = valid.new_zeros(n_segments, self.k).index_copy(0, seg, valid)  # (S, k)
        return ProofTag(out_lits, out_valid)

    # -- reading results
    def probability(self, a: ProofTag) -> Tensor:
        """``(N,)`` exact probability of the disjunction of each row's proofs (0 for no proof)."""
        return disjunction_probability(a.lits, a.valid, self.facts.probs, self.facts.groups)

    def proof_probabilities(self, a: ProofTag) -> Tensor:
        """``(N, K)`` probability of each proof on its own (0 where there is none); differentiable."""
        p = proof_probabilities(a.lits, self.facts.probs, self.facts.groups)  # (N, K)
        return torch.where(a.valid, p, 0.0)

    def is_zero(self, a: ProofTag) -> Tensor:
        """``(N,)`` True where a row has no proof."""
        return ~a.valid.any(-1)

    def changed(self, old: ProofTag, new: ProofTag) -> Tensor:
        """``(N,)`` True where the set of proofs differs (both are ranked, so slots are compared)."""
        width = max(old.lits.shape[2], new.lits.shape[2])
        lits_differ = (pad_literals(old.lits, width) != pad_literals(new.lits, width)).any(-1)  # (N, K)
        return (lits_differ | (old.valid != new.valid)).any(-1)

    # -- generic helpers that must pad literal widths
    def cat(self, tags: Sequence[ProofTag]) -> ProofTag:
        width = max(t.lits.shape[2] for t in tags)
        return ProofTag(
            torch.cat([pad_literals(t.lits, width) for t in tags], dim=0),
            torch.cat([t.valid for t in tags], dim=0),
        )

    def scatter_rows(self, base: ProofTag, idx: Tensor, rows: ProofTag) -> ProofTag:
        width = max(base.lits.shape[2], rows.lits.shape[2])
        lits = pad_literals(base.lits, width).index_copy(0, idx, pad_literals(rows.lits, width))
        return ProofTag(trim_literals(lits), base.valid.index_copy(0, idx, rows.valid))

    # -- internals
    def _keep(self, lits: Tensor, valid: Tensor) -> ProofTag:
        facts, drop = self.facts, self.semiring.drop_impossible
        return ProofTag(*rank_and_keep(lits, valid, self.k, facts.probs, facts.groups, drop))

    def _product(self, a_lits: Tensor, a_valid: Tensor, b_lits: Tensor, b_valid: Tensor) -> ProofTag:
        """Best ``k`` of the consistent unions of ``(N, K1, L1)`` and ``(N, K2, L2)`` proofs."""
        n, k1, l1 = a_lits.shape
        k2, l2 = b_lits.shape[1], b_lits.shape[2]
        pairs = torch.cat(
            [a_lits[:, :, None, :].expand(n, k1, k2, l1), b_lits[:, None, :, :].expand(n, k1, k2, l2)], dim=-1
        ).reshape(n * k1 * k2, l1 + l2)  # (N*K1*K2, L1+L2)
        pair_valid = (a_valid[:, :, None] & b_valid[:, None, :]).reshape(-1)  # (N*K1*K2,)
        present = pair_valid.nonzero().squeeze(1)  # canonicalise only the pairs of two proofs
        lits, ok = canonicalize(pairs[present], pair_valid[present], self.facts.groups)  # (P, L')
        out_lits = lits.new_zeros(n * k1 * k2, lits.shape[1]).index_copy(0, present, lits)
        out_valid = torch.zeros_like(pair_valid).index_copy(0, present, ok)
        return self._keep(out_lits.reshape(n, k1 * k2, lits.shape[1]), out_valid.reshape(n, k1 * k2))  # (N, k, L'')


class TopKScalar(ProofSetScalar):
    """The ``k`` most probable proofs in plain Python; a tag is a tuple of distinct proofs, best first.

    Args:
        k: how many proofs each tuple keeps (>= 1).
        weights: the facts' probabilities and groups (``bind`` sets them).
        drop_impossible: discard proofs of probability 0 (see ``ProofSetScalar``).

    Raises:
        ConfigError: if ``k`` is not a positive integer.

    Example:
        >>> from types import SimpleNamespace as F
        >>> facts = [F(id=0, probability=0.9, group=0), F(id=1, probability=0.5, group=1)]
        >>> s = TopKScalar(k=2).bind(facts)
        >>> a, b = s.from_fact(facts[0]), s.from_fact(facts[1])
        >>> s.add(b, a)
        (frozenset({(0, True)}), frozenset({(1, True)}))
        >>> round(s.probability(s.add(a, b), facts), 10)
        0.95
    """

    name = "top-k"

    def __init__(self, k: int = 3, weights=None, drop_impossible: bool = True) -> None:
        super().__init__(weights, drop_impossible)
        self.k = check_k(k)

    def bind(self, facts: Sequence) -> "TopKScalar":
        return TopKScalar(self.k, FactWeights.from_facts(facts), self.drop_impossible)

    def zero(self) -> tuple:
        return ()

    def one(self) -> tuple:
        return (frozenset(),)

    def _make(self, proofs) -> tuple:
        return tuple(sorted(set(proofs), key=self._key)[: self.k])

    def add(self, a: tuple, b: tuple) -> tuple:
        return self._make(set(a) | set(b))

    def mul(self, a: tuple, b: tuple) -> tuple:
        return self._make(self._products(a, b))

    def _ordered(self, tag: tuple) -> list:
        return list(tag)

    def __repr__(self) -> str:
        return f"TopKScalar(k={self.k})"


class TopKProofs(Semiring):
    """Top-k proofs provenance: the ``k`` most probable proofs of every tuple.

    Args:
        k: how many proofs each tuple keeps (``probability`` costs ``2^k`` terms per tuple).
        drop_impossible: drop proofs of probability 0 (``not f`` for a certain fact ``f``,
            ``f`` with ``p(f) = 0``, ...); they hold in no possible world.

    Raises:
        ConfigError: if ``k`` is not a positive integer.

    >>> TopKProofs(k=5)
    TopKProofs(k=5)
    >>> TopKProofs(k=0)
    Traceback (most recent call last):
    ...
    greybox.errors.ConfigError: top-k proofs needs k >= 1 (an integer), got 0
    hint: keep at least one proof per tuple: k: 1 or more (e.g. TopKProofs(k=3))
    """

    name = "top-k"
    algebra_class = TopKAlgebra
    scalar = TopKScalar

    def __init__(self, k: int = 3, drop_impossible: bool = True) -> None:
        self.k = check_k(k)
        self.drop_impossible = drop_impossible

    def bind(self, facts: FactTable) -> TopKAlgebra:
        return TopKAlgebra(self, facts)

    def scalar_form(self) -> TopKScalar:
        """The plain-Python form with the same ``k`` and ``drop_impossible``.

        >>> TopKProofs(k=2).scalar_form()
        TopKScalar(k=2)
        """
        return TopKScalar(self.k, drop_impossible=self.drop_impossible)

    def __repr__(self) -> str:
        extra = "" if self.drop_impossible else ", drop_impossible=False"
        return f"TopKProofs(k={self.k}{extra})"
