"""``ReasoningModule`` on the digit-sum rules with a network whose readings are fixed.

The fake network ignores pixels: each input carries an item id, and the network
returns that row of a probability table. So every answer probability can be
computed by brute force over the digit readings.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
import torch
from torch import nn

from greybox.errors import ConfigError, ShapeError, UnboundNeuralPredicateError
from greybox.neural import ReasoningModule

ROOT = Path(__file__).resolve().parents[3]
DIGIT_SUM = ROOT / "knowledge/digit_sum.dl"


class TableNet(nn.Module):
    """Returns row ``id`` of ``table`` for an input whose first value is ``id``.

    Args:
        table: ``(n_ids, n_classes)`` class probabilities (kept as a parameter, so
            gradients through the rules reach it).
    """

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = nn.Parameter(table.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ids = x.reshape(x.shape[0], -1)[:, 0].round().long()  # (X,)
        return self.table[ids]  # (X, C)


def _ids(rows: list[list[int]]) -> torch.Tensor:
    """``(B, M, 1)`` inputs carrying item ids."""
    return torch.tensor(rows, dtype=torch.float32)[:, :, None]


def _table(n_ids: int, n_classes: int = 10, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.softmax(2.0 * torch.randn(n_ids, n_classes, generator=gen), dim=1)


def _brute_sums(table: torch.Tensor, ids: list[int]) -> dict[int, float]:
    """P(sum = s) of the digits read from items ``ids``, by enumerating all readings."""
    out: dict[int, float] = {}
    for digits in itertools.product(range(table.shape[1]), repeat=len(ids)):
        p = 1.0
        for i, d in zip(ids, digits):
            p *= float(table[i, d])
        out[sum(digits)] = out.get(sum(digits), 0.0) + p
    return out


@pytest.fixture(scope="module")
def sum3() -> tuple[ReasoningModule, torch.Tensor, list[list[int]], torch.Tensor]:
    table = _table(6)
    model = ReasoningModule(DIGIT_SUM, {"digit_net": TableNet(table)}, query="sum(S)", extra_facts="num_digits(3).")
    rows = [[0, 1, 2], [3, 4, 5]]
    return model, table, rows, _ids(rows)


def test_exact_sum_distribution_equals_brute_force(sum3) -> None:
    model, table, rows, x = sum3
    out = model({"digit_net": x})
    brutes = [_brute_sums(table, ids) for ids in rows]
    for b, brute in enumerate(brutes):
        ranked = out.ranked(b)
        assert len(ranked) == 28  # sums 0..27, each with some reading
        assert {v[0]: p for v, p in ranked} == pytest.approx(brute, abs=1e-6)
        assert [p for _, p in ranked] == sorted((p for _, p in ranked), reverse=True)
    # one answer per sample
    p = out.probability_of([(4,), (20,)])
    assert p.tolist() == pytest.approx([brutes[0][4], brutes[1][20]], abs=1e-6)


def test_probability_of_gives_zero_for_an_answer_never_derived(sum3) -> None:
    model, table, rows, x = sum3
    p = model({"digit_net": x}).probability_of([(27,), (99,)])
    assert float(p[0]) == pytest.approx(_brute_sums(table, rows[0])[27], rel=1e-4)
    assert float(p[1]) == 0.0


def test_predict_returns_each_samples_most_probable_sum(sum3) -> None:
    model, table, rows, x = sum3
    codes, probs = model({"digit_net": x}).predict()
    assert codes.shape == (2, 1) and probs.shape == (2,)
    for b, ids in enumerate(rows):
        brute = _brute_sums(table, ids)
        best = max(brute, key=brute.get)
        assert int(codes[b, 0]) == best
        assert float(probs[b]) == pytest.approx(brute[best], abs=1e-6)


def test_query_with_a_constant_answers_that_tuple_only(sum3) -> None:
    _, table, rows, x = sum3
    model = ReasoningModule(DIGIT_SUM, {"digit_net": TableNet(table)}, query="sum(12)", extra_facts="num_digits(3).")
    p = model({"digit_net": x}).probability_of([(), ()])
    for b, ids in enumerate(rows):
        assert float(p[b]) == pytest.approx(_brute_sums(table, ids)[12], abs=1e-6)


def test_gradients_reach_the_network(sum3) -> None:
    _, table, rows, x = sum3
    net = TableNet(table)
    model = ReasoningModule(DIGIT_SUM, {"digit_net": net}, query="sum(S)", extra_facts="num_digits(3).")
    model({"digit_net": x}).probability_of([(9,), (9,)]).sum().backward()
    # d P(sum(9)) / d p(item 0 reads 2) = P(items 1 and 2 sum to 7)
    expected = sum(float(table[1, a] * table[2, 7 - a]) for a in range(8))
    assert float(net.table.grad[0, 2]) == pytest.approx(expected, rel=1e-4)


def test_unbound_network_is_reported_with_its_declaration() -> None:
    unbound = r"no module is bound to the neural model digit_net \(relation digit\)"
    with pytest.raises(UnboundNeuralPredicateError, match=unbound) as info:
        ReasoningModule(DIGIT_SUM, {"other_net": nn.Identity()}, query="sum(S)", extra_facts="num_digits(2).")
    assert info.value.file == str(DIGIT_SUM)
    assert info.value.line == _line_of(DIGIT_SUM, "nn(digit_net")


def test_query_relation_not_in_the_program_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"query relation 'total' is not defined by the program"):
        ReasoningModule(DIGIT_SUM, {"digit_net": TableNet(_table(1))}, query="total(S)", extra_facts="num_digits(2).")


def test_missing_rule_file_is_a_config_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.dl"
    with pytest.raises(ConfigError, match=rf"rule file '{missing}' does not exist"):
        ReasoningModule(str(missing), {"digit_net": TableNet(_table(1))}, query="sum(S)")


def test_network_with_the_wrong_number_of_classes_is_a_shape_error() -> None:
    model = ReasoningModule(DIGIT_SUM, {"digit_net": TableNet(_table(2, n_classes=9))}, query="sum(S)",
                            extra_facts="num_digits(2).")
    wrong = r"network 'digit_net' returned 9 classes for 'digit', whose declaration lists 10"
    with pytest.raises(ShapeError, match=wrong) as info:
        model({"digit_net": _ids([[0, 1]])})
    assert info.value.line == _line_of(DIGIT_SUM, "nn(digit_net")


def test_batch_without_the_networks_input_is_a_config_error(sum3) -> None:
    model, *_ = sum3
    with pytest.raises(ConfigError, match=r"the batch has no input for network 'digit_net'"):
        model({"images": torch.zeros(1, 3, 1)})


# `X >= 0` makes the item argument an int explicitly (unconstrained, it is an int as well: see below)
LEARNABLE = """
nn(net, [X], Y, [0, 1]) :: q(X, Y).
t(0.6) :: r(X) :- q(X, 1), X >= 0.
"""


def test_learnable_rule_weight_is_a_parameter_that_receives_gradients() -> None:
    table = torch.tensor([[0.75, 0.25], [0.5, 0.5]])
    model = ReasoningModule(LEARNABLE, {"net": TableNet(table)}, query="r(X)")
    params = dict(model.named_parameters())
    assert "weight_logits" in params
    assert torch.sigmoid(params["weight_logits"]).tolist() == pytest.approx([0.6])
    out = model({"net": _ids([[0, 1]])})  # one sample, items 0 and 1
    p = out.probability_of(torch.tensor([[0]]))  # P(r(0)) = 0.6 * 0.25
    assert float(p[0]) == pytest.approx(0.15)
    assert {v[0]: q for v, q in out.ranked(0)} == pytest.approx({0: 0.15, 1: 0.3})
    p.sum().backward()
    # d (sigmoid(w) * 0.25) / d w = 0.25 * 0.6 * 0.4
    assert float(model.weight_logits.grad[0]) == pytest.approx(0.25 * 0.6 * 0.4, rel=1e-5)


def test_unconstrained_neural_item_argument_decodes_as_the_item_index() -> None:
    program = """
    nn(net, [X], Y, [0, 1]) :: q(X, Y).
    colour(red). colour(blue).
    r(X) :- q(X, 1).
    """
    model = ReasoningModule(program, {"net": TableNet(torch.tensor([[0.75, 0.25], [0.5, 0.5]]))}, query="r(X)")
    assert model({"net": _ids([[0, 1]])}).ranked(0) == [((1,), 0.5), ((0,), 0.25)]


def _line_of(path: Path, prefix: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(prefix))
