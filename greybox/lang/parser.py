"""Read greybox source text into the AST of :mod:`greybox.lang.ast`.

``grammar.lark`` beside this module is the grammar. lark turns it into LALR(1)
tables once per process; the small driver below runs those tables over a token
list made by one compiled regular expression: lark's own lexer and tree builder
take five times longer just to build a parse tree, and a knowledge base of ten
thousand rules must load in well under a second. The cyclic garbage collector is
paused while a text is parsed (everything allocated stays alive in the AST).

Every node gets a :class:`~greybox.lang.ast.Span` (file, line, column, end line,
end column; the end column is one past the last character, as lark counts).
Anything that is not valid syntax raises :class:`~greybox.errors.ParseError`
with the position, the source line, what would have been accepted there and a
hint; no other exception escapes on bad input.

Example:
    >>> prog = parse_program("parent(ann, bob).\\nanc(X, Y) :- parent(X, Y).", file="kin.dl")
    >>> prog.statements[1].body[0]
    Atom(predicate='parent', args=(Var(name='X'), Var(name='Y')))
    >>> print(prog.statements[1].span)
    kin.dl:2:1
    >>> parse_statement("0.7 :: edge(a, b)").weight
    Probability(value=0.7)
    >>> parse_statement("d(X) :- n(X), X =< 3").body[1]
    Comparison(op='<=', left=Var(name='X'), right=Const(value=3))
    >>> parse_query("?- anc(ann, Who), \\\\+ dead(Who).").variables()
    ('Who',)
    >>> try:
    ...     parse_program("p(X :- q(X).", file="k.dl")
    ... except ParseError as err:
    ...     print(err)
    k.dl:1:5: unexpected ':-', expected ')', ',' or an arithmetic operator
      p(X :- q(X).
          ^
    hint: close the '(' opened at column 2
"""

from __future__ import annotations

import gc
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from ..errors import ParseError
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

__all__ = ["parse_program", "parse_statement", "parse_query", "CANONICAL_COMPARISON"]

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

_STARTS = ("program", "single", "query_only")
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Tokens after which an operand has just ended: there `-` is binary and `mod` an operator.
_OPERAND_END = frozenset({"VAR", "NAME", "INT", "NEG_INT", "FLOAT", "STRING", "RPAR", "RSQB", "RBRACE"})
_COMMENTS = frozenset({"COMMENT", "BLOCK_COMMENT"})
_FREQUENT = frozenset({"NAME", "VAR", "COMMA", "LPAR", "RPAR"})
# Terminals the lexer derives from context instead of matching them directly
# (lark's contextual lexer makes the same choices; tests check that it does).
_DERIVED = frozenset({"IS", "MOD", "NEG_INT"})
_OPENERS = {"LPAR": "RPAR", "LSQB": "RSQB", "LBRACE": "RBRACE"}
_CLOSERS = {v: k for k, v in _OPENERS.items()}
_SPELLING = {"LPAR": "(", "RPAR": ")", "LSQB": "[", "RSQB": "]", "LBRACE": "{", "RBRACE": "}"}

_TOKEN_NAMES = {
    "NAME": "a name",
    "VAR": "a variable",
    "INT": "a number",
    "NEG_INT": "a number",
    "FLOAT": "a number",
    "STRING": "a quoted string",
    "CMP": "a comparison",
    "IS": "'is'",
    "PLUS": "an arithmetic operator",
    "MINUS": "an arithmetic operator",
    "STAR": "an arithmetic operator",
    "IDIV": "an arithmetic operator",
    "MOD": "an arithmetic operator",
    "NECK": "':-'",
    "DCOLON": "'::'",
    "COLON": "':'",
    "QUERY_OP": "'?-'",
    "NAF": "'\\+'",
    "DOTDOT": "'..'",
    "DOT": "'.'",
    "COMMA": "','",
    "SEMI": "';'",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "LBRACE": "'{'",
    "RBRACE": "'}'",
    "$END": "end of input",
}

_STATEMENT_HINT = "a statement looks like `head :- body.`, e.g. `grandparent(X, Z) :- parent(X, Y), parent(Y, Z).`"
_QUERY_HINT = "a query looks like `?- parent(X, Y), X \\= Y.`"
_ARG_HINT = "an argument is a variable or a constant; compute other values first, e.g. `Y is X + 1, p(Y)`"
_WEIGHT_HINT = "a weight is a probability between 0 and 1 (`0.7 :: f(a).`) or a learnable `t(0.5)` / `t(_)`"


