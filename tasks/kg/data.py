"""Knowledge-graph completion benchmarks: the files, read into a graph and query triples.

Three layouts of a benchmark folder (``layout``), all with one triple
``head<TAB>relation<TAB>tail`` per line:

* ``"ntp"`` (Kinship, UMLS, Nations as split by NTP / CTP): ``train.tsv`` is the graph,
  ``dev.tsv`` and ``test.tsv`` the queries; the entities are those of the graph.
* ``"neural_lp"`` (Family, Neural LP's split): ``facts.txt`` and ``train.txt`` are the
  graph (Neural LP reasons over both at test time), ``valid.txt`` and ``test.txt`` the
  queries; the entities and relations are those of ``entities.txt`` and ``relations.txt``.
* ``"countries"`` (Countries S1-S3): ``countries_S{task}.tsv`` is the graph, the queries
  are ``locatedIn(country, region)`` for each country of ``test.txt`` and its region of
  ``regions.txt`` as ``countries.nl`` says. The dev queries are those of the other countries
  the graph hides as it hides the test countries (:func:`hidden_countries`): NTP's
  ``dev.txt`` does not match the graphs it ships with (13 of its 24 countries keep their
  region in ``countries_S1.tsv``, 7 are test countries), so scores on it say nothing of the
  test countries' situation.

Relation names become names of the rule language by :func:`greybox.kb.sanitize_relation`
(``co-occurs_with`` -> ``co_occurs_with``); entities are kept as text. The graph is a
``networkx.MultiDiGraph`` built as :class:`greybox.kb.KnowledgeBase` builds its graph: one
edge ``(head, tail, key=relation)`` with the attributes ``probability`` (``None``:
certain) and ``origin`` (``greybox.kb.Origin``: file and line).

Every problem with the input is a :class:`greybox.errors.ConfigError` (an unknown
relation: :class:`greybox.errors.UnknownRelationError`) that names the file and line.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "train.tsv").write_text("ann\\tparent\\tbob\\nbob\\tparent\\tcid\\nann\\tgrandparent\\tcid\\n")
    >>> _ = (d / "dev.tsv").write_text("")
    >>> _ = (d / "test.tsv").write_text("bob\\tparent\\tcid\\n")
    >>> kg = read_benchmark(d, layout="ntp")
    >>> kg.entities, kg.relations, kg.graph.number_of_edges(), kg.test
    (('ann', 'bob', 'cid'), ('grandparent', 'parent'), 3, (Triple(head='bob', relation='parent', tail='cid'),))
    >>> str(kg.graph.edges["bob", "cid", "parent"]["origin"])
    '...train.tsv:2'
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import networkx as nx

from greybox.errors import ConfigError, UnknownRelationError

__all__ = ["Triple", "KGBenchmark", "read_triples", "read_names", "read_benchmark", "hidden_countries", "LAYOUTS"]

#: the folder layouts :func:`read_benchmark` reads
LAYOUTS = ("ntp", "neural_lp", "countries")


class Triple(NamedTuple):
    """``relation(head, tail)``: "tail is the relation of head"."""

    head: str
    relation: str
    tail: str


@dataclass(frozen=True)
class _Located:
    """A triple with the file and line it was read from."""

    triple: Triple
    file: str
    line: int


def _missing(path: Path) -> ConfigError:
    return ConfigError(f"file not found: {path} (resolved: {path.resolve()})", file=str(path),
                       hint="set data_dir to a benchmark folder (e.g. ../shared/data/kg/kinship) and the right layout")


def read_triples(path: str | os.PathLike) -> list[_Located]:
    """Read a triple file: ``head<TAB>relation<TAB>tail`` per line, blank lines skipped.

    Args:
        path: the file.

    Returns:
        The triples in file order, each with its file and 1-based line.

    Raises:
        ConfigError: the file is missing, or a line has not three non-empty columns, or a
            relation name cannot be a relation of the rule language (file and line named).
    """
    from greybox.kb.kg_files import sanitize_relation

    path = Path(path)
    if not path.is_file():
        raise _missing(path)
    out = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip():
            continue
        cells = [c.strip() for c in raw.split("\t")]
        if len(cells) != 3 or not all(cells):
            raise ConfigError(f"expected three tab-separated columns head, relation, tail; found {len(cells)}"
                              + ("" if len(cells) != 3 else " with an empty one"),
                              file=str(path), line=number, source_line=raw,
                              hint="write one triple per line, e.g. ann<TAB>parent<TAB>bob")
        relation = sanitize_relation(cells[1], file=str(path), line=number)
        out.append(_Located(Triple(cells[0], relation, cells[2]), str(path), number))
    return out


def read_names(path: str | os.PathLike) -> list[str]:
    """One name per line (blank lines skipped), e.g. ``entities.txt`` or ``regions.txt``.

    Raises:
        ConfigError: the file is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise _missing(path)
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass(frozen=True)
class KGBenchmark:
    """A knowledge-graph completion benchmark, read by :func:`read_benchmark`.

    Attributes:
        name: the folder's name (and task, for Countries).
        entities: every candidate entity, sorted; ranks are over these.
        relations: the relations of the graph and the queries, sorted.
        graph: the known facts, one edge ``(head, tail, key=relation)`` each.
        train: the training queries (the graph's own triples, or ``train.txt``).
        valid, test: the evaluation queries.
        query_relation: for Countries, ``locatedin``; its test queries rank ``candidates``.
        candidates: the tails a query may have (Countries: the regions); ``()``: every entity.
        files: the graph's files (``{"graph": [...]}``).
        origins: for ``"valid"`` and ``"test"``, the ``(file, line)`` each query was read from.
    """

    name: str
    entities: tuple[str, ...]
    relations: tuple[str, ...]
    graph: nx.MultiDiGraph
    train: tuple[Triple, ...]
    valid: tuple[Triple, ...]
    test: tuple[Triple, ...]
    candidates: tuple[str, ...] = ()
    files: dict = field(default_factory=dict, compare=False)
    origins: dict = field(default_factory=dict, compare=False)

    def facts(self) -> list[Triple]:
        """The graph's edges as triples (the facts rules are applied to), in insertion order."""
        return [Triple(h, r, t) for h, t, r in self.graph.edges(keys=True)]

    def known(self) -> set[Triple]:
        """Every true triple the benchmark gives: graph, train, valid, test (the filter of filtered ranking)."""
        return set(self.facts()) | set(self.train) | set(self.valid) | set(self.test)


