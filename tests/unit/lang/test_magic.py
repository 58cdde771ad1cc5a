"""Magic-set rewriting: same answers as the original program, far fewer tuples derived."""

from __future__ import annotations

import random

import pytest

from greybox.engine.reference import evaluate, exact_probabilities
from greybox.errors import ArityError, ConfigError, GreyboxError, UnknownRelationError
from greybox.lang.analysis import analyze
from greybox.lang.ast import Atom, Clause, Const, NeuralDeclaration, Program, TypeDeclaration, Var
from greybox.lang.magic import MagicProgram, adornment, magic_rewrite
from greybox.lang.parser import parse_program, parse_query
from greybox.lang.safety import show_atom, show_literal

try:
    from tests.helpers.random_programs import random_program
except ImportError:  # pragma: no cover - the helper is optional
    random_program = None

CLOSURES = {
    "left": "path(X, Z) :- path(X, Y), edge(Y, Z).",
    "right": "path(X, Z) :- edge(X, Y), path(Y, Z).",
    "nonlinear": "path(X, Z) :- path(X, Y), path(Y, Z).",
}


def query_atom(text: str) -> Atom:
    (atom,) = parse_query(text).body
    return atom


def show(clause: Clause) -> str:
    if not clause.body:
        return show_atom(clause.head) + "."
    return f"{show_atom(clause.head)} :- {', '.join(show_literal(b) for b in clause.body)}."


def matches(atom: Atom, t: tuple) -> bool:
    """Whether tuple ``t`` is an instance of ``atom`` (constants equal, repeated variables equal)."""
    seen: dict[str, object] = {}
    for arg, value in zip(atom.args, t):
        if isinstance(arg, Const):
            if arg.value != value:
                return False
        elif arg.name != "_":
            if seen.setdefault(arg.name, value) != value:
                return False
    return True


def answers(program: Program, atom: Atom, semiring: str = "boolean") -> set[tuple]:
    model = evaluate(analyze(program), semiring=semiring)
    return {t for t in model.relations.get(atom.predicate, {}) if matches(atom, t)}


def both(src: str, query: str) -> tuple[MagicProgram, set[tuple], set[tuple]]:
    """The rewrite of ``src`` for ``query`` and the answers of the original and rewritten programs."""
    program = parse_program(src, file="rules.dl")
    atom = query_atom(query)
    magic = magic_rewrite(program, atom)
    return magic, answers(program, atom), answers(magic.program, magic.answer)


def chain(n: int, start: int = 0) -> str:
    return " ".join(f"edge({i}, {i + 1})." for i in range(start, start + n))


# ---------------------------------------------------------------- transitive closure


@pytest.mark.parametrize("form", sorted(CLOSURES))
def test_closure_on_a_long_chain_agrees_and_derives_far_fewer_tuples(form):
    src = chain(40) + "\npath(X, Y) :- edge(X, Y).\n" + CLOSURES[form]
    magic, original, rewritten = both(src, "path(30, Y)")
    assert rewritten == original == {(30, y) for y in range(31, 41)}
    full = evaluate(analyze(parse_program(src))).relations
    restricted = evaluate(analyze(magic.program)).relations
    assert len(full["path"]) == 40 * 41 // 2
    # only the nodes reachable from 30 are ever asked about
    assert len(restricted["path__bf"]) <= 11 * 10 // 2
    assert len(restricted["magic__path__bf"]) <= 11
    assert "path" not in restricted or not restricted["path"]


def test_closure_on_two_components_never_touches_the_other_one():
    src = chain(20) + " " + chain(20, start=100) + "\npath(X, Y) :- edge(X, Y).\n" + CLOSURES["right"]
    magic, original, rewritten = both(src, "path(105, Y)")
    assert rewritten == original == {(105, y) for y in range(106, 121)}
    derived = evaluate(analyze(magic.program)).relations["path__bf"]
    assert all(x >= 100 for x, _ in derived)
    assert len(derived) == 15 * 16 // 2  # path from 105..119 onwards, nothing of the first chain
    assert len(evaluate(analyze(parse_program(src))).relations["path"]) == 2 * 20 * 21 // 2


