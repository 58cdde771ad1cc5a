"""Read greybox source text into the AST of :mod:`greybox.lang.ast`.

``grammar.lark`` beside this module is the grammar. lark turns it into LALR(1)
tables once per process; the small driver below runs those tables over a token
list made by one compiled regular expression: lark's own lexer and tree builder
take five times longer just to build a parse tree, and a knowledge base of ten
thousand rules must load in well under a second. The tokens stream from the
lexer to the driver (a large file is never held as a token list), and the cyclic
garbage collector is paused while a text is parsed (see :mod:`greybox.lang.gc_pause`).

Every node gets a :class:`~greybox.lang.ast.Span` (file, line, column, end line,
end column; the end column is one past the last character, as lark counts).
Anything that is not valid syntax raises :class:`~greybox.errors.ParseError`
with the position, the source line, what would have been accepted there and a
hint; no other exception escapes on bad input. The nodes are built by
:mod:`greybox.lang.builder`; :mod:`greybox.lang.syntax_errors` explains
syntax errors.

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

import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from ..errors import ParseError
from .ast import Program, Query, Statement
from .builder import CANONICAL_COMPARISON, Builder, Problem
from .gc_pause import paused_gc
from .syntax_errors import source_line_of, syntax_error

__all__ = ["parse_program", "parse_statement", "parse_query", "CANONICAL_COMPARISON"]

_STARTS = ("program", "single", "query_only")
# Tokens after which an operand has just ended: there `-` is binary and `mod` an operator.
_OPERAND_END = frozenset({"VAR", "NAME", "INT", "NEG_INT", "FLOAT", "STRING", "RPAR", "RSQB", "RBRACE"})
_COMMENTS = frozenset({"COMMENT", "BLOCK_COMMENT"})
_FREQUENT = frozenset({"NAME", "VAR", "COMMA", "LPAR", "RPAR"})
# Terminals the lexer derives from context instead of matching them directly
# (lark's contextual lexer makes the same choices; tests check that it does).
_DERIVED = frozenset({"IS", "MOD", "NEG_INT"})


# ---------------------------------------------------------------- public API


def parse_program(text: str, file: str | None = None, *, at: tuple[int, int] = (1, 1)) -> Program:
    """Parse a whole program: zero or more statements, each ending with ``.``.

    Args:
        text: the source text.
        file: the file name recorded in every span and error (``None`` for ``<input>``).
        at: the line and column where ``text`` starts in ``file``, when it is a piece
            of a larger file: spans and errors then give positions in the file.

    Returns:
        The :class:`~greybox.lang.ast.Program`, statements in source order.

    Raises:
        ParseError: at the first syntax error.

    Example:
        >>> prog = parse_program("% kinship\\nparent(ann, bob).\\n0.2 :: a ; 0.8 :: b.")
        >>> [type(s).__name__ for s in prog]
        ['Clause', 'AnnotatedDisjunction']
        >>> print(parse_program("q(b).\\nr(c).", at=(7, 4)).statements[1].span)
        <input>:8:1
    """
    return _parse(text, file, "program", at)


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


class Tables:
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
        func = getattr(Builder, name, None)
        if func is None:
            raise AssertionError(f"grammar rule {name} has no builder method")
        return size, gotos[origin], func


@lru_cache(maxsize=1)
def _tables() -> Tables:
    return Tables()


# ---------------------------------------------------------------- lexer


def _lex(text: str, regex: re.Pattern, line: int = 1, column: int = 1) -> list[tuple[str, str, int, int]]:
    """Tokens ``(type, text, line, column)``, ending with ``$END``; unknown characters become ``ERROR``.

    ``line`` and ``column`` are the position of the text's first character.
    """
    return list(_tokens(text, regex, line, column))


def _tokens(text: str, regex: re.Pattern, line: int = 1, column: int = 1) -> Iterator[tuple[str, str, int, int]]:
    """The tokens of :func:`_lex`, one at a time: a large file is never held as a token list."""
    line_start = 1 - column  # columns on the first line count from `column`
    prev = prev2 = ""
    last: tuple | None = None  # read but not yet given out: `-` and `3` may still merge into `-3`
    comments = _COMMENTS
    operand_end = _OPERAND_END
    intern = sys.intern  # names recur: one string object per distinct name
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
            value = intern(value)
            if value == "is" and prev == "VAR":
                kind = "IS"
            elif value == "mod" and prev in operand_end and not (
                prev == "NAME" and prev2 in ("", "DOT") and last[1] in ("type", "domain")
            ):
                # `type mod(int).` declares a relation named mod; `X mod 2` and `a mod X` are arithmetic
                kind = "MOD"
        elif kind == "VAR":
            value = intern(value)
        elif kind == "INT" and prev == "MINUS" and prev2 not in operand_end:
            if last[2] == line and last[3] + 1 == column:  # `-3`, not `- 3`
                last = ("NEG_INT", "-" + value, line, column - 1)
                prev = "NEG_INT"
                continue
        if last is not None:
            yield last
        last = (kind, value, line, column)
        prev2, prev = prev, kind
    if last is not None:
        yield last
        yield ("$END", "", last[2], last[3] + len(last[1]))
    else:
        yield ("$END", "", line, len(text) - line_start + 1)


# ---------------------------------------------------------------- driver


class _SyntaxProblem(Exception):
    def __init__(self, token: tuple) -> None:
        super().__init__(token)
        self.token = token


def _parse(text: str, file: str | None, start: str, at: tuple[int, int] = (1, 1)) -> Any:
    if not isinstance(text, str):
        raise TypeError(f"expected the source text as str, got {type(text).__name__}")
    tables = _tables()
    builder = Builder(file)
    with paused_gc():
        try:
            return _run(tables, _tokens(text, tables.regex, *at), start, builder)
        except Problem as p:
            raise ParseError(
                p.message, file=file, line=p.line, column=p.column, source_line=_line_at(text, p.line, at), hint=p.hint
            ) from None
        except _SyntaxProblem as p:
            # the tokens stream by; an error message needs them all (what came before, what could follow)
            tokens = _lex(text, tables.regex, *at)
            err = syntax_error(tables, text, file, tokens, tokens.index(p.token), start)
            err.source_line = _line_at(text, err.line, at)
            raise err from None


def _line_at(text: str, line: int | None, at: tuple[int, int]) -> str | None:
    """Line ``line`` of the file, as far as ``text`` (which starts at ``at`` in the file) shows it."""
    if line is None:
        return None
    first_line, first_column = at
    shown = source_line_of(text, line - first_line + 1)
    if shown is not None and line == first_line:
        shown = " " * (first_column - 1) + shown  # keeps the caret under the right column
    return shown


def _run(tables: Tables, tokens: list, start: str, builder: "Builder") -> Any:
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
