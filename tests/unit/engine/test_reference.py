"""The reference evaluator: hand-written programs with known answers, and random
programs checked against brute-force enumeration of possible worlds."""

from __future__ import annotations

import math
import random

import pytest

from greybox.engine.proof_tree import ProofNode, derivation_tree, format_tree
from greybox.engine.reference import Evaluator, all_facts, evaluate, exact_probabilities, query
from greybox.engine.reference_semirings import make_semiring
from greybox.semirings.proofs import ProofsScalar
from greybox.semirings.top_k import TopKScalar
from greybox.semirings.wmc import FactWeights, canonical, encode, proof_probability, satisfied, wmc
from greybox.errors import ArityError, ConfigError, GreyboxError, ResourceLimitError, UnknownRelationError
from greybox.lang.analysis import analyze
from greybox.lang.facts import InputFact
from greybox.lang.parser import parse_program, parse_query
from tests.helpers.random_programs import random_program
from tests.helpers.worlds import brute_force_probabilities, count_worlds, true_tuples, worlds


def program(text: str, **kw):
    return analyze(parse_program(text, file="t.dl"), **kw)


def approx(x: float) -> pytest.approx:
    return pytest.approx(x, abs=1e-12)


# ---------------------------------------------------------------- hand-written programs

GRAPH = """
    edge(a, b). 0.5 :: edge(b, c). 0.4 :: edge(a, c). 0.8 :: edge(c, d).
    path(X, Y) :- edge(X, Y).
    path(X, Z) :- path(X, Y), edge(Y, Z).
"""


def test_transitive_closure_in_every_semiring():
    info = program(GRAPH)
    expected = [("a", "b"), ("a", "c"), ("a", "d"), ("b", "c"), ("b", "d"), ("c", "d")]
    for name in ("boolean", "add-mult", "max-mult", "max-min", "proofs", "top-k"):
        assert evaluate(info, semiring=name).tuples("path") == expected, name
    assert evaluate(info, semiring="max-mult").probability("path", ("a", "d")) == approx(0.5 * 0.8)
    assert evaluate(info, semiring="max-min").probability("path", ("a", "d")) == approx(0.5)
    # add-mult counts each derivation once: a-b-c-d and a-c-d
    assert evaluate(info, semiring="add-mult").probability("path", ("a", "d")) == approx(0.5 * 0.8 + 0.4 * 0.8)
    exact = exact_probabilities(info)
    assert exact[("path", ("a", "d"))] == approx((1 - 0.5 * 0.6) * 0.8)
    assert exact[("edge", ("a", "b"))] == approx(1.0)


def test_proofs_of_transitive_closure():
    info = program(GRAPH)
    model = evaluate(info, semiring="proofs")
    # fact ids: edge(a,b)=0, edge(b,c)=1, edge(a,c)=2, edge(c,d)=3
    assert model.relations["path"][("a", "d")] == {
        frozenset({(0, True), (1, True), (3, True)}),
        frozenset({(2, True), (3, True)}),
    }
    top1 = evaluate(info, semiring="top-k", k=1).relations["path"][("a", "d")]
    assert top1 == (frozenset({(0, True), (1, True), (3, True)}),)  # 0.4 > 0.32


def test_add_mult_sums_a_converging_cycle_and_stops_on_a_diverging_one():
    cyc = "p(X, Y) :- e(X, Y). p(X, Z) :- p(X, Y), e(Y, Z)."
    model = evaluate(program("0.5 :: e(a, a). " + cyc), semiring="add-mult")
    assert model.probability("p", ("a", "a")) == pytest.approx(1.0, rel=1e-6)  # 0.5 + 0.25 + ...
    with pytest.raises(ResourceLimitError, match="'p' was still changing after 300 rounds") as err:
        evaluate(program("e(a, a). " + cyc), semiring="add-mult", max_iterations=300)
    assert err.value.relation == "p"


