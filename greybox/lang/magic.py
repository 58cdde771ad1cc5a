"""Magic-set rewriting: a program that derives only what one query needs.

``magic_rewrite(program, path(a, Y))`` returns a program whose relations hold just
the tuples relevant to the query, so that a long chain or a large knowledge graph
is not closed in full to answer a question about one constant.

The transformation is the classic one with left-to-right sideways information
passing:

* **Adornments.** A derived relation (one with rules) is called with some
  arguments *bound* (``b``: a constant, or a variable bound to the left of the call)
  and the others *free* (``f``). Each pattern gets its own copy of the relation's
  rules, named ``<pred>__<adornment>`` (``path__bf``); a zero-arity relation has an
  empty adornment (``rain__``).
* **Magic relations.** ``magic__<pred>__<adornment>`` holds the bound arguments the
  copy is called with. The query seeds it (``magic__path__bf(a).``), every adorned
  rule is guarded by it (``path__bf(X, Z) :- magic__path__bf(X), ...``), and each
  derived atom in a rule body gets a *magic rule* whose body is the guard and the
  literals to the left of the atom: ``magic__path__bf(Y) :- magic__path__bf(X),
  edge(X, Y).``. A magic rule that only restates its guard is left out.
* Names use a double underscore so that they do not easily clash with a user's
  relations; a clash still found gets a suffix ``_2``, ``_3``, ... .

What is read as it is:

* Relations without rules (facts, inputs filled at run time, neural relations)
  are never adorned. The program's facts, ``domain``/``type`` declarations, ``nn``
  declarations and annotated disjunctions are kept unchanged and in place; a
  declared relation also gets declarations for its adorned and magic copies. The
  rules of relations the query does not need are dropped (with them the weight
  facts of such weighted rules, so later fact ids can shift; every fact keeps its
  span). ``?-`` queries are dropped too: read :attr:`MagicProgram.answer`.
* Comparisons, ``is`` and ``=`` pass their bindings on to the literals to their
  right. A negation, comparison or ``is`` enters a magic rule only once the literals
  to its left bind its variables; one that does not is left out of the magic rule
  (which then over-approximates the demand: still correct). The rule's other tests
  whose variables are all known at the call (comparisons, negations and atoms of
  relations without rules, to its right or not yet ready to its left) are added to
  its magic rule: they hold in every instance of the rule, and they keep a countdown
  such as ``tri(I, S) :- J is I - 1, tri(J, T), q(I), ...`` from asking for ever
  smaller ``J``. A demand computed by arithmetic that nothing bounds can still grow without
  end (the evaluator then stops at its limits): test the range before the call.
* **Negation and aggregates are not adorned.** A relation used under ``\\+`` or
  inside an aggregate (by a rule the query depends on, or by an annotated
  disjunction with a body) is computed in full by its original rules, copied
  unchanged, and so is every relation it depends on. Positive uses of such a
  relation read it directly. Stratification is thereby preserved: no adorned or
  magic relation is ever negated or aggregated, and the relations computed in full
  never read one. If the program is unstratifiable to begin with, the original
  program is returned unchanged with ``rewritten=False``.
* An aggregate passes its result on only when every group variable is bound to its
  left. A head argument that a rule binds only through an aggregate (no positive
  atom of the body binds it) is always adorned free, since binding it up front would
  turn a missing group into ``count`` 0.
* A relation that is the head of a weighted rule (``0.9 :: h :- body``, ``t(_) ::``)
  gets a single adorned copy (the most general pattern it is called with), so its
  weight stays one choice. Adorned rules keep their weight and their span; magic
  rules take the span of the rule they come from (their head the span of the atom
  that demanded them), so explanations point at the user's file and line.
* A derived relation that also has facts gets a bridge rule
  ``p__bf(V1, V2) :- magic__p__bf(V1), p(V1, V2).`` (with the span of its first
  fact); ``p`` itself keeps only its facts.

Tags. The rewritten program's answer tuples are exactly the original's in the
``boolean`` semiring, and their tags agree in every semiring whose multiplication is
idempotent (boolean, max-min, the exact probability from all proofs): each magic
atom's tag is implied by the derivation that uses it and is absorbed. In
``add-mult`` and ``max-mult`` the magic atoms' tags multiply into the answers, and
``top-k`` may keep a longer proof: evaluate the original program there.

Example:
    >>> from greybox.lang.parser import parse_program, parse_query
    >>> from greybox.lang.safety import show_atom, show_literal
    >>> program = parse_program('''
    ...     edge(a, b). edge(b, c). edge(x, y).
    ...     path(X, Y) :- edge(X, Y).
    ...     path(X, Z) :- edge(X, Y), path(Y, Z).
    ... ''')
    >>> magic = magic_rewrite(program, parse_query("?- path(a, Y)."))
    >>> for c in magic.program.clauses:
    ...     if c.body:
    ...         print(show_atom(c.head), ":-", ", ".join(show_literal(b) for b in c.body))
    path__bf(X, Y) :- magic__path__bf(X), edge(X, Y)
    path__bf(X, Z) :- magic__path__bf(X), edge(X, Y), path__bf(Y, Z)
    magic__path__bf(Y) :- magic__path__bf(X), edge(X, Y)
    >>> show_atom(magic.seed.head), show_atom(magic.answer), magic.rewritten
    ('magic__path__bf(a)', 'path__bf(a, Y)', True)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Iterable, Mapping

from ..errors import ArityError, ConfigError, UnknownRelationError
from .ast import (
    Aggregate,
    AnnotatedDisjunction,
    Assign,
    Atom,
    Clause,
    Comparison,
    Const,
    Literal,
    Negation,
    NeuralDeclaration,
    Program,
    Query,
    Span,
    TypeDeclaration,
    Var,
)
from .safety import ANONYMOUS, group_variables, literal_atoms
from .stratify import reachable, stratify

__all__ = ["MagicProgram", "magic_rewrite", "adornment", "BOUND", "FREE"]

BOUND = "b"
FREE = "f"
_NO_INPUTS: Mapping[str, int] = MappingProxyType({})


@dataclass(frozen=True)
class MagicProgram:
    """The result of :func:`magic_rewrite`.

    Attributes:
        program: the rewritten program (or the original one when ``rewritten`` is False).
        answer: the atom to read the answers from: the query's arguments over the
            adorned copy of its relation (``path__bf(a, Y)``), or the query itself.
        seed: the fact that starts the demand (``magic__path__bf(a).``), the last
            statement of ``program``; ``None`` when not rewritten.
        rewritten: whether ``program`` is rewritten.
        reason: why it is not (empty when it is).
    """

    program: Program
    answer: Atom
    seed: Clause | None
    rewritten: bool = True
    reason: str = ""


def adornment(atom: Atom, bound: Iterable[str] = ()) -> str:
    """The bound/free pattern of ``atom`` when the variables ``bound`` already have values.

    Args:
        atom: a body atom or a query.
        bound: names of the variables bound to the left of it.

    Returns:
        One character per argument: ``'b'`` for a constant or a bound variable,
        ``'f'`` otherwise (``_`` is always free).

    Example:
        >>> adornment(Atom("path", (Const("a"), Var("Y"))))
        'bf'
        >>> adornment(Atom("p", (Var("X"), Var("Y"), Var("_"))), {"Y"})
        'fbf'
    """
    names = set(bound)
    return "".join(
        BOUND if isinstance(a, Const) or (isinstance(a, Var) and a.name != ANONYMOUS and a.name in names) else FREE
        for a in atom.args
    )


def magic_rewrite(
    program: Program, query: Atom | Query, *, inputs: Mapping[str, int] = _NO_INPUTS
) -> MagicProgram:
    """Rewrite ``program`` so that it derives only what ``query`` needs (see the module docs).

    Args:
        program: a parsed program (``_`` not renamed); it should pass ``analyze``.
        query: the atom asked, e.g. ``path(a, Y)``; a ``Query`` of one positive atom
            is accepted too.
        inputs: relations (name -> arity) filled at run time only, as for ``analyze``:
            a query about one of them is not an unknown relation.

    Returns:
        A :class:`MagicProgram`. When the query's relation has no rules (nothing to
        restrict), is itself computed in full because something negates or aggregates
        it, or the program is not stratified, the original program comes back with
        ``rewritten=False`` and the query as ``answer``.

    Raises:
        UnknownRelationError: the query's relation does not occur in the program or ``inputs``.
        ArityError: the query has another number of arguments than the relation.
        ConfigError: a ``Query`` that is not a single positive atom.

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> p = parse_program("e(a, b). n(X) :- e(X, _), \\\\+ e(_, X).")
        >>> r = magic_rewrite(p, Atom("n", (Const("a"),)))
        >>> [c.head.predicate for c in r.program.clauses]
        ['e', 'n__b', 'magic__n__b']
        >>> magic_rewrite(p, Atom("e", (Var("X"), Var("Y")))).reason
        'e has no rules: read it as it is'
    """
    atom = _query_atom(query)
    return _Rewriter(program, atom, inputs).run()


# ---------------------------------------------------------------- internals


class _Restart(Exception):
    """A weighted relation's single adornment became more general: adorn again."""


