"""Filtered ranks with ties at their mean rank, MRR / Hits, AUC-PR, on graphs ranked by hand."""

import pytest
import torch

from greybox.errors import ConfigError
from greybox.learn.path_mining import BodyMatrices, GraphIndex
from greybox.learn.path_rules import PathRule
from greybox.learn.ranking import auc_pr, filtered_rank, rank_queries, ranking_metrics, relation_scores


def test_ties_count_at_their_mean_rank_never_the_best():
    scores = torch.tensor([0.5, 0.5, 0.5, 0.9])
    # one better (3), two tied with the answer (1, 2): ranks 2, 3, 4 -> mean 3
    assert filtered_rank(scores, 0, torch.zeros(4, dtype=torch.bool)) == 3.0
    assert filtered_rank(torch.zeros(5), 2, torch.zeros(5, dtype=torch.bool)) == 3.0


def test_filtered_answers_are_left_out():
    scores = torch.tensor([0.2, 0.9, 0.8, 0.1])
    excluded = torch.tensor([False, True, False, False])
    assert filtered_rank(scores, 0, excluded) == 2.0
    assert filtered_rank(scores, 0, torch.zeros(4, dtype=torch.bool)) == 3.0


def _graph():
    # p: a->b, b->c, c->d; g (grandparent): a->c known; rule g :- p.p derives a->c, b->d
    facts = [("a", "p", "b"), ("b", "p", "c"), ("c", "p", "d"), ("a", "g", "c"), ("e", "p", "a")]
    index = GraphIndex(facts)
    rules = [PathRule("g", (("p", False), ("p", False)), 0.5), PathRule("g", (("p", True),), 0.2)]
    return facts, index, rules


def test_scores_by_hand_max_and_noisy_or():
    _, index, rules = _graph()
    m = BodyMatrices(index)
    e = index.entity_id
    best = relation_scores(m, rules, aggregation="max")
    noisy = relation_scores(m, rules, aggregation="noisy_or")
    assert best[e["b"], e["d"]] == 0.5 and best[e["b"], e["a"]] == 0.2 and best[e["a"], e["b"]] == 0.0
    assert float(noisy[e["b"], e["d"]]) == pytest.approx(0.5)
    # e->a->b and b->a (inverse p): both rules fire on (e, b)? only p.p: e->a->b
    assert float(noisy[e["e"], e["b"]]) == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="unknown aggregation 'sum'"):
        relation_scores(m, rules, aggregation="sum")


def test_ranks_of_a_tiny_graph_known_by_hand():
    facts, index, rules = _graph()
    m = BodyMatrices(index)
    # query g(b, d): tail side, scores from b: d 0.5, a 0.2 (inverse p), others 0 -> rank 1
    # head side g(?, d): b 0.5, only candidate above 0 -> rank 1
    # query g(e, c): tail: e->a->b gives b 0.5, c scores 0, tied with a, d, e (4 zeros: c, a, d, e) -> 1 + 1 + 3/2
    ranked = rank_queries(m, rules, [("b", "g", "d"), ("e", "g", "c")], facts + [("b", "g", "d"), ("e", "g", "c")])
    got = {(q.triple, q.side): q.rank for q in ranked}
    assert got[(("b", "g", "d"), "tail")] == 1.0
    assert got[(("b", "g", "d"), "head")] == 1.0
    assert got[(("e", "g", "c"), "tail")] == 3.5
    # head side g(?, c): a->c is known (filtered out); b->c? p.p from a only... scores into c: a 0.5 (filtered),
    # d 0.2 (inverse p: d? p(c, d) so g(d, c) 0.2); e ties with b, c at 0 -> 1 + 1 + 2/2 = 3
    assert got[(("e", "g", "c"), "head")] == 3.0


def test_metrics_and_their_errors():
    assert ranking_metrics([1.0, 1.5, 3.0, 20.0]) == pytest.approx(
        {"mrr": (1 + 1 / 1.5 + 1 / 3 + 1 / 20) / 4, "hits@1": 0.25, "hits@3": 0.75, "hits@10": 0.75})
    with pytest.raises(ConfigError, match="no query to score"):
        ranking_metrics([])


def test_auc_pr():
    assert auc_pr([0.9, 0.8, 0.1, 0.1], [True, False, True, False]) == pytest.approx(0.75)
    assert auc_pr([0.3, 0.2, 0.1], [True, True, False]) == pytest.approx(1.0)
    # every score tied: one threshold, precision 0.5 at recall 1 (no interpolation from (0, 1))
    assert auc_pr([0.0, 0.0], [True, False]) == pytest.approx(0.5)
    # a wrong answer first: precision 1/2 at recall 1/2, 2/3 at recall 1
    assert auc_pr([0.9, 0.8, 0.7], [False, True, True]) == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)


def test_auc_pr_is_average_precision_as_ntp_and_ctp_compute_it():
    import random

    metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(0)
    for _ in range(20):
        scores = [rng.choice([0.0, 0.2, 0.5, 0.7, 1.0]) for _ in range(30)]
        labels = [rng.random() < 0.3 for _ in range(30)]
        labels[0] = True
        assert auc_pr(scores, labels) == pytest.approx(metrics.average_precision_score(labels, scores))
    with pytest.raises(ConfigError, match="no positive label"):
        auc_pr([0.1], [False])


def test_rank_queries_by_given_scores():
    facts, index, rules = _graph()
    m = BodyMatrices(index)
    e = index.entity_id
    scores = torch.zeros(len(index.entities), len(index.entities), dtype=torch.float64)
    scores[e["e"], e["c"]] = 0.9  # the answer of g(e, c), tail side: now ranked first
    ranked = rank_queries(m, rules, [("e", "g", "c")], facts + [("e", "g", "c")], sides=("tail",),
                          scores_of=lambda relation: scores)
    assert [q.rank for q in ranked] == [1.0]
