"""why_not: the cheapest change of leaf facts that makes another answer win."""

from __future__ import annotations

import math
import random

import pytest

from greybox.errors import ConfigError
from greybox.trace.schema import KGSource, NeuralSource, Proof, ProofNode
from greybox.trace.why_not import LeafFact, culprit_inputs, leaf_facts, why_not
from tests.helpers.traces import digit_sum_trace, kinship_trace


def _after(facts, w):
    """Product of the literals of ``facts`` after applying the changes of ``w``."""
    new = {c.fact_id: c.to_probability for c in w.changes}
    out = 1.0
    for f in facts:
        p = new.get(f.fact_id, f.probability)
        out *= 1.0 - p if f.negated else p
    return out


def test_digit_sum_picks_the_cheaper_proof():
    # proofs of 7: {img0=3 (0.91), img1=4 (0.30)} and {img0=2 (0.05), img1=5 (0.62)}; winner 8 at 0.5642
    a = [LeafFact(3, "digit(img0, 3)", 0.91), LeafFact(14, "digit(img1, 4)", 0.30)]
    b = [LeafFact(2, "digit(img0, 2)", 0.05), LeafFact(15, "digit(img1, 5)", 0.62)]
    w = why_not("7", [b, a], winner_probability=0.5642, margin=0.0)
    assert w.achievable and w.target == "7"
    assert [c.fact_id for c in w.changes] == [14]
    assert w.changes[0].to_probability == pytest.approx(0.5642 / 0.91)
    assert w.total_change == pytest.approx(0.5642 / 0.91 - 0.30)
    assert _after(a, w) == pytest.approx(0.5642)


def test_margin_makes_the_target_exceed_the_winner():
    facts = [LeafFact(0, "f", 0.2)]
    w = why_not("y", [facts], winner_probability=0.5)
    assert _after(facts, w) > 0.5
    assert w.changes[0].to_probability == pytest.approx(0.501)


def test_water_filling_raises_the_least_probable_facts_to_one_level():
    facts = [LeafFact(0, "a", 0.1), LeafFact(1, "b", 0.2), LeafFact(2, "c", 0.9)]
    w = why_not("y", [facts], winner_probability=0.36, margin=0.0)
    level = math.sqrt(0.36 / 0.9)  # a and b raised to 0.632..., c (0.9) stays
    assert {c.fact_id: c.to_probability for c in w.changes} == pytest.approx({0: level, 1: level})
    assert w.total_change == pytest.approx(2 * level - 0.3)


@pytest.mark.parametrize("seed", range(25))
def test_two_fact_proofs_match_brute_force(seed):
    rng = random.Random(seed)
    p1, p2 = rng.uniform(0.01, 0.99), rng.uniform(0.01, 0.99)
    bar = rng.uniform(p1 * p2, 0.99)
    w = why_not("y", [[LeafFact(0, "a", p1), LeafFact(1, "b", p2)]], winner_probability=bar, margin=0.0)
    # brute force: for each new value of a, the least b reaching the bar
    best = math.inf
    for i in range(20001):
        q1 = p1 + (1 - p1) * i / 20000
        q2 = max(p2, bar / q1)
        if q2 <= 1.0:
            best = min(best, (q1 - p1) + (q2 - p2))
    assert w.total_change == pytest.approx(best, abs=1e-4)
    assert w.total_change <= best + 1e-12  # never worse than the grid


def test_fixed_facts_keep_their_probability_and_can_make_it_unachievable():
    kg = LeafFact(0, "edge(a, b)", 0.5, changeable=False)
    read = LeafFact(1, "seen(b)", 0.3)
    w = why_not("b", [[kg, read]], winner_probability=0.4, margin=0.0)
    assert [c.fact_id for c in w.changes] == [1] and w.changes[0].to_probability == pytest.approx(0.8)
    w = why_not("b", [[kg, read]], winner_probability=0.6)
    assert not w.achievable and w.changes == [] and w.total_change == 0.0
    assert "fixed facts cap its best proof at 0.500" in w.note


def test_no_proof_and_certain_winner_are_not_achievable():
    assert "no proof of y was found" in why_not("y", [], 0.3).note
    w = why_not("y", [[LeafFact(0, "a", 0.9)]], 1.0)
    assert not w.achievable and "certain" in w.note


def test_target_already_ahead_needs_no_change():
    w = why_not("y", [[LeafFact(0, "a", 0.9)]], 0.5)
    assert w.achievable and w.changes == [] and "already exceeds" in w.note