def test_rewritten_closure_reads_as_the_classic_transformation():
    src = "edge(a, b).\npath(X, Y) :- edge(X, Y).\npath(X, Z) :- edge(X, Y), path(Y, Z)."
    magic = magic_rewrite(parse_program(src), query_atom("path(a, Y)"))
    assert [show(c) for c in magic.program.clauses] == [
        "edge(a, b).",
        "path__bf(X, Y) :- magic__path__bf(X), edge(X, Y).",
        "path__bf(X, Z) :- magic__path__bf(X), edge(X, Y), path__bf(Y, Z).",
        "magic__path__bf(Y) :- magic__path__bf(X), edge(X, Y).",
        "magic__path__bf(a).",
    ]
    assert show(magic.seed) == "magic__path__bf(a)."
    assert magic.program.statements[-1] is magic.seed
    assert show_atom(magic.answer) == "path__bf(a, Y)"
    assert magic.rewritten and magic.reason == ""


def test_free_query_and_repeated_variables():
    src = chain(5) + " edge(5, 0).\npath(X, Y) :- edge(X, Y).\n" + CLOSURES["left"]
    magic, original, rewritten = both(src, "path(X, X)")
    assert show_atom(magic.answer) == "path__ff(X, X)"
    assert show(magic.seed) == "magic__path__ff."
    assert rewritten == original == {(i, i) for i in range(6)}


def test_bound_second_argument_adorns_fb():
    src = chain(10) + "\npath(X, Y) :- edge(X, Y).\n" + CLOSURES["left"]
    magic, original, rewritten = both(src, "path(X, 3)")
    assert magic.answer.predicate == "path__fb"
    assert rewritten == original == {(i, 3) for i in range(3)}


# ---------------------------------------------------------------- classic programs

SAME_GENERATION = """
    up(a, e). up(b, e). up(c, f). up(d, g). up(e, h). up(f, h). up(g, i).
    down(e, a). down(e, b). down(f, c). down(g, d). down(h, e). down(h, f). down(i, g).
    flat(h, h). flat(i, i). flat(g, g).
    sg(X, Y) :- flat(X, Y).
    sg(X, Y) :- up(X, U), sg(U, V), down(V, Y).
"""


@pytest.mark.parametrize("query", ["sg(a, Y)", "sg(X, c)", "sg(d, Y)", "sg(X, Y)", "sg(a, c)"])
def test_same_generation(query):
    magic, original, rewritten = both(SAME_GENERATION, query)
    assert magic.rewritten
    assert rewritten == original
    assert original  # every query here has answers


def test_same_generation_magic_rules_pass_bindings_up():
    magic = magic_rewrite(parse_program(SAME_GENERATION), query_atom("sg(a, Y)"))
    rules = [show(c) for c in magic.program.clauses if c.body]
    assert "magic__sg__bf(U) :- magic__sg__bf(X), up(X, U)." in rules
    assert "sg__bf(X, Y) :- magic__sg__bf(X), up(X, U), sg__bf(U, V), down(V, Y)." in rules


ANCESTOR = """
    parent(ann, bob). parent(bob, cid). parent(cid, dan). parent(eve, fay). parent(fay, gus).
    ancestor(X, Y) :- parent(X, Y).
    ancestor(X, Z) :- parent(X, Y), ancestor(Y, Z).
    related(X, Y) :- ancestor(Z, X), ancestor(Z, Y), X != Y.
"""


@pytest.mark.parametrize(
    "query", ["ancestor(ann, Y)", "ancestor(X, dan)", "ancestor(eve, dan)", "related(bob, Y)", "related(X, gus)"]
)
def test_ancestor(query):
    magic, original, rewritten = both(ANCESTOR, query)
    assert rewritten == original
    info = analyze(magic.program)
    # the rules of relations the query does not need are gone
    if query.startswith("ancestor"):
        assert not any(name.startswith("related") for name in info.relations)


def test_ancestor_with_a_bound_second_argument_uses_two_adornments():
    magic = magic_rewrite(parse_program(ANCESTOR), query_atom("related(bob, Y)"))
    names = {c.head.predicate for c in magic.program.clauses}
    # ancestor(Z, X) is called with X bound, then ancestor(Z, Y) with Z bound
    assert {"related__bf", "ancestor__fb", "ancestor__bf", "magic__ancestor__fb", "magic__ancestor__bf"} <= names


# ---------------------------------------------------------------- negation, aggregates, arithmetic

