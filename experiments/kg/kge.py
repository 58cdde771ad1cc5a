"""ComplEx beside the rules: embedding alone, rules alone, rules + weight * sigmoid(embedding).

    nice -n 15 python experiments/kg/kge.py --config experiments/kg/kinship.yaml

The rules are learned as the config says; the combination weight is chosen on the dev set among
0, 0.01, 0.1, 1 (0 is the rules alone). A link ranked by the combination keeps the proofs of its
rules; the embedding only reorders links (and ranks links no rule derives).

This is a sum of scores, not a program. The rules and the embedding as one program, trained
end to end (``nn(kge, ...)`` beside the rules, the score the probability of ``link(h, r, t)``):
``greybox fit --config experiments/kg/<name>_kge.yaml`` (``tasks.kg.combined``).
"""

from __future__ import annotations

import sys
import time


def main(argv=None) -> int:
    import torch

    from greybox.learn.path_mining import BodyMatrices, GraphIndex, learn_path_rules
    from greybox.learn.ranking import rank_queries, ranking_metrics, relation_scores
    from greybox.learn.rule_weights import fit_rule_weights
    from tasks.kg.__main__ import _parser
    from tasks.kg.complex import train_complex

    torch.set_num_threads(1)
    parser = _parser()
    parser.add_argument("--rank", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=100)
    cfg = parser.parse_args(argv)
    init = parser.instantiate(cfg)
    kg, model = init.data.load(), init.model
    facts = kg.facts()
    learned = learn_path_rules(facts, entities=kg.entities, relations=kg.relations, **model.options)
    rules = list(learned.rules)
    if model.learn_weights:
        rules = [r for r in fit_rule_weights(learned.index, rules, seed=model.options["seed"])
                 if r.weight >= model.options["min_confidence"]]
    started = time.monotonic()
    kge = train_complex(facts, kg.entities, kg.relations, rank=cfg.rank, epochs=cfg.epochs)
    print(f"{kg.name}: {len(rules)} rules; ComplEx rank {cfg.rank}, {cfg.epochs} epochs in "
          f"{time.monotonic() - started:.0f} s", flush=True)
    matrices = BodyMatrices(GraphIndex(facts, kg.entities, kg.relations))
    known = kg.known()
    rule_scores = {r: relation_scores(matrices, [x for x in rules if x.head == r], aggregation=model.aggregation)
                   for r in kg.relations}
    emb_scores = {r: torch.sigmoid(kge.scores(r)).double() for r in kg.relations}

    def metrics(split, queries, weight, rules_too=True):
        def scores_of(r):
            return (rule_scores[r] if rules_too else 0) + weight * emb_scores[r]
        ranked = rank_queries(matrices, rules, queries, known, scores_of=scores_of)
        return ranking_metrics(q.rank for q in ranked)

    emb_dev, emb_test = metrics("dev", kg.valid, 1.0, False), metrics("test", kg.test, 1.0, False)
    best = max((0.0, 0.01, 0.1, 1.0), key=lambda w: metrics("dev", kg.valid, w)["mrr"])
    rows = {"ComplEx alone": (emb_dev, emb_test), "rules alone": (metrics("dev", kg.valid, 0.0), metrics("test", kg.test, 0.0)),
            f"rules + {best} * ComplEx": (metrics("dev", kg.valid, best), metrics("test", kg.test, best))}
    for name, (dev, test) in rows.items():
        print(f"{name:>24}: dev mrr {dev['mrr']:.3f}  test mrr {test['mrr']:.3f} h1 {test['hits@1']:.3f} "
              f"h3 {test['hits@3']:.3f} h10 {test['hits@10']:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
