"""One evaluation skeleton for both representations: one fact numbering, the same limits, one result type."""

from __future__ import annotations

import pytest
import torch

from greybox.engine.dense.evaluate import DenseRepresentation
from greybox.engine.engine import Engine, InputFacts, Limits
from greybox.engine.evaluation import RunInputs
from greybox.engine.result import EvalResult
from greybox.engine.sparse import SparseRepresentation
from greybox.errors import ResourceLimitError
from greybox.semirings import AddMult, MaxMult

DIGITS = """
    nn(net, [X], Y, [0..3]) :: digit(X, Y).
    0.5 :: bonus(1).
    total(S) :- digit(0, A), digit(1, B), S is A + B.
"""
FIRST, SECOND = [0.1, 0.2, 0.3, 0.4], [0.25, 0.25, 0.25, 0.25]


def _digits(groups: list[int]) -> InputFacts:
    """Two images of one sample, four classes each, in the exclusive groups ``groups`` (one per image)."""
    cols = torch.tensor([[0, i, d] for i in range(2) for d in range(4)])
    probs = torch.tensor(FIRST + SECOND, dtype=torch.float64)
    return InputFacts(cols, probs, torch.tensor([g for g in groups for _ in range(4)]))


def test_the_dense_path_builds_no_fact_table_it_does_not_read():
    eng = Engine(DIGITS)
    res = eng.run(semiring=AddMult(), inputs={"digit": _digits([0, 1])}, representation="dense")
    want = sum(FIRST[a] * SECOND[3 - a] for a in range(4))
    assert res.probability_per_sample("total", torch.tensor([[3]])).tolist() == pytest.approx([want])
    assert res.algebra.facts._probs is None and res.algebra.facts._groups is None


def test_engine_chooses_the_representation():
    eng = Engine(DIGITS)
    run = RunInputs.check(eng, {"digit": _digits([0, 1])}, batch_size=1, learnable=None, device=None, dtype=None)
    assert isinstance(eng._choose("auto", AddMult(), None, run), DenseRepresentation)
    assert isinstance(eng._choose("sparse", AddMult(), None, run), SparseRepresentation)


COUNTER = "n(0). n(Y) :- n(X), Y is X + 1, Y < 50."


@pytest.mark.parametrize("rep", ["sparse", "dense"])
def test_round_limit_is_the_skeletons_in_both_representations(rep):
    eng = Engine(COUNTER, limits=Limits(max_iterations=5))
    with pytest.raises(ResourceLimitError, match=r"relation 'n' was still changing after 5 rounds"):
        eng.run(semiring=MaxMult(), representation=rep)
    answers = Engine(COUNTER, limits=Limits(max_iterations=60)).run(semiring=MaxMult(), representation=rep).answers("n")
    assert [args for _, args, _ in answers] == [(i,) for i in range(50)]


@pytest.mark.parametrize("rep", ["sparse", "dense"])
def test_time_limit_is_the_skeletons_in_both_representations(rep):
    eng = Engine(COUNTER, limits=Limits(time_budget_s=0.0))
    with pytest.raises(ResourceLimitError, match=r"ran past its time budget of 0 s while deriving 'n'"):
        eng.run(semiring=MaxMult(), representation=rep)
