"""Countries: chain rules with and without anchored rules, AUC-PR on the dev countries.

    nice -n 10 python experiments/kg/countries_sweep.py --config experiments/kg/countries_s3.yaml
    nice -n 10 python experiments/kg/countries_sweep.py --config experiments/kg/countries_s3.yaml \\
        --length 2 --min-confidence 0.3 --test

Learns the config's chain rules once and, for each anchored-rule setting (longest anchored
body x smallest confidence of an anchored rule), prints the dev countries' AUC-PR (NTP's
protocol: the 5 regions of each country, average precision of the pooled scores) and the
rules' count; the scores are the config's (``exclusive_answers: true``: given one region per
country; ``--model.init_args.exclusive_answers false``: the noisy-or alone). ``--test`` prints the test countries' AUC-PR of the one setting given, for the
setting chosen on dev. The dev countries are the ones the graph hides as it hides the test
countries (``tasks.kg.data.hidden_countries``).
"""

from __future__ import annotations

import json
import sys


def main(argv=None) -> int:
    import torch

    from greybox.learn.exclusive import per_answer_rules
    from greybox.learn.path_mining import BodyMatrices, learn_path_rules
    from greybox.learn.ranking import auc_pr
    from tasks.kg.__main__ import _parser

    torch.set_num_threads(1)
    parser = _parser()
    parser.add_argument("--length", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--min-confidence", type=float, nargs="+", default=[0.3, 0.5, 0.7])
    parser.add_argument("--max-anchored", type=int, default=1000, help="most anchored rules kept")
    parser.add_argument("--test", action="store_true", help="the test AUC-PR of the (one) setting given")
    cfg = parser.parse_args(argv)
    init = parser.instantiate(cfg)
    kg = init.data.load()
    options = {k: v for k, v in init.model.options.items() if not k.startswith("anchored_")}
    splits = [("valid", kg.valid)] + ([("test", kg.test)] if cfg.test else [])
    for length in cfg.length:
        for confidence in cfg.min_confidence if length else [None]:
            learned = learn_path_rules(kg.facts(), entities=kg.entities, relations=kg.relations, heads=["locatedin"],
                                       anchored_length=length, anchored_min_confidence=confidence or 0.0,
                                       anchored_max_rules=cfg.max_anchored,
                                       answers=kg.candidates, **options)
            matrices = BodyMatrices(learned.index)
            rules = per_answer_rules(learned.rules, kg.candidates) if init.model.exclusive_answers else learned.rules
            scores = init.model.rule_scores(matrices, rules, kg.candidates)
            ids = learned.index.entity_id
            row = {"benchmark": kg.name, "exclusive_answers": init.model.exclusive_answers, "anchored_length": length, "anchored_min_confidence": confidence,
                   "rules": len(rules), "anchored": sum(r.anchor is not None for r in learned.rules)}
            for split, queries in splits:
                values = [float(scores[ids[h], ids[c]]) for h, _, _ in queries for c in kg.candidates]
                labels = [c == t for _, _, t in queries for c in kg.candidates]
                row[f"{split}_auc_pr"] = round(auc_pr(values, labels), 4)
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
