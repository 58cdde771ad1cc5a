"""Run-time facts of one relation for a batch: as rows, or as a grid of cells.

Rows are the general form: ``cols (N, 1 + arity)`` (sample id, then the arguments),
a probability and an exclusive group per row. A grid is the form a network's output
already has: ``values (B, n1, ..., na)``, where cell ``(b, i1, ..., ia)`` is the fact
with arguments ``(lo1 + i1, ..., loa + ia)`` in sample ``b``. The dense engine reads a
grid as it is (no rows to build, no value ranges to read back from the device); every
other reader sees the same facts as rows, built on first use.

Example:
    >>> import torch
    >>> p = torch.tensor([[[0.9, 0.1], [0.3, 0.7]]])       # 1 sample, 2 items, classes 5..6
    >>> facts = InputFacts.grid(p, lo=(0, 5), exclusive=1)  # digit(Item, Class)
    >>> facts.cols.tolist()
    [[0, 0, 5], [0, 0, 6], [0, 1, 5], [0, 1, 6]]
    >>> [round(p, 2) for p in facts.probs.tolist()], facts.groups.tolist()
    ([0.9, 0.1, 0.3, 0.7], [0, 0, 1, 1])
    >>> facts.bounds()
    ([0, 0, 5], [0, 1, 6], (0, 1))
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor

from ..errors import ShapeError

__all__ = ["InputFacts"]


class InputFacts:
    """Run-time facts of one relation for a whole batch.

    Args:
        cols: ``(N, 1 + arity)`` int64; column 0 is the sample id, then the arguments
            (integers, or symbol ids from ``Engine.symbols.encode``).
        probs: ``(N,)`` probabilities (autograd flows through them); ``None``: certain facts.
        groups: ``(N,)`` int64; rows with the same value are mutually exclusive
            (e.g. the ten readings of one image). ``None``: independent rows.

    ``InputFacts.grid`` builds the same facts from a dense tensor of probabilities.
    """

    def __init__(self, cols: Tensor, probs: Tensor | None = None, groups: Tensor | None = None) -> None:
        self._cols, self._probs, self._groups = cols, probs, groups
        self._grid: tuple[Tensor, tuple[int, ...], int | None] | None = None

    @classmethod
    def grid(cls, values: Tensor, lo: Sequence[int], exclusive: int | None = None,
             groups: Tensor | None = None) -> "InputFacts":
        """Facts for every cell of ``values`` ``(B, n1, ..., na)``.

        Args:
            values: the probability of each cell; cell ``(b, i1, ..., ia)`` is the fact with
                arguments ``(lo[0] + i1, ..., lo[a-1] + ia)`` in sample ``b`` (integer arguments).
            lo: the value of index 0 along each argument axis.
            exclusive: the argument (0-based) whose values are mutually exclusive: one group
                per cell of the other axes (a network's classes). ``None``: independent facts.
            groups: the ``(B * n1 * ... * na,)`` group ids of the rows, when the caller has them
                already (they are built on first use otherwise).

        Raises:
            ShapeError: ``lo`` does not give one value per argument axis.
        """
        lo = tuple(int(v) for v in lo)
        if values.dim() != 1 + len(lo):
            raise ShapeError(
                f"a grid of facts needs values of shape (B, n1, ..., n{len(lo)}) for {len(lo)} arguments, "
                f"got {tuple(values.shape)}",
                hint="give lo= one starting value per argument axis",
            )
        if exclusive is not None and not 0 <= exclusive < len(lo):
            raise ShapeError(f"exclusive={exclusive} is not an argument axis (0..{len(lo) - 1})")
        out = cls.__new__(cls)
        out._cols, out._probs, out._groups = None, None, groups
        out._grid = (values, lo, exclusive)
        return out

    # ------------------------------------------------------------------ the grid, when there is one

    @property
    def cells(self) -> tuple[Tensor, tuple[int, ...], int | None] | None:
        """``(values (B, n1, ..., na), lo, exclusive)`` for a grid, None for rows."""
        return self._grid

    @property
    def device(self) -> torch.device:
        return self._grid[0].device if self._grid is not None else self._cols.device

    @property
    def dtype(self) -> torch.dtype | None:
        """The probabilities' dtype (None: certain facts)."""
        if self._grid is not None:
            return self._grid[0].dtype
        return self._probs.dtype if self._probs is not None else None

    def __len__(self) -> int:
        """The number of facts (rows)."""
        return self._grid[0].numel() if self._grid is not None else int(self._cols.shape[0])

    @property
    def width(self) -> int:
        """``1 + arity``: the number of columns of a row."""
        return self._grid[0].dim() if self._grid is not None else int(self._cols.shape[1])

    def bounds(self) -> tuple[list[int], list[int], tuple[int, int] | None] | None:
        """For a grid: the lowest and highest value of each column (sample id first) and of the
        group ids (None without groups), known without reading a tensor; None for rows."""
        if self._grid is None:
            return None
        values, lo, exclusive = self._grid
        sizes = values.shape
        low = [0, *lo]
        high = [sizes[0] - 1, *(l + n - 1 for l, n in zip(lo, sizes[1:]))]
        groups = None
        if exclusive is not None:
            groups = (0, values.numel() // sizes[1 + exclusive] - 1)
        return low, high, groups

    # ------------------------------------------------------------------ rows

    @property
    def cols(self) -> Tensor:
        if self._cols is None:
            values, lo, _ = self._grid  # type: ignore[misc]
            dev = values.device
            # (B, n1, ..., na) indices of every cell, in C order, plus each axis's first value
            index = torch.stack(torch.meshgrid(*(torch.arange(n, device=dev) for n in values.shape), indexing="ij"), -1)
            self._cols = index.reshape(-1, values.dim()) + torch.tensor((0, *lo), dtype=torch.int64, device=dev)
        return self._cols

    @property
    def probs(self) -> Tensor | None:
        if self._grid is not None:
            return self._grid[0].reshape(-1)
        return self._probs

    @property
    def groups(self) -> Tensor | None:
        if self._groups is None and self._grid is not None and self._grid[2] is not None:
            values, _, exclusive = self._grid
            shape = values.shape
            k = 1 + exclusive
            # one group per cell of the other axes: number them in C order, then repeat along axis k
            outer, inner = math.prod(shape[:k]), math.prod(shape[k + 1:])
            ids = torch.arange(outer * inner, device=values.device).reshape(outer, 1, inner)
            self._groups = ids.expand(outer, shape[k], inner).reshape(-1)
        return self._groups

    @cols.setter
    def cols(self, value: Tensor) -> None:
        self._as_rows()
        self._cols = value

    @probs.setter
    def probs(self, value: Tensor | None) -> None:
        self._as_rows()
        self._probs = value

    @groups.setter
    def groups(self, value: Tensor | None) -> None:
        self._as_rows()
        self._groups = value

    def _as_rows(self) -> None:
        """Turn a grid into rows (before one of them is replaced)."""
        if self._grid is not None:
            self._cols, self._probs, self._groups = self.cols, self.probs, self.groups
            self._grid = None

    def probabilities(self, dtype: torch.dtype) -> Tensor:
        """``(N,)`` the rows' probabilities in ``dtype`` (ones for certain facts)."""
        if self.probs is None:
            return torch.ones(len(self), dtype=dtype, device=self.device)
        return self.probs.to(dtype)

    def __repr__(self) -> str:
        if self._grid is not None:
            values, lo, exclusive = self._grid
            return f"InputFacts.grid(values={tuple(values.shape)}, lo={lo}, exclusive={exclusive})"
        return f"InputFacts(cols={tuple(self._cols.shape)}, probs={self._probs is not None}, groups={self._groups is not None})"
