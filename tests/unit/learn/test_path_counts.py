"""The path-count score (``aggregation="log_count"``): its counts are the engine's proofs, its fit is the softmax fit
over every candidate, and it ranks by how many paths vouch for a link where the noisy-or ties."""

import math
import random
from collections import defaultdict
from dataclasses import replace

import pytest
import torch

from greybox.errors import ConfigError
from greybox.learn.path_mining import BodyMatrices, GraphIndex, held_out_folds, learn_path_rules
from greybox.learn.path_rules import PathRule, write_path_rule_file
from greybox.learn.ranking import relation_scores
from greybox.learn.rule_weights import fit_path_count_weights
from tests.helpers.kg_tiny import toy_graph, random_facts


@pytest.mark.parametrize("dense_limit", [1024, 0], ids=["dense", "sparse"])
def test_path_counts_are_the_engines_derivations(tmp_path, dense_limit):
    """The engine's add-mult value of ``inferred_r(x, z)`` sums ``w`` over every grounding of every rule's body:
    ``sum_k w_k * n_k(x, z)`` with the path counts ``n_k``; the explanation's walks count the same paths."""
    import networkx as nx

    from greybox.engine import Engine
    from greybox.semirings import AddMult
    from tasks.kg.explain import path_count

    facts = toy_graph()
    result = learn_path_rules(facts, min_support=1, min_confidence=0.01, smoothing=1.0, samples=50)
    rng = random.Random(1)
    # distinct weights, so that a sum matching on every link pins each rule's count
    rules = write_path_rule_file(tmp_path / "rules.dl", [replace(r, weight=round(rng.uniform(0.05, 0.95), 4))
                                                         for r in result.rules], ["toy"])
    values = Engine((tmp_path / "rules.dl").read_text() + "".join(f"{r}({h}, {t}).\n" for h, r, t in facts)).run(
        semiring=AddMult())
    graph = nx.MultiDiGraph()
    for h, r, t in facts:
        graph.add_edge(h, t, key=r, origin="toy")
    matrices = BodyMatrices(result.index, dense_limit=dense_limit)
    ents = result.index.entities
    several = 0
    for relation in sorted({r.head for r in rules}):
        summed, walked = defaultdict(float), defaultdict(float)
        for rule in (r for r in rules if r.head == relation):
            for x, z, n in zip(*matrices.rule_paths(rule)):
                link = (ents[int(x)], ents[int(z)])
                summed[link] += rule.weight * float(n)
                walked[link] += rule.weight * path_count(graph, rule, (link[0], relation, link[1]))
                several += int(n) > 1
        derived = {tuple(args): v for _, args, v in values.answers(f"inferred_{relation}")}
        assert derived.keys() == summed.keys(), relation
        assert all(math.isclose(derived[k], summed[k], rel_tol=1e-5) for k in derived), relation
        assert walked == pytest.approx(summed)
    assert several > 0, "the toy graph must have links with several paths of one rule"


def test_log_count_ranks_by_paths_where_the_noisy_or_ties():
    # a reaches d by two p.q paths, e by one: the noisy-or (one rule fires for both) ties them
    index = GraphIndex([("a", "p", "b"), ("a", "p", "c"), ("b", "q", "d"), ("c", "q", "d"), ("b", "q", "e")])
    rule = PathRule("r", (("p", False), ("q", False)), 0.5)
    ids = index.entity_id
    m = BodyMatrices(index)
    noisy = relation_scores(m, [rule], aggregation="noisy_or")
    counted = relation_scores(m, [rule], aggregation="log_count")
    assert noisy[ids["a"], ids["d"]] == noisy[ids["a"], ids["e"]] == 0.5
    assert counted[ids["a"], ids["d"]] == pytest.approx(math.log(2) * math.log(3))
    assert counted[ids["a"], ids["e"]] == pytest.approx(math.log(2) * math.log(2))
    assert counted[ids["a"], ids["b"]] == 0.0