NEGATION = """
    node(a). node(b). node(c). node(d).
    edge(a, b). edge(b, c). edge(d, a).
    reach(X, Y) :- edge(X, Y).
    reach(X, Z) :- reach(X, Y), edge(Y, Z).
    far(X, Y) :- node(X), node(Y), \\+ reach(X, Y).
    hop(X, Y) :- edge(X, Y).
    hop2(X, Z) :- hop(X, Y), hop(Y, Z), \\+ leaf(Z).
    leaf(X) :- node(X), \\+ edge(X, _).
"""


@pytest.mark.parametrize("query", ["far(a, Y)", "far(X, a)", "hop2(a, Z)", "hop2(X, c)"])
def test_negation_over_a_derived_relation_agrees(query):
    magic, original, rewritten = both(NEGATION, query)
    assert magic.rewritten
    assert rewritten == original


def test_negated_relation_keeps_its_original_rules():
    program = parse_program(NEGATION)
    magic = magic_rewrite(program, query_atom("far(a, Y)"))
    reach_rules = [c for c in program.clauses if c.head.predicate == "reach"]
    kept = [c for c in magic.program.clauses if c.head.predicate == "reach"]
    assert kept == reach_rules and all(a is b for a, b in zip(kept, reach_rules))
    assert not any(c.head.predicate.startswith("reach__") for c in magic.program.clauses)
    far = [show(c) for c in magic.program.clauses if c.head.predicate == "far__bf"]
    assert far == ["far__bf(X, Y) :- magic__far__bf(X), node(X), node(Y), \\+ reach(X, Y)."]
    info = analyze(magic.program)  # still stratified: reach before far__bf
    order = [next(iter(s.relations)) for s in info.strata if len(s.relations) == 1]
    assert order.index("reach") < order.index("far__bf")


def test_negation_elsewhere_does_not_stop_the_rewrite_of_what_the_query_needs():
    magic, original, rewritten = both(NEGATION, "reach(a, Y)")
    assert magic.rewritten and magic.answer.predicate == "reach__bf"
    assert rewritten == original == {("a", "b"), ("a", "c")}
    assert not any(c.head.predicate.startswith("far") for c in magic.program.clauses)


def test_query_over_a_relation_read_in_full_is_left_as_it_is():
    # the annotated disjunction is kept as it is, so what its body reads is computed in full
    program = parse_program(NEGATION + "0.5 :: hot(X) ; 0.5 :: cold(X) :- reach(a, X).")
    magic = magic_rewrite(program, query_atom("reach(a, Y)"))
    assert not magic.rewritten and magic.program is program and magic.seed is None
    assert magic.answer == query_atom("reach(a, Y)")
    assert "computed in full" in magic.reason
    magic, original, rewritten = both(NEGATION + "0.5 :: hot(X) ; 0.5 :: cold(X) :- reach(a, X).", "far(a, Y)")
    assert magic.rewritten and rewritten == original


def test_comparisons_and_arithmetic_pass_bindings_on():
    src = """
        num(0). num(1). num(2). num(3). num(4). num(5). num(6).
        succ(X, Y) :- num(X), Y is X + 1, num(Y).
        reach(X, Y) :- succ(X, Y).
        reach(X, Z) :- succ(X, Y), reach(Y, Z).
        two_up(X, Z) :- num(X), Y = X + 2, reach(Y, Z), Z < 6.
    """
    magic, original, rewritten = both(src, "two_up(1, Z)")
    assert rewritten == original == {(1, 4), (1, 5)}
    rules = [show(c) for c in magic.program.clauses if c.body]
    assert "magic__reach__bf(Y) :- magic__two_up__bf(X), num(X), Y = X + 2." in rules


def test_bound_head_variables_computed_by_is_and_a_running_sum():
    src = """
        q(1). q(2). q(3). q(4).
        p(Y) :- q(X), Y is X + 1.
        sum(0, 0).
        sum(I, S) :- q(I), J is I - 1, sum(J, S0), S is S0 + I.
    """
    for query in ["p(3)", "p(9)", "sum(3, S)", "sum(I, 6)", "sum(I, S)"]:
        magic, original, rewritten = both(src, query)
        assert magic.rewritten and rewritten == original, query
    magic, original, rewritten = both(src, "sum(3, S)")
    assert original == {(3, 6)}
    rules = [show(c) for c in magic.program.clauses if c.body]
    assert "magic__sum__bf(J) :- magic__sum__bf(I), q(I), J is I - 1." in rules
    # sum(4, _) is never asked about
    assert (4, 10) not in evaluate(analyze(magic.program)).relations["sum__bf"]


