"""Tensor kernels over batches of proofs: canonical form, ranking and probabilities.

A proof is a row of int64 literal codes: ``f + 1`` for fact ``f``, ``-(f + 1)``
for "not f", ``0`` for padding. A batch of proofs is ``lits (..., L)`` with a
``valid`` mask beside it. In canonical form the literals of a proof are distinct,
sorted ascending, padding last; a proof that is not valid has only padding.

Every kernel works on whole batches with torch operations (no Python loop over
rows) and keeps to the device of its inputs. Probabilities are gathered from the
fact table's ``probs`` and are differentiable; the discrete choices (which proofs
are kept, and in which order) use detached values.

Example:
    >>> groups = torch.tensor([0, 0, 1])  # facts 0 and 1 exclude each other
    >>> lits, valid = canonicalize(torch.tensor([[-2, 1, 1], [1, 2, 0]]), torch.tensor([True, True]), groups)
    >>> lits.tolist(), valid.tolist()  # "not f1" is implied by f0; f0 and f1 cannot both hold
    ([[1], [0]], [True, False])
"""

from __future__ import annotations

import math

from typing import TYPE_CHECKING

from .lazy_torch import torch

if TYPE_CHECKING:
    from torch import Tensor

__all__ = [
    "pad_literals",
    "trim_literals",
    "sort_literals",
    "canonicalize",
    "proof_probabilities",
    "rank_score",
    "rank_and_keep",
    "disjunction_probability",
    "wide_dtype",
]

_BIG = 2**63 - 1  # torch.iinfo(torch.int64).max: sorts after every literal: padding goes last
#: the inclusion-exclusion kernel works on chunks of at most this many (row, subset, literal) cells
_CELL_BUDGET = 1 << 22


def wide_dtype(device: torch.device) -> torch.dtype:
    """float64 where the device has it (used for ranking and inclusion-exclusion sums).

    >>> wide_dtype(torch.device("cpu"))
    torch.float64
    """
    return torch.float32 if device.type == "mps" else torch.float64


def pad_literals(lits: Tensor, width: int) -> Tensor:
    """``lits (..., L)`` padded with zeros on the right to ``(..., max(L, width))``.

    >>> pad_literals(torch.tensor([[3]]), 3).tolist()
    [[3, 0, 0]]
    """
    extra = width - lits.shape[-1]
    if extra <= 0:
        return lits
    return torch.cat([lits, lits.new_zeros(*lits.shape[:-1], extra)], dim=-1)


def trim_literals(lits: Tensor, min_width: int = 1) -> Tensor:
    """Drop the trailing columns that hold only padding (keeps at least ``min_width``).

    Needs canonical rows (padding last). Reads one number back from the device.

    >>> trim_literals(torch.tensor([[1, 2, 0, 0], [3, 0, 0, 0]])).tolist()
    [[1, 2], [3, 0]]
    """
    used = int((lits != 0).sum(-1).max()) if lits.numel() else 0
    return pad_literals(lits[..., : max(used, min_width)], min_width)


def sort_literals(lits: Tensor) -> Tensor:
    """Literals of each row ascending, padding last.

    >>> sort_literals(torch.tensor([[0, 3, -2, 1]])).tolist()
    [[-2, 1, 3, 0]]
    """
    key = torch.where(lits == 0, _BIG, lits)
    key = key.sort(dim=-1).values
    return torch.where(key == _BIG, 0, key)


