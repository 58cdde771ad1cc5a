"""Small random stratified, safe programs for differential tests (reference vs brute force vs tensor engine).

``random_program(rng)`` returns the statements of a program, one string each
(``"\\n".join(...)`` gives the source). Programs are built relation by relation:
a few *base* relations with certain and probabilistic facts (distinct random
probabilities, sometimes an annotated disjunction), then *derived* relations whose
rules only read relations defined before them, except positive recursion on
themselves. So every program is stratified and safe by construction, and its
arguments keep one type (symbols ``a..e`` or integers ``0..4``) per position.

Shapes covered: projection with constants, joins, unions, transitive closure
(left, right and non-linear), mutual recursion, negation (with ``_`` and ``not``),
comparisons, bounded arithmetic (``+ - * // mod min max``, division by zero,
bounded recursive counting; with ``extreme_ints``, values at the 64-bit limits that overflow), aggregates (count/sum/min/max, grouped or not, with
empty groups), weighted and learnable rules, annotated disjunctions with a body,
zero-arity relations.

The number of independent probabilistic choices is kept small (``max_worlds``) so
that enumerating every possible world stays cheap.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["random_program", "SYMBOLS", "INTS", "EXTREME_INTS", "DenseCase", "random_dense_program", "random_dense_inputs"]

SYMBOLS = ("a", "b", "c", "d", "e")
INTS = (0, 1, 2, 3, 4)
#: integers at and near the 64-bit limits (``extreme_ints=True``): arithmetic on them overflows
EXTREME_INTS = (-(2**63), -(2**63) + 1, -(2**62) - 1, -(2**62), 2**62, 2**62 + 1, 2**63 - 2, 2**63 - 1)


@dataclass
class _Rel:
    name: str
    types: tuple[str, ...]  # 'sym' or 'int' per argument
    deterministic: bool

    @property
    def arity(self) -> int:
        return len(self.types)


class _Builder:
    def __init__(
        self,
        rng: random.Random,
        *,
        max_worlds: int,
        max_facts: int,
        probabilistic_aggregates: bool,
        extreme_ints: bool = False,
    ) -> None:
        self.rng = rng
        self.max_worlds = max_worlds
        self.max_facts = max_facts
        self.probabilistic_aggregates = probabilistic_aggregates
        self.worlds = 1
        self.n_facts = 0
        self.used_probs: set[float] = set()
        self.rels: list[_Rel] = []
        self.lines: list[str] = []
        self.syms = tuple(sorted(rng.sample(SYMBOLS, rng.randint(3, 5))))
        self.ints = INTS[: rng.randint(3, 5)]
        self.extreme = extreme_ints
        if extreme_ints:
            # two small values and three near the limits: joins and comparisons mix both
            self.ints = (-1, 1) + tuple(sorted(rng.sample(EXTREME_INTS, 3)))
        self.n_derived = 0
        self.recursive = True

    # -- helpers
    def prob(self, low: float = 0.05, high: float = 0.95) -> float:
        while True:
            p = round(self.rng.uniform(low, high), 3)
            if p not in self.used_probs and low <= p <= high:
                self.used_probs.add(p)
                return p

    def choice_ok(self, options: int = 2) -> bool:
        """Whether one more choice with ``options`` outcomes keeps the world count small."""
        return self.worlds * options <= self.max_worlds

    def take_choice(self, options: int = 2) -> None:
        self.worlds *= options

    def const(self, typ: str):
        return self.rng.choice(self.syms if typ == "sym" else self.ints)

    def text(self, v) -> str:
        return str(v)

    def pick(self, *, arity=None, types=None, first=None, det=None, exclude=()) -> _Rel | None:
        cands = [
            r
            for r in self.rels
            if (arity is None or r.arity in (arity if isinstance(arity, tuple) else (arity,)))
            and (types is None or r.types == types)
            and (first is None or (r.arity >= 1 and r.types[0] == first))
            and (det is None or r.deterministic == det)
            and r.name not in exclude
        ]
        return self.rng.choice(cands) if cands else None

    def new_name(self) -> str:
        name = f"d{self.n_derived}"
        self.n_derived += 1
        return name

    @staticmethod
    def atom(name: str, args) -> str:
        return f"{name}({', '.join(str(a) for a in args)})" if args else name

    # -- base relations
    def base(self, index: int) -> None:
        rng = self.rng
        arity = rng.choice((1, 2, 2))
        types = tuple(rng.choice(("sym", "int")) for _ in range(arity))
        name = f"e{index}"
        certain_only = rng.random() < 0.35
        pool = [()]
        for t in types:
            pool = [p + (v,) for p in pool for v in (self.syms if t == "sym" else self.ints)]
        n = min(len(pool), rng.randint(2, 5), max(1, self.max_facts - self.n_facts))
        tuples = rng.sample(pool, n)
        det = True
        used: set[tuple] = set()
        for tup in tuples:
            used.add(tup)
            self.n_facts += 1
            if not certain_only and rng.random() < 0.7 and self.choice_ok():
                self.take_choice()
                det = False
                self.lines.append(f"{self.prob()} :: {self.atom(name, tup)}.")
            else:
                self.lines.append(f"{self.atom(name, tup)}.")
        # sometimes an annotated disjunction over tuples not written yet
        free = [t for t in pool if t not in used]
        if not certain_only and len(free) >= 2 and rng.random() < 0.35 and self.n_facts + 2 <= self.max_facts:
            k = rng.randint(2, min(3, len(free)))
            if self.choice_ok(k + 1):
                self.take_choice(k + 1)
                det = False
                heads = rng.sample(free, k)
                probs = [self.prob(0.05, 0.9 / k) for _ in heads]
                self.n_facts += k
                self.lines.append(" ; ".join(f"{p} :: {self.atom(name, h)}" for p, h in zip(probs, heads)) + ".")
        self.rels.append(_Rel(name, types, det))

    # -- derived relations: each template adds rules and returns the new relations, or None
    def t_project(self):
        r = self.pick(arity=(1, 2))
        if r is None:
            return None
        name = self.new_name()
        rng = self.rng
        if r.arity == 1:
            if rng.random() < 0.5:
                return [(name, r.types, [f"{name}(X) :- {r.name}(X)."], r.deterministic)]
            c = self.const(r.types[0])
            return [(name, (), [f"{name} :- {r.name}({c})."], r.deterministic)]
        form = rng.randrange(4)
        if form == 0:
            rules, types = [f"{name}(X) :- {r.name}(X, _)."], r.types[:1]
        elif form == 1:
            rules, types = [f"{name}(Y, X) :- {r.name}(X, Y)."], (r.types[1], r.types[0])
        elif form == 2:
            c = self.const(r.types[1])
            rules, types = [f"{name}(X) :- {r.name}(X, {c})."], r.types[:1]
        else:
            if r.types[0] != r.types[1]:
                return None
            rules, types = [f"{name}(X) :- {r.name}(X, X)."], r.types[:1]
        return [(name, types, rules, r.deterministic)]

    def t_join(self):
        r = self.pick(arity=2)
        if r is None:
            return None
        s = self.pick(first=r.types[1], arity=(1, 2))
        if s is None:
            return None
        name = self.new_name()
        if s.arity == 1:
            return [(name, r.types[:1], [f"{name}(X) :- {r.name}(X, Y), {s.name}(Y)."], r.deterministic and s.deterministic)]
        return [
            (name, (r.types[0], s.types[1]), [f"{name}(X, Z) :- {r.name}(X, Y), {s.name}(Y, Z)."],
             r.deterministic and s.deterministic)
        ]

    def t_union(self):
        r = self.pick(arity=(1, 2))
        if r is None:
            return None
        s = self.pick(types=r.types, exclude=(r.name,))
        if s is None:
            return None
        name = self.new_name()
        args = "X" if r.arity == 1 else "X, Y"
        rules = [f"{name}({args}) :- {r.name}({args}).", f"{name}({args}) :- {s.name}({args})."]
        return [(name, r.types, rules, r.deterministic and s.deterministic)]

    def t_closure(self):
        cands = [r for r in self.rels if r.arity == 2 and r.types[0] == r.types[1]]
        if not cands:
            return None
        e = self.rng.choice(cands)
        name = self.new_name()
        form = self.rng.randrange(3)
        rec = [
            f"{name}(X, Z) :- {e.name}(X, Y), {name}(Y, Z).",
            f"{name}(X, Z) :- {name}(X, Y), {e.name}(Y, Z).",
            f"{name}(X, Z) :- {name}(X, Y), {name}(Y, Z).",
        ][form]
        return [(name, e.types, [f"{name}(X, Y) :- {e.name}(X, Y).", rec], e.deterministic)]

    def t_mutual(self):
        cands = [r for r in self.rels if r.arity == 2 and r.types[0] == r.types[1]]
        if not cands:
            return None
        e = self.rng.choice(cands)
        odd, even = self.new_name(), self.new_name()
        rules_odd = [f"{odd}(X, Y) :- {e.name}(X, Y).", f"{odd}(X, Z) :- {even}(X, Y), {e.name}(Y, Z)."]
        rules_even = [f"{even}(X, Z) :- {odd}(X, Y), {e.name}(Y, Z)."]
        return [(odd, e.types, rules_odd, e.deterministic), (even, e.types, rules_even, e.deterministic)]

    def t_negation(self):
        r = self.pick(arity=(1, 2))
        if r is None:
            return None
        name = self.new_name()
        neg = self.rng.choice(("\\+ ", "not "))
        pos = self.rng.randrange(r.arity)
        s = self.pick(first=r.types[pos], exclude=(r.name,)) or self.pick(first=r.types[pos])
        if s is None:
            return None
        var = "XY"[pos]
        args = "X" if r.arity == 1 else "X, Y"
        if s.arity == 1:
            negated = f"{s.name}({var})"
        elif s.arity == 2 and r.arity == 2 and s.types[1] == r.types[1 - pos] and self.rng.random() < 0.5:
            negated = f"{s.name}({var}, {'XY'[1 - pos]})"
        else:
            negated = f"{s.name}({var}{', _' * (s.arity - 1)})"
        head = f"{name}({var})"
        types = (r.types[pos],)
        if r.arity == 2 and self.rng.random() < 0.5:
            head, types = f"{name}(X, Y)", r.types
        rules = [f"{head} :- {r.name}({args}), {neg}{negated}."]
        return [(name, types, rules, r.deterministic and s.deterministic)]

    def t_negate_nullary(self):
        z = [r for r in self.rels if r.arity == 0]
        r = self.pick(arity=1)
        if not z or r is None:
            return None
        s = self.rng.choice(z)
        name = self.new_name()
        return [(name, r.types, [f"{name}(X) :- {r.name}(X), \\+ {s.name}."], r.deterministic and s.deterministic)]

    def t_compare(self):
        rng = self.rng
        r = self.pick(arity=(1, 2))
        if r is None:
            return None
        name = self.new_name()
        if r.arity == 2 and rng.random() < 0.5:
            if r.types[0] != r.types[1]:
                return None
            op = rng.choice(("!=", "=", "<", ">=") if r.types[0] == "int" else ("!=", "=", "\\="))
            return [(name, r.types, [f"{name}(X, Y) :- {r.name}(X, Y), X {op} Y."], r.deterministic)]
        if r.types[0] == "int":
            op = rng.choice(("<", "<=", ">", ">=", "=<", "!=", "=:="))
            c = self.const("int")
            args = "X" if r.arity == 1 else "X, _"
            return [(name, r.types[:1], [f"{name}(X) :- {r.name}({args}), X {op} {c}."], r.deterministic)]
        s = self.pick(arity=1, types=r.types[:1])
        if s is None or r.arity != 1:
            return None
        return [(name, (r.types[0], s.types[0]), [f"{name}(X, Y) :- {r.name}(X), {s.name}(Y), X != Y."],
                 r.deterministic and s.deterministic)]

    def t_arith(self):
        rng = self.rng
        ints = [(r, i) for r in self.rels for i, t in enumerate(r.types) if t == "int"]
        if not ints:
            return None
        r, i = rng.choice(ints)
        name = self.new_name()
        exprs = [
            ("X + 1", "Y <= 4"),
            ("X - 1", "Y >= 0"),
            ("X * 2", "Y < 5"),
            ("X mod 3", None),
            ("X // 2", None),
            ("4 // X", None),  # fails where X = 0
            ("3 mod X", None),
            ("max(X, 2)", None),
            ("min(X, 1) + 1", None),
            ("4 - X", "Y >= 0"),
            ("-X + 4", None),
        ]
        if self.extreme:
            # the operations that leave the 64-bit range at its edges, and two that never do
            exprs = [("X + 1", None), ("X - 2", None), ("X * 2", None), ("X * X", None), ("-X", None),
                     ("-X + 4", None), ("X // -1", None), ("4 - X", None), ("X mod -1", None), ("4 // X", None)]
        expr, guard = rng.choice(exprs)
        args = ", ".join("X" if j == i else "_" for j in range(r.arity))
        assign = f"Y is {expr}" if rng.random() < 0.7 else f"Y = {expr}"
        body = f"{r.name}({args}), {assign}" + (f", {guard}" if guard else "")
        if self.recursive and rng.random() < 0.3:
            # bounded recursive counting from the values of r
            low = ", X > -3" if self.extreme else ""
            return [(name, ("int",), [f"{name}(X) :- {r.name}({args}).",
                                      f"{name}(Y) :- {name}(X), X < 3{low}, Y is X + 1."], r.deterministic)]
        if self.recursive and rng.random() < 0.3:
            cands = [e for e in self.rels if e.arity == 2 and e.types[0] == e.types[1]]
            if cands:
                e = rng.choice(cands)
                return [(name, (e.types[0], e.types[0], "int"), [
                    f"{name}(X, Y, 1) :- {e.name}(X, Y).",
                    f"{name}(X, Z, N) :- {name}(X, Y, M), {e.name}(Y, Z), N is M + 1, N =< 3.",
                ], e.deterministic)]
        return [(name, ("int", "int"), [f"{name}(X, Y) :- {body}."], r.deterministic)]

    def t_aggregate(self):
        rng = self.rng
        det = None if self.probabilistic_aggregates else True
        r = self.pick(det=det, arity=(1, 2))
        if r is None:
            return None
        name = self.new_name()
        op = rng.choice(("count", "count", "sum", "min", "max"))
        if r.arity == 1:
            if op != "count" and r.types[0] != "int":
                op = "count"
            return [(name, ("int",), [f"{name}(N) :- N = {op}{{X : {r.name}(X)}}."], r.deterministic)]
        value_ok = r.types[1] == "int"
        if op != "count" and not value_ok:
            op = "count"
        form = rng.randrange(4)
        g = self.pick(arity=1, types=r.types[:1])
        if form == 0 and g is not None:
            # grouped by X bound outside: empty groups count 0 / sum 0, no min/max
            rule = f"{name}(X, N) :- {g.name}(X), N = {op}{{Y : {r.name}(X, Y)}}."
            return [(name, (r.types[0], "int" if op in ("count", "sum") else r.types[1]), [rule],
                     r.deterministic and g.deterministic)]
        if form == 1:
            # grouped by X bound only by the aggregate
            rule = f"{name}(X, N) :- N = {op}{{Y : {r.name}(X, Y)}}."
            return [(name, (r.types[0], "int" if op in ("count", "sum") else r.types[1]), [rule], r.deterministic)]
        if form == 2 and op in ("sum", "min", "max"):
            rule = f"{name}(S) :- S = {op}{{V, X : {r.name}(X, V)}}."
            return [(name, ("int",), [rule], r.deterministic)]
        if g is not None:
            rule = f"{name}(X) :- {g.name}(X), N = count{{Y : {r.name}(X, Y)}}, N >= 1."
            return [(name, r.types[:1], [rule], r.deterministic and g.deterministic)]
        rule = f"{name}(N) :- N = count{{X, Y : {r.name}(X, Y)}}."
        return [(name, ("int",), [rule], r.deterministic)]

    def t_weighted(self):
        if not self.choice_ok():
            return None
        r = self.pick(arity=(1, 2))
        if r is None:
            return None
        self.take_choice()
        name = self.new_name()
        args = "X" if r.arity == 1 else "X, Y"
        w = f"t({self.prob()})" if self.rng.random() < 0.3 else f"{self.prob()}"
        return [(name, r.types, [f"{w} :: {name}({args}) :- {r.name}({args})."], False)]

    def t_ad_rule(self):
        if not self.choice_ok(3):
            return None
        r = self.pick(arity=1)
        if r is None:
            return None
        self.take_choice(3)
        p1, p2 = self.prob(0.05, 0.45), self.prob(0.05, 0.45)
        if self.rng.random() < 0.5:
            a, b = self.new_name(), self.new_name()
            rule = f"{p1} :: {a}(X) ; {p2} :: {b}(X) :- {r.name}(X)."
            return [(a, r.types, [rule], False), (b, r.types, [], False)]
        a = self.new_name()
        c1, c2 = self.syms[0], self.syms[1]
        rule = f"{p1} :: {a}(X, {c1}) ; {p2} :: {a}(X, {c2}) :- {r.name}(X)."
        return [(a, (r.types[0], "sym"), [rule], False)]

    def t_nullary(self):
        r = self.pick(arity=1)
        if r is None:
            return None
        s = self.pick(arity=(1, 2), first=r.types[0])
        if s is None:
            return None
        name = self.new_name()
        args = "X" if s.arity == 1 else "X, _"
        return [(name, (), [f"{name} :- {r.name}(X), {s.name}({args})."], r.deterministic and s.deterministic)]


def random_program(
    rng: random.Random,
    *,
    n_relations: int = 4,
    n_base: int | None = None,
    recursive: bool = True,
    negation: bool = True,
    aggregates: bool = True,
    arithmetic: bool = True,
    weighted: bool = True,
    max_worlds: int = 256,
    max_facts: int = 14,
    probabilistic_aggregates: bool = False,
    extreme_ints: bool = False,
) -> tuple[str, ...]:
    """The statements of a random stratified, safe program.

    Args:
        rng: the source of randomness (``random.Random(seed)`` makes it reproducible).
        n_relations: how many derived relations (templates applied; a template may add two).
        n_base: how many base relations with facts (default: 2 or 3).
        recursive: allow recursive rules (transitive closure, mutual and bounded arithmetic recursion).
        negation: allow negation.
        aggregates: allow aggregates.
        arithmetic: allow comparisons and arithmetic.
        weighted: allow weighted rules and annotated disjunctions with a body.
        max_worlds: bound on the number of possible worlds of the probabilistic choices.
        max_facts: bound on the number of facts (annotated-disjunction heads included).
        probabilistic_aggregates: let aggregates range over probabilistic relations
            (their tag is then the product of the aggregated tags, not the exact probability;
            leave False when comparing with possible-world enumeration).
        extreme_ints: integers are ``-1``, ``1`` and three of ``EXTREME_INTS`` (near ``±2**62``
            and ``±2**63``), and arithmetic includes ``X // -1``, ``-X`` and ``X * X``: many
            programs overflow, and both evaluators must then raise the same error.

    Returns:
        The statements, one per string; ``"\\n".join(...)`` is the source.

    Example:
        >>> src = "\\n".join(random_program(random.Random(0)))
        >>> src.count(".") >= 3
        True
    """
    b = _Builder(rng, max_worlds=max_worlds, max_facts=max_facts, probabilistic_aggregates=probabilistic_aggregates,
                 extreme_ints=extreme_ints)
    b.recursive = recursive
    for i in range(n_base if n_base is not None else rng.randint(2, 3)):
        b.base(i)
    templates = [b.t_project, b.t_join, b.t_union, b.t_nullary]
    if recursive:
        templates += [b.t_closure, b.t_closure, b.t_mutual]
    if negation:
        templates += [b.t_negation, b.t_negation, b.t_negate_nullary]
    if arithmetic:
        templates += [b.t_compare, b.t_arith, b.t_arith]
    if aggregates:
        templates += [b.t_aggregate, b.t_aggregate]
    if weighted:
        templates += [b.t_weighted, b.t_ad_rule]
    if extreme_ints and arithmetic:
        templates += [b.t_arith, b.t_arith, b.t_aggregate]
    made = 0
    attempts = 0
    while made < n_relations and attempts < 50 * n_relations:
        attempts += 1
        template = rng.choice(templates)
        saved = b.n_derived
        out = template()
        if out is None:
            b.n_derived = saved
            continue
        for name, types, rules, det in out:
            b.lines.extend(rules)
            b.rels.append(_Rel(name, tuple(types), det))
        made += 1
    return tuple(b.lines)


# ---------------------------------------------------------------- integer programs for the dense engine

DENSE_OPS = ("S0 + V", "S0 * V mod 5", "max(S0, V)", "S0 - V", "(S0 + V) mod 3", "S0 + V * I")


@dataclass
class DenseCase:
    """A program over small integers (and a few symbols) with run-time inputs.

    Attributes:
        statements: the program, one statement per string.
        items: ``d(I, V)`` has items ``I = 0..items-1`` per sample, each a distribution over ``V``.
        values: ``V`` ranges over ``0..values-1``.
        nodes: ``e(X, Y)`` is a random graph over ``0..nodes-1`` per sample.
        negation: whether some rule negates (only the idempotent semirings take it densely).
    """

    statements: tuple[str, ...]
    items: int
    values: int
    nodes: int
    negation: bool


def random_dense_program(rng: random.Random, *, negation: bool | None = None) -> DenseCase:
    """A random program in the dense engine's fragment, reading the inputs ``d``, ``e`` and ``n``.

    Inputs (given by :func:`random_dense_inputs`): ``d(I, V)`` the readings of ``items``
    items (each a distribution over ``V``: one mutually exclusive group per item),
    ``e(X, Y)`` independent probabilistic edges, ``n(N)`` a certain count per sample.
    Shapes: running aggregates over the items (``S is S0 + V`` and other operators,
    bounded by ``I < N``), comparisons between readings, projections with constants,
    transitive closure (left, right, non-linear), mutual recursion, bounded counting,
    ``=`` bindings, division by zero, unions, weighted and learnable rules, constants and
    repeated variables in heads and bodies, symbols, nullary heads, and negation.

    Example:
        >>> case = random_dense_program(random.Random(1))
        >>> any(s.startswith("acc(") or s.startswith("lt(") or ":-" in s for s in case.statements)
        True
    """
    items, values, nodes = rng.randint(1, 3), rng.randint(2, 4), rng.randint(2, 4)
    use_negation = rng.random() < 0.3 if negation is None else negation
    lines = [
        "type d(int, int).",
        "type e(int, int).",
        "type n(int).",
        "c(0). 0.6 :: c(2). 0.35 :: c(3).",
        "col(a). 0.45 :: col(b).",
        "0.3 :: w(0) ; 0.5 :: w(1).",
    ]
    op = rng.choice(DENSE_OPS)
    defined: set[str] = set()

    def acc() -> list[str]:
        return ["acc(0, 0).", f"acc(J, S) :- acc(I, S0), n(N), I < N, d(I, V), S is {op}, J is I + 1."]

    def tot() -> list[str]:
        return need("acc") + ["tot(S) :- n(N), acc(N, S)."]

    def lt() -> list[str]:
        cmp = rng.choice(("<", "<=", "!=", "=", ">="))
        return [f"lt(I, J) :- d(I, A), d(J, B), A {cmp} B."]

    def proj() -> list[str]:
        k = rng.randrange(values)
        return [f"p0(V) :- d(0, V).", f"big :- d(_, V), V >= {k}.", f"h2(1, X) :- d(0, X)."]

    def closure() -> list[str]:
        rec = rng.choice(("t(X, Z) :- t(X, Y), e(Y, Z).", "t(X, Z) :- e(X, Y), t(Y, Z).", "t(X, Z) :- t(X, Y), t(Y, Z)."))
        return ["t(X, Y) :- e(X, Y).", rec]

    def arith() -> list[str]:
        expr = rng.choice(("X * 2 - I", "X // 2", "3 mod X", "-X", "6 // X", "min(X, 1) + I", "X * X"))
        bind = rng.choice(("is", "="))
        guard = rng.choice(("", ", Y >= 0", ", Y < 3"))
        return [f"q(I, Y) :- d(I, X), Y {bind} {expr}{guard}."]

    def union() -> list[str]:
        return ["u(X) :- d(_, X).", "u(X) :- c(X).", "u(X) :- w(X)."]

    def weighted() -> list[str]:
        w = rng.choice(("0.7", "t(0.4)"))
        return need("u") + [f"{w} :: wr(X) :- u(X), X < 3."]

    def heads() -> list[str]:
        return ["hx(X, X) :- d(_, X).", "diag(X) :- e(X, X).", "self(X) :- e(X, Y), e(Y, X)."]

    def symbols() -> list[str]:
        return [f"sc(I, C) :- d(I, V), col(C), V > 0.", "sa(I) :- sc(I, a)."]

    def binding() -> list[str]:
        return ["b(Y) :- d(I, X), Y = X + I.", "b2(I) :- d(I, X), X + 1 = I."]

    def counting() -> list[str]:
        return ["cnt(X) :- d(_, X).", f"cnt(Y) :- cnt(X), X < {values + 1}, Y is X + 1."]

    def mutual() -> list[str]:
        return ["od(X, Y) :- e(X, Y).", "ev(X, Z) :- od(X, Y), e(Y, Z).", "od(X, Z) :- ev(X, Y), e(Y, Z)."]

    def joined() -> list[str]:
        return need("acc") + need("lt") + ["jn(I, S) :- acc(I, S), lt(I, _)."]

    def negated() -> list[str]:
        return need("u") + ["nu(X) :- d(_, X), \\+ c(X).", "nt(X) :- u(X), not t2(X, X).", "t2(X, Y) :- e(X, Y)."]

    templates = {
        "acc": acc, "tot": tot, "lt": lt, "proj": proj, "closure": closure, "arith": arith, "u": union,
        "weighted": weighted, "heads": heads, "symbols": symbols, "binding": binding, "counting": counting,
        "mutual": mutual, "joined": joined,
    }

    def need(name: str) -> list[str]:
        if name in defined:
            return []
        defined.add(name)
        return templates[name]()

    chosen = rng.sample(sorted(templates), rng.randint(3, 6))
    for name in chosen:
        lines += need(name)
    if use_negation:
        lines += negated()
    return DenseCase(tuple(lines), items, values, nodes, use_negation)


def random_dense_inputs(case: DenseCase, rng: random.Random, batch_size: int) -> dict[str, tuple[list, list | None, list | None]]:
    """Rows ``(cols, probs, groups)`` of the inputs ``d``, ``e`` and ``n`` for ``batch_size`` samples.

    Each item of ``d`` is one mutually exclusive group (probabilities summing to at most 1,
    sometimes over only some values); ``e`` has independent probabilistic edges (in half of
    the calls acyclic, else with self-loops and cycles); ``n`` is certain (``probs`` None) and
    may differ between samples.

    Example:
        >>> case = random_dense_program(random.Random(0))
        >>> cols, probs, groups = random_dense_inputs(case, random.Random(0), 2)["d"]
        >>> len(cols) == len(probs) == len(groups)
        True
    """
    d_cols, d_probs, d_groups = [], [], []
    e_cols, e_probs = [], []
    n_cols = []
    acyclic = rng.random() < 0.5  # then add-mult sums converge exactly in every program
    for b in range(batch_size):
        for i in range(case.items):
            vals = [v for v in range(case.values) if rng.random() < 0.8] or [0]
            weights = [rng.uniform(0.05, 1.0) for _ in vals]
            scale = rng.uniform(0.6, 1.0) / sum(weights)
            for v, w in zip(vals, weights):
                d_cols.append([b, i, v])
                d_probs.append(w * scale)
                d_groups.append(b * case.items + i)
        for x in range(case.nodes):
            for y in range(case.nodes):
                if rng.random() < (0.6 if acyclic else 0.45) and (x < y or not acyclic):
                    e_cols.append([b, x, y])
                    e_probs.append(rng.uniform(0.05, 0.9))
        n_cols.append([b, rng.randint(0, case.items)])
    return {"d": (d_cols, d_probs, d_groups), "e": (e_cols, e_probs, None), "n": (n_cols, None, None)}
