"""Sort-based equi-joins on dense keys: the one relational primitive the engine is built on."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["equi_join", "lookup"]


def equi_join(left_keys: Tensor, right_keys: Tensor) -> tuple[Tensor, Tensor]:
    """All pairs ``(i, j)`` with ``left_keys[i] == right_keys[j]``.

    Args:
        left_keys: ``(N1,)`` int64.
        right_keys: ``(N2,)`` int64.

    Returns:
        ``(left_idx, right_idx)``, each ``(P,)``, ordered by ``i``.

    >>> li, ri = equi_join(torch.tensor([1, 2, 3]), torch.tensor([2, 2, 3, 9]))
    >>> li.tolist(), ri.tolist()
    ([1, 1, 2], [0, 1, 2])
    """
    order = torch.argsort(right_keys)  # (N2,)
    sorted_r = right_keys[order]
    lo = torch.searchsorted(sorted_r, left_keys, right=False)  # (N1,)
    hi = torch.searchsorted(sorted_r, left_keys, right=True)  # (N1,)
    counts = hi - lo  # matches per left row
    if left_keys.shape[0] and int(counts.max()) <= 1:
        # every left row matches at most one right row: no expansion needed
        left_idx = (counts == 1).nonzero().squeeze(1)
        return left_idx, order[lo[left_idx]]
    left_idx = torch.repeat_interleave(torch.arange(left_keys.shape[0], device=left_keys.device), counts)
    starts = torch.repeat_interleave(lo, counts)  # (P,)
    run_start = torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
    offsets = torch.arange(left_idx.shape[0], device=left_keys.device) - run_start
    right_idx = order[starts + offsets]
    return left_idx, right_idx


def lookup(left_keys: Tensor, right_keys: Tensor) -> Tensor:
    """For each left key, the index of the (unique) equal right key, or -1.

    >>> lookup(torch.tensor([5, 7, 1]), torch.tensor([1, 5])).tolist()
    [1, -1, 0]
    """
    if right_keys.shape[0] == 0:
        return torch.full_like(left_keys, -1)
    order = torch.argsort(right_keys)
    sorted_r = right_keys[order]
    pos = torch.searchsorted(sorted_r, left_keys).clamp_max(sorted_r.shape[0] - 1)
    found = sorted_r[pos] == left_keys
    return torch.where(found, order[pos], torch.full_like(pos, -1))
