"""``ItemLists``: a network's input that is not a tensor, e.g. text, given as items per sample.

A neural predicate's network reads ``M`` items per sample. When they are tensors the batch
holds them as one ``(B, M, ...)`` tensor; when they are text (or any other Python values)
the batch holds an ``ItemLists``: per sample, a list of items. Samples with fewer than ``M``
items are padded with ``None``; the network receives the ``B * M`` items flattened sample by
sample and returns ``(B * M, C)`` probabilities, rows of ``None`` items being padding.
Lightning moves the tensors of a batch to the device and leaves an ``ItemLists`` as it is.

Example:
    >>> x = ItemLists([["Ann is Bob's mother.", "Bob is Cid's son."], ["Eve left."]])
    >>> x.shape
    (2, 2)
    >>> x.flat()
    ["Ann is Bob's mother.", "Bob is Cid's son.", 'Eve left.', None]
"""

from __future__ import annotations

from typing import Any, Sequence

from ..errors import ShapeError

__all__ = ["ItemLists"]


class ItemLists:
    """Per sample, the list of items (strings, records of strings) a network reads.

    Args:
        samples: one sequence of items per sample.
        width: items per sample after padding (default: the longest sample's count, at least 1).

    Raises:
        ShapeError: ``width`` is below the longest sample's count.
    """

    __slots__ = ("samples", "width")

    def __init__(self, samples: Sequence[Sequence[Any]], width: int | None = None) -> None:
        self.samples: tuple[tuple[Any, ...], ...] = tuple(tuple(s) for s in samples)
        longest = max((len(s) for s in self.samples), default=0)
        self.width = max(1, longest) if width is None else width
        if self.width < longest:
            raise ShapeError(f"ItemLists width {self.width} is below the longest sample's {longest} items",
                             hint="leave width out, or give at least the longest sample's count")

    @property
    def shape(self) -> tuple[int, int]:
        """``(B, M)``: samples, items per sample after padding."""
        return len(self.samples), self.width

    def flat(self) -> list[Any]:
        """The ``B * M`` items, sample by sample, ``None`` where a sample has fewer than ``M``."""
        return [s[i] if i < len(s) else None for s in self.samples for i in range(self.width)]

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        return f"ItemLists(shape={self.shape})"
