"""Learn a weight per candidate chain rule ``r3(X, Z) :- r1(X, Y), r2(Y, Z)`` from labelled graphs.

Every one of the ``R^3`` candidate rules has a weight in ``[0, 1]``. A graph is
forward-chained with the background rules and the weighted candidates (max-mult,
:func:`greybox.learn.dense.forward_chain`); the loss is the negative log-probability
of the target relation between the queried pair, plus, with ``negative_weight``,
``-log(1 - p)`` of every other relation between them (CLUTRR's answer is unique).

Two parametrizations of the weights, both with ``sparsity`` times the sum of the
weights added to the loss:

* ``sigmoid`` (default): an independent ``sigmoid(logit)`` per rule;
* ``softmax``: per body ``(r1, r2)`` a softmax over the ``R`` heads and a "no rule"
  option, so that a body's weights sum to at most 1 (it concludes one head).

On CLUTRR both recover the reference rules; ``sigmoid`` separates them more clearly
(kept weights >= 0.82, dropped <= 0.002, against <= 0.024 for ``softmax``) and does
not assume that a body has one head.

Training also needs a curriculum over the depth of reasoning (``depth_epochs``): all
weights start equal, and a chain of three edges is explained equally well by many
pairs of rules; when rules with direct evidence (chains of two edges) settle first,
the longer chains are explained with them instead of with rules of their own.

Example:
    >>> weights = ChainRuleWeights(3, parametrization="softmax")
    >>> w = weights().detach()
    >>> tuple(w.shape), round(float(w[0, 0].sum()), 4)   # 3 heads of 4 options at the start
    ((3, 3, 3), 0.75)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from greybox.errors import ConfigError

from .batch import GraphBatch
from .chain_rules import ChainRule
from .dense import ChainRuleScorer, answer_chain

__all__ = ["ChainRuleWeights", "LearnedRules", "chain_loss", "learn_chain_rules", "rules_above", "PARAMETRIZATIONS"]

PARAMETRIZATIONS = ("softmax", "sigmoid")
_EPS = 1e-6


class ChainRuleWeights(nn.Module):
    """The learnable weights of the ``R^3`` candidate chain rules.

    Args:
        n_relations: ``R``.
        parametrization: ``"softmax"`` (over heads and "no rule", per body) or ``"sigmoid"``.
        initial: the starting weight of every rule (default ``1 / (R + 1)``).

    Raises:
        ConfigError: an unknown parametrization, or ``initial`` outside (0, 1) (below ``1 / R`` for softmax).
    """

    def __init__(self, n_relations: int, parametrization: str = "sigmoid", initial: float | None = None) -> None:
        super().__init__()
        if parametrization not in PARAMETRIZATIONS:
            raise ConfigError(f"unknown parametrization {parametrization!r}", hint=f"use one of: {', '.join(PARAMETRIZATIONS)}")
        r = n_relations
        initial = 1.0 / (r + 1) if initial is None else initial
        if not 0.0 < initial < 1.0:
            raise ConfigError(f"the initial rule weight must be in (0, 1), got {initial}", hint="e.g. 0.05")
        self.parametrization = parametrization
        if parametrization == "softmax":
            if r * initial >= 1.0:
                raise ConfigError(f"with softmax weights the initial weight must be below 1/{r}, got {initial}",
                                  hint="the heads of one body share a total weight of at most 1")
            # R heads at logit 0 and "no rule" at the logit that makes each head start at `initial`
            none = math.log((1.0 - r * initial) / initial)
            logits = torch.zeros(r, r, r + 1)
            logits[..., r] = none
        else:
            logits = torch.full((r, r, r), math.log(initial / (1.0 - initial)))
        self.logits = nn.Parameter(logits)

    def forward(self) -> Tensor:
        """``(R, R, R)``: ``[r1, r2, r3]`` the weight of ``r3(X, Z) :- r1(X, Y), r2(Y, Z)``."""
        if self.parametrization == "softmax":
            return torch.softmax(self.logits, dim=-1)[..., :-1]
        return torch.sigmoid(self.logits)


def chain_loss(
    dense: ChainRuleScorer,
    batch: GraphBatch,
    weights: Tensor,
    *,
    steps: int,
    negative_weight: float = 0.0,
    tie_break: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """The summed loss of a batch and the number of examples it stands for.

    Args:
        dense: the compiled background.
        batch: the graphs.
        weights: ``(R, R, R)`` candidate rule weights.
        steps: rounds of forward chaining.
        negative_weight: weight of ``-log(1 - p)`` of the relations other than the target.
        tie_break: see :func:`greybox.learn.dense.compose`.

    Returns:
        ``(loss, count)``: sums over the batch, each graph weighted by ``batch.weight``.
    """
    answer = answer_chain(dense, batch.facts, batch.labels, weights, batch.query, steps=steps,
                          tie_break=tie_break)  # (B, R): what the second person is to the first
    b = torch.arange(answer.shape[0], device=answer.device)
    p_target = answer[b, batch.target]
    loss = -torch.log(p_target.clamp_min(_EPS))
    if negative_weight:
        others = torch.ones_like(answer, dtype=torch.bool)
        others[b, batch.target] = False
        wrong = -torch.log((1.0 - answer).clamp_min(_EPS)) * others
        loss = loss + negative_weight * wrong.sum(-1)
    return (loss * batch.weight).sum(), batch.weight.sum()


@dataclass
class LearnedRules:
    """The result of :func:`learn_chain_rules`.

    Attributes:
        weights: ``(R, R, R)`` the learned weights (detached).
        history: one dict per epoch: ``epoch``, ``rounds`` (the most rounds of chaining), ``loss``
            (mean per example seen), ``examples`` (seen), ``seconds`` (so far).
        seconds: wall time of the training.
    """

    weights: Tensor
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0


def learn_chain_rules(
    dense: ChainRuleScorer,
    batches: Sequence[GraphBatch],
    *,
    parametrization: str = "sigmoid",
    epochs: int = 40,
    lr: float = 0.1,
    steps: int = 2,
    sparsity: float = 1e-3,
    negative_weight: float = 1.0,
    initial: float | None = None,
    tie_noise: float = 1e-4,
    depth_epochs: int = 10,
    seed: int = 0,
    log: Callable[[dict], None] | None = None,
) -> LearnedRules:
    """Fit the candidate rule weights to the batches with Adam, one step per batch.

    Args:
        dense: the compiled background (its tensors are cast to the batches' dtype).
        batches: training graphs.
        parametrization: ``"softmax"`` or ``"sigmoid"`` (see :class:`ChainRuleWeights`).
        epochs: passes over the batches.
        lr: Adam's learning rate on the logits.
        steps: rounds of forward chaining per graph (2 reach chains of 3 edges), for the
            batches that do not say (``GraphBatch.rounds``).
        sparsity: the coefficient of the summed rule weights in the loss (per example).
        negative_weight: see :func:`chain_loss`.
        initial: starting weight of every rule (default ``1 / (R + 1)``).
        tie_noise: proofs of equal value are told apart by factors ``1 + tie_noise * U(0, 1)``
            on the rule weights, drawn every step (see :func:`greybox.learn.dense.compose`): all
            rules start equal, and without it the first of the tied proofs, in relation order,
            would take every gradient. 0: the first proof wins.
        depth_epochs: a curriculum over the depth of reasoning: chain at most 1 round in the
            first ``depth_epochs`` epochs, at most 2 in the next ``depth_epochs``, and so on up to
            ``steps`` (batches whose ``rounds`` exceed the current limit wait); 0: no curriculum.
            Rules with direct evidence (one composition) settle first, so that longer chains
            are explained with them rather than with rules of their own.
        seed: shuffles the batch order and draws the tie-breaking factors.
        log: called with each epoch's history entry.

    Returns:
        The ``LearnedRules``.

    Raises:
        ConfigError: no batches, or a value out of range.
    """
    if not batches:
        raise ConfigError("there are no training graphs", hint="check train_file and max_train")
    if depth_epochs < 0:
        raise ConfigError(f"depth_epochs must be >= 0, got {depth_epochs}", hint="0 turns the curriculum off")
    if epochs < 1 or steps < 1:
        raise ConfigError(f"epochs and steps must be >= 1, got {epochs} and {steps}", hint="e.g. epochs: 30, steps: 2")
    dtype, device = batches[0].facts.dtype, batches[0].facts.device
    dense = dense.to(device=device, dtype=dtype)
    model = ChainRuleWeights(len(dense.relations), parametrization, initial).to(device=device, dtype=dtype)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = torch.Generator().manual_seed(seed)
    total = float(sum(float(b.weight.sum()) for b in batches))
    history: list[dict] = []
    started = time.monotonic()
    for epoch in range(epochs):
        running, seen = 0.0, 0.0
        # depth curriculum: at most 1 round in the first `depth_epochs` epochs, 2 in the next ...
        cap = steps if not depth_epochs else min(steps, 1 + epoch // depth_epochs)
        for i in torch.randperm(len(batches), generator=generator).tolist():
            batch = batches[i]
            if batch.rounds is not None and batch.rounds > cap:
                continue  # its targets are out of reach this epoch: no gradient to gain
            weights = model()
            tie_break = None
            if tie_noise:
                noise = torch.rand(weights.shape, generator=generator, dtype=weights.dtype)
                tie_break = (1.0 + tie_noise * noise).to(weights.device)
            loss, count = chain_loss(dense, batch, weights, steps=min(batch.rounds or steps, cap),
                                     negative_weight=negative_weight, tie_break=tie_break)
            running += float(loss.detach())
            seen += float(count)
            objective = loss / count
            if sparsity:
                objective = objective + sparsity * weights.sum() * float(count) / total
            optimizer.zero_grad()
            objective.backward()
            optimizer.step()
        entry = {"epoch": epoch + 1, "rounds": cap, "loss": running / max(seen, 1.0), "examples": int(seen),
                 "seconds": round(time.monotonic() - started, 2)}
        history.append(entry)
        if log is not None:
            log(entry)
    with torch.no_grad():
        weights = model().detach().clone()
    return LearnedRules(weights, history, time.monotonic() - started)


def rules_above(dense: ChainRuleScorer, weights: Tensor, threshold: float) -> list[ChainRule]:
    """The candidate rules whose weight is at least ``threshold``, as ``ChainRule`` objects.

    Args:
        dense: gives the relation names and which heads add ``X \\= Z``.
        weights: ``(R, R, R)``.
        threshold: the smallest weight kept.

    Returns:
        The rules ordered by ``(r1, r2, r3)`` in relation order, each with its weight.

    >>> from greybox.lang.parser import parse_program
    >>> dense = ChainRuleScorer.compile(parse_program("type p(symbol, symbol). type q(symbol, symbol)."), distinct_heads=["q"])
    >>> w = torch.zeros(2, 2, 2); w[0, 0, 1] = 0.9; w[1, 0, 0] = 0.2
    >>> [r.text() for r in rules_above(dense, w, 0.5)]
    ['q(X, Z) :- p(X, Y), p(Y, Z), X \\\\= Z.']
    """
    distinct = dense.distinct_heads.tolist()
    names = dense.relations
    return [
        ChainRule(names[a], names[b], names[c], distinct=bool(distinct[c]), weight=float(weights[a, b, c]))
        for a, b, c in (weights >= threshold).nonzero().tolist()
    ]
