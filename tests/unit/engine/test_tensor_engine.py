"""The tensor engine's pieces (joins, row keys, merge) and its behaviour as a whole.

The comparison with the reference evaluator on random programs lives in
``test_engine_vs_reference.py``; here each piece is checked against brute force,
and the engine's contract (batching, input checks, limits, targets, dtype, gradients)
is checked directly.
"""

from __future__ import annotations

import itertools
import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from greybox.engine import Engine, InputFacts, Limits
from greybox.engine.fixpoint import merge
from greybox.engine.join import equi_join, lookup
from greybox.engine.relation import Relation, RowEncoder, row_keys, sorted_unique
from greybox.errors import ResourceLimitError, ShapeError, UnknownRelationError
from greybox.semirings import AddMult, FactTable, MaxMult

keys = st.lists(st.integers(min_value=-5, max_value=12), max_size=25)
rows = st.lists(st.tuples(st.integers(-3, 6), st.integers(0, 4), st.integers(-100, 100)), min_size=1, max_size=20)


# ---------------------------------------------------------------------------- joins


@settings(max_examples=60, deadline=None)
@given(left=keys, right=keys)
def test_equi_join_finds_exactly_the_equal_pairs(left: list[int], right: list[int]) -> None:
    li, ri = equi_join(torch.tensor(left, dtype=torch.int64), torch.tensor(right, dtype=torch.int64))
    pairs = list(zip(li.tolist(), ri.tolist()))
    expected = {(i, j) for i, a in enumerate(left) for j, b in enumerate(right) if a == b}
    assert len(pairs) == len(expected)  # no pair twice
    assert set(pairs) == expected
    assert li.tolist() == sorted(li.tolist())  # ordered by the left row


@settings(max_examples=60, deadline=None)
@given(left=keys, right=st.lists(st.integers(-5, 12), unique=True, max_size=15))
def test_lookup_finds_the_unique_equal_key_or_minus_one(left: list[int], right: list[int]) -> None:
    got = lookup(torch.tensor(left, dtype=torch.int64), torch.tensor(right, dtype=torch.int64)).tolist()
    assert got == [right.index(k) if k in right else -1 for k in left]


# ---------------------------------------------------------------------------- row keys


@settings(max_examples=60, deadline=None)
@given(data=rows)
def test_row_encoder_keys_are_injective_and_ordered_like_the_rows(data: list[tuple[int, int, int]]) -> None:
    cols = torch.tensor(data, dtype=torch.int64)
    enc = RowEncoder.fit(cols)
    assert enc is not None and enc.fits(cols)
    k = enc.encode(cols).tolist()
    for (ra, ka), (rb, kb) in itertools.combinations(zip(data, k), 2):
        assert (ra == rb) == (ka == kb)
        assert (ra < rb) == (ka < kb)  # lexicographic order of rows = order of keys


def test_row_encoder_headroom_and_refusal() -> None:
    cols = torch.tensor([[0, 3, 10], [0, 5, 12]])
    enc = RowEncoder.fit(cols, headroom=2)
    assert enc is not None
    # the range of column 1 is 3..5 (3 values), with headroom 2: 3..8 fit, 9 does not
    assert enc.fits(torch.tensor([[0, 8, 10]]))
    assert not enc.fits(torch.tensor([[0, 9, 10]]))
    assert not enc.fits(torch.tensor([[0, 2, 10]]))  # below the fitted minimum
    assert enc.fits(torch.empty(0, 3, dtype=torch.int64))
    # 3 columns spanning 2**40 each do not pack into 62 bits
    assert RowEncoder.fit(torch.tensor([[0, 0, 0], [2**40, 2**40, 2**40]])) is None


@settings(max_examples=60, deadline=None)
@given(a=rows, b=rows, wide=st.booleans())
def test_row_keys_agree_across_tensors(a: list[tuple], b: list[tuple], wide: bool) -> None:
    ta, tb = torch.tensor(a, dtype=torch.int64), torch.tensor(b, dtype=torch.int64)
    if wide:  # values too spread out to pack: the torch.unique fallback
        ta, tb = ta * 2**40, tb * 2**40
    ka, kb = row_keys(ta, tb)
    all_rows = [tuple(r) for r in torch.cat([ta, tb]).tolist()]
    all_keys = ka.tolist() + kb.tolist()
    for (ra, x), (rb, y) in itertools.combinations(zip(all_rows, all_keys), 2):
        assert (ra == rb) == (x == y)