# ---------------------------------------------------------------- public API


def parse_program(text: str, file: str | None = None) -> Program:
    """Parse a whole program: zero or more statements, each ending with ``.``.

    Args:
        text: the source text.
        file: the file name recorded in every span and error (``None`` for ``<input>``).

    Returns:
        The :class:`~greybox.lang.ast.Program`, statements in source order.

    Raises:
        ParseError: at the first syntax error.

    Example:
        >>> prog = parse_program("% kinship\\nparent(ann, bob).\\n0.2 :: a ; 0.8 :: b.")
        >>> [type(s).__name__ for s in prog]
        ['Clause', 'AnnotatedDisjunction']
    """
    return _parse(text, file, "program")


def parse_statement(text: str, file: str | None = None) -> Statement:
    """Parse exactly one statement; the final ``.`` is optional.

    Args:
        text: the source text of one statement.
        file: the file name recorded in spans and errors.

    Returns:
        The statement (a ``Clause``, ``AnnotatedDisjunction``, ``NeuralDeclaration``,
        ``DomainDeclaration``, ``TypeDeclaration`` or ``Query``).

    Raises:
        ParseError: on a syntax error, an empty text or more than one statement.

    Example:
        >>> parse_statement("domain digit = 0..9")
        DomainDeclaration(name='digit', domain=RangeDomain(low=0, high=9))
    """
    return _parse(text, file, "single")


def parse_query(text: str, file: str | None = None) -> Query:
    """Parse a query: literals separated by ``,``; ``?-`` and the final ``.`` are optional.

    Args:
        text: the query text, e.g. ``"?- parent(ann, X)."`` or ``"parent(ann, X)"``.
        file: the file name recorded in spans and errors.

    Returns:
        The :class:`~greybox.lang.ast.Query`.

    Raises:
        ParseError: on a syntax error.

    Example:
        >>> parse_query("age(P, A), A >= 18").body[1]
        Comparison(op='>=', left=Var(name='A'), right=Const(value=18))
    """
    return _parse(text, file, "query_only")


# ---------------------------------------------------------------- tables


class _Tables:
    """The lexer regex and LALR(1) tables derived from ``grammar.lark`` (read-only once built)."""

    def __init__(self) -> None:
        from lark import Lark
        from lark.parsers.lalr_analysis import Shift

        grammar = Path(__file__).with_name("grammar.lark").read_text(encoding="utf-8")
        lark = Lark(grammar, parser="lalr", start=list(_STARTS), keep_all_tokens=True)
        self.lark = lark  # kept for tests that compare with lark's own contextual lexer

        # lark's own terminal order: priority, then longest possible match first
        terms = sorted(
            lark.terminals,
            key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name),
        )
        # The most frequent terminals go first (none of them shares a first character
        # with another terminal, so the order changes nothing else); whitespace is
        # read as an optional prefix of every token instead of as a token of its own.
        terms.sort(key=lambda t: t.name not in _FREQUENT)
        ws = next(t.pattern.to_regexp() for t in terms if t.name == "WS")
        alternatives = [
            f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terms if t.name not in _DERIVED and t.name != "WS"
        ]
        self.regex = re.compile(f"(?:{ws})?(?:" + "|".join(alternatives) + rf"|(?P<ERROR>(?!{ws})[\s\S]))")
        terminal_names = {str(t.name) for t in lark.terminals} | {"$END"}
        self.terminals = sorted(terminal_names - {"WS", "COMMENT", "BLOCK_COMMENT"})

        confs = {s: lark.parse_interactive(start=s).parser_state.parse_conf for s in _STARTS}
        table = confs[_STARTS[0]].parse_table
        self.start_states = {s: c.start_state for s, c in confs.items()}
        self.end_states = {s: c.end_state for s, c in confs.items()}

        # actions[state][terminal]: an int is a shift to that state; a tuple
        # (size, goto, builder function or None for a pass-through) is a reduction,
        # where goto[state below the rule's children] is the state after it.
        n_states = len(table.states)
        assert set(table.states) == set(range(n_states))
        gotos: dict[str, list[int]] = {}
        for state, row in table.states.items():
            for symbol, (action, arg) in row.items():
                if action is Shift and str(symbol) not in terminal_names:
                    gotos.setdefault(str(symbol), [-1] * n_states)[state] = arg
        reductions: dict[Any, tuple] = {}
        self.actions: list[dict[str, Any]] = [{} for _ in range(n_states)]
        for state, row in table.states.items():
            acts = self.actions[state]
            for symbol, (action, arg) in row.items():
                symbol = str(symbol)  # lark's names are Token objects: slow dictionary keys
                if action is not Shift:
                    if arg not in reductions:
                        reductions[arg] = self._reduction(arg, gotos)
                    acts[symbol] = reductions[arg]
                elif symbol in terminal_names:
                    acts[symbol] = arg

    @staticmethod
    def _reduction(rule: Any, gotos: dict[str, list[int]]) -> tuple[int, list[int], Callable | None]:
        size = len(rule.expansion)
        origin = str(rule.origin.name)
        if origin.startswith("_"):
            raise AssertionError(f"write lists in grammar.lark as left-recursive rules, not with * or +: {rule}")
        if rule.options.expand1 and size == 1 and not rule.alias:
            return size, gotos[origin], None  # `?rule: x` passes x through unchanged
        name = str(rule.alias or origin)
        func = getattr(_Builder, name, None)
        if func is None:
            raise AssertionError(f"grammar rule {name} has no builder method")
        return size, gotos[origin], func


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    return _Tables()


