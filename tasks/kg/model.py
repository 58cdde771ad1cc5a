"""Knowledge-graph completion with learned path rules: learn, export, check, rank.

The two sections of a config (``experiments/kg/*.yaml``) are the constructors of
:class:`KGData` (which folder, which layout) and :class:`PathRuleCompletion` (how rules are
learned and how their weights make a score); :func:`run` does the rest:

1. learn the path rules of every relation from the graph (``greybox.learn.path_mining``);
2. write them to a ``.dl`` file and the graph to a ``.tsv`` file beside it, and check the
   two as ``greybox kb check RULES FACTS`` does;
3. read the rules back from the file and rank every test (and dev) query with them
   (``greybox.learn.ranking``): MRR and Hits@1,3,10, filtered, ties at their mean rank;
   for Countries, the area under the precision-recall curve of the regions of each test country.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> rows = ["a\\tparent\\tb", "b\\tparent\\tc", "a\\tgrandparent\\tc", "d\\tparent\\te", "e\\tparent\\tf",
    ...         "d\\tgrandparent\\tf", "g\\tparent\\th", "h\\tparent\\ti"]
    >>> _ = (d / "train.tsv").write_text("\\n".join(rows) + "\\n")
    >>> _ = (d / "dev.tsv").write_text("")
    >>> _ = (d / "test.tsv").write_text("g\\tgrandparent\\ti\\n")
    >>> report = run(KGData(str(d)), PathRuleCompletion(min_support=2, smoothing=0.0), str(d / "rules.dl"))
    >>> report["test_mrr"], report["rules"]
    (1.0, 3)
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Literal

from tasks.kg.data import KGBenchmark, read_benchmark

__all__ = ["KGData", "PathRuleCompletion", "run", "write_facts"]


class KGData:
    """Which benchmark: a folder and its layout (see :mod:`tasks.kg.data`).

    Args:
        data_dir: the folder.
        layout: ``ntp`` (Kinship, UMLS, Nations), ``neural_lp`` (Family) or ``countries``.
        task: for Countries, the task 1, 2 or 3.
    """

    def __init__(self, data_dir: str, layout: Literal["ntp", "neural_lp", "countries"] = "ntp", task: int = 1) -> None:
        self.data_dir = data_dir
        self.layout = layout
        self.task = task

    def load(self) -> KGBenchmark:
        """Read the benchmark."""
        return read_benchmark(self.data_dir, layout=self.layout, task=self.task)


class PathRuleCompletion:
    """Path rules learned from the graph, and how their weights make a link's score.

    Args:
        max_length: longest rule body (1 to 3 steps).
        samples: facts drawn per relation to find candidate bodies.
        walks: three-step paths drawn per fact.
        cap: steps joined out of each end of a drawn fact for two-step paths.
        max_candidates: candidate bodies scored per relation.
        min_support: fewest training facts a kept rule must derive.
        min_confidence: smallest confidence (weight) of a kept rule.
        smoothing: added to a body's size in its confidence.
        max_rules: most rules kept per relation.
        aggregation: ``max`` (the best proof, the max-mult semiring) or ``noisy_or`` (the
            exact probability of the link).
        learn_weights: fit the kept rules' weights to the noisy-or probability of held-out facts
            (``greybox.learn.rule_weights``), starting from their confidences.
        seed: the random draws' seed.
        device: where the matrices live (``cpu``, ``cuda``).
    """

    def __init__(self, max_length: int = 3, samples: int = 200, walks: int = 2000, cap: int = 400,
                 max_candidates: int = 2000, min_support: int = 2, min_confidence: float = 0.01,
                 smoothing: float = 5.0, max_rules: int = 1000,
                 aggregation: Literal["max", "noisy_or"] = "max", learn_weights: bool = False, seed: int = 0,
                 device: str = "cpu") -> None:
        self.options = dict(max_length=max_length, samples=samples, walks=walks, cap=cap,
                            max_candidates=max_candidates, min_support=min_support, min_confidence=min_confidence,
                            smoothing=smoothing, max_rules=max_rules, seed=seed, device=device)
        self.aggregation = aggregation
        self.learn_weights = learn_weights
        self.device = device

    def learn_rules(self, data: KGData, output: str, *, command: str = "", log=None) -> dict:
        """Learn, export, check and rank (:func:`run`): what ``greybox learn-rules`` calls."""
        return run(data, self, output, command=command, log=log)


def write_facts(path: str | Path, kg: KGBenchmark) -> None:
    """Write the graph as a knowledge-graph file ``head, relation, tail`` that ``greybox kb`` reads."""
    from greybox.kb.atomic import atomic_write_text

    rows = ["head\trelation\ttail"] + [f"{h}\t{r}\t{t}" for h, r, t in kg.facts()]
    atomic_write_text(Path(path), "\n".join(rows) + "\n")


def _check(rules_file: str, facts_file: str) -> None:
    from greybox.errors import ProblemList
    from greybox.kb.knowledge_base import KnowledgeBase

    problems = KnowledgeBase.load([rules_file, facts_file], strict=False).check()
    if problems:
        raise problems[0] if len(problems) == 1 else ProblemList(problems)


def run(data: KGData, model: PathRuleCompletion, output: str, *, command: str = "", log=None) -> dict:
    """Learn, export, check and evaluate; return the report (JSON-ready).

    Args:
        data: the benchmark.
        model: the rule learner and the aggregation.
        output: the ``.dl`` file of the rules; the graph goes to ``OUTPUT`` with ``.facts.tsv``.
        command: the command line, for the file's header.
        log: called with a line of progress (``None``: silent).

    Raises:
        GreyboxError: bad input, or the exported file does not pass ``greybox kb check``.
    """
    from greybox.learn.path_mining import BodyMatrices, GraphIndex, learn_path_rules
    from greybox.learn.path_rules import write_path_rule_file
    from greybox.learn.ranking import rank_queries, ranking_metrics

    say = log or (lambda line: None)
    kg = data.load()
    say(f"{kg.name}: {len(kg.entities)} entities, {len(kg.relations)} relations, {kg.graph.number_of_edges()} facts, "
        f"{len(kg.test)} test queries")
    heads = ["locatedin"] if kg.candidates else None
    learned = learn_path_rules(kg.facts(), entities=kg.entities, relations=kg.relations, heads=heads, **model.options)
    say(f"learned {len(learned.rules)} rules from {learned.candidates} candidates in {learned.seconds:.1f} s")
    kept = list(learned.rules)
    weights_seconds = 0.0
    if model.learn_weights:
        from greybox.learn.rule_weights import fit_rule_weights

        started = time.monotonic()
        fitted = fit_rule_weights(learned.index, kept, seed=model.options["seed"],
                                  device=model.device)
        order = {r: i for i, r in enumerate(learned.index.relations)}
        kept = sorted((r for r in fitted if r.weight >= model.options["min_confidence"]),
                      key=lambda r: (order[r.head], -r.weight, -r.support, len(r.body), r.body))
        weights_seconds = time.monotonic() - started
        say(f"fitted the weights of {len(fitted)} rules in {weights_seconds:.1f} s; {len(kept)} kept")
    facts_file = str(Path(output).with_suffix("")) + ".facts.tsv"
    header = [
        "Path rules learned from a knowledge graph (greybox.learn.path_mining).",
        "",
        f"command:  {command}",
        f"graph:    {', '.join(kg.files['graph'])}: {kg.graph.number_of_edges()} facts, written to {facts_file}",
        f"learner:  {model.options}",
        *(["weights:  fitted to the noisy-or probability of held-out facts (greybox.learn.rule_weights);",
           "          the comment's support S of B is the rule's count on the graph"] if model.learn_weights else []),
        "weight:   support / (B + smoothing), from the comment '% support S of B' above each rule:"
        + " S of the B pairs the body connects on the graph are facts of the head",
        "A rule concludes inferred_r, applied once to the known facts r. Check and query with:",
        f"    greybox kb check {output} {facts_file}",
        f"    greybox query {output} {facts_file} \"?- inferred_REL(HEAD, X).\" --proofs",
    ]
    rules = write_path_rule_file(output, kept, header)
    write_facts(facts_file, kg)
    started = time.monotonic()
    _check(output, facts_file)
    say(f"wrote {output} and {facts_file}; greybox kb check passed in {time.monotonic() - started:.1f} s")

    matrices = BodyMatrices(GraphIndex(kg.facts(), kg.entities, kg.relations), device=model.device)
    report: dict = {"benchmark": kg.name, "rules": len(rules), "candidates": learned.candidates,
                    "learn_seconds": round(learned.seconds + weights_seconds, 2), "aggregation": model.aggregation,
                    "rules_file": output, "facts_file": facts_file}
    started = time.monotonic()
    known = kg.known()
    for split, queries in (("valid", kg.valid), ("test", kg.test)):
        if not queries:
            continue
        if kg.candidates:
            ranked = rank_queries(matrices, rules, queries, known, aggregation=model.aggregation, sides=("tail",),
                                  candidates=kg.candidates)
            report.update({f"{split}_{k}": v for k, v in ranking_metrics(q.rank for q in ranked).items()})
            report[f"{split}_auc_pr"] = _countries_auc(matrices, rules, queries, kg, model.aggregation)
        else:
            ranked = rank_queries(matrices, rules, queries, known, aggregation=model.aggregation)
            report.update({f"{split}_{k}": v for k, v in ranking_metrics(q.rank for q in ranked).items()})
    report["rank_seconds"] = round(time.monotonic() - started, 2)
    return report


def _countries_auc(matrices, rules, queries, kg: KGBenchmark, aggregation: str) -> float:
    """NTP's protocol: every test country scored against every region; AUC-PR of the pooled scores."""
    from greybox.learn.ranking import auc_pr, relation_scores

    ids = matrices.index.entity_id
    scores = relation_scores(matrices, [r for r in rules if r.head == "locatedin"], aggregation=aggregation).cpu()
    values, labels = [], []
    for h, _, t in queries:
        for region in kg.candidates:
            values.append(float(scores[ids[h], ids[region]]))
            labels.append(region == t)
    return auc_pr(values, labels)
