"""Static analysis of a program: everything checked before evaluation, and what evaluators need.

:func:`check_program` reports every problem of a program, in source order:

* :class:`~greybox.errors.UnknownRelationError`: a body or query atom names a relation
  that no fact, rule, ``nn`` or ``type`` declaration defines and ``inputs`` does not list;
* :class:`~greybox.errors.ArityError`: one relation name used with two arities;
* :class:`~greybox.errors.UnsafeRuleError`: a variable that is needed but never bound
  (see :mod:`greybox.lang.safety`), or a fact that is not ground;
* :class:`~greybox.errors.StratificationError`: negation or aggregation through recursion
  (see :mod:`greybox.lang.stratify`);
* :class:`~greybox.errors.TypeCheckError`: types, domains, probabilities and ``nn``
  declarations (see :mod:`greybox.lang.types`).

:func:`analyze` raises the first of them, or returns a :class:`ProgramInfo`: the
relations with their arity, argument domains and kind, the strata in evaluation
order, and the clauses with each anonymous ``_`` renamed to a fresh ``_1``, ``_2``, ...

Example:
    >>> from greybox.lang.parser import parse_program
    >>> info = analyze(parse_program('''
    ...     parent(ann, bob). 0.7 :: parent(bob, cid).
    ...     ancestor(X, Y) :- parent(X, Y).
    ...     ancestor(X, Z) :- parent(X, Y), ancestor(Y, Z).
    ...     childless(X) :- parent(_, X), \\\\+ parent(X, _).
    ... '''))
    >>> info.relations["ancestor"].kind, info.relations["ancestor"].probabilistic
    ('derived', True)
    >>> [(sorted(s.relations), s.recursive) for s in info.strata]
    [(['ancestor'], True), (['childless'], False)]
    >>> [show_literal(lit) for lit in info.clauses[-1].body]  # each `_` is a fresh variable
    ['parent(_1, X)', '\\\\+ parent(X, _2)']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

from ..errors import (
    ArityError,
    GreyboxError,
    StratificationError,
    TypeCheckError,
    UnboundNeuralPredicateError,
    UnknownRelationError,
    UnsafeRuleError,
)
from .ast import (
    NO_SPAN,
    AnnotatedDisjunction,
    Atom,
    Clause,
    DomainExpr,
    Negation,
    NeuralDeclaration,
    Program,
    Query,
    Span,
    TypeDeclaration,
)
from .gc_pause import paused_gc
from .safety import NO_NAMES, Unsafe, literal_atoms, rename_anonymous, show_atom, show_literal, unsafe_variables
from .stratify import Stratum, reachable, stratify
from .suggest import Suggestions
from .types import infer_types

__all__ = [
    "RelationInfo",
    "ProgramInfo",
    "Stratum",
    "check_program",
    "analyze",
    "require_bound",
]

_NO_INPUTS: Mapping[str, int] = MappingProxyType({})
Source = str | Mapping[str, str] | None


@dataclass(frozen=True)
class RelationInfo:
    """What the analysis knows about one relation.

    Attributes:
        name: the relation's name (relations are identified by name alone).
        arity: its number of arguments.
        types: the domain of each argument: a declared domain name, an ``nn`` output
            domain, or the inferred ``'int'`` / ``'symbol'`` (every name is a key of
            :attr:`ProgramInfo.domains`).
        kind: ``'neural'`` (an ``nn`` declaration fills it), ``'derived'`` (at least one
            rule with a body), else ``'input'`` (facts only, a ``type`` declaration or
            an entry of ``inputs``: filled at run time).
        probabilistic: whether its tuples can be uncertain: it has or depends on a
            weighted fact or rule, an annotated disjunction, a learnable weight or a
            neural relation. Relations filled at run time count as certain.
        span: where it is first defined (declaration, else first head, else first use).
    """

    name: str
    arity: int
    types: tuple[str, ...]
    kind: str
    probabilistic: bool
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False)
class ProgramInfo:
    """The result of :func:`analyze`.

    Attributes:
        program: the program as parsed.
        relations: relation name -> :class:`RelationInfo`, in order of first appearance
            (relations known only from ``inputs`` last).
        domains: domain name -> domain: the declared ones, the built-ins ``int`` and
            ``symbol``, and ``rel#i`` for an ``nn`` output domain that no declared domain equals.
        strata: the derived relations, grouped and in evaluation order.
        clauses: the facts, rules and annotated disjunctions in source order, each
            ``_`` renamed to a fresh variable ``_1``, ``_2``, ... . A renamed variable
            that occurs only in a negation is existential inside it: ``\\+ p(_1, X)``
            holds when no ``p`` tuple has second argument ``X``.
        queries: the queries as written (``_`` not renamed, so that
            ``Query.variables()`` still lists exactly the answer variables).
        neural: relation name -> its ``nn`` declaration.
        disjunction_rules: for each annotated disjunction with a body (by its index in
            ``clauses``), one weighted rule per head, ``p_i :: h_i :- body``; these are
            the objects listed in ``strata`` and named by ``InputFact.clause``.
        source: the source text given to :func:`analyze`, if any.
    """

    program: Program
    relations: dict[str, RelationInfo]
    domains: dict[str, DomainExpr]
    strata: tuple[Stratum, ...]
    clauses: tuple[Clause | AnnotatedDisjunction, ...]
    queries: tuple[Query, ...]
    neural: dict[str, NeuralDeclaration] = field(default_factory=dict)
    disjunction_rules: dict[int, tuple[Clause, ...]] = field(default_factory=dict)
    source: Source = None

    @property
    def rules(self) -> tuple[Clause, ...]:
        """Every rule (clause with a body), stratum by stratum in evaluation order."""
        return tuple(rule for stratum in self.strata for rule in stratum.rules)


# ---------------------------------------------------------------- public entry points


def check_program(
    program: Program, *, inputs: Mapping[str, int] = _NO_INPUTS, source: Source = None
) -> list[GreyboxError]:
    """Every problem of ``program``, in source order.

    Args:
        program: a parsed program.
        inputs: relations (name -> arity) that will be supplied at run time, so that
            using them is not an unknown relation.
        source: the program's text (or a mapping file name -> text for a program read
            from several files), used to show the offending line in each error.

    Returns:
        The errors (subclasses of ``GreyboxError``); empty when the program is fine.

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> errors = check_program(parse_program("p(X) :- parnet(X)."))
        >>> print(errors[0])
        <input>:1:9: unknown relation parnet/1: no fact, rule, nn or type declaration defines it
        hint: define parnet with facts or rules, declare it with `type parnet(...)`, or pass it in inputs
    """
    with paused_gc():
        return _Analysis(program, inputs, source).run()[0]


def analyze(program: Program, *, inputs: Mapping[str, int] = _NO_INPUTS, source: Source = None) -> ProgramInfo:
    """Check ``program`` and describe it for the evaluators.

    Args:
        program: a parsed program.
        inputs: relations (name -> arity) supplied at run time.
        source: the program's text (or file name -> text), for error messages.

    Returns:
        A :class:`ProgramInfo`.

    Raises:
        GreyboxError: the first problem :func:`check_program` finds, as its own type
            (``UnknownRelationError``, ``ArityError``, ``UnsafeRuleError``,
            ``StratificationError`` or ``TypeCheckError``).

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> analyze(parse_program("p :- \\\\+ p."))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        greybox.errors.StratificationError: <input>:1:6: negation through recursion: p negates p itself (p -> p)
        ...
    """
    with paused_gc():
        errors, info = _Analysis(program, inputs, source).run(build=True)
    if errors:
        raise errors[0]
    assert info is not None
    return info


def require_bound(info: ProgramInfo, modules: Mapping[str, object]) -> None:
    """Check that every ``nn`` declaration's model has a module in ``modules``.

    Args:
        info: the analysed program.
        modules: model name -> module (e.g. an ``nn.Module``).

    Raises:
        UnboundNeuralPredicateError: at the first declaration whose model is missing;
            the message also lists the other missing ones.

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> info = analyze(parse_program("nn(digit_net, [X], Y, [0..9]) :: digit(X, Y)."))
        >>> require_bound(info, {"digit_net": object()})
        >>> require_bound(info, {})
        Traceback (most recent call last):
        ...
        greybox.errors.UnboundNeuralPredicateError: <input>:1:1: no module is bound to the neural model digit_net (relation digit)
        hint: pass it as networks={'digit_net': module}
    """
    missing = [d for d in info.neural.values() if d.model not in modules]
    if not missing:
        return
    first = missing[0]
    message = f"no module is bound to the neural model {first.model} (relation {first.atom.predicate})"
    others = [d for d in missing[1:]]
    if others:
        message += "; also unbound: " + ", ".join(
            f"{d.model} (relation {d.atom.predicate}{_at(d.span)})" for d in others
        )
    names = ", ".join(f"'{m}': module" for m in dict.fromkeys(d.model for d in missing))
    raise UnboundNeuralPredicateError(
        message, **_Locator(info.program.file, info.source).at(first.span), hint=f"pass it as networks={{{names}}}"
    )


# ---------------------------------------------------------------- the analysis


def _at(span: Span) -> str:
    if span.line <= 0:
        return ""
    return f" at {span.file}:{span.line}" if span.file else f" at line {span.line}"


def _s(n: int) -> str:
    return f"{n} argument" + ("" if n == 1 else "s")


class _Locator:
    """file/line/column/source_line keyword arguments for an error at a span."""

    def __init__(self, file: str | None, source: Source) -> None:
        self.file = file
        self.source = source
        self.lines: dict[str | None, list[str]] = {}

    def at(self, span: Span) -> dict:
        file = span.file or self.file
        if span.line <= 0:
            return {"file": file}
        return {
            "file": file,
            "line": span.line,
            "column": span.column if span.column > 0 else None,
            "source_line": self._line(file, span.line),
        }

    def _line(self, file: str | None, line: int) -> str | None:
        if self.source is None:
            return None
        if file not in self.lines:
            if isinstance(self.source, str):
                text = self.source if file in (None, self.file) else None
            else:
                text = self.source.get(file) if file is not None else None
            # lines end at "\n" only, as the parser counts them (splitlines also breaks at
            # form feeds, U+2028 and other characters that the parser reads as spaces)
            self.lines[file] = [ln.removesuffix("\r") for ln in text.split("\n")] if text is not None else []
        lines = self.lines[file]
        return lines[line - 1] if line <= len(lines) else None


class _Renamed:
    """``(index, statement, names given to _)`` for each statement, made as they are read.

    (A list of such triples would cost about 100 bytes per statement for the whole analysis.)
    """

    def __init__(self, statements: list, names: dict[int, frozenset[str]]) -> None:
        self.statements = statements
        self.names = names

    def __iter__(self):
        names = self.names
        for index, stmt in enumerate(self.statements):
            yield index, stmt, names.get(index, NO_NAMES)

    def __reversed__(self):
        names = self.names
        for index in range(len(self.statements) - 1, -1, -1):
            yield index, self.statements[index], names.get(index, NO_NAMES)

    def pairs(self) -> "_Pairs":
        return _Pairs(self.statements)


class _Pairs:
    """``(index, statement)`` pairs, as often as they are iterated."""

    def __init__(self, statements: list) -> None:
        self.statements = statements

    def __iter__(self):
        return enumerate(self.statements)


class _Analysis:
    def __init__(self, program: Program, inputs: Mapping[str, int], source: Source) -> None:
        self.program = program
        self.inputs = inputs
        self.source = source
        self.locate = _Locator(program.file, source)
        self.errors: list[tuple[tuple[int, int, int, int], GreyboxError]] = []

    def error(self, cls, index: int, span: Span, message: str, hint: str, **extra) -> None:
        if span.line <= 0 and 0 <= index < len(self.program.statements):
            span = self.program.statements[index].span  # a node built without a span: point at its statement
        err = cls(message, **self.locate.at(span), hint=hint, **extra)
        self.errors.append(((index, span.line, span.column, len(self.errors)), err))

    def run(self, build: bool = False) -> tuple[list[GreyboxError], ProgramInfo | None]:
        # `_` gets fresh names first: every later step sees one variable per occurrence
        statements: list = []
        names: dict[int, frozenset[str]] = {}
        for index, stmt in enumerate(self.program.statements):
            if isinstance(stmt, (Clause, AnnotatedDisjunction, Query)):
                stmt, anonymous = rename_anonymous(stmt)
                if anonymous:
                    names[index] = anonymous
            statements.append(stmt)
        self.renamed = _Renamed(statements, names)
        self._relations()
        self._safety()
        rules, rule_index, ad_rules = self._rules()
        strata, cycles = stratify(rules, self.order)
        for cycle in cycles:
            self._cycle(rule_index[cycle.rule_index], cycle)
        typing = infer_types(self.renamed.pairs(), self.arity, names)
        for p in typing.problems:
            self.error(TypeCheckError, p.index, p.span, p.message, p.hint)
        errors = [e for _, e in sorted(self.errors, key=lambda pair: pair[0])]
        if not build or errors:
            return errors, None
        return errors, self._info(strata, typing, ad_rules)

    # ------------------------------------------------------------ relations, arity, unknown names

    def _relations(self) -> None:
        self.arity: dict[str, int] = {}
        self.arity_at: dict[str, str] = {}
        self.first_span: dict[str, Span] = {}
        self.order: dict[str, int] = {}
        self.defined: set[str] = set(self.inputs)
        self.neural: dict[str, NeuralDeclaration] = {}
        self.derived: set[str] = set()
        self.seeds: set[str] = set()  # relations uncertain by themselves
        self.users: dict[str, set[str]] = {}  # relation -> head relations of rules using it
        for name, n in self.inputs.items():
            self.arity[name], self.arity_at[name] = n, "in inputs"
        for index, stmt, _ in self.renamed:  # declarations fix the arity wherever they are written
            if isinstance(stmt, TypeDeclaration):
                self.defined.add(stmt.predicate)
                self._arity(index, stmt.predicate, len(stmt.domains), stmt.span, lambda: f"type {stmt.predicate}(...)")
            elif isinstance(stmt, NeuralDeclaration):
                rel = stmt.atom.predicate
                self.defined.add(rel)
                self.neural.setdefault(rel, stmt)
                self.seeds.add(rel)
                self._arity(index, rel, stmt.atom.arity, stmt.span, lambda: f"nn(...) :: {show_atom(stmt.atom)}")
        for index, stmt, _ in self.renamed:
            if isinstance(stmt, Clause):
                self.defined.add(stmt.head.predicate)
                if stmt.weight is not None:
                    self.seeds.add(stmt.head.predicate)
                if stmt.body:
                    self.derived.add(stmt.head.predicate)
            elif isinstance(stmt, AnnotatedDisjunction):
                for _, head in stmt.heads:
                    self.defined.add(head.predicate)
                    self.seeds.add(head.predicate)
                    if stmt.body:
                        self.derived.add(head.predicate)
        suggestions = Suggestions()
        for index, stmt, anonymous in self.renamed:
            if isinstance(stmt, TypeDeclaration):
                self._see(stmt.predicate, stmt.span)
                continue
            if isinstance(stmt, NeuralDeclaration):
                self._see(stmt.atom.predicate, stmt.span)
                continue
            if isinstance(stmt, Clause):
                heads: list[Atom] = [stmt.head]
            elif isinstance(stmt, AnnotatedDisjunction):
                heads = [h for _, h in stmt.heads]
            elif isinstance(stmt, Query):
                heads = []
            else:
                continue
            for head in heads:
                self._use(index, head, anonymous)
            reported: set[str] = set()
            for lit in stmt.body:
                for atom, _ in literal_atoms(lit):
                    self._use(index, atom, anonymous)
                    for head in heads:
                        self.users.setdefault(atom.predicate, set()).add(head.predicate)
                    name = atom.predicate
                    if name in self.defined or name in reported:
                        continue
                    reported.add(name)
                    closest = suggestions.closest(name, self.defined)
                    hint = f"did you mean {closest}? " if closest else ""
                    self.error(
                        UnknownRelationError,
                        index,
                        atom.span,
                        f"unknown relation {name}/{atom.arity}: no fact, rule, nn or type declaration defines it",
                        hint + f"define {name} with facts or rules, declare it with `type {name}(...)`, "
                        "or pass it in inputs",
                    )
        for name in self.inputs:
            self.order.setdefault(name, len(self.order))

    def _see(self, name: str, span: Span) -> None:
        if name not in self.order:
            self.order[name] = len(self.order)
            self.first_span[name] = span

    def _use(self, index: int, atom: Atom, anonymous: frozenset[str]) -> None:
        name = atom.predicate
        self._see(name, atom.span)
        self._arity(index, atom.predicate, atom.arity, atom.span, lambda: show_atom(atom, anonymous))

    def _arity(self, index: int, name: str, n: int, span: Span, text: Callable[[], str]) -> None:
        """``text()`` shows the occurrence; it is only called when needed (this runs for every atom)."""
        m = self.arity.get(name)
        if m == n:
            return
        if m is None:
            self.arity[name], self.arity_at[name] = n, f"in {text()}{_at(span)}"
            return
        self.error(
            ArityError,
            index,
            span,
            f"relation {name} is used with {_s(n)} in {text()} but with {_s(m)} {self.arity_at[name]}",
            f"a relation has one arity: give {name} {_s(m)} here, or rename one of the two "
            f"(e.g. {name}{n})",
        )

    # ------------------------------------------------------------ safety

    _UNSAFE = {
        "fact": (
            "variable {v} in the fact {t} is not ground",
            "facts must be ground: replace {v} with a constant, or add a body that binds it",
        ),
        "head": (
            "variable {v} in the head {t} is not bound by a positive literal",
            "add a positive literal that binds {v} to the body (e.g. a relation listing its values)",
        ),
        "negation": (
            "variable {v} in the negation {t} is not bound by a positive literal",
            "negation only tests values: bind {v} with a positive literal of the body, "
            "or write _ if any value will do",
        ),
        "comparison": (
            "variable {v} in the comparison {t} is not bound by a positive literal",
            "comparisons only test values: bind {v} with a positive literal, or with {v} is <expr> "
            "/ {v} = <expr> over bound variables",
        ),
        "arithmetic": (
            "variable {v} in the arithmetic {t} is not bound by a positive literal",
            "bind {v} with a positive literal before computing with it",
        ),
        "aggregate": (
            "variable {v} listed in the aggregate {t} is not bound in the aggregate's body",
            "an aggregate is computed from its own body: add a positive literal inside the braces that binds {v}",
        ),
        "aggregate-result": (
            "the result {v} of the aggregate {t} also occurs in its body",
            "use a fresh variable for the result of the aggregate",
        ),
    }

    def _safety(self) -> None:
        for index, stmt, anonymous in self.renamed:
            if not isinstance(stmt, (Clause, AnnotatedDisjunction, Query)):
                continue
            for u in unsafe_variables(stmt, anonymous):
                self._unsafe(index, u)

    def _unsafe(self, index: int, u: Unsafe) -> None:
        message, hint = self._UNSAFE[u.kind]
        if u.anonymous:
            hint = "_ stands for a value that is never read and is never bound: use a named variable that " \
                   "a positive literal binds" if u.kind != "fact" else hint
        name = "_ (anonymous)" if u.anonymous and u.kind != "fact" else u.name
        self.error(
            UnsafeRuleError, index, u.span, message.format(v=name, t=u.text), hint.format(v=u.name, t=u.text)
        )

    # ------------------------------------------------------------ stratification

    def _rules(self) -> tuple[list[Clause], list[int], dict[int, tuple[Clause, ...]]]:
        rules: list[Clause] = []
        rule_index: list[int] = []
        ad_rules: dict[int, tuple[Clause, ...]] = {}
        position = 0
        for index, stmt, _ in self.renamed:
            if isinstance(stmt, Clause):
                if stmt.body:
                    rules.append(stmt)
                    rule_index.append(index)
            elif isinstance(stmt, AnnotatedDisjunction):
                if stmt.body:
                    expanded = tuple(Clause(h, stmt.body, p, span=stmt.span) for p, h in stmt.heads)
                    ad_rules[position] = expanded
                    rules.extend(expanded)
                    rule_index.extend([index] * len(expanded))
            else:
                continue
            position += 1
        return rules, rule_index, ad_rules

    def _cycle(self, index: int, cycle) -> None:
        negation = isinstance(cycle.literal, Negation)
        what, verb = ("negation", "negates") if negation else ("aggregation", "aggregates over")
        path = " -> ".join(cycle.cycle)
        literal = show_literal(cycle.literal)
        if cycle.used == cycle.head:
            message = f"{what} through recursion: {cycle.head} {verb} {cycle.head} itself ({path})"
            hint = (f"a relation cannot depend on its own {what}: define {cycle.head} without `{literal}`, "
                    f"e.g. through a relation that does not depend on {cycle.head}")
        else:
            message = (f"{what} through recursion: {cycle.head} {verb} {cycle.used}, "
                       f"which depends on {cycle.head} again ({path})")
            hint = (f"{cycle.used} must be complete before {cycle.head} is computed: break the cycle {path}, "
                    f"e.g. compute `{literal}` from relations that do not depend on {cycle.head}")
        self.error(StratificationError, index, cycle.literal.span, message, hint, cycle=list(cycle.cycle))

    # ------------------------------------------------------------ the result

    def _probabilistic(self) -> set[str]:
        return reachable(self.users, self.seeds)

    def _info(self, strata, typing, ad_rules) -> ProgramInfo:
        uncertain = self._probabilistic()
        spans: dict[str, Span] = dict(self.first_span)
        for _, stmt, _ in reversed(self.renamed):  # declarations, then first heads, win over first uses
            if isinstance(stmt, Clause):
                spans[stmt.head.predicate] = stmt.head.span
            elif isinstance(stmt, AnnotatedDisjunction):
                for _, h in stmt.heads:
                    spans[h.predicate] = h.span
        for _, stmt, _ in reversed(self.renamed):
            if isinstance(stmt, TypeDeclaration):
                spans[stmt.predicate] = stmt.span
            elif isinstance(stmt, NeuralDeclaration):
                spans[stmt.atom.predicate] = stmt.span
        relations: dict[str, RelationInfo] = {}
        for name in sorted(self.order, key=self.order.__getitem__):
            kind = "neural" if name in self.neural else "derived" if name in self.derived else "input"
            relations[name] = RelationInfo(
                name,
                self.arity[name],
                typing.types.get(name, ("symbol",) * self.arity[name]),
                kind,
                name in uncertain,
                spans.get(name, NO_SPAN),
            )
        clauses = tuple(s for _, s, _ in self.renamed if isinstance(s, (Clause, AnnotatedDisjunction)))
        return ProgramInfo(
            program=self.program,
            relations=relations,
            domains=typing.domains,
            strata=strata,
            clauses=clauses,
            queries=self.program.queries,
            neural=dict(self.neural),
            disjunction_rules=ad_rules,
            source=self.source,
        )