# ---------------------------------------------------------------- lexer


def _lex(text: str, regex: re.Pattern) -> list[tuple[str, str, int, int]]:
    """Tokens ``(type, text, line, column)``, ending with ``$END``; unknown characters become ``ERROR``."""
    tokens: list[tuple[str, str, int, int]] = []
    append = tokens.append
    line, line_start = 1, 0
    prev = prev2 = ""
    comments = _COMMENTS
    operand_end = _OPERAND_END
    for m in regex.finditer(text):
        kind = m.lastgroup
        value = m.group(kind)
        start = m.end() - len(value)
        if start != m.start():  # whitespace before the token
            n = text.count("\n", m.start(), start)
            if n:
                line += n
                line_start = text.rfind("\n", 0, start) + 1
        if kind in comments:
            n = value.count("\n")
            if n:
                line += n
                line_start = start + value.rfind("\n") + 1
            continue
        column = start - line_start + 1
        if kind == "NAME":
            if value == "is" and prev == "VAR":
                kind = "IS"
            elif value == "mod" and prev in operand_end and not (
                prev == "NAME" and prev2 in ("", "DOT") and tokens[-1][1] in ("type", "domain")
            ):
                # `type mod(int).` declares a relation named mod; `X mod 2` and `a mod X` are arithmetic
                kind = "MOD"
        elif kind == "INT" and prev == "MINUS" and prev2 not in operand_end:
            last = tokens[-1]
            if last[2] == line and last[3] + 1 == column:  # `-3`, not `- 3`
                tokens[-1] = ("NEG_INT", "-" + value, line, column - 1)
                prev = "NEG_INT"
                continue
        append((kind, value, line, column))
        prev2, prev = prev, kind
    if tokens:
        last = tokens[-1]
        append(("$END", "", last[2], last[3] + len(last[1])))
    else:
        append(("$END", "", line, len(text) - line_start + 1))
    return tokens


# ---------------------------------------------------------------- driver