def _graph(located: Iterable[_Located]) -> nx.MultiDiGraph:
    from greybox.kb.knowledge_base import Origin

    graph = nx.MultiDiGraph()
    for item in located:
        h, r, t = item.triple
        if not graph.has_edge(h, t, key=r):
            graph.add_edge(h, t, key=r, probability=None, origin=Origin("kg", item.file, item.line))
    return graph


def _check_queries(located: Sequence[_Located], entities: set[str], relations: set[str]) -> tuple[Triple, ...]:
    for item in located:
        h, r, t = item.triple
        if r not in relations:
            raise UnknownRelationError(f"unknown relation {r!r}: it is not a relation of the graph",
                                       file=item.file, line=item.line,
                                       hint=f"the relations are: {', '.join(sorted(relations))}; drop the line")
        for e in (h, t):
            if e not in entities:
                raise ConfigError(f"unknown entity {e!r}: it is not an entity of the graph", file=item.file,
                                  line=item.line, hint="a query can only rank entities the benchmark knows; "
                                  "drop the line or add the entity to the graph (or entities.txt)")
    return tuple(item.triple for item in located)


def _nonempty(graph: nx.MultiDiGraph, files: Sequence[Path]) -> None:
    if graph.number_of_edges() == 0:
        raise ConfigError("the graph is empty: no triple in " + ", ".join(map(str, files)),
                          file=str(files[0]), hint="give the benchmark's training triples, one per line")


def read_benchmark(data_dir: str | os.PathLike, *, layout: Literal["ntp", "neural_lp", "countries"] = "ntp",
                   task: int = 1) -> KGBenchmark:
    """Read a benchmark folder.

    Args:
        data_dir: the folder.
        layout: ``"ntp"``, ``"neural_lp"`` or ``"countries"`` (see the module docstring).
        task: for Countries, the task ``1``, ``2`` or ``3`` (``countries_S{task}.tsv``).

    Returns:
        The ``KGBenchmark``.

    Raises:
        ConfigError: a file is missing or malformed, the graph is empty, a query names an
            entity the benchmark does not know; ``UnknownRelationError``: a query's relation
            is not one of the graph (or of ``relations.txt``).
    """
    d = Path(data_dir)
    origins: dict[str, tuple[tuple[str, int], ...]] = {}
    if not d.is_dir():
        raise ConfigError(f"data folder not found: {d} (resolved: {d.resolve()})",
                          hint="set data_dir, e.g. ../shared/data/kg/kinship")
    if layout == "ntp":
        graph_files = [d / "train.tsv"]
        located = read_triples(graph_files[0])
        graph = _graph(located)
        _nonempty(graph, graph_files)
        entities, relations = set(graph.nodes), {r for _, _, r in graph.edges(keys=True)}
        train = tuple(item.triple for item in located)
        valid = _check_queries(_located(d / "dev.tsv", origins, "valid"), entities, relations)
        test = _check_queries(_located(d / "test.tsv", origins, "test"), entities, relations)
        candidates: tuple[str, ...] = ()
    elif layout == "neural_lp":
        from greybox.kb.kg_files import sanitize_relation

        graph_files = [d / "facts.txt", d / "train.txt"]
        facts, queries = read_triples(graph_files[0]), read_triples(graph_files[1])
        graph = _graph(facts + queries)
        _nonempty(graph, graph_files)
        entities = set(read_names(d / "entities.txt"))
        relations = {sanitize_relation(r, file=str(d / "relations.txt")) for r in read_names(d / "relations.txt")}
        _check_queries(facts + queries, entities, relations)
        train = tuple(item.triple for item in queries)
        valid = _check_queries(_located(d / "valid.txt", origins, "valid"), entities, relations)
        test = _check_queries(_located(d / "test.txt", origins, "test"), entities, relations)
        candidates = ()
    elif layout == "countries":
        if task not in (1, 2, 3):
            raise ConfigError(f"Countries has the tasks 1, 2, 3, not {task}", hint="task: 1")
        graph_files = [d / f"countries_S{task}.tsv"]
        graph = _graph(read_triples(graph_files[0]))
        _nonempty(graph, graph_files)
        regions = read_names(d / "regions.txt")
        region_of = _regions(d / "countries.nl", set(regions))
        entities = set(graph.nodes) | set(regions)
        relations = {r for _, _, r in graph.edges(keys=True)}
        test = _country_queries(d / "test.txt", region_of, entities, origins, "test")
        tested = {q.head for q in test}
        valid = tuple(Triple(c, "locatedin", region_of[c]) for c in hidden_countries(graph, region_of, task)
                      if c not in tested)
        # the dev queries come from the graph (the countries it hides), not from a file's lines
        origins["valid"] = tuple((str(graph_files[0]), None) for _ in valid)
        train = tuple(Triple(h, r, t) for h, t, r in graph.edges(keys=True))
        candidates = tuple(sorted(regions))
    else:
        raise ConfigError(f"unknown layout {layout!r}", hint=f"use one of: {', '.join(LAYOUTS)}")
    name = d.name if layout != "countries" else f"countries_s{task}"
    return KGBenchmark(name, tuple(sorted(entities)), tuple(sorted(relations)), graph, train, valid, test,
                       candidates, {"graph": [str(f) for f in graph_files]}, origins)


