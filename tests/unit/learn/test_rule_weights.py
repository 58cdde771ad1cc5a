"""Fitted rule weights: the fit over the active (query, entity) pairs is the fit over every pair."""

from collections import defaultdict

import numpy as np
import pytest
import torch

from greybox.errors import ConfigError
from greybox.learn.path_mining import BodyMatrices, held_out_folds, learn_path_rules
from greybox.learn.rule_weights import fit_rule_weights
from tests.helpers.kg_tiny import random_facts


def _rows(matrices, m, nodes, transpose):
    if matrices.dense:
        return (m.t() if transpose else m)[nodes]
    return torch.index_select(m.t().coalesce() if transpose else m, 0, nodes).to_dense()


def _dense_fit(index, rules, *, folds=5, queries=200, steps=100, lr=0.1, seed=0):
    """The fit written over the dense (K, Q, E) features: every (query, entity) pair."""
    matrices = BodyMatrices(index)
    rest, held = held_out_folds(index, matrices, max(folds, 2), seed)[0]
    known_tails, known_heads = defaultdict(set), defaultdict(set)
    for h, r, t in zip(index.heads, index.rels, index.tails):
        known_tails[(int(h), int(r))].add(int(t))
        known_heads[(int(t), int(r))].add(int(h))
    by_head = defaultdict(list)
    for i, rule in enumerate(rules):
        by_head[rule.head].append(i)
    rng = np.random.default_rng(seed)
    weights = {}
    for relation, positions in by_head.items():
        pairs = held.index.facts_of(relation) if relation in held.index.relation_id else np.zeros((0, 2), np.int64)
        if len(pairs) == 0:
            continue
        if len(pairs) > queries:
            pairs = pairs[rng.choice(len(pairs), queries, replace=False)]
        r = index.relation_id[relation]
        heads, tails = torch.as_tensor(pairs[:, 0]), torch.as_tensor(pairs[:, 1])
        features, answers, masks = [], [], []
        for nodes, answer, transpose, known in ((heads, tails, False, known_tails), (tails, heads, True, known_heads)):
            feats = torch.stack([_rows(rest, rest.body(tuple(index.label(s, inv) for s, inv in rules[i].body)),
                                       nodes, transpose) for i in positions])
            mask = torch.ones(len(nodes), index.n, dtype=torch.bool)
            for q, (e, a) in enumerate(zip(nodes.tolist(), answer.tolist())):
                mask[q, [x for x in known[(e, r)] if x != a]] = False
            features.append(feats)
            answers.append(answer)
            masks.append(mask)
        feats, answer, mask = torch.cat(features, dim=1), torch.cat(answers), torch.cat(masks)
        target = torch.zeros_like(mask, dtype=torch.float32)
        target[torch.arange(len(answer)), answer] = 1.0
        initial = torch.tensor([min(max(rules[i].weight or 0.5, 1e-3), 1 - 1e-3) for i in positions])
        theta = torch.logit(initial).clone().requires_grad_(True)
        optimizer = torch.optim.Adam([theta], lr=lr)
        for _ in range(steps):
            optimizer.zero_grad()
            log_miss = torch.einsum("k,kqe->qe", torch.nn.functional.logsigmoid(-theta), feats)
            log_hit = torch.log((-torch.expm1(log_miss)).clamp(min=1e-12))
            positive = -(log_hit * target).sum(1)
            negative = -((log_miss * (1 - target)) * mask).sum(1) / ((1 - target) * mask).sum(1).clamp(min=1)
            (positive + negative).mean().backward()
            optimizer.step()
        for i, w in zip(positions, torch.sigmoid(theta).tolist()):
            weights[i] = w
    return [weights.get(i, rule.weight) for i, rule in enumerate(rules)]


@pytest.mark.parametrize("seed", [0, 1])
def test_fit_over_active_pairs_equals_the_dense_fit(seed):
    facts = random_facts(seed)
    learned = learn_path_rules(facts, min_support=1, smoothing=1.0, max_rules=20, seed=seed)
    assert len(learned.rules) > 20
    fitted = fit_rule_weights(learned.index, learned.rules, queries=200, steps=30, lr=0.1, seed=seed, held_out=1)
    reference = _dense_fit(learned.index, learned.rules, steps=30, seed=seed)
    assert [r.weight for r in fitted] == pytest.approx([round(w, 4) for w in reference], abs=2e-4)
    assert any(abs(r.weight - o.weight) > 0.01 for r, o in zip(fitted, learned.rules)), "the fit must move weights"


def test_every_fold_held_out_fits_more_queries_than_one():
    facts = random_facts(3)
    learned = learn_path_rules(facts, min_support=1, smoothing=1.0, max_rules=20)
    one = fit_rule_weights(learned.index, learned.rules, steps=30, held_out=1)
    every = fit_rule_weights(learned.index, learned.rules, steps=30)
    assert [r.key for r in every] == [r.key for r in learned.rules]
    assert [r.weight for r in one] != [r.weight for r in every]
    with pytest.raises(ConfigError, match=r"held_out must be 1 to folds \(5\), not 6"):
        fit_rule_weights(learned.index, learned.rules, held_out=6)
