"""The dense representation gives the sparse engine's results: values, rows and gradients.

Random integer programs (running sums, comparisons, arithmetic, closures, negation, ...)
on batches of probabilistic inputs with mutually exclusive groups are evaluated both
ways in every semiring with dense kernels; so are the digit programs of the benchmarks.
Programs outside the fragment fall back to sparse (``auto``) or raise a typed error
(``dense``); runaway recursion raises ``ResourceLimitError`` in both representations.
"""

from __future__ import annotations

import random
import zlib
from pathlib import Path

import pytest
import torch

from greybox.engine.dense.qualify import DenseUnsupportedError
from greybox.engine.engine import Engine, InputFacts, Limits
from greybox.errors import ConfigError, ResourceLimitError
from greybox.semirings import AddMult, Boolean, MaxMin, MaxMult, TopKProofs
from tests.helpers.random_programs import random_dense_inputs, random_dense_program

ROOT = Path(__file__).resolve().parents[3]
SEMIRINGS = {"add-mult": AddMult, "max-mult": MaxMult, "max-min": MaxMin, "boolean": Boolean}
N_PROGRAMS = 60
BATCH = 3


def _inputs(case, seed: int) -> tuple[dict[str, InputFacts], list[torch.Tensor]]:
    rows = random_dense_inputs(case, random.Random(seed), BATCH)
    inputs, leaves = {}, []
    for name, (cols, probs, groups) in rows.items():
        c = torch.tensor(cols, dtype=torch.int64).reshape(-1, 3 if name != "n" else 2)
        p = None
        if probs is not None:
            p = torch.tensor(probs, dtype=torch.float64, requires_grad=True)
            leaves.append(p)
        g = torch.tensor(groups, dtype=torch.int64) if groups is not None else None
        inputs[name] = InputFacts(c, p, g)
    return inputs, leaves


def _weight(name: str, sample: int, args: tuple) -> float:
    """A fixed pseudo-random weight per tuple, the same in both representations."""
    return 0.5 + (zlib.crc32(f"{name}{sample}{args}".encode()) % 1000) / 1000


def _evaluate(engine: Engine, semiring, inputs, leaves, learnable, representation: str, targets=None):
    """Answers per relation ``{(sample, args): p}`` and the gradient of a weighted sum of them."""
    res = engine.run(semiring=semiring, batch_size=BATCH, inputs=inputs, learnable=learnable,
                     dtype=torch.float64, targets=targets, representation=representation)
    names = targets if targets is not None else sorted(engine.info.relations)
    answers, loss = {}, torch.zeros((), dtype=torch.float64)
    for name in names:
        cols, probs = res.probabilities(name)
        keys = [(s, a) for s, a in zip(cols[:, 0].tolist(), res.decode(name, cols))]
        answers[name] = dict(zip(keys, probs.detach().tolist()))
        if probs.requires_grad:
            w = torch.tensor([_weight(name, s, a) for s, a in keys], dtype=torch.float64)
            loss = loss + (probs * w).sum()
    wrt = leaves + ([learnable] if learnable is not None else [])
    grads = torch.autograd.grad(loss, wrt, allow_unused=True) if loss.requires_grad else [None] * len(wrt)
    grads = [g if g is not None else torch.zeros_like(x) for g, x in zip(grads, wrt)]
    return answers, grads


def _compare(case_src: str, want, got, label: str) -> None:
    (a_want, g_want), (a_got, g_got) = want, got
    for name in a_want:
        assert set(a_got[name]) == set(a_want[name]), f"{label}: tuples of {name} differ on:\n{case_src}"
        for key, p in a_want[name].items():
            assert a_got[name][key] == pytest.approx(p, abs=1e-6), f"{label}: {name}{key} on:\n{case_src}"
    for gw, gg in zip(g_want, g_got):
        assert torch.allclose(gw, gg, atol=1e-6), f"{label}: gradients differ on:\n{case_src}\n{gw}\n{gg}"


@pytest.mark.parametrize("seed", range(N_PROGRAMS))
def test_random_programs_agree_with_sparse_in_every_semiring(seed: int) -> None:
    case = random_dense_program(random.Random(seed))
    src = "\n".join(case.statements)
    engine = Engine(src, limits=Limits(max_iterations=60))
    inputs, leaves = _inputs(case, seed)
    learnable = None
    if engine.learnable_facts:
        learnable = engine.learnable_initial.double().clone().requires_grad_(True)
    targets = None if seed % 3 else [random.Random(seed).choice(sorted(engine.info.strata[-1].relations))]
    for sr_name, sr in SEMIRINGS.items():
        if case.negation and sr_name == "add-mult":
            with pytest.raises(DenseUnsupportedError, match="negation under add-mult"):
                engine.run(semiring=sr(), batch_size=BATCH, inputs=inputs, representation="dense")
            continue
        try:
            want = _evaluate(engine, sr(), inputs, leaves, learnable, "sparse", targets)
        except ResourceLimitError as err:  # a cycle that keeps adding: the dense fixpoint stops the same way
            with pytest.raises(ResourceLimitError) as dense_err:
                _evaluate(engine, sr(), inputs, leaves, learnable, "dense", targets)
            assert dense_err.value.relation == err.relation
            continue
        got = _evaluate(engine, sr(), inputs, leaves, learnable, "dense", targets)
        _compare(src, want, got, sr_name)


