"""Small labelled graphs with one queried pair: the examples rules are learned from.

A ``GraphExample`` is a set of facts ``r(i, j)`` between the people ``0 .. P-1`` of
one story, unary facts such as ``male(i)``, a queried pair ``(a, b)`` and the target
relation that holds between them. :func:`read_graph_csv` reads them from the graph
columns of a CLUTRR csv file:

* ``genders``: ``Name:label,Name:label,...``; person ``i`` is the ``i``-th name, and
  ``label`` is a unary fact about them (``male``, ``female``);
* ``story_edges``: ``[(i, j), ...]`` and ``edge_types``: ``['father', ...]``, the fact
  ``father(i, j)`` ("j is the father of i") for each pair, with ``-`` read as ``_``;
* ``query_edge``: ``(a, b)`` (else the names of ``query`` looked up in ``genders``);
  when both are there they must agree;
* ``target``: the relation of ``b`` to ``a``.

The node numbering of ``story_edges`` is the order of ``genders``: CLUTRR's own
proofs (``proof_state``) name, for every row, exactly these edges.

Example:
    >>> import csv, io, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "g.csv"
    >>> with path.open("w", newline="") as f:
    ...     w = csv.writer(f)
    ...     _ = w.writerow(["story_edges", "edge_types", "query", "query_edge", "target", "genders"])
    ...     _ = w.writerow(["[(0, 1), (1, 2)]", "['father', 'sister']", "('Don', 'Dot')", "(0, 2)", "aunt",
    ...                     "Don:male,Mike:male,Dot:female"])
    >>> [ex] = read_graph_csv(path)
    >>> ex.edges, ex.query, ex.target, ex.labels
    (((0, 'father', 1), (1, 'sister', 2)), (0, 2), 'aunt', ((0, 'male'), (1, 'male'), (2, 'female')))
"""

from __future__ import annotations

import ast
import csv
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from pathlib import Path

from greybox.errors import ConfigError

__all__ = ["GraphExample", "read_graph_csv", "count_distinct", "relation_name"]

_COLUMNS = ("story_edges", "edge_types", "target", "genders")


def relation_name(text: str) -> str:
    """A relation as the data spells it, as a greybox name: ``son-in-law`` -> ``son_in_law``.

    >>> relation_name(" Son-in-law ")
    'son_in_law'
    """
    return text.strip().lower().replace("-", "_")


@dataclass(frozen=True)
class GraphExample:
    """One story as a graph.

    Attributes:
        people: names; person ``i`` is ``people[i]``.
        edges: facts ``(i, r, j)``: ``r(i, j)``, "j is the r of i".
        labels: unary facts ``(i, u)``: ``u(i)``.
        query: ``(a, b)``: what is ``b`` to ``a``?
        target: the answer, a relation name.
        k: number of edges (CLUTRR's chain length for the files of task 1).
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


def _literal(row: dict, column: str, path: Path, line: int, example: str):
    try:
        return ast.literal_eval(row[column])
    except (ValueError, SyntaxError, TypeError) as exc:
        raise ConfigError(f"cannot read column {column!r}: {row[column]!r}", file=str(path), line=line,
                          hint=f"the column holds a Python literal such as {example}") from exc


def _check_name(name: str, known: Collection[str] | None, what: str, path: Path, line: int) -> str:
    if known is not None and name not in known:
        raise ConfigError(f"unknown {what} {name!r}", file=str(path), line=line,
                          hint=f"the program knows: {', '.join(sorted(known))}; add it to the "
                          "background program or drop the row")
    return name


def _example(row: dict, path: Path, line: int, relations, unaries) -> GraphExample:
    people, labels = [], []
    for i, item in enumerate(filter(None, (g.strip() for g in row["genders"].split(",")))):
        name, _, label = item.partition(":")
        people.append(name.strip())
        if label.strip():
            labels.append((i, _check_name(relation_name(label), unaries, "label", path, line)))
    pairs = _literal(row, "story_edges", path, line, "[(0, 1), (1, 2)]")
    kinds = _literal(row, "edge_types", path, line, "['father', 'sister']")
    if len(pairs) != len(kinds):
        raise ConfigError(f"{len(pairs)} story_edges but {len(kinds)} edge_types", file=str(path), line=line,
                          hint="give one edge type per edge")
    edges = []
    for (i, j), kind in zip(pairs, kinds):
        if not (0 <= i < len(people) and 0 <= j < len(people)):
            raise ConfigError(f"edge ({i}, {j}) names a person outside 0..{len(people) - 1}", file=str(path),
                              line=line, hint="node i of story_edges is the i-th name of the genders column")
        edges.append((i, _check_name(relation_name(kind), relations, "relation", path, line), j))
    by_name = row.get("query") and _literal(row, "query", path, line, "('Ann', 'Bob')")
    if row.get("query_edge"):
        query = tuple(_literal(row, "query_edge", path, line, "(0, 2)"))
        if by_name and tuple(people[q] for q in query) != tuple(by_name):
            raise ConfigError(f"query_edge {query} names {tuple(people[q] for q in query)}, query says {by_name}",
                              file=str(path), line=line, hint="node i is the i-th name of the genders column")
    elif by_name:
        missing = [n for n in by_name if n not in people]
        if missing:
            raise ConfigError(f"queried person {missing[0]!r} is not in the genders column", file=str(path),
                              line=line, hint="list every person of the story in the genders column")
        query = tuple(people.index(n) for n in by_name)
    else:
        raise ConfigError("the row has neither query_edge nor query", file=str(path), line=line,
                          hint="give the queried pair, e.g. query_edge (0, 2)")
    target = _check_name(relation_name(row["target"]), relations, "relation", path, line)
    return GraphExample(tuple(people), tuple(edges), tuple(labels), (int(query[0]), int(query[1])), target, len(edges))


def read_graph_csv(
    path: str | Path,
    *,
    limit: int | None = None,
    relations: Collection[str] | None = None,
    unaries: Collection[str] | None = None,
) -> list[GraphExample]:
    """Read the graph examples of a CLUTRR-style csv file.

    Args:
        path: the csv file.
        limit: keep only the first ``limit`` rows.
        relations: the binary relations allowed in edges and targets (``None``: any).
        unaries: the unary labels allowed in ``genders`` (``None``: any).

    Returns:
        One ``GraphExample`` per row, in file order.

    Raises:
        ConfigError: the file is missing, lacks a column, or a row is malformed or
            names an unknown relation (with the row's line number).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"graph file not found (resolved: {path.resolve()})", file=str(path),
                          hint="set data_dir and the file names in the config to an existing CLUTRR folder")
    out: list[GraphExample] = []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ConfigError(f"the file lacks the columns {missing}", file=str(path),
                              hint=f"a graph file has the columns {', '.join(_COLUMNS)} and query_edge or query")
        for line, row in enumerate(reader, start=2):
            if limit is not None and len(out) >= limit:
                break
            out.append(_example(row, path, line, relations, unaries))
    return out


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
