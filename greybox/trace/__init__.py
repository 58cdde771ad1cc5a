"""Decision traces: what was predicted, with which proofs, from which perceived inputs.

``DecisionTrace`` (``schema``) is the data; ``render_text``, ``render_dot`` and
``render_html`` show it; ``ExampleDescription`` is how a data module tells the
trace builder what an example's numbers stand for; ``why_not`` finds the smallest change of input facts that
would have made another answer win. Names load on first use, so
``import greybox.trace`` is cheap.

Example:
    >>> import greybox.trace as gt
    >>> gt.SCHEMA_VERSION
    '1.4'
    >>> import greybox.trace.render_html  # the module of the same name
    >>> callable(gt.render_html) and gt.render_html.__module__
    'greybox.trace.render_html'
    >>> from greybox.trace import why_not, LeafFact
    >>> why_not("b", [[LeafFact(0, "f(b)", 0.2)]], 0.5).achievable
    True
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__all__ = [
    "SCHEMA_VERSION",
    "NeuralSource",
    "ProgramSource",
    "KGSource",
    "InputSource",
    "Source",
    "ProofNode",
    "Proof",
    "Alternative",
    "Attribution",
    "PerceivedInput",
    "Passage",
    "Provenance",
    "ChainLink",
    "ProofChain",
    "ProofStep",
    "MissingPremise",
    "FactChange",
    "WhyNot",
    "DecisionTrace",
    "TraceBatch",
    "READABLE_VERSIONS",
    "json_schema",
    "write_schema",
    "validate_trace_json",
    "render_text",
    "render_dot",
    "render_html",
    "png_data_uri",
    "why_not",
    "LeafFact",
    "leaf_facts",
    "culprit_inputs",
    "ExampleDescription",
    "InputDescription",
    "DescribesExamples",
]

_HOME = {
    "render_text": "render_text",
    "render_dot": "render_dot",
    "render_html": "render_html",
    "png_data_uri": "render_html",
    "why_not": "why_not",
    "LeafFact": "why_not",
    "leaf_facts": "why_not",
    "culprit_inputs": "why_not",
    "ExampleDescription": "describe",
    "InputDescription": "describe",
    "DescribesExamples": "describe",
}


# Four functions share their name with the module that holds them (render_html in
# render_html.py, ...). Importing such a module makes Python set the package attribute to
# the module, so these names are resolved on every access rather than looked up.
_SHADOWED = frozenset({"render_text", "render_dot", "render_html", "why_not"})


def _load(name: str) -> Any:
    module = importlib.import_module(f"greybox.trace.{_HOME.get(name, 'schema')}")
    return getattr(module, name)


def __getattr__(name: str) -> Any:
    # lazy, so that `python -m greybox.trace.schema` does not import schema.py twice
    if name not in __all__:
        raise AttributeError(f"module 'greybox.trace' has no attribute {name!r}")
    return _load(name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _TraceModule(types.ModuleType):
    def __getattribute__(self, name: str) -> Any:
        if name in _SHADOWED:
            return _load(name)
        return super().__getattribute__(name)


sys.modules[__name__].__class__ = _TraceModule
