"""Rank a benchmark's dev and test queries with a learned rule file, apart from learning.

    nice -n 10 /usr/bin/time -v python experiments/kg/rank.py --config experiments/kg/family.yaml --rules family.dl

Reads the benchmark of the config and the rules of ``--rules`` (the file ``python -m
tasks.kg`` wrote), ranks both ends of every dev and test triple (filtered, ties at their mean
rank) with the config's aggregation, and prints the figures and the seconds ranking took as
JSON. Run alone, its peak memory is that of evaluation only.
"""

from __future__ import annotations

import json
import sys
import time


def main(argv=None) -> int:
    import torch

    from greybox.learn.path_mining import BodyMatrices, GraphIndex
    from greybox.learn.path_rules import read_path_rule_file
    from greybox.learn.ranking import rank_queries, ranking_metrics
    from tasks.kg.__main__ import _parser

    torch.set_num_threads(1)
    parser = _parser()
    parser.add_argument("--rules", required=True, help="the .dl file of learned rules")
    cfg = parser.parse_args(argv)
    init = parser.instantiate(cfg)
    started = time.monotonic()
    kg = init.data.load()
    rules = read_path_rule_file(cfg.rules)
    matrices = BodyMatrices(GraphIndex(kg.facts(), kg.entities, kg.relations), device=init.model.device)
    known = kg.known()
    report = {"benchmark": kg.name, "rules": len(rules), "load_seconds": round(time.monotonic() - started, 2)}
    sides = ("tail",) if kg.candidates else ("head", "tail")
    for split, queries in (("valid", kg.valid), ("test", kg.test)):
        started = time.monotonic()
        ranked = rank_queries(matrices, rules, queries, known, sides=sides, candidates=kg.candidates or None,
                              scores_of=lambda r: init.model.rule_scores(matrices, [x for x in rules if x.head == r],
                                                                         kg.candidates or None))
        report.update({f"{split}_{k}": v for k, v in ranking_metrics(q.rank for q in ranked).items()})
        report[f"{split}_ranked"] = len(ranked)
        report[f"{split}_seconds"] = round(time.monotonic() - started, 2)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