def test_runaway_rule_hits_each_limit():
    info = program("n(0). n(Y) :- n(X), Y is X + 1.")
    with pytest.raises(ResourceLimitError, match="'n' was still changing after 200 rounds") as err:
        evaluate(info, max_iterations=200)
    assert err.value.relation == "n" and err.value.hint
    with pytest.raises(ResourceLimitError, match="'n' grew past 150 tuples"):
        evaluate(info, max_tuples=150)
    with pytest.raises(ResourceLimitError, match="time budget of 0.02 s while deriving 'n'"):
        evaluate(info, time_budget_s=0.02)
    # the same rule bounded by a comparison terminates
    bounded = evaluate(program("n(0). n(Y) :- n(X), X < 5, Y is X + 1."))
    assert bounded.tuples("n") == [(i,) for i in range(6)]


KIN = """
    person(ann). person(bob). person(cid). person(dan).
    parent(ann, bob). parent(ann, cid). parent(bob, dan).
    age(ann, 60). age(bob, 35). age(cid, 30). age(dan, 5).
"""


def test_negation_as_failure_with_an_existential_variable():
    info = program(KIN + "orphan(X) :- person(X), \\+ parent(_, X). leaf(X) :- person(X), not parent(X, _).")
    model = evaluate(info)
    assert model.tuples("orphan") == [("ann",)]
    assert model.tuples("leaf") == [("cid",), ("dan",)]


def test_negation_probability_and_proofs():
    info = program(
        """
        person(ann). person(bob).
        0.7 :: parent(x, bob). 0.4 :: parent(y, bob).
        orphan(X) :- person(X), \\+ parent(_, X).
        0.3 :: a. 0.6 :: b. c :- a, \\+ b.
        """
    )
    exact = exact_probabilities(info)
    assert exact[("orphan", ("ann",))] == approx(1.0)
    assert exact[("orphan", ("bob",))] == approx(0.3 * 0.6)
    assert exact[("c", ())] == approx(0.3 * 0.4)
    proofs = evaluate(info, semiring="proofs").relations
    a, b = 4, 5  # ids: person x2, parent x2, a, b
    assert proofs["c"][()] == {frozenset({(a, True), (b, False)})}
    assert proofs["orphan"][("bob",)] == {frozenset({(1, True), (2, False), (3, False)})}


def test_negation_of_a_certain_fact_has_no_proof():
    info = program("p(a). p(b). q(a). r(X) :- p(X), \\+ q(X). n(N) :- N = count{X : r(X)}.")
    proofs = evaluate(info, semiring="proofs")
    assert proofs.tuples("r") == [("b",)]
    assert proofs.tuples("n") == [(1,)]
    keep = evaluate(info, semiring=ProofsScalar(drop_impossible=False))
    assert keep.tuples("r") == [("a",), ("b",)]
    assert keep.probability("r", ("a",)) == 0.0


def test_aggregates():
    info = program(
        KIN
        + """
        n_children(P, N) :- person(P), N = count{C : parent(P, C)}.
        kids(P, N) :- N = count{C : parent(P, C)}.
        total(S) :- S = sum{A, P : age(P, A)}.
        youngest_child(P, M) :- person(P), M = min{A : parent(P, C), age(C, A)}.
        oldest(M) :- M = max{A : age(_, A)}.
        sumkids(P, S) :- person(P), S = sum{A, C : parent(P, C), age(C, A)}.
        busy(P) :- person(P), N = count{C : parent(P, C)}, N >= 2.
        none(N) :- N = count{X : parent(X, X)}.
        """
    )
    m = evaluate(info)
    assert m.tuples("n_children") == [("ann", 2), ("bob", 1), ("cid", 0), ("dan", 0)]
    assert m.tuples("kids") == [("ann", 2), ("bob", 1)]  # P bound only by the aggregate: no empty groups
    assert m.tuples("total") == [(130,)]
    assert m.tuples("youngest_child") == [("ann", 30), ("bob", 5)]  # min of an empty group fails
    assert m.tuples("oldest") == [(60,)]
    assert m.tuples("sumkids") == [("ann", 65), ("bob", 5), ("cid", 0), ("dan", 0)]
    assert m.tuples("busy") == [("ann",)]
    assert m.tuples("none") == [(0,)]


