"""Learning rules from data: weighted chain rules, fitted by max-mult forward chaining on graphs.

* :mod:`~greybox.learn.chain_rules`: ``r3(X, Z) :- r1(X, Y), r2(Y, Z)``: recognise, remove, write;
* :mod:`~greybox.learn.graphs`: labelled graphs with a queried pair, read from CLUTRR-style csv;
* :mod:`~greybox.learn.batch`: graphs as dense tensors;
* :mod:`~greybox.learn.dense`: the background and candidate rules evaluated densely (max-mult);
* :mod:`~greybox.learn.learner`: a weight per candidate rule, fitted with Adam;
* :mod:`~greybox.learn.export`: the rules above a threshold as a ``.dl`` file and back;
* :mod:`~greybox.learn.evaluate`: precision / recall against reference rules, accuracy with the engine;
* :mod:`~greybox.learn.config`: the typed options of ``greybox learn-rules``.

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
    "read_graph_csv": "graphs",
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
    "read_rule_file": "export",
    "score_rules": "evaluate",
    "engine_accuracy": "evaluate",
    "derived_relations": "evaluate",
    "LearnRulesConfig": "config",
    "load_config": "config",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"greybox.learn.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'greybox.learn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
