"""Knowledge-graph completion through path rules: scores of every link, filtered ranks, MRR and Hits@k.

The score of a link ``r(x, z)`` aggregates the weights ``w`` of the rules concluding ``r``
whose body connects ``x`` to ``z`` on the known facts (rules are applied once, never to
their own conclusions):

* ``"noisy_or"``: ``1 - prod(1 - w)``, the probability that at least one rule fires, each
  rule an independent choice and every fact certain: exactly the probability the
  reference evaluator computes for ``inferred_r(x, z)`` on the exported file and the facts;
* ``"max"``: ``max(w)``, the best proof: the ``max-mult`` semiring's value;
* ``"log_count"``: ``sum v * log(1 + n)`` with ``v = -log(1 - w)``, ``n`` the number of paths
  of the rule's body from ``x`` to ``z`` (its groundings; the ``add-mult`` value of
  ``inferred_r(x, z)`` on the exported file is ``sum w * n``): each rule's evidence grows with
  its paths, slower than their number. With every ``n`` at 1 it is ``-log(1 - noisy_or)``, the
  noisy-or's order (weights fitted by :func:`greybox.learn.rule_weights.fit_path_count_weights`).

A link no rule derives scores 0. The scores of one relation are a dense ``(E, E)`` float64
matrix on the matrices' device, accumulated rule by rule from the rules' body matrices.

**Back-off rules** (``PathRule.backoff``, heads ``backoff_r``) order the links that the rules
of ``r`` score equally (most often: none of them fires): their best proof, the largest weight
among the back-off rules that fire (the ``max-mult`` value of ``backoff_r(x, z)``), is added
scaled by :data:`BACKOFF_SCALE`. So the ranking is by the rules' score first and by the
back-off second, exactly while two distinct scores of the rules differ by more than
``BACKOFF_SCALE``.

Ranks are *filtered* (the other true answers, ``known``, are left out of the candidates)
and ties count fairly: an answer tied with ``k`` other candidates after ``g`` better ones
has the mean rank of the tied group, ``g + 1 + k / 2``.

Example:
    >>> import torch
    >>> filtered_rank(torch.tensor([0.5, 0.9, 0.5, 0.5, 0.1]), 0, torch.tensor([False, False, False, True, False]))
    2.5
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch

from greybox.errors import ConfigError

from .path_mining import BodyMatrices
from .path_rules import PathRule

__all__ = ["AGGREGATIONS", "BACKOFF_SCALE", "relation_scores", "filtered_rank", "rank_queries", "ranking_metrics",
           "auc_pr", "RankedQuery"]

#: the ways the weights of the rules that fire make a score
AGGREGATIONS = ("noisy_or", "max", "log_count")

#: how much a back-off rule's best proof adds to a score: below any difference of the rules' scores
BACKOFF_SCALE = 1e-9


def relation_scores(matrices: BodyMatrices, rules: Iterable[PathRule], *, aggregation: str = "noisy_or") -> torch.Tensor:
    """The ``(E, E)`` scores of the links of one relation by its rules.

    Args:
        matrices: the body matrices of the known facts.
        rules: the rules of that relation (their ``weight``; ``None`` counts as 1), chain or anchored.
        aggregation: ``"noisy_or"``, ``"max"`` or ``"log_count"``.

    Returns:
        ``scores[x, z]``, float64, on the matrices' device.

    Example:
        >>> from greybox.learn.path_mining import BodyMatrices, GraphIndex
        >>> index = GraphIndex([("a", "p", "b"), ("a", "p", "c"), ("b", "q", "d"), ("c", "q", "d"), ("a", "s", "e")])
        >>> rules = [PathRule("r", (("p", False), ("q", False)), 0.5), PathRule("r", (("s", False),), 0.75)]
        >>> s = relation_scores(BodyMatrices(index), rules, aggregation="log_count")
        >>> ids = index.entity_id
        >>> round(float(s[ids["a"], ids["d"]]), 4), round(float(s[ids["a"], ids["e"]]), 4)  # 2 paths: log 2 * log 3; 1: log 4 * log 2
        (0.7615, 0.9609)

        A back-off rule orders what the rules leave equal (here: both links score 0 by the rules):

        >>> backoff = [PathRule("r", (("p", False),), 0.5, backoff=True)]
        >>> s = relation_scores(BodyMatrices(index), backoff)
        >>> bool(s[ids["a"], ids["b"]] > s[ids["a"], ids["e"]] == 0), float(s[ids["a"], ids["b"]]) < 1e-8
        (True, True)

    Raises:
        ConfigError: an unknown aggregation.
    """
    if aggregation not in AGGREGATIONS:
        raise ConfigError(f"unknown aggregation {aggregation!r}", hint=f"use one of: {', '.join(AGGREGATIONS)}")
    rules = list(rules)
    scores = _aggregate(matrices, [r for r in rules if not r.backoff], aggregation)
    backoff = [r for r in rules if r.backoff]
    if backoff:
        # then by backoff_r(x, z): the best proof of the back-off rules (max-mult), scaled below the scores
        scores += BACKOFF_SCALE * _aggregate(matrices, backoff, "max")
    return scores


def _aggregate(matrices: BodyMatrices, rules: list[PathRule], aggregation: str) -> torch.Tensor:
    """``(E, E)`` float64: the rules' weights aggregated as :func:`relation_scores` says."""
    n = matrices.n
    acc = torch.zeros(n, n, dtype=torch.float64, device=matrices.device)
    for rule in sorted(rules, key=lambda r: r.body):
        w = 1.0 if rule.weight is None else float(rule.weight)
        if aggregation == "log_count":
            # score = sum over the rules of -log(1 - w) * log(1 + paths)
            rows, cols, paths = matrices.rule_paths(rule)
            acc.index_put_((rows, cols), -_log1m(w) * torch.log1p(paths.to(torch.float64)), accumulate=True)
            continue
        rows, cols = matrices.rule_pairs(rule)
        if aggregation == "noisy_or":
            # log(1 - score) = sum over the rules that fire of log(1 - w)
            acc.index_put_((rows, cols), torch.full((len(rows),), _log1m(w), dtype=torch.float64,
                                                    device=acc.device), accumulate=True)
        else:
            acc[rows, cols] = torch.clamp(acc[rows, cols], min=w)
    return -torch.expm1(acc) if aggregation == "noisy_or" else acc  # max, log_count: as accumulated