def test_aggregate_tag_is_the_product_of_the_aggregated_tags():
    info = program("0.5 :: s(a, 1). 0.4 :: s(b, 2). t(S) :- S = sum{V, X : s(X, V)}.")
    m = evaluate(info, semiring="add-mult")
    assert m.tuples("t") == [(3,)]
    assert m.probability("t", (3,)) == approx(0.2)


def test_arithmetic_and_comparisons():
    info = program(
        """
        v(0). v(2). v(7). v(-7).
        q(X, Y) :- v(X), Y is 4 // X.
        m(X, Y) :- v(X), Y is X mod 3.
        d(X, Y) :- v(X), Y is X // 2.
        mm(Y) :- v(X), Y = max(X, 1) + min(X, 1) * 2.
        lt(X, Y) :- v(X), v(Y), X < Y, Y =< 2.
        ne(X) :- v(X), X \\= 2, X != 0.
        un(Y) :- v(X), Y is -X.
        """
    )
    m = evaluate(info)
    assert m.tuples("q") == [(-7, -1), (2, 2), (7, 0)]  # 4 // 0 fails
    assert m.tuples("m") == [(-7, 2), (0, 0), (2, 2), (7, 1)]
    assert m.tuples("d") == [(-7, -4), (0, 0), (2, 1), (7, 3)]
    assert m.tuples("mm") == [(-13,), (1,), (4,), (9,)]
    assert m.tuples("lt") == [(-7, 0), (-7, 2), (0, 2)]
    assert m.tuples("ne") == [(-7,), (7,)]
    assert m.tuples("un") == [(-7,), (-2,), (0,), (7,)]


def test_symbols_compare_alphabetically_and_equality_binds():
    info = program("w(ann). w(bob). before(X, Y) :- w(X), w(Y), X != Y, X = Z, Z = X. same(X, Y) :- w(X), Y = X.")
    m = evaluate(info)
    assert m.tuples("before") == [("ann", "bob"), ("bob", "ann")]
    assert m.tuples("same") == [("ann", "ann"), ("bob", "bob")]


def test_annotated_disjunctions():
    info = program(
        """
        0.2 :: coin(h) ; 0.5 :: coin(t).
        both :- coin(h), coin(t).
        either :- coin(h).
        either :- coin(t).
        neither :- \\+ coin(h), \\+ coin(t).
        g(a). g(b). 0.5 :: g(c).
        0.3 :: win(X) ; 0.6 :: lose(X) :- g(X).
        mixed :- win(a), lose(b).
        wins :- win(a), win(b).
        """
    )
    exact = exact_probabilities(info)
    assert ("both", ()) not in exact  # two heads of one disjunction never hold together
    assert exact[("either", ())] == approx(0.7)
    assert exact[("neither", ())] == approx(0.3)
    assert exact[("win", ("a",))] == approx(0.3)
    assert exact[("win", ("c",))] == approx(0.15)
    # one choice per disjunction, shared by its groundings
    assert ("mixed", ()) not in exact
    assert exact[("wins", ())] == approx(0.3)
    assert exact == pytest.approx(brute_force_probabilities(info), abs=1e-12)


def test_weighted_rules_conjoin_one_shared_weight():
    info = program(
        """
        0.5 :: vetted(a). 0.8 :: vetted(b).
        0.9 :: trusted(X) :- vetted(X).
        t(0.25) :: liked(X) :- vetted(X).
        both :- trusted(a), trusted(b).
        """
    )
    exact = exact_probabilities(info)
    assert exact[("trusted", ("a",))] == approx(0.45)
    assert exact[("both", ())] == approx(0.9 * 0.5 * 0.8)  # the weight is one choice
    assert exact[("liked", ("b",))] == approx(0.2)
    assert evaluate(info, semiring="add-mult").probability("trusted", ("b",)) == approx(0.72)


