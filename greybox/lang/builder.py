"""Build the AST nodes of :mod:`greybox.lang.ast` from the parser's reductions.

The driver in :mod:`greybox.lang.parser` calls one :class:`_Builder` method per
grammar rule (or alias) with all of the rule's children: tokens
``(type, text, line, column)``, nodes already built, and a few intermediate
values (``_Call``, ``_Float``, ...) whose meaning depends on where they end up.
Every node gets its :class:`~greybox.lang.ast.Span` here. A construct that is
valid syntax but not a valid program raises :class:`_Problem`, which the parser
turns into a :class:`~greybox.errors.ParseError`.

Example:
    >>> b = _Builder("k.dl")
    >>> x = b.var([("VAR", "X", 1, 3)])
    >>> x, str(x.span)
    (Var(name='X'), 'k.dl:1:3')
    >>> b.lit_cmp([x, ("CMP", "=<", 1, 5), b.int_const([("INT", "3", 1, 8)])])
    Comparison(op='<=', left=Var(name='X'), right=Const(value=3))
    >>> try:
    ...     b.int_const([("INT", "99999999999999999999", 2, 1)])
    ... except _Problem as p:
    ...     print(p.line, p.column, p.message)
    2 1 integer 99999999999999999999 is out of range
"""

from __future__ import annotations

import re
from typing import Any, Callable

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

__all__ = ["CANONICAL_COMPARISON", "_Builder", "_Problem", "_WEIGHT_HINT"]

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

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_ARG_HINT = "an argument is a variable or a constant; compute other values first, e.g. `Y is X + 1, p(Y)`"
_WEIGHT_HINT = "a weight is a probability between 0 and 1 (`0.7 :: f(a).`) or a learnable `t(0.5)` / `t(_)`"


# ---------------------------------------------------------------- positions


def _start(x: Any) -> tuple[int, int]:
    if x.__class__ is tuple:
        return x[2], x[3]
    if isinstance(x, list):
        return _start(x[0])
    return x.span.line, x.span.column


def _end(x: Any) -> tuple[int, int]:
    if x.__class__ is tuple:
        return x[2], x[3] + len(x[1])
    if isinstance(x, list):
        return _end(x[-1])
    s = x.span
    return s.end_line, s.end_column


# ---------------------------------------------------------------- problems


