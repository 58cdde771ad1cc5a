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

from tasks.kg.completion import PathRuleCompletion
from tasks.kg.data import KGBenchmark
from tasks.kg.datamodule import KGData

__all__ = ["KGData", "PathRuleCompletion", "learn", "run", "write_facts", "check_export", "scoring_header"]


def scoring_header(aggregation: str) -> list[str]:
    """The lines of a rule file's header that say how its rules make a link's score.

    >>> scoring_header("max")
    []
    >>> print(scoring_header("log_count")[0])
    score:    a link r(x, z) is ranked by sum over the rules k of r of v_k * log(1 + n_k(x, z)),
    """
    if aggregation != "log_count":
        return []
    return ["score:    a link r(x, z) is ranked by sum over the rules k of r of v_k * log(1 + n_k(x, z)),",
            "          v_k = -log(1 - w_k) from the rule's weight w_k :: here, n_k(x, z) the number of paths of rule k's",
            "          body from x to z (its groundings: the add-mult value of inferred_r(x, z) on this file is",
            "          sum_k w_k * n_k(x, z); greybox query ... --proofs shows them as sets of facts). The file's",
            "          probability (noisy-or of the rules that fire, 1 - exp(-sum v_k)) is that score with every",
            "          n_k counted as 1; the ranking counts the paths (greybox.learn.ranking, log_count)."]


def write_facts(path: str | Path, kg: KGBenchmark) -> None:
    """Write the graph as a knowledge-graph file ``head, relation, tail`` that ``greybox kb`` reads."""
    from greybox.kb.atomic import atomic_write_text

    rows = ["head\trelation\ttail"] + [f"{h}\t{r}\t{t}" for h, r, t in kg.facts()]
    atomic_write_text(Path(path), "\n".join(rows) + "\n")


def check_export(rules_file: str, facts_file: str) -> None:
    """Check the rule file with the facts as ``greybox kb check RULES FACTS`` does; raise the problems."""
    from greybox.errors import ProblemList
    from greybox.kb.knowledge_base import KnowledgeBase

    problems = KnowledgeBase.load([rules_file, facts_file], strict=False).check()
    if problems:
        raise problems[0] if len(problems) == 1 else ProblemList(problems)