def test_tests_to_the_right_of_a_call_prune_its_demand():
    # without `q(I)` in the magic rule the countdown I - 1, I - 2, ... would never stop
    src = """
        q(1). q(2). q(3).
        tri(0, 0).
        tri(I, S) :- J is I - 1, tri(J, T), q(I), S is T + I.
    """
    magic, original, rewritten = both(src, "tri(3, S)")
    assert rewritten == original == {(3, 6)}
    rules = [show(c) for c in magic.program.clauses if c.head.predicate.startswith("magic")]
    assert rules == ["magic__tri__bf(J) :- magic__tri__bf(I), J is I - 1, q(I).", "magic__tri__bf(3)."]
    assert sorted(evaluate(analyze(magic.program)).relations["magic__tri__bf"]) == [(0,), (1,), (2,), (3,)]


def test_query_about_a_relation_given_at_run_time():
    program = parse_program("p(X) :- given(X).", file="g.dl")
    with pytest.raises(UnknownRelationError, match="unknown relation extra/1"):
        magic_rewrite(program, query_atom("extra(a)"))
    magic = magic_rewrite(program, query_atom("extra(a)"), inputs={"extra": 1})
    assert not magic.rewritten and "no rules" in magic.reason


def test_aggregates_agree_and_keep_empty_groups_apart():
    src = """
        person(ann). person(bob). person(cid).
        parent(ann, bob). parent(ann, cid). parent(bob, dan).
        kids(P, N) :- person(P), N = count{C : parent(P, C)}.
        kids_seen(P, N) :- N = count{C : parent(P, C)}.
        big(P) :- kids(P, N), N >= 2.
        total(S) :- S = sum{N, P : kids(P, N)}.
    """
    for query in ["kids(cid, N)", "kids_seen(cid, N)", "kids_seen(ann, N)", "big(X)", "big(ann)", "total(S)"]:
        magic, original, rewritten = both(src, query)
        assert rewritten == original, query
    magic, original, rewritten = both(src, "kids(cid, N)")
    assert original == {("cid", 0)} and magic.answer.predicate == "kids__bf"
    # kids_seen binds P only through its aggregate: it stays free, so there is no group `cid, 0`
    magic, original, rewritten = both(src, "kids_seen(cid, N)")
    assert original == set() and magic.answer.predicate == "kids_seen__ff"


def test_aggregate_passes_its_result_on_when_its_groups_are_bound():
    src = """
        person(ann). person(bob). parent(ann, bob). size(0, small). size(1, small). size(2, big).
        label(N, L) :- size(N, L).
        tag(P, L) :- person(P), N = count{C : parent(P, C)}, label(N, L).
    """
    magic, original, rewritten = both(src, "tag(ann, L)")
    assert rewritten == original == {("ann", "small")}
    rules = [show(c) for c in magic.program.clauses if c.body]
    assert "magic__label__bf(N) :- magic__tag__bf(P), person(P), N = count{C : parent(P, C)}." in rules


def test_negation_joins_the_magic_rules_once_its_variables_are_bound():
    src = """
        n(a). n(b). n(c). e(a, b). e(b, c). bad(b).
        r(X, Y) :- e(X, Y).
        r(X, Z) :- e(X, Y), r(Y, Z).
        good(X, Z) :- n(X), \\+ bad(Y), r(X, Y), r(Y, Z).
    """
    magic, original, rewritten = both(src, "good(a, Z)")
    assert rewritten == original
    rules = [show(c) for c in magic.program.clauses if c.body and c.body[0].predicate == "magic__good__bf"]
    assert rules == [
        "good__bf(X, Z) :- magic__good__bf(X), n(X), \\+ bad(Y), r__bf(X, Y), r__bf(Y, Z).",
        "magic__r__bf(X) :- magic__good__bf(X), n(X).",
        "magic__r__bf(Y) :- magic__good__bf(X), n(X), r__bf(X, Y), \\+ bad(Y).",
    ]


# ---------------------------------------------------------------- weights, spans, facts kept


