"""Fuzzing the reader and the checker: any input gives a program or located errors, never a crash.

Four sources of input, each read the way ``greybox kb check`` reads a file
(bytes -> :func:`~greybox.lang.source.decode_source` -> ``parse_program`` ->
``check_program``):

* programs written from the grammar (facts, rules, negation, arithmetic, aggregates,
  domains, types, probabilities, ``nn`` declarations, queries, comments), mostly
  valid and sometimes not;
* ASTs from ``tests.helpers.strategies``, printed;
* byte strings: arbitrary bytes, and soups of tokens and odd bytes (NUL, a BOM,
  invalid UTF-8, lone ``\\r``, unclosed quotes and comments);
* valid programs with bytes inserted, deleted, replaced or cut off.

Every input (also read as one statement and as a query) must either parse or raise a ``GreyboxError`` that carries a line and a
column; a parsed program must check without any other exception, each problem
located; and printing it and reading the print back must give the same program.

The normal suite runs 100 inputs of each kind; ``GREYBOX_LONG=1`` runs the
``slow`` variants with 10,000 of each.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from greybox.errors import GreyboxError
from greybox.lang import check_program, format_program, parse_program, parse_query, parse_statement
from greybox.lang.ast import Atom, Query
from greybox.lang.magic import magic_rewrite
from greybox.lang.source import decode_source
from tests.helpers.strategies import EVERY_CONSTRUCT, programs

LONG = os.environ.get("GREYBOX_LONG") == "1"
SHORT_EXAMPLES = 100
LONG_EXAMPLES = 10_000
ROOT = Path(__file__).resolve().parents[3]
CORPUS = [EVERY_CONSTRUCT] + [p.read_text(encoding="utf-8") for p in sorted((ROOT / "knowledge").glob("*.dl"))]
FILE = "fuzz.dl"


# ---------------------------------------------------------------- the property


def _located(err: GreyboxError, text: str | None = None) -> None:
    assert isinstance(err, GreyboxError), f"{type(err).__name__}: {err}"
    assert err.line is not None and err.line >= 1, f"no line in: {err}"
    assert err.column is not None and err.column >= 1, f"no column in: {err}"
    assert err.file == FILE, f"file {err.file!r} in: {err}"
    if text is not None and err.source_line is not None:  # the line shown is the line meant
        assert err.source_line == text.split("\n")[err.line - 1].removesuffix("\r"), str(err)
    str(err)  # renders


def read_and_check(data: bytes | str) -> None:
    """Everything ``kb check`` does with one file's content, with the assertions of the module docstring."""
    try:
        text = decode_source(data, FILE) if isinstance(data, bytes) else data
    except GreyboxError as err:
        _located(err)
        return
    for read_one in (parse_statement, parse_query):  # as `greybox query` and the edit commands read text
        try:
            read_one(text, file=FILE)
        except GreyboxError as err:
            _located(err)
    try:
        program = parse_program(text, file=FILE)
    except GreyboxError as err:
        _located(err, text)
        return
    problems = check_program(program, source=text)
    for problem in problems:
        _located(problem, text)
    printed = format_program(program)
    again = parse_program(printed, file=FILE)
    assert again == program, f"the printed program reads back differently:\n{printed}"
    assert format_program(again) == printed
    if not problems:
        for query in program.queries:
            if len(query.body) == 1 and isinstance(query.body[0], Atom):
                try:
                    magic_rewrite(program, query)
                except GreyboxError as err:
                    assert err.line is not None or err.file is not None, str(err)


# ---------------------------------------------------------------- programs from the grammar

_NAMES = ["p", "q", "r", "edge", "path", "age", "is", "not", "mod", "count", "sum", "min", "max",
          "domain", "type", "t", "nn", "int", "symbol"]  # fmt: skip
_VARS = ["X", "Y", "Z", "N", "_", "_A", "Who"]
_QUOTED = st.text(alphabet=string.printable + "éß€😀\u00a0\u2028", max_size=6).map(
    lambda s: "'" + s.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r") + "'"
)
names = st.one_of(st.sampled_from(_NAMES), _QUOTED)
variables = st.sampled_from(_VARS)
integers = st.one_of(
    st.integers(-5, 12).map(str),
    st.sampled_from(["9223372036854775807", "-9223372036854775808", "99999999999999999999", "007", "- 3"]),
)
floats = st.sampled_from(["0.5", "0.25", "1.0", "0", "1", "1e-3", "2.5", "0.0", "1e400", "t(0.5)", "t(_)", "t(2)"])
constants = st.one_of(names, integers)
terms = st.one_of(variables, constants)