def test_extra_facts_are_renumbered_and_keep_their_groups():
    info = program(
        "type obs(symbol). 0.5 :: seen. any :- obs(X). two :- obs(a), obs(b). both :- seen, obs(a).",
    )
    extra = [InputFact(0, "obs", ("a",), 0.4, 9), InputFact(1, "obs", ("b",), 0.5, 9)]
    facts = all_facts(info, extra)
    assert [(f.id, f.relation) for f in facts] == [(0, "seen"), (1, "obs"), (2, "obs")]
    assert facts[1].group == facts[2].group != facts[0].group
    exact = exact_probabilities(info, extra)
    assert exact[("any", ())] == approx(0.9)  # mutually exclusive: 0.4 + 0.5
    assert ("two", ()) not in exact
    assert exact[("both", ())] == approx(0.2)
    with pytest.raises(UnknownRelationError, match="unknown relation 'nope'"):
        evaluate(info, [InputFact(0, "nope", ("a",), 0.4, 0)])
    with pytest.raises(ArityError, match="has 2 arguments, but obs has 1"):
        evaluate(info, [InputFact(0, "obs", ("a", "b"), 0.4, 0)])


def test_unknown_semiring_name():
    with pytest.raises(ConfigError, match="unknown semiring 'fuzzy'"):
        make_semiring("fuzzy")


# ---------------------------------------------------------------- proof algebra


def test_canonical_form_and_proof_probability():
    w = FactWeights((0.5, 0.2, 0.3, 0.9), (0, 1, 1, 2))
    assert canonical([(1, True), (2, True)], w) is None  # two heads of one group
    assert canonical([(0, True), (0, False)], w) is None
    assert canonical([(1, True), (2, False), (3, False)], w) == frozenset({(1, True), (3, False)})
    assert proof_probability(frozenset({(1, False), (2, False)}), w) == approx(0.5)
    assert proof_probability(frozenset({(0, True), (3, False)}), w) == approx(0.05)
    assert encode({(3, False), (0, True), (1, False)}) == (-4, -2, 1)


def test_wmc_honours_groups():
    w = FactWeights((0.5, 0.2, 0.3), (0, 1, 1))
    p = [frozenset({(0, True)}), frozenset({(1, True)}), frozenset({(2, True), (0, False)})]
    # P(f0 or f1 or (f2 and not f0)) = 1 - P(not f0) * P(neither f1 nor f2)
    assert wmc(p, w) == approx(1 - 0.5 * 0.5)
    assert wmc([], w) == 0.0
    assert wmc([frozenset()], w) == 1.0


def test_top_k_ranking_breaks_ties_by_encoded_literals():
    from types import SimpleNamespace as F

    facts = [F(id=i, probability=0.5, group=i) for i in range(4)]
    s = TopKScalar(k=2).bind(facts)
    a, b, c, d = (s.from_fact(f) for f in facts)
    # every single-fact proof has probability 0.5: the lowest encodings win
    assert s.add(s.add(d, c), s.add(b, a)) == (frozenset({(0, True)}), frozenset({(1, True)}))
    # (-1,) sorts before (1,): a negative literal of fact 0 ranks first among equals
    neg = s.negate(a)
    assert s.add(neg, b) == (frozenset({(0, False)}), frozenset({(1, True)}))
    assert s.negate(s.zero()) == s.one() and s.negate(s.one()) == s.zero()
    assert s.mul(a, s.negate(a)) == s.zero()


def test_top_k_negate_keeps_k_after_each_step():
    from types import SimpleNamespace as F

    facts = [F(id=0, probability=0.9, group=0), F(id=1, probability=0.2, group=1), F(id=2, probability=0.3, group=2)]
    s2 = TopKScalar(k=2).bind(facts)
    tag = s2.add(s2.from_fact(facts[0]), s2.mul(s2.from_fact(facts[1]), s2.from_fact(facts[2])))
    assert tag == (frozenset({(0, True)}), frozenset({(1, True), (2, True)}))
    # not(f0 or (f1 and f2)) = not f0 and (not f1 or not f2): best is {not f0, not f1} (0.08 > 0.07)
    assert TopKScalar(k=1).bind(facts).negate(tag) == (frozenset({(0, False), (1, False)}),)
    assert len(s2.negate(tag)) == 2
    full = ProofsScalar().bind(facts)
    assert full.negate(frozenset(tag)) == {frozenset({(0, False), (1, False)}), frozenset({(0, False), (2, False)})}


