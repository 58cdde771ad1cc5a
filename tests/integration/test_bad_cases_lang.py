"""Hostile rule files that used to crash or hang ``greybox kb check``.

Each case ran into Python's recursion limit (a ``RecursionError`` traceback instead of
an answer) or took time exponential in the size of the input.
"""

from __future__ import annotations

import pytest

from greybox.cli import main
from greybox.errors import ParseError
from greybox.lang import check_program, parse_program
from greybox.lang import safety


def _check(tmp_path, text: str, capsys) -> tuple[int, str, str]:
    path = tmp_path / "hostile.dl"
    path.write_text(text, encoding="utf-8")
    code = main(["kb", "check", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "expr",
    [
        "+".join(["1"] * 1_000),  # a flat sum of 1,000 terms
        "+".join(["1"] * 10_000),  # and of 10,000
        "- " * 1_000 + "1",  # a chain of unary minus
        "(" * 1_000 + "Y" + ")" * 1_000 + " - " + "(Y - " * 1_000 + "1" + ")" * 1_000,  # deep parentheses
    ],
    ids=["sum-1000", "sum-10000", "minus-1000", "parentheses-1000"],
)
def test_kb_check_accepts_a_deeply_nested_expression(tmp_path, capsys, expr):
    code, out, err = _check(tmp_path, f"n(1).\np(X) :- n(Y), X is {expr}.\n", capsys)
    assert (code, err) == (0, "")
    assert out.startswith("ok: 2 statements, 2 relations")


def test_too_deeply_nested_aggregates_are_a_located_parse_error():
    # (parsed on its own: checking such a program used to take exponential time)
    inner = "n(Y)"
    for i in range(200):
        inner = f"n(Y), N{i} = count{{Y : {inner}}}"
    with pytest.raises(ParseError, match="aggregates nested 33 deep") as caught:
        parse_program(f"n(1).\np(N) :- N = count{{Y : {inner}}}.\n", file="hostile.dl")
    assert (caught.value.file, caught.value.line) == ("hostile.dl", 2)
    assert caught.value.column is not None and caught.value.hint


def test_checking_nested_aggregates_takes_polynomial_time(monkeypatch):
    # Each level of nesting used to double the work of finding the bound variables
    # (about 2**20 calls here); a counting wrapper stops the old behaviour early.
    calls = [0]
    original = safety.bound_variables

    def counted(*args, **kwargs):
        calls[0] += 1
        if calls[0] > 20_000:
            raise AssertionError("bound_variables called more than 20,000 times for 20 nested aggregates")
        return original(*args, **kwargs)

    monkeypatch.setattr(safety, "bound_variables", counted)
    inner = "n(Y)"
    for i in range(19):
        inner = f"n(Y), N{i} = count{{Y : {inner}}}"
    program = parse_program(f"n(1).\np(N) :- N = count{{Y : {inner}}}.\n")
    assert check_program(program) == []
    assert calls[0] > 0


def test_kb_check_locates_bytes_that_are_not_utf8(tmp_path, capsys):
    path = tmp_path / "latin1.dl"
    path.write_bytes("p(a).\nq('café').\n".encode("latin-1"))
    code = main(["kb", "check", str(path)])
    _, err = capsys.readouterr()
    assert code == 2
    assert f"{path}:2:7: the bytes here are not UTF-8 (byte 0xe9)" in err


def test_kb_check_collects_parse_errors_in_linear_time(tmp_path, capsys, monkeypatch):
    # Each statement of a file with a syntax error was parsed again after as many
    # line breaks as lines before it: quadratic in the file's length.
    from greybox.lang import parser

    parsed_chars = [0]
    original = parser._parse

    def counted(text, *args, **kwargs):
        parsed_chars[0] += len(text)
        return original(text, *args, **kwargs)

    monkeypatch.setattr(parser, "_parse", counted)
    lines = [f"p{i}(a)." for i in range(3_000)] + ["q(X :- p1(X)."]
    path = tmp_path / "long.dl"
    path.write_text("\n".join(lines) + "\n")
    code = main(["kb", "check", str(path)])
    _, err = capsys.readouterr()
    assert code == 2 and f"{path}:3001:5: unexpected ':-'" in err
    assert parsed_chars[0] < 3 * path.stat().st_size


def test_checking_many_nn_declarations_and_domains_takes_linear_time(monkeypatch):
    # Each nn declaration compared its classes with every domain declared so far.
    from greybox.lang import types

    calls = [0]
    original = types._values

    def counted(domain):
        calls[0] += 1
        if calls[0] > 20 * n:
            raise AssertionError(f"the values of domains were computed more than {20 * n} times")
        return original(domain)

    monkeypatch.setattr(types, "_values", counted)
    n = 600
    lines = [f"domain d{i} = {{a{i}, b{i}}}." for i in range(n)]
    lines += [f"nn(m{i}, [X], Y, [0..{i % 50 + 1}]) :: r{i}(X, Y)." for i in range(n)]
    assert check_program(parse_program("\n".join(lines))) == []


def test_many_unknown_relations_get_suggestions_in_bounded_time(monkeypatch):
    # Each unknown relation was compared with every defined one ("did you mean ...?"):
    # quadratic in the program; now only the first 20 get a suggestion.
    import difflib

    calls = [0]
    original = difflib.get_close_matches

    def counted(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", counted)
    n = 300
    lines = [f"fact{i}(a)." for i in range(n)] + [f"g{i}(X) :- fact{i}(X), fatc{i}(X)." for i in range(n)]
    problems = check_program(parse_program("\n".join(lines)))
    assert len(problems) == n
    assert problems[0].hint.startswith("did you mean fact0?")
    assert calls[0] <= 20


@pytest.mark.parametrize("terms", [1_000, 10_000])
def test_query_and_an_edit_of_a_deeply_nested_expression_answer(tmp_path, capsys, terms):
    """The query command evaluates, and an edit compares, a long sum without Python's recursion limit."""
    path = tmp_path / "deep.dl"
    path.write_text(f"p(X) :- X is {'+'.join(['1'] * terms)}.\nq(X) :- X is {'- ' * terms}1.\n", encoding="utf-8")
    assert main(["query", str(path), "?- p(X)."]) == 0
    assert f"X = {terms}" in capsys.readouterr().out
    assert main(["query", str(path), "?- q(X)."]) == 0
    assert "X = 1" in capsys.readouterr().out
    assert main(["kb", "add-rule", str(path), "r(1)."]) == 0
    # the same rule with other variable names is the same statement: nothing to add
    assert main(["kb", "add-rule", str(path), f"p(Y) :- Y is {'+'.join(['1'] * terms)}."]) == 2
    assert "nothing to add" in capsys.readouterr().err