@settings(max_examples=60, deadline=None)
@given(k=st.lists(st.integers(-50, 50), min_size=1, max_size=30))
def test_sorted_unique_matches_brute_force(k: list[int]) -> None:
    uniq, inverse, first = sorted_unique(torch.tensor(k, dtype=torch.int64))
    assert uniq.tolist() == sorted(set(k))
    assert [uniq.tolist()[g] for g in inverse.tolist()] == k
    assert first.tolist() == [k.index(u) for u in uniq.tolist()]  # the first occurrence of each key


# ---------------------------------------------------------------------------- merge


def _algebra(semiring, n_facts: int = 4):
    return semiring.bind(FactTable.independent(torch.full((n_facts,), 0.5, dtype=torch.float64)))


def _rel(data: list[tuple[int, ...]], tags: list[float]) -> Relation:
    return Relation(torch.tensor(data, dtype=torch.int64), torch.tensor(tags, dtype=torch.float64))


def _as_dict(rel: Relation) -> dict[tuple, float]:
    return {tuple(r): round(float(t), 9) for r, t in zip(rel.cols.tolist(), rel.tags.tolist())}


def test_merge_add_mult_inserts_in_key_order_and_returns_increments() -> None:
    alg = _algebra(AddMult())
    total, _ = merge(Relation.empty(1, alg), _rel([(0, 5), (0, 1), (1, 3)], [0.5, 0.25, 1.0]), alg)
    assert total.cols.tolist() == [[0, 1], [0, 5], [1, 3]]
    assert total.keys is not None and total.keys.tolist() == sorted(total.keys.tolist())
    # round two: (0, 5) derived twice more, (0, 3) and (1, 0) are new, (0, 7) only with tag 0
    derived = _rel([(0, 5), (1, 0), (0, 3), (0, 5), (0, 7)], [0.125, 0.5, 0.75, 0.125, 0.0])
    merged, recent = merge(total, derived, alg)
    assert merged.cols.tolist() == [[0, 1], [0, 3], [0, 5], [1, 0], [1, 3]]
    assert merged.keys.tolist() == sorted(merged.keys.tolist())
    assert merged.keys.tolist() == merged.encoder.encode(merged.cols).tolist()
    assert _as_dict(merged) == {(0, 1): 0.25, (0, 3): 0.75, (0, 5): 0.75, (1, 0): 0.5, (1, 3): 1.0}
    # recent: the changed rows with their increments (add-mult), not the new totals
    assert _as_dict(recent) == {(0, 5): 0.25, (0, 3): 0.75, (1, 0): 0.5}


def test_merge_idempotent_semiring_recent_holds_changed_rows_with_new_tags() -> None:
    alg = _algebra(MaxMult())
    total, _ = merge(Relation.empty(1, alg), _rel([(0, 1), (0, 2)], [0.5, 0.5]), alg)
    merged, recent = merge(total, _rel([(0, 1), (0, 2), (0, 4)], [0.25, 0.75, 0.1]), alg)
    assert _as_dict(merged) == {(0, 1): 0.5, (0, 2): 0.75, (0, 4): 0.1}
    assert _as_dict(recent) == {(0, 2): 0.75, (0, 4): 0.1}  # (0, 1) did not improve


def test_merge_keeps_its_encoder_while_rows_fit_and_refits_when_not() -> None:
    alg = _algebra(AddMult())
    total, _ = merge(Relation.empty(1, alg), _rel([(0, 0), (0, 3)], [1.0, 1.0]), alg)
    enc = total.encoder
    same, _ = merge(total, _rel([(0, 5)], [1.0]), alg)  # within the headroom
    assert same.encoder is enc
    grown, recent = merge(same, _rel([(0, 1000)], [1.0]), alg)
    assert grown.encoder is not enc
    assert grown.cols[:, 1].tolist() == [0, 3, 5, 1000]
    assert grown.keys.tolist() == sorted(grown.keys.tolist())
    assert _as_dict(recent) == {(0, 1000): 1.0}


