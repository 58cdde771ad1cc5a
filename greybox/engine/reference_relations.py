"""Tagged relations of the reference evaluator, and the views semi-naive rounds read.

One concept: where the tuples of a relation live while ``reference`` evaluates a
program. ``TaggedRelation`` holds every tuple with its tag (``total``), with hash
indexes on the argument positions that joins look up; ``StableView`` shows a
relation as it was before the last round, ``RecentView`` the tuples that round
changed, and ``EMPTY`` stands for a relation with no tuples. Every view answers
``match(positions, key)`` with the ``(tuple, tag)`` pairs whose arguments at
``positions`` equal ``key``.

Example:
    >>> rel = TaggedRelation("edge", 2)
    >>> rel.set(("a", "b"), 0.5)
    >>> rel.set(("a", "c"), 1.0)
    >>> rel.match((0,), ("a",))
    [(('a', 'b'), 0.5), (('a', 'c'), 1.0)]
    >>> StableView(rel, {("a", "c"): StableView._MISSING}).match((0,), ("a",))
    [(('a', 'b'), 0.5)]
    >>> RecentView({("a", "c"): 1.0}).match((0,), ("a",))
    [(('a', 'c'), 1.0)]
    >>> EMPTY.match((0,), ("a",))
    []
"""

from __future__ import annotations

from typing import Any, Iterable

__all__ = ["TaggedRelation", "StableView", "RecentView", "EmptyView", "EMPTY"]


# ---------------------------------------------------------------- relations


class TaggedRelation:
    """Tuples with tags, with hash indexes on the argument positions joins look up."""

    __slots__ = ("name", "arity", "tags", "_indexes")

    def __init__(self, name: str, arity: int) -> None:
        self.name = name
        self.arity = arity
        self.tags: dict[tuple, Any] = {}
        self._indexes: dict[tuple[int, ...], dict[tuple, list[tuple]]] = {}

    def __len__(self) -> int:
        return len(self.tags)

    def set(self, t: tuple, tag: Any) -> None:
        if t not in self.tags:
            for positions, index in self._indexes.items():
                index.setdefault(tuple(t[p] for p in positions), []).append(t)
        self.tags[t] = tag

    def lookup(self, positions: tuple[int, ...], key: tuple) -> Iterable[tuple]:
        if not positions:
            return self.tags.keys()
        if len(positions) == self.arity:  # every argument given: a plain lookup
            return (key,) if key in self.tags else ()
        index = self._indexes.get(positions)
        if index is None:
            index = {}
            for t in self.tags:
                index.setdefault(tuple(t[p] for p in positions), []).append(t)
            self._indexes[positions] = index
        return index.get(key, ())

    def match(self, positions: tuple[int, ...], key: tuple) -> Iterable[tuple[tuple, Any]]:
        tags = self.tags
        return [(t, tags[t]) for t in self.lookup(positions, key)]


class StableView:
    """A relation as it was before the last round: ``previous`` holds the old tags of what changed."""

    _MISSING = object()

    def __init__(self, base: TaggedRelation, previous: dict[tuple, Any]) -> None:
        self.base = base
        self.previous = previous

    def match(self, positions: tuple[int, ...], key: tuple) -> list[tuple[tuple, Any]]:
        out = []
        prev, tags, missing = self.previous, self.base.tags, self._MISSING
        for t in self.base.lookup(positions, key):
            tag = prev.get(t, tags[t]) if prev else tags[t]
            if tag is not missing:
                out.append((t, tag))
        return out


class RecentView:
    """The tuples of one round (``recent``), indexed lazily."""

    def __init__(self, tags: dict[tuple, Any]) -> None:
        self.tags = tags
        self._indexes: dict[tuple[int, ...], dict[tuple, list[tuple]]] = {}

    def __len__(self) -> int:
        return len(self.tags)

    def match(self, positions: tuple[int, ...], key: tuple) -> list[tuple[tuple, Any]]:
        if not positions:
            return list(self.tags.items())
        index = self._indexes.get(positions)
        if index is None:
            index = self._indexes[positions] = {}
            for t in self.tags:
                index.setdefault(tuple(t[p] for p in positions), []).append(t)
        return [(t, self.tags[t]) for t in index.get(key, ())]


class EmptyView:
    def match(self, positions, key) -> list:
        return []


EMPTY = EmptyView()