def _located(path: Path, origins: dict, split: str) -> list[_Located]:
    """The triples of a query file; their ``(file, line)`` go to ``origins[split]``."""
    located = read_triples(path)
    origins[split] = tuple((item.file, item.line) for item in located)
    return located


def _regions(path: Path, regions: set[str]) -> dict[str, str]:
    """country -> region of the ``locatedIn(country, region).`` lines of ``countries.nl``."""
    if not path.is_file():
        raise _missing(path)
    out: dict[str, str] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line.startswith("locatedIn("):
            continue
        if not line.endswith(")."):
            raise ConfigError("expected locatedIn(country,region).", file=str(path), line=number, source_line=raw,
                              hint="one fact per line, ending in ').'")
        head, _, tail = line[len("locatedIn("):-2].partition(",")
        if tail.strip() in regions:
            out[head.strip()] = tail.strip()
    return out


def hidden_countries(graph: nx.MultiDiGraph, region_of: dict[str, str], task: int) -> list[str]:
    """The countries whose location the graph of Countries S{task} hides, sorted.

    NTP's Countries generator hides, for every dev and test country, ``locatedIn(c, region)``
    (S1), and also ``locatedIn(c, subregion)`` (S2, S3; S3 hides besides the regions of
    their neighbours, who keep their subregion). So a country is hidden when the graph
    lacks its region fact (S1), or every ``locatedIn`` fact of it (S2, S3).

    Args:
        graph: the task's graph.
        region_of: every country's region (``countries.nl``).
        task: 1, 2 or 3.

    >>> g = nx.MultiDiGraph([("a", "w_eu", "locatedin"), ("w_eu", "europe", "locatedin"), ("b", "w_eu", "locatedin"),
    ...                      ("b", "europe", "locatedin"), ("a", "b", "neighborof")])
    >>> hidden_countries(g, {"a": "europe", "b": "europe"}, 1), hidden_countries(g, {"a": "europe", "b": "europe"}, 2)
    (['a'], [])
    """
    def located(country: str) -> list[str]:
        return [t for _, t, r in graph.out_edges(country, keys=True) if r == "locatedin"] if country in graph else []

    if task == 1:
        return sorted(c for c, region in region_of.items() if c in graph and region not in located(c))
    return sorted(c for c in region_of if c in graph and not located(c))


def _country_queries(path: Path, region_of: dict[str, str], entities: set[str], origins: dict,
                     split: str) -> tuple[Triple, ...]:
    if not path.is_file():
        raise _missing(path)
    out = []
    lines = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        country = raw.strip()
        if not country:
            continue
        if country not in region_of:
            raise ConfigError(f"country {country!r} has no region in countries.nl", file=str(path), line=number,
                              hint="every test country needs its locatedIn(country, region) fact in countries.nl")
        if country not in entities:
            raise ConfigError(f"unknown entity {country!r}: it is not an entity of the graph", file=str(path),
                              line=number, hint="a test country must have some fact (e.g. neighborOf) in the graph")
        out.append(Triple(country, "locatedin", region_of[country]))
        lines.append((str(path), number))
    origins[split] = tuple(lines)
    return tuple(out)
