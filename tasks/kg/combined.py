"""Rules and an embedding in one program: the score of a link is the probability of ``link(h, r, t)``.

The program (:func:`link_program`) adds to the learned rule file one neural predicate and
one rule per relation::

    nn(kge, [X, R, Y], C, [yes]) :: kge_link(X, R, Y, C).
    link(X, R, Y) :- kge_link(X, R, Y, yes).
    link(X, r, Z) :- inferred_r(X, Z).        % for every relation r

so ``link(h, r, t)`` has one proof by the embedding (the fact ``kge_link(h, r, t, yes)``,
probability ``sigmoid(phi(h, r, t))``) and one proof per rule of ``r`` whose body joins ``h``
to ``t`` (probability: the rule's weight ``w``; the facts are certain). Its exact probability
(the engine's with the ``top-k`` semiring and ``k`` at least the number of proofs, or the
reference evaluator's) is the noisy-or::

    P(link(h, r, t)) = 1 - (1 - sigmoid(phi)) * prod over the rules that fire of (1 - w)

Here that value is computed for whole rows of candidates at once from the rules' body
matrices. ``log_not_rules`` is ``sum log(1 - w)`` over the rules that fire, and the ranking
uses the log-odds of the probability (:func:`link_logit`): the same order, without the
rounding of ``1 - tiny`` to 1 when many rules fire. With no rule firing the log-odds are
``phi`` itself, so the embedding alone is this model with no rules.

Example:
    >>> import torch
    >>> phi = torch.tensor([0.0, 2.0], dtype=torch.float64)          # sigmoid: 0.5, 0.881
    >>> log_not = torch.log(torch.tensor([0.2, 1.0], dtype=torch.float64))  # a rule of weight 0.8; none
    >>> [round(p, 6) for p in link_probability(phi, log_not).tolist()]   # 1 - 0.5 * 0.2, sigmoid(2)
    [0.9, 0.880797]
    >>> torch.allclose(link_logit(phi, log_not), torch.logit(link_probability(phi, log_not)))
    True
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import torch

from greybox.learn.path_mining import BodyMatrices, GraphIndex
from greybox.learn.path_rules import PathRule, head_name

__all__ = ["NEURAL_MODEL", "LINK", "link_program", "link_logit", "link_probability", "log_not_rules",
           "HeldOutRuleRows", "CalibrationRows", "calibrated_logit", "rows_mrr", "fit_calibration",
           "cross_fitted_mrr"]

#: the name of the embedding in the program's ``nn(...)`` declaration
NEURAL_MODEL = "kge"
#: the relation every predicted link is an answer of
LINK = "link"


def link_program(relations: Sequence[str]) -> str:
    """The statements that join the rule file and the embedding into ``link(X, R, Y)``.

    >>> print(link_program(["uncle"]))
    nn(kge, [X, R, Y], C, [yes]) :: kge_link(X, R, Y, C).
    link(X, R, Y) :- kge_link(X, R, Y, yes).
    link(X, uncle, Z) :- inferred_uncle(X, Z).
    """
    lines = [f"nn({NEURAL_MODEL}, [X, R, Y], C, [yes]) :: kge_link(X, R, Y, C).",
             f"{LINK}(X, R, Y) :- kge_link(X, R, Y, yes)."]
    lines += [f"{LINK}(X, {r}, Z) :- {head_name(r)}(X, Z)." for r in relations]
    return "\n".join(lines)


def link_logit(phi: torch.Tensor, log_not: torch.Tensor) -> torch.Tensor:
    """Log-odds of ``1 - (1 - sigmoid(phi)) * exp(log_not)``, stable for any ``phi`` and ``log_not <= 0``.

    Args:
        phi: the embedding's scores (``-inf``: no embedding fact).
        log_not: ``sum log(1 - w)`` of the rules that fire (0: none).
    """
    # a = log(1 - P) = log(1 - sigmoid(phi)) + log_not = -softplus(phi) + log_not
    a = (-torch.nn.functional.softplus(phi) + log_not).clamp(max=-1e-300)
    return torch.log(-torch.expm1(a)) - a


def link_probability(phi: torch.Tensor, log_not: torch.Tensor) -> torch.Tensor:
    """``1 - (1 - sigmoid(phi)) * exp(log_not)``: the probability of ``link(h, r, t)``."""
    return -torch.expm1(-torch.nn.functional.softplus(phi) + log_not)


def log_not_rules(matrices: BodyMatrices, rules: Sequence[PathRule], log_not_w: torch.Tensor) -> torch.Tensor:
    """``(E, E)`` float64: ``sum log(1 - w)`` over the rules whose body joins ``x`` to ``z`` (no gradient).

    Args:
        matrices: the body matrices of the graph the rules are applied to.
        rules: the rules of one relation; a rule whose body names a relation the graph lacks never fires.
        log_not_w: ``(len(rules),)`` their ``log(1 - w)``.
    """
    n = matrices.n
    acc = torch.zeros(n, n, dtype=torch.float64, device=matrices.device)
    known = set(matrices.index.relations)
    for rule, value in zip(rules, log_not_w.detach().double().tolist()):
        if any(rel not in known for rel, _ in rule.body):
            continue
        rows, cols = matrices.pairs(matrices.body(tuple(matrices.index.label(rel, inv) for rel, inv in rule.body)))
        acc.index_put_((rows, cols), torch.full((len(rows),), value, dtype=torch.float64, device=acc.device),
                       accumulate=True)
    return acc


class HeldOutRuleRows:
    """The rules' bodies on the graph without each training fact's fold: what training sees.

    A rule scored on the graph that holds a fact can use that fact in its own body, so it
    would look right on its own training facts. Here the training facts are cut into
    ``folds`` random folds; for a fact of fold ``f`` the bodies are evaluated on the graph
    without fold ``f`` (as :mod:`greybox.learn.rule_weights` does). Kept per fold and
    relation: for each head ``h`` of the fold's facts the row ``body[h, :]`` of every rule
    (tail queries), and for each tail ``t`` the column ``body[:, t]`` (head queries).

    Args:
        facts: the training facts ``(h, r, t)``.
        entities, relations: the numbering (that of the model).
        rules: the rules, any relations, in the model's order.
        folds: how many folds.
        seed: the folds' seed.
        device: where the matrices are built.

    Example:
        >>> facts = [("a", "p", "b"), ("b", "p", "c"), ("a", "g", "c"), ("d", "p", "e"), ("e", "p", "f"),
        ...          ("d", "g", "f")]
        >>> rule = PathRule("g", (("p", False), ("p", False)), 0.5)
        >>> rows = HeldOutRuleRows(facts, "abcdef", ["g", "p"], [rule], folds=2, seed=5)
        >>> tail, head = rows.features([("a", "g", "c")], torch.tensor([-1.0], dtype=torch.float64))
        >>> tail.tolist()[0][2], head.tolist()[0][0]     # a -p-> b -p-> c: log(1 - w) at c, and at a
        (-1.0, -1.0)
    """

    def __init__(self, facts: Sequence[Sequence[str]], entities: Sequence[str], relations: Sequence[str],
                 rules: Sequence[PathRule], *, folds: int = 5, seed: int = 0, device: str = "cpu") -> None:
        facts = [tuple(f) for f in facts]
        self.n = len(entities)
        entity_id = {e: i for i, e in enumerate(entities)}
        relation_id = {r: i for i, r in enumerate(relations)}
        fold_of = np.random.default_rng(seed).integers(folds, size=len(facts))
        fold = {f: int(k) for f, k in zip(facts, fold_of)}
        rule_ids: dict[str, list[int]] = defaultdict(list)
        for i, rule in enumerate(rules):
            rule_ids[rule.head].append(i)
        width = max((len(v) for v in rule_ids.values()), default=0)
        # rule_table[r, j]: the j-th rule of relation r; len(rules) (weight 0) pads
        self.rule_table = torch.full((len(relations), width), len(rules), dtype=torch.int64)
        for r, ids in rule_ids.items():
            self.rule_table[relation_id[r], :len(ids)] = torch.tensor(ids)
        # slot 0 of rows / cols: no rule fires (a fact of a relation without rules)
        row_blocks = [torch.zeros(1, width, self.n, dtype=torch.bool)]
        col_blocks = [torch.zeros(1, width, self.n, dtype=torch.bool)]
        #: fact -> (row slot of its head, column slot of its tail, its relation's number)
        self.slots: dict[tuple, tuple[int, int, int]] = {}
        n_rows = n_cols = 1
        for k in range(folds):
            rest = [f for f in facts if fold[f] != k]
            held = [f for f in facts if fold[f] == k]
            if not rest or not held:
                continue
            matrices = BodyMatrices(GraphIndex(rest, entities, relations), device=device)
            by_relation: dict[str, list[tuple]] = defaultdict(list)
            for f in held:
                by_relation[f[1]].append(f)
            for r, members in by_relation.items():
                ids = rule_ids.get(r, [])
                if not ids:
                    for f in members:
                        self.slots[f] = (0, 0, relation_id[r])
                    continue
                heads = sorted({entity_id[h] for h, _, _ in members})
                tails = sorted({entity_id[t] for _, _, t in members})
                rows = torch.zeros(len(heads), width, self.n, dtype=torch.bool)  # (|H|, rules, E)
                cols = torch.zeros(len(tails), width, self.n, dtype=torch.bool)  # (|T|, rules, E)
                hi, ti = torch.tensor(heads, device=device), torch.tensor(tails, device=device)
                for j, i in enumerate(ids):
                    m = matrices.body(tuple(matrices.index.label(rel, inv) for rel, inv in rules[i].body))
                    m = m if matrices.dense else m.to_dense()
                    rows[:, j] = (m[hi] > 0).cpu()
                    cols[:, j] = (m[:, ti].t() > 0).cpu()
                row_slot = {h: n_rows + j for j, h in enumerate(heads)}
                col_slot = {t: n_cols + j for j, t in enumerate(tails)}
                for h, _, t in members:
                    self.slots[(h, r, t)] = (row_slot[entity_id[h]], col_slot[entity_id[t]], relation_id[r])
                row_blocks.append(rows)
                col_blocks.append(cols)
                n_rows += len(heads)
                n_cols += len(tails)
        self.rows = torch.cat(row_blocks)  # (S, rules, E) bool
        self.cols = torch.cat(col_blocks)  # (S', rules, E) bool

    def features(self, triples: Sequence[Sequence[str]], log_not_w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, E)`` float64 ``log_not`` of the tail candidates ``r(h, ?)`` and of the head candidates ``r(?, t)``.

        Args:
            triples: training facts (each has its fold); a triple outside them gets no rule.
            log_not_w: ``(n_rules,)`` ``log(1 - w)`` of every rule (differentiable).
        """
        dev = log_not_w.device
        slots = torch.tensor([self.slots.get(tuple(t), (0, 0, 0)) for t in triples], dtype=torch.int64)  # (B, 3)
        padded = torch.cat([log_not_w.double(), log_not_w.new_zeros(1, dtype=torch.float64)])
        w = padded[self.rule_table.to(dev)][slots[:, 2].to(dev)]  # (B, rules): log(1 - w) of each fact's rules
        # log_not[b, z] = sum over the rules n of r_b of log(1 - w_n) * body_n[h_b, z]  (and body_n[z, t_b])
        tail = torch.einsum("bne,bn->be", self.rows[slots[:, 0]].to(dev, torch.float64), w)
        head = torch.einsum("bne,bn->be", self.cols[slots[:, 1]].to(dev, torch.float64), w)
        return tail, head


