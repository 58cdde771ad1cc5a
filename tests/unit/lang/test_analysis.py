"""Static analysis: unknown relations, arity, safety, stratification, types, strata and kinds."""

from __future__ import annotations


import pytest

from greybox.errors import (
    ArityError,
    GreyboxError,
    StratificationError,
    TypeCheckError,
    UnboundNeuralPredicateError,
    UnknownRelationError,
    UnsafeRuleError,
)
from greybox.lang.analysis import ProgramInfo, analyze, check_program, require_bound
from greybox.lang.ast import (
    AnnotatedDisjunction,
    Atom,
    Clause,
    Const,
    Learnable,
    Negation,
    Probability,
    Program,
    Query,
    Span,
    Var,
)
from greybox.lang.parser import parse_program


def check(src: str, **kw) -> list[GreyboxError]:
    return check_program(parse_program(src, file="k.dl"), source=src, **kw)


def info_of(src: str, **kw) -> ProgramInfo:
    return analyze(parse_program(src, file="k.dl"), source=src, **kw)


def only(src: str, kind: type, **kw) -> GreyboxError:
    errors = check(src, **kw)
    assert [type(e) for e in errors] == [kind], [str(e) for e in errors]
    return errors[0]


# ---------------------------------------------------------------- unknown relations


def test_unknown_relation_names_it_and_suggests_the_closest():
    src = "parent(ann, bob).\nancestor(X, Y) :- parnet(X, Y).\n"
    err = only(src, UnknownRelationError)
    assert "unknown relation parnet/2" in err.message
    assert (err.file, err.line, err.column) == ("k.dl", 2, 19)
    assert err.source_line == "ancestor(X, Y) :- parnet(X, Y)."
    assert "did you mean parent?" in err.hint


def test_unknown_relation_in_query_negation_and_aggregate():
    src = "p(a).\n?- q(X).\nr(X) :- p(X), \\+ s(X).\nn(N) :- N = count{X : t(X)}.\n"
    errors = check(src)
    assert [(type(e), e.line) for e in errors] == [(UnknownRelationError, 2), (UnknownRelationError, 3),
                                                   (UnknownRelationError, 4)]
    assert ["q/1" in errors[0].message, "s/1" in errors[1].message, "t/1" in errors[2].message] == [True] * 3


def test_inputs_and_type_declarations_make_a_relation_known():
    assert check("p(X) :- edge(X, _).", inputs={"edge": 2}) == []
    assert check("type edge(symbol, symbol).\np(X) :- edge(X, _).") == []


# ---------------------------------------------------------------- arity


def test_arity_error_names_both_places():
    src = "parent(ann, bob).\nparent(cid).\n"
    err = only(src, ArityError)
    assert err.line == 2
    assert "relation parent is used with 1 argument in parent(cid)" in err.message
    assert "2 arguments in parent(ann, bob) at k.dl:1" in err.message


def test_arity_declared_by_inputs_or_type_wins():
    err = only("p(X) :- edge(X).", ArityError, inputs={"edge": 2})
    assert "1 argument in edge(X)" in err.message and "2 arguments in inputs" in err.message
    err = only("edge(a).\ntype edge(symbol, symbol).\n", ArityError)
    assert err.line == 1 and "type edge(...) at k.dl:2" in err.message


# ---------------------------------------------------------------- safety


@pytest.mark.parametrize(
    "src, needle",
    [
        ("q(a).\np(X, Y) :- q(X).", "variable Y in the head p(X, Y) is not bound"),
        ("q(a).\np(X) :- q(X), \\+ r(X, Y).\nr(a, b).", "variable Y in the negation \\+ r(X, Y)"),
        ("q(1).\np(X) :- q(X), X < Y.", "variable Y in the comparison X < Y"),
        ("q(1).\np(X) :- q(X), Z is X + Y.", "variable Y in the arithmetic Z is X + Y"),
        ("q(1).\np(X) :- q(X), X = Z + 1.", "variable Z in the comparison X = Z + 1"),
    ],
)
def test_unsafe_variables(src, needle):
    err = only(src, UnsafeRuleError)
    assert needle in err.message
    assert err.line == 2 and "bind" in err.hint


