"""Ground truth by brute force: enumerate every possible world of a program's facts.

A world fixes every probabilistic choice: each independent fact (or rule weight)
holds or not, and each group of mutually exclusive facts (an annotated
disjunction) has one of its facts hold, or none. Certain facts always hold. The
probability of a tuple is the sum of the probabilities of the worlds in which a
plain boolean evaluation, using only that world's facts, derives it.
"""

from __future__ import annotations

import itertools
from typing import Iterator, Sequence

from greybox.engine.reference import Evaluator, all_facts
from greybox.semirings.boolean import BooleanScalar

__all__ = ["WorldSemiring", "worlds", "count_worlds", "true_tuples", "brute_force_probabilities"]


class WorldSemiring(BooleanScalar):
    """Booleans where exactly the facts of ``world`` hold."""

    name = "world"

    def __init__(self, world: frozenset[int]) -> None:
        self.world = world

    def from_fact(self, fact) -> bool:
        return fact.id in self.world


def _choices(facts: Sequence) -> list[list[tuple[int | None, float]]]:
    groups: dict[int, list] = {}
    for f in facts:
        groups.setdefault(f.group, []).append(f)
    out = []
    for members in groups.values():
        if len(members) == 1 and members[0].probability is None:
            out.append([(members[0].id, 1.0)])
            continue
        opts = [(f.id, 1.0 if f.probability is None else float(f.probability)) for f in members]
        rest = 1.0 - sum(p for _, p in opts)
        if rest > 1e-12:
            opts.append((None, rest))
        out.append([o for o in opts if o[1] > 0.0])
    return out


def count_worlds(facts: Sequence) -> int:
    """How many worlds (with non-zero probability) ``worlds`` yields."""
    n = 1
    for opts in _choices(facts):
        n *= len(opts)
    return n


def worlds(facts: Sequence) -> Iterator[tuple[frozenset[int], float]]:
    """Every world as ``(the ids of the facts that hold, its probability)``."""
    for combo in itertools.product(*_choices(facts)):
        prob = 1.0
        for _, p in combo:
            prob *= p
        yield frozenset(f for f, _ in combo if f is not None), prob


def true_tuples(program, facts: Sequence, world: frozenset[int]) -> set[tuple[str, tuple]]:
    """The tuples a boolean evaluation derives in ``world`` (``program``: a ``ProgramInfo`` or an ``Evaluator``)."""
    evaluator = program if isinstance(program, Evaluator) else Evaluator(program)
    model = evaluator.run(facts, semiring=WorldSemiring(world))
    return {(name, t) for name, rel in model.relations.items() for t, tag in rel.items() if tag}


def brute_force_probabilities(info, extra_facts: Sequence = ()) -> dict[tuple[str, tuple], float]:
    """``{(relation, args): probability}`` summed over every world (tuples never derived are absent)."""
    facts = all_facts(info, extra_facts)
    evaluator = Evaluator(info)
    out: dict[tuple[str, tuple], float] = {}
    for world, prob in worlds(facts):
        for key in true_tuples(evaluator, facts, world):
            out[key] = out.get(key, 0.0) + prob
    return out
