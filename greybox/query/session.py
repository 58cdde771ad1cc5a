"""Answering questions over a loaded knowledge base: queries, whole relations, evidence.

A ``QuerySession`` holds one knowledge base and the options of a ``greybox query``
run (semiring, proofs kept, evidence, limits) and answers:

* ``answer(query)``: the bindings of a query, each with its probability and proofs;
* ``relations(names)``: every tuple of whole relations, sorted, with its probability;
* ``mpe()`` (see ``greybox.query.mpe``): the most probable world given the evidence.

Semirings (``--semiring``):

=========  ===============================================================
exact      the probability of the answer: the weighted model count of every
           proof (ProbLog's semantics); the ``k`` best proofs are shown
top-k      the ``k`` most probable proofs are kept, and the probability is
           that of their disjunction (a lower bound; Scallop's ``topkproofs``)
max-mult   the probability of the single best derivation
add-mult   the sum over derivations of their products (not a probability
           when derivations overlap; diverges on cycles)
max-min    fuzzy truth: the weakest fact of the strongest derivation
boolean    1 for every derivable answer
=========  ===============================================================

With evidence, probabilities are conditional: ``P(q | e) = P(q and e) / P(e)``,
computed exactly over every proof (``greybox.query.conditioning``); evidence needs
the ``exact`` semiring. Each question is evaluated on the part of the program it
needs (``greybox.query.directed``).

Example:
    >>> from greybox.lang.parser import parse_program, parse_query
    >>> from greybox.kb.knowledge_base import KnowledgeBase, Origin
    >>> import networkx as nx
    >>> program = parse_program("0.5 :: e(a, b). 0.5 :: e(a, c). r(X) :- e(a, X).")
    >>> kb = KnowledgeBase(program, [Origin("fact", None, 1)] * 3, nx.MultiDiGraph())
    >>> s = QuerySession(kb, semiring="max-mult")
    >>> [(a["bindings"], a["probability"]) for a in s.answer(parse_query("?- r(X)."))["answers"]]
    [({'X': 'b'}, 0.5), ({'X': 'c'}, 0.5)]
"""

from __future__ import annotations

from typing import Iterable, Sequence

from greybox.errors import ConfigError, EvidenceError, UnknownRelationError
from greybox.lang.ast import Atom, Query, Var

from .conditioning import probability
from .directed import QueryLimits, check_goal, directed_program, goal_relations, slice_program, suggest_relation
from .proofs import proofs_json
from .sources import Evidence

__all__ = ["QuerySession", "SEMIRINGS", "PROOF_SEMIRINGS", "relation_query"]

#: the ``--semiring`` choices, the default first
SEMIRINGS = ("exact", "top-k", "max-mult", "add-mult", "max-min", "boolean")
#: those whose answers come with proofs
PROOF_SEMIRINGS = ("exact", "top-k")


