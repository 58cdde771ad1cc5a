"""The printer: canonical, readable source for every node."""

from __future__ import annotations

import pytest

from greybox.lang import (
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
    TypeDeclaration,
    Var,
    format_expr,
    format_literal,
    format_program,
    format_statement,
    parse_program,
    parse_query,
    parse_statement,
)
from greybox.lang.printer import LINE_WIDTH, format_atom, format_constant, format_domain, format_weight

X, Y, Z = Var("X"), Var("Y"), Var("Z")


def p(*args) -> Atom:
    return Atom("p", tuple(args))


@pytest.mark.parametrize(
    "statement, text",
    [
        (Clause(Atom("rain")), "rain."),
        (Clause(Atom("parent", (Const("ann"), Const("bob")))), "parent(ann, bob)."),
        (Clause(p(X), (Atom("q", (X,)),)), "p(X) :- q(X)."),
        (Clause(p(Const(1)), weight=Probability(0.7)), "0.7 :: p(1)."),
        (Clause(p(X), (Atom("q", (X,)),), Learnable(0.5)), "t(0.5) :: p(X) :- q(X)."),
        (Clause(p(X), (Atom("q", (X,)),), Learnable()), "t(_) :: p(X) :- q(X)."),
        (
            AnnotatedDisjunction(((Probability(0.2), Atom("heads")), (Probability(0.8), Atom("tails")))),
            "0.2 :: heads ; 0.8 :: tails.",
        ),
        (
            AnnotatedDisjunction(
                ((Probability(0.5), Atom("h", (X,))), (Probability(0.5), Atom("t", (X,)))), (Atom("coin", (X,)),)
            ),
            "0.5 :: h(X) ; 0.5 :: t(X) :- coin(X).",
        ),
        (
            NeuralDeclaration("digit_net", (X,), Y, RangeDomain(0, 9), Atom("digit", (X, Y))),
            "nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).",
        ),
        (
            NeuralDeclaration("My Net", (X, Z), Y, SetDomain((Const("a"), Const(-1))), Atom("c", (X, Z, Y))),
            "nn('My Net', [X, Z], Y, [a, -1]) :: c(X, Z, Y).",
        ),
        (NeuralDeclaration("m", (), Y, SetDomain(()), Atom("c", (Y,))), "nn(m, [], Y, []) :: c(Y)."),
        (DomainDeclaration("digit", RangeDomain(0, 9)), "domain digit = 0..9."),
        (DomainDeclaration("n", RangeDomain(-3, -1)), "domain n = -3..-1."),
        (DomainDeclaration("c", SetDomain((Const("red"), Const("Dark Blue")))), "domain c = {red, 'Dark Blue'}."),
        (DomainDeclaration("person", BuiltinDomain("symbol")), "domain person = symbol."),
        (TypeDeclaration("parent", ("person", "person")), "type parent(person, person)."),
        (TypeDeclaration("rain", ()), "type rain."),
        (TypeDeclaration("odd", ("My Dom",)), "type odd('My Dom')."),
        (Query((Atom("q", (X,)), Comparison("<=", X, Const(3)))), "?- q(X), X =< 3."),
    ],
)
def test_statements(statement, text):
    assert format_statement(statement) == text
    assert parse_statement(text) == statement


@pytest.mark.parametrize(
    "literal, text",
    [
        (Negation(Atom("q", (X,))), "\\+ q(X)"),
        (Comparison("<=", X, Y), "X =< Y"),
        (Comparison("!=", X, Y), "X \\= Y"),
        (Comparison("<", X, Y), "X < Y"),
        (Comparison(">=", X, Const(-1)), "X >= -1"),
        (Comparison("=", Const("a"), X), "a = X"),
        (Assign(Z, BinOp("+", X, Const(1))), "Z is X + 1"),
        (Aggregate(Var("N"), "count", (X,), (Atom("q", (X,)),)), "N = count{X : q(X)}"),
        (Aggregate(Var("S"), "sum", (Var("V"), X), (Atom("s", (X, Var("V"))),)), "S = sum{V, X : s(X, V)}"),
        (Aggregate(Var("N"), "count", (), (Atom("q"),)), "N = count{: q}"),
    ],
)
def test_literals(literal, text):
    assert format_literal(literal) == text
    assert parse_query(text).body == (literal,)


