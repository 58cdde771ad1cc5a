"""Stratification: in which order the derived relations are computed.

The dependency graph has an edge ``q -> p`` when a rule for ``p`` uses ``q`` in its
body. The edge is *negative* when ``q`` is used under a negation or inside an
aggregate: ``p`` may then only be computed once ``q`` is complete, so ``q`` must
not depend on ``p`` again. Each strongly connected component of the graph (a
set of mutually recursive relations) is one :class:`Stratum`; strata come in
topological order, dependencies first, and among independent ones in order of
first appearance in the program.

Example:
    >>> from greybox.lang.parser import parse_program
    >>> rules = parse_program('''
    ...     path(X, Y) :- edge(X, Y).
    ...     path(X, Z) :- path(X, Y), edge(Y, Z).
    ...     far(X, Y) :- node(X), node(Y), \\\\+ path(X, Y).
    ... ''').clauses
    >>> strata, cycles = stratify(rules, ["edge", "node"])
    >>> [(sorted(s.relations), s.recursive, len(s.rules)) for s in strata], cycles
    ([(['path'], True, 2), (['far'], False, 1)], [])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from .ast import Aggregate, Clause, Literal, Negation
from .safety import literal_atoms

if TYPE_CHECKING:  # networkx is imported when first needed, so that importing the language stays cheap
    import networkx as nx

__all__ = ["Stratum", "NegativeCycle", "dependency_graph", "stratify", "reachable"]


def reachable(edges: "Mapping[str, Iterable[str]]", start: Iterable[str]) -> set[str]:
    """Every node reachable from ``start`` along ``edges`` (``start`` included).

    >>> sorted(reachable({"a": ["b"], "b": ["c"], "d": ["a"]}, ["a"]))
    ['a', 'b', 'c']
    """
    seen = set(start)
    todo = list(seen)
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@dataclass(frozen=True)
class Stratum:
    """Relations computed together (one strongly connected component of the dependency graph).

    Attributes:
        relations: the names of the relations of this stratum.
        rules: the rules (clauses with a body) whose head is in ``relations``, in
            source order; facts are not rules and are not listed here.
        recursive: whether the relations depend on themselves (a cycle, including
            a rule whose body uses its own head relation).
    """

    relations: frozenset[str]
    rules: tuple[Clause, ...]
    recursive: bool


@dataclass(frozen=True)
class NegativeCycle:
    """A negation or aggregate that goes through recursion.

    Attributes:
        rule_index: index of the offending rule in the sequence given to :func:`stratify`.
        literal: the negation or aggregate literal to point at.
        head: the head relation of the rule.
        used: the relation negated or aggregated.
        cycle: the relations on the cycle, starting and ending with ``head``
            (``("p", "q", "p")`` reads "p depends on q, which depends on p").
    """

    rule_index: int
    literal: Negation | Aggregate
    head: str
    used: str
    cycle: tuple[str, ...]


def dependency_graph(rules: Iterable[Clause], relations: Iterable[str] = ()) -> "nx.DiGraph":
    """The predicate dependency graph: an edge ``q -> p`` when a rule for ``p`` uses ``q``.

    Args:
        rules: clauses with a body.
        relations: extra nodes (relations used by no rule still appear).

    Returns:
        A ``networkx.DiGraph`` whose edges carry ``negative=True`` when some use is
        under a negation or inside an aggregate.

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> g = dependency_graph(parse_program("p(X) :- q(X), \\\\+ r(X).").clauses)
        >>> sorted((u, v, d["negative"]) for u, v, d in g.edges(data=True))
        [('q', 'p', False), ('r', 'p', True)]
    """
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(relations)
    for rule in rules:
        head = rule.head.predicate
        graph.add_node(head)
        for lit in rule.body:
            for used, negative in _uses(lit):
                if graph.has_edge(used, head):
                    if negative:
                        graph[used][head]["negative"] = True
                else:
                    graph.add_edge(used, head, negative=negative)
    return graph


def _uses(lit: Literal) -> Iterable[tuple[str, bool]]:
    aggregated = isinstance(lit, Aggregate)
    for atom, positive in literal_atoms(lit):
        yield atom.predicate, aggregated or not positive


def stratify(
    rules: Sequence[Clause], relations: Iterable[str] = ()
) -> tuple[tuple[Stratum, ...], list[NegativeCycle]]:
    """Order the derived relations into strata and find negations/aggregates through recursion.

    Args:
        rules: the clauses with a body, in source order.
        relations: every relation name in order of first appearance (used as nodes
            and to break ties between independent strata).

    Returns:
        ``(strata, cycles)``: the strata of the relations that have rules, in
        evaluation order, and one :class:`NegativeCycle` per offending literal
        (empty when the program is stratified).

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> rules = parse_program("p :- \\\\+ q. q :- p.").clauses
        >>> _, cycles = stratify(rules)
        >>> [" -> ".join(c.cycle) for c in cycles]
        ['p -> q -> p']
    """
    import networkx as nx

    order: dict[str, int] = {}
    for name in relations:
        order.setdefault(name, len(order))
    for rule in rules:
        order.setdefault(rule.head.predicate, len(order))
        for lit in rule.body:
            for atom, _ in literal_atoms(lit):
                order.setdefault(atom.predicate, len(order))
    graph = dependency_graph(rules, order)
    components = list(nx.strongly_connected_components(graph))
    component_of = {name: i for i, comp in enumerate(components) for name in comp}

    cycles: list[NegativeCycle] = []
    for index, rule in enumerate(rules):
        head = rule.head.predicate
        for lit in rule.body:
            if not isinstance(lit, (Negation, Aggregate)):
                continue
            for used, _ in _uses(lit):
                if component_of[used] == component_of[head]:
                    # head depends on `used` (edge used -> head); close the loop used ~> head
                    back = nx.shortest_path(graph, head, used)
                    cycle = (head,) + tuple(reversed(back)) if used != head else (head, head)
                    cycles.append(NegativeCycle(index, lit, head, used, cycle))
                    break

    condensed = nx.condensation(graph, components)
    first = {c: min(order[n] for n in condensed.nodes[c]["members"]) for c in condensed.nodes}
    derived = {rule.head.predicate for rule in rules}
    kept: list[frozenset[str]] = []
    for c in nx.lexicographical_topological_sort(condensed, key=first.__getitem__):
        members = frozenset(condensed.nodes[c]["members"])
        if members & derived:
            kept.append(members)
    stratum_of = {name: i for i, members in enumerate(kept) for name in members}
    buckets: list[list[Clause]] = [[] for _ in kept]
    for rule in rules:
        buckets[stratum_of[rule.head.predicate]].append(rule)
    strata = tuple(
        Stratum(members, tuple(bucket), len(members) > 1 or any(graph.has_edge(n, n) for n in members))
        for members, bucket in zip(kept, buckets)
    )
    return strata, cycles
