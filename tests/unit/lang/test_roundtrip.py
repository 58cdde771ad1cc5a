"""Printing and parsing are inverse: parse(format(ast)) == ast and parse(format(parse(src))) == parse(src)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from greybox.lang import format_literal, format_program, format_statement, parse_program, parse_query, parse_statement
from tests.helpers.strategies import EVERY_CONSTRUCT, literals, programs, statements

ROOT = Path(__file__).resolve().parents[3]
KNOWLEDGE_FILES = sorted((ROOT / "knowledge").glob("**/*.dl"))

_SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(programs())
def test_random_programs_round_trip(program):
    text = format_program(program)
    again = parse_program(text)
    assert again == program
    assert format_program(again) == text  # the printed form is canonical: a fixpoint


@_SETTINGS
@given(statements())
def test_random_statements_round_trip(statement):
    text = format_statement(statement)
    assert parse_statement(text) == statement
    assert parse_statement(text.rstrip(".")) == statement


@_SETTINGS
@given(literals())
def test_random_literals_round_trip(literal):
    assert parse_query(format_literal(literal)).body == (literal,)


HAND_WRITTEN = {
    "every construct": EVERY_CONSTRUCT,
    "layout and comments": """
        /* block
           comment */ p(X):-q(X),% trailing
        r(X).   q(a). r(a).
        0.25::coin(H);0.75::coin(T):-flip(H,T).
    """,
    "keywords as names": """
        type mod(int). type is(symbol). domain type = {is, not, mod}. domain domain = int.
        type(a). domain. t(b). nn(a, b, c, d). count(x). not(x).
        p(X) :- is(X), \\+ mod(X), \\+ not, X = count, Y is X mod 2, Y \\= min.
        0.5 :: t(1). t(0.5) :: nn(x).
    """,
    "numbers": """
        p(-9223372036854775808, 9223372036854775807, 0, -0).
        q(X) :- X is --1 - -2 * -(3) + -(-4), X > -5, Y is X-1, Z is X - 1.
        0.1 :: a. 1e-05 :: b. 1 :: c. 0 :: d. 0.30000000000000004 :: e. t(1e-300) :: f.
    """,
    "strings": r"""
        p('Ann Smith', "double quoted", 'it\'s', "say \"hi\"", 'tab\there', '\x41\u00e9\U0001F600', '').
        'quoted predicate'(X) :- 'zero arity', \+ 'Neg'(X).
    """,
    "aggregates": """
        n(P, N) :- person(P), N = count{C : parent(P, C)}.
        s(S) :- S = sum{V, X : score(X, V), V > 0}.
        m(M) :- M = min{V : score(_, V)}, W = max{V, X : score(X, V), \\+ bad(X)}.
        e(N) :- N = count{: rain}.
        nested(N) :- N = count{P : person(P), K = count{C : parent(P, C)}, K > 2}.
    """,
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_programs_round_trip(name):
    program = parse_program(HAND_WRITTEN[name])
    assert len(program) > 0
    text = format_program(program)
    assert parse_program(text) == program
    assert format_program(parse_program(text)) == text


@pytest.mark.parametrize("path", KNOWLEDGE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_knowledge_files_round_trip(path):
    program = parse_program(path.read_text(encoding="utf-8"), file=str(path))
    assert parse_program(format_program(program)) == program