def _log1m(w: float) -> float:
    import math

    return -math.inf if w >= 1.0 else math.log1p(-w)


def filtered_rank(scores: torch.Tensor, answer: int, excluded: torch.Tensor) -> float:
    """The filtered rank of ``answer`` among the candidates, ties at their mean rank.

    Args:
        scores: ``(C,)`` a score per candidate.
        answer: the candidate whose rank is asked.
        excluded: ``(C,)`` bool, candidates left out (the other true answers); ``answer``'s
            own entry is ignored.

    Returns:
        ``1 + (candidates scored higher) + (other candidates scored equal) / 2``.
    """
    s = scores[answer]
    keep = ~excluded
    keep[answer] = False
    higher = int((scores[keep] > s).sum())
    equal = int((scores[keep] == s).sum())
    return 1.0 + higher + equal / 2.0


@dataclass(frozen=True)
class RankedQuery:
    """One ranked query: ``r(h, ?)`` (``side="tail"``) or ``r(?, t)`` (``side="head"``).

    Attributes:
        triple: the true triple ``(h, r, t)``.
        side: which end was ranked.
        rank: its filtered rank (ties: the mean rank).
        score: its score.
    """

    triple: tuple[str, str, str]
    side: str
    rank: float
    score: float


def rank_queries(
    matrices: BodyMatrices,
    rules: Sequence[PathRule],
    queries: Sequence[Sequence[str]],
    known: Iterable[Sequence[str]],
    *,
    aggregation: str = "noisy_or",
    sides: Sequence[str] = ("head", "tail"),
    candidates: Sequence[str] | None = None,
    scores_of=None,
) -> list[RankedQuery]:
    """Rank the true answer of each query among every candidate entity, filtered.

    Args:
        matrices: the body matrices of the known facts (the graph the rules are applied to).
        rules: the rules (any relations).
        queries: the true triples ``(h, r, t)`` to rank.
        known: every true triple (the filter), e.g. graph + train + valid + test.
        aggregation: ``"noisy_or"`` or ``"max"``.
        sides: rank the tail (``r(h, ?)``), the head (``r(?, t)``), or both.
        candidates: the entities ranked (``None``: every entity of the graph).
        scores_of: ``relation -> (E, E)`` scores to rank by instead of the rules' (e.g. an
            embedding's, or the rules' combined with one); ``rules`` and ``aggregation`` are then unused.

    Returns:
        One ``RankedQuery`` per query and side, in query order.
    """
    index = matrices.index
    ids = index.entity_id
    n = matrices.n
    allowed = torch.zeros(n, dtype=torch.bool)
    if candidates is None:
        allowed[:] = True
    else:
        allowed[[ids[c] for c in candidates]] = True
    tails, heads = defaultdict(set), defaultdict(set)
    for h, r, t in known:
        if h in ids and t in ids:
            tails[(h, r)].add(ids[t])
            heads[(r, t)].add(ids[h])
    by_relation: dict[str, list[int]] = defaultdict(list)
    for i, (_, r, _) in enumerate(queries):
        by_relation[r].append(i)
    rules_of: dict[str, list[PathRule]] = defaultdict(list)
    for rule in rules:
        rules_of[rule.head].append(rule)
    out: dict[tuple[int, str], RankedQuery] = {}
    for relation, positions in by_relation.items():
        if scores_of is not None:
            scores = scores_of(relation).cpu()
        else:
            scores = relation_scores(matrices, rules_of.get(relation, ()), aggregation=aggregation).cpu()
        for i in positions:
            h, r, t = queries[i]
            for side in sides:
                if side == "tail":
                    row, answer, others = scores[ids[h]], ids[t], tails[(h, r)]
                else:
                    row, answer, others = scores[:, ids[t]], ids[h], heads[(r, t)]
                excluded = ~allowed.clone()
                excluded[list(others)] = True
                rank = filtered_rank(row, answer, excluded)
                out[(i, side)] = RankedQuery((h, r, t), side, rank, float(row[answer]))
    return [out[(i, side)] for i in range(len(queries)) for side in sides]


