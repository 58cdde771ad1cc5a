"""ComplEx (Trouillon et al. 2016) link scores, trained 1-vs-all with reciprocal relations and N3 regularisation.

``score(h, r, t) = Re(<e_h, w_r, conj(e_t)>)``; a query ``r(?, t)`` is asked as ``r^-1(t, ?)``
with a relation of its own. Used beside the rules: alone, and combined with them
(``rules + weight * sigmoid(complex)``, the weight chosen on the dev set).

Example:
    >>> import torch
    >>> facts = [("a", "p", "b"), ("b", "p", "c"), ("c", "p", "a")]
    >>> model = train_complex(facts, ["a", "b", "c"], ["p"], rank=4, epochs=50, seed=0)
    >>> model.scores("p").shape
    torch.Size([3, 3])
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["ComplEx", "train_complex"]


class ComplEx(nn.Module):
    """Entity and relation embeddings in ``C^rank`` (real and imaginary halves).

    Args:
        entities, relations: the names, numbered in this order (each relation also gets its inverse).
        rank: complex dimensions.
    """

    def __init__(self, entities: Sequence[str], relations: Sequence[str], rank: int = 100) -> None:
        super().__init__()
        self.entity_id = {e: i for i, e in enumerate(entities)}
        self.relation_id = {r: i for i, r in enumerate(relations)}
        self.rank = rank
        self.entity = nn.Embedding(len(entities), 2 * rank)
        self.relation = nn.Embedding(2 * len(relations), 2 * rank)  # r, then r^-1 at + len(relations)
        for emb in (self.entity, self.relation):
            nn.init.normal_(emb.weight, std=1e-3)

    def forward(self, heads: torch.Tensor, relations: torch.Tensor):
        """``(B, E)`` scores of every tail, and the factors for the N3 penalty."""
        k = self.rank
        h, r = self.entity(heads), self.relation(relations)  # (B, 2k)
        e = self.entity.weight  # (E, 2k)
        hr_re = h[:, :k] * r[:, :k] - h[:, k:] * r[:, k:]
        hr_im = h[:, :k] * r[:, k:] + h[:, k:] * r[:, :k]
        scores = hr_re @ e[:, :k].t() + hr_im @ e[:, k:].t()  # (B, E): Re(<h, r, conj(t)>)
        return scores, (h, r)

    def head_scores(self, relations: torch.Tensor, tails: torch.Tensor) -> torch.Tensor:
        """``(B, E)`` scores of every head ``x`` of ``r(x, t)``, from the forward relation (no reciprocal)."""
        k = self.rank
        r, t = self.relation(relations), self.entity(tails)  # (B, 2k)
        e = self.entity.weight  # (E, 2k)
        # Re(<x, r, conj(t)>) = Re(<x, r * conj(t)>)
        rt_re = r[:, :k] * t[:, :k] + r[:, k:] * t[:, k:]
        rt_im = r[:, k:] * t[:, :k] - r[:, :k] * t[:, k:]
        return rt_re @ e[:, :k].t() - rt_im @ e[:, k:].t()  # (B, E)

    def n3(self, heads: torch.Tensor, relations: torch.Tensor, tails: torch.Tensor) -> torch.Tensor:
        """The N3 penalty of the triples' factors: ``sum |x|^3`` over the complex entries of h, r, t."""
        k = self.rank
        return sum(((x[:, :k] ** 2 + x[:, k:] ** 2) ** 1.5).sum()
                   for x in (self.entity(heads), self.relation(relations), self.entity(tails)))

    @torch.no_grad()
    def scores(self, relation: str) -> torch.Tensor:
        """``(E, E)`` scores of ``relation(x, z)`` for every pair (from the forward relation)."""
        n = self.entity.num_embeddings
        heads = torch.arange(n, device=self.entity.weight.device)
        rel = torch.full((n,), self.relation_id[relation], device=heads.device)
        return self.forward(heads, rel)[0]


def train_complex(facts: Sequence[Sequence[str]], entities: Sequence[str], relations: Sequence[str], *,
                  rank: int = 100, epochs: int = 100, batch_size: int = 512, lr: float = 0.1, n3: float = 0.01,
                  seed: int = 0, device: str = "cpu") -> ComplEx:
    """Train ComplEx on the facts, both directions, cross-entropy over all tails, Adagrad.

    Returns:
        The trained model (in eval mode).
    """
    torch.manual_seed(seed)
    model = ComplEx(entities, relations, rank).to(device)
    ids = [(model.entity_id[h], model.relation_id[r], model.entity_id[t]) for h, r, t in facts]
    data = torch.tensor(ids, dtype=torch.int64, device=device)
    n_rel = len(relations)
    # r(h, t) and r^-1(t, h)
    queries = torch.cat([data, torch.stack([data[:, 2], data[:, 1] + n_rel, data[:, 0]], dim=1)])
    optimizer = torch.optim.Adagrad(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(epochs):
        for batch in queries[torch.randperm(len(queries), device=device)].split(batch_size):
            scores, (h, r) = model(batch[:, 0], batch[:, 1])
            k = model.rank
            t = model.entity(batch[:, 2])
            penalty = sum(((x[:, :k] ** 2 + x[:, k:] ** 2) ** 1.5).sum() for x in (h, r, t)) / len(batch)
            loss = loss_fn(scores, batch[:, 2]) + n3 * penalty
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()
