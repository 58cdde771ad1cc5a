"""Type inference: the domain of every argument of every relation.

Each argument position ``(relation, i)`` and each variable of each statement is a
node of a union-find structure. A variable is unified with every position it
fills; constants, arithmetic, comparisons, aggregates, ``type`` and ``nn``
declarations give a class its *base type*, ``'int'`` or ``'symbol'``:

* a constant is an int or a symbol; ``Z is X + 1`` makes ``Z`` and ``X`` ints;
* ``<``, ``<=``, ``>``, ``>=`` compare ints; ``=`` and ``!=`` make both sides one type;
* ``count`` and ``sum`` give ints (``sum`` adds ints), ``min``/``max`` have the type
  of the value they range over;
* ``type rel(d1, d2).`` and ``nn(..., Domain) :: rel(...)`` declare domains, and a
  declared finite domain also bounds the constants written in that position.

Declarations are read first, then the statements in source order; the first
evidence a class receives wins and later evidence that disagrees is reported
where it occurs. Conflicting classes are not merged, so one mistake is reported
once. The type of a position is its declared domain, else the one domain its
class was unified with, else the inferred base type, else ``'symbol'``.

Example:
    >>> from greybox.lang.parser import parse_program
    >>> program = parse_program('''
    ...     domain digit = 0..9.
    ...     type d(digit).
    ...     d(3).
    ...     succ(X, Y) :- d(X), Y is X + 1.
    ... ''')
    >>> result = infer_types(enumerate(program.statements), {"d": 1, "succ": 2})
    >>> result.types["succ"], result.problems
    (('digit', 'int'), [])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from .ast import (
    NO_SPAN,
    Aggregate,
    AnnotatedDisjunction,
    Assign,
    Atom,
    BuiltinDomain,
    Clause,
    Comparison,
    Const,
    DomainDeclaration,
    DomainExpr,
    Expr,
    Learnable,
    Literal,
    Negation,
    NeuralDeclaration,
    Probability,
    Query,
    RangeDomain,
    SetDomain,
    Span,
    TypeDeclaration,
    Var,
)
from .safety import group_variables, show_aggregate, show_atom, show_expr
from .suggest import Suggestions
from .walk import expr_leaves

__all__ = ["BUILTIN_DOMAINS", "TypeProblem", "TypeResult", "infer_types", "domain_base", "in_domain", "show_domain"]

BUILTIN_DOMAINS: Mapping[str, DomainExpr] = {"int": BuiltinDomain("int"), "symbol": BuiltinDomain("symbol")}
_AD_TOLERANCE = 1e-9


@dataclass(frozen=True)
class TypeProblem:
    """A type error found by :func:`infer_types`: statement index, where, what, how to fix."""

    index: int
    span: Span
    message: str
    hint: str


@dataclass
class TypeResult:
    """What :func:`infer_types` found.

    Attributes:
        types: relation name -> domain name of each argument.
        domains: domain name -> domain, with the built-ins ``int`` and ``symbol`` and
            one ``rel#i`` per ``nn`` output domain that no declared domain equals.
        problems: the type errors, in the order found.
    """

    types: dict[str, tuple[str, ...]] = field(default_factory=dict)
    domains: dict[str, DomainExpr] = field(default_factory=dict)
    problems: list[TypeProblem] = field(default_factory=list)


def domain_base(domain: DomainExpr) -> str | None:
    """``'int'`` or ``'symbol'``: the kind of value in ``domain`` (None for a mixed set).

    Example:
        >>> domain_base(RangeDomain(0, 9)), domain_base(SetDomain((Const("a"), Const(1))))
        ('int', None)
    """
    if isinstance(domain, RangeDomain):
        return "int"
    if isinstance(domain, BuiltinDomain):
        return domain.name
    kinds = {_const_base(c.value) for c in domain.values}
    return kinds.pop() if len(kinds) == 1 else None


def in_domain(value: int | str, domain: DomainExpr) -> bool:
    """Whether ``value`` belongs to ``domain``.

    Example:
        >>> in_domain(12, RangeDomain(0, 9)), in_domain("red", SetDomain((Const("red"),)))
        (False, True)
    """
    if isinstance(domain, RangeDomain):
        return isinstance(value, int) and domain.low <= value <= domain.high
    if isinstance(domain, SetDomain):
        return any(c.value == value and type(c.value) is type(value) for c in domain.values)
    return _const_base(value) == domain.name


def show_domain(domain: DomainExpr) -> str:
    """Source-like text of a domain: ``0..9``, ``{a, b}``, ``int``."""
    if isinstance(domain, RangeDomain):
        return f"{domain.low}..{domain.high}"
    if isinstance(domain, SetDomain):
        return "{" + ", ".join(show_expr(c) for c in domain.values) + "}"
    return domain.name


def _lazy(make: Callable[[], str]) -> Callable[[], str]:
    """``make`` called at most once: message texts are only built when a message needs them."""
    cache: list[str] = []

    def text() -> str:
        if not cache:
            cache.append(make())
        return cache[0]

    return text


def _const_base(value: int | str) -> str:
    return "int" if isinstance(value, int) else "symbol"


def _values(domain: DomainExpr) -> frozenset | None:
    if isinstance(domain, RangeDomain):
        return frozenset(range(domain.low, domain.high + 1)) if domain.high - domain.low < 100_000 else None
    if isinstance(domain, SetDomain):
        return frozenset(c.value for c in domain.values)
    return None


def _is_empty(domain: DomainExpr) -> bool:
    if isinstance(domain, RangeDomain):
        return domain.low > domain.high
    return isinstance(domain, SetDomain) and not domain.values


def _at(span: Span) -> str:
    if span.line <= 0:
        return ""
    return f" at {span.file}:{span.line}" if span.file else f" at line {span.line}"


def _a(base: str) -> str:
    return "an int" if base == "int" else "a symbol"


@dataclass(slots=True)
class _Class:
    # one per variable of every rule: kept small (slots, and no set until a domain is declared)
    base: str | None = None
    why: str = ""
    domains: frozenset[str] = frozenset()
    size: int = 1


class _Solver:
    """Union-find over positions ``('p', rel, i)`` and variables ``('v', stmt, scope, name)``."""

    def __init__(self) -> None:
        self.parent: dict[tuple, tuple] = {}
        self.info: dict[tuple, _Class] = {}
        self.problems: list[TypeProblem] = []

    def find(self, node: tuple) -> tuple:
        parent = self.parent
        if node not in parent:
            parent[node] = node
            self.info[node] = _Class()
            return node
        root = node
        while parent[root] != root:
            root = parent[root]
        while parent[node] != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    def problem(self, index: int, span: Span, message: str, hint: str) -> None:
        self.problems.append(TypeProblem(index, span, message, hint))

    def require(self, node: tuple, base: str, index: int, span: Span, text: str | Callable[[], str]) -> bool:
        """``text`` (a noun phrase: "the constant a", or a callable giving it) says ``node`` holds ``base``."""
        cls = self.info[self.find(node)]
        if cls.base == base:
            return True
        if not isinstance(text, str):
            text = text()
        if cls.base is None:
            cls.base, cls.why = base, f"{text}{_at(span)}"
            return True
        if cls.base != base:
            self.problem(
                index,
                span,
                f"type conflict: {text} makes {_describe(node)} {_a(base)}, "
                f"but it is {_a(cls.base)} because of {cls.why}",
                f"use {_a(cls.base)} here, or declare the intended domain with `type ...` and fix the other uses",
            )
            return False
        return True

    def unify(self, a: tuple, b: tuple, index: int, span: Span, text: str | Callable[[], str]) -> None:
        """Put ``a`` and ``b`` in one class; ``text`` (or ``text()``, called only on a conflict) names the place."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        ca, cb = self.info[ra], self.info[rb]
        if ca.base is not None and cb.base is not None and ca.base != cb.base:
            self.problem(
                index,
                span,
                f"type conflict in {text if isinstance(text, str) else text()}: "
                f"{_describe(a)} is {_a(ca.base)} (because of {ca.why}) "
                f"but {_describe(b)} is {_a(cb.base)} (because of {cb.why})",
                "use one variable for values of one type: rename one of them or fix the other uses",
            )
            return
        if ca.size < cb.size:
            ra, rb, ca, cb = rb, ra, cb, ca
        self.parent[rb] = ra
        if ca.base is None:
            ca.base, ca.why = cb.base, cb.why
        if cb.domains:
            ca.domains = ca.domains | cb.domains
        ca.size += cb.size
        del self.info[rb]