def test_tags_agree_where_multiplication_is_idempotent():
    src = """
        0.5 :: edge(a, b). 0.6 :: edge(b, c). 0.7 :: edge(a, c). 0.8 :: edge(c, d). 0.9 :: edge(d, e).
        path(X, Y) :- edge(X, Y).
        path(X, Z) :- edge(X, Y), path(Y, Z).
    """
    program = parse_program(src)
    atom = query_atom("path(a, Y)")
    magic = magic_rewrite(program, atom)
    wanted = answers(program, atom)
    assert wanted == {("a", y) for y in "bcde"}

    def probs(semiring: str) -> tuple[list[float], list[float]]:
        before = evaluate(analyze(program), semiring=semiring)
        after = evaluate(analyze(magic.program), semiring=semiring)
        return (
            [before.probability("path", t) for t in sorted(wanted)],
            [after.probability(magic.answer.predicate, t) for t in sorted(wanted)],
        )

    for semiring in ("boolean", "max-min", "proofs"):
        before, after = probs(semiring)
        assert after == pytest.approx(before), semiring
    exact = exact_probabilities(analyze(magic.program))
    assert exact[("path__bf", ("a", "d"))] == pytest.approx((1 - (1 - 0.5 * 0.6) * (1 - 0.7)) * 0.8)
    # the magic atoms' tags multiply into the answers where multiplication is not idempotent
    before, after = probs("max-mult")
    assert after[2] == pytest.approx(0.7 * 0.8 * 0.7) and before[2] == pytest.approx(0.7 * 0.8)



def test_weighted_rules_keep_their_weight_and_get_one_copy():
    src = """
        e(a, b). e(b, c). e(c, a). 0.5 :: e(c, d).
        0.9 :: t(X, Y) :- e(X, Y).
        t(_) :: u(X, Y) :- e(X, Y).
        both(X, Y) :- t(X, Y), t(Y, X).
        q(X) :- t(a, X).
        q(X) :- t(X, a).
    """
    program = parse_program(src)
    for query in ["both(a, Y)", "q(X)"]:
        atom = query_atom(query)
        magic = magic_rewrite(program, atom)
        copies = [c for c in magic.program.clauses if c.head.predicate.startswith("t__")]
        assert len(copies) == 1 and copies[0].weight == program.clauses[4].weight
        assert answers(magic.program, magic.answer) == answers(program, atom)
        exact = exact_probabilities(analyze(program))
        exact_magic = exact_probabilities(analyze(magic.program))
        for t in answers(program, atom):
            assert exact_magic[(magic.answer.predicate, t)] == pytest.approx(exact[(atom.predicate, t)])
    # `both(a, Y)` calls t with bf then bb: the single copy is the more general t__bf
    magic = magic_rewrite(program, query_atom("both(a, Y)"))
    assert {c.head.predicate for c in magic.program.clauses if c.head.predicate.startswith("t__")} == {"t__bf"}
    # q calls t(a, X) (bf) and t(X, a) (fb): one copy, all free
    magic = magic_rewrite(program, query_atom("q(X)"))
    assert {c.head.predicate for c in magic.program.clauses if c.head.predicate.startswith("t__")} == {"t__ff"}
    # u is learnable and unused by q: gone, and so is its weight
    assert not any(c.head.predicate.startswith("u") for c in magic.program.clauses)


def test_every_rule_keeps_the_span_of_the_users_rule():
    src = "edge(a, b).\nedge(b, c).\npath(X, Y) :- edge(X, Y).\npath(X, Z) :- edge(X, Y), path(Y, Z).\n"
    program = parse_program(src, file="graph.dl")
    magic = magic_rewrite(program, query_atom("path(a, Y)"))
    lines = {show(c): (c.span.file, c.span.line) for c in magic.program.clauses if c.body}
    assert lines == {
        "path__bf(X, Y) :- magic__path__bf(X), edge(X, Y).": ("graph.dl", 3),
        "path__bf(X, Z) :- magic__path__bf(X), edge(X, Y), path__bf(Y, Z).": ("graph.dl", 4),
        "magic__path__bf(Y) :- magic__path__bf(X), edge(X, Y).": ("graph.dl", 4),
    }
    magic_rule = next(c for c in magic.program.clauses if c.head.predicate == "magic__path__bf" and c.body)
    assert (magic_rule.head.span.line, magic_rule.head.span.column) == (4, 27)  # the atom path(Y, Z)


