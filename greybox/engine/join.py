"""Sort-based equi-joins on dense keys: the one relational primitive the engine is built on."""

from __future__ import annotations

import torch
from torch import Tensor

from ..errors import ResourceLimitError

__all__ = ["equi_join", "lookup"]


def equi_join(
    left_keys: Tensor, right_keys: Tensor, *, max_pairs: int | None = None, what: str = "a join"
) -> tuple[Tensor, Tensor]:
    """All pairs ``(i, j)`` with ``left_keys[i] == right_keys[j]``.

    The number of pairs is known from the per-key counts of the sort before any pair is
    made, so a join past ``max_pairs`` is refused without allocating its output.

    Args:
        left_keys: ``(N1,)`` int64.
        right_keys: ``(N2,)`` int64.
        max_pairs: the most pairs allowed (None: no limit).
        what: how the error names the join.

    Returns:
        ``(left_idx, right_idx)``, each ``(P,)``, ordered by ``i``.

    Raises:
        ResourceLimitError: the join would make more than ``max_pairs`` pairs.

    >>> li, ri = equi_join(torch.tensor([1, 2, 3]), torch.tensor([2, 2, 3, 9]))
    >>> li.tolist(), ri.tolist()
    ([1, 1, 2], [0, 1, 2])
    """
    order = torch.argsort(right_keys)  # (N2,)
    sorted_r = right_keys[order]
    lo = torch.searchsorted(sorted_r, left_keys, right=False)  # (N1,)
    hi = torch.searchsorted(sorted_r, left_keys, right=True)  # (N1,)
    counts = hi - lo  # matches per left row
    most = pairs = 0
    if left_keys.shape[0]:
        # one read from the device: the largest count and the number of pairs
        most, pairs = torch.stack([counts.max(), counts.sum()]).tolist()
        if max_pairs is not None and pairs > max_pairs:
            raise ResourceLimitError(
                f"{what} would make {pairs:,} bindings, more than the limit of {max_pairs:,} (max_tuples)",
                hint="atoms that share no variable multiply their sizes: join them on a shared variable "
                "or filter first; or raise the limit with Engine(..., limits=Limits(max_tuples=N))",
            )
    if left_keys.shape[0] and most <= 1:
        # every left row matches at most one right row: no expansion needed
        left_idx = (counts == 1).nonzero().squeeze(1)
        return left_idx, order[lo[left_idx]]
    left_idx = torch.repeat_interleave(torch.arange(left_keys.shape[0], device=left_keys.device), counts,
                                       output_size=pairs)
    starts = torch.repeat_interleave(lo, counts, output_size=pairs)  # (P,)
    run_start = torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts, output_size=pairs)
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
