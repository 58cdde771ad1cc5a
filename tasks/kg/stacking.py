"""Rule weights fitted beside the embedding, on training facts the embedding did not see.

Rules learned alone get weights for predicting a link alone. Beside an embedding a rule is
worth what it adds to the embedding: a lot where the embedding misses the answer, little
where the embedding already ranks it first. The embedding trained on every training fact is
near-certain on them, so those facts cannot say which; held-out facts can. Here the
training facts are cut into folds; for each fold an embedding is trained (same settings) on
the other folds and the rules are evaluated on the graph without the fold. Each fact of the
fold then gives two rows (``r(h, ?)`` and ``r(?, t)``) of out-of-fold embedding scores and rule
firings (:class:`OutOfFoldRows`), and :func:`fit_rule_weights` fits every rule's weight to the
noisy-or ``link`` over those rows (a shared scale and offset of the embedding's score fitted
with them), each rule's log-odds pulled toward its learned value. The weights are then the
program's rule weights: the program and its exactness are unchanged.

Example:
    >>> import torch
    >>> from greybox.learn.path_rules import PathRule
    >>> facts = [("a", "p", "b"), ("b", "p", "c"), ("a", "g", "c"), ("d", "p", "e"), ("e", "p", "f"),
    ...          ("d", "g", "f"), ("b", "p", "d"), ("c", "p", "e"), ("b", "g", "e")]
    >>> rule = PathRule("g", (("p", False), ("p", False)), 0.5)
    >>> rows = OutOfFoldRows.build(facts, "abcdef", ["g", "p"], [rule], folds=3, seed=0, rank=4, epochs=5)
    >>> len(rows), rows.phi.shape                       # two rows per training fact
    (18, torch.Size([18, 6]))
    >>> logits = fit_rule_weights(rows, torch.tensor([0.0], dtype=torch.float64), l2=0.1)
    >>> logits.shape
    torch.Size([1])
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from greybox.learn.path_mining import BodyMatrices, GraphIndex
from greybox.learn.path_rules import PathRule
from tasks.kg.combined import link_logit
from tasks.kg.complex import ComplEx

__all__ = ["train_forward_complex", "OutOfFoldRows", "fit_rule_weights"]


def train_forward_complex(facts: Sequence[Sequence[str]], entities: Sequence[str], relations: Sequence[str], *,
                          rank: int = 100, epochs: int = 100, batch_size: int = 512, lr: float = 0.1,
                          n3: float = 0.01, seed: int = 0) -> ComplEx:
    """ComplEx trained as :class:`~tasks.kg.completion.PathRuleCompletion` trains its embedding alone.

    Forward relations only (one score per triple), cross-entropy over every tail of ``r(h, ?)``
    and every head of ``r(?, t)``, N3 per batch, Adagrad. Returns the model in eval mode.
    """
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = ComplEx(entities, relations, rank)
    data = torch.tensor([(model.entity_id[h], model.relation_id[r], model.entity_id[t]) for h, r, t in facts],
                        dtype=torch.int64).reshape(-1, 3)  # (F, 3)
    optimizer = torch.optim.Adagrad(model.parameters(), lr=lr)
    ce = nn.functional.cross_entropy
    for _ in range(epochs):
        for batch in data[torch.randperm(len(data), generator=g)].split(batch_size):
            h, r, t = batch[:, 0], batch[:, 1], batch[:, 2]
            loss = (ce(model(h, r)[0], t) + ce(model.head_scores(r, t), h)
                    + n3 * model.n3(h, r, t) / len(batch))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


class OutOfFoldRows:
    """Training facts as ranking rows, each scored by parts that never saw the fact.

    Attributes:
        phi: ``(N, E)`` float64, the out-of-fold embedding's scores of the row's candidates.
        answer, relation: ``(N,)`` the answer's index and the relation's number.
        excluded: ``(N, E)`` bool, the other known answers (left out of the ranking).
        fires: ``(3, M)`` int64: ``(row, rule, candidate)`` for every rule whose body, on the graph
            without the row's fold, joins the query's entity to the candidate.
    """

    def __init__(self, phi: torch.Tensor, answer: torch.Tensor, relation: torch.Tensor, excluded: torch.Tensor,
                 fires: torch.Tensor) -> None:
        self.phi, self.answer, self.relation, self.excluded, self.fires = phi, answer, relation, excluded, fires

    def __len__(self) -> int:
        return len(self.answer)

    def log_not(self, log_not_w: torch.Tensor) -> torch.Tensor:
        """``(N, E)`` ``sum log(1 - w)`` of the rules that fire on each candidate (differentiable in ``log_not_w``)."""
        row, rule, cand = self.fires
        flat = torch.zeros(self.phi.numel(), dtype=torch.float64)
        flat = flat.index_add(0, row * self.phi.shape[1] + cand, log_not_w[rule])
        return flat.view_as(self.phi)

    @classmethod
    def build(cls, facts: Sequence[Sequence[str]], entities: Sequence[str], relations: Sequence[str],
              rules: Sequence[PathRule], *, folds: int = 5, seed: int = 0, log=None, **embedding) -> "OutOfFoldRows":
        """Cut ``facts`` into ``folds``; train an embedding without each fold (``embedding``: the options of
        :func:`train_forward_complex`) and evaluate ``rules`` on the graph without it."""
        facts = [tuple(f) for f in facts]
        ids = {e: i for i, e in enumerate(entities)}
        rid = {r: i for i, r in enumerate(relations)}
        n = len(entities)
        fold_of = np.random.default_rng(seed).integers(folds, size=len(facts))
        tails, heads = defaultdict(set), defaultdict(set)
        for h, r, t in facts:
            tails[(h, r)].add(ids[t])
            heads[(r, t)].add(ids[h])
        rules_of: dict[str, list[int]] = defaultdict(list)
        for i, rule in enumerate(rules):
            rules_of[rule.head].append(i)
        phi, answer, relation, excluded, fires = [], [], [], [], []
        offset = 0  # rows so far: the fact b of a fold gives rows offset + 2b (r(h, ?)) and offset + 2b + 1 (r(?, t))
        for k in range(folds):
            rest = [f for f, j in zip(facts, fold_of) if j != k]
            held = [f for f, j in zip(facts, fold_of) if j == k]
            if not rest or not held:
                continue
            kge = train_forward_complex(rest, entities, relations, seed=seed + k, **embedding)
            matrices = BodyMatrices(GraphIndex(rest, entities, relations), device="cpu")
            known = set(matrices.index.relations)
            h = torch.tensor([ids[f[0]] for f in held])
            r = torch.tensor([rid[f[1]] for f in held])
            t = torch.tensor([ids[f[2]] for f in held])
            with torch.no_grad():
                tail_phi, head_phi = kge(h, r)[0].double(), kge.head_scores(r, t).double()  # (B, E) each
            phi.append(torch.stack([tail_phi, head_phi], dim=1).reshape(-1, n))  # (2B, E), tail and head rows
            answer.append(torch.stack([t, h], dim=1).reshape(-1))
            relation.append(r.repeat_interleave(2))
            for hh, rr, tt in held:
                for target, others in ((ids[tt], tails[(hh, rr)]), (ids[hh], heads[(rr, tt)])):
                    mask = torch.zeros(n, dtype=torch.bool)
                    mask[list(others - {target})] = True
                    excluded.append(mask)
            for rel_name in sorted({f[1] for f in held}):
                members = (r == rid[rel_name]).nonzero().flatten()  # (B_r,) the fold's facts of this relation
                for i in rules_of.get(rel_name, []):
                    if not all(rel in known for rel, _ in rules[i].body):
                        continue  # its body names a relation the graph without the fold lacks: it never fires
                    m = matrices.body(tuple(matrices.index.label(rel, inv) for rel, inv in rules[i].body))
                    m = (m if matrices.dense else m.to_dense()) > 0  # (E, E) bool
                    for side, line in ((0, m[h[members]]), (1, m[:, t[members]].t())):  # (B_r, E) each
                        b, cand = line.nonzero(as_tuple=True)
                        row = offset + 2 * members[b] + side
                        fires.append(torch.stack([row, torch.full_like(row, i), cand]))
            offset += 2 * len(held)
            if log is not None:
                log(f"out-of-fold rows: fold {k + 1}/{folds}, {len(held)} facts held out")
        empty = torch.zeros(3, 0, dtype=torch.int64)
        return cls(torch.cat(phi), torch.cat(answer), torch.cat(relation), torch.stack(excluded),
                   torch.cat(fires, dim=1) if fires else empty)


def fit_rule_weights(rows: OutOfFoldRows, rule_logits: torch.Tensor, *, l2: float = 1.0,
                     steps: int = 200) -> torch.Tensor:
    """Every rule's log-odds fitted to the noisy-or ``link`` on out-of-fold rows, pulled toward ``rule_logits``.

    The loss is the cross-entropy over each row's candidates of ``link_logit(a * phi + b, sum log(1 - w))``
    (``a``, ``b`` shared, fitted with the weights, then dropped: the calibration on dev sets the embedding's
    scale in the program) plus ``l2 * sum((theta - theta_0) ** 2) / N`` over the ``N`` rows: a Gaussian prior of
    precision ``2 * l2`` around each rule's learned log-odds. A rule that never fires keeps its value.

    Returns:
        ``(n_rules,)`` float64, the new ``theta`` (the weight is ``sigmoid(theta)``).
    """
    start = rule_logits.detach().double()
    theta = start.clone().requires_grad_(True)
    shared = torch.zeros(2, dtype=torch.float64, requires_grad=True)  # log a, b
    if len(rows) == 0 or len(start) == 0:
        return start
    opt = torch.optim.LBFGS([theta, shared], lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        log_not = rows.log_not(-nn.functional.softplus(theta))  # log(1 - sigmoid(theta)) per fire
        logits = link_logit(shared[0].exp() * rows.phi + shared[1], log_not).masked_fill(rows.excluded, -torch.inf)
        loss = nn.functional.cross_entropy(logits, rows.answer) + l2 * (theta - start).pow(2).sum() / len(rows)
        loss.backward()
        return loss

    opt.step(closure)
    return theta.detach().clone()