def learn(kg: KGBenchmark, model: PathRuleCompletion, *, log=None, quick: bool = False):
    """The rules of every relation of ``kg`` as ``model`` says: mined, then (``learn_weights``) fitted.

    Args:
        kg: the benchmark (its graph).
        model: the options (``max_rules: 0``: no rules).
        log: called with a line of progress.
        quick: a smoke run (``fast_dev_run``): few samples and candidates, no weight fit.

    Returns:
        ``(rules, stats)``: the kept rules, in relation order; ``stats`` has ``candidates``,
        ``seconds`` (mining) and ``weights_seconds``.
    """
    from greybox.learn.path_mining import learn_path_rules

    say = log or (lambda line: None)
    stats = {"candidates": 0, "seconds": 0.0, "weights_seconds": 0.0}
    if model.options["max_rules"] == 0:
        return [], stats
    options = dict(model.options)
    if quick:
        options.update(samples=min(options["samples"], 10), walks=min(options["walks"], 50),
                       max_candidates=min(options["max_candidates"], 20))
    heads = ["locatedin"] if kg.candidates else None
    # anchored rules conclude one of the benchmark's candidate answers (Countries: the regions)
    answers = list(kg.candidates) if kg.candidates else None
    learned = learn_path_rules(kg.facts(), entities=kg.entities, relations=kg.relations, heads=heads,
                               answers=answers, **options)
    say(f"learned {len(learned.rules)} rules from {learned.candidates} candidates in {learned.seconds:.1f} s")
    stats.update(candidates=learned.candidates, seconds=learned.seconds)
    kept = list(learned.rules)
    if model.learn_weights and not quick:
        from greybox.learn.rule_weights import fit_path_count_weights, fit_rule_weights

        started = time.monotonic()
        fit = fit_path_count_weights if model.aggregation == "log_count" else fit_rule_weights
        fitted = fit(learned.index, kept, seed=model.options["seed"], device=model.matrix_device)
        order = {r: i for i, r in enumerate(learned.index.relations)}
        kept = sorted((r for r in fitted if r.weight >= model.options["min_confidence"]),
                      key=lambda r: (r.backoff, order[r.head], -r.weight, -r.support, len(r.body), r.body))
        stats["weights_seconds"] = time.monotonic() - started
        main = sum(not r.backoff for r in fitted)
        backoff = f", and {len(fitted) - main} back-off rules" if main < len(fitted) else ""
        say(f"fitted the weights of {main} rules in {stats['weights_seconds']:.1f} s; "
            f"{sum(not r.backoff for r in kept)} kept{backoff}")
    if model.exclusive_answers and answers:
        from greybox.learn.exclusive import per_answer_rules

        # one choice per (rule, answer): the answers' evidence is independent (greybox.learn.exclusive)
        kept = per_answer_rules(kept, answers)
        say(f"{len(kept)} rules: each chain rule once per answer")
    return kept, stats


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
    from greybox.learn.path_mining import BodyMatrices, GraphIndex
    from greybox.learn.path_rules import write_path_rule_file
    from greybox.learn.ranking import rank_queries, ranking_metrics

    say = log or (lambda line: None)
    kg = data.load()
    say(f"{kg.name}: {len(kg.entities)} entities, {len(kg.relations)} relations, {kg.graph.number_of_edges()} facts, "
        f"{len(kg.test)} test queries")
    if model.embedding is not None:
        from greybox.errors import ConfigError

        raise ConfigError("an embedding is trained by greybox fit, not by this command",
                          hint="greybox fit --config CONFIG, then greybox test --config CONFIG --ckpt_path CKPT")
    kept, stats = learn(kg, model, log=say)
    weights_seconds = stats["weights_seconds"]
    learned_seconds, candidates = stats["seconds"], stats["candidates"]
    facts_file = str(Path(output).with_suffix("")) + ".facts.tsv"
    header = [
        "Path rules learned from a knowledge graph (greybox.learn.path_mining).",
        "",
        f"command:  {command}",
        f"graph:    {', '.join(kg.files['graph'])}: {kg.graph.number_of_edges()} facts, written to {facts_file}",
        f"learner:  {model.options}",
        *([("weights:  fitted to a softmax of the path-count scores of held-out facts" if model.aggregation == "log_count"
            else "weights:  fitted to the noisy-or probability of held-out facts") + " (greybox.learn.rule_weights);",
           "          the comment's support S of B is the rule's count on the graph"] if model.learn_weights else []),
        *scoring_header(model.aggregation),
        *(["back-off: the rules of backoff_r (the most confident candidates, weight = confidence, not fitted)",
           "          order the links that the inferred_r rules score equally, by their best proof (max-mult):",
           f"          greybox query {output} {facts_file} \"?- backoff_REL(HEAD, X).\" --semiring max-mult"]
          if model.options["backoff_rules"] else []),
        "weight:   support / (B + smoothing), from the comment '% support S of B' above each rule:"
        + " S of the B pairs the body connects on the graph are facts of the head",
        *(["exclusive answers: each chain rule is written once per candidate answer (its support is the chain",
           "          rule's); a link is ranked by its probability given exactly one candidate holds",
           "          (greybox.learn.exclusive: add exclusive_program(r, candidates) and query only_r)"]
          if model.exclusive_answers and kg.candidates else []),
        "A rule concludes inferred_r, applied once to the known facts r. Check and query with:",
        f"    greybox kb check {output} {facts_file}",
        f"    greybox query {output} {facts_file} \"?- inferred_REL(HEAD, X).\" --proofs",
    ]
    rules = write_path_rule_file(output, kept, header)
    write_facts(facts_file, kg)
    started = time.monotonic()
    check_export(output, facts_file)
    say(f"wrote {output} and {facts_file}; greybox kb check passed in {time.monotonic() - started:.1f} s")

    matrices = BodyMatrices(GraphIndex(kg.facts(), kg.entities, kg.relations), device=model.matrix_device)
    report: dict = {"benchmark": kg.name, "rules": len(rules), "candidates": candidates,
                    "learn_seconds": round(learned_seconds + weights_seconds, 2), "aggregation": model.aggregation,
                    "rules_file": output, "facts_file": facts_file}
    started = time.monotonic()
    known = kg.known()
    scores = _Scores(model, matrices, rules, kg.candidates or None)
    for split, queries in (("valid", kg.valid), ("test", kg.test)):
        if not queries:
            continue
        sides = ("tail",) if kg.candidates else ("head", "tail")
        ranked = rank_queries(matrices, rules, queries, known, sides=sides, candidates=kg.candidates or None,
                              scores_of=scores)
        report.update({f"{split}_{k}": v for k, v in ranking_metrics(q.rank for q in ranked).items()})
        if kg.candidates:
            report[f"{split}_auc_pr"] = _countries_auc(scores, queries, kg)
    report["rank_seconds"] = round(time.monotonic() - started, 2)
    return report


class _Scores:
    """``relation -> (E, E)`` scores of the rules (``PathRuleCompletion.rule_scores``); the last one is kept."""

    def __init__(self, model: PathRuleCompletion, matrices, rules, candidates) -> None:
        self.model, self.matrices, self.rules, self.candidates = model, matrices, rules, candidates
        self.last: tuple = (None, None)

    def __call__(self, relation: str):
        if self.last[0] != relation:
            own = [r for r in self.rules if r.head == relation]
            self.last = (relation, self.model.rule_scores(self.matrices, own, self.candidates).cpu())
        return self.last[1]


def _countries_auc(scores: _Scores, queries, kg: KGBenchmark) -> float:
    """NTP's protocol: every test country scored against every region; AUC-PR of the pooled scores."""
    from greybox.learn.ranking import auc_pr

    ids = scores.matrices.index.entity_id
    values, labels = [], []
    for h, r, t in queries:
        for region in kg.candidates:
            values.append(float(scores(r)[ids[h], ids[region]]))
            labels.append(region == t)
    return auc_pr(values, labels)