def _digit_case(kind: str, n: int, seed: int = 0):
    """The digit program of the benchmarks with ``num_digits(n)``, a batch of 4 and its inputs."""
    path = ROOT / f"knowledge/digit_{kind}.dl"
    src = path.read_text() + f"\nnum_digits({n}).\n"
    engine = Engine(src)
    gen = torch.Generator().manual_seed(seed)
    b, m = 4, n if kind == "sum" else 2 * n
    probs = torch.randn(b, m, 10, generator=gen, dtype=torch.float64).softmax(-1).requires_grad_(True)
    sample = torch.arange(b).repeat_interleave(m * 10)
    item = torch.arange(m).repeat_interleave(10).repeat(b)
    digit = torch.arange(10).repeat(b * m)
    groups = torch.arange(b * m).repeat_interleave(10)
    inputs = {"digit": InputFacts(torch.stack([sample, item, digit], 1), probs.reshape(-1), groups)}
    if kind == "add":
        digits = torch.randint(0, 10, (b, m), generator=gen)
        w = 10 ** torch.arange(n - 1, -1, -1)
        label = (digits[:, :n] * w).sum(1) + (digits[:, n:] * w).sum(1)
        target = (label[:, None] // 10 ** torch.arange(n + 1)) % 10  # least significant first
        pos = torch.arange(n + 1).repeat(b)
        inputs["target"] = InputFacts(torch.stack([torch.arange(b).repeat_interleave(n + 1), pos, target.reshape(-1)], 1))
    return engine, inputs, probs


@pytest.mark.parametrize("kind,query", [("sum", "sum"), ("add", "correct")])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 15])
def test_digit_programs_agree_with_sparse(kind: str, query: str, n: int) -> None:
    engine, inputs, probs = _digit_case(kind, n)
    results = {}
    for rep in ("sparse", "dense"):
        res = engine.run(semiring=AddMult(), batch_size=4, inputs=inputs, targets=[query], representation=rep)
        cols, p = res.probabilities(query)
        w = torch.tensor([_weight(query, s, a) for s, a in zip(cols[:, 0].tolist(), res.decode(query, cols))],
                         dtype=torch.float64)
        (grad,) = torch.autograd.grad((p * w).sum(), probs)
        results[rep] = (cols, p.detach(), grad)
    (c_s, p_s, g_s), (c_d, p_d, g_d) = results["sparse"], results["dense"]
    assert torch.equal(c_s, c_d)
    assert len(c_s) == (4 * (9 * n + 1) if kind == "sum" else 4)
    assert torch.allclose(p_s, p_d, atol=1e-12)
    assert torch.allclose(g_s, g_d, atol=1e-12)
    assert float(g_d.abs().sum()) > 0


def test_auto_takes_the_dense_path_and_caches_the_plan() -> None:
    engine, inputs, _ = _digit_case("sum", 3)
    auto = engine.run(semiring=AddMult(), batch_size=4, inputs=inputs, targets=["sum"])
    assert type(auto.relations).__name__ == "DenseRelations"
    engine.run(semiring=AddMult(), batch_size=4, inputs=inputs, targets=["sum"])
    assert len(engine._dense._programs) == 1  # same value ranges: compiled once
    # intermediate relations read back too (what the targets depend on)
    assert len(auto["prefix"]) == 4 * sum(9 * i + 1 for i in range(4))
    with pytest.raises(KeyError, match="not evaluated"):
        auto["no_such_relation"]


def test_symbols_decode_in_dense_answers() -> None:
    engine = Engine("edge(a, b). 0.5 :: edge(b, c). path(X, Y) :- edge(X, Y). path(X, Z) :- path(X, Y), edge(Y, Z).")
    dense = engine.run(semiring=MaxMult(), representation="dense")
    assert sorted(dense.answers("path")) == [(0, ("a", "b"), 1.0), (0, ("a", "c"), 0.5), (0, ("b", "c"), 0.5)]


# ------------------------------------------------------------------ outside the fragment


def test_top_k_falls_back_to_sparse_or_raises_in_dense() -> None:
    engine, inputs, _ = _digit_case("sum", 2)
    auto = engine.run(semiring=TopKProofs(2), batch_size=4, inputs=inputs, targets=["sum"])
    sparse = engine.run(semiring=TopKProofs(2), batch_size=4, inputs=inputs, targets=["sum"], representation="sparse")
    assert torch.equal(auto["sum"].cols, sparse["sum"].cols)
    with pytest.raises(DenseUnsupportedError, match="top-k has no dense kernels"):
        engine.run(semiring=TopKProofs(2), batch_size=4, inputs=inputs, targets=["sum"], representation="dense")


