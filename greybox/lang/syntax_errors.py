"""Syntax errors: what was expected where the parser stopped, and a hint to fix it.

When the LALR(1) driver in :mod:`greybox.lang.parser` meets a token it cannot
shift or reduce, :func:`syntax_error` replays the tables up to that token to
find the terminals that really fit there, names them in words, and picks a hint
from the tokens around it (an unclosed bracket, a missing ``.`` or ``,``, ...).

Example:
    >>> from greybox.lang.parser import _lex, _tables
    >>> text = "p(X :- q(X)."
    >>> tokens = _lex(text, _tables().regex)
    >>> tokens[3]
    ('NECK', ':-', 1, 5)
    >>> print(syntax_error(_tables(), text, "k.dl", tokens, 3, "program"))
    k.dl:1:5: unexpected ':-', expected ')', ',' or an arithmetic operator
      p(X :- q(X).
          ^
    hint: close the '(' opened at column 2
    >>> source_line_of("a.\\nb(X.", 2)
    'b(X.'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ParseError
from .builder import WEIGHT_HINT

if TYPE_CHECKING:
    from .parser import Tables

__all__ = ["syntax_error", "source_line_of"]

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


def source_line_of(text: str, line: int | None) -> str | None:
    if line is None or line < 1:
        return None
    lines = text.split("\n")
    return lines[line - 1].rstrip("\r") if line <= len(lines) else None


# ---------------------------------------------------------------- syntax errors


def syntax_error(tables: Tables, text: str, file: str | None, tokens: list, index: int, start: str) -> ParseError:
    tok = tokens[index]
    line, column = tok[2], tok[3]
    source_line = source_line_of(text, line)
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


def _viable(tables: Tables, tokens: list, index: int, start: str) -> set[str]:
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
        return WEIGHT_HINT
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