def canonicalize(lits: Tensor, valid: Tensor, groups: Tensor) -> tuple[Tensor, Tensor]:
    """Canonical form of ``M`` proofs given as arbitrary literal rows.

    Repeated literals are merged; a proof with two positive literals of one group,
    or with ``f`` and ``not f``, is inconsistent (``valid`` False, all padding); a
    negative literal of a group that has a positive literal is implied: dropped.

    Args:
        lits: ``(M, L)`` int64 literal codes in any order, 0 = padding.
        valid: ``(M,)`` bool; rows that are False come back invalid.
        groups: ``(F,)`` int64 mutual-exclusion group of each fact.

    Returns:
        ``(lits (M, L'), valid (M,))`` with ``L' <= L`` trimmed of padding columns.

    >>> canonicalize(torch.tensor([[1, -1]]), torch.tensor([True]), torch.tensor([0]))[1].tolist()
    [False]
    """
    lits = pad_literals(torch.where(valid[:, None], lits, 0), 1)  # (M, L)
    m, width = lits.shape
    lits = sort_literals(lits)
    repeat = (lits[:, 1:] == lits[:, :-1]) & (lits[:, 1:] != 0)  # (M, L-1)
    lits = torch.cat([lits[:, :1], torch.where(repeat, 0, lits[:, 1:])], dim=1)  # (M, L)
    present = lits != 0
    negative = lits < 0
    fact = (lits.abs() - 1).clamp_min(0)  # (M, L)

    # sort by group, positive literals first inside a group
    gkey = torch.where(present, groups[fact] * 2 + negative.long(), _BIG)  # (M, L)
    gkey, gorder = gkey.sort(dim=-1, stable=True)
    g_present = gkey != _BIG
    g_pos = g_present & ((gkey & 1) == 0)
    same_group = ((gkey[:, 1:] >> 1) == (gkey[:, :-1] >> 1)) & g_present[:, 1:]  # (M, L-1)
    two_pos = (same_group & g_pos[:, 1:] & g_pos[:, :-1]).any(-1)  # (M,) two facts of one group
    new_run = torch.cat([torch.ones_like(g_present[:, :1]), ~same_group], dim=1)  # (M, L)
    cols = torch.arange(width, device=lits.device).expand(m, width)
    run_start = torch.where(new_run, cols, 0).cummax(dim=1).values  # (M, L) first slot of each group
    g_fact = fact.gather(1, gorder)
    after_pos = g_present & ~g_pos & g_pos.gather(1, run_start)  # negatives of a group with a positive
    clash = (after_pos & (g_fact == g_fact.gather(1, run_start))).any(-1)  # (M,) f and not f
    implied = torch.zeros_like(after_pos).scatter(1, gorder, after_pos)  # back to literal order: dropped

    valid = valid & ~clash & ~two_pos
    lits = torch.where(implied | ~valid[:, None], 0, lits)
    return trim_literals(sort_literals(lits)), valid


def proof_probabilities(lits: Tensor, probs: Tensor, groups: Tensor) -> Tensor:
    """Probability of each canonical proof (1 for the empty proof; callers mask absent ones).

    The product over groups: ``p(f)`` for a group with positive literal ``f``,
    ``1 - sum p(g_i)`` for a group with only negative literals ``g_i``.

    Args:
        lits: ``(..., L)`` canonical literal rows.
        probs: ``(F,)`` fact probabilities (autograd flows through the gather).
        groups: ``(F,)`` fact groups.

    Returns:
        ``(...)`` tensor of ``probs.dtype``.

    >>> p = torch.tensor([0.2, 0.3, 0.5])
    >>> proof_probabilities(torch.tensor([[-2, -1, 3]]), p, torch.tensor([0, 0, 1])).tolist()
    [0.25]
    """
    width = lits.shape[-1]
    m = math.prod(lits.shape[:-1])
    flat = lits.reshape(m, width)  # (M, L)
    present = flat != 0
    fact = (flat.abs() - 1).clamp_min(0)
    p = torch.where(present, probs[fact], 0.0)  # (M, L)
    positive_part = torch.where(flat > 0, p, 1.0).prod(-1)  # (M,)
    negative = flat < 0
    gkey, order = torch.where(negative, groups[fact], _BIG).sort(dim=-1)  # (M, L)
    p_neg = torch.where(negative, p, 0.0).gather(1, order)
    new_run = torch.cat([torch.ones_like(gkey[:, :1], dtype=torch.bool), gkey[:, 1:] != gkey[:, :-1]], 1)
    run = new_run.long().cumsum(1) - 1  # (M, L) run id of each slot inside its row
    run_sum = p.new_zeros(m, width).scatter_add(1, run, p_neg)  # (M, L) sum of p over each group run
    run_is_neg = torch.zeros_like(present).scatter(1, run, gkey != _BIG)
    negative_part = torch.where(run_is_neg, 1.0 - run_sum, 1.0).prod(-1)  # (M,)
    return (positive_part * negative_part).reshape(lits.shape[:-1])


