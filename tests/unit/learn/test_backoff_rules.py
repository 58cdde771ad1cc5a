"""Back-off rules ``backoff_r(X, Z) :- ...``: they order only the links the rules of ``r`` score equally."""

import math

import networkx as nx
import pytest
import torch

from greybox.engine import Engine
from greybox.errors import ConfigError
from greybox.kb.knowledge_base import KnowledgeBase
from greybox.learn.path_mining import BodyMatrices, GraphIndex, learn_path_rules
from greybox.learn.path_rules import PathRule, read_path_rule_file, write_path_rule_file
from greybox.learn.ranking import BACKOFF_SCALE, filtered_rank, relation_scores
from greybox.learn.rule_weights import fit_rule_weights
from greybox.semirings import MaxMult
from tests.helpers.kg_tiny import random_facts, toy_graph

# a reaches b by p, c and d by q, c (and itself) by s and s backwards; e by nothing
FACTS = [("a", "p", "b"), ("a", "q", "c"), ("a", "q", "d"), ("c", "s", "x"), ("a", "s", "x"), ("e", "s", "y")]
MAIN = PathRule("r", (("p", False),), 0.3)
BACKOFF = [PathRule("r", (("q", False),), 0.2, backoff=True),
           PathRule("r", (("s", False), ("s", True)), 0.6, backoff=True),
           PathRule("r", (("p", False),), 0.9, backoff=True)]


def test_back_off_orders_only_the_links_the_rules_score_equally():
    index = GraphIndex(FACTS)
    ids = index.entity_id
    s = relation_scores(BodyMatrices(index), [MAIN, *BACKOFF], aggregation="noisy_or")[ids["a"]]
    # b: the rule (0.3) first, though c's best back-off proof (0.6) outweighs b's rule;
    # then c (back-off 0.6 by s(a, x), s(c, x)), d (0.2), and nothing for e
    order = sorted(["b", "c", "d", "e"], key=lambda e: -float(s[ids[e]]))
    assert order == ["b", "c", "d", "e"]
    assert math.isclose(float(s[ids["b"]]), 0.3 + 0.9 * BACKOFF_SCALE, rel_tol=1e-12)
    assert math.isclose(float(s[ids["c"]]), 0.6 * BACKOFF_SCALE, rel_tol=1e-9)
    assert math.isclose(float(s[ids["d"]]), 0.2 * BACKOFF_SCALE, rel_tol=1e-9)
    assert float(s[ids["e"]]) == 0.0
    # without the back-off, c, d and e tie at the mean rank of three
    plain = relation_scores(BodyMatrices(index), [MAIN], aggregation="noisy_or")[ids["a"]]
    excluded = torch.zeros(len(plain), dtype=torch.bool)
    excluded[[ids["a"], ids["x"], ids["y"]]] = True
    assert filtered_rank(plain, ids["d"], excluded) == 3.0
    assert filtered_rank(s, ids["d"], excluded) == 3.0 and filtered_rank(s, ids["c"], excluded) == 2.0


def test_learned_back_off_rules_are_the_most_confident_candidates_with_their_confidence():
    facts = toy_graph()
    few = learn_path_rules(facts, min_support=1, smoothing=1.0, samples=50, max_rules=2)
    many = learn_path_rules(facts, min_support=1, smoothing=1.0, samples=50, max_rules=6)
    both = learn_path_rules(facts, min_support=1, smoothing=1.0, samples=50, max_rules=2, backoff_rules=6)
    assert [r for r in both.rules if not r.backoff] == list(few.rules)
    backoff = [r for r in both.rules if r.backoff]
    assert backoff, "the toy graph must give back-off rules"
    assert [(r.head, r.body, r.weight, r.support) for r in backoff] == \
        [(r.head, r.body, r.weight, r.support) for r in many.rules]