def _named(vars_: Iterable[str]) -> set[str]:
    return {v for v in vars_ if v != ANONYMOUS}


def _meet(a: str, b: str) -> str:
    return "".join(BOUND if x == y == BOUND else FREE for x, y in zip(a, b))


def _query_atom(query) -> Atom:
    if isinstance(query, Atom):
        return query
    if isinstance(query, Query) and len(query.body) == 1 and isinstance(query.body[0], Atom):
        return query.body[0]
    raise ConfigError(
        "magic_rewrite takes a single positive atom as its query",
        **(_location(query.span) if isinstance(query, Query) else {}),
        hint="define a rule for the conjunction, e.g. `answer(X) :- p(X), q(X).`, and ask `answer(X)`",
    )


def _statement_atoms(stmt) -> Iterable[Atom]:
    """Every atom a statement mentions (heads, bodies, aggregates, declarations)."""
    if isinstance(stmt, Clause):
        yield stmt.head
        body = stmt.body
    elif isinstance(stmt, AnnotatedDisjunction):
        yield from (h for _, h in stmt.heads)
        body = stmt.body
    elif isinstance(stmt, NeuralDeclaration):
        yield stmt.atom
        return
    elif isinstance(stmt, Query):
        body = stmt.body
    else:
        return
    for lit in body:
        for atom, _ in literal_atoms(lit):
            yield atom