def ranking_metrics(ranks: Iterable[float], ks: Sequence[int] = (1, 3, 10)) -> dict[str, float]:
    """MRR and Hits@k of filtered ranks (a mean rank of a tie counts as it is: 1.5 is not a hit at 1).

    >>> ranking_metrics([1, 2, 4.5], ks=(1, 3))
    {'mrr': 0.5740740740740741, 'hits@1': 0.3333333333333333, 'hits@3': 0.6666666666666666}
    """
    ranks = list(ranks)
    if not ranks:
        raise ConfigError("no query to score", hint="give at least one test triple")
    out = {"mrr": sum(1.0 / r for r in ranks) / len(ranks)}
    for k in ks:
        out[f"hits@{k}"] = sum(r <= k for r in ranks) / len(ranks)
    return out


def auc_pr(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Area under the precision-recall curve as NTP and CTP compute it for Countries:
    average precision, ``sum_n (R_n - R_{n-1}) * P_n`` over the distinct score thresholds,
    highest first (``sklearn.metrics.average_precision_score``; their papers call it AUC-PR).

    Tied scores share one threshold, so a tie is neither first nor last. Unlike the trapezoid
    rule, no precision between two thresholds is interpolated (that would be optimistic).

    >>> auc_pr([0.9, 0.8, 0.1, 0.1], [True, False, True, False])
    0.75
    >>> auc_pr([0.9, 0.8, 0.7], [False, True, True])
    0.5833333333333333
    """
    pairs = sorted(zip(scores, labels), key=lambda p: -p[0])
    positives = sum(bool(y) for _, y in pairs)
    if positives == 0:
        raise ConfigError("no positive label: the area under the precision-recall curve is undefined",
                          hint="give at least one true triple")
    area = 0.0
    tp = fp = 0
    recall = 0.0
    i = 0
    while i < len(pairs):
        s = pairs[i][0]
        while i < len(pairs) and pairs[i][0] == s:
            tp += bool(pairs[i][1])
            fp += not pairs[i][1]
            i += 1
        area += (tp / positives - recall) * tp / (tp + fp)
        recall = tp / positives
    return area