class _Problem(Exception):
    """A semantic error found while building a node; turned into a ParseError by ``_parse``."""

    def __init__(self, message: str, at: Any, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.line, self.column = _start(at)
        self.hint = hint


class _SyntaxProblem(Exception):
    def __init__(self, token: tuple) -> None:
        super().__init__(token)
        self.token = token


def _parse(text: str, file: str | None, start: str) -> Any:
    if not isinstance(text, str):
        raise TypeError(f"expected the source text as str, got {type(text).__name__}")
    tables = _tables()
    builder = _Builder(file)
    # The cyclic garbage collector finds nothing to free in fresh tokens and nodes
    # but would walk them again and again while they grow (half the time on large programs).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        tokens = _lex(text, tables.regex)
        return _run(tables, tokens, start, builder)
    except _Problem as p:
        raise ParseError(
            p.message, file=file, line=p.line, column=p.column, source_line=_source_line(text, p.line), hint=p.hint
        ) from None
    except _SyntaxProblem as p:
        index = next(i for i, t in enumerate(tokens) if t is p.token)
        raise _syntax_error(tables, text, file, tokens, index, start) from None
    finally:
        if gc_was_enabled:
            gc.enable()


def _run(tables: _Tables, tokens: list, start: str, builder: "_Builder") -> Any:
    actions = tables.actions
    state = tables.start_states[start]
    end_state = tables.end_states[start]
    states = [state]
    values: list = []
    for tok in tokens:
        ttype = tok[0]
        while True:
            a = actions[state].get(ttype)
            if a.__class__ is int:  # shift
                state = a
                states.append(a)
                values.append(tok)
                break
            if a is None:
                raise _SyntaxProblem(tok)
            size, goto, func = a
            if size == 1:  # the most common case: replace the top of both stacks in place
                if func is not None:  # (None: a pass-through, the value stays)
                    values[-1] = func(builder, [values[-1]])
                state = goto[states[-2]]
                states[-1] = state
            else:
                if size:
                    children = values[-size:]
                    del values[-size:]
                    del states[-size:]
                else:
                    children = []
                values.append(func(builder, children))
                state = goto[states[-1]]
                states.append(state)
            if state == end_state:  # only reached by reducing the start rule, at the end
                return values[-1]
    raise AssertionError("the token list always ends with $END")  # pragma: no cover


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


def _source_line(text: str, line: int | None) -> str | None:
    if line is None or line < 1:
        return None
    lines = text.split("\n")
    return lines[line - 1].rstrip("\r") if line <= len(lines) else None


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


# ---------------------------------------------------------------- syntax errors


def _syntax_error(tables: _Tables, text: str, file: str | None, tokens: list, index: int, start: str) -> ParseError:
    tok = tokens[index]
    line, column = tok[2], tok[3]
    source_line = _source_line(text, line)
    viable = _viable(tables, tokens, index, start)
    expected = _expected_names(viable)
    if tok[0] == "ERROR":
        message = f"unexpected character {tok[1]!r}"
        hint = _character_hint(tok, source_line or "")
    else:
        message = f"unexpected {_describe_token(tok)}"
        if 0 < len(expected) <= 5:
            listed = ", ".join(expected[:-1]) + (" or " if len(expected) > 1 else "") + expected[-1]
            message += f", expected {listed}"
        hint = _token_hint(tokens, index, viable, start)
    return ParseError(
        message, expected=expected, file=file, line=line, column=column, source_line=source_line, hint=hint
    )


def _expected_names(viable: set[str]) -> list[str]:
    names = {_TOKEN_NAMES.get(t, t) for t in viable}
    if "MINUS" in viable and not viable & {"PLUS", "STAR", "IDIV", "MOD"}:
        names.discard(_TOKEN_NAMES["PLUS"])  # only the unary minus fits here
        names.add("'-'")
    return sorted(names)


def _viable(tables: _Tables, tokens: list, index: int, start: str) -> set[str]:
    """The terminals that could really come next.

    An LALR(1) state merges the contexts it is reached from, so its row also lists
    tokens that only fit another context; replaying the parser state by state and
    trying each terminal gives the exact set.
    """
    states = [tables.start_states[start]]
    end_state = tables.end_states[start]
    for tok in tokens[:index]:
        _feed(tables.actions, states, tok[0], end_state)
    return {t for t in tables.terminals if _feed(tables.actions, list(states), t, end_state)}


def _feed(actions: list, states: list, terminal: str, end_state: int) -> bool:
    """Advance the state stack over one terminal; False if the parser would reject it."""
    while True:
        a = actions[states[-1]].get(terminal)
        if a is None:
            return False
        if a.__class__ is int:
            states.append(a)
            return True
        size, goto, _ = a
        del states[len(states) - size :]
        states.append(goto[states[-1]])
        if states[-1] == end_state:
            return True


def _describe_token(tok: tuple) -> str:
    kind, value = tok[0], tok[1]
    if kind == "$END":
        return "end of input"
    if kind == "NAME":
        return f"name '{value}'"
    if kind == "VAR":
        return f"variable '{value}'"
    if kind in ("INT", "NEG_INT", "FLOAT"):
        return f"number {value}"
    if kind == "STRING":
        return f"string {value[:40]}{'...' if len(value) > 40 else ''}"
    return f"'{value}'"


def _character_hint(tok: tuple, source_line: str) -> str:
    c = tok[1]
    if c in "'\"":
        return f"close the quoted string with {c} on the same line (write a line break as \\n)"
    if c == "/":
        if source_line[tok[3] : tok[3] + 1] == "*":
            return "close the comment with */"
        return "integer division is written `//`; a comment starts with `%` or is enclosed in `/* */`"
    if c == "?":
        return "a query starts with `?-`"
    if c == "\\":
        return "negation is written `\\+ p(X)`; `\\=` means not equal"
    if c.isspace():
        return "replace this unusual space character with a plain space"
    return "this character cannot appear here; quote text that is not a name: 'like this'"


_OPERAND_START = frozenset({"VAR", "NAME", "INT", "NEG_INT", "FLOAT", "STRING", "NAF"})
_LITERAL_HINT = (
    "a body literal is an atom `p(X)`, a comparison `X < Y`, an assignment `N is X + 1`, "
    "a negation `\\+ p(X)` or an aggregate `N = count{X : p(X)}`"
)


def _token_hint(tokens: list, index: int, viable: set[str], start: str) -> str:
    tok = tokens[index]
    kind = tok[0]
    prev = tokens[index - 1] if index else None
    pkind = prev[0] if prev else ""

    bracket = _bracket_hint(tokens, index, viable)
    if bracket:
        return bracket
    if kind == "IS" or (kind == "NAME" and tok[1] == "is" and pkind):
        return "the left side of `is` must be a variable: `N is X + 1`"
    if kind == "DCOLON" or (kind in ("MINUS", "NEG_INT") and pkind in ("", "DOT") and "FLOAT" in viable):
        return _WEIGHT_HINT
    if kind == "SEMI":
        return (
            "`;` only separates the heads of an annotated disjunction (`0.2 :: a ; 0.8 :: b.`); "
            "write one rule per case"
        )
    if pkind == "NAF":
        return "`\\+` negates an atom, as in `\\+ p(X)`; for a comparison use the opposite one, e.g. `X =< 1`"
    if pkind == "LPAR" and kind == "RPAR":
        return "an atom without arguments is written without parentheses: `rain`"
    if kind == "CMP" and pkind == "CMP":
        return "the comparisons are < =< > >= = \\= (also <= != == =:= =\\=)"
    if kind == "STAR" and pkind == "STAR":
        return "there is no power operator; the arithmetic is + - * // mod min max"
    if pkind == "QUERY_OP" and kind in ("DOT", "$END"):
        return "a query needs at least one literal: `?- p(X).`"
    if pkind == "COMMA" and kind in ("DOT", "$END", "RPAR", "RBRACE", "RSQB"):
        return "a ',' must be followed by another item; remove it or add one"
    if kind == "$END" and index == 0:
        return "the text is empty; " + (_QUERY_HINT if start == "query_only" else _STATEMENT_HINT)
    if kind == "$END" and "DOT" in viable:
        return "end the statement with '.'"
    if kind in ("DOT", "COMMA", "RBRACE", "$END") and "CMP" in viable:
        return _LITERAL_HINT
    if kind == "$END":
        return "the text ends in the middle of a statement"
    if start == "single" and viable == {"$END"}:
        return "a single statement was expected; parse several with parse_program"
    if prev is not None and "DOT" in viable and prev[2] < tok[2]:
        also = " (or join the literals with ',')" if "COMMA" in viable else ""
        return f"end the statement on line {prev[2]} with '.'{also}"
    if kind in _OPERAND_START and "COMMA" in viable:
        return "a ',' may be missing before this"
    if kind == "NECK" and "COMMA" in viable:
        return "a rule has one `:-`; separate body literals with ','"
    return _QUERY_HINT if start == "query_only" else _STATEMENT_HINT


def _bracket_hint(tokens: list, index: int, viable: set[str]) -> str | None:
    """About a bracket of this statement that is still open, or a closer without an opener."""
    tok = tokens[index]
    kind = tok[0]
    stack: list[tuple] = []
    for t in tokens[:index]:
        if t[0] == "DOT":
            stack.clear()
        elif t[0] in _OPENERS:
            stack.append(t)
        elif t[0] in _CLOSERS and stack:
            stack.pop()
    if kind in _CLOSERS and (not stack or _OPENERS[stack[-1][0]] != kind):
        if not stack:
            return f"this '{tok[1]}' has no matching '{_SPELLING[_CLOSERS[kind]]}'"
        opener = stack[-1]
        return f"close the '{opener[1]}' opened {_where(opener, tok)} with '{_SPELLING[_OPENERS[opener[0]]]}'"
    if stack and (_OPENERS[stack[-1][0]] in viable or kind in ("DOT", "NECK", "$END", "DCOLON")):
        opener = stack[-1]
        return f"close the '{opener[1]}' opened {_where(opener, tok)}"
    return None


def _where(opener: tuple, tok: tuple) -> str:
    if opener[2] == tok[2]:
        return f"at column {opener[3]}"
    return f"at line {opener[2]}, column {opener[3]}"