def test_equality_of_two_unbound_variables_reports_both():
    errors = check("q(1).\np(X) :- q(X), Y = Z.")
    assert [e.message for e in errors] == [
        "variable Y in the comparison Y = Z is not bound by a positive literal",
        "variable Z in the comparison Y = Z is not bound by a positive literal",
    ]


def test_unsafe_points_at_the_variable():
    err = only("q(1).\np(X) :- q(X), X < Y.", UnsafeRuleError)
    assert (err.line, err.column) == (2, 19)


def test_binding_by_is_and_equals_in_any_order():
    src = "q(1).\np(X, Z, W) :- Z is Y + 1, Y is X * 2, W = Z - X, q(X), Z > W.\n"
    assert check(src) == []


def test_non_ground_fact_is_unsafe():
    err = only("p(a, X).", UnsafeRuleError)
    assert "variable X in the fact p(a, X) is not ground" in err.message
    err = only("0.5 :: p(_).", UnsafeRuleError)
    assert "fact p(_)" in err.message


def test_aggregate_binds_result_and_group_variables():
    src = "parent(a, b).\nn(P, N) :- N = count{C : parent(P, C)}.\nm(S) :- S = sum{V, X : w(X, V)}.\nw(a, 1).\n"
    assert check(src) == []


def test_aggregate_body_is_checked_on_its_own():
    # X is bound outside, but the aggregate is computed from its own body
    src = "q(1). r(1).\np(X, N) :- q(X), N = count{Y : r(Y), Y > X}.\n"
    err = only(src, UnsafeRuleError)
    assert "variable X in the comparison Y > X" in err.message
    err = only("r(1).\np(N) :- N = count{Y : r(X)}.", UnsafeRuleError)
    assert "variable Y listed in the aggregate N = count{Y : r(X)}" in err.message


def test_anonymous_variable_in_negation_is_existential():
    src = "person(ann).\nparent(ann, bob).\norphan(X) :- person(X), \\+ parent(_, X).\n"
    info = info_of(src)
    rule = info.clauses[2]
    negated = rule.body[1]
    assert isinstance(negated, Negation)
    assert negated.atom.args == (Var("_1"), Var("X"))
    # each `_` is its own variable
    info = info_of("q(a, b).\np(X) :- q(X, _), q(_, X).")
    assert [a.name for lit in info.clauses[1].body for a in lit.args] == ["X", "_1", "_2", "X"]


def test_named_variable_only_in_negation_is_unsafe_but_anonymous_elsewhere_too():
    err = only("person(a).\nparent(a, b).\np(X) :- person(X), \\+ parent(Y, X).", UnsafeRuleError)
    assert "variable Y in the negation" in err.message and "write _" in err.hint
    err = only("q(1).\np(X) :- q(X), X > _.", UnsafeRuleError)
    assert "_ (anonymous) in the comparison X > _" in err.message
    err = only("q(1).\np(_) :- q(_).", UnsafeRuleError)
    assert "_ (anonymous) in the head p(_)" in err.message


def test_anonymous_renaming_avoids_user_names():
    info = info_of("q(a, b).\np(_1) :- q(_1, _).")
    assert [a.name for a in info.clauses[1].body[0].args] == ["_1", "_2"]


def test_queries_keep_anonymous_variables():
    info = info_of("q(a, b).\n?- q(_, X).")
    assert info.queries[0].body[0].args[0] == Var("_")
    assert info.queries[0].variables() == ("X",)


# ---------------------------------------------------------------- stratification


def test_negation_through_recursion_names_the_cycle():
    src = "r(a).\np(X) :- r(X), \\+ q(X).\nq(X) :- r(X), p(X).\n"
    err = only(src, StratificationError)
    assert err.cycle == ["p", "q", "p"]
    assert "p -> q -> p" in err.message and "p negates q" in err.message
    assert (err.line, err.column) == (2, 15)


