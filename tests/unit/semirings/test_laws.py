"""Semiring laws, checked with hypothesis on random tags of every semiring.

Top-k proofs appears twice: with a small ``k`` (the proofs kept are truncated;
only the laws that survive truncation are checked) and with ``k`` large enough
that nothing is ever dropped (every law).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from greybox.semirings import FactTable, get_semiring
from greybox.semirings.base import Algebra

# six facts; facts 0-2 are one mutual-exclusion group whose probabilities sum to 1 (so
# "not f0, not f1, not f2" is impossible); fact 4 is certain (so "not f4" is impossible)
PROBS = torch.tensor([0.21, 0.33, 0.46, 0.62, 1.0, 0.77], dtype=torch.float64)
GROUPS = torch.tensor([0, 0, 0, 1, 2, 3])
FACTS = FactTable(PROBS, GROUPS)

LAWS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])

literal = st.integers(1, len(PROBS)).flatmap(lambda c: st.sampled_from([c, -c]))
proof = st.lists(literal, min_size=0, max_size=3)


@dataclass
class Case:
    name: str
    alg: Algebra
    raw: Callable[[int], st.SearchStrategy]  # n -> strategy of raw values for n rows
    build: Callable[[Algebra, Any], Any]  # raw values -> tag
    equal: Callable[[Algebra, Any, Any], bool]
    truncates: bool = False  # mul associativity and distributivity need False


def _scalar_equal(alg: Algebra, a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-9, atol=1e-12)


def _unit_floats(n: int) -> st.SearchStrategy:
    return st.lists(st.floats(0.0, 1.0, allow_nan=False), min_size=n, max_size=n)


def _proof_rows(max_proofs: int) -> Callable[[int], st.SearchStrategy]:
    def rows(n: int) -> st.SearchStrategy:
        return st.lists(st.lists(proof, max_size=max_proofs), min_size=n, max_size=n)

    return rows


def _case(name: str, **kwargs: Any) -> Case:
    alg = get_semiring(name, **kwargs).bind(FACTS)
    if name == "boolean":
        return Case(
            name,
            alg,
            lambda n: st.lists(st.booleans(), min_size=n, max_size=n),
            lambda alg, raw: torch.tensor(raw, dtype=torch.bool),
            lambda alg, a, b: torch.equal(a, b),
        )
    if name == "top-k":
        k = kwargs["k"]
        return Case(
            f"top-k(k={k})",
            alg,
            _proof_rows(2 if k >= 8 else 3),
            lambda alg, raw: alg.from_proofs(raw),
            lambda alg, a, b: alg.to_proofs(a) == alg.to_proofs(b),
            truncates=k < 8,
        )
    return Case(
        name, alg, _unit_floats, lambda alg, raw: torch.tensor(raw, dtype=torch.float64), _scalar_equal
    )


CASES = [
    _case("boolean"),
    _case("max-min"),
    _case("add-mult"),
    _case("max-mult"),
    _case("top-k", k=2),
    _case("top-k", k=8),
]
IDS = [c.name for c in CASES]


@st.composite
def tags(draw: Callable, case: Case, count: int = 3) -> tuple:
    n = draw(st.integers(1, 3))
    return tuple(case.build(case.alg, draw(case.raw(n))) for _ in range(count))


def check(case: Case, a: Any, b: Any) -> None:
    assert case.equal(case.alg, a, b), f"{case.name}: {a!r} != {b!r}"


@pytest.mark.parametrize("case", CASES, ids=IDS)
@LAWS
@given(data=st.data())
def test_add_is_associative_and_commutative(case: Case, data: st.DataObject) -> None:
    a, b, c = data.draw(tags(case))
    alg = case.alg
    check(case, alg.add(alg.add(a, b), c), alg.add(a, alg.add(b, c)))
    check(case, alg.add(a, b), alg.add(b, a))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@LAWS
@given(data=st.data())
def test_mul_is_commutative_and_associative(case: Case, data: st.DataObject) -> None:
    a, b, c = data.draw(tags(case))
    alg = case.alg
    check(case, alg.mul(a, b), alg.mul(b, a))
    if not case.truncates:
        check(case, alg.mul(alg.mul(a, b), c), alg.mul(a, alg.mul(b, c)))


@pytest.mark.parametrize("case", CASES, ids=IDS)
@LAWS
@given(data=st.data())
def test_identities_and_annihilation(case: Case, data: st.DataObject) -> None:
    (a,) = data.draw(tags(case, count=1))
    alg = case.alg
    n = alg.len(a)
    check(case, alg.add(a, alg.zero(n)), a)
    check(case, alg.add(alg.zero(n), a), a)
    check(case, alg.mul(a, alg.one(n)), a)
    check(case, alg.mul(alg.one(n), a), a)
    check(case, alg.mul(a, alg.zero(n)), alg.zero(n))
    assert bool(alg.is_zero(alg.mul(alg.zero(n), a)).all())


EXACT = [c for c in CASES if not c.truncates]
IDEMPOTENT = [c for c in CASES if c.alg.idempotent]


@pytest.mark.parametrize("case", EXACT, ids=[c.name for c in EXACT])
@LAWS
@given(data=st.data())
def test_mul_distributes_over_add(case: Case, data: st.DataObject) -> None:
    a, b, c = data.draw(tags(case))
    alg = case.alg
    check(case, alg.mul(a, alg.add(b, c)), alg.add(alg.mul(a, b), alg.mul(a, c)))
    check(case, alg.mul(alg.add(b, c), a), alg.add(alg.mul(b, a), alg.mul(c, a)))


@pytest.mark.parametrize("case", IDEMPOTENT, ids=[c.name for c in IDEMPOTENT])
@LAWS
@given(data=st.data())
def test_add_is_idempotent(case: Case, data: st.DataObject) -> None:
    (a,) = data.draw(tags(case, count=1))
    check(case, case.alg.add(a, a), a)
    assert not bool(case.alg.changed(a, case.alg.add(a, a)).any())


def test_add_mult_is_not_idempotent() -> None:
    alg = get_semiring("add-mult").bind(FACTS)
    a = torch.tensor([0.25], dtype=torch.float64)
    assert not alg.idempotent
    assert float(alg.add(a, a)) == 0.5


def _fold(case: Case, op: Callable, start: Any, a: Any, segments: list[int], n_segments: int) -> Any:
    alg = case.alg
    rows = []
    for s in range(n_segments):
        acc = start
        for i, seg in enumerate(segments):
            if seg == s:
                acc = op(acc, alg.index(a, torch.tensor([i])))
        rows.append(acc)
    return alg.cat(rows)


@pytest.mark.parametrize("case", CASES, ids=IDS)
@LAWS
@given(data=st.data())
def test_segment_add_and_mul_fold_rows(case: Case, data: st.DataObject) -> None:
    alg = case.alg
    n = data.draw(st.integers(1, 7))
    a = case.build(alg, data.draw(case.raw(n)))
    n_segments = data.draw(st.integers(1, 4))
    segments = data.draw(st.lists(st.integers(0, n_segments - 1), min_size=n, max_size=n))
    seg = torch.tensor(segments)
    check(case, alg.segment_add(a, seg, n_segments), _fold(case, alg.add, alg.zero(1), a, segments, n_segments))
    check(case, alg.segment_mul(a, seg, n_segments), _fold(case, alg.mul, alg.one(1), a, segments, n_segments))
