"""Graph examples as dense tensors for :func:`greybox.learn.dense.forward_chain`.

Example:
    >>> from greybox.learn.graphs import GraphExample
    >>> ex = GraphExample(("a", "b"), ((0, "son", 1),), ((1, "male"),), (0, 1), "son", 1)
    >>> batch = encode_graphs([ex], relations=("son", "father"), unaries=("male",), counts=[3])
    >>> batch.facts.shape, batch.labels[0].tolist(), batch.target.tolist(), batch.weight.tolist()
    (torch.Size([1, 2, 2, 2]), [[0.0, 1.0], [1.0, 1.0]], [0], [3.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from .graphs import GraphExample

__all__ = ["GraphBatch", "encode_graphs", "batches_by_size"]


@dataclass
class GraphBatch:
    """Tensors of ``B`` graphs padded to ``P`` people.

    Attributes:
        facts: ``(B, P, P, R)``: 1 where ``r(x, y)`` is given.
        labels: ``(B, P, V + 1)``: 1 where ``u(x)`` is given; last column 1 for real people.
        query: ``(B, 2)`` the queried pair.
        target: ``(B,)`` index of the target relation.
        weight: ``(B,)`` how many examples each graph stands for.
        rounds: rounds of forward chaining for this batch (``None``: the learner's ``steps``).
    """

    facts: Tensor
    labels: Tensor
    query: Tensor
    target: Tensor
    weight: Tensor
    rounds: int | None = None


def encode_graphs(
    examples: Sequence[GraphExample],
    *,
    relations: Sequence[str],
    unaries: Sequence[str],
    counts: Sequence[int] | None = None,
    dtype: torch.dtype = torch.float32,
) -> GraphBatch:
    """Stack graphs into one batch.

    Args:
        examples: the graphs (relation and label names among ``relations`` / ``unaries``).
        relations: binary relations in tensor order.
        unaries: unary relations in tensor order.
        counts: how many examples each graph stands for (default 1 each).
        dtype: of ``facts``, ``labels`` and ``weight``.

    Returns:
        The ``GraphBatch`` (on the default device).
    """
    r_ix = {r: i for i, r in enumerate(relations)}
    u_ix = {u: i for i, u in enumerate(unaries)}
    B, P, R, V = len(examples), max((ex.size for ex in examples), default=0), len(relations), len(unaries)
    facts = torch.zeros(B, P, P, R, dtype=dtype)
    labels = torch.zeros(B, P, V + 1, dtype=dtype)
    for b, ex in enumerate(examples):
        for x, r, y in ex.edges:
            facts[b, x, y, r_ix[r]] = 1.0
        for x, u in ex.labels:
            labels[b, x, u_ix[u]] = 1.0
        labels[b, : ex.size, V] = 1.0
    return GraphBatch(
        facts=facts,
        labels=labels,
        query=torch.tensor([ex.query for ex in examples], dtype=torch.int64).reshape(B, 2),
        target=torch.tensor([r_ix[ex.target] for ex in examples], dtype=torch.int64),
        weight=torch.tensor(list(counts) if counts is not None else [1] * B, dtype=dtype),
    )


def batches_by_size(
    examples: Sequence[tuple[GraphExample, int]],
    *,
    relations: Sequence[str],
    unaries: Sequence[str],
    batch_size: int,
    max_rounds: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> list[GraphBatch]:
    """Batches of graphs of one size each (no padding), at most ``batch_size`` graphs per batch.

    Args:
        examples: ``(graph, count)`` pairs, e.g. from :func:`greybox.learn.graphs.count_distinct`.
        relations, unaries, dtype: as for :func:`encode_graphs`.
        batch_size: the most graphs per batch.
        max_rounds: when given, a graph of ``k`` edges is chained ``min(max_rounds, k - 1)``
            rounds (at least 1): the compositions a chain of ``k`` edges needs, and no more
            (batches then hold graphs of one size and one number of rounds).

    Returns:
        The batches, smaller graphs first.

    >>> from greybox.learn.graphs import GraphExample
    >>> chain = lambda k: GraphExample(tuple("abcd"[: k + 1]), tuple((i, "f", i + 1) for i in range(k)), (), (0, k), "f", k)
    >>> [b.rounds for b in batches_by_size([(chain(2), 1), (chain(3), 1)], relations=["f"], unaries=[],
    ...                                    batch_size=8, max_rounds=2)]
    [1, 2]
    """
    groups: dict[tuple[int, int | None], list[tuple[GraphExample, int]]] = {}
    for ex, n in examples:
        rounds = None if max_rounds is None else max(1, min(max_rounds, ex.k - 1))
        groups.setdefault((ex.size, rounds), []).append((ex, n))
    out = []
    for size, rounds in sorted(groups, key=lambda key: (key[0], key[1] or 0)):
        group = groups[size, rounds]
        for lo in range(0, len(group), batch_size):
            part = group[lo:lo + batch_size]
            batch = encode_graphs([ex for ex, _ in part], relations=relations, unaries=unaries,
                                  counts=[n for _, n in part], dtype=dtype)
            batch.rounds = rounds
            out.append(batch)
    return out
