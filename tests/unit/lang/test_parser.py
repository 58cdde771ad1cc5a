"""The parser: every construct of the concrete syntax, spans, and errors."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark import Token

from greybox.errors import ParseError
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
    parse_program,
    parse_query,
    parse_statement,
)
from greybox.lang.parser import _lex, _tables
from greybox.lang.printer import format_program
from tests.helpers.strategies import EVERY_CONSTRUCT, programs

X, Y, Z = Var("X"), Var("Y"), Var("Z")


def a(pred: str, *args) -> Atom:
    return Atom(pred, tuple(Var(x) if isinstance(x, str) and x[:1].isupper() else Const(x) for x in args))


def body(text: str) -> tuple:
    return parse_query(text).body


# ---------------------------------------------------------------- statements


def test_every_statement_kind_of_the_reference_program():
    prog = parse_program(
        """
        % comment to end of line
        domain person = symbol.
        domain digit = 0..9.
        domain colour = {red, green}.
        type parent(person, person).
        parent(ann, bob).
        0.7 :: parent(bob, cid).
        t(0.5) :: likes(X, Y) :- friend(X, Y).
        0.9 :: trusted(X) :- vetted(X).
        0.2 :: heads(c1) ; 0.8 :: tails(c1).
        nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).
        grandparent(X, Z) :- parent(X, Y), parent(Y, Z).
        ?- grandparent(ann, Z).
        rain.
        """
    )
    assert prog.statements == (
        DomainDeclaration("person", BuiltinDomain("symbol")),
        DomainDeclaration("digit", RangeDomain(0, 9)),
        DomainDeclaration("colour", SetDomain((Const("red"), Const("green")))),
        TypeDeclaration("parent", ("person", "person")),
        Clause(a("parent", "ann", "bob")),
        Clause(a("parent", "bob", "cid"), weight=Probability(0.7)),
        Clause(a("likes", "X", "Y"), (a("friend", "X", "Y"),), Learnable(0.5)),
        Clause(a("trusted", "X"), (a("vetted", "X"),), Probability(0.9)),
        AnnotatedDisjunction(((Probability(0.2), a("heads", "c1")), (Probability(0.8), a("tails", "c1")))),
        NeuralDeclaration("digit_net", (X,), Y, RangeDomain(0, 9), a("digit", "X", "Y")),
        Clause(a("grandparent", "X", "Z"), (a("parent", "X", "Y"), a("parent", "Y", "Z"))),
        Query((a("grandparent", "ann", "Z"),)),
        Clause(Atom("rain")),
    )


def test_empty_program_and_comments_only():
    assert parse_program("") == Program(())
    assert parse_program("% nothing\n/* at\n all */\n") == Program(())


def test_program_keeps_file_name():
    assert parse_program("p.", file="k.dl").file == "k.dl"


def test_annotated_disjunction_with_body():
    ad = parse_statement("0.5 :: heads(C) ; 0.5 :: tails(C) :- coin(C).")
    assert ad == AnnotatedDisjunction(
        ((Probability(0.5), a("heads", "C")), (Probability(0.5), a("tails", "C"))), (a("coin", "C"),)
    )


@pytest.mark.parametrize(
    "text, weight",
    [
        ("t(_) :: p.", Learnable(None)),
        ("t(0.25) :: p.", Learnable(0.25)),
        ("t(1) :: p.", Learnable(1.0)),
        ("1 :: p.", Probability(1.0)),
        ("0 :: p.", Probability(0.0)),
        ("1e-3 :: p.", Probability(0.001)),
        ("2.5E-1 :: p.", Probability(0.25)),
    ],
)
def test_weights(text, weight):
    assert parse_statement(text).weight == weight


@pytest.mark.parametrize(
    "classes, domain",
    [
        ("[0..9]", RangeDomain(0, 9)),
        ("[-2..2]", RangeDomain(-2, 2)),
        ("[0, 1, 2]", SetDomain((Const(0), Const(1), Const(2)))),
        ("[a, b]", SetDomain((Const("a"), Const("b")))),
        ("['x y', -1]", SetDomain((Const("x y"), Const(-1)))),
    ],
)
def test_neural_declaration_domains(classes, domain):
    decl = parse_statement(f"nn(net, [A, B], Out, {classes}) :: p(A, B, Out).")
    assert decl == NeuralDeclaration("net", (Var("A"), Var("B")), Var("Out"), domain, a("p", "A", "B", "Out"))


def test_domain_declarations():
    assert parse_statement("domain n = -5..5.").domain == RangeDomain(-5, 5)
    assert parse_statement("domain e = {}.").domain == SetDomain(())
    assert parse_statement("domain s = {a, 'B', 3, -4}.").domain == SetDomain(
        (Const("a"), Const("B"), Const(3), Const(-4))
    )
    assert parse_statement("domain i = int.").domain == BuiltinDomain("int")


def test_type_declarations():
    assert parse_statement("type age(person, int).") == TypeDeclaration("age", ("person", "int"))
    assert parse_statement("type rain.") == TypeDeclaration("rain", ())
    assert parse_statement("type p('my domain').") == TypeDeclaration("p", ("my domain",))


def test_zero_arity_atoms_everywhere():
    clause = parse_statement("wet :- rain, \\+ dry, not sunny, 'odd name'.")
    assert clause == Clause(
        Atom("wet"), (Atom("rain"), Negation(Atom("dry")), Negation(Atom("sunny")), Atom("odd name"))
    )


# ---------------------------------------------------------------- literals


@pytest.mark.parametrize(
    "spelling, op",
    [
        ("<", "<"),
        ("=<", "<="),
        ("<=", "<="),
        (">", ">"),
        (">=", ">="),
        ("=", "="),
        ("==", "="),
        ("=:=", "="),
        ("\\=", "!="),
        ("!=", "!="),
        ("=\\=", "!="),
    ],
)
def test_comparison_spellings_are_normalised(spelling, op):
    assert body(f"X {spelling} Y") == (Comparison(op, X, Y),)
    assert body(f"X{spelling}Y") == (Comparison(op, X, Y),)  # no spaces needed


@pytest.mark.parametrize("text", ["\\+ p(X)", "not p(X)", "\\+(p(X))", "\\+p(X)"])
def test_negation_spellings(text):
    assert body(text) == (Negation(a("p", "X")),)


def test_assignment_and_arithmetic_precedence():
    (lit,) = body("Z is X + Y * 2 - min(X, Y) // 3 mod 4")
    assert lit == Assign(
        Z,
        BinOp(
            "-",
            BinOp("+", X, BinOp("*", Y, Const(2))),
            BinOp("mod", BinOp("//", BinOp("min", X, Y), Const(3)), Const(4)),
        ),
    )


@pytest.mark.parametrize(
    "text, expr",
    [
        ("X - 1", BinOp("-", X, Const(1))),
        ("X-1", BinOp("-", X, Const(1))),
        ("X - -1", BinOp("-", X, Const(-1))),
        ("-1 - X", BinOp("-", Const(-1), X)),
        ("-X", Neg(X)),
        ("- 1", Neg(Const(1))),
        ("-(1)", Neg(Const(1))),
        ("-(-1)", Neg(Const(-1))),
        ("--X", Neg(Neg(X))),
        ("-X * Y", BinOp("*", Neg(X), Y)),
        ("-(X * Y)", Neg(BinOp("*", X, Y))),
        ("X - (Y - Z)", BinOp("-", X, BinOp("-", Y, Z))),
        ("X - Y - Z", BinOp("-", BinOp("-", X, Y), Z)),
        ("max(X, min(Y, -3))", BinOp("max", X, BinOp("min", Y, Const(-3)))),
        ("(((X)))", X),
    ],
)
def test_unary_minus_and_negative_constants(text, expr):
    assert body(f"N is {text}") == (Assign(Var("N"), expr),)


def test_negative_integer_arguments():
    assert parse_statement("p(-3, 4, -0).") == Clause(Atom("p", (Const(-3), Const(4), Const(0))))


def test_leading_zeros_do_not_count_towards_the_range():
    assert parse_statement("p(0000000000000000000000007, -00000000000000000000000008).").head.args == (
        Const(7),
        Const(-8),
    )


def test_byte_order_mark_and_windows_line_ends():
    prog = parse_program("\ufeffp(a).\r\nq(X) :-\r\n  p(X).\r\n")
    assert prog.statements == (Clause(a("p", "a")), Clause(a("q", "X"), (a("p", "X"),)))
    assert (prog.statements[1].body[0].span.line, prog.statements[1].body[0].span.column) == (3, 3)
    with pytest.raises(ParseError) as info:
        parse_program("p(a).\r\nq(b\r\n")
    assert info.value.source_line == "q(b"


def test_int64_limits_are_accepted():
    clause = parse_statement("p(9223372036854775807, -9223372036854775808).")
    assert clause.head.args == (Const(2**63 - 1), Const(-(2**63)))


def test_aggregates():
    assert body("N = count{C : parent(P, C)}") == (
        Aggregate(Var("N"), "count", (Var("C"),), (a("parent", "P", "C"),)),
    )
    assert body("S = sum{V, X : score(X, V), V > 0}") == (
        Aggregate(Var("S"), "sum", (Var("V"), X), (a("score", "X", "V"), Comparison(">", Var("V"), Const(0)))),
    )
    assert body("N = count{ : p}") == (Aggregate(Var("N"), "count", (), (Atom("p"),)),)
    assert body("count{X : p(X)} = N") == (Aggregate(Var("N"), "count", (X,), (a("p", "X"),)),)


def test_quoted_strings_and_escapes():
    clause = parse_statement(r"""p('Ann Smith', "double", 'it\'s', 'a\\b', '\n\t\x41\u00e9\U0001F600', '').""")
    assert [c.value for c in clause.head.args] == ["Ann Smith", "double", "it's", "a\\b", "\n\tAé😀", ""]


def test_quoted_and_plain_constants_are_the_same():
    assert parse_statement("p('ann').") == parse_statement("p(ann).")


# ---------------------------------------------------------------- keywords as names


@pytest.mark.parametrize(
    "text, statement",
    [
        ("type(x).", Clause(a("type", "x"))),
        ("domain.", Clause(Atom("domain"))),
        ("type :- domain.", Clause(Atom("type"), (Atom("domain"),))),
        ("t(a).", Clause(a("t", "a"))),
        ("nn(a, b, c, d).", Clause(a("nn", "a", "b", "c", "d"))),
        ("0.5 :: t(1).", Clause(Atom("t", (Const(1),)), weight=Probability(0.5))),
        ("p(is, not, mod, count, sum, min, max, t, nn, type, domain).",
         Clause(a("p", "is", "not", "mod", "count", "sum", "min", "max", "t", "nn", "type", "domain"))),
        ("p :- is(X), mod(X), not(X), count(X), min(X).",
         Clause(Atom("p"), (a("is", "X"), a("mod", "X"), a("not", "X"), a("count", "X"), a("min", "X")))),
        ("p :- \\+ mod(X), \\+ is, not not.", Clause(Atom("p"), (Negation(a("mod", "X")), Negation(Atom("is")),
                                                              Negation(Atom("not"))))),
        ("type mod(int).", TypeDeclaration("mod", ("int",))),
        ("type is(type).", TypeDeclaration("is", ("type",))),
        ("domain mod = int.", DomainDeclaration("mod", BuiltinDomain("int"))),
        ("domain type = {is, not}.", DomainDeclaration("type", SetDomain((Const("is"), Const("not"))))),
        ("p(X) :- X = count.", Clause(a("p", "X"), (Comparison("=", X, Const("count")),))),
        ("p(X) :- X mod 2 = 1, island(X), modest(X).",
         Clause(a("p", "X"), (Comparison("=", BinOp("mod", X, Const(2)), Const(1)), a("island", "X"),
                              a("modest", "X")))),
    ],
)  # fmt: skip
def test_keywords_are_usable_as_names(text, statement):
    assert parse_statement(text) == statement


# ---------------------------------------------------------------- statement and query entry points


@pytest.mark.parametrize("text", ["p(X) :- q(X).", "p(X) :- q(X)", "  p(X) :- q(X)  % comment"])
def test_parse_statement_final_dot_is_optional(text):
    assert parse_statement(text) == Clause(a("p", "X"), (a("q", "X"),))


@pytest.mark.parametrize("text", ["?- p(X), X > 1.", "?- p(X), X > 1", "p(X), X > 1.", "p(X), X > 1"])
def test_parse_query_prefix_and_dot_are_optional(text):
    assert parse_query(text) == Query((a("p", "X"), Comparison(">", X, Const(1))))


def test_parse_statement_rejects_two_statements():
    with pytest.raises(ParseError, match="unexpected name 'q'") as info:
        parse_statement("p. q.")
    assert info.value.hint == "a single statement was expected; parse several with parse_program"


def test_parse_statement_rejects_empty_text():
    with pytest.raises(ParseError, match="unexpected end of input") as info:
        parse_statement("  % just a comment")
    assert info.value.hint.startswith("the text is empty")


def test_non_text_input_is_a_type_error():
    with pytest.raises(TypeError, match="expected the source text as str"):
        parse_program(b"p.")  # type: ignore[arg-type]


# ---------------------------------------------------------------- spans


def test_spans_point_at_the_source():
    text = "p(X) :-\n    q(X, 'a b'),\n    X >= -3.\n?- p(Y)."
    prog = parse_program(text, file="s.dl")
    rule, query = prog.statements
    assert (rule.span.file, rule.span.line, rule.span.column, rule.span.end_line, rule.span.end_column) == (
        "s.dl", 1, 1, 3, 13,
    )  # fmt: skip
    q, cmp = rule.body
    assert (q.span.line, q.span.column, q.span.end_line, q.span.end_column) == (2, 5, 2, 16)
    assert (q.args[1].span.column, q.args[1].span.end_column) == (10, 15)
    assert (cmp.span.line, cmp.span.column, cmp.span.end_column) == (3, 5, 12)
    assert (cmp.right.span.column, cmp.right.span.end_column) == (10, 12)
    assert (query.span.line, query.span.column, query.span.end_column) == (4, 1, 9)
    assert query.body[0].args[0].span == query.body[0].args[0].span.__class__("s.dl", 4, 6, 4, 7)


def test_every_node_has_a_span_with_the_file():
    text = format_program(parse_program(EVERY_CONSTRUCT))
    prog = parse_program(text, file="every.dl")
    lines = text.split("\n")
    seen = 0
    for node in _walk(prog.statements):
        span = node.span
        assert span.file == "every.dl" and span.line >= 1 and span.column >= 1, node
        assert (span.end_line, span.end_column) >= (span.line, span.column), node
        seen += 1
        source = lines[span.line - 1][span.column - 1 : span.end_column - 1]
        if isinstance(node, Var):
            assert source == node.name
        elif isinstance(node, Const) and isinstance(node.value, int):
            assert source == str(node.value)
        elif isinstance(node, Atom) and span.line == span.end_line:
            assert source.startswith(node.predicate.split()[0]) or source.startswith("'"), (source, node)
    assert seen > 100


def _walk(value):
    if isinstance(value, tuple):
        for v in value:
            yield from _walk(v)
    elif hasattr(value, "__dataclass_fields__"):
        if hasattr(value, "span"):
            yield value
        for name in value.__dataclass_fields__:
            if name != "span":
                yield from _walk(getattr(value, name))




# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "text, line, column, message, hint",
    [
        ("p(X :- q(X).", 1, 5, "unexpected ':-', expected ')', ','", "close the '(' opened at column 2"),
        ("p(a)\nq(b).", 2, 1, "unexpected name 'q', expected '.', ':-' or '::'", "end the statement on line 1"),
        ("p(X) :- q(X) r(X).", 1, 14, "unexpected name 'r'", "a ',' may be missing"),
        ("p(X)) :- q(X).", 1, 5, "unexpected ')'", "this ')' has no matching '('"),
        ("p(X] :- q(X).", 1, 4, "unexpected ']'", "close the '(' opened at column 2 with ')'"),
        ("p(X) :-\n  q(X", 2, 6, "unexpected end of input", "close the '(' opened at column 4"),
        ("p(X) :- q(X)", 1, 13, "unexpected end of input, expected", "end the statement with '.'"),
        ("p(X) :- X is 7 / 2.", 1, 16, "unexpected character '/'", "integer division is written `//`"),
        ("/* open\np.", 1, 1, "unexpected character '/'", "close the comment with */"),
        ("p('abc).", 1, 3, "unexpected character \"'\"", "close the quoted string"),
        ("p(é).", 1, 3, "unexpected character 'é'", "quote text"),
        ("p(a\u00a0).", 1, 4, "unexpected character '\\xa0'", "plain space"),
        ("p(1.5).", 1, 3, "1.5 is not an integer", "integers"),
        ("p(X) :- X = 0.5.", 1, 13, "0.5 is not an integer", "integers"),
        ("1.5 :: p.", 1, 1, "probability 1.5 is not between 0 and 1", "a weight is a probability"),
        ("1e999 :: p.", 1, 1, "probability 1e999 is not between 0 and 1", "a weight is a probability"),
        ("x :: p.", 1, 3, "unexpected '::'", "a weight is a probability"),
        ("-0.5 :: p.", 1, 1, "unexpected '-'", "a weight is a probability"),
        ("t(x) :: p.", 1, 3, "the constant 'x' is not a probability", "t(0.5)"),
        ("t(2) :: p.", 1, 3, "probability 2 is not between 0 and 1", "a weight"),
        ("f(0.5) :: p.", 1, 1, "the term f(...) is not a weight", "a weight"),
        ("0.5 :: a ; t(0.5) :: b.", 1, 12, "annotated disjunction need fixed probabilities", "single head"),
        ("nn(m, [X], Y, [0..9]) :: d(X, Y) :- q(X).", 1, 37, "a neural declaration has no body", "nn(net"),
        ("nn(m, [X], Y) :: d(X, Y).", 1, 1, "nn(...) takes 4 arguments, got 3", "nn(net"),
        ("nn(m, X, Y, [0..9]) :: d(X, Y).", 1, 7, "inputs of nn(...) must be a list of variables", "nn"),
        ("nn(m, [X], 3, [0..9]) :: d(X, Y).", 1, 12, "output of nn(...) must be a variable", "nn"),
        ("nn(m, [X], Y, digit) :: d(X, Y).", 1, 15, "classes of nn(...) must be a list", "nn"),
        ("nn(m, [X], Y, [0..2, 5]) :: d(X, Y).", 1, 16, "the range 0..2 is not a class", "nn"),
        ("nn(1, [X], Y, [0..2]) :: d(X, Y).", 1, 4, "the constant 1 is not a model name", "nn"),
        ("p(N) :- N = avg{X : q(X)}.", 1, 13, "unknown aggregate 'avg'", "count, sum, min and max"),
        ("p(N) :- N = sum{: q(X)}.", 1, 13, "sum needs the variable it aggregates", "S = sum"),
        ("p(N) :- N < count{X : q(X)}.", 1, 9, "an aggregate is written", "N = count"),
        ("p(N) :- N = count{X : q(X)} + 1.", 1, 13, "aggregate must stand alone", "N = count"),
        ("domain d = foo.", 1, 12, "unknown domain 'foo'", "`int` and `symbol`"),
        ("domain d == int.", 1, 10, "unexpected '=='", "domain name = 0..9"),
        ("p(99999999999999999999999).", 1, 3, "integer 99999999999999999999999 is out of range", "64-bit"),
        ("p(9223372036854775808).", 1, 3, "out of range", "64-bit"),
        ("p(" + "9" * 5000 + ").", 1, 3, "out of range", "64-bit"),
        ("p('a\\qb').", 1, 5, "unknown escape \\q", "backslash"),
        ("p('\\UFFFFFFFF').", 1, 4, "unknown escape \\U", "backslash"),
        ("foo bar(X).", 1, 5, "unexpected name 'bar' after 'foo'", "may be missing after 'foo'"),
        ("p :- foo bar.", 1, 10, "unexpected name 'bar' after 'foo'", "may be missing after 'foo'"),
        (":- p.", 1, 1, "a rule needs a head", "constraints"),
        ("p(X) :- 3 is X.", 1, 11, "unexpected name 'is'", "left side of `is` must be a variable"),
        ("p(X) :- Y is min(X).", 1, 14, "min takes two arguments", "min(A, B)"),
        ("p(X) :- Y is f(X) + 1.", 1, 14, "`f(...)` is not an arithmetic function", "min(A, B)"),
        ("p(f(X)).", 1, 3, "the term f(...) cannot be an argument", "an argument is a variable"),
        ("p(X + 1).", 1, 3, "an arithmetic expression cannot be an argument", "Y is X + 1"),
        ("p(X) :- q(X, [1, 2]).", 1, 14, "a list cannot be an argument", "an argument"),
        ("p(X) :- not(q(X)).", 1, 9, "`not(...)` around an atom", "not p(X)"),
        ("p(X) :- X.", 1, 10, "unexpected '.'", "a body literal is"),
        ("p(X) :- 3.", 1, 10, "unexpected '.'", "a body literal is"),
        ("p(X) :- q(X), .", 1, 15, "unexpected '.'", "a ',' must be followed"),
        ("p(X) :- q(X) :- r(X).", 1, 14, "unexpected ':-'", "a rule has one `:-`"),
        ("p(X) :- X => 2.", 1, 12, "unexpected '>'", "the comparisons are"),
        ("p(X) :- \\+ X > 1.", 1, 12, "unexpected variable 'X'", "negates an atom"),
        ("p() :- q.", 1, 3, "unexpected ')'", "without parentheses"),
        ("p(X) :- X is 2 ** 3.", 1, 17, "unexpected '*'", "no power operator"),
        ("p(X) :- q(X); r(X).", 1, 13, "unexpected ';'", "annotated disjunction"),
        ("?- .", 1, 4, "unexpected '.'", "at least one literal"),
        ("type p(X).", 1, 8, "the variable X is not a domain name", "type age"),
        ("type p(1).", 1, 8, "the constant 1 is not a domain name", "type age"),
        ("p(X) :- 'a' 'b'.", 1, 13, "unexpected string 'b'", "a ',' may be missing before this"),
    ],
)
def test_errors_say_where_what_and_how_to_fix(text, line, column, message, hint):
    with pytest.raises(ParseError, match=re.escape(message)) as info:
        parse_program(text, file="bad.dl")
    err = info.value
    assert (err.file, err.line, err.column) == ("bad.dl", line, column)
    assert err.source_line == text.split("\n")[line - 1]
    assert hint in err.hint, err.hint
    rendered = str(err)
    assert rendered.startswith(f"bad.dl:{line}:{column}: ")
    assert "\n  " + err.source_line + "\n" in rendered and "\nhint: " in rendered


def test_syntax_error_lists_what_was_expected():
    with pytest.raises(ParseError) as info:
        parse_program("p(X :- q.")
    assert info.value.expected == ["')'", "','", "an arithmetic operator"]
    with pytest.raises(ParseError) as info:
        parse_program("p(X) :- \\+ 3.")
    assert info.value.expected == ["'('", "a name", "a quoted string"]
    with pytest.raises(ParseError) as info:
        parse_statement("")
    assert "a name" in info.value.expected and "'?-'" in info.value.expected


def test_error_caret_lines_up_with_tabs():
    with pytest.raises(ParseError) as info:
        parse_program("p(X) :-\n\tq(X) r.")
    assert str(info.value).split("\n")[1:3] == ["  \tq(X) r.", "  \t     ^"]


@pytest.mark.parametrize("parse", [parse_program, parse_statement, parse_query])
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(max_size=60))
def test_random_text_raises_only_parse_errors(parse, text):
    try:
        parse(text)
    except ParseError as err:
        assert err.line is not None and err.column is not None and err.hint


_ALPHABET = "pqXY_ab019(),.:-?\\+=<>!{}[];'\"%/* \n\t" + "istmodnt"


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=st.text(alphabet=_ALPHABET, max_size=40), data=st.binary(max_size=40))
def test_random_syntax_soup_and_bytes_raise_only_parse_errors(text, data):
    for candidate in (text, data.decode("utf-8", errors="replace"), text + data.decode("latin-1")):
        for parse in (parse_program, parse_statement, parse_query):
            try:
                parse(candidate)
            except ParseError as err:
                assert err.line is not None and err.column is not None and err.hint


def test_deep_nesting_is_not_a_recursion_error():
    deep = "p(X) :- Y is " + "(" * 5000 + "X" + ")" * 5000 + ", Z is " + "-" * 5000 + "X."
    clause = parse_statement(deep)
    assert clause.body[0] == Assign(Y, X)
    with pytest.raises(ParseError, match="unexpected end of input"):
        parse_statement("p :- X = " + "(" * 5000)


# ---------------------------------------------------------------- lexer and speed


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(programs(max_size=3))
def test_tokens_agree_with_larks_contextual_lexer(program):
    """The lexer decides `-3`, `is` and `mod` from context; lark's own lexer must agree."""
    text = format_program(program)
    tables = _tables()
    ours = [(t[0], t[1], t[2], t[3]) for t in _lex(text, tables.regex)[:-1]]
    tree = tables.lark.parse(text, start="program")
    theirs = sorted(
        ((t.type, str(t), t.line, t.column) for t in tree.scan_values(lambda v: isinstance(v, Token))),
        key=lambda t: (t[2], t[3]),
    )
    assert ours == theirs


def test_ten_thousand_rules_parse():
    """A large file parses whole (its speed is measured by experiments/bench/kb_check.py)."""
    text = "".join(
        f"r{i}(X, Z) :- edge(X, Y), r{i}(Y, Z), \\+ blocked(Z, n{i}), W is X + {i}, W > 3.\n" for i in range(10_000)
    )
    program = parse_program(text)
    assert len(program) == 10_000
    assert program.statements[-1].body[3] == Assign(Var("W"), BinOp("+", X, Const(9999)))
    assert program.statements[-1].span.line == 10_000


def test_mod_after_a_name_at_the_start_of_a_query_is_arithmetic():
    # found by the round-trip property: a query may start with arithmetic on a constant
    (lit,) = parse_query("a mod X < 3").body
    assert lit == Comparison("<", BinOp("mod", Const("a"), Var("X")), Const(3))
    # while `type mod(...)` and `domain mod = ...` still declare things named mod
    program = parse_program("type mod(int). domain mod = 0..3.")
    assert [type(s).__name__ for s in program.statements] == ["TypeDeclaration", "DomainDeclaration"]
