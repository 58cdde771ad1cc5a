"""Rules kept per relation x aggregation, on the dev set (and the test set beside it), rules learned once.

    nice -n 15 python experiments/kg/sweep.py --config experiments/kg/kinship.yaml

Prints one line per setting: rules per relation, aggregation, dev and test MRR / Hits@1 / Hits@10.
The configs' ``max_rules`` and ``aggregation`` are the settings with the best dev MRR.
"""

from __future__ import annotations

import sys
from collections import defaultdict


def main(argv=None) -> int:
    import torch

    from greybox.learn.path_mining import BodyMatrices, GraphIndex, learn_path_rules
    from greybox.learn.ranking import rank_queries, ranking_metrics
    from tasks.kg.__main__ import _parser

    torch.set_num_threads(1)
    parser = _parser()
    parser.add_argument("--keep", type=int, nargs="+", default=[10, 30, 100, 300, 1000])
    cfg = parser.parse_args(argv)
    init = parser.instantiate(cfg)
    kg = init.data.load()
    options = dict(init.model.options, max_rules=max(cfg.keep))
    heads = ["locatedin"] if kg.candidates else None
    learned = learn_path_rules(kg.facts(), entities=kg.entities, relations=kg.relations, heads=heads, **options)
    by_head = defaultdict(list)
    for rule in learned.rules:
        by_head[rule.head].append(rule)
    matrices = BodyMatrices(GraphIndex(kg.facts(), kg.entities, kg.relations))
    known = kg.known()
    sides = ("tail",) if kg.candidates else ("head", "tail")
    print(f"{kg.name}: {len(learned.rules)} rules learned in {learned.seconds:.1f} s", flush=True)
    for keep in cfg.keep:
        rules = [r for rs in by_head.values() for r in rs[:keep]]
        for aggregation in ("max", "noisy_or"):
            row = []
            for split, queries in (("dev", kg.valid), ("test", kg.test)):
                ranked = rank_queries(matrices, rules, queries, known, aggregation=aggregation, sides=sides,
                                      candidates=kg.candidates or None)
                m = ranking_metrics(q.rank for q in ranked)
                row.append(f"{split} mrr {m['mrr']:.3f} h1 {m['hits@1']:.3f} h10 {m['hits@10']:.3f}")
            print(f"keep {keep:>5} {aggregation:>8}  " + "  ".join(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
