"""The sparse and the dense representation number the fact table alike (one numbering).

The fact table (every fact's probability and exclusive group, by fact id) was numbered
twice, once per representation, and the two had drifted: the sparse engine compacted an
input's group ids, the dense one shifted them by their lowest id, so the same facts got
different group ids (the same partition into groups, in the same order).
"""

from __future__ import annotations

import pytest
import torch

from greybox.engine.engine import Engine, InputFacts
from greybox.semirings import AddMult

DIGITS = """
    nn(net, [X], Y, [0..3]) :: digit(X, Y).
    0.5 :: bonus(1).
    total(S) :- digit(0, A), digit(1, B), S is A + B.
"""


def _digits(groups: list[int]) -> InputFacts:
    """Two images of one sample, four classes each, in the exclusive groups ``groups`` (one per image)."""
    cols = torch.tensor([[0, i, d] for i in range(2) for d in range(4)])
    probs = torch.tensor([0.1, 0.2, 0.3, 0.4, 0.25, 0.25, 0.25, 0.25], dtype=torch.float64)
    return InputFacts(cols, probs, torch.tensor([g for g in groups for _ in range(4)]))


@pytest.mark.parametrize("groups", [[0, 1], [7, 3], [100, 1_000_000]])
def test_both_representations_number_facts_and_groups_alike(groups):
    eng = Engine(DIGITS)
    tables = {}
    for rep in ("sparse", "dense"):
        res = eng.run(semiring=AddMult(), inputs={"digit": _digits(groups)}, representation=rep)
        tables[rep] = (res.algebra.facts.probs.tolist(), res.algebra.facts.groups.tolist(), res.input_offsets)
    assert tables["sparse"] == tables["dense"]
    _, table_groups, offsets = tables["dense"]
    first, n = offsets["digit"]
    assert (first, n) == (len(eng.facts), 8)
    # compacted and shifted past the program's own groups, their order kept
    own = table_groups[:first]
    rank = {g: k for k, g in enumerate(sorted(set(groups)))}
    assert table_groups[first:] == [max(own) + 1 + rank[g] for g in groups for _ in range(4)]
