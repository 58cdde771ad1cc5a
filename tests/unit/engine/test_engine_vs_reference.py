"""The tensor engine agrees with the plain-Python reference evaluator on random programs.

Boolean results exactly; add-mult, max-mult and max-min to 1e-6 (both compute the
same algebraic quantity); top-k proofs as identical sets when k holds every proof,
and then the tag's probability equals the reference's exact probability. On programs
with integers at the 64-bit limits, the same tuples or the same error from the same rule.
"""

from __future__ import annotations

import random

import pytest
import torch

from greybox.engine.engine import Engine, Limits
from greybox.engine.reference import evaluate, exact_probabilities
from greybox.errors import GreyboxError, ResourceLimitError
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


N_EXTREME = 120


def _outcome(run):
    """``("ok", tuples)`` or ``("error", type, line)`` of one evaluation."""
    try:
        return ("ok", run())
    except GreyboxError as err:
        return ("error", type(err), err.line, err)


@pytest.mark.parametrize("seed", range(N_EXTREME))
def test_values_near_the_64_bit_limits_agree(seed: int) -> None:
    """Integers at ±2**62, ±2**63-1 and -2**63: the same tuples, or the same error from the same rule."""
    rng = random.Random(10_000 + seed)
    src = "\n".join(random_program(rng, extreme_ints=True))
    info = analyze(parse_program(src))
    ref = _outcome(lambda: _reference_tuples(info, "boolean"))
    for representation in ("auto", "sparse"):
        engine = Engine(info, limits=Limits(max_iterations=MAX_ROUNDS), representation=representation)
        got = _outcome(lambda: _engine_tuples(engine, Boolean()))
        assert got[0] == ref[0], f"{representation}: {got[-1] if got[0] == 'error' else ref[-1]}\non:\n{src}"
        if ref[0] == "error":
            assert got[1] is ref[1] and got[2] == ref[2], f"{got[3]}\nvs\n{ref[3]}\non:\n{src}"
        else:
            for name in info.relations:
                assert set(got[1][name]) == set(ref[1][name]), f"{representation}: {name} differs on:\n{src}"


def test_programs_near_the_64_bit_limits_overflow_and_not() -> None:
    """The programs of the test above reach both outcomes, and overflow is the usual error."""
    kinds = []
    for seed in range(N_EXTREME):
        info = analyze(parse_program("\n".join(random_program(random.Random(10_000 + seed), extreme_ints=True))))
        out = _outcome(lambda: _reference_tuples(info, "boolean"))
        kinds.append("ok" if out[0] == "ok" else out[1].__name__)
    assert kinds.count("ok") >= N_EXTREME // 2
    assert kinds.count("ArithmeticOverflowError") >= N_EXTREME // 8


@pytest.mark.parametrize("representation", ["auto", "sparse"])
def test_an_expression_as_deep_as_it_is_long_agrees_without_recursion(representation: str) -> None:
    """A sum of 3,000 terms and 3,001 unary minus signs (as deep as Python's recursion limit allows thrice):
    the engine and the reference give the same tuples, and an overflow deep inside is the same error."""
    terms = "+".join(["1"] * 3000)
    src = (f"n(1). n(2).\np(X) :- n(Y), X is Y + {terms}.\nq(X) :- n(Y), X is {'- ' * 3001}Y.\n"
           f"r(X) :- n(Y), X is Y * 4611686018427387904 + {terms}.\n")
    info = analyze(parse_program(src))
    ref = _outcome(lambda: _reference_tuples(info, "boolean"))
    got = _outcome(lambda: _engine_tuples(Engine(info, representation=representation), Boolean()))
    assert ref[0] == got[0] == "error" and ref[1] is got[1] and ref[2] == got[2] == 4
    info = analyze(parse_program(src.rsplit("r(X)", 1)[0]))
    ref, got = _reference_tuples(info, "boolean"), _engine_tuples(Engine(info, representation=representation), Boolean())
    assert set(got["p"]) == set(ref["p"]) == {(3001,), (3002,)}
    assert set(got["q"]) == set(ref["q"]) == {(-1,), (-2,)}
