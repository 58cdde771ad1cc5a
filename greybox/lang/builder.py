"""Build the AST nodes of :mod:`greybox.lang.ast` from the parser's reductions.

The driver in :mod:`greybox.lang.parser` calls one :class:`Builder` method per
grammar rule (or alias) with all of the rule's children: tokens
``(type, text, line, column)``, nodes already built, and a few intermediate
values (``Call``, ``Float``, ... from :mod:`greybox.lang.reductions`) whose
meaning depends on where they end up. Every node gets its
:class:`~greybox.lang.ast.Span` here. A construct that is valid syntax but not a
valid program raises :class:`Problem`, which the parser turns into a
:class:`~greybox.errors.ParseError`.

Example:
    >>> b = Builder("k.dl")
    >>> x = b.var([("VAR", "X", 1, 3)])
    >>> x, str(x.span)
    (Var(name='X'), 'k.dl:1:3')
    >>> b.lit_cmp([x, ("CMP", "=<", 1, 5), b.int_const([("INT", "3", 1, 8)])])
    Comparison(op='<=', left=Var(name='X'), right=Const(value=3))
    >>> try:
    ...     b.int_const([("INT", "99999999999999999999", 2, 1)])
    ... except Problem as p:
    ...     print(p.line, p.column, p.message)
    2 1 integer 99999999999999999999 is out of range
"""

from __future__ import annotations

from typing import Any

from .ast import (
    AGGREGATE_OPS,
    Aggregate,
    AnnotatedDisjunction,
    Assign,
    Atom,
    BinOp,
    BuiltinDomain,
    Clause,
    Comparison,
    Const,
    DomainDeclaration,
    Learnable,
    Neg,
    Negation,
    NeuralDeclaration,
    Probability,
    Program,
    Query,
    RangeDomain,
    SetDomain,
    Span,
    Statement,
    TypeDeclaration,
    Var,
)
from .reductions import (
    WEIGHT_HINT,
    Agg,
    as_atom,
    Call,
    describe_value,
    token_end,
    as_expr,
    Float,
    as_int,
    List,
    as_name,
    NN,
    Pending,
    as_probability,
    Problem,
    Range,
    token_start,
    unescape,
)

__all__ = ["CANONICAL_COMPARISON", "MAX_AGGREGATE_NESTING", "Builder", "Problem", "WEIGHT_HINT"]

# Every accepted spelling of a comparison and the canonical one kept in the AST.
CANONICAL_COMPARISON = {
    "<": "<",
    "=<": "<=",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
    "=": "=",
    "==": "=",
    "=:=": "=",
    "\\=": "!=",
    "!=": "!=",
    "=\\=": "!=",
}


#: How deeply aggregates may nest (``N = count{X : M = count{...}, ...}``). The
#: analyses walk aggregate bodies recursively; the bound keeps them far from
#: Python's recursion limit (arithmetic has no such bound: it is walked iteratively).
MAX_AGGREGATE_NESTING = 32


def _aggregate_depth(body: list) -> int:
    """How many aggregates nest inside the literals ``body`` (0 when none), without recursion."""
    deepest = 0
    stack = [(lit, 1) for lit in body if lit.__class__ is Aggregate]
    while stack:
        agg, depth = stack.pop()
        deepest = max(deepest, depth)
        stack += [(lit, depth + 1) for lit in agg.body if lit.__class__ is Aggregate]
    return deepest


# ---------------------------------------------------------------- builder


