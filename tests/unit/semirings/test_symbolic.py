"""Symbolic provenance: the polynomial of a tuple is its exact probability, as a function of the facts'."""

from __future__ import annotations

import os
import random

import pytest
import sympy

from greybox.engine.reference import evaluate
from greybox.lang.analysis import analyze
from greybox.lang.parser import parse_program
from greybox.semirings.symbolic import FactSymbol, Polynomial, fact_symbols, symbolic_probability
from greybox.semirings.wmc import FactWeights, wmc
from tests.helpers.random_programs import random_program
from tests.helpers.worlds import brute_force_probabilities

SEEDS = range(200 if os.environ.get("GREYBOX_LONG") else 40)


def _model(seed: int):
    rng = random.Random(seed)
    src = "\n".join(random_program(rng, n_relations=rng.randint(2, 4), probabilistic_aggregates=False))
    info = analyze(parse_program(src))
    return info, evaluate(info, semiring="proofs")


def _symbols(model) -> tuple[FactWeights, dict[int, FactSymbol]]:
    weights = model.semiring.weights
    atoms = [(f.relation, tuple(f.args)) if f.relation is not None else None for f in model.facts]
    return weights, fact_symbols(atoms, weights, [f.id for f in model.facts if f.probability is not None])


def _moved(weights: FactWeights, rng: random.Random) -> dict[int, float]:
    """New probabilities: each group's mass shared out afresh among its facts (its total kept)."""
    out = {}
    for members in weights.members.values():
        if all(weights.probs[f] >= 1.0 for f in members):
            continue
        total = sum(weights.probs[f] for f in members)
        shares = [rng.random() + 0.05 for _ in members]
        for f, s in zip(members, shares):
            out[f] = total * s / sum(shares)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_the_polynomial_is_the_weighted_model_count_here_and_elsewhere(seed: int) -> None:
    _, model = _model(seed)
    weights, symbols = _symbols(model)
    moved = _moved(weights, random.Random(seed))
    moved_weights = FactWeights(tuple(moved.get(f, p) for f, p in enumerate(weights.probs)), weights.groups)
    checked = 0
    for relation, tuples in model.relations.items():
        for args, proofs in tuples.items():
            poly = symbolic_probability(proofs, weights, symbols)
            assert poly.value() == pytest.approx(wmc(proofs, weights), abs=1e-9), (relation, args, poly.text())
            # a function of the probabilities, not one number: it follows them when they move
            changes = {f: p for f, p in moved.items() if f in symbols}
            assert poly.value(changes) == pytest.approx(wmc(proofs, moved_weights), abs=1e-9), (relation, args)
            assert {s.name for s in poly.used()} <= {s.name for s in symbols.values()}
            checked += 1
    assert checked > 0


@pytest.mark.parametrize("seed", range(8))
def test_the_polynomial_matches_possible_worlds(seed: int) -> None:
    info, model = _model(seed)
    weights, symbols = _symbols(model)
    truth = brute_force_probabilities(info)
    for (relation, args), p in truth.items():
        proofs = model.relations[relation].get(args, frozenset())
        assert symbolic_probability(proofs, weights, symbols).value() == pytest.approx(p, abs=1e-9)


def test_sum_of_two_readings_is_the_sum_over_digit_pairs() -> None:
    # two readings of three classes each; sum 2 = 0 + 2, 1 + 1, 2 + 0
    probs = (0.2, 0.5, 0.3, 0.6, 0.3, 0.1)
    w = FactWeights(probs, (0, 0, 0, 1, 1, 1))
    atoms = [("digit", (i, d)) for i in range(2) for d in range(3)]
    syms = fact_symbols(atoms, w)
    proofs = [frozenset({(a, True), (3 + b, True)}) for a in range(3) for b in range(3) if a + b == 2]
    poly = symbolic_probability(proofs, w, syms)
    d = {(i, c): sympy.Symbol(f"p_digit_{i}_{c}") for i in range(2) for c in range(3)}
    assert sympy.expand(poly.expression - (d[0, 0] * d[1, 2] + d[0, 1] * d[1, 1] + d[0, 2] * d[1, 0])) == 0
    assert poly.value() == pytest.approx(0.2 * 0.1 + 0.5 * 0.3 + 0.3 * 0.6)
    # the display uses readable names, largest term first, and collapses when asked
    assert poly.display() == "p(digit(0)=2)*p(digit(1)=0) + p(digit(0)=1)*p(digit(1)=1) + p(digit(0)=0)*p(digit(1)=2)"
    assert poly.display(max_terms=1) == "p(digit(0)=2)*p(digit(1)=0) + ... (2 more terms)"
    assert sympy.sympify(poly.text()) == poly.expression  # the sympy text reads back


def test_a_partial_group_keeps_its_rest_and_a_whole_distribution_does_not() -> None:
    # facts 0, 1: an annotated disjunction 0.3 :: a ; 0.5 :: b (0.2 for neither)
    w = FactWeights((0.3, 0.5), (0, 0))
    syms = fact_symbols([("a", ()), ("b", ())], w)
    neither = symbolic_probability([frozenset({(0, False), (1, False)})], w, syms)
    assert neither.display() == "1 - p(a) - p(b)" and neither.value() == pytest.approx(0.2)
    # a network's two classes: one always holds, so "neither" is impossible
    whole = FactWeights((0.4, 0.6), (0, 0))
    assert symbolic_probability([frozenset({(0, False), (1, False)})], whole, fact_symbols([("a", ()), ("b", ())], whole)).expression == 0


def test_names_are_valid_sympy_names_and_unique() -> None:
    w = FactWeights((0.5, 0.5, 0.5), (0, 1, 2))
    syms = fact_symbols([("r", ("a b",)), ("r", ("a_b",)), None], w)
    names = [s.name for s in syms.values()]
    assert names == ["p_r_a_b", "p_r_a_b_f1", "p_fact_2"]
    assert all(isinstance(sympy.sympify(n), sympy.Symbol) for n in names)
    assert [s.display for s in syms.values()] == ["p(r('a b'))", "p(r(a_b))", "p(fact 2)"]
    assert Polynomial(sympy.Integer(0), syms).display() == "0"


@pytest.mark.parametrize("seed", range(0, 2 * len(SEEDS), 4))
def test_the_polynomial_is_the_tensor_engines_probability(seed: int) -> None:
    """Where top-k keeps every proof, the tensor engine's probability is exact: the polynomial gives it."""
    import torch

    from greybox.engine.engine import Engine
    from greybox.semirings import TopKProofs

    info, model = _model(seed)
    k = 8
    if any(len(tag) > k for rel in model.relations.values() for tag in rel.values()):
        pytest.skip("a tuple has more than k proofs")
    weights, symbols = _symbols(model)
    res = Engine(info).run(semiring=TopKProofs(k), dtype=torch.float64)
    checked = 0
    for name, tuples in model.relations.items():
        rel = res[name]
        probs = res.algebra.probability(rel.tags)
        for i, args in enumerate(res.decode(name, rel.cols)):
            poly = symbolic_probability(tuples[args], weights, symbols)
            assert poly.value() == pytest.approx(float(probs[i]), abs=1e-9), (name, args, poly.text())
            checked += 1
    assert checked == sum(len(t) for t in model.relations.values())
