"""Path rules: the scores ranking uses are the engine's and the reference evaluator's on the exported file."""

import math

import pytest
import torch

from greybox.engine import Engine
from greybox.engine.reference import query
from greybox.kb.knowledge_base import KnowledgeBase
from greybox.lang.parser import parse_query
from greybox.learn.path_mining import BodyMatrices, GraphIndex, candidate_paths, learn_path_rules
from greybox.learn.path_rules import PathRule, read_path_rule_file, write_path_rule_file
from greybox.learn.ranking import relation_scores
from greybox.semirings import Boolean, MaxMult
from tests.helpers.kg_tiny import toy_graph


def _program(rules_file, facts):
    return rules_file.read_text() + "".join(f"{r}({h}, {t}).\n" for h, r, t in facts)


@pytest.fixture(params=[0, 2], ids=["chain", "anchored"])
def learned(tmp_path, request):
    facts = toy_graph()
    result = learn_path_rules(facts, min_support=1, min_confidence=0.01, smoothing=1.0, samples=50,
                              anchored_length=request.param, anchored_min_confidence=0.05)
    assert result.rules, "the toy graph must give rules"
    if request.param:
        assert sum(r.anchor is not None for r in result.rules) > 10, "the toy graph must give anchored rules"
    path = tmp_path / "rules.dl"
    rules = write_path_rule_file(path, result.rules, ["toy"])
    return facts, result, rules, path


def test_rules_read_back_with_weights_support_and_lines(learned):
    _, result, rules, path = learned
    assert [r.key for r in rules] == [r.key for r in result.rules]
    assert [r.weight for r in rules] == [r.weight for r in result.rules]
    assert [(r.support, r.body_size) for r in rules] == [(r.support, r.body_size) for r in result.rules]
    lines = path.read_text().splitlines()
    assert all(lines[r.line - 1] == r.text() for r in rules)


def test_exported_rules_pass_kb_check(learned, tmp_path):
    facts, _, _, path = learned
    facts_file = tmp_path / "facts.tsv"
    facts_file.write_text("head\trelation\ttail\n" + "".join(f"{h}\t{r}\t{t}\n" for h, r, t in facts))
    assert KnowledgeBase.load([path, facts_file]).check() == []


def _scores(result, rules, relation, aggregation):
    matrices = BodyMatrices(result.index)
    s = relation_scores(matrices, [r for r in rules if r.head == relation], aggregation=aggregation)
    ents = result.index.entities
    return {(ents[i], ents[j]): float(s[i, j]) for i, j in zip(*torch.nonzero(s, as_tuple=True))}


def test_engine_derives_exactly_the_scored_links_with_the_max_scores(learned):
    facts, result, rules, path = learned
    engine = Engine(_program(path, facts))
    boolean = engine.run(semiring=Boolean())
    best = engine.run(semiring=MaxMult())
    for relation in {r.head for r in rules}:
        scored = _scores(result, rules, relation, "max")
        derived = {tuple(args) for _, args, _ in boolean.answers(f"inferred_{relation}")}
        assert derived == set(scored), relation
        values = {tuple(args): v for _, args, v in best.answers(f"inferred_{relation}")}
        assert values.keys() == scored.keys()
        assert all(math.isclose(values[k], scored[k], rel_tol=1e-6) for k in scored), relation


def test_reference_probability_is_the_noisy_or_score(learned):
    from greybox.lang.analysis import analyze
    from greybox.lang.parser import parse_program

    facts, result, rules, path = learned
    info = analyze(parse_program(_program(path, facts)))
    relation = rules[0].head
    scored = _scores(result, rules, relation, "noisy_or")
    answers = query(info, parse_query(f"?- inferred_{relation}(A, B)."), semiring="top-k", k=1)
    got = {tuple(a.values): a.probability for a in answers}
    assert got.keys() == scored.keys()
    assert all(math.isclose(got[k], scored[k], rel_tol=1e-9) for k in scored)


def test_candidates_are_paths_that_occur_and_never_the_fact_itself():
    facts = [("a", "p", "b"), ("b", "p", "c"), ("a", "g", "c"), ("a", "s", "c")]
    index = GraphIndex(facts)
    found = candidate_paths(index, max_length=3, samples=10)
    bodies = {tuple(index.step(x) for x in labels) for labels in found["g"]}
    assert bodies == {(("p", False), ("p", False)), (("s", False),)}
    assert (("g", False),) not in bodies