def _expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        ops = st.sampled_from(["+", "-", "*", "//", "mod", " - ", "-"])
        return st.one_of(
            st.tuples(inner, ops, inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
            inner.map(lambda e: f"-{e}"),
            inner.map(lambda e: f"({e})"),
            st.tuples(st.sampled_from(["min", "max"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        )

    return st.recursive(terms, extend, max_leaves=6)


expressions = _expressions()
atoms = st.one_of(
    names,
    st.tuples(names, st.lists(terms, min_size=1, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
)
comparisons = st.sampled_from(["<", "=<", "<=", ">", ">=", "=", "\\=", "!=", "==", "=:=", "=\\="])


def _literals() -> st.SearchStrategy[str]:
    simple = st.one_of(
        atoms,
        atoms.map(lambda a: f"\\+ {a}"),
        atoms.map(lambda a: f"not {a}"),
        atoms.map(lambda a: f"\\+ ({a})"),
        st.tuples(expressions, comparisons, expressions).map(" ".join),
        st.tuples(variables, expressions).map(lambda t: f"{t[0]} is {t[1]}"),
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.tuples(
            variables,
            st.sampled_from(["count", "sum", "min", "max", "avg"]),
            st.lists(variables, max_size=2),
            st.lists(inner, min_size=1, max_size=3),
        ).map(lambda t: f"{t[0]} = {t[1]}{{{', '.join(t[2])}{' ' if t[2] else ''}: {', '.join(t[3])}}}")

    return st.recursive(simple, extend, max_leaves=4)


literals = _literals()
bodies = st.lists(literals, min_size=1, max_size=4).map(", ".join)
domains = st.one_of(
    st.tuples(integers, integers).map(lambda t: f"{t[0]}..{t[1]}"),
    st.lists(constants, max_size=4).map(lambda cs: "{" + ", ".join(cs) + "}"),
    st.sampled_from(["int", "symbol", "float"]),
)
statements = st.one_of(
    atoms,  # facts
    st.tuples(floats, atoms).map(lambda t: f"{t[0]} :: {t[1]}"),
    st.tuples(atoms, bodies).map(lambda t: f"{t[0]} :- {t[1]}"),
    st.tuples(floats, atoms, bodies).map(lambda t: f"{t[0]} :: {t[1]} :- {t[2]}"),
    st.lists(st.tuples(floats, atoms).map(lambda t: f"{t[0]} :: {t[1]}"), min_size=2, max_size=3).map(" ; ".join),
    st.tuples(names, st.lists(variables, max_size=2), variables, domains, atoms).map(
        lambda t: f"nn({t[0]}, [{', '.join(t[1])}], {t[2]}, [{t[3].strip('{}')}]) :: {t[4]}"
    ),
    st.tuples(names, domains).map(lambda t: f"domain {t[0]} = {t[1]}"),
    st.tuples(names, st.lists(names, max_size=3)).map(lambda t: f"type {t[0]}({', '.join(t[1])})"),
    bodies.map(lambda b: f"?- {b}"),
)
layouts = st.sampled_from(["\n", " ", "\n\n", "  % comment\n", " /* c */ ", "\t", "\r\n", "\x0c", "\ufeff"])
ends = st.sampled_from([".", ".", ".", ".", ".", ".", ".", ".", "", ".."])  # mostly right
grammar_programs = st.lists(st.tuples(statements, ends, layouts),
                            max_size=6).map(lambda xs: "".join(s + dot + sep for s, dot, sep in xs))


# ---------------------------------------------------------------- byte strings

_CHUNKS = [b"p", b"q(", b"X", b"_", b"a", b"1", b"-", b"0.5", b"(", b")", b",", b".", b":-", b"::", b";", b"\\+",
           b"not ", b" is ", b" mod ", b"=", b"<", b"{", b"}", b"[", b"]", b":", b"..", b"?-", b"count", b"t(",
           b"nn(", b"domain ", b"type ", b"'", b'"', b"\\", b"%", b"/*", b"*/", b" ", b"\n", b"\r", b"\t",
           b"\x00", b"\x0c", b"\xff", b"\xfe", b"\xef\xbb\xbf", b"\xc3\xa9", b"\xc3", b"\xe2\x80", b"\xf0\x9f\x98\x80",
           b"\xed\xa0\x80", b"\xc0\xaf", b"\xe2\x80\xa8", b"\xc2\xa0", b"99999999999999999999", b"\\u12", b"\\x4"]  # fmt: skip
byte_strings = st.one_of(
    st.binary(max_size=120),
    st.lists(st.sampled_from(_CHUNKS), max_size=40).map(b"".join),
)


@st.composite
def mutated_programs(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(CORPUS)).encode("utf-8"))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "cut", "repeat"]))
        if kind == "insert":
            data[at:at] = draw(st.one_of(st.sampled_from(_CHUNKS), st.binary(min_size=1, max_size=4)))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        elif kind == "replace" and at < len(data):
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 30))] * draw(st.integers(1, 3))
    return bytes(data)


# ---------------------------------------------------------------- the tests


def _settings(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck))


def _short_and_long(strategy: st.SearchStrategy, prepare=lambda x: x):
    """A test with a few hundred examples and a ``slow`` one with 10,000 (only with GREYBOX_LONG=1)."""

    def check(example) -> None:
        read_and_check(prepare(example))

    short = _settings(SHORT_EXAMPLES)(given(strategy)(check))
    long = pytest.mark.slow(
        pytest.mark.skipif(not LONG, reason="the long suite: GREYBOX_LONG=1")(_settings(LONG_EXAMPLES)(given(strategy)(check)))
    )
    return short, long


test_grammar_programs, test_grammar_programs_long = _short_and_long(grammar_programs)
test_printed_asts, test_printed_asts_long = _short_and_long(programs(), format_program)
test_byte_strings, test_byte_strings_long = _short_and_long(byte_strings)
test_mutated_programs, test_mutated_programs_long = _short_and_long(mutated_programs())


def test_the_corpus_is_valid():
    for text in CORPUS:
        program = parse_program(text, file=FILE)
        assert len(program) > 0
        read_and_check(text.encode("utf-8"))


def test_grammar_programs_include_valid_ones():
    # the generator is useful only if some of what it writes parses and reaches the checker
    from hypothesis import find
    from hypothesis.errors import NoSuchExample

    def parses(text: str) -> bool:
        try:
            return any(clause.body for clause in parse_program(text).clauses)
        except GreyboxError:
            return False

    try:
        find(grammar_programs, parses,
             settings=settings(_settings(1000), phases=[Phase.generate], database=None, derandomize=True))
    except NoSuchExample:  # pragma: no cover - a failure of the generator itself
        pytest.fail("the grammar strategy never writes a valid program with a rule")
