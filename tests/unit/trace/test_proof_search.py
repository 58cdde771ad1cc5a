"""The one-example proof search: top-k proofs that name only uncertain facts, found with a shrinking threshold."""

from __future__ import annotations

import itertools
import random

import pytest

from greybox.engine.reference import all_facts, evaluate
from greybox.lang.analysis import analyze
from greybox.lang.parser import parse_program
from greybox.trace.proof_search import top_proofs

PATHS = """
path(X, Y) :- edge(X, Y).
path(X, Z) :- path(X, Y), edge(Y, Z).
"""


def _info(facts: str):
    info = analyze(parse_program(facts + PATHS))
    return info, all_facts(info)


@pytest.mark.parametrize("seed", range(5))
def test_finds_minimal_proofs_best_first_and_the_best_of_all(seed: int) -> None:
    # against every proof (the ``proofs`` semiring), less those that contain a smaller one
    rng = random.Random(seed)
    nodes = "abcd"
    edges = [(x, y) for x, y in itertools.permutations(nodes, 2) if rng.random() < 0.6]
    info, facts = _info("".join(f"{rng.uniform(0.05, 0.95):.3f} :: edge({x}, {y}).\n" for x, y in edges))
    model = evaluate(info, semiring="proofs", facts=facts)
    for goal, tag in model.relations["path"].items():
        minimal = {p for p in tag if not any(q < p for q in tag)}
        best = max(model.semiring._prob(p) for p in minimal)
        found = top_proofs(info, facts, "path", goal, k=3, floor=0.0)
        assert found.exact and found.stopped == "complete"
        probs = [p for p, _ in found.proofs]
        assert probs == sorted(probs, reverse=True) and probs[0] == pytest.approx(best), goal
        assert {proof for _, proof in found.proofs} <= minimal, goal  # real proofs, none inside another
        # beyond the best, top-k keeps what it kept along the way: maybe fewer than 3
        assert 1 <= len(found.proofs) <= min(3, len(minimal)), goal


def test_certain_facts_are_left_out_of_proofs() -> None:
    # from b to c directly or through y, both certain: plain top-k has two proofs of the same two readings
    info, facts = _info("0.6 :: edge(a, b). edge(b, c). edge(b, y). edge(y, c). 0.5 :: edge(c, d).")
    plain = evaluate(info, semiring="top-k", k=3, facts=facts).relations["path"][("a", "d")]
    assert sorted(sorted(p) for p in plain) == [[(0, True), (1, True), (4, True)], [(0, True), (2, True), (3, True), (4, True)]]
    found = top_proofs(info, facts, "path", ("a", "d"), k=3)
    assert [(round(p, 6), sorted(proof)) for p, proof in found.proofs] == [(0.3, [(0, True), (4, True)])]
    assert found.exact


def test_improbable_proofs_are_not_searched_below_the_floor() -> None:
    info, facts = _info("0.9 :: edge(a, b). 0.9 :: edge(b, c). 0.001 :: edge(a, c).")
    found = top_proofs(info, facts, "path", ("a", "c"), k=2, start=0.81)
    assert [round(p, 6) for p, _ in found.proofs] == [0.81]
    assert (found.exact, found.stopped, found.sure) == (False, "floor", 1)
    assert found.threshold == pytest.approx(0.0081)
    both = top_proofs(info, facts, "path", ("a", "c"), k=2, start=0.81, floor=0.001)
    assert [round(p, 6) for p, _ in both.proofs] == [0.81, 0.001] and both.exact


def test_a_search_out_of_time_says_what_is_sure() -> None:
    # a complete graph of 30 nodes: the whole search takes about 1 s on a 2-core machine, 50x the
    # budget (12 nodes took 0.05 s, too close to a budget to be sure of running out)
    nodes = [f"n{i}" for i in range(30)]
    info, facts = _info("".join(f"0.5 :: edge({x}, {y}).\n" for x, y in itertools.permutations(nodes, 2)))
    found = top_proofs(info, facts, "path", ("n0", "n1"), k=3, start=0.5, time_budget_s=0.02)
    assert (found.exact, found.stopped) == (False, "time")
    assert found.sure == sum(1 for p, _ in found.proofs if p >= found.threshold)


def test_a_hint_finds_the_best_proof_first_and_a_bound_makes_it_sure() -> None:
    # the same dense graph, out of time for every proof, but the best one comes from the hint
    nodes = [f"n{i}" for i in range(12)]
    edges = list(itertools.permutations(nodes, 2))
    info, facts = _info("".join(f"{0.9 if (x, y) in (('n0', 'n5'), ('n5', 'n1')) else 0.3} :: edge({x}, {y}).\n"
                                for x, y in edges))
    ids = frozenset(f.id for f in facts if f.relation == "edge" and f.args in (("n0", "n5"), ("n5", "n1")))
    found = top_proofs(info, facts, "path", ("n0", "n1"), k=3, start=0.1, time_budget_s=0.5, hint=ids, bound=0.81)
    assert found.proofs[0][1] == frozenset((i, True) for i in ids) and found.sure >= 1
