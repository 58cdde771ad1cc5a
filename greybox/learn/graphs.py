"""Small labelled graphs with one queried pair: the examples rules are learned from.

A ``GraphExample`` is a set of facts ``r(i, j)`` between the nodes ``0 .. P-1`` of
one sample, unary facts such as ``male(i)``, a queried pair ``(a, b)`` and the target
relation that holds between them. :func:`graph_example` builds one from the
``(head, relation, tail)`` edges of a sample, checking the names against the program's;
a data set's :class:`GraphReader` (e.g. ``tasks.kinship.graphs.ClutrrGraphs``) reads
its files into them.

Example:
    >>> ex = graph_example(["Don", "Mike", "Dot"], [(0, "father", 1), (1, "Sister", 2)],
    ...                    [(0, "male"), (1, "male"), (2, "female")], (0, 2), "aunt")
    >>> ex.edges, ex.query, ex.target, ex.labels
    (((0, 'father', 1), (1, 'sister', 2)), (0, 2), 'aunt', ((0, 'male'), (1, 'male'), (2, 'female')))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from greybox.errors import ConfigError

__all__ = ["GraphExample", "GraphReader", "graph_example", "count_distinct", "relation_name"]


def relation_name(text: str) -> str:
    """A relation as the data spells it, as a greybox name: ``son-in-law`` -> ``son_in_law``.

    >>> relation_name(" Son-in-law ")
    'son_in_law'
    """
    return text.strip().lower().replace("-", "_")


@dataclass(frozen=True)
class GraphExample:
    """One sample (a story, for CLUTRR) as a graph.

    Attributes:
        people: names; person ``i`` is ``people[i]``.
        edges: facts ``(i, r, j)``: ``r(i, j)``, "j is the r of i".
        labels: unary facts ``(i, u)``: ``u(i)``.
        query: ``(a, b)``: what is ``b`` to ``a``?
        target: the answer, a relation name.
        k: number of edges (the chain length, where the sample is a chain).
    """

    people: tuple[str, ...]
    edges: tuple[tuple[int, str, int], ...]
    labels: tuple[tuple[int, str], ...]
    query: tuple[int, int]
    target: str
    k: int

    @property
    def size(self) -> int:
        """Number of people."""
        return len(self.people)

    def shape(self) -> tuple:
        """Everything that matters to reasoning (the names do not): equal shapes reason alike."""
        return (self.size, tuple(sorted(self.edges)), tuple(sorted(self.labels)), self.query, self.target)


class GraphReader(Protocol):
    """How ``greybox learn-rules`` reads the graph files of a data set (``reader`` in its config).

    Attributes:
        facts: what the facts of a graph are, as the report says it.
    """

    facts: str

    def read(self, path: str | Path, *, limit: int | None = None, relations: Collection[str] | None = None,
             unaries: Collection[str] | None = None) -> list[GraphExample]:
        """The graph examples of the file ``path`` (the first ``limit``), names checked as :func:`graph_example` does.

        Raises:
            ConfigError: the file is missing or malformed, or names an unknown relation.
        """

    def header(self, graphs: int, distinct: int) -> list[str]:
        """Lines of the learned file's header that say what the data is (``graphs`` read, ``distinct`` shapes)."""


def _check_name(name: str, known: Collection[str] | None, what: str, file: str | None, line: int | None) -> str:
    if known is not None and name not in known:
        raise ConfigError(f"unknown {what} {name!r}", file=file, line=line,
                          hint=f"the program knows: {', '.join(sorted(known))}; add it to the "
                          "background program or drop the row")
    return name


def graph_example(
    people: Sequence[str],
    edges: Iterable[tuple[int, str, int]],
    labels: Iterable[tuple[int, str]],
    query: tuple[int, int],
    target: str,
    *,
    relations: Collection[str] | None = None,
    unaries: Collection[str] | None = None,
    file: str | None = None,
    line: int | None = None,
) -> GraphExample:
    """One sample as a ``GraphExample``, its names as :func:`relation_name` spells them and checked.

    Args:
        people: the nodes' names; node ``i`` is ``people[i]``.
        edges: ``(i, r, j)``: ``r(i, j)``; ``k`` is their number.
        labels: ``(i, u)``: ``u(i)``.
        query, target: what is ``query[1]`` to ``query[0]``: ``target``.
        relations: the binary relations allowed in edges and the target (``None``: any).
        unaries: the unary labels allowed (``None``: any).
        file, line: where the sample is, for the errors.

    Raises:
        ConfigError: an unknown relation or label, or an edge naming a node outside ``0 .. P-1``.
    """
    people = tuple(people)
    labels = tuple((i, _check_name(relation_name(u), unaries, "label", file, line)) for i, u in labels)
    checked = []
    for i, kind, j in edges:
        if not (0 <= i < len(people) and 0 <= j < len(people)):
            raise ConfigError(f"edge ({i}, {j}) names a person outside 0..{len(people) - 1}", file=file,
                              line=line, hint="an edge (i, r, j) joins nodes of its sample, numbered from 0")
        checked.append((i, _check_name(relation_name(kind), relations, "relation", file, line), j))
    target = _check_name(relation_name(target), relations, "relation", file, line)
    return GraphExample(people, tuple(checked), labels, (int(query[0]), int(query[1])), target, len(checked))


def count_distinct(examples: Iterable[GraphExample]) -> list[tuple[GraphExample, int]]:
    """The examples of distinct ``shape``, each with how many times it occurs (first occurrence kept).

    Reasoning and the loss depend on the shape only, so training on the distinct shapes
    weighted by their counts computes the very loss of the whole file, faster.

    >>> a = GraphExample(("x", "y"), ((0, "son", 1),), (), (0, 1), "son", 1)
    >>> b = GraphExample(("p", "q"), ((0, "son", 1),), (), (0, 1), "son", 1)
    >>> [(ex.people, n) for ex, n in count_distinct([a, b])]
    [(('x', 'y'), 2)]
    """
    counts: Counter = Counter()
    first: dict[tuple, GraphExample] = {}
    for ex in examples:
        key = ex.shape()
        counts[key] += 1
        first.setdefault(key, ex)
    return [(first[key], n) for key, n in counts.items()]
