"""How good are learned rules: against reference rules, and as reasoning on test graphs.

* :func:`score_rules`: precision and recall of a rule set against a reference, rules
  compared as ``(r1, r2, r3)`` triples;
* :func:`derived_relations`: the relations greybox's engine derives between each graph's
  queried pair;
* :func:`engine_accuracy`: the share of test graphs for which greybox's engine, running
  a program (e.g. the background plus a learned-rule file), derives exactly the target
  relation between the queried pair.

Example:
    >>> s = score_rules([("a", "b", "c"), ("a", "a", "a")], [("a", "b", "c"), ("b", "b", "b")])
    >>> s.precision, s.recall, s.false_positives, s.false_negatives
    (0.5, 0.5, [('a', 'a', 'a')], [('b', 'b', 'b')])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from .graphs import GraphExample

__all__ = ["RuleScores", "Accuracy", "score_rules", "derived_relations", "engine_accuracy"]

Triple = tuple[str, str, str]


@dataclass(frozen=True)
class RuleScores:
    """Precision and recall of a set of rules against a reference set.

    Attributes:
        precision: share of the learned rules that are in the reference (1.0 when none was learned).
        recall: share of the reference rules that were learned.
        n_learned, n_reference: sizes of the two sets.
        false_positives: learned, not in the reference (sorted).
        false_negatives: in the reference, not learned (sorted).
    """

    precision: float
    recall: float
    n_learned: int
    n_reference: int
    false_positives: list[Triple]
    false_negatives: list[Triple]

    def as_dict(self) -> dict:
        """Plain values for JSON."""
        return asdict(self)


def score_rules(learned: Iterable[Triple], reference: Iterable[Triple]) -> RuleScores:
    """Compare two rule sets as sets of ``(r1, r2, r3)``.

    Args:
        learned: the rules found.
        reference: the rules that should have been found.

    Returns:
        The ``RuleScores``.
    """
    got, want = set(learned), set(reference)
    hits = len(got & want)
    return RuleScores(
        precision=hits / len(got) if got else 1.0,
        recall=hits / len(want) if want else 1.0,
        n_learned=len(got),
        n_reference=len(want),
        false_positives=sorted(got - want),
        false_negatives=sorted(want - got),
    )


@dataclass(frozen=True)
class Accuracy:
    """Reasoning on test graphs.

    Attributes:
        n: number of graphs.
        accuracy: share where the relations derived between the queried pair are exactly ``{target}``.
        target_derived: share where the target is among them.
        nothing_derived: share where no relation is derived between them.
    """

    n: int
    accuracy: float
    target_derived: float
    nothing_derived: float

    def as_dict(self) -> dict:
        """Plain values for JSON."""
        return asdict(self)


def derived_relations(program, examples: Sequence[GraphExample], *, relations: Sequence[str],
                      batch_size: int = 256) -> list[set[str]]:
    """Run greybox's engine (boolean semiring) on graphs: the relations derived between each queried pair.

    Every graph is one sample of a batch: its edges and labels are run-time facts,
    person ``i`` the symbol ``p<i>``.

    Args:
        program: a ``Program`` or its source text, declaring every relation the graphs use.
        examples: the graphs.
        relations: the relations that count as answers.
        batch_size: graphs per engine evaluation.

    Returns:
        One set of relation names per example, in order.

    Raises:
        GreyboxError: the program does not pass the static checks.

    >>> from greybox.learn.graphs import GraphExample
    >>> prog = '''domain person = symbol. type f(person, person). type g(person, person).
    ...           g(X, Z) :- f(X, Y), f(Y, Z). g(X, Y) :- f(X, Y).'''
    >>> ex = GraphExample(("a", "b", "c"), ((0, "f", 1), (1, "f", 2)), (), (0, 2), "g", 2)
    >>> derived_relations(prog, [ex], relations=["f", "g"])
    [{'g'}]
    """
    import torch

    from greybox.engine import Engine, InputFacts
    from greybox.semirings import Boolean

    engine = Engine(program)
    n_people = max((ex.size for ex in examples), default=0)
    symbol = [engine.symbols.encode(f"p{i}") for i in range(n_people)]
    found: list[set[str]] = []
    for lo in range(0, len(examples), batch_size):
        part = examples[lo:lo + batch_size]
        rows: dict[str, list[list[int]]] = {}
        for b, ex in enumerate(part):
            for x, r, y in ex.edges:
                rows.setdefault(r, []).append([b, symbol[x], symbol[y]])
            for x, u in ex.labels:
                rows.setdefault(u, []).append([b, symbol[x]])
        inputs = {name: InputFacts(torch.tensor(r, dtype=torch.int64)) for name, r in rows.items()}
        result = engine.run(semiring=Boolean(), batch_size=len(part), inputs=inputs, targets=list(relations))
        first = torch.tensor([symbol[ex.query[0]] for ex in part])
        second = torch.tensor([symbol[ex.query[1]] for ex in part])
        got: list[set[str]] = [set() for _ in part]
        for name in relations:
            if name not in result.relations:
                continue
            cols, probs = result.probabilities(name)
            sample = cols[:, 0]
            hit = (cols[:, 1] == first[sample]) & (cols[:, 2] == second[sample]) & (probs > 0.5)
            for b in sample[hit].tolist():
                got[b].add(name)
        found += got
    return found


def engine_accuracy(program, examples: Sequence[GraphExample], *, relations: Sequence[str],
                    batch_size: int = 256) -> Accuracy:
    """Run greybox's engine (boolean semiring) on test graphs and score the answers
    (:func:`derived_relations`).

    Args:
        program: a ``Program`` or its source text, declaring every relation the graphs use.
        examples: the test graphs.
        relations: the relations that count as answers.
        batch_size: graphs per engine evaluation.

    Returns:
        The ``Accuracy``.

    Raises:
        GreyboxError: the program does not pass the static checks.

    >>> from greybox.learn.graphs import GraphExample
    >>> prog = '''domain person = symbol. type f(person, person). type g(person, person).
    ...           g(X, Z) :- f(X, Y), f(Y, Z).'''
    >>> ex = GraphExample(("a", "b", "c"), ((0, "f", 1), (1, "f", 2)), (), (0, 2), "g", 2)
    >>> engine_accuracy(prog, [ex], relations=["f", "g"]).accuracy
    1.0
    """
    found = derived_relations(program, examples, relations=relations, batch_size=batch_size)
    exact = sum(got == {ex.target} for ex, got in zip(examples, found))
    derived_target = sum(ex.target in got for ex, got in zip(examples, found))
    empty = sum(not got for got in found)
    n = len(examples)
    return Accuracy(n, exact / n if n else 0.0, derived_target / n if n else 0.0, empty / n if n else 0.0)