def test_negation_of_itself_and_aggregation_through_recursion():
    err = only("r(a).\np(X) :- r(X), \\+ p(X).", StratificationError)
    assert err.cycle == ["p", "p"] and "p negates p itself (p -> p)" in err.message
    src = "e(a, b).\nn(X, N) :- e(X, _), N = count{Y : n(Y, _)}.\n"
    err = only(src, StratificationError)
    assert "aggregation through recursion" in err.message and err.cycle == ["n", "n"]


def test_longer_cycle_is_named_in_order():
    src = "b(a).\np(X) :- b(X), \\+ q(X).\nq(X) :- s(X).\ns(X) :- b(X), p(X).\n"
    err = only(src, StratificationError)
    assert err.cycle == ["p", "q", "s", "p"]


# ---------------------------------------------------------------- types


def test_symbol_where_int_is_needed():
    src = "age(ann, 30).\nage(bob, old).\n"
    err = only(src, TypeCheckError)
    assert err.line == 2 and "the constant old makes argument 2 of age a symbol" in err.message
    assert "an int because of the constant 30 at k.dl:1" in err.message


def test_arithmetic_on_a_symbol():
    src = "name(ann).\np(Y) :- name(X), Y is X + 1.\n"
    err = only(src, TypeCheckError)
    assert err.line == 2 and "the arithmetic Y is X + 1 makes variable X an int" in err.message
    err = only("q(1).\np(Y) :- q(X), Y is X + abc.", TypeCheckError)
    assert "the symbol abc is used as a number" in err.message


def test_constant_outside_a_declared_domain():
    src = "domain digit = 0..9.\ntype d(digit).\nd(3).\nd(12).\n"
    err = only(src, TypeCheckError)
    assert err.line == 4 and "12 is outside the domain digit = 0..9 of argument 1 of d" in err.message
    err = only("domain colour = {red, green}.\ntype c(colour).\nc(blue).", TypeCheckError)
    assert "blue is outside the domain colour = {red, green}" in err.message


def test_undeclared_domain_in_type_declaration():
    err = only("domain person = symbol.\ntype parent(person, persn).", TypeCheckError)
    assert "undeclared domain persn" in err.message and "did you mean person?" in err.hint


def test_probabilities_out_of_range_and_disjunction_sum():
    # the parser rejects these already; programs built in code are checked here
    fact = Clause(Atom("p", (Const("a"),)), weight=Probability(1.5, span=Span("k.dl", 3, 1)))
    errors = check_program(Program((fact,)))
    assert [type(e) for e in errors] == [TypeCheckError]
    assert "probability 1.5 is outside [0, 1]" in errors[0].message and errors[0].line == 3
    learnable = Clause(Atom("p", (Const("a"),)), weight=Learnable(-0.1))
    assert "probability -0.1 is outside" in check_program(Program((learnable,)))[0].message
    heads = ((Probability(0.6), Atom("coin", (Const("h"),))), (Probability(0.7), Atom("coin", (Const("t"),))))
    errors = check_program(Program((AnnotatedDisjunction(heads, span=Span("k.dl", 2, 1)),)))
    assert [type(e) for e in errors] == [TypeCheckError]
    assert "sum to 1.3, more than 1" in errors[0].message and errors[0].line == 2
    assert check("0.5 :: coin(h) ; 0.5 :: coin(t).") == []


def test_nn_declaration_arguments_and_neural_relation_with_facts():
    errors = check("nn(net, [X], Z, [0..9]) :: digit(X, Y).")
    assert [type(e) for e in errors] == [TypeCheckError, TypeCheckError]
    assert "the nn output Z of net is not an argument of digit(X, Y)" in errors[0].message
    assert "argument Y of digit(X, Y) is neither an input nor the output of net" in errors[1].message
    errors = check("nn(net, [X], Y, [0..9]) :: digit(X, Y).\ndigit(img, 3).\n")
    assert [type(e) for e in errors] == [TypeCheckError]
    assert errors[0].line == 2 and "digit is a neural relation" in errors[0].message


