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

__all__ = ["LinkProof", "link_proofs", "path_count", "format_proofs", "link_verdict", "explain_link",
           "explain_checkpoint"]


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
        The proofs, highest rule weight first (then in rule order); proofs by back-off rules after
        every proof by the rules of ``r``.
    """
    h, r, t = link
    out: list[LinkProof] = []
    if h not in graph:
        return out
    # the rules of r first; a back-off rule (backoff_r) only orders what they leave equal
    ranked = sorted((rule for rule in rules if rule.head == r), key=lambda rule: (rule.backoff, -(rule.weight or 1.0)))
    for rule in ranked:
        # an anchored rule inferred_r(X, answer) :- ..., rn(Yn-1, anchor) proves only its answer,
        # by a path from h to its anchor
        if rule.anchor is not None and rule.answer != t:
            continue
        end = t if rule.anchor is None else rule.anchor
        if end not in graph:
            continue
        for n, facts in enumerate(_walk(graph, h, rule.body, end)):
            if n >= per_rule:
                break
            out.append(LinkProof(rule, facts))
        if len(out) >= limit:
            break
    return out[:limit]


def path_count(graph: nx.MultiDiGraph, rule: PathRule, link: tuple[str, str, str]) -> int:
    """How many paths of ``rule``'s body prove ``link = (h, r, t)`` on ``graph``: its proofs of ``inferred_r(h, t)``.

    >>> g = nx.MultiDiGraph()
    >>> for a, b, rel in [("a", "b", "p"), ("a", "c", "p"), ("b", "d", "q"), ("c", "d", "q")]:
    ...     _ = g.add_edge(a, b, key=rel, origin="f")
    >>> path_count(g, PathRule("r", (("p", False), ("q", False))), ("a", "r", "d"))
    2
    """
    h, _, t = link
    end = t if rule.anchor is None else rule.anchor
    if h not in graph or end not in graph or (rule.anchor is not None and rule.answer != t):
        return 0
    return sum(1 for _ in _walk(graph, h, rule.body, end))


def format_proofs(proofs: Sequence[LinkProof], link: tuple[str, str, str], rules_file: str) -> str:
    """The proofs as text: per proof the rule's weight, ``file:line`` and text, then its facts; the
    proofs by back-off rules (``backoff_r``) under their own heading, after the others."""
    h, r, t = link
    main = [p for p in proofs if not p.rule.backoff]
    backoff = [p for p in proofs if p.rule.backoff]
    lines = [f"inferred_{r}({h}, {t}): {_count(main, 'proof')}", *_proof_lines(main, rules_file)]
    if backoff:
        lines.append(f"backoff_{r}({h}, {t}): {_count(backoff, 'proof')} "
                     f"(they order the links that the rules of inferred_{r} score equally)")
        lines += _proof_lines(backoff, rules_file)
    return "\n".join(lines)


def _count(items: Sequence, noun: str) -> str:
    return f"{len(items)} {noun}{'s' if len(items) != 1 else ''}"


def _proof_lines(proofs: Sequence[LinkProof], rules_file: str) -> list[str]:
    lines = []
    for proof in proofs:
        weight = "1.0" if proof.rule.weight is None else repr(proof.rule.weight)
        lines.append(f"  {weight}  {rules_file}:{proof.rule.line}  {proof.rule.text()}")
        lines += [f"       {rel}({a}, {b})  {origin}" for a, rel, b, origin in proof.facts]
    return lines


def link_verdict(rules_fire: bool, embedding: bool) -> str:
    """Which parts of the program predict a link: its proofs are rules, the embedding's fact, or both.

    >>> link_verdict(True, True), link_verdict(False, True), link_verdict(True, False)
    ('predicted by rules and the embedding', 'predicted by the embedding alone', 'predicted by rules alone')
    """
    if rules_fire and embedding:
        return "predicted by rules and the embedding"
    if embedding:
        return "predicted by the embedding alone"
    if rules_fire:
        return "predicted by rules alone"
    return "not predicted: no rule fires and there is no embedding fact"


def explain_link(model, graph: nx.MultiDiGraph, link: tuple[str, str, str], rules_file: str,
                 program_file: str | None = None, *, limit: int = 5, ranked: float | None = None) -> str:
    """Why ``model`` predicts ``link = (h, r, t)``: its probability, which parts predict it, and each proof.

    The rule proofs are those of :func:`link_proofs` (each rule's weight and ``file:line``, and
    the facts of its path); the embedding's proof is the fact ``kge_link(h, r, t, yes)`` of the
    ``nn(kge, ...)`` declaration (``program_file:line``), with its probability ``sigmoid(phi)``.
    The probability is the noisy-or of all of them (the rules alone: the model's aggregation).

    Args:
        model: a fitted :class:`tasks.kg.completion.PathRuleCompletion` whose rules carry the
            lines of ``rules_file`` (:meth:`~tasks.kg.completion.PathRuleCompletion.export`).
        graph: the known facts the rules are applied to.
        link: ``(h, r, t)``.
        rules_file: the rule file's name, shown with each rule's line.
        program_file: the ``link.dl`` program (with an embedding), shown with the declaration's line.
        limit: rule proofs shown at most (the probability counts every rule that fires).
        ranked: with ``exclusive_answers``, the score the link is ranked by: its probability given
            exactly one candidate answer (:mod:`greybox.learn.exclusive`), shown after the probability.
    """
    import math

    h, r, t = link
    rules = model.weighted_rules()
    proofs = link_proofs(graph, rules, link, per_rule=1, limit=len(rules) or 1)
    firing = [p for p in proofs if not p.rule.backoff]
    backoff = [p for p in proofs if p.rule.backoff]
    p_kge = None
    if model.kge is not None and h in model.entity_id and t in model.entity_id:
        phi = float(model.embedding_scores(r, [h, t])[0, 1])
        p_kge = 1.0 / (1.0 + math.exp(-phi))
    weights = [1.0 if p.rule.weight is None else p.rule.weight for p in firing]
    counted = model.kge is None and model.aggregation == "log_count"
    if model.kge is None and model.aggregation == "max":
        p_rules, how = max(weights, default=0.0), "the best rule (max)"
    else:
        p_rules, how = 1.0 - math.prod(1.0 - w for w in weights), "noisy-or of the rules"
    p = 1.0 - (1.0 - (p_kge or 0.0)) * (1.0 - p_rules)
    lines = [f"link({h}, {r}, {t}): p = {p:.4f}, {link_verdict(bool(firing), p_kge is not None)}"]
    if ranked is not None:
        lines.append(f"  ranked by p = {ranked:.4f} given exactly one candidate answer (exclusive_answers)")
    if p_kge is not None:
        lines.append(f"  = 1 - (1 - {p_kge:.4f} embedding) * (1 - {p_rules:.4f} rules)")
        where = ""
        if program_file is not None:
            from pathlib import Path

            text = Path(program_file).read_text().splitlines()
            number = next((i for i, line in enumerate(text, 1) if line.startswith("nn(")), 0)
            where = f"  {program_file}:{number}"
        lines.append(f"  embedding: {p_kge:.4f}  kge_link({h}, {r}, {t}, yes){where}  (ComplEx score {phi:.3f})")
    elif model.kge is not None:
        lines.append(f"  embedding: none ({h if h not in model.entity_id else t} is not an entity it was trained on)")
    if firing:
        lines.append(f"  rules: {p_rules:.4f} = {how}; {len(firing)} fire"
                     + (f", the {limit} best shown" if len(firing) > limit else ""))
        lines += ["  " + line for line in format_proofs(firing[:limit], link, rules_file).splitlines()]
        if counted:
            # the ranking's score: every rule that fires, -log(1 - w) * log(1 + its paths)
            terms = [(-math.log1p(-min(w, 1 - 1e-12)), path_count(graph, p.rule, link)) for w, p in zip(weights, firing)]
            score = sum(v * math.log1p(n) for v, n in terms)
            lines.append(f"  ranked by score = {score:.4f} = sum over the rules of -log(1 - w) * log(1 + paths) (log_count):")
            lines += [f"    {v:.4f} * log(1 + {n})  {rules_file}:{p.rule.line}" for (v, n), p in zip(terms, firing)]
    else:
        lines.append("  rules: none fires")
    if backoff:
        best = max(1.0 if p.rule.weight is None else p.rule.weight for p in backoff)
        lines.append(f"  back-off: {best:.4f} = the best back-off rule (max-mult), orders the links the rules score "
                     f"equally; {len(backoff)} fire" + (f", the {limit} best shown" if len(backoff) > limit else ""))
        lines += ["  " + line for line in _proof_lines(backoff[:limit], rules_file)]
    return "\n".join(lines)


def explain_checkpoint(ckpt_path: str, data, link: tuple[str, str, str], rules_file: str) -> str:
    """:func:`explain_link` for the model of a ``greybox fit`` checkpoint on the folder of ``data``.

    The checkpoint's rules are written to ``rules_file`` (and, with an embedding, the program
    to ``link.dl`` beside it) so that every ``file:line`` shown can be opened.
    """
    from greybox.training.checkpoints import load_checkpoint
    from tasks.kg.completion import PathRuleCompletion

    state = load_checkpoint(ckpt_path)
    hparams = {k: v for k, v in dict(state.get("hyper_parameters", {})).items() if not k.startswith("_")}
    model = PathRuleCompletion(**hparams)
    model.on_load_checkpoint(state)
    model.load_state_dict(state["state_dict"])
    kg = data.load()
    files = model.export(rules_file, kg)
    program = str(files[2]) if len(files) > 2 else None
    ranked = None
    if model.exclusive_answers:
        from greybox.learn.path_mining import BodyMatrices, GraphIndex

        h, r, t = link
        matrices = BodyMatrices(GraphIndex(kg.facts(), kg.entities, kg.relations))
        ids = matrices.index.entity_id
        if h in ids and t in ids:
            scores = model.rule_scores(matrices, [x for x in model.weighted_rules() if x.head == r], kg.candidates or None)
            ranked = float(scores[ids[h], ids[t]])
    return explain_link(model, kg.graph, link, rules_file, program, ranked=ranked)