def test_merge_without_a_packing_key_falls_back_to_sorting() -> None:
    alg = _algebra(AddMult())
    big = 2**61
    total = _rel([(0, 0, 0), (0, big, big)], [0.5, 0.5])
    merged, recent = merge(total, _rel([(0, big, big), (0, 0, big)], [0.25, 0.5]), alg)
    assert _as_dict(merged) == {(0, 0, 0): 0.5, (0, big, big): 0.75, (0, 0, big): 0.5}
    assert _as_dict(recent) == {(0, big, big): 0.25, (0, 0, big): 0.5}


# ---------------------------------------------------------------------------- batching and inputs

SUM2 = "type d(int, int). s(S) :- d(0, A), d(1, B), S is A + B."


def _digits(readings: list[list[list[float]]]) -> InputFacts:
    """``readings[b][m]`` = probabilities of classes 0.. of item ``m`` of sample ``b``."""
    cols, probs, groups = [], [], []
    for b, items in enumerate(readings):
        for m, ps in enumerate(items):
            for c, p in enumerate(ps):
                cols.append([b, m, c])
                probs.append(p)
                groups.append(b * 100 + m)
    return InputFacts(torch.tensor(cols), torch.tensor(probs, dtype=torch.float64), torch.tensor(groups))


def test_a_batch_gives_the_answers_of_separate_runs() -> None:
    samples = [
        [[0.2, 0.8], [0.5, 0.0, 0.5]],
        [[0.0, 0.1, 0.9], [1.0]],
        [[0.3, 0.3, 0.4], [0.6, 0.4]],
    ]
    eng = Engine(SUM2)
    batched = eng.run(semiring=AddMult(), batch_size=3, inputs={"d": _digits(samples)}).answers("s")
    for b, sample in enumerate(samples):
        alone = eng.run(semiring=AddMult(), inputs={"d": _digits([sample])}).answers("s")
        assert [(args, p) for s, args, p in batched if s == b] == [(args, p) for _, args, p in alone]
        brute: dict[int, float] = {}
        for a, pa in enumerate(sample[0]):
            for c, pc in enumerate(sample[1]):
                if pa * pc > 0:
                    brute[a + c] = brute.get(a + c, 0.0) + pa * pc
        assert {args[0]: p for _, args, p in alone} == pytest.approx(brute)


def test_samples_do_not_see_each_others_facts() -> None:
    eng = Engine("type d(int). type e(int). f(X) :- d(X), \\+ e(X). n(C) :- C = count{X : d(X)}.")
    inputs = {
        "d": InputFacts(torch.tensor([[0, 1], [0, 2], [1, 1]]), torch.tensor([0.5, 0.5, 1.0])),
        "e": InputFacts(torch.tensor([[1, 1]]), torch.tensor([0.25])),  # sample 1 only
    }
    res = eng.run(semiring=AddMult(), batch_size=3, inputs=inputs)
    assert res.answers("f") == [(0, (1,), 0.5), (0, (2,), 0.5), (1, (1,), 0.75)]
    # sample 2 has no d facts: count 0 with tag one; the tag of a count is the product of its tuples'
    assert res.answers("n") == [(0, (2,), 0.25), (1, (1,), 1.0), (2, (0,), 1.0)]


def test_input_with_wrong_column_count_is_a_shape_error() -> None:
    eng = Engine(SUM2)
    with pytest.raises(ShapeError, match=r"input 'd' needs cols of shape \(N, 3\) .*got \(2, 2\)"):
        eng.run(semiring=AddMult(), inputs={"d": InputFacts(torch.zeros(2, 2, dtype=torch.int64))})


