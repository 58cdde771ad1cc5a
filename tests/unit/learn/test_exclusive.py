"""Exclusive answers: the scores are the exported program's probabilities given exactly one candidate."""

import math

import pytest
import torch

from greybox.engine.reference import query
from greybox.lang.analysis import analyze
from greybox.lang.parser import parse_program, parse_query
from greybox.learn.exclusive import exclusive_program, exclusive_scores
from greybox.learn.path_mining import BodyMatrices, GraphIndex, learn_path_rules
from greybox.learn.path_rules import PathRule, constant_text, write_path_rule_file

# x borders a (eu) and b (as); y borders b only; z borders c, whose region is unknown
FACTS = [("x", "near", "a"), ("x", "near", "b"), ("a", "in", "eu"), ("b", "in", "as"), ("y", "near", "b"),
         ("z", "near", "c"), ("a", "near", "c")]
CHAIN = PathRule("in", (("near", False), ("in", False)), 0.5)
ANCHORED_EU = PathRule("in", (("near", False),), 0.75, anchor="a", answer="eu")
ANCHORED_AS = PathRule("in", (("near", False),), 0.4, anchor="b", answer="as")
RULES = [CHAIN, ANCHORED_EU, ANCHORED_AS]


def _scores(rules, facts=FACTS, candidates=("eu", "as")):
    m = BodyMatrices(GraphIndex(facts))
    s = exclusive_scores(m, rules, candidates)
    ids = m.index.entity_id
    return {(q, c): float(s[ids[q], ids[c]]) for q in ids for c in candidates}


def test_scores_by_hand():
    s = _scores(RULES)
    # x: the chain rule leads to both regions and drops out; eu has odds 1/(1-0.75) - 1 = 3, as 1/(1-0.4) - 1 = 2/3
    assert s[("x", "eu")] == pytest.approx(3 / (3 + 2 / 3))
    assert s[("x", "as")] == pytest.approx((2 / 3) / (3 + 2 / 3))
    # y: the chain rule (0.5, odds 1) and the anchored rule (0.4) lead to as alone
    assert s[("y", "as")] == pytest.approx(1.0) and s[("y", "eu")] == 0.0
    # z: no rule leads to a region; nothing is known
    assert s[("z", "eu")] == s[("z", "as")] == 0.0


def test_a_certain_rule_wins_and_weights_compare_within_a_query():
    certain = PathRule("in", (("near", False),), 1.0, anchor="a", answer="eu")
    s = _scores([certain, ANCHORED_AS])
    assert s[("x", "eu")] == 1.0 and s[("x", "as")] == 0.0
    # the noisy-or alone would give x's wrong region (0.4) a higher score than y's right one (0.4 too: a tie);
    # conditioned, y's only region scores 1
    assert _scores([ANCHORED_AS, ANCHORED_EU])[("y", "as")] == 1.0


def test_unknown_candidate_is_an_error():
    from greybox.errors import ConfigError

    with pytest.raises(ConfigError, match="the candidate answer 'mars' is not an entity"):
        _scores(RULES, candidates=("eu", "mars"))


def _only_probabilities(rules_text, facts, relation, candidates):
    program = rules_text + "".join(f"{r}({constant_text(h)}, {constant_text(t)}).\n" for h, r, t in facts)
    program += exclusive_program(relation, candidates) + "\n"
    info = analyze(parse_program(program))
    answers = query(info, parse_query(f"?- only_{relation}(A, B)."), semiring="top-k", k=1)
    return {tuple(a.values): a.probability for a in answers}


def _random_graph(seed):
    import random

    rng = random.Random(seed)
    people, regions = [f"e{i}" for i in range(8)], ["r0", "r1", "r2"]
    facts = {(rng.choice(people), "near", rng.choice(people)) for _ in range(14)}
    facts |= {(p, "in", rng.choice(regions)) for p in people[:4]}
    return sorted(f for f in facts if f[0] != f[2]), regions


@pytest.mark.parametrize("seed", [0, 1])
def test_per_answer_rules_keep_the_noisy_or_and_make_the_answers_independent(seed):
    from greybox.learn.exclusive import per_answer_rules
    from greybox.learn.ranking import relation_scores

    facts, regions = _random_graph(seed)
    m = BodyMatrices(GraphIndex(facts))
    rules = [PathRule("in", (("near", inverse), ("in", False)), w) for inverse, w in ((False, 0.5), (True, 0.3))]
    rules.append(PathRule("in", (("near", False), ("near", False), ("in", False)), 0.2))
    split = per_answer_rules(rules, regions)
    assert len(split) == 3 * len(regions) and all(r.anchor == r.answer for r in split)
    cols = [m.index.entity_id[c] for c in regions]
    before = relation_scores(m, rules)[:, cols]
    after = relation_scores(m, split)[:, cols]
    assert torch.equal(before, after)
    # conditioned on one answer: the odds of each answer's noisy-or, normalised over the answers
    odds = after / (1 - after)
    expected = torch.nan_to_num(odds / odds.sum(1, keepdim=True), nan=0.0)
    assert torch.allclose(exclusive_scores(m, split, regions)[:, cols], expected, rtol=1e-12, atol=0)
    assert not torch.allclose(exclusive_scores(m, rules, regions)[:, cols], expected), "a rule must be shared here"


@pytest.mark.parametrize("per_answer", [False, True], ids=["as_learned", "per_answer"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_evaluator_conditioned_on_one_answer_gives_the_scores(tmp_path, seed, per_answer):
    from greybox.learn.exclusive import per_answer_rules

    facts, regions = _random_graph(seed)
    learned = learn_path_rules(facts, heads=["in"], min_support=1, min_confidence=0.01, smoothing=1.0, samples=50,
                               max_length=2, anchored_length=1, anchored_min_confidence=0.05, answers=regions)
    # chain rules through a neighbour's region, both ways, beside the learned ones
    chains = [PathRule("in", (("near", inverse), ("in", False)), w) for inverse, w in ((False, 0.5), (True, 0.3))]
    rules = [*chains, *learned.rules]
    rules = write_path_rule_file(tmp_path / "rules.dl", per_answer_rules(rules, regions) if per_answer else rules,
                                 ["toy"])
    assert sum(r.anchor is not None for r in rules) >= 3
    only = _only_probabilities((tmp_path / "rules.dl").read_text(), facts, "in", regions)
    total: dict[str, float] = {}
    for (x, _), p in only.items():
        total[x] = total.get(x, 0.0) + p
    expected = {k: p / total[k[0]] for k, p in only.items()}
    m = BodyMatrices(learned.index)
    s = exclusive_scores(m, rules, regions)
    ids = learned.index.entity_id
    got = {(x, c): float(s[ids[x], ids[c]]) for x in learned.index.entities for c in regions
           if float(s[ids[x], ids[c]]) > 0}
    assert got.keys() == {k for k, p in expected.items() if p > 0}
    assert all(math.isclose(got[k], expected[k], rel_tol=1e-9) for k in got)
    # as learned, a rule leads from one head to two regions (it drops out); per answer, none does
    shared = [r for r in rules if len(m.rule_pairs(r)[0]) and int(torch.bincount(m.rule_pairs(r)[0]).max()) > 1]
    assert bool(shared) != per_answer
