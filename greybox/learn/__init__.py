"""Learning rules from data: weighted chain rules, fitted by max-mult forward chaining on graphs.

* :mod:`~greybox.learn.chain_rules`: ``r3(X, Z) :- r1(X, Y), r2(Y, Z)``: recognise, remove, write;
* :mod:`~greybox.learn.graphs`: labelled graphs with a queried pair, built from a sample's edges by a data set's reader;
* :mod:`~greybox.learn.batch`: graphs as dense tensors;
* :mod:`~greybox.learn.dense`: the background and candidate rules evaluated densely (max-mult);
* :mod:`~greybox.learn.learner`: a weight per candidate rule, fitted with Adam;
* :mod:`~greybox.learn.export`: the rules above a threshold as a ``.dl`` file and back;
* :mod:`~greybox.learn.evaluate`: precision / recall against reference rules, accuracy with the engine;
* :mod:`~greybox.learn.config`: the typed options of ``greybox learn-rules``;
* :mod:`~greybox.learn.path_rules`: path rules ``inferred_r(X, Z) :- r1(X, Y1), r2(Y2, Y1), ...`` and their files;
* :mod:`~greybox.learn.path_mining`: path rules of a knowledge graph, from the paths that occur, scored exactly;
* :mod:`~greybox.learn.ranking`: link scores through path rules, filtered ranks, MRR, Hits@k, AUC-PR;
* :mod:`~greybox.learn.exclusive`: a link's probability given exactly one candidate answer per query;
* :mod:`~greybox.learn.sections`: ``greybox learn-rules`` with a config of ``data`` and ``model`` sections.

Importing this package does not import torch; the names load on first use.

Example:
    >>> from greybox.learn import ChainRule
    >>> ChainRule("father", "father", "grandfather").text()
    'grandfather(X, Z) :- father(X, Y), father(Y, Z).'
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ChainRule": "chain_rules",
    "as_chain_rule": "chain_rules",
    "split_chain_rules": "chain_rules",
    "GraphExample": "graphs",
    "GraphReader": "graphs",
    "graph_example": "graphs",
    "count_distinct": "graphs",
    "GraphBatch": "batch",
    "encode_graphs": "batch",
    "batches_by_size": "batch",
    "ChainRuleScorer": "dense",
    "forward_chain": "dense",
    "ChainRuleWeights": "learner",
    "LearnedRules": "learner",
    "learn_chain_rules": "learner",
    "rules_above": "learner",
    "format_rule_file": "export",
    "write_rule_file": "export",
    "read_chain_rules": "export",
    "score_rules": "evaluate",
    "engine_accuracy": "evaluate",
    "derived_relations": "evaluate",
    "LearnRulesConfig": "config",
    "load_config": "config",
    "PathRule": "path_rules",
    "write_path_rule_file": "path_rules",
    "read_path_rule_file": "path_rules",
    "GraphIndex": "path_mining",
    "BodyMatrices": "path_mining",
    "learn_path_rules": "path_mining",
    "relation_scores": "ranking",
    "rank_queries": "ranking",
    "ranking_metrics": "ranking",
    "auc_pr": "ranking",
    "exclusive_scores": "exclusive",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"greybox.learn.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'greybox.learn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