def test_facts_declarations_and_neural_statements_are_kept_in_place():
    src = """
        domain digit = 0..9.
        type num(digit).
        nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).
        num(1). num(2). 0.3 :: num(3).
        type twice(digit, digit).
        twice(X, Y) :- num(X), Y is X * 2, Y =< 9.
        add(I, J, S) :- digit(I, A), digit(J, B), S is A + B.
        ?- twice(1, Y).
    """
    program = parse_program(src)
    magic = magic_rewrite(program, query_atom("twice(1, Y)"))
    kept = [s for s in program.statements if not (isinstance(s, Clause) and s.body) and s not in program.queries]
    assert [s for s in magic.program.statements if s in kept] == kept
    assert not magic.program.queries
    assert any(isinstance(s, NeuralDeclaration) for s in magic.program.statements)
    decls = {s.predicate: s.domains for s in magic.program.statements if isinstance(s, TypeDeclaration)}
    assert decls["twice__bf"] == ("digit", "digit") and decls["magic__twice__bf"] == ("digit",)
    info = analyze(magic.program)
    assert info.relations["twice__bf"].types == ("digit", "digit")
    assert not any(r.head.predicate.startswith("add") for r in info.rules)
    assert answers(magic.program, magic.answer) == {(1, 2)}


def test_derived_relation_with_facts_reads_them_through_a_bridge():
    src = """
        edge(a, b). edge(b, c).
        path(c, z). 0.4 :: path(q, r).
        path(X, Y) :- edge(X, Y).
        path(X, Z) :- edge(X, Y), path(Y, Z).
    """
    magic, original, rewritten = both(src, "path(a, Y)")
    assert rewritten == original == {("a", "b"), ("a", "c"), ("a", "z")}
    bridge = [show(c) for c in magic.program.clauses if c.body and c.body[-1].predicate == "path"]
    assert bridge == ["path__bf(V1, V2) :- magic__path__bf(V1), path(V1, V2)."]


def test_zero_arity_relations():
    src = "e(a). rain :- e(a). wet(X) :- e(X), rain."
    magic, original, rewritten = both(src, "wet(X)")
    assert rewritten == original == {("a",)}
    names = {c.head.predicate for c in magic.program.clauses}
    assert {"rain__", "magic__rain__", "wet__f", "magic__wet__f"} <= names


# ---------------------------------------------------------------- fallbacks and errors


def test_query_over_facts_is_not_rewritten():
    program = parse_program("e(a, b). p(X) :- e(X, _).")
    magic = magic_rewrite(program, query_atom("e(a, Y)"))
    assert not magic.rewritten and magic.program is program and "no rules" in magic.reason


def test_unstratifiable_program_comes_back_unchanged():
    program = parse_program("n(a). p(X) :- n(X), \\+ q(X). q(X) :- n(X), p(X). r(X) :- p(X).")
    magic = magic_rewrite(program, query_atom("r(X)"))
    assert not magic.rewritten and magic.program is program and magic.answer == query_atom("r(X)")
    assert "recursion" in magic.reason


def test_name_clash_gets_a_suffix():
    src = "path__bf(z, z). edge(a, b). path(X, Y) :- edge(X, Y). other(X, Y) :- path__bf(X, Y)."
    magic, original, rewritten = both(src, "path(a, Y)")
    assert magic.answer.predicate == "path__bf_2"
    assert rewritten == original == {("a", "b")}


def test_bad_queries_raise():
    program = parse_program("e(a, b). path(X, Y) :- e(X, Y).", file="g.dl")
    with pytest.raises(UnknownRelationError, match="unknown relation pth/2") as err:
        magic_rewrite(program, query_atom("pth(a, Y)"))
    assert "path" in err.value.hint
    with pytest.raises(ArityError, match="path with 1 argument"):
        magic_rewrite(program, query_atom("path(a)"))
    with pytest.raises(ConfigError, match="single positive atom"):
        magic_rewrite(program, parse_query("?- path(a, Y), e(Y, _)."))
    assert magic_rewrite(program, parse_query("?- path(a, Y).")).answer.predicate == "path__bf"