# ---------------------------------------------------------------- queries and derivation trees

KINSHIP = """
    0.9 :: father(ann, bob).
    0.7 :: father(bob, cid).
    0.6 :: father(bob, dan).
    0.5 :: mother(eve, bob).
    parent(X, Y) :- father(X, Y).
    parent(X, Y) :- mother(X, Y).
    grandparent(X, Z) :- parent(X, Y), parent(Y, Z).
    only_child(X) :- parent(P, X), \\+ sibling(X).
    sibling(X) :- parent(P, X), parent(P, Y), X != Y.
"""


def test_query_answers_are_sorted_with_exact_probabilities_and_proofs():
    info = program(KINSHIP)
    answers = query(info, parse_query("?- grandparent(X, Z)."), k=2)
    got = [(a.values, round(a.probability, 10)) for a in answers]
    assert got == [
        (("ann", "cid"), 0.63),
        (("ann", "dan"), 0.54),
        (("eve", "cid"), 0.35),
        (("eve", "dan"), 0.3),
    ]
    first = answers[0]
    assert first.bindings == {"X": "ann", "Z": "cid"}
    assert first.proofs == (frozenset({(0, True), (1, True)}),)
    assert first.proof_probabilities == (approx(0.63),)
    approximate = query(info, parse_query("?- grandparent(X, Z)."), k=1, exact=False)
    assert [round(a.probability, 10) for a in approximate] == [0.63, 0.54, 0.35, 0.3]
    # a query without variables has one answer (the empty binding) when it holds
    (yes,) = query(info, parse_query("?- grandparent(ann, cid)."))
    assert yes.values == () and yes.probability == approx(0.63)
    # eve's answer needs mother(eve, bob) both true and false: it has no proof
    only = query(info, parse_query("?- grandparent(X, cid), \\+ mother(X, bob)."))
    assert [(a.values, round(a.probability, 10)) for a in only] == [(("ann",), 0.63)]


def test_query_on_a_deterministic_program_has_probability_one():
    info = program(KIN + "gp(X, Z) :- parent(X, Y), parent(Y, Z).")
    answers = query(info, parse_query("?- gp(X, _)."), semiring="boolean")
    assert [(a.values, a.probability, a.proofs) for a in answers] == [(("ann",), 1.0, ())]


def test_derivation_tree_of_a_kinship_proof():
    info = program(KINSHIP)
    facts = all_facts(info)
    answers = query(info, parse_query("?- grandparent(ann, Z)."), k=3)
    best = answers[0].proofs[0]
    tree = derivation_tree(info, facts, "grandparent", ("ann", "cid"), best)
    assert tree.kind == "rule" and tree.clause.span.line == 8
    assert [c.args for c in tree.children] == [("ann", "bob"), ("bob", "cid")]
    assert [c.children[0].fact_id for c in tree.children] == [0, 1]
    text = format_tree(tree, facts)
    assert text.splitlines() == [
        "grandparent(ann, cid)      p=0.63   rule t.dl:8",
        "├── parent(ann, bob)       p=0.9    rule t.dl:6",
        "│   └── father(ann, bob)   p=0.9    fact t.dl:2",
        "└── parent(bob, cid)       p=0.7    rule t.dl:6",
        "    └── father(bob, cid)   p=0.7    fact t.dl:3",
    ]