def _lex_keys(lits: Tensor, n_facts: int) -> list[Tensor]:
    """int64 keys, most significant first, that order rows by their zero-padded literal sequences.

    Several literals are packed into one key. Padding compares as the number 0
    (after every negative literal, before every positive one), as in the tensors.
    """
    value = lits + (n_facts + 1)  # literals and padding -> [1, 2F + 1]
    bits = (2 * n_facts + 1).bit_length()
    per_key = max(1, 62 // bits)
    keys = []
    for start in range(0, lits.shape[-1], per_key):
        key = torch.zeros_like(value[..., 0])
        for j in range(start, min(start + per_key, lits.shape[-1])):
            key = (key << bits) | value[..., j]
        keys.append(key)
    return keys


def rank_score(lits: Tensor, probs: Tensor, groups: Tensor, floor: float = 1e-12) -> Tensor:
    """The probability each canonical proof is ranked by, computed in one fixed order.

    Factors are multiplied one at a time, groups in ascending id order, and the
    negative literals of a group summed in ascending fact order, so that equal
    proofs -- and every implementation that follows the same order -- get
    bit-identical scores. ``1 - sum`` at or under ``floor`` counts as 0 (the
    group always has a fact). Not differentiable: use ``proof_probabilities``.

    Args:
        lits: ``(..., L)`` canonical literal rows.
        probs, groups: the fact table; ``probs`` is read detached.
        floor: rounding noise under which ``1 - sum`` is 0.

    Returns:
        ``(...)`` tensor of ``probs.dtype``.

    >>> p = torch.tensor([0.25, 0.75, 0.5], dtype=torch.float64)
    >>> rank_score(torch.tensor([[-2, -1, 3], [-2, -1, 0]]), p, torch.tensor([0, 0, 1])).tolist()
    [0.0, 0.0]
    >>> rank_score(torch.tensor([[-1, 3]]), p, torch.tensor([0, 0, 1])).tolist()
    [0.375]
    """
    width = lits.shape[-1]
    m = math.prod(lits.shape[:-1])
    flat = lits.reshape(m, width)  # (M, L)
    probs = probs.detach()
    present = flat != 0
    fact = (flat.abs() - 1).clamp_min(0)
    group = torch.where(present, groups[fact], _BIG)  # (M, L)
    order = torch.where(present, fact, _BIG).argsort(dim=1, stable=True)  # by fact ...
    order = order.gather(1, group.gather(1, order).argsort(dim=1, stable=True))  # ... inside each group
    flat, group, p = flat.gather(1, order), group.gather(1, order), probs[fact.gather(1, order)]  # (M, L)
    out = probs.new_ones(m)
    total = probs.new_zeros(m)  # sum of p over the negatives seen so far in the current group
    for j in range(width):
        starts = group[:, j] != group[:, j - 1] if j > 0 else torch.ones_like(out, dtype=torch.bool)
        total = torch.where(starts, p[:, j], total + p[:, j])
        rest = 1.0 - total
        factor = torch.where(flat[:, j] < 0, torch.where(rest > floor, rest, 0.0), p[:, j])
        ends = group[:, j + 1] != group[:, j] if j + 1 < width else torch.ones_like(starts)
        out = torch.where(ends & (flat[:, j] != 0), out * factor, out)
    return out.reshape(lits.shape[:-1])


def rank_and_keep(
    lits: Tensor, valid: Tensor, k: int, probs: Tensor, groups: Tensor, drop_impossible: bool = True
) -> tuple[Tensor, Tensor]:
    """Merge duplicate proofs of each row, rank them and keep the best ``k``.

    Ranking: ``rank_score`` descending, ties by the zero-padded literal sequences
    ascending. Proofs must be canonical.

    Args:
        lits: ``(N, C, L)`` canonical proofs, ``C`` candidates per row.
        valid: ``(N, C)`` bool.
        k: how many proofs to keep.
        probs, groups: the fact table (``probs`` is read detached).
        drop_impossible: drop proofs of probability 0 (they hold in no world).

    Returns:
        ``(lits (N, k, L'), valid (N, k))``: valid proofs first, in rank order.

    >>> p, g = torch.tensor([0.5, 0.9, 0.0]), torch.tensor([0, 1, 2])
    >>> lits = torch.tensor([[[1], [2], [1], [3]]])
    >>> out, ok = rank_and_keep(lits, torch.tensor([[True, True, True, True]]), 3, p, g)
    >>> out[0].tolist(), ok.tolist()
    ([[2], [1], [0]], [[True, True, False]])
    """
    n, c, width = lits.shape
    lits = torch.where(valid[..., None], lits, 0)
    order = torch.arange(c, device=lits.device).expand(n, c)  # (N, C)
    keys = [(~valid).long()] + _lex_keys(lits, probs.shape[0])  # valid proofs first, then lexicographic
    for key in reversed(keys):  # least significant first, stable
        order = order.gather(1, key.gather(1, order).argsort(dim=1, stable=True))
    lits = lits.gather(1, order[..., None].expand(n, c, width))  # (N, C, L)
    valid = valid.gather(1, order)
    repeat = valid[:, 1:] & valid[:, :-1] & (lits[:, 1:] == lits[:, :-1]).all(-1)  # (N, C-1)
    valid = valid & ~torch.cat([torch.zeros_like(valid[:, :1]), repeat], dim=1)

    score = rank_score(lits, probs.to(wide_dtype(lits.device)), groups)  # (N, C)
    if drop_impossible:
        valid = valid & (score > 0)
    score = torch.where(valid, score, -1.0)  # absent proofs rank last
    order = (-score).argsort(dim=1, stable=True)[:, :k]  # (N, min(C, k)); ties keep lexicographic order
    lits = lits.gather(1, order[..., None].expand(n, order.shape[1], width))
    valid = valid.gather(1, order)
    if order.shape[1] < k:
        lits = torch.cat([lits, lits.new_zeros(n, k - order.shape[1], width)], dim=1)  # (N, k, L)
        valid = torch.cat([valid, valid.new_zeros(n, k - order.shape[1])], dim=1)  # (N, k)
    lits = torch.where(valid[..., None], lits, 0)
    return trim_literals(lits), valid


def disjunction_probability(lits: Tensor, valid: Tensor, probs: Tensor, groups: Tensor) -> Tensor:
    """Exact probability of the disjunction of each row's proofs, by inclusion-exclusion.

    ``P(P_1 v ... v P_K) = sum over non-empty subsets S of (-1)^(|S|+1) P(union of S)``,
    where the probability of a union is that of its canonical form (0 when it is
    inconsistent). Costs ``2^K`` terms per row, ``K`` being the most valid proofs of
    any row; rows are processed in chunks to bound memory.

    Args:
        lits: ``(N, K, L)`` canonical proofs; ``valid``: ``(N, K)`` bool.
        probs, groups: the fact table; the result is differentiable w.r.t. ``probs``.

    Returns:
        ``(N,)`` tensor of ``probs.dtype``.

    >>> p, g = torch.tensor([0.5, 0.5], dtype=torch.float64), torch.tensor([0, 1])
    >>> disjunction_probability(torch.tensor([[[1], [2]]]), torch.tensor([[True, True]]), p, g).tolist()
    [0.75]
    """
    n = lits.shape[0]
    n_proofs = int(valid.sum(1).max()) if valid.numel() else 0
    if n_proofs == 0:
        return probs.new_zeros(n)
    # valid proofs first, so that K' = n_proofs columns hold them all
    keep = valid.long().argsort(dim=1, descending=True, stable=True)[:, :n_proofs]  # (N, K')
    lits = lits.gather(1, keep[..., None].expand(n, n_proofs, lits.shape[2]))  # (N, K', L)
    valid = valid.gather(1, keep)
    cells = (1 << n_proofs) * (n_proofs * lits.shape[2] + 1)
    chunk = max(1, _CELL_BUDGET // cells)
    parts = [
        _inclusion_exclusion(lits[s : s + chunk], valid[s : s + chunk], probs, groups) for s in range(0, n, chunk)
    ]
    return torch.cat(parts)


def _inclusion_exclusion(lits: Tensor, valid: Tensor, probs: Tensor, groups: Tensor) -> Tensor:
    n, k, width = lits.shape
    device = lits.device
    dtype = wide_dtype(device)
    wide = probs.to(dtype)

    # a union is inconsistent iff two of its proofs are: every clash involves two literals,
    # and the literals of one canonical proof never clash
    pairs = torch.cat(
        [lits[:, :, None, :].expand(n, k, k, width), lits[:, None, :, :].expand(n, k, k, width)], dim=-1
    ).reshape(n * k * k, 2 * width)  # (n*K*K, 2L)
    _, pair_ok = canonicalize(pairs, torch.ones_like(pairs[:, 0], dtype=torch.bool), groups)
    conflict = (~pair_ok).reshape(n, k, k).to(dtype)  # (n, K, K)

    n_subsets = 1 << k
    subsets = ((torch.arange(n_subsets, device=device)[:, None] >> torch.arange(k, device=device)) & 1).to(dtype)
    clashing = (torch.einsum("sk,nkj->nsj", subsets, conflict) * subsets).sum(-1) > 0.5  # (n, S)
    usable = (subsets[None] * (~valid)[:, None, :].to(dtype)).sum(-1) < 0.5  # (n, S) subsets of valid proofs

    # the universe of each row: its distinct literals (padded), plus a final slot for padding
    codes = torch.where(lits == 0, _BIG, lits).reshape(n, k * width)  # (n, K*L)
    ordered = codes.sort(dim=1).values
    repeat = ordered[:, 1:] == ordered[:, :-1]
    ordered = torch.cat([ordered[:, :1], torch.where(repeat, _BIG, ordered[:, 1:])], 1).sort(dim=1).values
    u = max(1, int((ordered != _BIG).sum(1).max()))
    sequence = torch.cat([ordered[:, :u], ordered.new_full((n, 1), _BIG)], 1)  # (n, U+1) sorted
    slot = torch.searchsorted(sequence, codes).reshape(n, k, width)  # (n, K, L); padding -> a _BIG slot
    universe = torch.where(sequence[:, :-1] == _BIG, 0, sequence[:, :-1])  # (n, U) 0 = unused slot
    member = torch.zeros(n, k, u + 1, dtype=dtype, device=device).scatter_(2, slot, 1.0)[..., :-1]  # (n, K, U)
    in_union = torch.einsum("sk,nku->nsu", subsets, member) > 0.5  # (n, S, U)

    fact = (universe.abs() - 1).clamp_min(0)  # (n, U)
    p = wide[fact]  # (n, U)
    positive = universe > 0
    negative = universe < 0
    union_p = torch.where(in_union & positive[:, None], p[:, None], 1.0).prod(-1)  # (n, S) positive literals

    # groups with negative literals: 1 - (their p) unless the union has a positive of the group
    neg_group = torch.where(negative, groups[fact], _BIG)  # (n, U)
    neg_sorted = neg_group.sort(dim=1).values
    n_cols = int((neg_sorted != _BIG).sum(1).max())
    if n_cols > 0:
        in_group_sorted = neg_sorted[:, :n_cols]  # (n, Gn) with repeats; repeated slots never get a literal
        in_group = (groups[fact][:, :, None] == in_group_sorted[:, None, :]) & (universe != 0)[:, :, None]
        first = torch.searchsorted(neg_sorted.contiguous(), in_group_sorted.contiguous()) == torch.arange(
            n_cols, device=device
        )  # (n, Gn) the first slot of each distinct group
        in_group = (in_group & first[:, None, :]).to(dtype)  # (n, U, Gn)
        tables = torch.cat(
            [in_group * positive[..., None], in_group * (negative.to(dtype) * p)[..., None]], dim=2
        )  # (n, U, 2Gn)
        sums = torch.bmm(in_union.to(dtype), tables)  # (n, S, 2Gn)
        has_pos, p_neg = sums.split(n_cols, dim=2)
        union_p = union_p * torch.where(has_pos > 0.5, 1.0, 1.0 - p_neg).prod(-1)  # (n, S)

    union_p = torch.where(clashing, 0.0, union_p)
    size = subsets.sum(1)  # (S,)
    sign = torch.where(size % 2 == 1, 1.0, -1.0).to(dtype) * (size > 0)  # (S,) 0 for the empty set
    total = (torch.where(usable, union_p, 0.0) * sign).sum(-1)  # (n,)
    return total.to(probs.dtype)