def test_adornment_helper():
    assert adornment(Atom("p", (Const(1), Var("X"), Var("Y"), Var("_")))) == "bfff"
    assert adornment(Atom("p", (Const(1), Var("X"), Var("Y"), Var("_"))), {"Y", "_"}) == "bfbf"


# ---------------------------------------------------------------- random programs


def random_queries(program: Program, rng: random.Random, n: int) -> list[Atom]:
    """Queries with one bound argument (a constant of the argument's type) over relations that have rules."""
    info = analyze(program)
    values = {a.value for c in program.clauses for a in c.head.args if isinstance(a, Const)}
    ints = sorted(v for v in values if isinstance(v, int))
    syms = sorted(v for v in values if isinstance(v, str))
    out = []
    for name in sorted({c.head.predicate for c in program.clauses if c.body}):
        types = info.relations[name].types
        for _ in range(n):
            args = [Var(f"X{i}") for i in range(len(types))]
            if types:
                i = rng.randrange(len(types))
                pool = (ints or [0]) if types[i] == "int" else (syms or ["a"])
                args[i] = Const(rng.choice(pool))
            out.append(Atom(name, tuple(args)))
    return out


def random_cases(n_programs: int, queries_per_relation: int, seed: int):
    """``(source, program, original boolean model, query)`` for random programs and queries."""
    rng = random.Random(seed)
    for k in range(n_programs):
        src = "\n".join(random_program(random.Random(seed + k), n_relations=5))
        program = parse_program(src)
        original = evaluate(analyze(program))
        for atom in random_queries(program, rng, queries_per_relation):
            yield src, program, original, atom


@pytest.mark.skipif(random_program is None, reason="tests/helpers/random_programs.py is not there")
def test_random_programs_agree_with_the_original():
    checked = rewritten = smaller = 0
    exact: dict[str, dict] = {}
    for src, program, original, atom in random_cases(60, 2, seed=1000):
        magic = magic_rewrite(program, atom)
        got = evaluate(analyze(magic.program))
        want = {t for t in original.relations.get(atom.predicate, {}) if matches(atom, t)}
        have = {t for t in got.relations.get(magic.answer.predicate, {}) if matches(magic.answer, t)}
        assert have == want, f"query {show_atom(atom)}\n{src}"
        checked += 1
        rewritten += magic.rewritten
        smaller += sum(map(len, got.relations.values())) < sum(map(len, original.relations.values()))
        if magic.rewritten and len(exact) < 15:
            if src not in exact:
                exact[src] = exact_probabilities(analyze(program))
            exact_magic = exact_probabilities(analyze(magic.program))
            for t in want:
                assert exact_magic.get((magic.answer.predicate, t), 0.0) == pytest.approx(
                    exact[src].get((atom.predicate, t), 0.0)
                ), f"query {show_atom(atom)}, {t}\n{src}"
    assert checked >= 200 and rewritten >= checked * 0.9 and smaller >= checked // 2


@pytest.mark.skipif(random_program is None, reason="tests/helpers/random_programs.py is not there")
def test_random_programs_on_the_tensor_engine():
    engine = pytest.importorskip("greybox.engine.engine")
    from greybox.semirings.boolean import Boolean

    def engine_answers(program: Program, atom: Atom) -> set[tuple]:
        result = engine.Engine(program).run(semiring=Boolean(), batch_size=1)
        return {args for _, args, p in result.answers(atom.predicate) if p > 0 and matches(atom, args)}

    by_program: dict[str, list] = {}
    for case in random_cases(8, 1, seed=2000):
        by_program.setdefault(case[0], []).append(case)
    rng = random.Random(2000)
    ran = 0
    for cases in by_program.values():  # one query per program: the engine is the slow part here
        src, program, original, atom = rng.choice(cases)
        magic = magic_rewrite(program, atom)
        want = {t for t in original.relations.get(atom.predicate, {}) if matches(atom, t)}
        try:
            have = engine_answers(magic.program, magic.answer)
        except GreyboxError as exc:
            # an engine limitation (a typed error, e.g. ResourceLimitError) only when the original
            # program fails there too, with the same error; anything else is a bug and fails the test
            with pytest.raises(type(exc)):
                engine_answers(program, atom)
            continue
        assert have == want, f"query {show_atom(atom)}\n{src}"
        ran += 1
    assert ran >= 6
