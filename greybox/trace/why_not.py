"""Why not Y? The smallest change of input facts that would have made answer Y win.

The question is asked of one alternative answer ``Y``: its proofs are given as
sets of leaf facts with their current probabilities, together with the
probability of the predicted answer (the current winner). A proof's probability
is the product of its literals' probabilities (a negated literal ``\\+ f``
contributes ``1 - p(f)``).

Algorithm (exact for one proof, documented approximations across proofs):

1. The bar is ``winner + margin`` (capped at 1): ``Y`` must *exceed* the winner.
2. For each proof of ``Y`` alone, find the cheapest raise of its changeable
   literals (cost = total changed probability mass) that lifts the proof's
   product to the bar. Raising a literal with probability ``q`` buys
   ``d log(product) = dq / q``, so the least probable literal is always the
   cheapest to raise. The optimum is *water-filling*: the ``k`` least probable
   changeable literals are raised to one common level ``L`` with
   ``L ** k * (product of the others) = bar``, for the smallest ``k`` whose
   ``L`` does not pass the next literal. Literals that may not change (program
   facts, knowledge-graph rows) keep their probability; a proof whose fixed
   part alone is below the bar cannot reach it.
3. The cheapest proof wins (ties: the first given). Its changes are reported,
   except those smaller than ``MIN_CHANGE`` (0.01, one percentage point): a reading
   moved from 0.997 to 0.998 is noise, not a reason. The note counts what was left
   out, and ``total_change`` still sums every change.

Approximations, all on the safe side (the change reported is sufficient; a
smaller one may exist): the winner's probability is held fixed, although
raising one reading of an image lowers that image's other readings and usually
the winner with them; and other proofs of ``Y`` that would add to its
probability are ignored.

When the answers' probabilities are known as polynomials (symbolic provenance,
``greybox.trace.symbolic.exact_changes``), a trace also gives the exact answer for a
change of one reading: the other readings of its input share the rest of the mass
in proportion, every answer is re-evaluated, and ``Y`` must beat all of them. Where
raising the reading also lowers the winner (a misread image: the wrong class loses what
the right one gains), that threshold is below the change found here; where ``Y`` has
other proofs through the same input, it can be above it.

Example:
    >>> facts = [LeafFact(0, "digit(img0, 3)", 0.9), LeafFact(1, "digit(img1, 4)", 0.3)]
    >>> w = why_not("7", [facts], winner_probability=0.5, margin=0.0)
    >>> [(c.atom, round(c.from_probability, 3), round(c.to_probability, 3)) for c in w.changes]
    [('digit(img1, 4)', 0.3, 0.556)]
    >>> w.achievable, round(w.total_change, 3)
    (True, 0.256)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

from greybox.errors import ConfigError
from greybox.trace.schema import (
    DecisionTrace,
    FactChange,
    PerceivedInput,
    Proof,
    ProofNode,
    Source,
    WhyNot,
    format_probability,
)

__all__ = ["LeafFact", "leaf_facts", "why_not", "culprit_inputs", "MIN_CHANGE"]

#: changes of a fact's probability smaller than this are not shown as reasons (see the module docstring)
MIN_CHANGE = 0.01


@dataclass(frozen=True)
class LeafFact:
    """A leaf literal of a proof.

    Attributes:
        fact_id: the input fact's id.
        atom: the fact's atom, as printed.
        probability: the fact's current probability (of the fact, not of the literal).
        negated: True for ``\\+ atom``; raising the literal lowers the fact.
        changeable: whether the question may change this fact (neural readings: yes).
        source: where the fact came from, copied into the reported change.
    """

    fact_id: int
    atom: str
    probability: float
    negated: bool = False
    changeable: bool = True
    source: Optional[Source] = None

    @property
    def literal_probability(self) -> float:
        """Probability that the literal holds: ``p`` or ``1 - p`` when negated."""
        return 1.0 - self.probability if self.negated else self.probability


def leaf_facts(proof: Proof | ProofNode, *, changeable_kinds: Iterable[str] = ("neural",)) -> list[LeafFact]:
    """The leaf facts of a schema proof, for ``why_not``.

    A leaf is a node without children that has a ``fact_id``; nodes without one
    (e.g. a negation of an atom that was never derived) hold for certain and are
    skipped. A leaf is changeable when its source's ``kind`` is in ``changeable_kinds``.

    Args:
        proof: a ``Proof`` or its root ``ProofNode``.
        changeable_kinds: source kinds the question may change.

    Returns:
        The leaves, first occurrence of each fact id, in tree order.

    Raises:
        ConfigError: a leaf with a fact_id has no probability.

    Example:
        >>> from greybox.trace.schema import KGSource
        >>> root = ProofNode(atom="p(a)", probability=0.5, children=[
        ...     ProofNode(atom="q(a)", probability=0.5, fact_id=0,
        ...               source=KGSource(file="kg.csv", row=1))])
        >>> leaf_facts(root)
        [LeafFact(fact_id=0, atom='q(a)', probability=0.5, negated=False, changeable=False, source=KGSource(kind='kg', file='kg.csv', row=1))]
    """
    root = proof.root if isinstance(proof, Proof) else proof
    kinds = set(changeable_kinds)
    out: dict[int, LeafFact] = {}
    for node in root.walk():
        if node.children or node.fact_id is None or node.fact_id in out:
            continue
        if node.probability is None:
            raise ConfigError(
                f"leaf fact {node.atom} (fact {node.fact_id}) has no probability",
                hint="fill ProofNode.probability for every leaf fact of a proof",
            )
        # a negated leaf stores the literal's probability; LeafFact holds the fact's
        p = 1.0 - node.probability if node.negated else node.probability
        changeable = node.source is not None and node.source.kind in kinds
        out[node.fact_id] = LeafFact(node.fact_id, node.atom, p, node.negated, changeable, node.source)
    return list(out.values())


def _check(fact: LeafFact) -> None:
    if not (0.0 <= fact.probability <= 1.0) or math.isnan(fact.probability):
        raise ConfigError(
            f"fact {fact.fact_id} {fact.atom} has probability {fact.probability}, outside [0, 1]",
            hint="give probabilities of facts, not logits or scores",
        )


def _cheapest_raise(literals: list[float], fixed: float, bar: float) -> Optional[list[float]]:
    """Water-filling: new literal probabilities (same order) reaching product ``bar``, or None."""
    if fixed < bar:
        return None
    current = fixed * math.prod(literals)
    if current >= bar:
        return list(literals)
    order = sorted(range(len(literals)), key=lambda i: literals[i])
    for k in range(1, len(order) + 1):
        # product of the literals above the k lowest, times the fixed part
        others = fixed * math.prod(literals[i] for i in order[k:])
        if others <= 0.0:
            continue  # a zero literal above: it must be raised too
        level = min((bar / others) ** (1.0 / k), 1.0)
        nxt = literals[order[k]] if k < len(order) else 1.0
        if level <= nxt or k == len(order):
            new = list(literals)
            for i in order[:k]:
                new[i] = max(level, literals[i])
            return new
    return None  # only reached without changeable literals, and then fixed >= bar returned above


def why_not(
    target: str,
    target_proofs: Sequence[Union[Proof, ProofNode, Sequence[LeafFact]]],
    winner_probability: float,
    *,
    margin: float = 1e-3,
    changeable_kinds: Iterable[str] = ("neural",),
    min_change: float = MIN_CHANGE,
) -> WhyNot:
    """The cheapest change of leaf facts found that makes ``target`` beat the winner.

    See the module docstring for the algorithm and its approximations.

    Args:
        target: the answer that was not predicted, e.g. ``"7"``.
        target_proofs: its proofs, each a ``Proof`` / ``ProofNode`` (leaves taken with
            ``leaf_facts``) or a sequence of ``LeafFact``.
        winner_probability: the predicted answer's probability.
        margin: how much the target must exceed the winner by.
        changeable_kinds: for schema proofs, the source kinds that may change.
        min_change: changes smaller than this are left out of ``changes`` (counted in the note).

    Returns:
        A ``WhyNot``; ``achievable`` is False (and ``changes`` empty) when no proof can
        exceed the winner by changing its changeable facts.

    Raises:
        ConfigError: a probability is outside [0, 1] or the margin is negative.

    Example:
        >>> fixed = LeafFact(0, "edge(a, b)", 0.4, changeable=False)
        >>> why_not("b", [[fixed, LeafFact(1, "seen(b)", 0.9)]], 0.6).achievable
        False
    """
    if not 0.0 <= winner_probability <= 1.0:
        raise ConfigError(f"winner probability {winner_probability} is outside [0, 1]",
                          hint="pass the predicted answer's probability")
    if margin < 0:
        raise ConfigError(f"margin {margin} is negative", hint="use margin >= 0 (the default is 1e-3)")
    kinds = tuple(changeable_kinds)
    if winner_probability >= 1.0:
        return WhyNot(target=target, changes=[], total_change=0.0, achievable=False,
                      note="the predicted answer is certain (p=1); no change of probabilities can beat it")
    bar = min(winner_probability + margin, 1.0)
    best: Optional[tuple[float, list[LeafFact], list[float]]] = None
    best_cap = 0.0
    for proof in target_proofs:
        facts = leaf_facts(proof, changeable_kinds=kinds) if isinstance(proof, (Proof, ProofNode)) else list(proof)
        unique: dict[int, LeafFact] = {}
        consistent = True
        for f in facts:
            _check(f)
            seen = unique.get(f.fact_id)
            if seen is not None and seen.negated != f.negated:
                consistent = False  # f and \+ f in one proof: it never holds
            unique.setdefault(f.fact_id, f)
        if not consistent:
            continue
        free = [f for f in unique.values() if f.changeable]
        fixed = math.prod(f.literal_probability for f in unique.values() if not f.changeable)
        best_cap = max(best_cap, fixed)
        new = _cheapest_raise([f.literal_probability for f in free], fixed, bar)
        if new is None:
            continue
        cost = sum(n - f.literal_probability for f, n in zip(free, new))
        if best is None or cost < best[0]:
            best = (cost, free, new)
    if best is None:
        if not target_proofs:
            note = f"no proof of {target} was found, so no change of input facts can make it win"
        else:
            note = (f"no proof of {target} can exceed {format_probability(winner_probability)} by changing "
                    f"{'/'.join(kinds) or 'no'} facts: fixed facts cap its best proof at "
                    f"{format_probability(best_cap)}")
        return WhyNot(target=target, changes=[], total_change=0.0, achievable=False, note=note)
    cost, free, new = best
    changes = [
        FactChange(
            fact_id=f.fact_id,
            atom=f.atom,
            from_probability=f.probability,
            # a negated literal raised to n means the fact itself falls to 1 - n
            to_probability=min(max(1.0 - n if f.negated else n, 0.0), 1.0),
            source=f.source,
        )
        for f, n in zip(free, new)
        if n != f.literal_probability
    ]
    shown = [c for c in changes if abs(c.to_probability - c.from_probability) >= min_change]
    small = len(changes) - len(shown)
    note = None
    if not changes:
        note = f"{target} already exceeds the predicted answer by one of its proofs"
    elif not shown:
        note = (f"{target} needs only changes below {format_probability(min_change)} "
                f"({small} of them): it nearly wins already")
    elif small:
        note = f"{small} smaller change{'s' if small != 1 else ''} (below {format_probability(min_change)} each) left out"
    return WhyNot(target=target, changes=shown, total_change=max(cost, 0.0), achievable=True, note=note)


def culprit_inputs(inputs: Sequence[PerceivedInput] | DecisionTrace, *, correct: Optional[bool] = None) -> list[int]:
    """Indices of the inputs that were misread (``read_as`` differs from ``true_label``).

    For a trace, only a wrong prediction has culprits.

    Args:
        inputs: a trace or its perceived inputs.
        correct: with a list of inputs, whether the prediction was right (True: no culprits).

    Returns:
        The indices, ascending.

    Example:
        >>> ins = [PerceivedInput(index=0, kind="image", read_as="3", true_label="3"),
        ...        PerceivedInput(index=1, kind="image", read_as="5", true_label="4")]
        >>> culprit_inputs(ins)
        [1]
    """
    if isinstance(inputs, DecisionTrace):
        correct = inputs.correct
        inputs = inputs.inputs
    if correct:
        return []
    return sorted(i.index for i in inputs if i.misread)