# ---------------------------------------------------------------------- the second stage: calibration

class CalibrationRows:
    """Held-out queries as rows of candidates: what the calibration is fitted and measured on.

    One row per query side (``r(h, ?)`` and ``r(?, t)``): the embedding's scores ``phi`` and the
    rules' ``log_not`` of every candidate, the answer's index, and the candidates left out (the
    other known answers: filtered ranking). Rows are stacked, ``(N, E)`` each.
    """

    def __init__(self, phi: torch.Tensor, log_not: torch.Tensor, relation: torch.Tensor, answer: torch.Tensor,
                 excluded: torch.Tensor) -> None:
        self.phi, self.log_not = phi.double(), log_not.double()
        self.relation, self.answer, self.excluded = relation.long(), answer.long(), excluded.bool()

    def __len__(self) -> int:
        return len(self.answer)

    def subset(self, keep: torch.Tensor) -> "CalibrationRows":
        return CalibrationRows(self.phi[keep], self.log_not[keep], self.relation[keep], self.answer[keep],
                               self.excluded[keep])

    @classmethod
    def build(cls, queries: Sequence[Sequence[str]], known: Sequence[Sequence[str]], entities: Sequence[str],
              relations: Sequence[str], phi_of, log_not_of) -> "CalibrationRows":
        """Rows of ``queries`` (both ends), filtered by ``known`` (every triple that may be true besides).

        Args:
            phi_of: ``relation -> (E, E)`` the embedding's (uncalibrated) scores.
            log_not_of: ``relation -> (E, E)`` the rules' ``sum log(1 - w)`` (uncalibrated weights).
        """
        ids = {e: i for i, e in enumerate(entities)}
        rid = {r: i for i, r in enumerate(relations)}
        tails, heads = defaultdict(set), defaultdict(set)
        for h, r, t in list(known) + list(queries):
            tails[(h, r)].add(ids[t])
            heads[(r, t)].add(ids[h])
        phi, log_not, rel, answer, excluded = [], [], [], [], []
        cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        for h, r, t in queries:
            if r not in cache:
                cache[r] = (phi_of(r).double().cpu(), log_not_of(r).double().cpu())
            p, q = cache[r]
            for row_phi, row_not, target, others in ((p[ids[h]], q[ids[h]], ids[t], tails[(h, r)]),
                                                     (p[:, ids[t]], q[:, ids[t]], ids[h], heads[(r, t)])):
                mask = torch.zeros(len(entities), dtype=torch.bool)
                mask[list(others - {target})] = True
                phi.append(row_phi), log_not.append(row_not), rel.append(rid[r]), answer.append(target)
                excluded.append(mask)
        n = len(entities)
        empty = torch.zeros(0, n, dtype=torch.float64)
        return cls(torch.stack(phi) if phi else empty, torch.stack(log_not) if log_not else empty,
                   torch.tensor(rel, dtype=torch.long), torch.tensor(answer, dtype=torch.long),
                   torch.stack(excluded) if excluded else empty.bool())


