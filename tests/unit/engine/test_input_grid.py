"""Facts given as a grid (``InputFacts.grid``) are the facts given as rows: same rows, same
answers and gradients in the dense and the sparse engine, in every semiring."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from greybox.engine.engine import Engine, InputFacts
from greybox.errors import ShapeError
from greybox.neural.module import ReasoningModule
from greybox.neural.predicate import NeuralOutput
from greybox.semirings import AddMult, Boolean, MaxMin, MaxMult, TopKProofs
from tests.unit.engine.test_dense import BATCH, _compare, _evaluate

SEMIRINGS = {"add-mult": AddMult, "max-mult": MaxMult, "max-min": MaxMin, "boolean": Boolean}


def _rows(values: torch.Tensor, lo: tuple[int, ...], exclusive: int | None) -> InputFacts:
    """The facts of a grid written out as rows, the slow obvious way."""
    cols, probs, groups, keys = [], [], [], {}
    for index in torch.cartesian_prod(*(torch.arange(n) for n in values.shape)).reshape(-1, values.dim()).tolist():
        cols.append([index[0], *(l + i for l, i in zip(lo, index[1:]))])
        probs.append(values[tuple(index)])
        if exclusive is not None:
            outer = tuple(i for k, i in enumerate(index) if k != 1 + exclusive)
            groups.append(keys.setdefault(outer, len(keys)))
    return InputFacts(torch.tensor(cols), torch.stack(probs),
                      torch.tensor(groups) if exclusive is not None else None)


@pytest.mark.parametrize("exclusive", [None, 0, 1])
def test_a_grid_lists_the_rows_it_stands_for(exclusive) -> None:
    values = torch.rand(3, 2, 4)
    grid = InputFacts.grid(values, lo=(5, -1), exclusive=exclusive)
    rows = _rows(values, (5, -1), exclusive)
    assert grid.cols.tolist() == rows.cols.tolist()
    assert torch.equal(grid.probs, rows.probs)
    if exclusive is None:
        assert grid.groups is None
    else:
        assert grid.groups.tolist() == rows.groups.tolist()
    low, high, groups = grid.bounds()
    assert low == rows.cols.min(0).values.tolist() and high == rows.cols.max(0).values.tolist()
    assert groups == (None if exclusive is None else (0, int(rows.groups.max())))
    assert len(grid) == 24 and grid.width == 3


#: programs over d(X, Y) (X in 0..4, Y in 0..3 in the grid; rules may reach beyond it)
PROGRAMS = [
    "s(S) :- d(0, A), d(1, B), S is A + B.",
    "p(X) :- d(X, Y), Y > 1.",
    "c(0). c(J) :- c(I), I < 4, d(I, Y), J is I + 1.",
    "q(X, Y) :- d(X, Y). q(X, Y) :- q(X, Z), d(Z, Y), Z < Y.",
    "lim(7). e(X) :- lim(N), d(X, _), X < N. f(Y) :- e(X), d(X, Y).",
    # the program's own facts of d widen its box beyond the grid on every side
    "d(0, 9). 0.5 :: d(8, 0). g(X, Y) :- d(X, Y), X < Y. h(Y) :- d(X, Y), X > 2.",
]


def _grid(seed: int, lo: tuple[int, int], batch: int) -> tuple[torch.Tensor, InputFacts, InputFacts]:
    gen = torch.Generator().manual_seed(seed)
    values = torch.rand(batch, 5, 4, generator=gen, dtype=torch.float64).softmax(-1).requires_grad_(True)
    return values, InputFacts.grid(values, lo, exclusive=1), _rows(values, lo, exclusive=1)


@pytest.mark.parametrize("index", range(len(PROGRAMS)))
@pytest.mark.parametrize("lo,batch", [((0, 0), BATCH), ((1, 2), BATCH - 1)])
def test_a_grid_gives_the_answers_and_gradients_of_its_rows(index: int, lo, batch: int) -> None:
    src = PROGRAMS[index]
    engine = Engine("type d(int, int).\n" + src, inputs={"d": 2})
    for name, semiring in SEMIRINGS.items():
        values, grid, rows = _grid(index, lo, batch)
        want = _evaluate(engine, semiring(), {"d": rows}, [values], None, "sparse")
        for representation in ("dense", "sparse"):
            got = _evaluate(engine, semiring(), {"d": grid}, [values], None, representation)
            _compare(src, want, got, f"{name}, {representation}, lo={lo}")


def test_a_grid_keeps_its_groups_for_proofs() -> None:
    engine = Engine("type d(int, int).\n" + PROGRAMS[0], inputs={"d": 2})
    values, grid, rows = _grid(0, (0, 0), BATCH)
    want = engine.run(semiring=TopKProofs(3), batch_size=BATCH, inputs={"d": rows}).answers("s")
    got = engine.run(semiring=TopKProofs(3), batch_size=BATCH, inputs={"d": grid}).answers("s")
    assert got == want


def test_a_grid_of_the_wrong_shape_is_refused() -> None:
    with pytest.raises(ShapeError, match="one starting value per argument"):
        InputFacts.grid(torch.rand(2, 3), lo=(0, 0))
    engine = Engine("type d(int, int). p(X) :- d(X, _).", inputs={"d": 2})
    with pytest.raises(ShapeError, match="input 'd' needs a grid of shape"):
        engine.run(semiring=AddMult(), batch_size=2, inputs={"d": InputFacts.grid(torch.rand(2, 3), lo=(0,))})
    with pytest.raises(ShapeError, match="sample ids outside"):
        engine.run(semiring=AddMult(), batch_size=1, inputs={"d": InputFacts.grid(torch.rand(2, 3, 2), lo=(0, 0))})


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x).softmax(-1)


@pytest.mark.parametrize("atom", ["r(X, Y)", "r(Y, X)"])
def test_a_network_over_items_reads_as_a_grid_and_as_rows_alike(atom: str) -> None:
    torch.manual_seed(0)
    net = _Net()
    program = f"nn(net, [X], Y, [1..3]) :: {atom}.\ntotal(S) :- r(0, A), r(1, B), S is A + B.\n" if atom == "r(X, Y)" \
        else f"nn(net, [X], Y, [1..3]) :: {atom}.\ntotal(S) :- r(A, 0), r(B, 1), S is A + B.\n"
    reasoner = ReasoningModule(program, {"net": net}, query="total(S)")
    x = torch.randn(4, 2, 4)
    neural = reasoner.perceive({"net": x})
    assert neural["net"].items == (4, 2)
    assert reasoner.predicates[0].facts(neural["net"]).cells is not None
    as_rows = {"net": NeuralOutput(neural["net"].args, neural["net"].probs)}  # no grid
    assert reasoner.predicates[0].facts(as_rows["net"]).cells is None
    for representation in ("dense", "sparse"):
        reasoner.engine.representation = representation
        got = reasoner({}, neural=neural, batch_size=4).probability_of(torch.tensor([[2], [4], [5], [6]]))
        want = reasoner({}, neural=as_rows, batch_size=4).probability_of(torch.tensor([[2], [4], [5], [6]]))
        assert torch.allclose(got, want)
        g_got = torch.autograd.grad(got.sum(), net.layer.weight, retain_graph=True)[0]
        g_want = torch.autograd.grad(want.sum(), net.layer.weight, retain_graph=True)[0]
        assert torch.allclose(g_got, g_want)