def test_type_inference_across_rules():
    src = (
        "domain digit = 0..9.\n"
        "nn(net, [I], D, [0..9]) :: digit(I, D).\n"
        "sum2(A, B, S) :- digit(A, X), digit(B, Y), S is X + Y.\n"
        "same(A, X) :- digit(A, X).\n"
        "label(img1, cat).\n"
        "who(L) :- label(_, L).\n"
    )
    info = info_of(src)
    # an nn input that nothing else constrains is the index of an item of the network's input
    assert info.relations["digit"].types == ("int", "digit")
    assert info.relations["sum2"].types == ("int", "int", "int")
    assert info.relations["same"].types == ("int", "digit")
    assert info.relations["who"].types == ("symbol",)
    assert set(info.relations["sum2"].types) <= set(info.domains)


def test_nn_domain_without_declared_twin_gets_its_own_name():
    info = info_of("nn(net, [I], C, [cat, dog]) :: animal(I, C).")
    assert info.relations["animal"].types[1] == "animal#2"
    assert [c.value for c in info.domains["animal#2"].values] == ["cat", "dog"]


def test_conflicting_variable_use_across_relations():
    src = "age(ann, 30).\nname(ann, ann).\np(X) :- age(_, X), name(_, X).\n"
    err = only(src, TypeCheckError)
    assert err.line == 3 and "argument 2 of name is a symbol" in err.message


# ---------------------------------------------------------------- strata, kinds, probabilistic


KINSHIP = """\
parent(ann, bob).
parent(bob, cid).
0.8 :: friend(ann, cid).
person(X) :- parent(X, _).
person(X) :- parent(_, X).
ancestor(X, Y) :- parent(X, Y).
ancestor(X, Z) :- parent(X, Y), ancestor(Y, Z).
root(X) :- person(X), \\+ parent(_, X).
close(X, Y) :- friend(X, Y).
close(X, Y) :- ancestor(X, Y).
n_desc(X, N) :- person(X), N = count{Y : ancestor(X, Y)}.
even(X) :- zero(X).
even(X) :- odd(Y), X is Y + 1, X < 10.
odd(X) :- even(Y), X is Y + 1, X < 10.
zero(0).
"""


def test_strata_order_and_recursion():
    info = info_of(KINSHIP)
    order = [sorted(s.relations) for s in info.strata]
    assert order == [["person"], ["ancestor"], ["root"], ["close"], ["n_desc"], ["even", "odd"]]
    position = {name: i for i, s in enumerate(info.strata) for name in s.relations}
    assert position["person"] < position["root"] and position["ancestor"] < position["n_desc"]
    assert [s.recursive for s in info.strata] == [False, True, False, False, False, True]
    anc = info.strata[1]
    assert len(anc.rules) == 2 and all(r.head.predicate == "ancestor" and r.body for r in anc.rules)
    assert [r.head.predicate for r in info.strata[-1].rules] == ["even", "even", "odd"]
    # facts are not rules
    assert all(r.body for s in info.strata for r in s.rules)
    assert "parent" not in position and "zero" not in position


def test_kinds_and_probabilistic_flags():
    src = KINSHIP + (
        "nn(net, [I], D, [0..9]) :: digit(I, D).\n"
        "big(I) :- digit(I, D), D > 5.\n"
        "0.3 :: rain ; 0.5 :: snow.\n"
        "wet :- rain.\n"
        "t(0.4) :: lucky(X) :- person(X).\n"
        "dry :- \\+ wet.\n"
    )
    rel = info_of(src).relations
    kinds = {n: r.kind for n, r in rel.items()}
    assert kinds["parent"] == "input" and kinds["friend"] == "input" and kinds["zero"] == "input"
    assert kinds["ancestor"] == "derived" and kinds["digit"] == "neural" and kinds["rain"] == "input"
    uncertain = {n for n, r in rel.items() if r.probabilistic}
    assert uncertain == {"friend", "close", "digit", "big", "rain", "snow", "wet", "lucky", "dry"}
    assert rel["parent"].arity == 2 and rel["rain"].arity == 0