def test_aggregates_do_not_qualify() -> None:
    src = "q(1). q(2).\nn(N) :- N = count{X : q(X)}."
    engine = Engine(src)
    assert engine.run(semiring=AddMult()).answers("n") == [(0, (2,), 1.0)]
    with pytest.raises(DenseUnsupportedError, match="aggregate count") as err:
        engine.run(semiring=AddMult(), representation="dense")
    assert err.value.line == 2 and err.value.hint


def test_negation_qualifies_in_idempotent_semirings_only() -> None:
    src = "0.4 :: q(1). q(2). 0.7 :: r(1).\np(X) :- q(X), \\+ r(X)."
    engine = Engine(src)
    assert engine.run(semiring=MaxMult(), representation="dense").answers("p") == [(0, (1,), 0.12), (0, (2,), 1.0)]
    with pytest.raises(DenseUnsupportedError, match="negation under add-mult") as err:
        engine.run(semiring=AddMult(), representation="dense")
    assert err.value.line == 2


def test_large_domains_do_not_qualify() -> None:
    engine = Engine("type e(int, int).\np(X, Y) :- e(X, Y).")
    rows = torch.tensor([[0, 0, 0], [0, 5000, 5000]])
    inputs = {"e": InputFacts(rows)}
    assert len(engine.run(semiring=Boolean(), inputs=inputs)["p"]) == 2  # auto: sparse
    with pytest.raises(DenseUnsupportedError, match="more than the 1,000,000 cells"):
        engine.run(semiring=Boolean(), inputs=inputs, representation="dense")


def test_values_without_a_bound_do_not_qualify() -> None:
    src = "n(0).\nn(Y) :- n(X), Y is X + 1."
    engine = Engine(src, limits=Limits(max_iterations=50))
    with pytest.raises(DenseUnsupportedError, match="no bound") as err:
        engine.run(semiring=Boolean(), representation="dense")
    assert err.value.line == 2
    with pytest.raises(ResourceLimitError, match="'n'"):  # auto: the sparse engine's limit
        engine.run(semiring=Boolean())


def test_unknown_representation_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown representation 'tensor'"):
        Engine("p(1).", representation="tensor")
    with pytest.raises(ConfigError, match="use one of: auto, sparse, dense"):
        Engine("p(1).").run(semiring=Boolean(), representation="tensor")


# ------------------------------------------------------------------ limits


def test_a_cycle_that_keeps_adding_raises_in_dense_mode() -> None:
    src = "type e(int, int).\npath(X, Y) :- e(X, Y).\npath(X, Z) :- path(X, Y), e(Y, Z)."
    engine = Engine(src, limits=Limits(max_iterations=40))
    cycle = {"e": InputFacts(torch.tensor([[0, 0, 1], [0, 1, 0], [0, 1, 2]]))}  # certain edges: sums grow forever
    for rep in ("sparse", "dense"):
        with pytest.raises(ResourceLimitError, match="'path'") as err:
            engine.run(semiring=AddMult(), inputs=cycle, representation=rep)
        assert err.value.relation == "path"
    # two parallel cycles double the sum every round: the tags overflow
    src2 = "type e(int, int).\ntype f(int, int).\nw(X, Y) :- e(X, Y).\nw(X, Z) :- w(X, Y), e(Y, Z).\nw(X, Z) :- w(X, Y), f(Y, Z)."
    engine2 = Engine(src2, limits=Limits(max_iterations=5000))
    loops = {"e": InputFacts(torch.tensor([[0, 0, 0]])), "f": InputFacts(torch.tensor([[0, 0, 0]]))}
    with pytest.raises(ResourceLimitError, match="grew without bound") as err:
        engine2.run(semiring=AddMult(), inputs=loops, dtype=torch.float32, representation="dense")
    assert err.value.relation == "w"


def test_a_converging_cycle_matches_sparse() -> None:
    src = "type e(int, int).\npath(X, Y) :- e(X, Y).\npath(X, Z) :- path(X, Y), e(Y, Z)."
    engine = Engine(src)
    p = torch.tensor([0.5, 0.25, 0.5], dtype=torch.float64, requires_grad=True)
    cycle = {"e": InputFacts(torch.tensor([[0, 0, 1], [0, 1, 0], [0, 1, 2]]), p)}
    out = {}
    for rep in ("sparse", "dense"):
        res = engine.run(semiring=AddMult(), inputs=cycle, representation=rep)
        cols, probs = res.probabilities("path")
        (g,) = torch.autograd.grad(probs.sum(), p)
        out[rep] = (cols, probs.detach(), g)
    assert torch.equal(out["sparse"][0], out["dense"][0])
    assert torch.allclose(out["sparse"][1], out["dense"][1], atol=1e-6)
    assert torch.allclose(out["sparse"][2], out["dense"][2], atol=1e-5)
