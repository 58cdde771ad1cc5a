"""Neural predicates: turning a network's class distribution into probabilistic facts.

``nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).`` binds the module called
``digit_net``. For a batch it reads ``M`` items per sample; item ``m`` is the value
``m`` of ``X``. Its output ``(B, M, C)`` becomes ``B * M * C`` facts
``digit(m, y_c)`` with probability ``p[b, m, c]``; the ``C`` facts of one item
form one mutually exclusive group (an image shows one digit).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ..errors import ShapeError
from ..lang.ast import NeuralDeclaration, RangeDomain, SetDomain
from ..engine.engine import InputFacts
from ..engine.symbols import SymbolTable

__all__ = ["NeuralPredicate", "NeuralOutput"]


@dataclass
class NeuralOutput:
    """Class probabilities for explicit input tuples (for networks with several or symbolic inputs).

    Args:
        args: ``(N, 1 + n_inputs)`` int64: sample id, then the codes of the input arguments.
        probs: ``(N, C)`` class probabilities (rows sum to at most 1).
    """

    args: Tensor
    probs: Tensor
    #: ``(B, M)`` when ``args`` are every item ``0..M-1`` of every sample ``0..B-1``, in that
    #: order (``NeuralPredicate.items``): the facts then form a grid the engine reads as it is
    items: tuple[int, int] | None = None


class NeuralPredicate:
    """The binding of one ``nn(...)`` declaration: where its inputs and classes go in the atom."""

    def __init__(self, decl: NeuralDeclaration, symbols: SymbolTable) -> None:
        self.decl = decl
        self.model = decl.model
        self.relation = decl.atom.predicate
        names = [a.name if hasattr(a, "name") else None for a in decl.atom.args]
        self.input_positions = [names.index(v.name) for v in decl.inputs]
        self.output_position = names.index(decl.output.name)
        dom = decl.domain
        if isinstance(dom, RangeDomain):
            values: list[int | str] = list(range(dom.low, dom.high + 1))
        elif isinstance(dom, SetDomain):
            values = [c.value for c in dom.values]
        else:  # pragma: no cover - the checks require a finite domain
            raise ShapeError(f"neural predicate '{self.relation}' needs a finite domain of classes")
        self.classes = values
        self.class_codes = torch.tensor([v if isinstance(v, int) else symbols.encode(v) for v in values])
        self._groups: tuple[tuple, Tensor] | None = None  # the group ids of the last shape of outputs
        # the first class, when the atom is (item, class) or (class, item) and the classes are
        # consecutive integers: the facts of NeuralPredicate.items then form a grid
        consecutive = bool(values) and all(isinstance(v, int) for v in values) and values == list(
            range(values[0], values[0] + len(values)))
        simple = len(decl.atom.args) == 2 and len(self.input_positions) == 1
        self._grid_lo: int | None = values[0] if consecutive and simple else None

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def facts(self, out: NeuralOutput) -> InputFacts:
        """The facts of the atom for every input row and class."""
        n, c = out.probs.shape
        if c != self.n_classes:
            raise ShapeError(
                f"network '{self.model}' returned {c} classes for '{self.relation}', "
                f"whose declaration lists {self.n_classes}",
                file=self.decl.span.file,
                line=self.decl.span.line,
                hint="make the network's last layer match the domain in the nn(...) declaration",
            )
        if out.args.shape != (n, 1 + len(self.input_positions)):
            raise ShapeError(
                f"'{self.model}' inputs need args of shape ({n}, {1 + len(self.input_positions)}), "
                f"got {tuple(out.args.shape)}"
            )
        dev = out.probs.device
        if out.items is not None and self._grid_lo is not None:
            b, m = out.items
            values = out.probs.reshape(b, m, c)  # (B, M, C): sample, item, class
            if self.output_position == 1:
                return InputFacts.grid(values, (0, self._grid_lo), exclusive=1, groups=self._row_groups(n, c, dev))
            return InputFacts.grid(values.transpose(1, 2), (self._grid_lo, 0), exclusive=0)  # (B, C, M)
        arity = len(self.decl.atom.args)
        args = out.args.to(torch.int64)
        columns: list[Tensor] = [args[:, :1]] * (1 + arity)  # (N, 1) or (1, C) per column of the atom
        for j, pos in enumerate(self.input_positions):
            columns[1 + pos] = args[:, 1 + j : 2 + j]
        columns[1 + self.output_position] = self.class_codes.to(dev)[None, :]
        cols = torch.stack([col.expand(n, c) for col in columns], dim=2)  # (N, C, 1 + a)
        return InputFacts(cols.reshape(n * c, 1 + arity), out.probs.reshape(n * c), self._row_groups(n, c, dev))

    def _row_groups(self, n: int, c: int, dev: torch.device) -> Tensor:
        """``(N * C,)``: one group per input row, its ``C`` classes in a row (kept for the last shape)."""
        key = (n, c, dev)
        if self._groups is None or self._groups[0] != key:
            self._groups = (key, torch.arange(n, device=dev).repeat_interleave(c))
        return self._groups[1]

    def items(self, probs: Tensor) -> NeuralOutput:
        """``(B, M, C)`` per-item probabilities -> facts for items ``0..M-1`` of every sample."""
        if probs.dim() != 3:
            raise ShapeError(f"'{self.model}' must give (B, M, {self.n_classes}) probabilities, got {tuple(probs.shape)}")
        b, m, c = probs.shape
        dev = probs.device
        sample = torch.arange(b, device=dev).repeat_interleave(m)  # (B*M,)
        item = torch.arange(m, device=dev).repeat(b)  # (B*M,)
        return NeuralOutput(torch.stack([sample, item], dim=1), probs.reshape(b * m, c), items=(b, m))