class _Problem(Exception):
    """A semantic error found while building a node; turned into a ParseError by ``_parse``."""

    def __init__(self, message: str, at: Any, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.line, self.column = _start(at)
        self.hint = hint


# ---------------------------------------------------------------- intermediate values


class _Call:
    """``name(args)``: an atom, a weight (``t(0.5)``, ``nn(...)``) or ``min``/``max``, by context."""

    __slots__ = ("name", "args", "span")

    def __init__(self, name: str, args: list, span: Span) -> None:
        self.name, self.args, self.span = name, args, span

    def function(self) -> BinOp | None:
        """The call as ``min(A, B)`` / ``max(A, B)`` if it is one whose arguments are expressions."""
        if self.name in ("min", "max") and len(self.args) == 2:
            a, b = self.args
            if a.__class__ in _EXPR_CLASSES and b.__class__ in _EXPR_CLASSES:
                return BinOp(self.name, a, b, self.span)
        return None


class _Float:
    __slots__ = ("text", "span")

    def __init__(self, text: str, span: Span) -> None:
        self.text, self.span = text, span


class _List:
    __slots__ = ("items", "span")

    def __init__(self, items: list, span: Span) -> None:
        self.items, self.span = items, span


class _Range:
    __slots__ = ("low", "high", "span")

    def __init__(self, low: int, high: int, span: Span) -> None:
        self.low, self.high, self.span = low, high, span


class _Agg:
    __slots__ = ("op", "vars", "body", "span")

    def __init__(self, op: str, vars: tuple, body: tuple, span: Span) -> None:
        self.op, self.vars, self.body, self.span = op, vars, body, span


class _NN:
    __slots__ = ("model", "inputs", "output", "domain", "span")

    def __init__(self, model: str, inputs: tuple, output: Var, domain: Any, span: Span) -> None:
        self.model, self.inputs, self.output, self.domain, self.span = model, inputs, output, domain, span


class _Pending:
    """A statement without its final span (the ``.`` is read after it)."""

    __slots__ = ("make", "args", "span")

    def __init__(self, make: Callable, args: tuple, span: Span) -> None:
        self.make, self.args, self.span = make, args, span


_EXPR_CLASSES = frozenset({Var, Const, BinOp, Neg})


def _describe_value(x: Any) -> str:
    if isinstance(x, _Call):
        return f"the term {x.name}(...)"
    if isinstance(x, _Float):
        return f"the number {x.text}"
    if isinstance(x, _List):
        return "a list"
    if isinstance(x, _Range):
        return f"the range {x.low}..{x.high}"
    if isinstance(x, _Agg):
        return f"the aggregate {x.op}{{...}}"
    if isinstance(x, (BinOp, Neg)):
        return "an arithmetic expression"
    if isinstance(x, Var):
        return f"the variable {x.name}"
    if isinstance(x, Const):
        return f"the constant {x.value!r}"
    return "this"


def _not_integer(x: _Float) -> _Problem:
    return _Problem(
        f"{x.text} is not an integer",
        x,
        "constants and arithmetic are integers; a number with a point is only a probability, as in `0.7 :: f(a).`",
    )


def _expr(x: Any) -> Any:
    """``x`` used in arithmetic or a comparison."""
    if x.__class__ in _EXPR_CLASSES:
        return x
    if isinstance(x, _Call):
        f = x.function()
        if f is not None:
            return f
        if x.name in ("min", "max"):
            raise _Problem(f"{x.name} takes two arguments", x, f"write `{x.name}(A, B)`")
        raise _Problem(
            f"`{x.name}(...)` is not an arithmetic function",
            x,
            "arithmetic has + - * // mod, unary -, min(A, B) and max(A, B); test an atom as its own literal",
        )
    if isinstance(x, _Float):
        raise _not_integer(x)
    if isinstance(x, _Agg):
        raise _Problem(
            "an aggregate must stand alone on one side of `=`", x, "write `N = count{X : p(X)}` as its own literal"
        )
    raise _Problem(f"{_describe_value(x)} cannot be used here", x, "lists only appear in `nn(...)` declarations")


def _term(x: Any) -> Any:
    """``x`` used as an argument of an atom."""
    if x.__class__ is Var or x.__class__ is Const:
        return x
    if isinstance(x, _Float):
        raise _not_integer(x)
    raise _Problem(f"{_describe_value(x)} cannot be an argument", x, _ARG_HINT)


def _atom(call: _Call) -> Atom:
    """``name(args)`` read as an atom (a head, a body literal or a negated one)."""
    args = tuple(call.args)
    for a in args:
        if a.__class__ is not Var and a.__class__ is not Const:
            if call.name == "not" and isinstance(a, _Call):
                raise _Problem("`not(...)` around an atom is not supported", call, "write `\\+ p(X)` or `not p(X)`")
            _term(a)
    return Atom(call.name, args, call.span)


def _int(tok: tuple) -> int:
    text = tok[1]
    # (the length test keeps int() away from its limit on very long digit strings)
    if len(text.lstrip("-0")) > 19 or not (_INT64_MIN <= (value := int(text)) <= _INT64_MAX):
        raise _Problem(
            f"integer {text[:24]}{'...' if len(text) > 24 else ''} is out of range",
            tok,
            "integers are 64-bit: between -9223372036854775808 and 9223372036854775807",
        )
    return value


def _probability(text: str, at: Any) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise _Problem(f"probability {text} is not between 0 and 1", at, _WEIGHT_HINT)
    return value + 0.0  # -0.0 -> 0.0


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "a": "\a", "b": "\b", "f": "\f", "v": "\v",
            "\\": "\\", "'": "'", '"': '"'}  # fmt: skip
_ESCAPE_RE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)")