def test_derivation_tree_shows_negations_and_builtins():
    info = program(KINSHIP)
    facts = all_facts(info)
    (answer,) = query(info, parse_query("?- only_child(cid)."), k=5)
    proofs = evaluate(info, semiring="proofs").relations["only_child"][("cid",)]
    proof = max(proofs, key=lambda p: proof_probability(p, FactWeights.from_facts(facts)))
    assert (2, False) in proof  # father(bob, dan) must be false
    tree = derivation_tree(info, facts, "only_child", ("cid",), proof)
    kinds = [c.kind for c in tree.children]
    assert kinds == ["rule", "negation"]
    assert tree.children[1] == ProofNode("sibling", ("cid",), "negation")
    text = format_tree(tree, facts)
    assert "\\+ sibling(cid)" in text and "not derived" in text
    with pytest.raises(GreyboxError, match="does not derive"):
        derivation_tree(info, facts, "only_child", ("cid",), frozenset({(0, True)}))
    assert answer.probability == approx(0.7 * 0.4)  # father(bob, dan) would make cid a sibling


# ---------------------------------------------------------------- random programs against brute force


def _random_info(seed: int, **kw):
    rng = random.Random(seed)
    src = "\n".join(random_program(rng, **kw))
    return analyze(parse_program(src)), src


@pytest.mark.parametrize("chunk", range(6))
def test_random_programs_match_possible_worlds(chunk):
    """exact = WMC of all proofs = brute force; a tuple holds in a world iff one of its proofs does."""
    for seed in range(chunk * 20, chunk * 20 + 20):
        rng = random.Random(seed)
        kw = dict(
            n_relations=rng.randint(2, 5),
            recursive=rng.random() < 0.8,
            negation=rng.random() < 0.8,
            aggregates=rng.random() < 0.6,
            arithmetic=rng.random() < 0.7,
            max_worlds=256,
        )
        info, src = _random_info(seed, **kw)
        facts = all_facts(info)
        proofs = evaluate(info, semiring="proofs", facts=facts)
        exact = exact_probabilities(info)
        evaluator = Evaluator(info)
        brute: dict = {}
        for world, prob in worlds(facts):
            holds = true_tuples(evaluator, facts, world)
            for key in holds:
                brute[key] = brute.get(key, 0.0) + prob
            for name, rel in proofs.relations.items():
                for t, tag in rel.items():
                    assert any(satisfied(p, world) for p in tag) == ((name, t) in holds), (seed, name, t, src)
        for key in set(exact) | set(brute):
            assert math.isclose(exact.get(key, 0.0), brute.get(key, 0.0), abs_tol=1e-9), (seed, key, src)


def test_random_programs_are_varied():
    shapes = {"\\+": 0, "not ": 0, "count{": 0, "sum{": 0, " is ": 0, " ; ": 0, " :: d": 0, "t(0.": 0, "<": 0}
    recursive = 0
    for seed in range(120):
        _, src = _random_info(seed)
        for s in shapes:
            shapes[s] += s in src
        recursive += any(line.split("(")[0] in line.split(":-")[1] for line in src.splitlines() if ":-" in line)
    assert all(n >= 3 for n in shapes.values()), shapes
    assert recursive >= 20


def test_top_k_with_large_k_equals_all_proofs():
    for seed in range(200, 240):
        info, src = _random_info(seed, n_relations=4)
        facts = all_facts(info)
        proofs = evaluate(info, semiring="proofs", facts=facts)
        top = evaluate(info, semiring="top-k", k=10**6, facts=facts)
        for name, rel in proofs.relations.items():
            assert {t: frozenset(tag) for t, tag in top.relations[name].items()} == rel, (seed, name, src)
        small = evaluate(info, semiring="top-k", k=2, facts=facts)
        for name, rel in small.relations.items():
            for t, tag in rel.items():
                assert 1 <= len(tag) <= 2 and set(tag) <= proofs.relations[name][t], (seed, name, t)


def test_every_semiring_runs_on_random_programs():
    for seed in range(300, 330):
        info, src = _random_info(seed, probabilistic_aggregates=True)
        boolean = evaluate(info)
        for name in ("max-mult", "max-min", "top-k", "proofs"):
            model = evaluate(info, semiring=name)
            for rel, tags in model.relations.items():
                for t in tags:
                    assert 0.0 <= model.probability(rel, t) <= 1.0 + 1e-9, (seed, name, rel, t)
        assert count_worlds(all_facts(info)) <= 256
        assert set(boolean.relations) == set(info.relations)
