"""Gradients of a tag's probability w.r.t. the fact probabilities, checked numerically (float64)."""

from __future__ import annotations

import pytest
import torch

from greybox.semirings import FactTable, Semiring, get_semiring

# away from ties: no two values (nor products) are equal, none is 0 or 1
PROBS = torch.tensor([0.62, 0.23, 0.41, 0.77, 0.35, 0.54], dtype=torch.float64)
GROUPS = torch.tensor([0, 0, 1, 2, 3, 4])  # facts 0 and 1 exclude each other


def program(semiring: Semiring, probs: torch.Tensor) -> torch.Tensor:
    """``(f0 * f2 + f1 * f3) * f4 + f5`` for two rows of facts, then the probability."""
    alg = semiring.bind(FactTable(probs, GROUPS))
    fact = lambda *ids: alg.from_facts(torch.tensor(ids))  # noqa: E731
    left = alg.add(alg.mul(fact(0, 1), fact(2, 3)), alg.mul(fact(1, 0), fact(3, 2)))
    return alg.probability(alg.add(alg.mul(left, fact(4, 4)), fact(5, 3)))


@pytest.mark.parametrize("name", ["add-mult", "max-mult", "max-min"])
def test_scalar_semirings_are_differentiable(name: str) -> None:
    probs = PROBS.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: program(get_semiring(name), p), (probs,), eps=1e-6, atol=1e-8)


@pytest.mark.parametrize("k", [1, 2, 4])
def test_top_k_probability_is_differentiable(k: int) -> None:
    probs = PROBS.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p: program(get_semiring("top-k", k=k), p), (probs,), eps=1e-6, atol=1e-8)


def test_top_k_gradient_through_negation_and_groups() -> None:
    probs = PROBS.clone().requires_grad_(True)

    def f(p: torch.Tensor) -> torch.Tensor:
        alg = get_semiring("top-k", k=4).bind(FactTable(p, GROUPS))
        either = alg.add(alg.from_facts(torch.tensor([0])), alg.mul(alg.from_facts(torch.tensor([2])),
                                                                     alg.from_facts(torch.tensor([3]))))
        return alg.probability(alg.mul(alg.negate(either), alg.from_facts(torch.tensor([4]))))

    assert torch.autograd.gradcheck(f, (probs,), eps=1e-6, atol=1e-8)
    # the value itself: not f0 and not (f2 and f3), and f4
    expected = (1 - 0.62) * (1 - 0.41 * 0.77) * 0.35
    assert f(PROBS).item() == pytest.approx(expected)


def test_top_k_gradient_has_the_expected_value() -> None:
    probs = torch.tensor([0.5, 0.25], dtype=torch.float64, requires_grad=True)
    alg = get_semiring("top-k", k=2).bind(FactTable.independent(probs))
    tag = alg.add(alg.from_facts(torch.tensor([0])), alg.from_facts(torch.tensor([1])))
    alg.probability(tag).sum().backward()  # p0 + p1 - p0 p1
    assert probs.grad.tolist() == pytest.approx([1 - 0.25, 1 - 0.5])