def _describe(node: tuple) -> str:
    if node[0] == "p":
        return f"argument {node[2] + 1} of {node[1]}"
    return f"variable {node[3]}"


def infer_types(
    statements: Iterable[tuple[int, object]],
    arities: Mapping[str, int],
    anonymous: Mapping[int, frozenset[str]] | None = None,
) -> TypeResult:
    """Infer the domain of every argument position and report type errors.

    Args:
        statements: ``(index, statement)`` pairs in source order, with ``_`` already
            renamed in clauses, disjunctions and queries.
        arities: the arity of each relation; atoms with another arity are skipped
            (they are reported as arity errors elsewhere).
        anonymous: statement index -> the names given to ``_`` there (shown as ``_``
            in messages).

    Returns:
        A :class:`TypeResult`.

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> p = parse_program("p(1). q(X) :- p(X), X = a.")
        >>> [t.message for t in infer_types(enumerate(p.statements), {"p": 1, "q": 1}).problems]
        ['type conflict: the constant a makes variable X a symbol, but it is an int because of the constant 1 at line 1']
    """
    # (read several times: an iterator is read into a list, anything else iterated again)
    kept = list(statements) if iter(statements) is statements else statements
    return _Inference(kept, arities, anonymous or {}).run()


class _Inference:
    def __init__(
        self,
        statements: Iterable[tuple[int, object]],
        arities: Mapping[str, int],
        anonymous: Mapping[int, frozenset[str]],
    ) -> None:
        self.statements = statements
        self.arities = arities
        self.anonymous = anonymous
        self.solver = _Solver()
        self.domains: dict[str, DomainExpr] = dict(BUILTIN_DOMAINS)
        self.domain_at: dict[str, Span] = {}
        self.declared: dict[tuple, tuple[str, DomainExpr]] = {}  # position -> declared domain
        self.typed: dict[str, Span] = {}
        self.neural: dict[str, Span] = {}
        self.soft_int: set[tuple] = set()
        self.members: dict[str, frozenset] = {}
        self.suggestions = Suggestions()
        self.indexed: dict[str, None] = {}  # the domains in by_domain and by_values, in order
        self.by_domain: dict[DomainExpr, tuple[int, str]] = {}
        self.by_values: dict[frozenset, tuple[int, str]] = {}
        self.scopes = 0

    def run(self) -> TypeResult:
        kinds = (DomainDeclaration, TypeDeclaration, NeuralDeclaration)
        for kind in kinds:  # declarations first: they are authoritative wherever they are written
            for index, stmt in self.statements:
                if isinstance(stmt, kind):
                    getattr(self, f"_{kind.__name__}")(index, stmt)
        for index, stmt in self.statements:
            if isinstance(stmt, Clause):
                self._weight(index, stmt.weight)
                self._neural_has_rules(index, stmt.head)
                self._rule(index, (stmt.head,), stmt.body)
            elif isinstance(stmt, AnnotatedDisjunction):
                self._disjunction(index, stmt)
                for _, head in stmt.heads:
                    self._neural_has_rules(index, head)
                self._rule(index, tuple(h for _, h in stmt.heads), stmt.body)
            elif isinstance(stmt, Query):
                self._rule(index, (), stmt.body)
        return TypeResult(self._types(), self.domains, self.solver.problems)

    # ------------------------------------------------------------ declarations

    def _DomainDeclaration(self, index: int, decl: DomainDeclaration) -> None:
        if decl.name in BUILTIN_DOMAINS:
            self.solver.problem(
                index, decl.span, f"domain {decl.name} is built in and cannot be redeclared", "choose another name"
            )
        elif decl.name in self.domains:
            self.solver.problem(
                index,
                decl.span,
                f"domain {decl.name} is declared twice (first{_at(self.domain_at[decl.name])})",
                "keep one declaration of the domain",
            )
        else:
            self.domains[decl.name] = decl.domain
            self.domain_at[decl.name] = decl.span
        if _is_empty(decl.domain):
            self.solver.problem(
                index, decl.domain.span if decl.domain.span != NO_SPAN else decl.span,
                f"domain {decl.name} = {show_domain(decl.domain)} is empty",
                "write the range low..high with low <= high, or list at least one constant",
            )

    def _TypeDeclaration(self, index: int, decl: TypeDeclaration) -> None:
        if self.arities.get(decl.predicate, len(decl.domains)) != len(decl.domains):
            return
        if decl.predicate in self.typed:
            self.solver.problem(
                index,
                decl.span,
                f"relation {decl.predicate} has two type declarations (first{_at(self.typed[decl.predicate])})",
                "keep one type declaration per relation",
            )
            return
        self.typed[decl.predicate] = decl.span
        for i, name in enumerate(decl.domains):
            if name not in self.domains:
                close = self.suggestions.closest(name, self.domains, cutoff=0.6)
                self.solver.problem(
                    index,
                    decl.span,
                    f"type declaration of {decl.predicate} names the undeclared domain {name}",
                    (f"did you mean {close}? " if close else "")
                    + f"declare it first, e.g. `domain {name} = symbol.` (or 0..9, or {{a, b}})",
                )
                continue
            self._declare((decl.predicate, i), name, index, decl.span, f"the declared domain {name}")

    def _declare(self, pos: tuple[str, int], name: str, index: int, span: Span, text: str) -> None:
        domain = self.domains[name]
        node = ("p",) + pos
        self.declared.setdefault(node, (name, domain))
        cls = self.solver.info[self.solver.find(node)]
        cls.domains = cls.domains | {name}
        base = domain_base(domain)
        if base is not None:
            self.solver.require(node, base, index, span, text)

    def _NeuralDeclaration(self, index: int, decl: NeuralDeclaration) -> None:
        atom = decl.atom
        rel = atom.predicate
        if rel in self.neural:
            self.solver.problem(
                index,
                decl.span,
                f"relation {rel} has two nn declarations (first{_at(self.neural[rel])})",
                "keep one nn declaration per neural relation",
            )
            return
        self.neural[rel] = decl.span
        names = [a.name if isinstance(a, Var) else None for a in atom.args]
        # an input nothing else constrains is an item index (0, 1, ...) of the network's input
        for v in decl.inputs:
            if v.name in names:
                self.soft_int.add(("p", rel, names.index(v.name)))
        for role, var in [("input", v) for v in decl.inputs] + [("output", decl.output)]:
            if var.name not in names:
                self.solver.problem(
                    index,
                    var.span if var.span != NO_SPAN else decl.span,
                    f"the nn {role} {var.name} of {decl.model} is not an argument of {show_atom(atom)}",
                    f"write {var.name} among the arguments of {rel}, or use one of "
                    f"{', '.join(n for n in names if n) or 'its variables'}",
                )
        used = {v.name for v in decl.inputs} | {decl.output.name}
        for a in atom.args:
            if isinstance(a, Var) and a.name not in used:
                self.solver.problem(
                    index,
                    a.span if a.span != NO_SPAN else decl.span,
                    f"argument {a.name} of {show_atom(atom)} is neither an input nor the output of {decl.model}",
                    f"list {a.name} in the inputs of nn({decl.model}, [...], ...) or remove it from {rel}",
                )
        if _is_empty(decl.domain):
            self.solver.problem(
                index, decl.span, f"the output domain {show_domain(decl.domain)} of {decl.model} is empty",
                "give the network at least one class, e.g. [0..9] or [a, b]",
            )
        if decl.output.name not in names or self.arities.get(rel, len(atom.args)) != len(atom.args):
            return
        i = names.index(decl.output.name)
        name = self._domain_name(decl.domain, f"{rel}#{i + 1}")
        node = ("p", rel, i)
        if node in self.declared:  # a type declaration names the domain; the classes must fit in it
            _, declared = self.declared[node]
            values = _values(decl.domain)
            outside = sorted((v for v in values or () if not in_domain(v, declared)), key=str)
            if outside:
                self.solver.problem(
                    index, decl.span,
                    f"the nn domain of {decl.model} has {', '.join(map(str, outside[:5]))} outside the "
                    f"declared domain {self.declared[node][0]} of argument {i + 1} of {rel}",
                    "make the nn domain and the type declaration agree",
                )
            return
        self._declare((rel, i), name, index, decl.span, f"the nn output domain of {decl.model}")

    def _domain_name(self, domain: DomainExpr, fallback: str) -> str:
        """The first domain (in declaration order) equal to ``domain`` or with the same values, else ``fallback``."""
        if len(self.indexed) < len(self.domains):  # index the domains added since the last call
            for name, known in list(self.domains.items())[len(self.indexed):]:
                self._index_domain(name, known)
        values = _values(domain)
        found = [self.by_domain.get(domain)] + ([self.by_values.get(values)] if values is not None else [])
        found = [f for f in found if f is not None]
        if found:
            return min(found)[1]
        self.domains[fallback] = domain
        self._index_domain(fallback, domain)
        return fallback

    def _index_domain(self, name: str, domain: DomainExpr) -> None:
        # (a lookup per nn declaration, instead of a scan of every domain: linear in the program)
        self.indexed[name] = None
        position = len(self.indexed)
        self.by_domain.setdefault(domain, (position, name))
        values = _values(domain)
        if values is not None:
            self.by_values.setdefault(values, (position, name))

    def _neural_has_rules(self, index: int, head: Atom) -> None:
        if head.predicate in self.neural:
            self.solver.problem(
                index,
                head.span,
                f"{head.predicate} is a neural relation (nn declaration{_at(self.neural[head.predicate])}) "
                "and cannot also have facts or rules",
                f"rename the relation of these facts/rules, or remove the nn declaration of {head.predicate}",
            )

    # ------------------------------------------------------------ weights

    def _weight(self, index: int, weight) -> None:
        if isinstance(weight, Probability):
            self._probability(index, weight.value, weight.span)
        elif isinstance(weight, Learnable) and weight.initial is not None:
            self._probability(index, weight.initial, weight.span)

    def _probability(self, index: int, value: float, span: Span) -> None:
        if not 0.0 <= value <= 1.0:
            self.solver.problem(
                index, span, f"probability {value} is outside [0, 1]", "write a probability between 0 and 1"
            )

    def _disjunction(self, index: int, ad: AnnotatedDisjunction) -> None:
        for p, _ in ad.heads:
            self._probability(index, p.value, p.span)
        total = sum(p.value for p, _ in ad.heads)
        if total > 1.0 + _AD_TOLERANCE:
            self.solver.problem(
                index,
                ad.span,
                f"the probabilities of the annotated disjunction sum to {total:g}, more than 1",
                "at most one head holds, so the probabilities must sum to at most 1: scale them down",
            )

    # ------------------------------------------------------------ statements

    def _rule(self, index: int, heads: tuple[Atom, ...], body: tuple[Literal, ...]) -> None:
        env: dict[str, tuple] = {}
        for head in heads:
            self._atom(index, head, env, 0)
        self._body(index, body, heads, env, 0)

    def _var(self, index: int, name: str, env: dict[str, tuple], scope: int) -> tuple:
        node = env.get(name)
        if node is None:
            node = env[name] = ("v", index, scope, name)
        return node

    def _body(self, index: int, body, heads, env: dict[str, tuple], scope: int) -> None:
        for lit in body:
            if isinstance(lit, Atom):
                self._atom(index, lit, env, scope)
            elif isinstance(lit, Negation):
                self._atom(index, lit.atom, env, scope)
            elif isinstance(lit, Comparison):
                self._comparison(index, lit, env, scope)
            elif isinstance(lit, Assign):
                text = _lazy(lambda lit=lit: f"the arithmetic {lit.target.name} is {show_expr(lit.expr)}")
                self.solver.require(self._var(index, lit.target.name, env, scope), "int", index,
                                    lit.target.span if lit.target.span != NO_SPAN else lit.span, text)
                self._arith(index, lit.expr, env, scope, text, lit.span)
            elif isinstance(lit, Aggregate):
                self._aggregate(index, lit, body, heads, env, scope)

    def _atom(self, index: int, atom: Atom, env: dict[str, tuple], scope: int) -> None:
        if self.arities.get(atom.predicate, atom.arity) != atom.arity:
            return
        rel = atom.predicate
        solver = self.solver
        for i, arg in enumerate(atom.args):
            pos = ("p", rel, i)
            if arg.__class__ is Var:
                span = arg.span if arg.span != NO_SPAN else atom.span
                solver.unify(self._var(index, arg.name, env, scope), pos, index, span,
                             lambda: show_atom(atom, self.anonymous.get(index, frozenset())))
                continue
            declared = self.declared.get(pos)
            base = _const_base(arg.value)
            if declared is None and solver.info[solver.find(pos)].base == base:
                continue  # the common case, kept cheap: a constant of the type its position already has
            span = arg.span if arg.span != NO_SPAN else atom.span
            if not solver.require(pos, base, index, span, lambda arg=arg: f"the constant {show_expr(arg)}"):
                continue
            if declared is not None and not self._member(arg.value, declared):
                name, domain = declared
                solver.problem(
                    index,
                    span,
                    f"{show_expr(arg)} is outside the domain {name} = {show_domain(domain)} "
                    f"of argument {i + 1} of {rel}",
                    f"use a value of {name}, or widen the domain declaration",
                )

    def _member(self, value: int | str, declared: tuple[str, DomainExpr]) -> bool:
        name, domain = declared
        if not isinstance(domain, SetDomain):
            return in_domain(value, domain)
        values = self.members.get(name)
        if values is None:  # a set, so that checking many facts stays linear
            values = self.members[name] = frozenset(c.value for c in domain.values)
        return value in values

    def _comparison(self, index: int, lit: Comparison, env, scope) -> None:
        text = _lazy(lambda: f"the comparison {show_expr(lit.left)} {lit.op} {show_expr(lit.right)}")
        plain = (Var, Const)
        if lit.op in ("=", "!=") and isinstance(lit.left, plain) and isinstance(lit.right, plain):
            left, right = lit.left, lit.right
            if isinstance(left, Const):
                left, right = right, left
            if isinstance(left, Var) and isinstance(right, Var):
                self.solver.unify(self._var(index, left.name, env, scope), self._var(index, right.name, env, scope),
                                  index, lit.span, lambda: text().removeprefix("the "))
            elif isinstance(left, Var):
                self.solver.require(self._var(index, left.name, env, scope), _const_base(right.value), index,
                                    right.span if right.span != NO_SPAN else lit.span,
                                    lambda: f"the constant {show_expr(right)}")
            return
        self._arith(index, lit.left, env, scope, text, lit.span)
        self._arith(index, lit.right, env, scope, text, lit.span)

    def _arith(self, index: int, expr: Expr, env, scope, text: Callable[[], str], span: Span) -> None:
        reported = False
        for leaf in expr_leaves(expr):  # (no recursion: a long sum nests thousands of levels deep)
            if leaf.__class__ is Var:
                where = leaf.span if leaf.span != NO_SPAN else span
                self.solver.require(self._var(index, leaf.name, env, scope), "int", index, where, text)
            elif not isinstance(leaf.value, int) and not reported:
                reported = True  # one such problem per expression: its message shows the whole expression
                self.solver.problem(
                    index,
                    leaf.span if leaf.span != NO_SPAN else span,
                    f"the symbol {show_expr(leaf)} is used as a number in {text().removeprefix('the ')}",
                    "arithmetic and <, <=, >, >= work on integers only",
                )

    def _aggregate(self, index: int, agg: Aggregate, body, heads, env, scope) -> None:
        self.scopes += 1
        inner_scope = self.scopes
        groups = group_variables(agg, body, heads)
        inner = {name: self._var(index, name, env, scope) for name in groups}
        self._body(index, agg.body, (), inner, inner_scope)
        result = self._var(index, agg.result.name, env, scope)
        span = agg.result.span if agg.result.span != NO_SPAN else agg.span
        text = show_aggregate(agg)
        if agg.op in ("count", "sum"):
            self.solver.require(result, "int", index, span, f"the aggregate {text}")
        if agg.vars:
            value = self._var(index, agg.vars[0].name, inner, inner_scope)
            if agg.op == "sum":
                self.solver.require(value, "int", index, agg.vars[0].span if agg.vars[0].span != NO_SPAN else span,
                                    f"the aggregate {text}")
            elif agg.op in ("min", "max"):
                self.solver.unify(result, value, index, span, f"the aggregate {text}")

    # ------------------------------------------------------------ results

    def _types(self) -> dict[str, tuple[str, ...]]:
        out: dict[str, tuple[str, ...]] = {}
        soft_int = {self.solver.find(n) for n in self.soft_int}
        for rel, arity in self.arities.items():
            names = []
            for i in range(arity):
                node = ("p", rel, i)
                if node in self.declared:
                    names.append(self.declared[node][0])
                    continue
                cls = self.solver.info[self.solver.find(node)]
                if len(cls.domains) == 1:
                    names.append(next(iter(cls.domains)))
                else:
                    names.append(cls.base or ("int" if self.solver.find(node) in soft_int else "symbol"))
            out[rel] = tuple(names)
        return out