@pytest.mark.parametrize(
    "expr, text",
    [
        (BinOp("+", BinOp("+", X, Y), Z), "X + Y + Z"),
        (BinOp("+", X, BinOp("+", Y, Z)), "X + (Y + Z)"),
        (BinOp("-", X, BinOp("-", Y, Z)), "X - (Y - Z)"),
        (BinOp("-", BinOp("-", X, Y), Z), "X - Y - Z"),
        (BinOp("*", BinOp("+", X, Y), Z), "(X + Y) * Z"),
        (BinOp("+", BinOp("*", X, Y), Z), "X * Y + Z"),
        (BinOp("+", X, BinOp("*", Y, Z)), "X + Y * Z"),
        (BinOp("//", X, BinOp("*", Y, Z)), "X // (Y * Z)"),
        (BinOp("mod", BinOp("//", X, Y), Z), "X // Y mod Z"),
        (BinOp("min", BinOp("+", X, Y), Const(0)), "min(X + Y, 0)"),
        (BinOp("*", BinOp("max", X, Y), Z), "max(X, Y) * Z"),
        (Neg(X), "-X"),
        (Neg(Neg(X)), "--X"),
        (Neg(Const(3)), "-(3)"),
        (Neg(Const(-3)), "-(-3)"),
        (Const(-3), "-3"),
        (BinOp("-", X, Const(-3)), "X - -3"),
        (BinOp("-", X, Neg(Y)), "X - -Y"),
        (Neg(BinOp("+", X, Y)), "-(X + Y)"),
        (BinOp("*", Neg(X), Y), "-X * Y"),
        (Neg(BinOp("min", X, Y)), "-min(X, Y)"),
        (Const("hello world"), "'hello world'"),
    ],
)
def test_expressions_use_minimal_parentheses(expr, text):
    assert format_expr(expr) == text
    assert parse_query(f"N is {text}").body == (Assign(Var("N"), expr),)


@pytest.mark.parametrize(
    "value, text",
    [
        (0, "0"),
        (-42, "-42"),
        ("ann", "ann"),
        ("snake_Case9", "snake_Case9"),
        ("Ann", "'Ann'"),
        ("_x", "'_x'"),
        ("9lives", "'9lives'"),
        ("two words", "'two words'"),
        ("", "''"),
        ("is", "'is'"),
        ("not", "'not'"),
        ("mod", "'mod'"),
        ("it's", "'it\\'s'"),
        ("back\\slash", "'back\\\\slash'"),
        ('say "hi"', "'say \"hi\"'"),
        ("line\nbreak\ttab\rcr", "'line\\nbreak\\ttab\\rcr'"),
        ("\x00\x7f\u200b\U000e0001", "'\\x00\\x7f\\u200b\\U000e0001'"),
        ("café ☕", "'café ☕'"),
    ],
)
def test_constants_are_quoted_only_when_needed(value, text):
    assert format_constant(Const(value)) == text
    assert parse_statement(f"p({text}).").head.args == (Const(value),)


def test_predicates_that_need_quotes():
    atom = Atom("My Pred", (X,))
    assert format_atom(atom) == "'My Pred'(X)"
    assert parse_statement(f"{format_atom(atom)}.") == Clause(atom)
    assert format_atom(Atom("is", (X,))) == "is(X)"  # as a predicate, `is` reads back fine


@pytest.mark.parametrize("value", [0.1, 1 / 3, 1e-05, 5e-324, 0.0, 1.0, 0.30000000000000004, 2**-60])
def test_probabilities_print_exactly(value):
    text = format_weight(Probability(value))
    assert text == repr(value)
    assert parse_statement(f"{text} :: p.").weight.value == value
    learnable = format_weight(Learnable(value))
    assert parse_statement(f"{learnable} :: p.").weight == Learnable(value)


def test_negative_zero_probability_prints_as_zero():
    assert format_weight(Probability(-0.0)) == "0.0"


def test_domains():
    assert format_domain(RangeDomain(-1, 1)) == "-1..1"
    assert format_domain(SetDomain((Const("a"), Const(2), Const("B")))) == "{a, 2, 'B'}"
    assert format_domain(BuiltinDomain("int")) == "int"


def test_long_rules_break_one_literal_per_line():
    body = tuple(Atom(f"relation_number_{i}", (X, Y)) for i in range(8))
    text = format_statement(Clause(Atom("head", (X, Y)), body))
    lines = text.split("\n")
    assert lines[0] == "head(X, Y) :-"
    assert lines[1:] == [f"    relation_number_{i}(X, Y)" + ("," if i < 7 else ".") for i in range(8)]
    assert parse_statement(text) == Clause(Atom("head", (X, Y)), body)
    short = format_statement(Clause(Atom("h"), body[:2]))
    assert "\n" not in short and len(short) <= LINE_WIDTH


def test_program_is_one_statement_per_line():
    prog = Program((Clause(Atom("a")), Query((Atom("a"),)), TypeDeclaration("b", ("int",))))
    assert format_program(prog) == "a.\n?- a.\ntype b(int).\n"
    assert format_program(Program(())) == ""


def test_canonical_form_of_messy_source():
    messy = "p( X,Y ):-q(X) ,\\+r( Y),X=<Y,not s ,Y\\=X,Z=:=X , N is -(X)+((Y*2)).  0.50::w.  t( _ )::v."
    assert format_program(parse_program(messy)) == (
        "p(X, Y) :- q(X), \\+ r(Y), X =< Y, \\+ s, Y \\= X, Z = X, N is -X + Y * 2.\n"
        "0.5 :: w.\n"
        "t(_) :: v.\n"
    )


@pytest.mark.parametrize("bad", [Var("X"), 3, "p."])
def test_non_nodes_are_a_type_error(bad):
    with pytest.raises(TypeError, match="not a statement"):
        format_statement(bad)
    with pytest.raises(TypeError, match="not a literal"):
        format_literal(bad)
    with pytest.raises(TypeError, match="not an expression"):
        format_expr(Atom("p") if bad == "p." else p(X))
