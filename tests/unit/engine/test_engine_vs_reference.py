"""The tensor engine agrees with the plain-Python reference evaluator on random programs.

Boolean results exactly; add-mult, max-mult and max-min to 1e-6 (both compute the
same algebraic quantity); top-k proofs as identical sets when k holds every proof,
and then the tag's probability equals the reference's exact probability.
"""

from __future__ import annotations

import random

import pytest
import torch

from greybox.engine.engine import Engine, Limits
from greybox.engine.reference import evaluate, exact_probabilities
from greybox.errors import ResourceLimitError
from greybox.lang.analysis import analyze
from greybox.lang.parser import parse_program
from greybox.semirings import AddMult, Boolean, MaxMin, MaxMult, TopKProofs
from tests.helpers.random_programs import random_program

N_PROGRAMS = 200
#: small enough that a diverging add-mult cycle fails fast in both evaluators
MAX_ROUNDS = 50
SCALARS = {"add-mult": AddMult, "max-mult": MaxMult, "max-min": MaxMin}


def _program(seed: int, probabilistic_aggregates: bool = True):
    rng = random.Random(seed)
    src = "\n".join(random_program(rng, probabilistic_aggregates=probabilistic_aggregates))
    return src, analyze(parse_program(src))


def _engine_tuples(engine: Engine, semiring, dtype=torch.float64) -> dict[str, dict[tuple, float]]:
    res = engine.run(semiring=semiring, dtype=dtype)
    out: dict[str, dict[tuple, float]] = {}
    for name in engine.info.relations:
        out[name] = {args: p for _, args, p in res.answers(name)}
    return out


def _reference_tuples(info, semiring: str, **kw) -> dict[str, dict[tuple, float]]:
    model = evaluate(info, semiring=semiring, max_iterations=MAX_ROUNDS, **kw)
    return {name: {t: model.probability(name, t) for t in model.tuples(name)} for name in info.relations}


@pytest.mark.parametrize("seed", range(N_PROGRAMS))
def test_boolean_and_scalar_semirings_agree(seed: int) -> None:
    src, info = _program(seed)
    engine = Engine(info, limits=Limits(max_iterations=MAX_ROUNDS))
    want = _reference_tuples(info, "boolean")
    got = _engine_tuples(engine, Boolean())
    for name in info.relations:
        assert set(got[name]) == set(want[name]), f"{name} differs on program:\n{src}"
    for sr_name, sr in SCALARS.items():
        try:
            want = _reference_tuples(info, sr_name)
        except ResourceLimitError:
            with pytest.raises(ResourceLimitError):
                _engine_tuples(engine, sr())
            continue
        got = _engine_tuples(engine, sr())
        for name in info.relations:
            assert set(got[name]) == set(want[name]), f"{sr_name}: tuples of {name} differ on:\n{src}"
            for t, p in want[name].items():
                assert got[name][t] == pytest.approx(p, abs=1e-6), f"{sr_name}: {name}{t} on:\n{src}"


@pytest.mark.parametrize("seed", range(0, N_PROGRAMS, 4))
def test_top_k_proofs_identical_and_exact(seed: int) -> None:
    """With k larger than any tuple's number of proofs nothing is truncated: proofs are all proofs.

    Aggregates range over deterministic relations here: that is where their probability is exact.
    """
    src, info = _program(seed, probabilistic_aggregates=False)
    k = 8
    ref = evaluate(info, semiring="proofs")
    if any(len(tag) > k for rel in ref.relations.values() for tag in rel.values()):
        pytest.skip("a tuple has more than k proofs")
    engine = Engine(info)
    res = engine.run(semiring=TopKProofs(k), dtype=torch.float64)
    exact = exact_probabilities(info)
    for name in info.relations:
        rel = res[name]
        got_args = res.decode(name, rel.cols)
        want = ref.relations.get(name, {})
        assert set(got_args) == set(want), f"tuples of {name} differ on:\n{src}"
        probs = res.algebra.probability(rel.tags)
        for i, args in enumerate(got_args):
            proofs = res.algebra.proof_sets(rel.tags, i)
            assert proofs == set(want[args]), f"proofs of {name}{args} on:\n{src}"
            assert float(probs[i]) == pytest.approx(exact[(name, args)], abs=1e-6)