def test_negated_literals_are_raised_by_lowering_the_fact():
    facts = [LeafFact(0, "blocked(x)", 0.8, negated=True), LeafFact(1, "open(x)", 0.9)]
    w = why_not("y", [facts], 0.45, margin=0.0)
    (change,) = w.changes
    assert change.from_probability == 0.8 and change.to_probability == pytest.approx(0.5)
    assert _after(facts, w) == pytest.approx(0.45)


def test_inconsistent_proofs_and_duplicate_facts():
    f = LeafFact(0, "a", 0.5)
    w = why_not("y", [[f, LeafFact(0, "a", 0.5, negated=True)]], 0.1)
    assert not w.achievable  # f and \+ f never hold together
    w = why_not("y", [[f, f]], 0.7, margin=0.0)  # a repeated fact counts once
    assert w.changes[0].to_probability == pytest.approx(0.7)


def test_bad_arguments_raise_config_errors():
    with pytest.raises(ConfigError, match="has probability 1.5, outside"):
        why_not("y", [[LeafFact(0, "a", 1.5)]], 0.3)
    with pytest.raises(ConfigError, match="margin -0.1 is negative"):
        why_not("y", [], 0.3, margin=-0.1)
    with pytest.raises(ConfigError, match="winner probability 2 is outside"):
        why_not("y", [], 2)


def _neural(i, cls, p):
    return NeuralSource(predicate="digit", model="net", sample=0, input_index=i, cls=cls, probability=p)


def test_leaf_facts_from_schema_proofs():
    root = ProofNode(atom="r", probability=0.2, children=[
        ProofNode(atom="digit(a, 1)", probability=0.4, fact_id=1, source=_neural(0, 1, 0.4)),
        ProofNode(atom="edge(a, b)", probability=0.5, fact_id=2, source=KGSource(file="g.csv", row=0)),
        ProofNode(atom="blocked(a)", probability=0.9, negated=True, fact_id=3, source=_neural(1, 0, 0.1)),
        ProofNode(atom="free(a)", probability=1.0, negated=True),  # never derived: no fact
    ])
    facts = leaf_facts(Proof(probability=0.2, root=root))
    assert [(f.fact_id, f.changeable, f.negated) for f in facts] == [(1, True, False), (2, False, False), (3, True, True)]
    assert facts[2].probability == pytest.approx(0.1)  # the fact, not the literal
    assert [f.changeable for f in leaf_facts(root, changeable_kinds=("kg",))] == [False, True, False]
    w = why_not("r", [Proof(probability=0.2, root=root)], 0.3, margin=0.0)
    assert w.achievable and {c.fact_id for c in w.changes} == {1}
    assert w.changes[0].source == _neural(0, 1, 0.4)
    with pytest.raises(ConfigError, match=r"leaf fact q \(fact 0\) has no probability"):
        leaf_facts(ProofNode(atom="q", fact_id=0))


def test_sample_digit_trace_why_not_is_consistent():
    t = digit_sum_trace()
    w = t.why_not
    assert w.target == t.label and w.achievable
    (change,) = w.changes
    assert change.atom == "digit(img1, 4)" and change.source.input_index in t.culprit_inputs
    assert 0.91 * change.to_probability > t.probability


def test_culprit_inputs():
    assert culprit_inputs(digit_sum_trace()) == [1]
    assert culprit_inputs(kinship_trace()) == []
    assert culprit_inputs(digit_sum_trace().inputs, correct=True) == []


def test_changes_below_a_meaningful_size_are_left_out() -> None:
    from greybox.trace.why_not import MIN_CHANGE

    # the winner is just above the target's proof: a 0.997 -> 0.998 nudge would be the whole "reason"
    nudge = why_not("b", [[LeafFact(0, "seen(b)", 0.997)]], winner_probability=0.9975, margin=1e-4)
    assert nudge.achievable and nudge.changes == [] and MIN_CHANGE == 0.01
    assert nudge.note == "b needs only changes below 0.010 (1 of them): it nearly wins already"
    assert nudge.total_change == pytest.approx(0.0006, abs=1e-4)
    # water-filling raises both literals to 0.9: 0.5 -> 0.9 is a reason, 0.895 -> 0.9 is not
    facts = [[LeafFact(0, "a(b)", 0.5), LeafFact(1, "c(b)", 0.895)]]
    full = why_not("b", facts, winner_probability=0.81, margin=0.0, min_change=0.0)
    assert [(c.atom, round(c.to_probability, 6)) for c in full.changes] == [("a(b)", 0.9), ("c(b)", 0.9)]
    shown = why_not("b", facts, winner_probability=0.81, margin=0.0)
    assert [c.atom for c in shown.changes] == ["a(b)"] and shown.total_change == pytest.approx(full.total_change)
    assert shown.note == "1 smaller change (below 0.010 each) left out"
