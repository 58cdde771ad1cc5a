"""Answering questions over a knowledge base: what ``greybox query`` runs.

* ``sources``: reading the files, with ``evidence(...)`` statements and ``?-`` queries;
* ``directed``: evaluating only what a question needs (slicing, magic sets), within limits;
* ``session``: ``QuerySession``, answers in a chosen semiring, whole relations, evidence;
* ``conditioning``: exact inference over proofs under constraints (conditional
  probabilities, the most probable world);
* ``mpe``: the most probable explanation of the evidence;
* ``proofs``: proofs as data for the output.

Importing this package imports none of them (nor torch).
"""

from __future__ import annotations

__all__ = ["QuerySession", "Evidence", "QueryLimits", "load_sources", "most_probable_explanation"]

_HOMES = {
    "QuerySession": "session",
    "Evidence": "sources",
    "load_sources": "sources",
    "QueryLimits": "directed",
    "most_probable_explanation": "mpe",
}


def __getattr__(name: str):
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'greybox.query' has no attribute {name!r}")
