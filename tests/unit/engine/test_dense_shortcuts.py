"""The dense engine's shortcuts give the sparse engine's results: values, rows and gradients.

* relations of certain facts that fill their box are read without a product (``ones``);
* a rule's operations are compiled once per geometry of its blocks (the tape);
* a recursive relation is read by windows and built whole only when asked for;
* ``EvalResult.probability_at`` (and ``ReasoningOutput.probability_of``) read cells directly.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from greybox.engine.engine import Engine, InputFacts
from greybox.neural.module import ReasoningModule
from greybox.semirings import AddMult, Boolean, MaxMin, MaxMult
from tests.unit.engine.test_dense import ROOT, _compare, _digit_case, _evaluate

SEMIRINGS = {"add-mult": AddMult, "max-mult": MaxMult, "max-min": MaxMin, "boolean": Boolean}
IDEMPOTENT = ("max-mult", "max-min", "boolean")

#: (program, relations held as ones, semirings)
ONES_PROGRAMS = [
    # a filter the ranges do not decide, on the variable of a certain fact
    ("limit(3). p(X, Y) :- limit(N), d(X, Y), X < N.", {"limit"}, tuple(SEMIRINGS)),
    # certain facts that fill a box of three cells, read by a bind
    ("n(1). n(2). n(3). q(X, S) :- n(X), d(X, Y), S is X + Y.", {"n"}, tuple(SEMIRINGS)),
    # a body of one certain fact and a bind: the unit is laid out by the bind
    ("k(2). s(S) :- k(K), S is K * 2.", {"k"}, tuple(SEMIRINGS)),
    # a dropped variable of two values: two derivations of each c(Y)
    ("n(1). n(2). c(Y) :- n(X), d(0, Y).", {"n"}, tuple(SEMIRINGS)),
    # a certain fact first, then a negation (idempotent semirings only)
    ("ok(4). 0.5 :: bad(2). r(X) :- ok(N), d(X, Y), \\+ bad(Y), X < N.", {"ok"}, IDEMPOTENT),
    # a certain fact whose variable the next atom does not read: its axis joins the atom's
    ("k(1). e(X, K) :- k(K), d(X, 0).", {"k"}, tuple(SEMIRINGS)),
    # a recursion that reads a certain bound
    ("top(3). c(0). c(J) :- c(I), top(T), I < T, d(I, Y), J is I + 1.", {"top"}, tuple(SEMIRINGS)),
    # not ones: an uncertain fact, and certain facts with a gap in their box
    ("0.5 :: w(1). g(X) :- w(X), d(X, _).", set(), tuple(SEMIRINGS)),
    ("m(1). m(3). h(X) :- m(X), d(X, _).", set(), tuple(SEMIRINGS)),
]


def _d_inputs(seed: int) -> tuple[dict[str, InputFacts], list[torch.Tensor]]:
    """``d(X, Y)`` for X in 0..4, Y in 0..3, three samples, one group per (sample, X)."""
    gen = torch.Generator().manual_seed(seed)
    b, xs, ys = 3, 5, 4
    probs = torch.rand(b, xs, ys, generator=gen, dtype=torch.float64).softmax(-1).reshape(-1).requires_grad_(True)
    sample = torch.arange(b).repeat_interleave(xs * ys)
    x = torch.arange(xs).repeat_interleave(ys).repeat(b)
    y = torch.arange(ys).repeat(b * xs)
    groups = torch.arange(b * xs).repeat_interleave(ys)
    return {"d": InputFacts(torch.stack([sample, x, y], 1), probs, groups)}, [probs]


@pytest.mark.parametrize("index", range(len(ONES_PROGRAMS)))
def test_certain_facts_are_read_without_a_product(index: int) -> None:
    src, ones, semirings = ONES_PROGRAMS[index]
    engine = Engine("type d(int, int).\n" + src, inputs={"d": 2})
    for name in semirings:
        inputs, leaves = _d_inputs(index)
        want = _evaluate(engine, SEMIRINGS[name](), inputs, leaves, None, "sparse")
        got = _evaluate(engine, SEMIRINGS[name](), inputs, leaves, None, "dense")
        _compare(src, want, got, name)
    programs = list(engine._dense._programs.values())
    assert programs and all(p.ones == ones for p in programs)


@pytest.mark.parametrize("start,seed_ones", [("c(0).", {"c"}), ("c(0). c(1).", {"c"}), ("c(0). c(2).", set()),
                                             ("0.5 :: c(0).", set())])
def test_a_recursion_from_certain_facts_reads_them_without_a_product(start: str, seed_ones) -> None:
    # c(0). c(2).: the facts leave a hole in their box, whose first recent block is not all ones
    src = f"{start} c(J) :- c(I), I < 4, d(I, Y), Y > 0, J is I + 1 + Y."
    engine = Engine("type d(int, int).\n" + src, inputs={"d": 2})
    for name in SEMIRINGS:
        inputs, leaves = _d_inputs(len(start))
        want = _evaluate(engine, SEMIRINGS[name](), inputs, leaves, None, "sparse")
        got = _evaluate(engine, SEMIRINGS[name](), inputs, leaves, None, "dense")
        _compare(src, want, got, name)
    programs = list(engine._dense._programs.values())
    assert programs and all(p.seed_ones == seed_ones for p in programs)


def test_runs_of_layout_operations_become_one_reshape() -> None:
    from greybox.engine.dense.tape import _LAYOUT, _reshape

    # sum-2's rules: each run of layout operations there renames cells only
    engine, inputs, _ = _digit_case("sum", 2)
    engine.run(semiring=AddMult(), batch_size=4, inputs=inputs, targets=["sum"])
    (program,) = engine._dense._programs.values()
    (cache,) = program.cache.values()
    tapes = [v for k, v in cache.items() if k[0] == "tape" and hasattr(v, "ops")]
    names = [[op for op, _ in tape.ops] for tape in tapes]
    assert any(_reshape in ops for ops in names)
    for ops in names:  # no two layout operations in a row
        layout = [op in _LAYOUT or op is _reshape for op in ops]
        assert not any(a and b for a, b in zip(layout, layout[1:])), ops


def test_a_rule_is_compiled_once_per_geometry() -> None:
    engine, inputs, _ = _digit_case("sum", 4)
    engine.run(semiring=AddMult(), batch_size=4, inputs=inputs, targets=["sum"])
    (program,) = engine._dense._programs.values()
    (cache,) = program.cache.values()
    tapes = {k for k in cache if k[0] == "tape"}
    assert len(tapes) >= 4  # one per round: the recent block moves
    engine.run(semiring=AddMult(), batch_size=4, inputs=inputs, targets=["sum"])
    assert {k for k in cache if k[0] == "tape"} == tapes


def test_a_recursive_relation_is_built_whole_only_when_read() -> None:
    engine, inputs, probs = _digit_case("sum", 3)
    dense = engine.run(semiring=AddMult(), batch_size=4, inputs=inputs, targets=["sum"], representation="dense")
    sparse = engine.run(semiring=AddMult(), batch_size=4, inputs=inputs, targets=["sum"], representation="sparse")
    assert not isinstance(dense.relations.tensors["prefix"], torch.Tensor)  # still the pieces of its fixpoint
    assert sorted(dense.answers("prefix")) == sorted(sparse.answers("prefix"))
    assert isinstance(dense.relations.tensors["prefix"], torch.Tensor)


@pytest.mark.parametrize("semiring", sorted(SEMIRINGS))
def test_probability_at_reads_the_cells_of_given_tuples(semiring: str) -> None:
    engine, inputs, probs = _digit_case("sum", 2)
    rows = torch.tensor([[0, 0], [0, 18], [1, 5], [1, 19], [2, -1], [3, 7], [3, 7]])  # 19, -1: outside the box
    results = {}
    for rep in ("sparse", "dense"):
        res = engine.run(semiring=SEMIRINGS[semiring](), batch_size=4, inputs=inputs, targets=["sum"],
                         representation=rep)
        p = res.probability_at("sum", rows)
        grad = torch.autograd.grad(p.sum(), probs, allow_unused=True)[0] if p.requires_grad else None
        results[rep] = (p.detach(), grad)
        expected = {(s, args[0]): q for s, args, q in res.answers("sum")}
        for (s, v), q in zip(rows.tolist(), p.tolist()):
            assert q == pytest.approx(expected.get((s, v), 0.0), abs=1e-6)
    (p_s, g_s), (p_d, g_d) = results["sparse"], results["dense"]
    assert torch.allclose(p_s.double(), p_d.double(), atol=1e-9)
    assert float(p_d[3]) == 0.0 and float(p_d[4]) == 0.0
    if g_s is not None or g_d is not None:
        assert torch.allclose(g_s, g_d, atol=1e-9)


@pytest.mark.parametrize("semiring", sorted(SEMIRINGS))
@pytest.mark.parametrize("relation,codes", [("sum", [[0], [18], [19], [-1]]), ("pair", [[0, 9], [9, 9], [10, 0], [3, -2]]),
                                            ("shifted", [[5], [23], [24], [4]]), ("some", [[], [], [], []])])
def test_probability_per_sample_is_probability_at_with_the_sample_ids(semiring: str, relation: str, codes) -> None:
    _, inputs, probs = _digit_case("sum", 2)
    src = (ROOT / "knowledge/digit_sum.dl").read_text() + "\nnum_digits(2).\n"
    engine = Engine(src + "pair(A, B) :- digit(0, A), digit(1, B).\nsome :- sum(S), S > 15.\n"
                    "shifted(T) :- sum(S), T is S + 5.\n")  # a box from 5 on
    codes = torch.tensor(codes, dtype=torch.int64).reshape(4, -1)  # one tuple per sample, some outside the box
    rows = torch.cat([torch.arange(4)[:, None], codes], dim=1)
    for rep in ("sparse", "dense"):
        res = engine.run(semiring=SEMIRINGS[semiring](), batch_size=4, inputs=inputs, targets=[relation],
                         representation=rep)
        want = res.probability_at(relation, rows)
        got = res.probability_per_sample(relation, codes)
        assert torch.allclose(got, want, atol=1e-9), rep
        if got.requires_grad:
            g_got = torch.autograd.grad(got.sum(), probs, retain_graph=True)[0]
            g_want = torch.autograd.grad(want.sum(), probs)[0]
            assert torch.allclose(g_got, g_want, atol=1e-9), rep
    assert float(want.abs().sum()) > 0.0  # not every tuple asked for is missing


@pytest.mark.parametrize("query,answers", [("pair(A, B)", [(0, 1), (2, 2), (1, 0)]), ("pair(A, A)", [(1,), (2,), (0,)]),
                                           ("pair(1, B)", [(0,), (2,), (1,)]), ("pair(z, B)", [(0,), (1,), (2,)])])
def test_probability_of_agrees_in_both_representations(query: str, answers) -> None:
    program = "nn(net, [X], Y, [0..2]) :: d(X, Y).\npair(A, B) :- d(0, A), d(1, B).\n"
    model = ReasoningModule(program, {"net": nn.Softmax(-1)}, query=query)
    x = torch.randn(3, 2, 3, generator=torch.Generator().manual_seed(1), requires_grad=True)
    out = {}
    for rep in ("sparse", "dense"):
        model.engine.representation = rep
        p = model({"net": x}).probability_of(answers)
        (grad,) = torch.autograd.grad(p.sum(), x)
        out[rep] = (p.detach(), grad)
    (p_s, g_s), (p_d, g_d) = out["sparse"], out["dense"]
    assert torch.allclose(p_s, p_d, atol=1e-6) and torch.allclose(g_s, g_d, atol=1e-6)
    if "z" in query:  # a symbol the program never saw: no answer
        assert float(p_d.abs().sum()) == 0.0
    else:
        assert float(p_d.min()) > 0.0
