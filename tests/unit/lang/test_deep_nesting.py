"""Deeply nested input: long sums, chains of unary minus, parentheses, nested aggregates.

Arithmetic may nest as deep as the text is long (every walker of an expression keeps
its own stack); aggregates may nest up to ``MAX_AGGREGATE_NESTING`` levels, and one
level more is a located ``ParseError``. Nothing may end in a ``RecursionError``.
"""

from __future__ import annotations

import sys

import pytest

from greybox.errors import ParseError
from greybox.lang import analyze, check_program, format_program, parse_program
from greybox.lang.ast import BinOp, Const, Neg, Var
from greybox.lang.builder import MAX_AGGREGATE_NESTING
from greybox.lang.magic import magic_rewrite
from greybox.lang.parser import parse_query
from greybox.lang.safety import rename_anonymous, show_expr
from greybox.lang.walk import expr_depth, expr_leaves, fold_expr


def _deep_cases(n: int) -> dict[str, str]:
    return {
        "flat sum": "+".join(["1"] * n),
        "sum of variables": "+".join(["Y"] * n),
        "mixed operators": "Y" + "".join(f" {'+-*'[i % 3]} {i % 7}" for i in range(n)),
        "unary minus": "- " * n + "1",
        "minus without spaces": "-" * n + "Y",
        "parentheses": "(" * n + "Y" + ")" * n,
        "right-nested": "Y - (" * n + "1" + ")" * n,
        "min and max": "".join(("min(Y, ", "max(1, ")[i % 2] for i in range(n)) + "Y" + ")" * n,
    }


@pytest.mark.parametrize("name", sorted(_deep_cases(1)))
@pytest.mark.parametrize("n", [1_500])
def test_deep_expression_parses_checks_prints_and_reads_back(name, n):
    expr = _deep_cases(n)[name]
    text = f"q(1).\np(X) :- q(Y), X is {expr}.\nr(X) :- q(Y), X = {expr}.\n"
    program = parse_program(text, file="deep.dl")
    assert check_program(program, source=text) == []
    info = analyze(program)
    assert set(info.relations) == {"q", "p", "r"}
    again = parse_program(format_program(program), file="deep.dl")
    assert again == program
    assert hash(again.statements[1]) == hash(program.statements[1])
    assert repr(again) == repr(program)
    assert magic_rewrite(program, parse_query("?- p(X).")).program is not None


def test_a_sum_of_ten_thousand_terms():
    text = "q(1).\np(X) :- q(Y), X is " + "+".join(["Y"] * 10_000) + ".\n"
    program = parse_program(text)
    expr = program.statements[1].body[1].expr
    assert expr_depth(expr) == 9_999
    assert len(expr_leaves(expr)) == 10_000
    assert check_program(program) == []
    assert parse_program(format_program(program)) == program


def test_deep_expressions_do_not_depend_on_the_recursion_limit():
    n = 2_000
    text = "q(1).\np(X) :- q(Y), X is " + "- " * n + "Y.\n"
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # far below the nesting depth
    try:
        program = parse_program(text)
        assert check_program(program) == []
        printed = format_program(program)
    finally:
        sys.setrecursionlimit(limit)
    assert parse_program(printed) == program


def test_errors_inside_a_deep_expression_are_located():
    n = 2_000
    text = "q(1).\np(X) :- q(Y), X is " + "+".join(["Y"] * n) + " + Z.\n"
    errors = check_program(parse_program(text, file="deep.dl"), source=text)
    assert [e.message.split(" in ")[0] for e in errors] == ["variable X", "variable Z"]
    error = errors[1]
    assert (error.file, error.line) == ("deep.dl", 2)
    assert error.column == text.splitlines()[1].index("Z") + 1
    assert "variable Z in the arithmetic" in error.message


def test_a_symbol_deep_inside_arithmetic_is_a_type_error_at_its_place():
    text = "q(1).\np(X) :- q(Y), X is " + "+".join(["Y"] * 1_500) + " + abc.\n"
    (error,) = check_program(parse_program(text, file="t.dl"), source=text)
    assert error.column == text.splitlines()[1].index("abc") + 1
    assert "the symbol abc is used as a number" in error.message


def test_anonymous_variables_deep_inside_an_expression_are_renamed():
    program = parse_program("q(1). p(X) :- q(_), X is " + "+".join(["Y"] * 1_500) + " + _ + Y.")
    renamed, anonymous = rename_anonymous(program.statements[1])
    assert sorted(anonymous) == ["_1", "_2"]
    leaves = expr_leaves(renamed.body[1].expr)
    assert [v.name for v in leaves[-2:]] == ["_2", "Y"]
    assert renamed.body[1].expr.right == program.statements[1].body[1].expr.right  # untouched parts are kept
    problems = check_program(program)
    assert [p.message.split(" in the ")[0] for p in problems] == ["variable X", "variable Y", "variable _ (anonymous)"]
    # a message shows at most about 200 characters of the literal
    assert problems[1].message.startswith("variable Y in the arithmetic X is Y + Y + Y")
    assert " ... is not bound" in problems[1].message and len(problems[1].message) < 300


def test_fold_and_show_agree_with_a_recursive_reading_on_small_expressions():
    expr = BinOp("-", Neg(Var("A")), BinOp("max", Const(2), BinOp("*", Var("B"), Const(-3))))
    assert show_expr(expr) == "-A - max(2, B * -3)"
    values = {"A": 5, "B": 7}
    value = fold_expr(
        expr,
        leaf=lambda e: values[e.name] if isinstance(e, Var) else e.value,
        unary=lambda e, v: -v,
        binary=lambda e, a, b: {"-": a - b, "*": a * b, "max": max(a, b)}[e.op],
    )
    assert value == -5 - max(2, 7 * -3)


def test_expression_equality_and_hash_follow_the_structure():
    def chain(n, op="+", last=1):
        e = Const(0)
        for i in range(n):
            e = BinOp(op, e, Const(i if i < n - 1 else last))
        return e

    assert chain(5_000) == chain(5_000)
    assert hash(chain(5_000)) == hash(chain(5_000))
    assert chain(5_000) != chain(5_000, last=2)
    assert chain(5_000) != chain(5_000, op="-")
    assert chain(5_000) != chain(4_999)
    assert Neg(Var("X")) != Neg(Const("X"))
    assert BinOp("+", Var("X"), Const(1)) != Var("X")


def _nested_aggregates(depth: int) -> str:
    inner = "q(Y)"
    for i in range(depth - 1):
        inner = f"q(Y), N{i} = count{{Y : {inner}}}"
    return f"q(1).\np(N) :- q(Z), N = count{{Y : {inner}}}.\n"


def test_aggregates_may_nest_up_to_the_limit():
    program = parse_program(_nested_aggregates(MAX_AGGREGATE_NESTING))
    assert check_program(program) == []
    assert parse_program(format_program(program)) == program


def test_one_aggregate_more_than_the_limit_is_a_located_parse_error():
    text = _nested_aggregates(MAX_AGGREGATE_NESTING + 1)
    with pytest.raises(ParseError, match=r"aggregates nested 33 deep; at most 32") as caught:
        parse_program(text, file="agg.dl")
    err = caught.value
    assert (err.file, err.line, err.column) == ("agg.dl", 2, text.splitlines()[1].index("count") + 1)
    assert "rule of its own" in err.hint
    assert "^" in str(err)


def test_very_deep_aggregates_are_refused_without_recursion():
    with pytest.raises(ParseError, match="aggregates nested"):
        parse_program(_nested_aggregates(3_000))
