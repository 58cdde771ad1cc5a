"""Proofs as data for the ``greybox query`` output: their facts with ``file:line``, and derivation trees.

A proof is a set of literals ``(fact_id, positive)`` over the facts of the evaluated
program. A proof that only adds facts to another proof is not shown: it explains
nothing more, and leaving it out does not change the answer's probability.
"""

from __future__ import annotations

__all__ = ["minimal", "fact_json", "proof_trees", "proofs_json"]


def minimal(proofs, probabilities) -> list[tuple[frozenset, float]]:
    """The proofs that contain no other proof, in their order.

    Example:
        >>> minimal([frozenset({1}), frozenset({1, 2}), frozenset({3})], [0.9, 0.9, 0.5])
        [(frozenset({1}), 0.9), (frozenset({3}), 0.5)]
    """
    return [(p, q) for p, q in zip(proofs, probabilities) if not any(o < p for o in proofs)]


def fact_json(fact, positive: bool, kb) -> dict:
    """One literal of a proof: the fact, whether it holds, its probability and origin."""
    origin = kb.origin_of(fact.span) if fact.span is not None and fact.span.line else None
    return {
        "relation": fact.relation,
        "args": list(fact.args),
        "positive": positive,
        "probability": fact.probability,
        "origin": str(origin) if origin is not None else None,
    }


def proofs_json(kb, info, facts, goal, answer, *, k: int, trees: bool) -> list[dict]:
    """The ``k`` best minimal proofs of an answer: probability, facts and (``trees``) derivations."""
    out = []
    for proof, p in minimal(answer.proofs, answer.proof_probabilities)[:k]:
        item = {"probability": p,
                "facts": [fact_json(facts[i], pos, kb) for i, pos in sorted(proof, key=lambda lit: lit[0])]}
        if trees:
            item.update(proof_trees(info, facts, goal, answer, proof, kb))
        out.append(item)
    return out


def proof_trees(info, facts, q, answer, proof, kb) -> dict:
    """Derivation trees of the query's atoms under one proof (one tree per positive atom)."""
    from greybox.engine.proof_tree import derivation_tree, format_tree
    from greybox.lang.ast import Atom, Var

    trees, texts = [], []
    bindings = answer.bindings
    for lit in q.body:
        if not isinstance(lit, Atom):
            continue
        args = tuple(bindings.get(a.name) if isinstance(a, Var) else a.value for a in lit.args)
        if any(v is None for v in args):  # an anonymous variable: no single tuple to explain
            continue
        node = derivation_tree(info, facts, lit.predicate, args, proof)
        trees.append(_node_json(node, facts, kb))
        texts.append(format_tree(node, facts))
    return {"tree": trees, "text": "\n".join(texts)}


def _node_json(node, facts, kb) -> dict:
    where = None
    if node.kind == "rule" and node.clause is not None:
        where = kb.origin_of(node.clause.span)
    elif node.fact_id is not None:
        where = kb.origin_of(facts[node.fact_id].span)
    return {
        "relation": node.relation,
        "args": list(node.args),
        "kind": node.kind,
        "probability": node.probability,
        "origin": str(where) if where is not None else None,
        "children": [_node_json(c, facts, kb) for c in node.children],
    }