def test_the_exported_file_reads_back_passes_kb_check_and_the_engine_gives_both_heads(tmp_path):
    facts = toy_graph()
    learned = learn_path_rules(facts, min_support=1, smoothing=1.0, samples=50, max_rules=2, backoff_rules=6)
    path = tmp_path / "rules.dl"
    rules = write_path_rule_file(path, learned.rules, ["toy"])
    assert [r.key for r in rules] == [r.key for r in learned.rules]
    assert any(r.backoff for r in rules) and all(r.text().startswith(("0", "1")) for r in rules)
    facts_file = tmp_path / "facts.tsv"
    facts_file.write_text("head\trelation\ttail\n" + "".join(f"{h}\t{r}\t{t}\n" for h, r, t in facts))
    assert KnowledgeBase.load([path, facts_file]).check() == []
    best = Engine(path.read_text() + "".join(f"{r}({h}, {t}).\n" for h, r, t in facts)).run(semiring=MaxMult())
    matrices = BodyMatrices(learned.index)
    ents = learned.index.entities
    for relation in {r.head for r in rules if r.backoff}:
        # backoff_r's max-mult value is what the ranking adds (scaled) to the rules' score
        main = relation_scores(matrices, [r for r in rules if r.head == relation and not r.backoff], aggregation="max")
        both = relation_scores(matrices, [r for r in rules if r.head == relation], aggregation="max")
        added = (both - main) / BACKOFF_SCALE
        values = {tuple(args): v for _, args, v in best.answers(f"backoff_{relation}")}
        expected = {(ents[i], ents[j]): float(added[i, j]) for i, j in zip(*torch.nonzero(added > 1e-6, as_tuple=True))}
        assert values.keys() == expected.keys(), relation
        assert all(math.isclose(values[k], expected[k], rel_tol=1e-5) for k in expected), relation


def test_the_weight_fit_leaves_back_off_rules_at_their_confidence():
    learned = learn_path_rules(random_facts(seed=3), min_support=1, max_rules=3, backoff_rules=8)
    fitted = fit_rule_weights(learned.index, learned.rules, folds=3, steps=30)
    backoff = [(a.weight, b.weight) for a, b in zip(learned.rules, fitted) if a.backoff]
    assert backoff and all(a == b for a, b in backoff)
    assert any(a.weight != b.weight for a, b in zip(learned.rules, fitted) if not a.backoff)


def test_back_off_is_refused_where_it_would_not_rank_the_rules_alone():
    from tasks.kg.completion import PathRuleCompletion

    with pytest.raises(ConfigError, match="backoff_rules"):
        PathRuleCompletion(aggregation="noisy_or", exclusive_answers=True, backoff_rules=10)
    with pytest.raises(ConfigError, match="backoff_rules"):
        PathRuleCompletion(aggregation="noisy_or", embedding="complex", backoff_rules=10)
    with pytest.raises(ConfigError, match="backoff_rules"):
        PathRuleCompletion(backoff_rules=-1)


def test_a_checkpoint_and_an_explanation_keep_the_back_off_apart(tmp_path):
    from tasks.kg.completion import PathRuleCompletion
    from tasks.kg.explain import explain_link, format_proofs, link_proofs

    rules = write_path_rule_file(tmp_path / "rules.dl", [MAIN, *BACKOFF], ["toy"])
    model = PathRuleCompletion(aggregation="noisy_or", backoff_rules=3)
    model.build(sorted({e for h, _, t in FACTS for e in (h, t)}), ["p", "q", "s", "r"], rules)
    checkpoint: dict = {}
    model.on_save_checkpoint(checkpoint)
    loaded = PathRuleCompletion(aggregation="noisy_or", backoff_rules=3)
    loaded.on_load_checkpoint(checkpoint)
    assert [r.key for r in loaded.rules] == [r.key for r in rules]

    g = nx.MultiDiGraph()
    for n, (h, r, t) in enumerate(FACTS, 1):
        g.add_edge(h, t, key=r, origin=f"g.tsv:{n}")
    text = format_proofs(link_proofs(g, rules, ("a", "r", "b")), ("a", "r", "b"), "rules.dl")
    lines = text.splitlines()
    assert lines[0] == "inferred_r(a, b): 1 proof" and "inferred_r(X, Z) :- p(X, Z)" in lines[1]
    assert lines[3].startswith("backoff_r(a, b): 1 proof")
    # c: no rule of r fires; the explanation says so and shows the back-off's best proof
    text = explain_link(model, g, ("a", "r", "c"), "rules.dl")
    assert "rules: none fires" in text
    assert "back-off: 0.6000 = the best back-off rule (max-mult)" in text
    assert "0.6  rules.dl:" in text and "s(c, x)  g.tsv:4" in text