def calibrated_logit(rows: CalibrationRows, scale: torch.Tensor, bias: torch.Tensor,
                     power: torch.Tensor) -> torch.Tensor:
    """``(N, E)`` log-odds of the link with the embedding's fact ``sigmoid(scale_r * phi + bias_r)`` and each
    rule's weight ``1 - (1 - w) ** power_r`` (``log(1 - w')`` is ``power_r * log(1 - w)``); left-out candidates
    ``-inf``. ``scale``, ``bias``, ``power``: ``(R,)`` per relation."""
    r = rows.relation
    logits = link_logit(scale[r, None] * rows.phi + bias[r, None], power[r, None] * rows.log_not)
    return logits.masked_fill(rows.excluded, -torch.inf)


def rows_mrr(logits: torch.Tensor, answer: torch.Tensor) -> float:
    """Mean reciprocal rank of ``answer`` in each row, ties at the mean rank (as ``filtered_rank``).

    >>> rows_mrr(torch.tensor([[2.0, 1.0, 1.0], [0.0, 1.0, 1.0]]), torch.tensor([0, 1]))  # ranks 1 and 1.5
    0.8333333333333333
    """
    if len(answer) == 0:
        return 0.0
    target = logits.gather(1, answer[:, None])
    rank = 1.0 + (logits > target).sum(1).double() + 0.5 * ((logits == target).sum(1).double() - 1.0)
    return float((1.0 / rank).mean())


