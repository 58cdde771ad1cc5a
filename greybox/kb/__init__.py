"""The knowledge base: rule files, knowledge-graph files, checks and safe edits.

* ``KnowledgeBase.load(paths)`` reads ``.dl`` rule files and ``.tsv``/``.csv``/``.jsonl``
  knowledge-graph files into one program, a ``networkx.MultiDiGraph`` and an ``Origin``
  per statement; ``check()`` lists every problem.
* ``add_rule``, ``remove_rule``, ``list_rules`` edit a rule file; an edit is checked
  against the whole program first and written atomically (``atomic_write_text``).

Example:
    >>> from greybox.kb import KnowledgeBase, add_rule, atomic_write_text
    >>> KnowledgeBase.__name__
    'KnowledgeBase'
"""

import importlib

# loaded on first use, so that `greybox --help` does not import networkx
_EXPORTS = {
    "KnowledgeBase": "knowledge_base",
    "Origin": "knowledge_base",
    "KGRow": "kg_files",
    "read_kg_file": "kg_files",
    "sanitize_relation": "kg_files",
    "add_rule": "edit",
    "remove_rule": "edit",
    "list_rules": "edit",
    "merge_rules": "merge",
    "EditResult": "edit",
    "ListedStatement": "edit",
    "atomic_write_text": "atomic",
    "atomic_write_bytes": "atomic",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"greybox.kb.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'greybox.kb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
