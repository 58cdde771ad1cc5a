"""The most probable explanation (MPE): the most probable world consistent with the evidence.

A world chooses, for every probabilistic fact, whether it holds; for an annotated
disjunction, which one of its heads holds, or none. A weighted rule ``p :: h :- b``
counts as one such choice (its weight fact). The MPE is the world of highest
probability in which every ``evidence(a, true)`` atom is derived and every
``evidence(a, false)`` atom is not.

It is exact: the facts the evidence depends on are searched by the same Shannon
expansion that conditions probabilities (``greybox.query.conditioning``, with max
instead of sum); every other probabilistic fact takes its own most probable value.
The search is exponential in the worst case, so it refuses more than ``max_groups``
fact groups under the evidence (``--mpe-max-facts``).

Example:
    >>> from greybox.lang.parser import parse_program, parse_query
    >>> from greybox.kb.knowledge_base import KnowledgeBase, Origin
    >>> from greybox.query.session import QuerySession
    >>> from greybox.query.sources import Evidence
    >>> import networkx as nx
    >>> program = parse_program("0.3 :: a. 0.4 :: b. c :- a. c :- b.")
    >>> kb = KnowledgeBase(program, [Origin("fact", None, 1)] * 4, nx.MultiDiGraph())
    >>> c = parse_query("c").body[0]
    >>> result = most_probable_explanation(QuerySession(kb, evidence=[Evidence(c, True)]))
    >>> round(result["probability"], 10), [f["fact"] for f in result["true"]]   # b alone: 0.7 * 0.4
    (0.28, ['b'])
"""

from __future__ import annotations

from greybox.errors import EvidenceError, ResourceLimitError

from .conditioning import mentioned_groups, most_probable
from .directed import slice_program

__all__ = ["most_probable_explanation", "DEFAULT_MAX_GROUPS"]

#: the most fact groups the exact search takes on by default
DEFAULT_MAX_GROUPS = 30


def most_probable_explanation(session, *, max_groups: int = DEFAULT_MAX_GROUPS) -> dict:
    """The most probable world of the session's knowledge base given its evidence.

    Args:
        session: a ``QuerySession`` (its evidence and limits are used).
        max_groups: the most fact groups the evidence may depend on.

    Returns:
        ``{"probability", "evidence", "true": [...], "false": [...]}``: the world's
        probability (over every probabilistic fact of the program) and its
        probabilistic facts that hold and that do not, each
        ``{"fact", "probability", "origin"}``, in program order.

    Raises:
        EvidenceError: no world satisfies the evidence.
        ResourceLimitError: the evidence depends on more than ``max_groups`` fact groups,
            or a limit of the evaluation was passed.
    """
    from greybox.engine import reference
    from greybox.semirings.wmc import FactWeights

    kb = session.kb
    all_facts = reference.all_facts(session.info)
    chosen: dict[int, int | None] = {}  # group of the whole program -> its fact that holds, or None
    if session.evidence:
        with session.limits.hints():
            info = session.analyse(slice_program(kb.program, session.evidence_relations()))
            facts = reference.all_facts(info)
            weights = FactWeights.from_facts(facts)
            constraints = session.evidence_constraints(info, facts)
        n = len(mentioned_groups(constraints, weights))
        if n > max_groups:
            raise ResourceLimitError(
                f"the evidence depends on {n} probabilistic fact groups, more than the {max_groups} "
                "the exact MPE search takes on",
                hint=f"raise --mpe-max-facts (now {max_groups}); the search may take up to 2^{n} steps",
            )
        with session.limits.hints():
            weight, world = most_probable(constraints, weights, deadline=session.limits.deadline)
        if weight <= 0.0:
            raise EvidenceError(
                "no world satisfies the evidence: " + ", ".join(str(e) for e in session.evidence),
                file=session.evidence[0].file, line=session.evidence[0].line,
                hint="check each observation: one may contradict the facts or another observation",
            )
        # the sliced program numbers its facts apart: find each one in the whole program
        index = {_key(f): f.id for f in all_facts}
        for g, f in world.items():
            members = [index[_key(facts[m])] for m in weights.members[g]]
            chosen[all_facts[members[0]].group] = None if f is None else index[_key(facts[f])]
    groups: dict[int, list] = {}
    for f in all_facts:
        if f.probability is not None:
            groups.setdefault(f.group, []).append(f)
    probability = 1.0
    holds: set[int] = set()
    for g, members in groups.items():
        rest = max(0.0, 1.0 - sum(f.probability for f in members))
        if g not in chosen:
            best = max(members, key=lambda f: f.probability)
            chosen[g] = best.id if best.probability >= rest else None
        f = chosen[g]
        probability *= rest if f is None else all_facts[f].probability
        if f is not None:
            holds.add(f)
    listed = [f for f in all_facts if f.probability is not None]
    return {
        "probability": probability,
        "evidence": [str(e) for e in session.evidence],
        "true": [_fact_json(f, kb) for f in listed if f.id in holds],
        "false": [_fact_json(f, kb) for f in listed if f.id not in holds],
    }


def _key(fact) -> tuple:
    span = fact.span
    return (fact.relation, tuple(fact.args), span.file, span.line, span.column)


def _fact_json(fact, kb) -> dict:
    from greybox.lang.ast import Atom, Const
    from greybox.lang.printer import format_atom, format_statement

    if fact.relation is not None:
        text = format_atom(Atom(fact.relation, tuple(Const(v) for v in fact.args)))
    else:
        text = format_statement(fact.clause)
    origin = kb.origin_of(fact.span) if fact.span is not None and fact.span.line else None
    return {"fact": text, "probability": fact.probability, "origin": str(origin) if origin is not None else None}
