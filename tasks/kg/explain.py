"""Why a link is predicted: the rules that derive it, each with the path of known facts it joins.

A proof of ``inferred_r(x, z)`` is a rule of the rule file (its weight and ``file:line``)
and one fact per body step, each with the ``file:line`` it was read from. The proofs are
those the reference evaluator finds for the query ``?- inferred_r(x, z).`` on the rule
file and the facts (``greybox query RULES FACTS "?- inferred_r(x, z)." --proofs``); here
they are walked on the graph directly, best rule first.

Example:
    >>> import networkx as nx
    >>> from greybox.learn.path_rules import PathRule
    >>> g = nx.MultiDiGraph()
    >>> g.add_edge("ann", "bob", key="father", origin="train.tsv:1")
    'father'
    >>> g.add_edge("bob", "cid", key="brother", origin="train.tsv:2")
    'brother'
    >>> rule = PathRule("uncle", (("father", False), ("brother", False)), 0.8, line=12)
    >>> [proof] = link_proofs(g, [rule], ("ann", "uncle", "cid"))
    >>> print(format_proofs([proof], ("ann", "uncle", "cid"), "rules.dl"))
    inferred_uncle(ann, cid): 1 proof
      0.8  rules.dl:12  0.8 :: inferred_uncle(X, Z) :- father(X, Y1), brother(Y1, Z).
           father(ann, bob)  train.tsv:1
           brother(bob, cid)  train.tsv:2
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx

from greybox.learn.path_rules import PathRule

__all__ = ["LinkProof", "link_proofs", "format_proofs"]


@dataclass(frozen=True)
class LinkProof:
    """One derivation of a link.

    Attributes:
        rule: the rule (its ``line`` in the rule file, its weight).
        facts: the body's facts in path order, ``(head, relation, tail, origin)``.
    """

    rule: PathRule
    facts: tuple[tuple[str, str, str, str], ...]


def _walk(graph: nx.MultiDiGraph, node: str, steps, end: str):
    if not steps:
        if node == end:
            yield ()
        return
    relation, inverse = steps[0]
    edges = graph.in_edges(node, keys=True, data="origin") if inverse else graph.out_edges(node, keys=True, data="origin")
    for head, tail, key, origin in edges:
        if key != relation:
            continue
        nxt = head if inverse else tail
        for rest in _walk(graph, nxt, steps[1:], end):
            yield ((head, key, tail, str(origin)),) + rest


def link_proofs(graph: nx.MultiDiGraph, rules: Sequence[PathRule], link: tuple[str, str, str],
                *, per_rule: int = 1, limit: int = 5) -> list[LinkProof]:
    """The proofs of ``inferred_r(h, t)``: for each rule of ``r`` whose body leads from ``h`` to ``t``.

    Args:
        graph: the known facts (edges ``(head, tail, key=relation)`` with an ``origin``).
        rules: the rules (any relations).
        link: ``(h, r, t)``.
        per_rule: paths shown per rule.
        limit: proofs returned at most, highest weight first.

    Returns:
        The proofs, highest rule weight first (then in rule order).
    """
    h, r, t = link
    out: list[LinkProof] = []
    if h not in graph or t not in graph:
        return out
    ranked = sorted((rule for rule in rules if rule.head == r), key=lambda rule: -(rule.weight or 1.0))
    for rule in ranked:
        for n, facts in enumerate(_walk(graph, h, rule.body, t)):
            if n >= per_rule:
                break
            out.append(LinkProof(rule, facts))
        if len(out) >= limit:
            break
    return out[:limit]


def format_proofs(proofs: Sequence[LinkProof], link: tuple[str, str, str], rules_file: str) -> str:
    """The proofs as text: per proof the rule's weight, ``file:line`` and text, then its facts."""
    h, r, t = link
    lines = [f"inferred_{r}({h}, {t}): {len(proofs)} proof{'s' if len(proofs) != 1 else ''}"]
    for proof in proofs:
        weight = "1.0" if proof.rule.weight is None else repr(proof.rule.weight)
        lines.append(f"  {weight}  {rules_file}:{proof.rule.line}  {proof.rule.text()}")
        lines += [f"       {rel}({a}, {b})  {origin}" for a, rel, b, origin in proof.facts]
    return "\n".join(lines)
