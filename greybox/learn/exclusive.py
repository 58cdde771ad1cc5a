"""Exclusive answers: a link's probability given that exactly one candidate answer holds.

Some relations give each query exactly one answer among its candidates (a country lies in
one of the five regions). The noisy-or of the path rules scores every candidate on its own,
so a country with much evidence for a wrong region can outrank another country's right
region when the scores of many queries are pooled (Countries' AUC-PR). Conditioning on the
constraint fixes that: the score of ``r(x, c)`` becomes

    P(inferred_r(x, c) | exactly one candidate c' has inferred_r(x, c'))

in the exported program's own semantics, where each weighted rule is *one* independent
choice (:mod:`greybox.lang.facts`) and the graph's facts are certain. Then a rule either
holds or not for every link at once, and:

* a rule whose body leads from ``x`` to two or more candidates must be false in every world
  where exactly one holds: it drops out of ``x``'s scores;
* the rules leading from ``x`` to ``c`` alone (weights ``w_i``) give ``c`` the weight
  ``odds(c) = prod(1 / (1 - w_i)) - 1`` (the odds of their noisy-or), and the conditional
  probability is ``odds(c) / sum of odds(c')`` over the candidates; ``0`` for every
  candidate when no rule leads from ``x`` to exactly one of them.

(Each rule's choice is independent, so ``P(only c holds) = (1 - prod over c's own rules
of (1 - w)) * prod over every other rule firing on ``x``'s candidates of (1 - w)``; the last
product is common to every ``c`` and cancels in the ratio.) For one query, the scores are a
monotone function of the exclusive rules' noisy-or, so filtered ranks barely move (only
where a shared rule dropped out); what changes is how the scores of different queries
compare.

:func:`per_answer_rules` makes every rule lead to one answer: a chain rule becomes one
anchored rule per candidate answer, ``inferred_r(X, c) :- ..., rn(Yn-1, c)``, each its own
choice with the chain rule's weight. The noisy-or of every link stays as it was, no rule
drops out, and the conditional probability is the odds of each candidate's noisy-or,
normalised over the candidates: the candidates' evidence is independent. :func:`exclusive_program` writes the constraint as rules, so the reference
evaluator computes ``P(only_r(x, c))`` exactly; normalised over the candidates it equals
:func:`exclusive_scores` (tested).

Example (``x`` borders ``a`` and ``b``; ``a`` is in ``eu``, ``b`` in ``as``; ``y``'s only
neighbour ``b`` is in ``as``):

    >>> from greybox.learn.path_mining import BodyMatrices, GraphIndex
    >>> from greybox.learn.path_rules import PathRule
    >>> facts = [("x", "near", "a"), ("x", "near", "b"), ("a", "in", "eu"), ("b", "in", "as"), ("y", "near", "b")]
    >>> m = BodyMatrices(GraphIndex(facts))
    >>> chain = PathRule("in", (("near", False), ("in", False)), 0.5)  # both regions of x: drops out for x
    >>> anchored = PathRule("in", (("near", False),), 0.75, anchor="a", answer="eu")
    >>> s = exclusive_scores(m, [chain, anchored], ["eu", "as"])
    >>> ids = m.index.entity_id
    >>> [round(float(s[ids[q], ids[c]]), 4) for q in ("x", "y") for c in ("eu", "as")]
    [1.0, 0.0, 0.0, 1.0]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace

import torch

from greybox.errors import ConfigError

from .path_mining import BodyMatrices
from .path_rules import PathRule, constant_text, head_name

__all__ = ["exclusive_scores", "exclusive_program", "per_answer_rules", "ONLY_PREFIX"]

#: the predicate of :func:`exclusive_program`: ``only_r(x, c)``, "c is x's one candidate answer"
ONLY_PREFIX = "only_"


def exclusive_scores(matrices: BodyMatrices, rules: Iterable[PathRule], candidates: Sequence[str] | None = None
                     ) -> torch.Tensor:
    """The ``(E, E)`` scores of one relation's links given exactly one candidate answer per head.

    Args:
        matrices: the body matrices of the known facts.
        rules: the rules of that relation (chain or anchored; ``weight`` ``None`` counts as 1).
        candidates: the answers a query may have (``None``: every entity).

    Returns:
        ``scores[x, c]`` = ``P(inferred_r(x, c) | exactly one candidate holds)`` (module
        docstring), float64, on the matrices' device; ``0`` outside the candidates' columns.

    Raises:
        ConfigError: a candidate is not an entity of the graph.
    """
    index = matrices.index
    n = matrices.n
    try:
        cand = torch.tensor([index.entity_id[c] for c in candidates] if candidates is not None else range(n),
                            dtype=torch.int64, device=matrices.device)
    except KeyError as err:
        raise ConfigError(f"the candidate answer {err.args[0]!r} is not an entity of the graph",
                          hint="give candidates among the graph's entities") from None
    column = torch.full((n,), -1, dtype=torch.int64, device=matrices.device)
    column[cand] = torch.arange(len(cand), device=matrices.device)
    # own[x, c] = sum of log(1 - w) over the rules leading from x to the candidate c and to no other
    own = torch.zeros(n, len(cand), dtype=torch.float64, device=matrices.device)  # (E, C)
    for rule in sorted(rules, key=lambda r: r.body):
        w = 1.0 if rule.weight is None else float(rule.weight)
        rows, cols = matrices.rule_pairs(rule)
        c = column[cols]
        rows, c = rows[c >= 0], c[c >= 0]
        reached = torch.bincount(rows, minlength=n)  # (E,): candidates the rule leads to from each head
        alone = reached[rows] == 1
        log_not = -math.inf if w >= 1.0 else math.log1p(-w)
        own.index_put_((rows[alone], c[alone]), torch.full((int(alone.sum()),), log_not, dtype=torch.float64,
                                                           device=own.device), accumulate=True)
    # odds(c) = exp(-own) - 1, in logs: y + log(1 - exp(-y)) with y = -own > 0
    y = (-own).clamp(max=1e300)
    log_odds = torch.where(y > 0, y + torch.log(-torch.expm1(-y.clamp(min=1e-300))),
                           torch.full_like(y, -torch.inf))  # (E, C)
    some = torch.isfinite(log_odds).any(dim=1, keepdim=True)  # (E, 1): a head with an exclusive rule
    conditional = torch.where(some, torch.softmax(torch.where(some, log_odds, torch.zeros_like(log_odds)), dim=1),
                              torch.zeros_like(log_odds))
    out = torch.zeros(n, n, dtype=torch.float64, device=matrices.device)
    out[:, cand] = conditional
    return out


def per_answer_rules(rules: Iterable[PathRule], candidates: Sequence[str]) -> list[PathRule]:
    """Each chain rule as one rule per candidate answer; anchored rules as they are.

    ``w :: inferred_r(X, Z) :- b(X, Y1), s(Y1, Z).`` becomes, for each candidate ``c``,
    ``w :: inferred_r(X, c) :- b(X, Y1), s(Y1, c).`` (an anchored rule whose anchor is its
    answer; it keeps the chain rule's weight, ``support`` and ``body_size``). On any graph the
    rules derive the same links of the candidates with the same noisy-or; each answer's rules
    are now choices of their own.

    Args:
        rules: chain and anchored rules, in order; each chain rule's copies take its place.
        candidates: the answers.

    Returns:
        The rules.

    >>> [r.text() for r in per_answer_rules([PathRule("in", (("near", False), ("in", False)), 0.5)], ["as", "eu"])]
    ['0.5 :: inferred_in(X, as) :- near(X, Y1), in(Y1, as).', '0.5 :: inferred_in(X, eu) :- near(X, Y1), in(Y1, eu).']
    """
    out = []
    for rule in rules:
        out += [rule] if rule.anchor is not None else [replace(rule, anchor=c, answer=c) for c in candidates]
    return out


def exclusive_program(relation: str, candidates: Sequence[str]) -> str:
    """Rules that derive ``only_r(X, C)``: ``inferred_r(X, C)`` holds for the candidate ``C`` and no other.

    Added to the exported rules and facts, the exact probability of ``only_r(x, c)``,
    divided by its sum over the candidates, is :func:`exclusive_scores` (the events are
    disjoint, so the sum is the probability that exactly one candidate holds).

    >>> print(exclusive_program("in", ["eu", "as"]))
    candidate_in(eu).
    candidate_in(as).
    other_in(X, C) :- inferred_in(X, D), candidate_in(D), candidate_in(C), C != D.
    only_in(X, C) :- inferred_in(X, C), candidate_in(C), \\+ other_in(X, C).
    """
    inferred = head_name(relation)
    lines = [f"candidate_{relation}({constant_text(c)})." for c in candidates]
    lines.append(f"other_{relation}(X, C) :- {inferred}(X, D), candidate_{relation}(D), candidate_{relation}(C), C != D.")
    lines.append(f"{ONLY_PREFIX}{relation}(X, C) :- {inferred}(X, C), candidate_{relation}(C), \\+ other_{relation}(X, C).")
    return "\n".join(lines)
