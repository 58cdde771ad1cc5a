"""Derivation trees: how a proof (a set of fact literals) derives a goal, rule by rule.

A proof from the ``proofs`` or ``top-k`` semiring names only input facts. To show
*how* they derive the goal, ``derivation_tree`` evaluates the program once more in
the world where exactly the proof's positive facts hold (its negative literals and
every other fact are false), keeping for each tuple the first derivation found
with the fewest steps. ``format_tree`` draws it as text.

Example:
    >>> from greybox.lang.parser import parse_program
    >>> from greybox.lang.analysis import analyze
    >>> from greybox.engine.reference import all_facts
    >>> info = analyze(parse_program('''
    ...     0.9 :: father(ann, bob).
    ...     0.7 :: father(bob, cid).
    ...     grandfather(X, Z) :- father(X, Y), father(Y, Z).
    ... ''', file="kin.dl"))
    >>> facts = all_facts(info)
    >>> tree = derivation_tree(info, facts, "grandfather", ("ann", "cid"), frozenset({(0, True), (1, True)}))
    >>> print(format_tree(tree, facts))
    grandfather(ann, cid)   p=0.63   rule kin.dl:4
    ├── father(ann, bob)    p=0.9    fact kin.dl:2
    └── father(bob, cid)    p=0.7    fact kin.dl:3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import GreyboxError
from ..lang.ast import Aggregate, Assign, Atom, Clause, Comparison, Const
from ..lang.printer import format_constant
from .reference import evaluate
from ..semirings.scalar import ScalarSemiring
from ..semirings.wmc import FactWeights, proof_probability

__all__ = ["ProofNode", "derivation_tree", "format_tree", "DerivationSemiring"]


@dataclass(frozen=True)
class ProofNode:
    """One step of a derivation.

    Attributes:
        relation: the relation of the tuple; for a ``builtin`` the operator
            (``<``, ``is``, ...); for an ``aggregate`` its operation (``count``, ...);
            ``""`` for the weight of a rule.
        args: the tuple's values (a builtin's operand values, an aggregate's result).
        kind: ``'fact'``, ``'rule'``, ``'negation'``, ``'builtin'`` or ``'aggregate'``.
        fact_id: the input fact of a ``fact`` leaf (or the fact a ``negation`` takes as false).
        clause: the rule of a ``rule`` node; its span gives file and line.
        probability: the probability of the facts this subtree uses (``None`` if unknown).
        children: the sub-derivations of the body, in the order they were joined.
    """

    relation: str
    args: tuple
    kind: str
    fact_id: int | None = None
    clause: Clause | None = None
    probability: float | None = None
    children: tuple["ProofNode", ...] = ()


class DerivationSemiring(ScalarSemiring):
    """Tags are ``(steps, nodes)``: a partial derivation; ``add`` keeps the one with fewer steps.

    Only the facts in ``allowed`` hold. The reference evaluator calls the hooks
    ``rule``, ``absent``, ``builtin`` and ``aggregate`` (``records_derivations``)
    so that each derived tuple's tag is its whole derivation tree.
    """

    name = "derivation"
    records_derivations = True

    def __init__(self, allowed: frozenset[int], negative: frozenset[int] = frozenset(), facts: Sequence = ()) -> None:
        self.allowed = allowed
        self.negative = negative
        self.facts = list(facts)
        self.weights = FactWeights.from_facts(self.facts) if self.facts else None

    def bind(self, facts: Sequence) -> "DerivationSemiring":
        return DerivationSemiring(self.allowed, self.negative, facts)

    def zero(self) -> Any:
        return None

    def one(self) -> Any:
        return (0, ())

    def is_zero(self, tag: Any) -> bool:
        return tag is None

    def add(self, a: Any, b: Any) -> Any:
        if a is None:
            return b
        if b is None:
            return a
        return b if b[0] < a[0] else a  # ties: the first found

    def mul(self, a: Any, b: Any) -> Any:
        if a is None or b is None:
            return None
        return (a[0] + b[0], a[1] + b[1])

    def negate(self, a: Any) -> Any:
        return self.one() if a is None else None

    def changed(self, old: Any, new: Any) -> bool:
        return old is not new and (old is None or new is None or new[0] != old[0])

    def probability(self, tag: Any, facts: Sequence | None = None) -> float:
        return 0.0 if tag is None else 1.0

    def _prob(self, literals: set) -> float | None:
        if self.weights is None:
            return None
        return proof_probability(literals, self.weights)

    def from_fact(self, fact: Any) -> Any:
        if fact.id not in self.allowed:
            return None
        node = ProofNode(fact.relation or "", tuple(fact.args), "fact", fact.id, fact.clause,
                         1.0 if fact.probability is None else float(fact.probability))
        return (1, (node,))

    # -- hooks called by the reference evaluator
    def rule(self, clause: Clause, head: tuple, tag: Any) -> Any:
        steps, children = tag
        prob = self._prob(_literals(children))
        return (steps + 1, (ProofNode(clause.head.predicate, head, "rule", None, clause, prob, children),))

    def absent(self, atom: Atom, args: tuple) -> Any:
        fact_id, prob = None, None
        for f in self.facts:
            if f.relation == atom.predicate and tuple(f.args) == args and f.id in self.negative:
                fact_id = f.id
                prob = 1.0 - (1.0 if f.probability is None else float(f.probability))
                break
        return (0, (ProofNode(atom.predicate, args, "negation", fact_id, None, prob),))

    def builtin(self, lit: Comparison | Assign, values: tuple) -> Any:
        op = "is" if isinstance(lit, Assign) else lit.op
        return (0, (ProofNode(op, tuple(values), "builtin", None, None, 1.0),))

    def aggregate(self, lit: Aggregate, value: Any, tag: Any) -> Any:
        if tag is None:
            return None
        steps, children = tag
        prob = self._prob(_literals(children))
        return (steps, (ProofNode(lit.op, (value,), "aggregate", None, None, prob, children),))


def _literals(nodes: Sequence[ProofNode]) -> set:
    out: set = set()
    for n in nodes:
        if n.kind == "fact" and n.fact_id is not None:
            out.add((n.fact_id, True))
        elif n.kind == "negation" and n.fact_id is not None:
            out.add((n.fact_id, False))
        out |= _literals(n.children)
    return out


def derivation_tree(info, facts: Sequence, goal_relation: str, goal_args: Sequence, proof: frozenset) -> ProofNode:
    """A derivation of ``goal_relation(goal_args)`` from the positive facts of ``proof``.

    Args:
        info: the analysed program.
        facts: all input facts, numbered ``0..F-1`` (``reference.all_facts``).
        goal_relation: the relation of the goal tuple.
        goal_args: its values.
        proof: a set of literals ``(fact_id, positive)``; negative ones are facts taken as false.

    Returns:
        The root ``ProofNode`` (kind ``'fact'`` when the goal is itself an input fact).

    Raises:
        GreyboxError: the proof's facts do not derive the goal.
    """
    allowed = frozenset(f for f, pos in proof if pos)
    negative = frozenset(f for f, pos in proof if not pos)
    model = evaluate(info, semiring=DerivationSemiring(allowed, negative), facts=facts)
    tag = model.relations.get(goal_relation, {}).get(tuple(goal_args))
    if tag is None:
        raise GreyboxError(
            f"the proof {sorted(proof)} does not derive {goal_relation}{tuple(goal_args)}",
            hint="pass a proof of this tuple (from the proofs or top-k semiring)",
        )
    return tag[1][0]


# ---------------------------------------------------------------- text


def _value(v) -> str:
    """A node argument as the rule language writes it; ``_`` (an argument left open) as it is."""
    if v == "_":
        return v
    return format_constant(Const(v if isinstance(v, int) else str(v)))


def _label(node: ProofNode, facts: Sequence) -> str:
    args = ", ".join(_value(a) for a in node.args)
    if node.kind == "builtin":
        if node.relation == "is" or len(node.args) == 1:
            return f"{node.relation} {args}".strip()
        return f"{_value(node.args[0])} {node.relation} {_value(node.args[1])}"
    if node.kind == "aggregate":
        return f"{node.relation} = {args}"
    if node.kind == "fact" and node.fact_id is not None and facts and facts[node.fact_id].relation is None:
        return "rule weight"
    text = f"{node.relation}({args})" if node.args else node.relation
    return f"\\+ {text}" if node.kind == "negation" else text


def _where(node: ProofNode, facts: Sequence) -> str:
    span = None
    if node.kind == "rule" and node.clause is not None:
        span = node.clause.span
    elif node.kind == "fact" and node.fact_id is not None and facts:
        span = facts[node.fact_id].span
    loc = f"{span.file or '<input>'}:{span.line}" if span is not None and span.line else ""
    word = {"rule": "rule", "fact": "fact", "negation": "not derived", "builtin": "builtin",
            "aggregate": "aggregate"}[node.kind]
    return f"{word} {loc}".rstrip()


def format_tree(node: ProofNode, facts: Sequence = ()) -> str:
    """An indented text tree: one line per node with its probability and where it comes from.

    Args:
        node: the root (``derivation_tree``).
        facts: the input facts, to find the file and line of fact leaves.

    Returns:
        The tree as lines joined by ``\\n`` (columns aligned).
    """
    rows: list[tuple[str, str, str]] = []

    def walk(n: ProofNode, prefix: str, branch: str) -> None:
        p = "" if n.probability is None else f"p={n.probability:.4g}"
        rows.append((branch + _label(n, facts), p, _where(n, facts)))
        for i, child in enumerate(n.children):
            last = i == len(n.children) - 1
            walk(child, prefix + ("    " if last else "│   "), prefix + ("└── " if last else "├── "))

    walk(node, "", "")
    w1 = max(len(r[0]) for r in rows)
    w2 = max(len(r[1]) for r in rows)
    return "\n".join(f"{a:<{w1}}   {b:<{w2}}   {c}".rstrip() for a, b, c in rows)