def _unescape(tok: tuple) -> str:
    body = tok[1][1:-1]
    if "\\" not in body:
        return body

    def replace(m: re.Match) -> str:
        code = m.group(1)
        if code in _ESCAPES:
            return _ESCAPES[code]
        if len(code) > 1 and int(code[1:], 16) <= 0x10FFFF:
            return chr(int(code[1:], 16))
        line, column = tok[2], tok[3] + 1 + m.start()
        raise _Problem(
            f"unknown escape \\{code[0]} in a quoted string",
            ("STRING", "", line, column),
            "use \\\\ for a backslash, \\' or \\\" for a quote, \\n \\t \\r, or \\xHH \\uHHHH \\UHHHHHHHH",
        )

    return _ESCAPE_RE.sub(replace, body)


def _name(tok: tuple) -> str:
    return tok[1] if tok[0] == "NAME" else _unescape(tok)


# ---------------------------------------------------------------- builder


class _Builder:
    """One method per grammar rule (or alias); each gets all children, tokens included."""

    def __init__(self, file: str | None) -> None:
        self.file = file

    def _span(self, first: Any, last: Any) -> Span:
        line, column = _start(first)
        end_line, end_column = _end(last)
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
        end_line, end_column = _end(dot)
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

    def fact(self, children: list) -> _Pending:
        head = children[0]
        return _Pending(Clause, (head, (), None), head.span)

    def rule(self, children: list) -> _Pending:
        head, _, body = children
        return _Pending(Clause, (head, tuple(body), None), self._span(head, body))

    def weighted_fact(self, children: list) -> _Pending:
        heads = children[0]
        return self._weighted(heads, (), self._span(heads[0][0], heads[-1][1]))

    def weighted_rule(self, children: list) -> _Pending:
        heads, _, body = children
        return self._weighted(heads, tuple(body), self._span(heads[0][0], body))

    def _weighted(self, heads: list, body: tuple, span: Span) -> _Pending:
        if len(heads) == 1:
            weight, head = heads[0]
            if isinstance(weight, _NN):
                if body:
                    raise _Problem(
                        "a neural declaration has no body", body[0], "write `nn(net, [X], Y, [0..9]) :: digit(X, Y).`"
                    )
                return _Pending(
                    NeuralDeclaration, (weight.model, weight.inputs, weight.output, weight.domain, head), span
                )
            return _Pending(Clause, (head, body, weight), span)
        for weight, _ in heads:
            if not isinstance(weight, Probability):
                raise _Problem(
                    "the heads of an annotated disjunction need fixed probabilities",
                    weight,
                    "write `0.2 :: a ; 0.8 :: b.`; learnable weights and nn(...) only go on a single head",
                )
        return _Pending(AnnotatedDisjunction, (tuple((w, h) for w, h in heads), body), span)

    def query(self, children: list) -> _Pending:
        op, body = children
        return _Pending(Query, (tuple(body),), self._span(op, body))

    def domain_decl(self, children: list) -> _Pending:
        keyword, name, eq, domain = children
        if keyword[1] != "domain":
            raise _Problem(
                f"unexpected name '{name[1]}' after '{keyword[1]}'",
                name,
                "a domain is declared as `domain name = 0..9.`, `{a, b}`, `int` or `symbol`",
            )
        if eq[1] != "=":
            raise _Problem(f"unexpected '{eq[1]}'", eq, "a domain is declared as `domain name = 0..9.`")
        return _Pending(DomainDeclaration, (name[1], domain), self._span(keyword, domain))

    def type_decl(self, children: list) -> _Pending:
        keyword, head = children
        if keyword[1] != "type":
            raise _Problem(
                f"unexpected name '{head.predicate}' after '{keyword[1]}'",
                head,
                f"a `,`, `:-` or `.` may be missing after '{keyword[1]}'; "
                "a relation is declared as `type parent(person, person).`",
            )
        domains = []
        for arg in head.args:
            if not (arg.__class__ is Const and isinstance(arg.value, str)):
                raise _Problem(
                    f"{_describe_value(arg)} is not a domain name",
                    arg,
                    "name each argument's domain: `type age(person, int).`",
                )
            domains.append(arg.value)
        return _Pending(TypeDeclaration, (head.predicate, tuple(domains)), self._span(keyword, head))

    def headless(self, children: list) -> _Pending:
        raise _Problem(
            "a rule needs a head", children[0], "write `head :- body.`; constraints `:- body.` are not supported"
        )

    # ------------------------------------------------------------ weights and heads

    def weighted_head(self, children: list) -> list:
        weight, _, head = children
        return [weight, head]

    def weight(self, children: list) -> Any:
        x = children[0]
        if x.__class__ is tuple:  # INT or FLOAT
            return Probability(_probability(x[1], x), self._span(x, x))
        if x.name == "t" and len(x.args) == 1:
            (arg,) = x.args
            if arg.__class__ is Var and arg.name == "_":
                return Learnable(None, x.span)
            if isinstance(arg, _Float):
                return Learnable(_probability(arg.text, arg), x.span)
            if arg.__class__ is Const and isinstance(arg.value, int):
                return Learnable(_probability(str(arg.value), arg), x.span)
            raise _Problem(f"{_describe_value(arg)} is not a probability", arg, _WEIGHT_HINT)
        if x.name == "nn":
            return self._nn(x)
        raise _Problem(f"{_describe_value(x)} is not a weight", x, _WEIGHT_HINT)

    def _nn(self, x: _Call) -> _NN:
        usage = "write `nn(net, [X], Y, [0..9]) :: digit(X, Y).` (classes as `[a, b, c]` also work)"
        if len(x.args) != 4:
            raise _Problem(f"nn(...) takes 4 arguments, got {len(x.args)}", x, usage)
        model, inputs, output, domain = x.args
        if not (model.__class__ is Const and isinstance(model.value, str)):
            raise _Problem(f"{_describe_value(model)} is not a model name", model, usage)
        if not isinstance(inputs, _List) or any(v.__class__ is not Var for v in inputs.items):
            raise _Problem("the inputs of nn(...) must be a list of variables", inputs, usage)
        if output.__class__ is not Var:
            raise _Problem("the output of nn(...) must be a variable", output, usage)
        if not isinstance(domain, _List):
            raise _Problem("the classes of nn(...) must be a list", domain, usage)
        items = domain.items
        if len(items) == 1 and isinstance(items[0], _Range):
            r = items[0]
            dom: Any = RangeDomain(r.low, r.high, domain.span)
        else:
            for item in items:
                if item.__class__ is not Const:
                    raise _Problem(f"{_describe_value(item)} is not a class", item, usage)
            dom = SetDomain(tuple(items), domain.span)
        return _NN(model.value, tuple(inputs.items), output, dom, x.span)

    def head(self, children: list) -> Atom:
        x = children[0]
        if x.__class__ is _Call:
            return _atom(x)
        return Atom(_name(x), (), self._span(x, x))  # NAME or STRING: an atom without arguments

    negated = lit_atom = head

    def call(self, children: list) -> _Call:
        functor, _, args, rpar = children
        for a in args:
            if a.__class__ is _Call:  # min(A, B) inside the arguments is arithmetic
                args[:] = [b.function() or b if b.__class__ is _Call else b for b in args]
                break
        name = functor[1] if functor[0] == "NAME" else _unescape(functor)
        return _Call(name, args, Span(self.file, functor[2], functor[3], rpar[2], rpar[3] + 1))

    # ------------------------------------------------------------ literals

    def lit_cmp(self, children: list) -> Any:
        left, op, right = children
        if isinstance(right, _Agg) or isinstance(left, _Agg):
            agg, other = (right, left) if isinstance(right, _Agg) else (left, right)
            if other.__class__ is not Var or CANONICAL_COMPARISON[op[1]] != "=":
                raise _Problem(
                    "an aggregate is written `Result = op{Vars : Body}`",
                    left,
                    f"bind the result to a variable first: `N = {agg.op}{{...}}, N {op[1]} ...`",
                )
            return Aggregate(other, agg.op, agg.vars, agg.body, self._span(left, right))
        return Comparison(CANONICAL_COMPARISON[op[1]], _expr(left), _expr(right), self._span(left, right))

    def lit_is(self, children: list) -> Assign:
        target, _, expr = children
        var = Var(target[1], self._span(target, target))
        return Assign(var, _expr(expr), self._span(target, expr))

    def lit_naf(self, children: list) -> Negation:
        return Negation(children[-2] if len(children) == 4 else children[1], self._span(children[0], children[-1]))

    def lit_not(self, children: list) -> Negation:
        word, atom = children
        if word[1] != "not":
            raise _Problem(
                f"unexpected name '{atom.predicate}' after '{word[1]}'",
                atom,
                f"a `,` or an operator may be missing after '{word[1]}'; negation is written `\\+ p(X)` or `not p(X)`",
            )
        return Negation(atom, self._span(word, atom))

    # ------------------------------------------------------------ expressions

    def binop(self, children: list) -> BinOp:
        left, op, right = children
        return BinOp(op[1], _expr(left), _expr(right), self._span(left, right))

    def neg(self, children: list) -> Neg:
        minus, operand = children
        return Neg(_expr(operand), self._span(minus, operand))

    def var(self, children: list) -> Var:
        (t,) = children
        return Var(t[1], Span(self.file, t[2], t[3], t[2], t[3] + len(t[1])))

    def int_const(self, children: list) -> Const:
        (t,) = children
        return Const(_int(t), Span(self.file, t[2], t[3], t[2], t[3] + len(t[1])))

    def name_const(self, children: list) -> Const:
        (t,) = children
        return Const(t[1], Span(self.file, t[2], t[3], t[2], t[3] + len(t[1])))

    def string_const(self, children: list) -> Const:
        (t,) = children
        return Const(_unescape(t), self._span(t, t))

    def float_const(self, children: list) -> _Float:
        (t,) = children
        return _Float(t[1], self._span(t, t))

    def paren(self, children: list) -> Any:
        return children[1]

    def aggregate(self, children: list) -> _Agg:
        op, _, variables, body, rbrace = children
        if op[1] not in AGGREGATE_OPS:
            raise _Problem(f"unknown aggregate '{op[1]}'", op, "the aggregates are count, sum, min and max")
        if not variables and op[1] != "count":
            raise _Problem(
                f"{op[1]} needs the variable it aggregates",
                op,
                f"list it before the `:`, e.g. `S = {op[1]}{{V, X : score(X, V)}}`",
            )
        return _Agg(op[1], tuple(variables), tuple(body), self._span(op, rbrace))

    def agg_vars(self, children: list) -> list:
        return children[0] if len(children) == 2 else []

    def var_list(self, children: list) -> list:
        t = children[-1]
        children[-1] = Var(t[1], self._span(t, t))
        return self._grow(children)

    def list_expr(self, children: list) -> _List:
        items = children[1] if len(children) == 3 else []
        return _List(items, self._span(children[0], children[-1]))

    def int_range(self, children: list) -> _Range:
        low, _, high = children
        return _Range(_int(low), _int(high), self._span(low, high))

    # ------------------------------------------------------------ domains

    def range_domain(self, children: list) -> RangeDomain:
        r = children[0]
        return RangeDomain(r.low, r.high, r.span)

    def set_domain(self, children: list) -> SetDomain:
        values = children[1] if len(children) == 3 else []
        return SetDomain(tuple(values), self._span(children[0], children[-1]))

    def constants(self, children: list) -> list:
        t = children[-1]
        value: int | str = _int(t) if t[0] in ("INT", "NEG_INT") else _name(t)
        children[-1] = Const(value, self._span(t, t))
        return self._grow(children)

    def builtin_domain(self, children: list) -> BuiltinDomain:
        (t,) = children
        if t[1] not in ("int", "symbol"):
            raise _Problem(
                f"unknown domain '{t[1]}'",
                t,
                "a domain is a range `0..9`, a set `{a, b}`, or one of the built-ins `int` and `symbol`",
            )
        return BuiltinDomain(t[1], self._span(t, t))