def test_disjunction_with_body_becomes_weighted_rules_in_the_strata():
    info = info_of("c(a).\n0.4 :: h(X) ; 0.6 :: t(X) :- c(X).\n")
    assert info.relations["h"].kind == "derived" and info.relations["h"].probabilistic
    rules = [r for s in info.strata for r in s.rules]
    assert [(r.head.predicate, r.weight.value) for r in rules] == [("h", 0.4), ("t", 0.6)]
    assert info.disjunction_rules[1] == tuple(rules)


# ---------------------------------------------------------------- all problems, first problem


def test_check_program_reports_all_problems_in_source_order():
    src = (
        "q(1).\n"                       # 1
        "p(X) :- q(X), \\+ p(X).\n"     # 2 stratification
        "r(X) :- qq(X).\n"              # 3 unknown
        "s(X, Y) :- q(X).\n"            # 4 unsafe
        "q(a, b).\n"                    # 5 arity
        "w(X) :- q(X), X = a.\n"       # 6 type
    )
    errors = check(src)
    assert [(type(e), e.line) for e in errors] == [
        (StratificationError, 2),
        (UnknownRelationError, 3),
        (UnsafeRuleError, 4),
        (ArityError, 5),
        (TypeCheckError, 6),
    ]
    with pytest.raises(StratificationError, match=r"p negates p itself"):
        analyze(parse_program(src))


def test_rendered_error_shows_the_line_and_a_caret():
    src = "q(1).\np(X) :- q(X), X < Y.\n"
    text = str(check(src)[0])
    assert text.splitlines()[:3] == [
        "k.dl:2:19: variable Y in the comparison X < Y is not bound by a positive literal",
        "  p(X) :- q(X), X < Y.",
        "                    ^",
    ]


def test_hand_built_program_without_spans_points_at_statements():
    stmt = Clause(Atom("p", (Var("X"),)), (Atom("q", (Var("X"),)),), span=Span("h.dl", 7, 1))
    errors = check_program(Program((stmt,)))
    assert len(errors) == 1 and isinstance(errors[0], UnknownRelationError)
    assert (errors[0].file, errors[0].line) == ("h.dl", 7)
    assert check_program(Program((Clause(Atom("q", (Const(1),))), stmt))) == []
    assert analyze(Program((Query((Atom("q", (Var("X"),)),)),)), inputs={"q": 1}).relations["q"].kind == "input"


def test_require_bound():
    src = "nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).\nnn(op_net, [X], Y, [a, b]) :: op(X, Y).\n"
    info = info_of(src)
    require_bound(info, {"digit_net": object(), "op_net": object()})
    with pytest.raises(UnboundNeuralPredicateError, match=r"digit_net \(relation digit\).*op_net") as caught:
        require_bound(info, {})
    assert caught.value.line == 1 and "networks={'digit_net': module, 'op_net': module}" in caught.value.hint
    with pytest.raises(UnboundNeuralPredicateError, match=r"op_net \(relation op\)\n") as caught:
        require_bound(info, {"digit_net": object()})
    assert caught.value.line == 2


def test_checking_ten_thousand_statements_finds_no_false_problem():
    """A large clean program checks clean (its speed is measured by experiments/bench/kb_check.py)."""
    lines = [f"e{i % 100}(c{i % 500}, c{(i * 7) % 500})." for i in range(7000)]
    for k in range(3000):
        j = k % 200
        lower = f"e{k % 100}" if j == 0 else f"d{(k * 13) % j}"
        lines.append(f"d{j}(X, Z) :- {lower}(X, Y), e{k % 100}(Y, Z), \\+ e{(k + 1) % 100}(Z, _), X != Z.")
    program = parse_program("\n".join(lines))
    assert check_program(program) == []
    # one broken statement among them is found, with its line
    broken = parse_program("\n".join(lines + ["p(X) :- \\+ q(X)."]))
    errors = check_program(broken)
    assert errors and all(e.line == len(lines) + 1 for e in errors)