def test_input_sample_id_out_of_range_is_a_shape_error() -> None:
    eng = Engine(SUM2)
    with pytest.raises(ShapeError, match=r"input 'd' has sample ids outside 0\.\.1"):
        eng.run(semiring=AddMult(), batch_size=2, inputs={"d": InputFacts(torch.tensor([[2, 0, 1]]))})
    with pytest.raises(ShapeError, match=r"input 'd' has sample ids outside 0\.\.1"):
        eng.run(semiring=AddMult(), batch_size=2, inputs={"d": InputFacts(torch.tensor([[-1, 0, 1]]))})


def test_input_probs_of_the_wrong_length_is_a_shape_error() -> None:
    eng = Engine(SUM2)
    bad = InputFacts(torch.tensor([[0, 0, 1]]), probs=torch.tensor([0.5, 0.5]))
    with pytest.raises(ShapeError, match=r"input 'd': probs must have shape \(1,\), got \(2,\)"):
        eng.run(semiring=AddMult(), inputs={"d": bad})


def test_input_for_a_relation_not_in_the_program_is_unknown() -> None:
    eng = Engine(SUM2)
    with pytest.raises(UnknownRelationError, match=r"input relation 'digit' is not in the program") as info:
        eng.run(semiring=AddMult(), inputs={"digit": InputFacts(torch.tensor([[0, 0, 1]]))})
    assert "d, s" in (info.value.hint or "")


# ---------------------------------------------------------------------------- limits

RUNAWAY = "n(0). n(Y) :- n(X), Y is X + 1."


@pytest.mark.parametrize(
    "limits, message",
    [
        (Limits(max_iterations=40), r"relation 'n' was still changing after 40 rounds"),
        (Limits(max_tuples=150), r"relation 'n' grew past 150 tuples"),
        (Limits(time_budget_s=0.3), r"evaluation ran past its time budget of 0\.3 s while deriving 'n'"),
    ],
    ids=["max_iterations", "max_tuples", "time_budget_s"],
)
def test_runaway_rule_hits_each_limit_quickly(limits: Limits, message: str) -> None:
    eng = Engine(RUNAWAY, limits=limits)
    started = time.monotonic()
    with pytest.raises(ResourceLimitError, match=message) as info:
        eng.run(semiring=AddMult())
    elapsed = time.monotonic() - started
    assert info.value.relation == "n"
    assert "Limits(" in (info.value.hint or "")
    assert elapsed < 20.0, f"took {elapsed:.1f} s to notice the limit"


def test_add_mult_on_a_multiplying_cycle_diverges_with_an_error() -> None:
    # two derivations per round: the increment doubles until float32 overflows
    eng = Engine("e(a). p(X) :- e(X). p(X) :- p(X), e(X). p(X) :- e(X), p(X).")
    with pytest.raises(ResourceLimitError, match=r"the tags of relation 'p' grew without bound") as info:
        eng.run(semiring=AddMult())
    assert info.value.relation == "p"
    # the same cycle is fine in an idempotent semiring
    assert eng.run(semiring=MaxMult()).answers("p") == [(0, ("a",), 1.0)]


def test_add_mult_on_a_certain_cycle_hits_the_round_limit() -> None:
    # a path around a cycle of certain edges: each round adds 1 more to path(a, a)
    eng = Engine("e(a, b). e(b, a). path(X, Y) :- e(X, Y). path(X, Z) :- path(X, Y), e(Y, Z).",
                 limits=Limits(max_iterations=60))
    with pytest.raises(ResourceLimitError, match=r"relation 'path' was still changing after 60 rounds") as info:
        eng.run(semiring=AddMult())
    assert info.value.relation == "path"
    assert sorted(eng.run(semiring=MaxMult()).answers("path")) == [
        (0, ("a", "a"), 1.0), (0, ("a", "b"), 1.0), (0, ("b", "a"), 1.0), (0, ("b", "b"), 1.0)]


# ---------------------------------------------------------------------------- targets

TARGETED = """
    edge(1, 2). edge(2, 3). 0.5 :: edge(3, 4).
    reach(X, Y) :- edge(X, Y).
    reach(X, Z) :- reach(X, Y), edge(Y, Z).
    sink(X) :- reach(_, X), \\+ edge(X, _).
    n_reach(X, N) :- edge(X, _), N = count{Y : reach(X, Y)}.
    dom(X) :- edge(X, _).
    dom(X) :- edge(_, X).
    big(A, B, C, D) :- dom(A), dom(B), dom(C), dom(D).
    n(0).
    n(Y) :- n(X), Y is X + 1.
"""


