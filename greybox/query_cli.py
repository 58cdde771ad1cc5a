"""``greybox query``: answer a query over rule and knowledge-graph files, with proofs.

Runs the reference evaluator with the top-k proofs semiring: each answer gets its
exact probability and, with ``--proofs``, the derivation tree of each of its best
proofs (which rule, which facts, with ``file:line``). A proof that only adds facts
to another proof is not shown: it explains nothing more.

Example:
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "kin.dl"
    >>> _ = f.write_text("0.9 :: father(ann, bob).\\n1.0 :: father(bob, cid).\\n"
    ...                  "grandfather(X, Z) :- father(X, Y), father(Y, Z).\\n")
    >>> result = run_query([f], "?- grandfather(ann, Z).")
    >>> [(a["bindings"], a["probability"]) for a in result["answers"]]
    [({'Z': 'cid'}, 0.9)]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Sequence

__all__ = ["add_parser", "run_query", "answer_query", "format_text"]


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add the ``query`` sub-command to ``commands``.

    Args:
        commands: the sub-parsers of the ``greybox`` parser.
    """
    p = commands.add_parser(
        "query", help="answer a query over rule and knowledge-graph files",
        description="Answer a query with the reference evaluator: every answer with its "
        "probability, and with --proofs the derivation of its best proofs.",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help=".dl, .tsv, .csv or .jsonl files, or folders")
    p.add_argument("query", metavar="QUERY", help='e.g. "?- grandfather(ann, Z)."')
    p.add_argument("--proofs", action="store_true", help="show the derivation of each answer's best proofs")
    p.add_argument("-k", type=int, default=3, metavar="K", help="proofs kept per answer (default 3)")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.set_defaults(run=_run)


def run_query(files: Sequence[str | os.PathLike], text: str, *, k: int = 3, proofs: bool = False) -> dict:
    """Answer ``text`` over the knowledge base in ``files`` (see ``answer_query``).

    Args:
        files: rule and knowledge-graph files (or folders).
        text: the query, ``?-`` optional.
        k: proofs kept per answer.
        proofs: include each proof's derivation tree.

    Returns:
        What ``answer_query`` returns.

    Raises:
        GreyboxError: a file is missing or wrong, the program has a problem, or the query
            does not parse.
    """
    from greybox.kb.knowledge_base import KnowledgeBase

    return answer_query(KnowledgeBase.load(files), text, k=k, proofs=proofs)


def answer_query(kb, text: str, *, k: int = 3, proofs: bool = False) -> dict:
    """Answer ``text`` over a loaded ``KnowledgeBase`` with the reference evaluator.

    Args:
        kb: the knowledge base.
        text: the query, ``?-`` optional.
        k: proofs kept per answer.
        proofs: include each proof's derivation tree.

    Returns:
        ``{"query": str, "answers": [{"bindings", "probability", "proofs": [...]}]}``; each
        proof has ``probability``, ``facts`` (relation, args, positive, probability,
        origin) and, with ``proofs=True``, ``tree`` (nested nodes) and ``text`` (drawn).

    Raises:
        GreyboxError: the program has a problem, or the query does not parse.
    """
    from greybox.engine.reference import all_facts, query
    from greybox.lang.parser import parse_query
    from greybox.lang.printer import format_statement

    if k < 1:
        from greybox.errors import ConfigError

        raise ConfigError(f"-k must be at least 1, not {k}", hint="e.g. -k 3")
    q = parse_query(text, file="<query>")
    info = kb.info
    facts = all_facts(info)
    # ask for more proofs than shown: those that merely add facts to another are dropped,
    # and top-k keeps such supersets (a rule base with inverse rules derives many)
    answers = query(info, q, semiring="top-k", k=4 * k)
    out = []
    for answer in answers:
        entry = {"bindings": answer.bindings, "probability": answer.probability, "proofs": []}
        for proof, p in _minimal(answer.proofs, answer.proof_probabilities)[:k]:
            item = {"probability": p, "facts": [_fact_json(facts[i], pos, kb) for i, pos in
                                               sorted(proof, key=lambda lit: lit[0])]}
            if proofs:
                item.update(_trees(info, facts, q, answer, proof, kb))
            entry["proofs"].append(item)
        out.append(entry)
    return {"query": format_statement(q), "answers": out}


def format_text(result: dict, *, proofs: bool = False) -> str:
    """Draw the result of ``run_query`` for a terminal.

    Args:
        result: what ``run_query`` returned.
        proofs: draw each proof's derivation tree.

    Returns:
        The text, ending without a newline.
    """
    lines = [result["query"]]
    if not result["answers"]:
        lines.append("no answers")
    for n, a in enumerate(result["answers"], start=1):
        bindings = ", ".join(f"{k} = {_show(v)}" for k, v in a["bindings"].items()) or "yes"
        lines.append(f"{n}. {bindings}    p = {a['probability']:.4g}")
        if not proofs:
            continue
        for m, proof in enumerate(a["proofs"], start=1):
            lines.append(f"   proof {m} (p = {proof['probability']:.4g}):")
            lines += ["     " + row for row in proof.get("text", "").splitlines()]
    return "\n".join(lines)


def _run(ns: argparse.Namespace) -> int:
    result = run_query(ns.files, ns.query, k=ns.k, proofs=ns.proofs)
    if ns.format == "json":
        print(json.dumps(result, indent=2, default=str))
    else:
        print(format_text(result, proofs=ns.proofs))
    return 0


def _minimal(proofs, probabilities) -> list[tuple[frozenset, float]]:
    """The proofs that contain no other proof, in their order.

    A proof that adds facts to another one explains nothing more, and leaving it out
    does not change the answer's probability.

    Example:
        >>> _minimal([frozenset({1}), frozenset({1, 2}), frozenset({3})], [0.9, 0.9, 0.5])
        [(frozenset({1}), 0.9), (frozenset({3}), 0.5)]
    """
    return [(p, q) for p, q in zip(proofs, probabilities) if not any(o < p for o in proofs)]


def _fact_json(fact, positive: bool, kb) -> dict:
    origin = kb.origin_of(fact.span) if fact.span is not None and fact.span.line else None
    return {
        "relation": fact.relation,
        "args": list(fact.args),
        "positive": positive,
        "probability": fact.probability,
        "origin": str(origin) if origin is not None else None,
    }


def _trees(info, facts, q, answer, proof, kb) -> dict:
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


def _show(value) -> str:
    return str(value) if isinstance(value, int) else (value if value.isidentifier() and value[:1].islower() else repr(value))


if __name__ == "__main__":  # pragma: no cover
    from greybox.cli import main

    sys.exit(main(["query", *sys.argv[1:]]))