def fit_calibration(rows: CalibrationRows, n_relations: int, *, per_relation: bool, l2: float = 0.05,
                    steps: int = 100) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Fit ``(scale, bias, power)``, each ``(R,)``, to the rows by cross-entropy over each row's candidates.

    One value of each for all relations (``per_relation=False``), or that value plus a relation's own
    offset, pulled to 0 by ``l2 * offset ** 2``. Starts from the uncalibrated program (1, 0, 1);
    ``power`` near 0 switches the rules off, so the embedding alone is one of the fits.
    """
    shared = torch.zeros(3, dtype=torch.float64, requires_grad=True)  # log scale, bias, log power
    own = torch.zeros(n_relations, 3, dtype=torch.float64, requires_grad=per_relation)

    def values():
        z = shared[None, :] + (own if per_relation else own.detach())
        return z[:, 0].exp(), z[:, 1], z[:, 2].clamp(min=-30.0).exp()

    if len(rows):
        params = [shared, own] if per_relation else [shared]
        opt = torch.optim.LBFGS(params, lr=1.0, max_iter=steps, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(calibrated_logit(rows, *values()), rows.answer)
            if per_relation:
                loss = loss + l2 * own.pow(2).sum()
            loss.backward()
            return loss

        opt.step(closure)
    with torch.no_grad():
        return tuple(v.detach().clone() for v in values())


def cross_fitted_mrr(rows: CalibrationRows, n_relations: int, *, per_relation: bool, folds: int = 2,
                     seed: int = 0, **options) -> float:
    """The MRR of the rows when each fold is ranked by the calibration fitted on the other folds."""
    g = torch.Generator().manual_seed(seed)
    fold = torch.randperm(len(rows), generator=g) % folds
    logits = torch.empty_like(rows.phi)
    for k in range(folds):
        params = fit_calibration(rows.subset(fold != k), n_relations, per_relation=per_relation, **options)
        logits[fold == k] = calibrated_logit(rows.subset(fold == k), *params)
    return rows_mrr(logits, rows.answer)