def test_targets_compute_only_what_the_targets_need() -> None:
    eng = Engine(TARGETED, limits=Limits(max_tuples=300))
    assert eng.dependencies(["sink"]) == {"sink", "reach", "edge"}
    with pytest.raises(ResourceLimitError, match=r"relation 'n' grew past 300 tuples"):
        eng.run(semiring=MaxMult())  # everything: the runaway relation too
    res = eng.run(semiring=MaxMult(), targets=["sink", "n_reach"])
    # n_reach(3, 1) also needs edge(3, 4) itself: 0.5 * 0.5
    assert sorted(res.answers("sink")) == [(0, (3,), 0.5), (0, (4,), 0.5)]
    assert sorted(res.answers("n_reach")) == [(0, (1, 3), 0.5), (0, (2, 2), 0.5), (0, (3, 1), 0.25)]
    assert len(res["big"]) == 0 and len(res["dom"]) == 0
    assert res.answers("n") == [(0, (0,), 1.0)]  # its fact only; the rule never ran


# ---------------------------------------------------------------------------- dtype, device, gradients


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_results_keep_the_dtype_and_device_of_the_inputs(dtype: torch.dtype) -> None:
    facts = _digits([[[0.25, 0.75], [0.5, 0.5]]])
    facts.probs = facts.probs.to(dtype)
    res = Engine(SUM2).run(semiring=AddMult(), inputs={"d": facts})
    cols, probs = res.probabilities("s")
    assert probs.dtype == dtype
    assert probs.device == facts.cols.device == cols.device
    assert cols.dtype == torch.int64


def test_learnable_weights_set_the_dtype_when_there_are_no_inputs() -> None:
    eng = Engine("t(0.6) :: r(a). q(X) :- r(X).")
    learnable = torch.tensor([0.25], dtype=torch.float64)
    _, probs = eng.run(semiring=AddMult(), learnable=learnable).probabilities("q")
    assert probs.dtype == torch.float64
    assert probs.tolist() == [0.25]
    _, default = eng.run(semiring=AddMult()).probabilities("q")
    assert default.tolist() == pytest.approx([0.6])


def _sum_distribution(eng: Engine, p: torch.Tensor, n_sums: int) -> torch.Tensor:
    """``P(sum(s))`` for s in 0..n_sums-1 from readings ``p`` of shape (items, classes)."""
    items, classes = p.shape
    cols = torch.tensor([[0, m, c] for m in range(items) for c in range(classes)])
    groups = torch.arange(items).repeat_interleave(classes)
    res = eng.run(semiring=AddMult(), inputs={"digit": InputFacts(cols, p.reshape(-1), groups)}, targets=["sum"])
    s_cols, probs = res.probabilities("sum")
    return torch.zeros(n_sums, dtype=p.dtype).index_add(0, s_cols[:, 1], probs)


def test_gradients_match_finite_differences_through_a_recursive_sum() -> None:
    from pathlib import Path

    program = (Path(__file__).resolve().parents[3] / "knowledge/digit_sum.dl").read_text() + "num_digits(2)."
    eng = Engine(program)
    gen = torch.Generator().manual_seed(0)
    p = torch.softmax(torch.randn(2, 3, generator=gen, dtype=torch.float64), dim=1).requires_grad_(True)
    dist = _sum_distribution(eng, p, 5)
    expected = torch.zeros(5, dtype=torch.float64)
    for a, b in itertools.product(range(3), range(3)):
        expected[a + b] += p[0, a].detach() * p[1, b].detach()
    assert torch.allclose(dist.detach(), expected)
    # d P(sum(2)) / d p(digit(0, 1)) = p(digit(1, 1))
    (g,) = torch.autograd.grad(dist[2], p)
    assert float(g[0, 1]) == pytest.approx(float(p[1, 1]))
    assert torch.autograd.gradcheck(lambda q: _sum_distribution(eng, q, 5), (p,), eps=1e-6, atol=1e-8)
