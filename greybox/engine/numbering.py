"""The fact table of one evaluation: which id and which exclusive group every input fact has.

The program's own facts are ``0..S-1`` (``greybox.lang.facts.collect_facts``), then the
rows of each run-time input follow in the order the inputs are given. Groups: the
program's own, then, per input, its group ids compacted to ``0..G-1`` (in ascending
order, so that equal ids stay equal and the order of groups is kept) and shifted past
the groups numbered before; an input without groups has one group per row. Both
representations of the engine (sparse tuple columns, dense tensors) number facts here,
so a fact id or a group means the same in either.

The table is built on first use: the dense kernels of add-mult, max-mult and max-min
read the inputs' cells, never the table, and only proof semirings and traces read groups.

Example:
    >>> import torch
    >>> from greybox.engine.inputs import InputFacts
    >>> numbering = FactNumbering(torch.tensor([0.5, 1.0], dtype=torch.float64), torch.tensor([0, 1]), [])
    >>> digit = InputFacts(torch.tensor([[0, 7], [0, 8], [0, 9]]), torch.tensor([0.2, 0.3, 0.5]),
    ...                    torch.tensor([40, 40, 42]))
    >>> facts = numbering.number({"digit": digit}, None, torch.device("cpu"), torch.float32)
    >>> facts.input_offsets, len(facts.table)
    ({'digit': (2, 3)}, 5)
    >>> facts.table.groups.tolist()
    [0, 1, 2, 2, 3]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import torch
from torch import Tensor

from ..semirings.base import FactTable
from .inputs import InputFacts

__all__ = ["FactNumbering", "NumberedFacts", "LazyFactTable"]


class LazyFactTable(FactTable):
    """A ``FactTable`` whose probabilities and groups are each built on first use.

    >>> t = LazyFactTable(lambda: torch.tensor([0.5, 0.9]), lambda: torch.tensor([0, 0]), 2, torch.device("cpu"))
    >>> len(t), t.probs.tolist(), t.groups.tolist()
    (2, [0.5, 0.8999999761581421], [0, 0])
    """

    def __init__(self, probs: Callable[[], Tensor], groups: Callable[[], Tensor], size: int,
                 device: torch.device) -> None:
        self._make_probs, self._make_groups, self._size, self._device = probs, groups, size, device
        self._probs: Tensor | None = None
        self._groups: Tensor | None = None

    @property  # type: ignore[override]
    def probs(self) -> Tensor:
        if self._probs is None:
            self._probs = self._make_probs()
        return self._probs

    @property  # type: ignore[override]
    def groups(self) -> Tensor:
        if self._groups is None:
            self._groups = self._make_groups()
        return self._groups

    @property
    def device(self) -> torch.device:
        return self._device

    def __len__(self) -> int:
        return self._size


@dataclass
class NumberedFacts:
    """The facts of one evaluation.

    Attributes:
        table: every fact's probability and group, by fact id (built on first use).
        static_probs: ``(S,)`` the program's own facts' probabilities, learnable weights put in.
        input_offsets: per input relation, ``(first fact id, rows)``.
    """

    table: FactTable
    static_probs: Tensor
    input_offsets: dict[str, tuple[int, int]]


class FactNumbering:
    """The numbering of an engine's facts, with the program's facts kept per device and dtype.

    Args:
        probs: ``(S,)`` float64 probability of each of the program's facts (1 for certain ones).
        groups: ``(S,)`` int64 group of each of the program's facts.
        learnable: the fact ids of the learnable weights, in the order ``learnable`` tensors give them.
    """

    def __init__(self, probs: Tensor, groups: Tensor, learnable: Sequence[int]) -> None:
        self.probs, self.groups = probs, groups
        self.learnable = list(learnable)
        self.next_group = int(groups.max()) + 1 if groups.numel() else 0
        self._on: dict[tuple, tuple[Tensor, Tensor]] = {}  # (device, dtype) -> (probs, groups)

    def number(self, inputs: Mapping[str, InputFacts], learnable: Tensor | None, device: torch.device,
               dtype: torch.dtype) -> NumberedFacts:
        """The facts of one evaluation: the program's, then ``inputs``' rows in the order given.

        Args:
            inputs: run-time facts per relation.
            learnable: ``(L,)`` probabilities of the learnable weights (None: their initial values).
            device, dtype: where and in what the probabilities are.
        """
        key = (device, dtype)
        if key not in self._on:
            self._on[key] = (self.probs.to(device=device, dtype=dtype), self.groups.to(device))
        static_probs, static_groups = self._on[key]
        if learnable is not None and self.learnable:
            idx = torch.tensor(self.learnable, device=device)
            static_probs = static_probs.index_put((idx,), learnable.to(dtype))
        next_id = int(static_probs.shape[0])
        input_offsets: dict[str, tuple[int, int]] = {}
        rows: list[InputFacts] = []
        for name, inp in inputs.items():
            n = len(inp)
            input_offsets[name] = (next_id, n)
            rows.append(inp)
            next_id += n

        def probs() -> Tensor:
            return torch.cat([static_probs, *(inp.probabilities(dtype) for inp in rows)])

        def groups() -> Tensor:
            parts, next_group = [static_groups], self.next_group
            for inp in rows:
                n = len(inp)
                if inp.groups is not None:
                    _, g = torch.unique(inp.groups, return_inverse=True)  # (n,) compacted, order kept
                else:
                    g = torch.arange(n, device=device)
                parts.append(g.to(device) + next_group)
                next_group += int(g.max()) + 1 if n else 0
            return torch.cat(parts)

        return NumberedFacts(LazyFactTable(probs, groups, next_id, device), static_probs, input_offsets)