def _dense_softmax_fit(index, rules, *, folds, steps, lr, seed):
    """The fit written over the dense (K, Q, E) path counts: a softmax over every candidate entity."""
    matrices = BodyMatrices(index)
    cut = held_out_folds(index, matrices, folds, seed)
    known_tails, known_heads = defaultdict(set), defaultdict(set)
    for h, r, t in zip(index.heads, index.rels, index.tails):
        known_tails[(int(h), int(r))].add(int(t))
        known_heads[(int(t), int(r))].add(int(h))
    by_head = defaultdict(list)
    for i, rule in enumerate(rules):
        by_head[rule.head].append(i)
    weights = {}
    for relation, positions in by_head.items():
        r = index.relation_id[relation]
        features, answers, masks = [], [], []
        for rest, held in cut:
            if relation not in held.index.relation_id:
                continue
            pairs = held.index.facts_of(relation)
            counts = torch.stack([rest.paths(tuple(index.label(s, inv) for s, inv in rules[i].body))
                                  for i in positions]).double()  # (K, E, E)
            for nodes, answer, transpose, known in ((pairs[:, 0], pairs[:, 1], False, known_tails),
                                                    (pairs[:, 1], pairs[:, 0], True, known_heads)):
                features.append((counts.transpose(1, 2) if transpose else counts)[:, torch.as_tensor(nodes)])
                mask = torch.ones(len(nodes), index.n, dtype=torch.bool)
                for q, (e, a) in enumerate(zip(nodes.tolist(), answer.tolist())):
                    mask[q, [x for x in known[(e, r)] if x != a]] = False
                answers.append(torch.as_tensor(answer))
                masks.append(mask)
        if not features:
            continue
        feats, answer, mask = torch.log1p(torch.cat(features, 1)), torch.cat(answers), torch.cat(masks)
        w0 = torch.tensor([min(max(rules[i].weight, 1e-3), 1 - 1e-3) for i in positions], dtype=torch.float64)
        theta = torch.log(torch.expm1(-torch.log1p(-w0))).requires_grad_(True)
        optimizer = torch.optim.Adam([theta], lr=lr)
        for _ in range(steps):
            optimizer.zero_grad()
            score = torch.einsum("k,kqe->qe", torch.nn.functional.softplus(theta), feats).masked_fill(~mask, -torch.inf)
            torch.nn.functional.cross_entropy(score, answer).backward()
            optimizer.step()
        for i, v in zip(positions, torch.nn.functional.softplus(theta).tolist()):
            weights[i] = -math.expm1(-v)
    return [weights.get(i, rule.weight) for i, rule in enumerate(rules)]


@pytest.mark.parametrize("seed", [0, 1])
def test_fit_over_active_pairs_equals_the_softmax_over_every_candidate(seed):
    facts = random_facts(seed)
    learned = learn_path_rules(facts, min_support=1, smoothing=1.0, max_rules=20, seed=seed)
    assert len(learned.rules) > 20
    fitted = fit_path_count_weights(learned.index, learned.rules, folds=3, steps=30, lr=0.1, seed=seed)
    reference = _dense_softmax_fit(learned.index, learned.rules, folds=3, steps=30, lr=0.1, seed=seed)
    assert [r.weight for r in fitted] == pytest.approx(reference, abs=2e-6)
    assert [r.weight for r in fitted] != pytest.approx([r.weight for r in learned.rules], abs=1e-3)


def test_the_fit_weighs_a_rule_whose_paths_predict_over_one_that_does_not():
    # r(x, z) holds where two p.q paths lead from x to z; one path, never; s is noise
    facts = []
    for g in range(12):
        x, b, c, z, y = (f"x{g}", f"b{g}", f"c{g}", f"z{g}", f"y{g}")
        facts += [(x, "p", b), (x, "p", c), (b, "q", z), (c, "q", z), (b, "q", y), (x, "r", z)]
        facts += [(x, "s", f"n{g}"), (x, "s", z if g % 3 == 0 else y)]
    index = GraphIndex(facts)
    rules = [PathRule("r", (("p", False), ("q", False)), 0.5), PathRule("r", (("s", False),), 0.5)]
    fitted = fit_path_count_weights(index, rules, folds=3, steps=200, lr=0.1)
    assert fitted[0].weight > 0.9 > fitted[1].weight
    # the fitted score ranks the two-path tail first for each query: the noisy-or would tie it with y
    scores = relation_scores(BodyMatrices(index), fitted, aggregation="log_count")
    ids = index.entity_id
    assert all(scores[ids[f"x{g}"], ids[f"z{g}"]] > scores[ids[f"x{g}"], ids[f"y{g}"]] for g in range(12))


def test_anchored_rules_are_refused_by_the_path_count_fit():
    rule = PathRule("p", (("q", False),), 0.5, anchor="e1", answer="e2")
    with pytest.raises(ConfigError, match="the weights of anchored rules are not fitted"):
        fit_path_count_weights(GraphIndex(toy_graph()), [rule])
