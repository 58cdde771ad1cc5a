"""The canonical list of input facts: order, ids, probabilities, groups, rule weights."""

from __future__ import annotations

from greybox.lang.analysis import analyze
from greybox.lang.ast import Atom, Clause, Const, Program, Span
from greybox.lang.facts import DEFAULT_LEARNABLE, InputFact, collect_facts
from greybox.lang.parser import parse_program


def facts_of(src: str):
    info = analyze(parse_program(src, file="k.dl"))
    return info, collect_facts(info)


SRC = """\
edge(a, b).
0.7 :: edge(b, c).
t(0.6) :: edge(c, d).
t(_) :: edge(d, e).
path(X, Y) :- edge(X, Y).
0.9 :: path(X, Z) :- edge(X, Y), path(Y, Z).
0.2 :: coin(heads) ; 0.3 :: coin(tails) ; 0.5 :: coin(edge).
size(3).
0.4 :: hot(X) ; 0.6 :: cold(X) :- edge(X, _).
nn(net, [I], D, [0..9]) :: digit(I, D).
"""


def test_ids_relations_args_and_probabilities_in_source_order():
    _, facts = facts_of(SRC)
    assert [f.id for f in facts] == list(range(len(facts)))
    rows = [(f.relation, f.args, f.probability, f.learnable) for f in facts]
    assert rows == [
        ("edge", ("a", "b"), None, False),
        ("edge", ("b", "c"), 0.7, False),
        ("edge", ("c", "d"), 0.6, True),
        ("edge", ("d", "e"), DEFAULT_LEARNABLE, True),
        (None, (), 0.9, False),
        ("coin", ("heads",), 0.2, False),
        ("coin", ("tails",), 0.3, False),
        ("coin", ("edge",), 0.5, False),
        ("size", (3,), None, False),
        (None, (), 0.4, False),
        (None, (), 0.6, False),
    ]
    assert [f.span.line for f in facts] == [1, 2, 3, 4, 6, 7, 7, 7, 8, 9, 9]


def test_groups_each_fact_its_own_unless_in_a_disjunction():
    _, facts = facts_of(SRC)
    assert [f.group for f in facts] == [0, 1, 2, 3, 4, 5, 5, 5, 6, 7, 7]


def test_rule_weights_name_the_rule_objects_of_the_strata():
    info, facts = facts_of(SRC)
    rules = [r for s in info.strata for r in s.rules]
    weights = [f for f in facts if f.relation is None]
    assert len(weights) == 3
    for fact in weights:
        assert any(fact.clause is rule for rule in rules)
    recursive = next(f for f in weights if f.probability == 0.9)
    assert recursive.clause.head.predicate == "path" and recursive.clause.body[1].predicate == "path"
    hot, cold = weights[1:]
    assert (hot.clause.head.predicate, cold.clause.head.predicate) == ("hot", "cold")
    assert hot.clause is info.disjunction_rules[8][0] and cold.clause is info.disjunction_rules[8][1]
    # the disjunction's `_` is renamed in its rules as well
    assert hot.clause.body[0].args[1].name == "_1"
    # certain facts and unweighted rules have no clause
    assert all(f.clause is None for f in facts if f.relation is not None)


def test_identical_weighted_rules_are_distinct_choices():
    info, facts = facts_of("q(a).\n0.5 :: p(X) :- q(X).\n0.5 :: p(X) :- q(X).\n")
    first, second = facts[1:]
    assert first.clause == second.clause and first.clause is not second.clause
    assert (first.group, second.group) == (1, 2)
    assert [first.clause, second.clause] == list(info.strata[0].rules)
    assert first.clause is info.strata[0].rules[0] and second.clause is info.strata[0].rules[1]


def test_programs_without_input_facts_and_hand_built_ones():
    assert facts_of("nn(net, [I], D, [0..9]) :: digit(I, D).\np(I) :- digit(I, 3).")[1] == []
    fact = Clause(Atom("q", (Const(1), Const("x"))), span=Span("h.dl", 4, 1))
    facts = collect_facts(analyze(Program((fact,))))
    assert facts == [InputFact(0, "q", (1, "x"), None, 0)]
    assert facts[0].span.line == 4