class QuerySession:
    """One knowledge base and the options that every question of a run shares.

    Args:
        kb: the ``KnowledgeBase``.
        semiring: one of ``SEMIRINGS``.
        k: proofs kept (``top-k``) and shown per answer.
        evidence: observations to condition on (``exact`` only).
        limits: resource limits (default: ``QueryLimits()``).

    Raises:
        ConfigError: an unknown semiring, ``k < 1``, or evidence with a semiring other than exact.
        GreyboxError: the knowledge base has a problem; an evidence atom names an unknown relation.
    """

    def __init__(self, kb, *, semiring: str = "exact", k: int = 3, evidence: Sequence[Evidence] = (),
                 limits: QueryLimits | None = None) -> None:
        if semiring not in SEMIRINGS:
            raise ConfigError(f"unknown semiring {semiring!r}", hint=f"use one of: {', '.join(SEMIRINGS)}")
        if k < 1:
            raise ConfigError(f"-k must be at least 1, not {k}", hint="e.g. -k 3")
        if evidence and semiring != "exact":
            raise ConfigError(f"evidence needs exact probabilities, not --semiring {semiring}",
                              hint="leave --semiring out (it defaults to exact) when giving evidence")
        self.kb = kb
        self.info = kb.info
        self.semiring = semiring
        self.k = k
        self.evidence = list(evidence)
        self.limits = limits or QueryLimits()
        for e in self.evidence:
            check_goal(self.info.relations, [e.atom], inputs=kb.inputs)

    # ------------------------------------------------------------ questions

    def answer(self, q: Query, *, proofs: bool = False, need_proofs: bool = False) -> dict:
        """Answer one query.

        Args:
            q: the query.
            proofs: add each proof's derivation tree (``tree`` and ``text``).
            need_proofs: list each answer's best proofs (implied by ``proofs``).

        Returns:
            ``{"query", "semiring", "evidence", "answers": [{"bindings", "probability", "proofs"}]}``,
            answers most probable first; see ``greybox.query_cli.answer_query`` for the proofs.

        Raises:
            UnknownRelationError, ArityError: the query names a relation the program lacks.
            ConfigError: ``proofs`` with a semiring that has none.
            ResourceLimitError: a limit was passed (the hint names the option to raise).
            EvidenceError: the evidence has probability 0.
        """
        from greybox.engine import reference
        from greybox.engine.reference import value_order
        from greybox.lang.printer import format_statement

        check_goal(self.info.relations, q.body, inputs=self.kb.inputs)
        need_proofs = need_proofs or proofs
        if proofs and self.semiring not in PROOF_SEMIRINGS:
            raise ConfigError(f"--semiring {self.semiring} gives no proofs",
                              hint="use --semiring exact or top-k with --proofs")
        exact = self.semiring == "exact"
        with self.limits.hints():
            info, goal, evaluator_semiring, k = self._plan(q, need_proofs)
            answers = reference.query(info, goal, semiring=evaluator_semiring, k=k, exact=exact,
                                      **self.limits.evaluator())
            facts = reference.all_facts(info)
            conditional = self._conditioner(info, facts) if self.evidence else None
        out = []
        for answer in answers:
            p = answer.probability if conditional is None else conditional(answer.tag)
            entry = {"bindings": answer.bindings, "probability": p, "proofs": []}
            if need_proofs and self.semiring in PROOF_SEMIRINGS:
                entry["proofs"] = proofs_json(self.kb, info, facts, goal, answer, k=self.k, trees=proofs)
            out.append(entry)
        if conditional is not None:
            out.sort(key=lambda a: (-a["probability"], [value_order(v) for v in a["bindings"].values()]))
        return {"query": format_statement(q), "semiring": self.semiring,
                "evidence": [str(e) for e in self.evidence], "answers": out}

    def relations(self, names: Iterable[str] | None = None) -> list[dict]:
        """Every tuple of whole relations, sorted, each with its probability.

        Args:
            names: the relations (default: every derived relation, by name).

        Returns:
            ``[{"relation", "arity", "tuples": [{"args", "probability"}]}]`` in the order of ``names``.

        Raises:
            UnknownRelationError: a name the program lacks (with the closest one as a hint).
        """
        from greybox.engine import reference
        from greybox.semirings.wmc import FactWeights

        relations = self.info.relations
        if names is None:
            names = sorted(n for n, r in relations.items() if r.kind == "derived")
        names = list(names)
        for n in names:
            if n not in relations:
                guess = suggest_relation(n, -1, {m: r.arity for m, r in relations.items()})
                raise UnknownRelationError(f"unknown relation {n!r}: no fact, rule or declaration defines it",
                                           hint=f"did you mean {guess}?" if guess else "see `greybox kb list`")
        with self.limits.hints():
            info = self.analyse(slice_program(self.kb.program, set(names) | self.evidence_relations()))
            facts = reference.all_facts(info)
            probabilistic = any(f.probability is not None for f in facts)
            if self.semiring == "exact":
                semiring = "proofs" if probabilistic or self.evidence else "boolean"
            else:
                semiring = self.semiring
            model = reference.evaluate(info, semiring=semiring, k=self.k, facts=facts, **self.limits.evaluator())
            weights = FactWeights.from_facts(facts)
            conditional = self._conditioner(info, facts, model) if self.evidence else None
            out = []
            for n in names:
                rows = []
                for t in model.tuples(n):
                    tag = model.relations[n][t]
                    if conditional is not None:
                        p = conditional(tag)
                    elif semiring == "proofs":
                        p = probability([(tag, True)], weights, deadline=self.limits.deadline)
                    else:
                        p = model.semiring.probability(tag, facts)
                    rows.append({"args": list(t), "probability": p})
                out.append({"relation": n, "arity": relations[n].arity, "tuples": rows})
        return out

    # ------------------------------------------------------------ internals

    def _plan(self, q: Query, need_proofs: bool):
        """``(analysed program, query over it, evaluator semiring, k)`` for one question.

        * with evidence: the slice the query and the evidence need, every proof kept;
        * without proofs to show, in a semiring magic sets keep (exact, boolean, max-min):
          the magic-rewritten slice (exact evaluates boolean, then every proof only when
          the program has probabilistic facts);
        * otherwise the slice, in the semiring asked (exact: top-k for the proofs shown).
        """
        if self.evidence:
            program = slice_program(self.kb.program, goal_relations(q.body) | self.evidence_relations())
            return self.analyse(program), q, "proofs", self.k
        exact = self.semiring == "exact"
        if (exact and not need_proofs) or self.semiring in ("boolean", "max-min"):
            program, goal, _ = directed_program(self.kb.program, q, self.semiring, inputs=self.kb.inputs)
            return self.analyse(program), goal, ("boolean" if exact else self.semiring), self.k
        info = self.analyse(slice_program(self.kb.program, goal_relations(q.body)))
        if exact:
            # more proofs than shown: those that merely add facts to another are dropped, and
            # top-k keeps such supersets (a rule base with inverse rules derives many)
            return info, q, "top-k", 4 * self.k
        return info, q, self.semiring, self.k

    def analyse(self, program):
        """``analyze`` a part of the knowledge base's program, with its inputs and sources."""
        from greybox.lang.analysis import analyze

        return analyze(program, inputs=self.kb.inputs, source=self.kb.sources)

    def evidence_relations(self) -> set[str]:
        """The relations the evidence observes."""
        return {e.atom.predicate for e in self.evidence}

    def evidence_constraints(self, info, facts, model=None) -> list:
        """The evidence as ``(proofs, holds)`` constraints over ``facts`` (numbered as ``info``'s)."""
        from greybox.engine import reference

        if model is None or not isinstance(model.semiring, reference.Proofs):
            model = reference.evaluate(info, semiring="proofs", facts=facts, **self.limits.evaluator())
        return [(model.tag(e.atom.predicate, tuple(a.value for a in e.atom.args)), e.value) for e in self.evidence]

    def _conditioner(self, info, facts, model=None):
        """``tag -> P(tag | evidence)``, for proof tags over ``facts``."""
        from greybox.semirings.wmc import FactWeights

        weights = FactWeights.from_facts(facts)
        constraints = self.evidence_constraints(info, facts, model)
        deadline = self.limits.deadline
        p_evidence = probability(constraints, weights, deadline=deadline)
        if p_evidence <= 0.0:
            raise EvidenceError(
                "the evidence has probability 0: " + ", ".join(str(e) for e in self.evidence)
                + " cannot all hold",
                file=self.evidence[0].file, line=self.evidence[0].line,
                hint="check each observation: one may contradict the facts or another observation",
            )

        def conditional(tag) -> float:
            return probability(constraints + [(tag, True)], weights, deadline=deadline) / p_evidence

        return conditional


def relation_query(name: str, arity: int) -> Query:
    """``?- name(X1, ..., Xn).``

    >>> from greybox.lang.printer import format_statement
    >>> format_statement(relation_query("aunt", 2))
    '?- aunt(X1, X2).'
    """
    return Query((Atom(name, tuple(Var(f"X{i + 1}") for i in range(arity))),))
