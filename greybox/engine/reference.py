"""The reference evaluator: plain Python, one tag per tuple, any semiring.

It is the ground truth the tensor engine is tested against, and what ``greybox
query`` runs. It is written for clarity, not for scale. The tuples live in
``reference_relations``; rule bodies are compiled and run by ``reference_plan``;
this module runs the strata and answers queries.

Evaluation (``evaluate``) goes stratum by stratum in semi-naive fashion, with
datafrog's vocabulary: for a rule ``h :- b1, ..., bn`` whose atoms at positions
``I`` are in the stratum being computed, one round adds (``to_add``)

    sum over i in I of   total(b_<i) * recent(b_i) * stable(b_>i)

where ``stable`` is a relation before the previous round, ``recent`` what that
round changed and ``total = stable + recent``. Round one evaluates the rules that
read no relation of the stratum; all its tuples are ``recent`` and ``stable`` is
empty. For an idempotent semiring ``recent`` holds the tuples whose tag changed,
with their new tag; for add-mult it holds the *increments*, so the sum telescopes
``prod total - prod stable`` and every ground derivation is counted once; it
stops when no tag changes by more than 1e-9 relative, and a cycle that keeps
adding runs into ``max_iterations``. Tuples whose tag is the semiring's zero are
not kept (with the proof semirings: tuples without a consistent proof of
non-zero probability, see ``greybox.semirings.proofs``).

A body runs left to right over bindings: comparisons, ``is``, negations and
aggregates as soon as their variables are bound, then the atom sharing most bound
variables; in a semi-naive round the atom that reads ``recent`` runs first. (The
order matters only to ``top-k``, which truncates after every product.)

Literals:

* ``\\+ q(args)``: the tags of the ``q`` tuples that match (variables that occur
  nowhere else are existential) are added up; if any matched the literal
  contributes ``negate(sum)``, otherwise ``one``.
* comparisons ``< <= > >= = !=`` (``X = expr`` binds an unbound ``X``) and ``X is
  expr``; integers compare numerically, symbols alphabetically, integers before
  symbols. Arithmetic is on 64-bit integers, exactly (``int64``): a result outside
  ``-2**63 .. 2**63-1`` raises ``ArithmeticOverflowError`` naming the rule (so does a
  ``sum`` aggregate whose total is outside); ``//`` and ``mod`` follow Python (floor,
  the sign of the divisor); by zero the literal fails (no value, so no tuple).
* ``R = op{Vars : Body}``: ``Body`` is evaluated on its own, grouped by its
  variables that occur elsewhere in the rule; ``count`` counts the distinct
  bindings of ``Vars``, ``sum``/``min``/``max`` aggregate the first of them over
  those bindings. The tag of a result is the product of the tags of the distinct
  bindings (each the sum of its derivations): exact when the aggregated relations
  are deterministic. When every group variable is bound before the aggregate runs
  (those that other atoms of the body bind run first), an empty group gives
  ``count`` 0 and ``sum`` 0 with tag ``one``; ``min``/``max`` fail.
* a weighted rule ``p :: h :- body`` conjoins its weight fact to the body.

Facts: the program's own (``collect_facts``, ids ``0..S-1``) then ``extra_facts``
renumbered ``S, S+1, ...`` in the order given; their groups are renumbered after
the program's groups (extra facts that shared a group still share one).

Example:
    >>> from greybox.lang.parser import parse_program
    >>> from greybox.lang.analysis import analyze
    >>> info = analyze(parse_program('''
    ...     edge(a, b). 0.5 :: edge(b, c).
    ...     path(X, Y) :- edge(X, Y).
    ...     path(X, Z) :- path(X, Y), edge(Y, Z).
    ... '''))
    >>> model = evaluate(info, semiring="max-mult")
    >>> model.tuples("path")
    [('a', 'b'), ('a', 'c'), ('b', 'c')]
    >>> model.probability("path", ("a", "c"))
    0.5
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from ..errors import ArithmeticOverflowError, ArityError, ResourceLimitError, UnknownRelationError
from ..lang.ast import Atom, Clause, Query
from .int64 import check_facts, located
from .reference_plan import ReferencePlan, ReferenceRule, RunContext, Value, tuple_order, value_order
from .reference_relations import EMPTY, RecentView, StableView, TaggedRelation
from ..semirings.proofs import ProofsScalar
from ..semirings.scalar import ScalarSemiring
from ..semirings.top_k import TopKScalar
from ..semirings.wmc import FactWeights, proof_probability, wmc
from .reference_semirings import make_semiring

__all__ = ["DEFAULT_MAX_TUPLES", "Model", "Answer", "Evaluator", "evaluate", "exact_probabilities", "query", "value_order", "all_facts"]


#: tuples one relation may hold, and bindings one join may make, unless told otherwise
DEFAULT_MAX_TUPLES = 1_000_000

# ---------------------------------------------------------------- the model


@dataclass
class Model:
    """The result of an evaluation.

    Attributes:
        relations: relation name -> {argument tuple: tag}; every relation of the program is present.
        facts: the input facts, numbered ``0..F-1`` (the program's, then the extra ones).
        semiring: the (bound) semiring the tags belong to.
    """

    relations: dict[str, dict[tuple, Any]]
    facts: list
    semiring: ScalarSemiring

    def tag(self, relation: str, args: Sequence[Value]) -> Any:
        """The tag of one tuple (the semiring's zero when it was not derived)."""
        return self.relations.get(relation, {}).get(tuple(args), self.semiring.zero())

    def probability(self, relation: str, args: Sequence[Value]) -> float:
        """The probability the semiring gives a tuple (0.0 when it was not derived)."""
        rel = self.relations.get(relation, {})
        t = tuple(args)
        if t not in rel:
            return 0.0
        return self.semiring.probability(rel[t], self.facts)

    def tuples(self, relation: str) -> list[tuple]:
        """The derived tuples of ``relation``, sorted (integers before symbols)."""
        return sorted(self.relations.get(relation, {}), key=tuple_order)


def all_facts(info, extra_facts: Sequence = ()) -> list:
    """The program's facts (``collect_facts``) followed by ``extra_facts`` renumbered after them.

    Raises:
        UnknownRelationError: an extra fact names a relation the program does not have.
        ArityError: an extra fact has the wrong number of arguments.
    """
    from ..lang.facts import collect_facts

    own = list(collect_facts(info))
    n = len(own)
    next_group = max((f.group for f in own), default=-1) + 1
    groups: dict[Any, int] = {}
    out = list(own)
    for i, f in enumerate(extra_facts):
        rel = info.relations.get(f.relation) if f.relation is not None else None
        if rel is None:
            raise UnknownRelationError(
                f"input fact for unknown relation {f.relation!r}",
                hint=f"declare it in the program (e.g. `type {f.relation}(...).`) or use one of: "
                f"{', '.join(sorted(info.relations))}",
            )
        if len(f.args) != rel.arity:
            raise ArityError(
                f"input fact {f.relation}{tuple(f.args)} has {len(f.args)} arguments, "
                f"but {f.relation} has {rel.arity}",
                hint=f"give {rel.arity} arguments",
            )
        g = groups.setdefault(f.group, next_group + len(groups))
        out.append(replace(f, id=n + i, group=g, args=tuple(f.args)))
    return out


def _weight_facts(facts: Sequence) -> tuple[dict[int, Any], list]:
    by_identity = {id(f.clause): f for f in facts if f.relation is None and f.clause is not None}
    weighted = [f for f in facts if f.relation is None and f.clause is not None]
    return by_identity, weighted


def _weight_for(clause: Clause, by_identity: dict[int, Any], weighted: list) -> Any:
    f = by_identity.get(id(clause))
    if f is not None:
        return f
    if getattr(clause, "weight", None) is None:
        return None
    for f in weighted:
        if f.clause == clause and f.clause.span == clause.span:
            return f
    for f in weighted:
        if f.clause == clause:
            return f
    return None




class Evaluator:
    """A program compiled once (rule bodies ordered into steps) and evaluated on any facts.

    Args:
        info: the analysed program (``ProgramInfo``).

    Raises:
        UnsafeRuleError: a rule body cannot be ordered (the analysis rejects such rules first).

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> from greybox.lang.analysis import analyze
        >>> ev = Evaluator(analyze(parse_program("0.4 :: p(a). q(X) :- p(X).")))
        >>> ev.run(all_facts(ev.info), semiring="add-mult").probability("q", ("a",))
        0.4
    """

    def __init__(self, info) -> None:
        self.info = info
        # the analysis turns an annotated disjunction with a body into one weighted rule per head
        self.strata = [(stratum, [ReferenceRule(c, stratum.relations) for c in stratum.rules]) for stratum in info.strata]

    def run(
        self,
        facts: Sequence,
        *,
        semiring: str | ScalarSemiring = "boolean",
        k: int = 3,
        max_iterations: int = 10_000,
        max_tuples: int = DEFAULT_MAX_TUPLES,
        time_budget_s: float | None = None,
    ) -> "Model":
        """Evaluate on ``facts`` (numbered ``0..F-1``, e.g. ``all_facts(info, extra)``); see ``evaluate``."""
        started = time.monotonic()
        facts = list(facts)
        check_facts(facts)
        sr = make_semiring(semiring, k=k).bind(facts)
        ctx = RunContext(sr, {}, max_rows=max_tuples)
        full = ctx.full
        for name, rel_info in self.info.relations.items():
            full[name] = TaggedRelation(name, rel_info.arity)
        for f in facts:
            if f.relation is None:
                continue
            rel = full.setdefault(f.relation, TaggedRelation(f.relation, len(f.args)))
            t = tuple(f.args)
            tag = sr.from_fact(f)
            if t in rel.tags:
                tag = sr.add(rel.tags[t], tag)
            if not sr.is_zero(tag):
                rel.set(t, tag)
        by_identity, weighted = _weight_facts(facts)
        limits = (max_iterations, max_tuples, time_budget_s, started)
        for stratum, rules in self.strata:
            for rule in rules:
                w = _weight_for(rule.clause, by_identity, weighted)
                if w is not None:
                    ctx.weight_facts[rule] = w
            _run_stratum(rules, stratum, ctx, limits)
        return Model({name: dict(rel.tags) for name, rel in full.items()}, facts, sr)


def evaluate(
    info,
    extra_facts: Sequence = (),
    *,
    semiring: str | ScalarSemiring = "boolean",
    k: int = 3,
    max_iterations: int = 10_000,
    max_tuples: int = DEFAULT_MAX_TUPLES,
    time_budget_s: float | None = None,
    facts: Sequence | None = None,
) -> "Model":
    """Evaluate a program to its least model in ``semiring``.

    Args:
        info: the analysed program (``ProgramInfo``).
        extra_facts: run-time ``InputFact``s for input or neural relations; they are
            renumbered after the program's own facts (see ``all_facts``).
        semiring: a name (``boolean``, ``add-mult``, ``max-mult``, ``max-min``,
            ``proofs``, ``top-k``) or a ``ScalarSemiring``.
        k: proofs kept per tuple by ``top-k``.
        max_iterations: rounds per stratum.
        max_tuples: tuples one relation may hold, and bindings one join of a rule body may
            make (the join stops as soon as it passes).
        time_budget_s: wall-clock seconds for the whole evaluation (None: no limit).
        facts: use these (already numbered ``0..F-1``) instead of ``all_facts(info, extra_facts)``.

    Returns:
        The ``Model``.

    Raises:
        ResourceLimitError: a limit was passed; ``relation`` names the relation that kept growing,
            or the message names the rule whose join passed ``max_tuples``.
        ArithmeticOverflowError: integer arithmetic left the 64-bit range (the message names the rule).
        UnknownRelationError, ArityError: an extra fact does not fit the program.
        TypeCheckError: a fact holds an integer outside the 64-bit range.
    """
    facts = list(facts) if facts is not None else all_facts(info, extra_facts)
    return Evaluator(info).run(
        facts, semiring=semiring, k=k, max_iterations=max_iterations, max_tuples=max_tuples, time_budget_s=time_budget_s
    )


def _limit_error(kind: str, relation: str, limit) -> ResourceLimitError:
    hint = (
        "a recursive rule may keep creating new values (e.g. `n(Y) :- n(X), Y is X + 1.`); "
        f"bound it with a comparison, or raise {kind}"
    )
    what = {
        "max_tuples": f"relation '{relation}' grew past {limit:,} tuples",
        "max_iterations": f"relation '{relation}' was still changing after {limit:,} rounds",
        "time_budget_s": f"evaluation ran past its time budget of {limit:g} s while deriving '{relation}'",
    }[kind]
    return ResourceLimitError(what, relation=relation, hint=hint)


def _diverged(relation: str) -> ResourceLimitError:
    return ResourceLimitError(
        f"the tags of relation '{relation}' grew without bound (a cyclic derivation keeps adding)",
        relation=relation,
        hint="add-mult sums every derivation, which diverges on cycles; use max-mult or top-k for recursive programs",
    )


def _merge(rel: TaggedRelation, to_add: dict[tuple, Any], sr: ScalarSemiring, previous: dict) -> dict[tuple, Any]:
    """Add ``to_add`` into ``rel``; return ``recent`` (new tags, or increments for add-mult)."""
    recent: dict[tuple, Any] = {}
    missing = StableView._MISSING
    for t, inc in to_add.items():
        old = rel.tags.get(t)
        new = inc if old is None else sr.add(old, inc)
        if sr.is_zero(new):
            continue
        if isinstance(new, float) and not math.isfinite(new):
            raise _diverged(rel.name)
        if old is None or new != old:
            previous[t] = missing if old is None else old
            rel.set(t, new)
        if old is None or sr.changed(old, new):
            recent[t] = new if sr.idempotent else inc
    return recent


def _run_stratum(rules: list[ReferenceRule], stratum, ctx: RunContext, limits) -> None:
    max_iterations, max_tuples, time_budget_s, started = limits
    sr, full = ctx.sr, ctx.full
    names = sorted(stratum.relations)

    def check(name: str) -> None:
        if len(full[name]) > max_tuples:
            raise _limit_error("max_tuples", name, max_tuples)
        if time_budget_s is not None and time.monotonic() - started > time_budget_s:
            raise _limit_error("time_budget_s", name, time_budget_s)

    def whole(pos: int, atom: Atom):
        return full.get(atom.predicate, EMPTY)

    # round one: the rules that read nothing of this stratum, over everything known so far
    to_add: dict[str, dict[tuple, Any]] = {r: {} for r in names}
    for rule in rules:
        if not rule.internal:
            _accumulate(to_add[rule.clause.head.predicate], rule.heads(rule.base, ctx, whole), sr)
    recent: dict[str, RecentView] = {}
    for r in names:
        _merge(full[r], to_add[r], sr, {})
        # against an empty ``stable`` every tuple is recent, with its whole tag
        recent[r] = RecentView(dict(full[r].tags))
        check(r)
    if not stratum.recursive:
        return
    stable: dict[str, Any] = {r: EMPTY for r in names}
    rounds = 0
    while any(len(recent[r]) for r in names):
        rounds += 1
        busiest = max(names, key=lambda r: len(recent[r]))
        if rounds > max_iterations:
            raise _limit_error("max_iterations", busiest, max_iterations)
        if time_budget_s is not None and time.monotonic() - started > time_budget_s:
            raise _limit_error("time_budget_s", busiest, time_budget_s)
        to_add = {r: {} for r in names}
        for rule in rules:
            for i in rule.internal:
                if not len(recent[rule.clause.body[i].predicate]):
                    continue

                def source_of(pos: int, atom: Atom, i: int = i, rule: ReferenceRule = rule):
                    if atom.predicate not in stratum.relations:
                        return full.get(atom.predicate, EMPTY)
                    if pos == i:
                        return recent[atom.predicate]
                    return full[atom.predicate] if pos < i else stable[atom.predicate]

                _accumulate(to_add[rule.clause.head.predicate], rule.heads(rule.delta[i], ctx, source_of), sr)
        for r in names:
            previous: dict[tuple, Any] = {}
            recent[r] = RecentView(_merge(full[r], to_add[r], sr, previous))
            stable[r] = StableView(full[r], previous)
            check(r)


def _accumulate(into: dict[tuple, Any], new: dict[tuple, Any], sr: ScalarSemiring) -> None:
    for t, tag in new.items():
        into[t] = tag if t not in into else sr.add(into[t], tag)


# ---------------------------------------------------------------- exact probabilities and queries


def exact_probabilities(info, extra_facts: Sequence = (), **limits) -> dict[tuple[str, tuple], float]:
    """The exact probability of every derived tuple: the weighted model count of all its proofs.

    Exact for every construct but aggregates over probabilistic relations (whose tag
    is the product of the aggregated tuples' tags).

    Args:
        info: the analysed program.
        extra_facts: run-time input facts (see ``evaluate``).
        **limits: ``max_iterations``, ``max_tuples``, ``time_budget_s`` for ``evaluate``.

    Returns:
        ``{(relation, args): probability}`` for every tuple with at least one consistent proof.
    """
    model = evaluate(info, extra_facts, semiring="proofs", **limits)
    weights = model.semiring.weights
    return {(name, t): wmc(tag, weights) for name, rel in model.relations.items() for t, tag in rel.items()}


@dataclass(frozen=True)
class Answer:
    """One answer to a query.

    Attributes:
        variables: the query's variables, in order of first occurrence.
        values: their values in this answer.
        probability: exact probability of the answer (1.0 in a program without probabilistic facts).
        proofs: the best proofs (top-k), best first; each a frozenset of ``(fact_id, positive)``.
        proof_probabilities: the probability of each proof.
        tag: the answer's tag in the semiring of the query.
    """

    variables: tuple[str, ...]
    values: tuple
    probability: float
    proofs: tuple[frozenset, ...] = ()
    proof_probabilities: tuple[float, ...] = ()
    tag: Any = field(default=None, compare=False, repr=False)

    @property
    def bindings(self) -> dict[str, Value]:
        """``{variable: value}``."""
        return dict(zip(self.variables, self.values))


def _rename_query(q: Query) -> tuple[Query, tuple[str, ...]]:
    """The query with each ``_`` renamed apart, and its answer variables (the named ones)."""
    from ..lang.safety import rename_anonymous

    renamed, anonymous = rename_anonymous(q)
    return renamed, tuple(v for v in renamed.variables() if v not in anonymous)


def _answer_tags(model: Model, q: Query, names: tuple[str, ...], max_rows: int | None = None) -> dict[tuple, Any]:
    sr = model.semiring
    ctx = RunContext(sr, {}, max_rows=max_rows)
    for name, tags in model.relations.items():
        rel = ctx.full[name] = TaggedRelation(name, len(next(iter(tags), ())))
        for t, tag in tags.items():
            rel.set(t, tag)
    plan = ReferencePlan(q.body, set(names), q.span)
    try:
        rows = plan.run(ctx, lambda pos, atom: ctx.full.get(atom.predicate, EMPTY))
    except (ArithmeticOverflowError, ResourceLimitError) as err:
        raise located(err, q) from None
    out: dict[tuple, Any] = {}
    idx = [plan.slots[n] for n in names]
    for b, tag in rows:
        key = tuple(b[i] for i in idx)
        out[key] = tag if key not in out else sr.add(out[key], tag)
    return out


def query(
    info,
    q: Query,
    extra_facts: Sequence = (),
    *,
    semiring: str | ScalarSemiring = "top-k",
    k: int = 3,
    exact: bool = True,
    **limits,
) -> list[Answer]:
    """Answers to a conjunctive query, most probable first (ties: by values).

    Args:
        info: the analysed program.
        q: the query (``parse_query("?- grandparent(ann, X).")``).
        extra_facts: run-time input facts.
        semiring: the semiring whose tags the answers carry; the proofs shown come
            from ``top-k`` or ``proofs``.
        k: how many proofs per answer.
        exact: compute the exact probability from all proofs (can grow exponentially
            on large recursive programs); when False the probability is the one the
            ``semiring`` gives the answer (for ``top-k``: that of its best proofs, a lower bound).
        **limits: resource limits for ``evaluate``.

    Returns:
        A list of ``Answer``; with ``exact`` the probability is the weighted model count
        of all proofs of the answer (1.0 in a program without probabilistic facts).

    Example:
        >>> from greybox.lang.parser import parse_program, parse_query
        >>> from greybox.lang.analysis import analyze
        >>> info = analyze(parse_program("0.6 :: p(a). 0.5 :: p(b). q(X) :- p(X)."))
        >>> [(a.values, a.probability) for a in query(info, parse_query("?- q(X)."))]
        [(('a',), 0.6), (('b',), 0.5)]
    """
    q, names = _rename_query(q)
    facts = all_facts(info, extra_facts)
    model = evaluate(info, semiring=semiring, k=k, facts=facts, **limits)
    max_rows = limits.get("max_tuples", DEFAULT_MAX_TUPLES)
    tags = _answer_tags(model, q, names, max_rows)
    probabilistic = any(f.probability is not None for f in facts)
    weights = FactWeights.from_facts(facts)
    if not exact:
        exact_tags = None
    elif isinstance(model.semiring, ProofsScalar):
        exact_tags = tags
    elif probabilistic:
        exact_tags = _answer_tags(evaluate(info, semiring="proofs", facts=facts, **limits), q, names, max_rows)
    else:
        exact_tags = None
    keys = set(tags) if exact_tags is None else set(exact_tags)
    answers = []
    for key in keys:
        tag = tags.get(key, model.semiring.zero())
        if exact_tags is not None:
            prob = wmc(exact_tags[key], weights)
        elif exact:
            prob = 1.0  # no probabilistic fact: every derived answer holds
        else:
            prob = model.semiring.probability(tag, facts)
        proofs: tuple = ()
        if isinstance(model.semiring, (ProofsScalar, TopKScalar)):
            proofs = tuple(model.semiring.ranked(tag))[:k]
        answers.append(
            Answer(names, key, prob, proofs, tuple(proof_probability(p, weights) for p in proofs), tag)
        )
    answers.sort(key=lambda a: (-a.probability, tuple_order(a.values)))
    return answers
