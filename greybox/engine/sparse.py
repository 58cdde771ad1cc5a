"""The sparse representation: every relation as int64 tuple columns with a tag per row.

The general representation: any semiring, any program, values of any size. Joins are
sort and hash joins over rows (``greybox.engine.rule_eval``), and a stratum's rounds
are ``greybox.engine.fixpoint.SparseRounds``; the evaluation skeleton
(``greybox.engine.evaluation``) drives them.

Example:
    >>> from greybox.engine.engine import Engine
    >>> from greybox.semirings import AddMult
    >>> res = Engine("0.5 :: e(1, 2). p(X) :- e(X, _).", representation="sparse").run(semiring=AddMult())
    >>> res.answers("p")
    [(0, (1,), 0.5)]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import torch

from ..semirings.base import Algebra
from .evaluation import RunInputs, Stratum
from .fixpoint import CompiledRule, SparseRounds
from .numbering import NumberedFacts
from .relation import Relation, dedupe
from .rule_eval import RuleContext

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Engine

__all__ = ["SparseRepresentation"]


class _SparseStratum:
    def __init__(self, rules: list[CompiledRule], relations: frozenset[str], recursive: bool) -> None:
        self.rules, self.relations, self.recursive = rules, relations, recursive


class SparseRepresentation:
    """Relations of one run as tuple columns (``Relation``), evaluated rule by rule.

    Args:
        engine: the compiled program.
        run: the checked inputs.
        targets: compute only these relations and what they depend on (None: all).
    """

    def __init__(self, engine: "Engine", run: RunInputs, targets: Sequence[str] | None) -> None:
        self.engine, self.run = engine, run
        self.needed = engine.dependencies(targets) if targets is not None else None
        self.ctx: RuleContext | None = None

    def load(self, facts: NumberedFacts, algebra: Algebra) -> None:
        """The program's facts replicated in every sample, plus the inputs, deduplicated (⊕) per relation."""
        eng, run = self.engine, self.run
        dev, batch_size = run.device, run.batch_size
        relations: dict[str, Relation] = {}
        samples = torch.arange(batch_size, device=dev)
        for name, arity in eng.arities.items():
            parts_cols, parts_ids = [], []
            if name in eng._static:
                codes, ids = eng._static[name]
                codes, ids = codes.to(dev), ids.to(dev)
                s = codes.shape[0]
                # (B * S, 1 + a): sample id, then the fact's arguments
                parts_cols.append(torch.cat([samples.repeat_interleave(s)[:, None], codes.repeat(batch_size, 1)], 1))
                parts_ids.append(ids.repeat(batch_size))
            if name in run.inputs:
                first, n = facts.input_offsets[name]
                parts_cols.append(run.inputs[name].cols.to(dev))
                parts_ids.append(torch.arange(first, first + n, device=dev))
            if not parts_cols:
                relations[name] = Relation.empty(arity, algebra)
                continue
            cols = torch.cat(parts_cols)
            relations[name] = dedupe(cols, algebra.from_facts(torch.cat(parts_ids)), algebra)
        self.ctx = RuleContext(algebra, eng.symbols, batch_size, relations, max_rows=eng.limits.max_tuples)

    def strata(self) -> Iterable[Stratum]:
        for rules, names, recursive in self.engine.strata:
            if self.needed is not None and not (names & self.needed):
                continue
            yield _SparseStratum(rules, names, recursive)

    def first_round(self, stratum: Stratum) -> SparseRounds:
        assert isinstance(stratum, _SparseStratum) and self.ctx is not None
        return SparseRounds(stratum.rules, stratum.relations, self.ctx, self.engine.arities, self.engine.limits)

    def relations(self) -> Mapping[str, Relation]:
        assert self.ctx is not None
        return self.ctx.relations
