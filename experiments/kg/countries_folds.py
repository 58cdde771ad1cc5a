"""Countries: more dev countries, hidden as NTP's generator hides the test countries, AUC-PR per fold.

    nice -n 10 python experiments/kg/countries_folds.py --config experiments/kg/countries_s3.yaml --folds 5
    nice -n 10 python experiments/kg/countries_folds.py --config experiments/kg/countries_s3.yaml --folds 5 \\
        --model.init_args.exclusive_answers false --model.init_args.anchored_min_confidence 0.3

The 24 dev countries of a graph give a coarse measure (a setting at AUC-PR 1.0 says nothing
more). Each fold draws ``--countries`` other countries that the graph still locates (never a
test or dev country), each keeping a neighbour that is not hidden (as the benchmark's split
was drawn), and hides them as the generator hides the test countries: their region
(S1), every ``locatedIn`` fact of theirs (S2), and besides the region of each of their
neighbours (S3, who keep their subregion). The config's rules are learned from that smaller
graph and the drawn countries are scored against the 5 regions (the config's scores: noisy-or,
or ``exclusive_answers``). Prints one JSON line per fold (``auc_pr`` of the drawn countries)
and the mean; the test countries are never scored.
"""

from __future__ import annotations

import json
import sys


def main(argv=None) -> int:
    import dataclasses
    from pathlib import Path

    import numpy as np
    import torch

    from greybox.learn.path_mining import BodyMatrices, GraphIndex
    from greybox.learn.ranking import auc_pr
    from tasks.kg.__main__ import _parser
    from tasks.kg.data import Triple, _regions
    from tasks.kg.model import learn

    torch.set_num_threads(1)
    parser = _parser()
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--countries", type=int, default=24, help="countries hidden per fold")
    parser.add_argument("--seed", type=int, default=0)
    cfg = parser.parse_args(argv)
    init = parser.instantiate(cfg)
    kg = init.data.load()
    task = init.data.task
    region_of = _regions(Path(init.data.data_dir) / "countries.nl", set(kg.candidates))
    facts = kg.facts()
    located = {h for h, r, _ in facts if r == "locatedin" and h in region_of}
    held = {q.head for q in kg.valid} | {q.head for q in kg.test}
    pool = sorted(c for c in located if c not in held and (task > 1 or (c, "locatedin", region_of[c]) in facts))
    neighbours: dict[str, set[str]] = {}
    for h, r, t in facts:
        if r == "neighborof":
            neighbours.setdefault(h, set()).add(t)
            neighbours.setdefault(t, set()).add(h)
    rng = np.random.default_rng(cfg.seed)
    results = []
    for fold in range(cfg.folds):
        # as the benchmark's split: every hidden country keeps a neighbour in the graph that is not hidden
        drawn: list[str] = []
        for c in rng.permutation(pool).tolist():
            others = held | set(drawn) | {c}
            if len(drawn) < cfg.countries and all(neighbours.get(x, set()) - others for x in [*drawn, c]):
                drawn.append(c)
        drawn.sort()
        hidden = set(drawn)
        around = {n for c in drawn for n in neighbours.get(c, ())} if task == 3 else set()
        regions = set(kg.candidates)

        def kept(f):
            h, r, t = f
            if r != "locatedin":
                return True
            if h in hidden and (task > 1 or t == region_of[h]):
                return False
            return not (h in around and t in regions)

        graph = type(kg.graph)()
        for h, r, t in filter(kept, facts):
            graph.add_edge(h, t, key=r)
        queries = tuple(Triple(c, "locatedin", region_of[c]) for c in drawn)
        smaller = dataclasses.replace(kg, graph=graph, train=tuple(Triple(*f) for f in facts if kept(f)),
                                      valid=queries, test=())
        rules, _ = learn(smaller, init.model)
        matrices = BodyMatrices(GraphIndex(smaller.facts(), kg.entities, kg.relations))
        scores = init.model.rule_scores(matrices, [r for r in rules if r.head == "locatedin"], kg.candidates)
        ids = matrices.index.entity_id
        values = [float(scores[ids[q.head], ids[c]]) for q in queries for c in kg.candidates]
        labels = [c == q.tail for q in queries for c in kg.candidates]
        results.append(auc_pr(values, labels))
        print(json.dumps({"benchmark": kg.name, "fold": fold, "rules": len(rules), "auc_pr": round(results[-1], 4)}),
              flush=True)
    print(json.dumps({"benchmark": kg.name, "folds": cfg.folds, "countries": cfg.countries,
                      "exclusive_answers": init.model.exclusive_answers,
                      "anchored_length": init.model.options["anchored_length"],
                      "anchored_min_confidence": init.model.options["anchored_min_confidence"],
                      "mean_auc_pr": round(float(np.mean(results)), 4)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