def test_max_length_is_checked():
    from greybox.errors import ConfigError

    with pytest.raises(ConfigError, match="max_length must be 1, 2 or 3"):
        candidate_paths(GraphIndex([("a", "p", "b")]), max_length=4)


def test_empty_graph_is_an_error():
    from greybox.errors import ConfigError

    with pytest.raises(ConfigError, match="the graph is empty"):
        learn_path_rules([])


def test_sparse_and_dense_matrices_give_the_same_rules():
    facts = toy_graph(seed=3, n=9, m=30)
    dense = learn_path_rules(facts, min_support=1, samples=50, dense_limit=1024)
    sparse = learn_path_rules(facts, min_support=1, samples=50, dense_limit=0)
    assert dense.rules == sparse.rules


def test_anchored_rule_counts_labelled_heads_only():
    from greybox.learn.path_mining import anchored_rules

    # a, c, d border b; a and c are in eu, d has no region (not counted); e borders b and is in as
    facts = [("a", "near", "b"), ("c", "near", "b"), ("d", "near", "b"), ("e", "near", "b"),
             ("a", "in", "eu"), ("c", "in", "eu"), ("e", "in", "as"), ("d", "in", "w_eu")]
    index = GraphIndex(facts)
    rules = anchored_rules(index, BodyMatrices(index), ["in"], answers=["eu", "as"], min_support=1,
                           min_confidence=0.0, smoothing=0.0)
    got = {(r.body, r.anchor, r.answer): (r.support, r.body_size, r.weight) for r in rules}
    assert got[((("near", False),), "b", "eu")] == (2, 3, round(2 / 3, 4))
    assert got[((("near", False),), "b", "as")] == (1, 3, round(1 / 3, 4))
    # never the fact itself: in(X, eu) :- in(X, eu)
    assert ((("in", False),), "eu", "eu") not in got


def test_anchored_rules_are_refused_where_they_cannot_be_scored():
    from greybox.errors import ConfigError
    from greybox.learn.path_mining import anchored_rules
    from greybox.learn.rule_weights import fit_rule_weights

    facts = toy_graph()
    index = GraphIndex(facts)
    with pytest.raises(ConfigError, match="anchored rules need dense matrices"):
        anchored_rules(index, BodyMatrices(index, dense_limit=0), ["p"])
    with pytest.raises(ConfigError, match="the answer 'nowhere' is not an entity"):
        anchored_rules(index, BodyMatrices(index), ["p"], answers=["nowhere"])
    rule = PathRule("p", (("q", False),), 0.5, anchor="e1", answer="e2")
    with pytest.raises(ConfigError, match="the weights of anchored rules are not fitted"):
        fit_rule_weights(index, [rule])


def test_anchored_rule_with_a_quoted_entity_reads_back_and_derives(tmp_path):
    rule = PathRule("locatedin", (("neighborof", False), ("neighborof", True)), 0.75, 3, 4,
                    anchor="guinea-bissau", answer="africa")
    path = tmp_path / "rules.dl"
    (back,) = write_path_rule_file(path, [rule], ["anchored"])
    assert back.key == rule.key and (back.weight, back.support, back.body_size) == (0.75, 3, 4)
    facts = [("x", "neighborof", "y"), ("guinea-bissau", "neighborof", "y"), ("africa", "neighborof", "z")]
    facts_file = tmp_path / "facts.tsv"
    facts_file.write_text("head\trelation\ttail\n" + "".join(f"{h}\t{r}\t{t}\n" for h, r, t in facts))
    assert KnowledgeBase.load([path, facts_file]).check() == []
    index = GraphIndex(facts)
    derived = _scores(type("R", (), {"index": index})(), [back], "locatedin", "max")
    from greybox.learn.path_rules import constant_text

    program = path.read_text() + "".join(f"{r}({constant_text(h)}, {constant_text(t)}).\n" for h, r, t in facts)
    answers = Engine(program).run(
        semiring=MaxMult()).answers("inferred_locatedin")
    assert {tuple(a): v for _, a, v in answers} == derived == {("x", "africa"): 0.75, ("guinea-bissau", "africa"): 0.75}
