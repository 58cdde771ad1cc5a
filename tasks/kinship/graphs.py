"""CLUTRR's story graphs, read from the graph columns of its csv files, for ``greybox learn-rules``.

* ``genders``: ``Name:label,Name:label,...``; person ``i`` is the ``i``-th name, and
  ``label`` is a unary fact about them (``male``, ``female``);
* ``story_edges``: ``[(i, j), ...]`` and ``edge_types``: ``['father', ...]``, the fact
  ``father(i, j)`` ("j is the father of i") for each pair, with ``-`` read as ``_``;
* ``query_edge``: ``(a, b)`` (else the names of ``query`` looked up in ``genders``);
  when both are there they must agree;
* ``target``: the relation of ``b`` to ``a``.

The node numbering of ``story_edges`` is the order of ``genders``: CLUTRR's own
proofs (``proof_state``) name, for every row, exactly these edges. The files of task 1
are ``1.2,1.3_train.csv`` and ``1.k_test.csv``, in :data:`CLUTRR_DIR`.

Example:
    >>> import csv, io, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "g.csv"
    >>> with path.open("w", newline="") as f:
    ...     w = csv.writer(f)
    ...     _ = w.writerow(["story_edges", "edge_types", "query", "query_edge", "target", "genders"])
    ...     _ = w.writerow(["[(0, 1), (1, 2)]", "['father', 'sister']", "('Don', 'Dot')", "(0, 2)", "aunt",
    ...                     "Don:male,Mike:male,Dot:female"])
    >>> [ex] = read_clutrr_graphs(path)
    >>> ex.edges, ex.query, ex.target, ex.labels
    (((0, 'father', 1), (1, 'sister', 2)), (0, 2), 'aunt', ((0, 'male'), (1, 'male'), (2, 'female')))
"""

from __future__ import annotations

import ast
import csv
from collections.abc import Collection
from pathlib import Path

from greybox.errors import ConfigError
from greybox.learn.graphs import GraphExample, graph_example

__all__ = ["ClutrrGraphs", "read_clutrr_graphs", "CLUTRR_DIR", "TRAIN_FILE", "TEST_FILE", "TEST_KS",
           "KINSHIP_RULES", "DISTINCT_HEADS"]

#: the CLUTRR folder, from the project root
CLUTRR_DIR = "../shared/data/clutrr/data_089907f8"
#: the training file of task 1 (chains of 2 and 3 edges) and the test file of chain length ``k``
TRAIN_FILE = "1.2,1.3_train.csv"
TEST_FILE = "1.{k}_test.csv"
TEST_KS = tuple(range(2, 11))
#: the kinship rules, from the project root, and its irreflexive relations (their rules add ``X \= Z``)
KINSHIP_RULES = "knowledge/kinship.dl"
DISTINCT_HEADS = ("brother", "sister")

_COLUMNS = ("story_edges", "edge_types", "target", "genders")


def _literal(row: dict, column: str, path: Path, line: int, example: str):
    try:
        return ast.literal_eval(row[column])
    except (ValueError, SyntaxError, TypeError) as exc:
        raise ConfigError(f"cannot read column {column!r}: {row[column]!r}", file=str(path), line=line,
                          hint=f"the column holds a Python literal such as {example}") from exc


def _example(row: dict, path: Path, line: int, relations, unaries) -> GraphExample:
    people, labels = [], []
    for i, item in enumerate(filter(None, (g.strip() for g in row["genders"].split(",")))):
        name, _, label = item.partition(":")
        people.append(name.strip())
        if label.strip():
            labels.append((i, label))
    pairs = _literal(row, "story_edges", path, line, "[(0, 1), (1, 2)]")
    kinds = _literal(row, "edge_types", path, line, "['father', 'sister']")
    if len(pairs) != len(kinds):
        raise ConfigError(f"{len(pairs)} story_edges but {len(kinds)} edge_types", file=str(path), line=line,
                          hint="give one edge type per edge")
    for i, j in pairs:
        if not (0 <= i < len(people) and 0 <= j < len(people)):
            raise ConfigError(f"edge ({i}, {j}) names a person outside 0..{len(people) - 1}", file=str(path),
                              line=line, hint="node i of story_edges is the i-th name of the genders column")
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
    return graph_example(people, [(i, kind, j) for (i, j), kind in zip(pairs, kinds)], labels, query, row["target"],
                         relations=relations, unaries=unaries, file=str(path), line=line)


def read_clutrr_graphs(
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


class ClutrrGraphs:
    """The :class:`~greybox.learn.graphs.GraphReader` of CLUTRR: ``reader: tasks.kinship.graphs.ClutrrGraphs``.

    Example:
        >>> ClutrrGraphs().header(200, 96)[0]
        "200 stories (96 distinct graphs); facts: each story's graph"
    """

    facts = "the stories' graphs: story_edges + edge_types, genders as unary facts"

    def read(self, path: str | Path, *, limit: int | None = None, relations: Collection[str] | None = None,
             unaries: Collection[str] | None = None) -> list[GraphExample]:
        """:func:`read_clutrr_graphs`."""
        return read_clutrr_graphs(path, limit=limit, relations=relations, unaries=unaries)

    def header(self, graphs: int, distinct: int) -> list[str]:
        """What the data is, for the learned file's header."""
        return [f"{graphs} stories ({distinct} distinct graphs); facts: each story's graph",
                "(story_edges, edge_types, genders); supervision: the target relation of the query"]
