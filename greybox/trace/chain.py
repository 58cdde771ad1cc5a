"""A proof read as a chain of named constants: ``Donald --father--> Michael --sister--> Dorothy``.

Kinship, paths in a graph, ancestry: many proofs compose binary relations along a path
of entities. When the example's constants have display names (``ExampleDescription``),
such a proof reads best as that path, each link with the facts it was read from.

The chain of a derivation tree (``engine.proof_tree``) is found as follows. A *link
atom* is an atom of two arguments that both have display names. The *conclusion* is
the first link atom met going down from the root (breadth first). A link atom derived
by a rule whose body's link atoms form a path from the head's first argument to its
second is replaced by those atoms, each expanded the same way: a composition
``aunt(X, Z) :- father(X, Y), sister(Y, Z)`` by its two steps, an inverse
``uncle(Y, X) :- niece(X, Y), male(X)`` by its one step walked backwards (shown
``Y <--niece-- X``: Y is X's niece). Whatever is left is a *link*: a fact, or an atom
derived by rules over no other link atom of a path (the rule that turns a network's
reading into a relation). A link's *readings* are the neural facts below it (or, when
there are none, all the facts).

Example:
    >>> from greybox.engine.proof_tree import ProofNode as Node
    >>> from greybox.trace.describe import ExampleDescription, Namer
    >>> people = ("Ann", "Bob", "Cid")
    >>> namer = Namer({"father": ("person", "person"), "grandfather": ("person", "person")},
    ...               ExampleDescription(names={"person": people}))
    >>> ab, bc = Node("father", (0, 1), "fact", 0), Node("father", (1, 2), "fact", 1)
    >>> root = Node("grandfather", (0, 2), "rule", children=(bc, ab))
    >>> chain = proof_chain(root, namer, lambda n: None)
    >>> chain.path(), chain.conclusion
    ('Ann --father--> Bob --father--> Cid', 'grandfather(Ann, Cid)')
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Optional, Sequence

from greybox.engine.proof_tree import ProofNode as TreeNode
from greybox.trace.describe import Namer
from greybox.trace.schema import ChainLink, ProgramSource, ProofChain, ProofNode, Source

__all__ = ["proof_chain"]


def _is_link(node: TreeNode, namer: Namer) -> bool:
    return (node.kind in ("rule", "fact") and len(node.args) == 2
            and all(namer.name(node.relation, i, v) is not None for i, v in enumerate(node.args)))


def _path(node: TreeNode, parts: Sequence[TreeNode]) -> Optional[list[tuple[TreeNode, bool]]]:
    """``parts`` as a path from ``node.args[0]`` to ``node.args[1]``: ``(part, reversed)`` in order, or None.

    A part is walked forwards (from its first argument to its second) or, when that
    does not fit, backwards (``reversed``).
    """
    left = list(parts)
    out: list[tuple[TreeNode, bool]] = []
    at = node.args[0]
    while left:
        step = next(((p, False) for p in left if p.args[0] == at), None) or \
            next(((p, True) for p in left if p.args[1] == at), None)
        if step is None:
            return None
        left.remove(step[0])
        out.append(step)
        at = step[0].args[0] if step[1] else step[0].args[1]
    return out if at == node.args[1] else None


def _links(node: TreeNode, namer: Namer, reverse: bool = False) -> list[tuple[TreeNode, bool]]:
    """The links of ``node`` in path order, each with whether it is walked backwards."""
    if node.kind == "rule":
        parts = [c for c in node.children if _is_link(c, namer)]
        path = _path(node, parts) if parts else None
        # a rule over one forward atom of the same pair adds nothing to show: it is the link
        if path is not None and not (len(path) == 1 and not path[0][1]):
            links = [link for part, back in path for link in _links(part, namer, back)]
            return [(n, not back) for n, back in reversed(links)] if reverse else links
    return [(node, reverse)]


def _leaves(node: TreeNode) -> list[TreeNode]:
    if node.kind == "fact":
        return [node]
    return [leaf for child in node.children for leaf in _leaves(child)]


def _rule(node: TreeNode) -> Optional[ProgramSource]:
    if node.kind != "rule" or node.clause is None:
        return None
    from greybox.lang.printer import format_statement

    span = node.clause.span
    return ProgramSource(file=span.file, line=span.line or None, text=format_statement(node.clause))


def _clamp(p: Optional[float]) -> Optional[float]:
    return None if p is None else min(1.0, max(0.0, float(p)))


def proof_chain(
    tree: TreeNode,
    namer: Namer,
    leaf: Callable[[TreeNode], Optional[ProofNode]],
) -> Optional[ProofChain]:
    """The chain of one derivation tree, or ``None`` when no atom links two named constants.

    Args:
        tree: the derivation (``engine.proof_tree.derivation_tree``).
        namer: display names of the example's constants.
        leaf: the trace node of a fact leaf (with its probability and source), or None to skip it.

    Returns:
        The chain: conclusion, its rule, and the links in path order with their readings.
    """
    queue = deque([tree])
    conclusion = None
    while queue:
        node = queue.popleft()
        if _is_link(node, namer):
            conclusion = node
            break
        queue.extend(node.children)
    if conclusion is None:
        return None
    links = []
    for node, back in _links(conclusion, namer):
        nodes = [n for n in (leaf(f) for f in _leaves(node)) if n is not None]
        neural = [n for n in nodes if _is_neural(n.source)]
        first, second = (namer.value(node.relation, i, node.args[i]) for i in (0, 1))
        links.append(ChainLink(
            start=second if back else first, relation=node.relation, end=first if back else second,
            reverse=back, atom=namer.atom(node.relation, node.args),
            probability=_clamp(node.probability), rule=_rule(node), readings=neural or nodes,
        ))
    return ProofChain(conclusion=namer.atom(conclusion.relation, conclusion.args),
                      probability=_clamp(conclusion.probability), rule=_rule(conclusion), links=links)


def _is_neural(source: Optional[Source]) -> bool:
    return source is not None and source.kind == "neural"