def _location(span: Span) -> dict:
    return {"file": span.file, "line": span.line or None, "column": span.column or None}


class _Rewriter:
    def __init__(self, program: Program, query: Atom, inputs: Mapping[str, int]) -> None:
        self.program = program
        self.query = query
        self.statements = program.statements
        self.rules: dict[str, list[tuple[int, Clause]]] = {}
        self.uses: dict[str, set[str]] = {}  # relation -> relations its rules read
        self.base: dict[str, Span] = {}  # relations with facts (or nn) -> first span
        self.types: dict[str, TypeDeclaration] = {}
        self.arity: dict[str, int] = {}
        ad_derived: set[str] = set()
        full_seeds: set[str] = set()
        for i, s in enumerate(self.statements):
            for atom in _statement_atoms(s):
                self.arity.setdefault(atom.predicate, atom.arity)
            if isinstance(s, TypeDeclaration):
                self.types.setdefault(s.predicate, s)
                self.arity.setdefault(s.predicate, len(s.domains))
            elif isinstance(s, NeuralDeclaration):
                self.base.setdefault(s.atom.predicate, s.span)
            elif isinstance(s, Clause) and s.body:
                self.rules.setdefault(s.head.predicate, []).append((i, s))
                self._add_uses(s.head.predicate, s.body)
            elif isinstance(s, Clause):
                self.base.setdefault(s.head.predicate, s.span)
            elif isinstance(s, AnnotatedDisjunction):
                for _, h in s.heads:
                    if s.body:
                        # kept as it is: its heads and what its body reads are computed in full
                        ad_derived.add(h.predicate)
                        full_seeds.add(h.predicate)
                        self._add_uses(h.predicate, s.body)
                    else:
                        self.base.setdefault(h.predicate, s.span)
        for name, n in inputs.items():
            self.arity.setdefault(name, n)
        self.derived = set(self.rules) | ad_derived
        # relations the query depends on; negated/aggregated ones among them are computed in full
        reachable = self._closure({query.predicate})
        for name in reachable:
            for _, rule in self.rules.get(name, ()):
                for lit in rule.body:
                    if isinstance(lit, (Negation, Aggregate)):
                        full_seeds.update(a.predicate for a, _ in literal_atoms(lit))
        self.full = self._closure(full_seeds) & self.derived
        self.adornable = self.derived - self.full
        self.weighted = {
            name for name in self.adornable if any(r.weight is not None for _, r in self.rules.get(name, ()))
        }
        self.masks = {name: self._mask(name) for name in self.adornable}
        self.used_names = set(self.arity)
        self.names: dict[tuple[str, str, str], str] = {}
        # the worklist of one attempt (see _attempt) and the single adornment of weighted relations
        self.seen: set[tuple[str, str]] = set()
        self.queue: list[tuple[str, str]] = []
        self.forced: dict[str, str] = {}

    # -- setup helpers
    def _add_uses(self, head: str, body: Iterable[Literal]) -> None:
        used = self.uses.setdefault(head, set())
        for lit in body:
            used.update(a.predicate for a, _ in literal_atoms(lit))

    def _closure(self, start: Iterable[str]) -> set[str]:
        return reachable(self.uses, start)

    def _mask(self, name: str) -> tuple[bool, ...]:
        """Head positions that must stay free: bound in some rule only through an aggregate."""
        mask = [False] * self.arity[name]
        for _, rule in self.rules.get(name, ()):
            atom_vars: set[str] = set()
            for lit in rule.body:
                if isinstance(lit, Atom):
                    atom_vars |= _named(lit.variables())
            grouped: set[str] = set()
            for lit in rule.body:
                if isinstance(lit, Aggregate):
                    grouped |= _named(group_variables(lit, rule.body, [rule.head]))
            for i, a in enumerate(rule.head.args):
                if isinstance(a, Var) and a.name in grouped and a.name not in atom_vars:
                    mask[i] = True
        return tuple(mask)

    def _name(self, kind: str, pred: str, ad: str) -> str:
        key = (kind, pred, ad)
        if key not in self.names:
            base = f"{pred}__{ad}" if kind == "adorned" else f"magic__{pred}__{ad}"
            name, k = base, 2
            while name in self.used_names:
                name, k = f"{base}_{k}", k + 1
            self.used_names.add(name)
            self.names[key] = name
        return self.names[key]

    # -- result
    def _unchanged(self, reason: str) -> MagicProgram:
        return MagicProgram(self.program, self.query, None, rewritten=False, reason=reason)

    def run(self) -> MagicProgram:
        q = self.query
        if q.predicate not in self.arity:
            close = difflib.get_close_matches(q.predicate, sorted(self.arity), n=1)
            hint = f"did you mean {close[0]}?" if close else "ask about a relation the program defines"
            raise UnknownRelationError(
                f"unknown relation {q.predicate}/{q.arity} in the query: the program does not mention it",
                **_location(q.span),
                hint=hint + " (a relation given at run time goes in inputs)",
            )
        if self.arity[q.predicate] != q.arity:
            n = self.arity[q.predicate]
            raise ArityError(
                f"the query uses {q.predicate} with {q.arity} argument(s), the program with {n}",
                **_location(q.span),
                hint=f"give {q.predicate} {n} argument(s)",
            )
        if q.predicate not in self.derived:
            return self._unchanged(f"{q.predicate} has no rules: read it as it is")
        if q.predicate in self.full:
            return self._unchanged(
                f"{q.predicate} is computed in full anyway: it is negated, aggregated "
                "or read by an annotated disjunction"
            )
        while True:
            try:
                return self._attempt()
            except _Restart:
                continue

    def _demand(self, pred: str, wanted: str) -> str:
        """The adornment ``pred`` is called with for the pattern ``wanted``; queue it if new."""
        ad = "".join(FREE if m else c for c, m in zip(wanted, self.masks[pred]))
        if pred in self.weighted:
            forced = self.forced.get(pred)
            if forced is None:
                self.forced[pred] = ad
            else:
                meet = _meet(ad, forced)
                if meet != forced:
                    self.forced[pred] = meet
                    raise _Restart
                ad = forced
        if (pred, ad) not in self.seen:
            self.seen.add((pred, ad))
            self.queue.append((pred, ad))
        return ad

    def _attempt(self) -> MagicProgram:
        self.seen = set()
        self.queue = []
        q = self.query
        ad = self._demand(q.predicate, adornment(q))
        by_index: dict[int, list[Clause]] = {}
        bridges: list[Clause] = []
        magic_seen: set[Clause] = set()
        done = 0
        while done < len(self.queue):
            pred, pad = self.queue[done]
            done += 1
            for index, rule in self.rules.get(pred, ()):
                adorned, magic = self._adorn(rule, pad)
                out = by_index.setdefault(index, [])
                out.append(adorned)
                for m in magic:
                    if m not in magic_seen:
                        magic_seen.add(m)
                        out.append(m)
            if pred in self.base:
                bridges.append(self._bridge(pred, pad))

        seed = Clause(
            Atom(self._name("magic", q.predicate, ad), tuple(a for a, c in zip(q.args, ad) if c == BOUND), q.span),
            span=q.span,
        )
        answer = Atom(self._name("adorned", q.predicate, ad), q.args, q.span)
        statements: list = []
        for index, s in enumerate(self.statements):
            if isinstance(s, Query):
                continue
            if isinstance(s, Clause) and s.body:
                if s.head.predicate in self.full:
                    statements.append(s)
                else:
                    statements.extend(by_index.get(index, ()))
                continue
            statements.append(s)
            if isinstance(s, TypeDeclaration) and self.types.get(s.predicate) is s:
                statements.extend(self._declarations(s))
        statements.extend(bridges)
        statements.append(seed)
        rewritten = Program(tuple(statements), self.program.file)
        if not self._stratified(rewritten):
            return self._unchanged("the program negates or aggregates through recursion")
        return MagicProgram(rewritten, answer, seed)

    def _adorn(self, rule: Clause, ad: str) -> tuple[Clause, list[Clause]]:
        """The copy of ``rule`` for adornment ``ad`` and the magic rules of its body atoms."""
        head = rule.head
        pred = head.predicate
        guard_args = tuple(a for a, c in zip(head.args, ad) if c == BOUND)
        guard = Atom(self._name("magic", pred, ad), guard_args, head.span)
        bound = _named(a.name for a in guard_args if isinstance(a, Var))
        atom_bound = set(bound)  # variables that the guard or a positive atom to the left binds
        body: list[Literal] = [guard]
        prefix: list[Literal] = []
        included: set[int] = set()  # positions of the literals in ``prefix``
        demands: list[tuple[int, Atom, tuple[Literal, ...], frozenset[int], frozenset[str]]] = []
        for position, lit in enumerate(rule.body):
            if isinstance(lit, Atom):
                if lit.predicate in self.adornable:
                    sub = self._demand(lit.predicate, adornment(lit, bound))
                    demand = Atom(
                        self._name("magic", lit.predicate, sub),
                        tuple(a for a, c in zip(lit.args, sub) if c == BOUND),
                        lit.span,
                    )
                    if demand != guard:
                        demands.append((position, demand, tuple(prefix), frozenset(included), frozenset(bound)))
                    lit = replace(lit, predicate=self._name("adorned", lit.predicate, sub))
                body.append(lit)
                prefix.append(lit)
                included.add(position)
                bound |= _named(lit.variables())
                atom_bound |= _named(lit.variables())
                continue
            body.append(lit)
            ready = False
            if isinstance(lit, Negation):
                ready = _named(lit.variables()) <= bound
            elif isinstance(lit, Comparison):
                free = _named(lit.variables()) - bound
                ready = not free
                if lit.op == "=" and len(free) == 1:
                    (name,) = free
                    for side, other in ((lit.left, lit.right), (lit.right, lit.left)):
                        if isinstance(side, Var) and side.name == name and name not in other.variables():
                            ready = True
                            bound.add(name)
                            break
            elif isinstance(lit, Assign):
                ready = _named(lit.expr.variables()) <= bound
                if ready:
                    bound.add(lit.target.name)
            elif isinstance(lit, Aggregate):
                ready = _named(group_variables(lit, rule.body, [head])) <= atom_bound
                if ready:
                    bound.add(lit.result.name)
            if ready:
                prefix.append(lit)
                included.add(position)
        magic = []
        for position, demand, before, used, known in demands:
            # the other tests of the rule whose variables are all known at the call (to its
            # right, or to its left but not ready there) hold in every instance of the rule:
            # they prune the demand, and keep a countdown from running on for ever
            tests = tuple(
                lit
                for j, lit in enumerate(rule.body)
                if j != position and j not in used and self._filter(lit, known)
            )
            magic.append(Clause(demand, (guard, *before, *tests), span=rule.span))
        adorned = Clause(
            replace(head, predicate=self._name("adorned", pred, ad)), tuple(body), weight=rule.weight, span=rule.span
        )
        return adorned, magic

    def _filter(self, lit: Literal, known: frozenset[str]) -> bool:
        """Whether ``lit`` (of the original rule) only tests the variables ``known``, reading no adorned relation."""
        if isinstance(lit, Atom):
            return lit.predicate not in self.adornable and _named(lit.variables()) <= known
        if isinstance(lit, (Negation, Comparison)):
            return _named(lit.variables()) <= known
        return False

    def _bridge(self, pred: str, ad: str) -> Clause:
        """``p__bf(V1, V2) :- magic__p__bf(V1), p(V1, V2).``: the facts of a derived relation."""
        span = self.base[pred]
        args = tuple(Var(f"V{i + 1}", span) for i in range(len(ad)))
        guard = Atom(self._name("magic", pred, ad), tuple(a for a, c in zip(args, ad) if c == BOUND), span)
        head = Atom(self._name("adorned", pred, ad), args, span)
        return Clause(head, (guard, Atom(pred, args, span)), span=span)

    def _declarations(self, decl: TypeDeclaration) -> list[TypeDeclaration]:
        """``type`` declarations of the adorned and magic copies of a declared relation."""
        out: list[TypeDeclaration] = []
        for pred, ad in sorted(self.seen):
            if pred != decl.predicate:
                continue
            out.append(TypeDeclaration(self._name("adorned", pred, ad), decl.domains, decl.span))
            bound = tuple(d for d, c in zip(decl.domains, ad) if c == BOUND)
            if bound:
                out.append(TypeDeclaration(self._name("magic", pred, ad), bound, decl.span))
        return out

    @staticmethod
    def _stratified(program: Program) -> bool:
        rules: list[Clause] = [s for s in program.statements if isinstance(s, Clause) and s.body]
        for s in program.statements:
            if isinstance(s, AnnotatedDisjunction) and s.body:
                rules.extend(Clause(h, s.body) for _, h in s.heads)
        _, cycles = stratify(rules)
        return not cycles
