"""greybox: neural perception, a differentiable rule engine, and a proof for every prediction.

``import greybox`` is cheap: torch, Lightning and networkx load only when a name
that needs them is first used.

Two levels of API:

* the knowledge: ``parse_program``, ``analyze``, ``KnowledgeBase`` (rule files + a
  knowledge graph, checked, edited atomically);
* the models: ``ReasoningModule`` (an ``nn.Module`` from a program and networks) and
  ``Engine`` (the tensor evaluator underneath), trained with ``ReasoningTask``.

Example:
    >>> import greybox
    >>> prog = greybox.parse_program("parent(ann, bob). ancestor(X, Y) :- parent(X, Y).")
    >>> sorted(greybox.analyze(prog).relations)
    ['ancestor', 'parent']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # what editors and type checkers see; at run time the names load on first use
    from greybox import errors
    from greybox.engine.engine import Engine, InputFacts, Limits
    from greybox.kb import KnowledgeBase
    from greybox.lang import analyze, check_program, format_program, parse_program, parse_query
    from greybox.neural import NeuralOutput, ReasoningModule
    from greybox.semirings import get_semiring
    from greybox.trace import DecisionTrace
    from greybox.training.module import ReasoningTask

__version__ = "0.1.0"

_LAZY = {
    "parse_program": "greybox.lang",
    "parse_query": "greybox.lang",
    "format_program": "greybox.lang",
    "analyze": "greybox.lang",
    "check_program": "greybox.lang",
    "KnowledgeBase": "greybox.kb",
    "Engine": "greybox.engine.engine",
    "InputFacts": "greybox.engine.engine",
    "Limits": "greybox.engine.engine",
    "ReasoningModule": "greybox.neural",
    "NeuralOutput": "greybox.neural",
    "ReasoningTask": "greybox.training.module",
    "get_semiring": "greybox.semirings",
    "DecisionTrace": "greybox.trace",
}

__all__ = sorted(_LAZY) + ["errors", "__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name == "errors":
        return importlib.import_module("greybox.errors")
    raise AttributeError(f"module 'greybox' has no attribute {name!r}")