class Builder:
    """One method per grammar rule (or alias); each gets all children, tokens included."""

    def __init__(self, file: str | None) -> None:
        self.file = file

    def _span(self, first: Any, last: Any) -> Span:
        line, column = token_start(first)
        end_line, end_column = token_end(last)
        return Span(self.file, line, column, end_line, end_column)

    def _grow(self, children: list) -> list:
        """``x`` or ``xs , x`` (left-recursive list rules): the list so far, grown in place."""
        if len(children) == 1:
            return children  # a fresh list from the driver
        items = children[0]
        items.append(children[-1])
        return items

    statements = weighted = args = body = items = _grow

    # ------------------------------------------------------------ statements

    def program(self, children: list) -> Program:
        return Program(tuple(children[0]) if children else (), self.file)

    def statement(self, children: list) -> Statement:
        pending, dot = children
        span = pending.span
        end_line, end_column = token_end(dot)
        return pending.make(
            *pending.args, span=Span(self.file, span.line, span.column, end_line, end_column)
        )

    def single(self, children: list) -> Statement:
        if len(children) == 2:
            return self.statement(children)
        pending = children[0]
        return pending.make(*pending.args, span=pending.span)

    def query_only(self, children: list) -> Query:
        body = [c for c in children if c.__class__ is not tuple][0]
        return Query(tuple(body), self._span(children[0], children[-1]))

    def fact(self, children: list) -> Pending:
        head = children[0]
        return Pending(Clause, (head, (), None), head.span)

    def rule(self, children: list) -> Pending:
        head, _, body = children
        return Pending(Clause, (head, tuple(body), None), self._span(head, body))

    def weighted_fact(self, children: list) -> Pending:
        heads = children[0]
        return self._weighted(heads, (), self._span(heads[0][0], heads[-1][1]))

    def weighted_rule(self, children: list) -> Pending:
        heads, _, body = children
        return self._weighted(heads, tuple(body), self._span(heads[0][0], body))

    def _weighted(self, heads: list, body: tuple, span: Span) -> Pending:
        if len(heads) == 1:
            weight, head = heads[0]
            if isinstance(weight, NN):
                if body:
                    raise Problem(
                        "a neural declaration has no body", body[0], "write `nn(net, [X], Y, [0..9]) :: digit(X, Y).`"
                    )
                return Pending(
                    NeuralDeclaration, (weight.model, weight.inputs, weight.output, weight.domain, head), span
                )
            return Pending(Clause, (head, body, weight), span)
        for weight, _ in heads:
            if not isinstance(weight, Probability):
                raise Problem(
                    "the heads of an annotated disjunction need fixed probabilities",
                    weight,
                    "write `0.2 :: a ; 0.8 :: b.`; learnable weights and nn(...) only go on a single head",
                )
        return Pending(AnnotatedDisjunction, (tuple((w, h) for w, h in heads), body), span)

    def query(self, children: list) -> Pending:
        op, body = children
        return Pending(Query, (tuple(body),), self._span(op, body))

    def domain_decl(self, children: list) -> Pending:
        keyword, name, eq, domain = children
        if keyword[1] != "domain":
            raise Problem(
                f"unexpected name '{name[1]}' after '{keyword[1]}'",
                name,
                "a domain is declared as `domain name = 0..9.`, `{a, b}`, `int` or `symbol`",
            )
        if eq[1] != "=":
            raise Problem(f"unexpected '{eq[1]}'", eq, "a domain is declared as `domain name = 0..9.`")
        return Pending(DomainDeclaration, (name[1], domain), self._span(keyword, domain))

    def type_decl(self, children: list) -> Pending:
        keyword, head = children
        if keyword[1] != "type":
            raise Problem(
                f"unexpected name '{head.predicate}' after '{keyword[1]}'",
                head,
                f"a `,`, `:-` or `.` may be missing after '{keyword[1]}'; "
                "a relation is declared as `type parent(person, person).`",
            )
        domains = []
        for arg in head.args:
            if not (arg.__class__ is Const and isinstance(arg.value, str)):
                raise Problem(
                    f"{describe_value(arg)} is not a domain name",
                    arg,
                    "name each argument's domain: `type age(person, int).`",
                )
            domains.append(arg.value)
        return Pending(TypeDeclaration, (head.predicate, tuple(domains)), self._span(keyword, head))

    def headless(self, children: list) -> Pending:
        raise Problem(
            "a rule needs a head", children[0], "write `head :- body.`; constraints `:- body.` are not supported"
        )

    # ------------------------------------------------------------ weights and heads

    def weighted_head(self, children: list) -> list:
        weight, _, head = children
        return [weight, head]

    def weight(self, children: list) -> Any:
        x = children[0]
        if x.__class__ is tuple:  # INT or FLOAT
            return Probability(as_probability(x[1], x), self._span(x, x))
        if x.name == "t" and len(x.args) == 1:
            (arg,) = x.args
            if arg.__class__ is Var and arg.name == "_":
                return Learnable(None, x.span)
            if isinstance(arg, Float):
                return Learnable(as_probability(arg.text, arg), x.span)
            if arg.__class__ is Const and isinstance(arg.value, int):
                return Learnable(as_probability(str(arg.value), arg), x.span)
            raise Problem(f"{describe_value(arg)} is not a probability", arg, WEIGHT_HINT)
        if x.name == "nn":
            return self._nn(x)
        raise Problem(f"{describe_value(x)} is not a weight", x, WEIGHT_HINT)

    def _nn(self, x: Call) -> NN:
        usage = "write `nn(net, [X], Y, [0..9]) :: digit(X, Y).` (classes as `[a, b, c]` also work)"
        if len(x.args) != 4:
            raise Problem(f"nn(...) takes 4 arguments, got {len(x.args)}", x, usage)
        model, inputs, output, domain = x.args
        if not (model.__class__ is Const and isinstance(model.value, str)):
            raise Problem(f"{describe_value(model)} is not a model name", model, usage)
        if not isinstance(inputs, List) or any(v.__class__ is not Var for v in inputs.items):
            raise Problem("the inputs of nn(...) must be a list of variables", inputs, usage)
        if output.__class__ is not Var:
            raise Problem("the output of nn(...) must be a variable", output, usage)
        if not isinstance(domain, List):
            raise Problem("the classes of nn(...) must be a list", domain, usage)
        items = domain.items
        if len(items) == 1 and isinstance(items[0], Range):
            r = items[0]
            dom: Any = RangeDomain(r.low, r.high, domain.span)
        else:
            for item in items:
                if item.__class__ is not Const:
                    raise Problem(f"{describe_value(item)} is not a class", item, usage)
            dom = SetDomain(tuple(items), domain.span)
        return NN(model.value, tuple(inputs.items), output, dom, x.span)

    def head(self, children: list) -> Atom:
        x = children[0]
        if x.__class__ is Call:
            return as_atom(x)
        return Atom(as_name(x), (), self._span(x, x))  # NAME or STRING: an atom without arguments

    negated = lit_atom = head

    def call(self, children: list) -> Call:
        functor, _, args, rpar = children
        for a in args:
            if a.__class__ is Call:  # min(A, B) inside the arguments is arithmetic
                args[:] = [b.function() or b if b.__class__ is Call else b for b in args]
                break
        name = functor[1] if functor[0] == "NAME" else unescape(functor)
        return Call(name, args, Span(self.file, functor[2], functor[3], rpar[2], rpar[3] + 1))

    # ------------------------------------------------------------ literals

    def lit_cmp(self, children: list) -> Any:
        left, op, right = children
        if isinstance(right, Agg) or isinstance(left, Agg):
            agg, other = (right, left) if isinstance(right, Agg) else (left, right)
            if other.__class__ is not Var or CANONICAL_COMPARISON[op[1]] != "=":
                raise Problem(
                    "an aggregate is written `Result = op{Vars : Body}`",
                    left,
                    f"bind the result to a variable first: `N = {agg.op}{{...}}, N {op[1]} ...`",
                )
            return Aggregate(other, agg.op, agg.vars, agg.body, self._span(left, right))
        return Comparison(CANONICAL_COMPARISON[op[1]], as_expr(left), as_expr(right), self._span(left, right))

    def lit_is(self, children: list) -> Assign:
        target, _, expr = children
        var = Var(target[1], self._span(target, target))
        return Assign(var, as_expr(expr), self._span(target, expr))

    def lit_naf(self, children: list) -> Negation:
        return Negation(children[-2] if len(children) == 4 else children[1], self._span(children[0], children[-1]))

    def lit_not(self, children: list) -> Negation:
        word, atom = children
        if word[1] != "not":
            raise Problem(
                f"unexpected name '{atom.predicate}' after '{word[1]}'",
                atom,
                f"a `,` or an operator may be missing after '{word[1]}'; negation is written `\\+ p(X)` or `not p(X)`",
            )
        return Negation(atom, self._span(word, atom))

    # ------------------------------------------------------------ expressions

    def binop(self, children: list) -> BinOp:
        left, op, right = children
        return BinOp(op[1], as_expr(left), as_expr(right), self._span(left, right))

    def neg(self, children: list) -> Neg:
        minus, operand = children
        return Neg(as_expr(operand), self._span(minus, operand))

    def var(self, children: list) -> Var:
        (t,) = children
        return Var(t[1], Span(self.file, t[2], t[3], t[2], t[3] + len(t[1])))

    def int_const(self, children: list) -> Const:
        (t,) = children
        return Const(as_int(t), Span(self.file, t[2], t[3], t[2], t[3] + len(t[1])))

    def name_const(self, children: list) -> Const:
        (t,) = children
        return Const(t[1], Span(self.file, t[2], t[3], t[2], t[3] + len(t[1])))

    def string_const(self, children: list) -> Const:
        (t,) = children
        return Const(unescape(t), self._span(t, t))

    def float_const(self, children: list) -> Float:
        (t,) = children
        return Float(t[1], self._span(t, t))

    def paren(self, children: list) -> Any:
        return children[1]

    def aggregate(self, children: list) -> Agg:
        op, _, variables, body, rbrace = children
        if op[1] not in AGGREGATE_OPS:
            raise Problem(f"unknown aggregate '{op[1]}'", op, "the aggregates are count, sum, min and max")
        if not variables and op[1] != "count":
            raise Problem(
                f"{op[1]} needs the variable it aggregates",
                op,
                f"list it before the `:`, e.g. `S = {op[1]}{{V, X : score(X, V)}}`",
            )
        depth = _aggregate_depth(body)
        if depth >= MAX_AGGREGATE_NESTING:
            raise Problem(
                f"aggregates nested {depth + 1} deep; at most {MAX_AGGREGATE_NESTING} may be nested",
                op,
                "compute the inner aggregate in a rule of its own and use that relation here",
            )
        return Agg(op[1], tuple(variables), tuple(body), self._span(op, rbrace))

    def agg_vars(self, children: list) -> list:
        return children[0] if len(children) == 2 else []

    def var_list(self, children: list) -> list:
        t = children[-1]
        children[-1] = Var(t[1], self._span(t, t))
        return self._grow(children)

    def list_expr(self, children: list) -> List:
        items = children[1] if len(children) == 3 else []
        return List(items, self._span(children[0], children[-1]))

    def int_range(self, children: list) -> Range:
        low, _, high = children
        return Range(as_int(low), as_int(high), self._span(low, high))

    # ------------------------------------------------------------ domains

    def range_domain(self, children: list) -> RangeDomain:
        r = children[0]
        return RangeDomain(r.low, r.high, r.span)

    def set_domain(self, children: list) -> SetDomain:
        values = children[1] if len(children) == 3 else []
        return SetDomain(tuple(values), self._span(children[0], children[-1]))

    def constants(self, children: list) -> list:
        t = children[-1]
        value: int | str = as_int(t) if t[0] in ("INT", "NEG_INT") else as_name(t)
        children[-1] = Const(value, self._span(t, t))
        return self._grow(children)

    def builtin_domain(self, children: list) -> BuiltinDomain:
        (t,) = children
        if t[1] not in ("int", "symbol"):
            raise Problem(
                f"unknown domain '{t[1]}'",
                t,
                "a domain is a range `0..9`, a set `{a, b}`, or one of the built-ins `int` and `symbol`",
            )
        return BuiltinDomain(t[1], self._span(t, t))
