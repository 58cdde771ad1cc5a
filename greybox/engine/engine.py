"""The tensor engine: a checked program compiled once, evaluated on batches in any semiring.

Relations are int64 tuple columns with a tag per row (the sparse representation), or,
when an evaluation qualifies, dense semiring tensors over small value ranges
(``greybox.engine.dense``); ``Engine.run(representation=...)`` chooses, and both give
the same rows, tags and gradients.

Example:
    >>> import torch
    >>> from greybox.semirings import AddMult
    >>> eng = Engine('''
    ...     edge(a, b). 0.5 :: edge(b, c).
    ...     path(X, Y) :- edge(X, Y).
    ...     path(X, Z) :- path(X, Y), edge(Y, Z).
    ... ''')
    >>> res = eng.run(semiring=AddMult())
    >>> sorted(res.answers("path"))
    [(0, ('a', 'b'), 1.0), (0, ('a', 'c'), 0.5), (0, ('b', 'c'), 0.5)]
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Mapping, Sequence

import torch
from torch import Tensor

from ..errors import ConfigError, ShapeError, UnknownRelationError
from ..lang.analysis import ProgramInfo, analyze
from ..lang.stratify import reachable
from ..lang.ast import Aggregate, Atom, BuiltinDomain, Negation, Program, RangeDomain, SetDomain, Var
from ..lang.facts import InputFact, collect_facts
from ..lang.parser import parse_program
from ..semirings.base import Algebra, FactTable, Semiring
from .fixpoint import CompiledRule, Limits, run_stratum
from .inputs import InputFacts
from .int64 import check_facts
from .relation import Relation, dedupe
from .rule_eval import RuleContext
from .symbols import SymbolTable

__all__ = ["Engine", "InputFacts", "EvalResult", "Limits"]


def _body_relations(body) -> set[str]:
    out: set[str] = set()
    for lit in body:
        if isinstance(lit, Atom):
            out.add(lit.predicate)
        elif isinstance(lit, Negation):
            out.add(lit.atom.predicate)
        elif isinstance(lit, Aggregate):
            out |= _body_relations(lit.body)
    return out


_REPRESENTATIONS = ("auto", "sparse", "dense")


def _check_representation(value: str) -> str:
    if value not in _REPRESENTATIONS:
        raise ConfigError(f"unknown representation {value!r}", hint="use one of: auto, sparse, dense")
    return value


def _is_symbol_type(info: ProgramInfo, type_name: str) -> bool:
    if type_name == "int":
        return False
    if type_name == "symbol":
        return True
    dom = info.domains.get(type_name)
    if isinstance(dom, RangeDomain):
        return False
    if isinstance(dom, SetDomain):
        return any(isinstance(c.value, str) for c in dom.values)
    if isinstance(dom, BuiltinDomain):
        return dom.name == "symbol"
    return True


class Engine:
    """A program compiled for tensor evaluation.

    Args:
        program: source text, a parsed ``Program`` or an analysed ``ProgramInfo``.
        inputs: relations (name -> arity) that are given at run time only.
        limits: resource limits for every evaluation.
        representation: how ``run`` holds relations unless told otherwise: ``"auto"`` (dense
            tensors when the evaluation qualifies, see ``greybox.engine.dense``, else sparse
            tuple columns), ``"sparse"`` or ``"dense"``.

    Raises:
        ParseError, UnknownRelationError, UnsafeRuleError, StratificationError, TypeCheckError:
            when the program does not pass the static checks.
        ConfigError: ``representation`` is not one of the three.
        TypeCheckError: a fact holds an integer outside the 64-bit range.
    """

    def __init__(
        self,
        program: str | Program | ProgramInfo,
        *,
        inputs: Mapping[str, int] | None = None,
        limits: Limits | None = None,
        symbols: SymbolTable | None = None,
        representation: str = "auto",
    ) -> None:
        self.representation = _check_representation(representation)
        self._dense = None  # the dense evaluator and its caches, made on first use
        if isinstance(program, str):
            program = parse_program(program)
        self.info: ProgramInfo = program if isinstance(program, ProgramInfo) else analyze(program, inputs=dict(inputs or {}))
        self.limits = limits or Limits()
        self.input_arities = dict(inputs or {})
        self.symbols = symbols if symbols is not None else SymbolTable()
        self._query_engines: dict[str, tuple["Engine", Atom]] = {}
        self.facts: list[InputFact] = collect_facts(self.info)
        check_facts(self.facts)  # integers read from data files may pass the 64-bit range
        self.arities = {name: rel.arity for name, rel in self.info.relations.items()}
        for name, arity in (inputs or {}).items():
            self.arities.setdefault(name, arity)
        self.symbol_columns = {
            name: [_is_symbol_type(self.info, t) for t in rel.types] for name, rel in self.info.relations.items()
        }
        # the program's own facts, grouped by relation: codes (S_r, arity) and fact ids (S_r,)
        static: dict[str, tuple[list[list[int]], list[int]]] = {}
        self._weight_fact: dict[int, int] = {}
        self.learnable_facts: list[int] = []
        for fact in self.facts:
            if fact.learnable:
                self.learnable_facts.append(fact.id)
            if fact.relation is None:
                assert fact.clause is not None
                self._weight_fact[id(fact.clause)] = fact.id
                continue
            codes = [a if isinstance(a, int) else self.symbols.encode(a) for a in fact.args]
            rows, ids = static.setdefault(fact.relation, ([], []))
            rows.append(codes)
            ids.append(fact.id)
        self._static = {
            name: (torch.tensor(rows, dtype=torch.int64).reshape(len(rows), self.arities[name]), torch.tensor(ids))
            for name, (rows, ids) in static.items()
        }
        self._static_probs = torch.tensor(
            [1.0 if f.probability is None else float(f.probability) for f in self.facts], dtype=torch.float64
        )
        self._static_groups = torch.tensor([f.group for f in self.facts], dtype=torch.int64)
        # relations with one fact, no rules and no run-time input hold one tuple in every sample
        derived = {c.head.predicate for st in self.info.strata for c in st.rules}
        single = frozenset(
            name for name, (rows, _) in self._static.items()
            if rows.shape[0] == 1 and name not in derived and name not in self.input_arities
            and self.info.relations[name].kind != "neural"
        )
        self.strata = [
            (
                [CompiledRule.compile(c, self._weight_for(c), s.relations, single) for c in s.rules],
                s.relations,
                s.recursive,
            )
            for s in self.info.strata
        ]

    def _weight_for(self, clause) -> int | None:
        fid = self._weight_fact.get(id(clause))
        if fid is None and clause.weight is not None:
            for f in self.facts:  # the same clause held by another object
                if f.relation is None and f.clause == clause and f.clause.span == clause.span:
                    return f.id
        return fid

    def dependencies(self, targets: Sequence[str]) -> set[str]:
        """The relations ``targets`` depend on (themselves included), through rules, negations and aggregates."""
        uses: dict[str, set[str]] = {}
        for rules, _, _ in self.strata:
            for rule in rules:
                uses.setdefault(rule.clause.head.predicate, set()).update(_body_relations(rule.clause.body))
        return reachable(uses, targets)

    def query(
        self,
        goal: str | Atom,
        *,
        semiring: Semiring,
        batch_size: int = 1,
        inputs: Mapping[str, "InputFacts"] | None = None,
        **kw,
    ) -> list[tuple[int, tuple, float]]:
        """Answers ``(sample, args, probability)`` to one goal, deriving only what it needs.

        With constants in the goal and a semiring whose ⊗ is idempotent (boolean,
        max-min), the program is rewritten with magic sets, so that only the tuples
        the goal can reach are derived; otherwise only the relations the goal
        depends on are evaluated.

        >>> from greybox.semirings import Boolean
        >>> eng = Engine("e(a, b). e(b, c). e(x, y). p(X, Y) :- e(X, Y). p(X, Z) :- p(X, Y), e(Y, Z).")
        >>> eng.query("p(a, Y)", semiring=Boolean())
        [(0, ('a', 'b'), 1.0), (0, ('a', 'c'), 1.0)]
        """
        from ..lang.magic import magic_rewrite
        from ..lang.parser import parse_query

        atom = goal if isinstance(goal, Atom) else parse_query(goal).body[0]
        engine, answer = self, atom
        bound = any(not isinstance(a, Var) for a in atom.args)
        if bound and semiring.idempotent_mul:
            key = str(atom)
            if key not in self._query_engines:
                magic = magic_rewrite(self.info.program, atom, inputs=self.input_arities)
                if magic.rewritten:
                    rewritten = Engine(magic.program, inputs=self.input_arities, limits=self.limits, symbols=self.symbols,
                                       representation=self.representation)
                    self._query_engines[key] = (rewritten, magic.answer)
                else:
                    self._query_engines[key] = (self, atom)
            engine, answer = self._query_engines[key]
        res = engine.run(semiring=semiring, batch_size=batch_size, inputs=inputs, targets=[answer.predicate], **kw)
        out = []
        for sample, args, p in res.answers(answer.predicate):
            if all(isinstance(a, Var) or a.value == v for a, v in zip(atom.args, args)):
                out.append((sample, args, p))
        return out

    @property
    def learnable_initial(self) -> Tensor:
        """``(L,)`` initial probabilities of the learnable weights, in ``learnable_facts`` order."""
        return self._static_probs[self.learnable_facts].float()

    # ------------------------------------------------------------------ run

    def _device(self, inputs: Mapping[str, InputFacts], learnable: Tensor | None, device) -> torch.device:
        if device is not None:
            return torch.device(device)
        for inp in inputs.values():
            return inp.device
        if learnable is not None:
            return learnable.device
        return torch.empty(0).device  # torch's default device

    def _check_input(self, name: str, inp: InputFacts, batch_size: int) -> None:
        if name not in self.arities:
            raise UnknownRelationError(
                f"input relation '{name}' is not in the program",
                hint=f"declare it (e.g. `type {name}(...).`) or use one of: {', '.join(sorted(self.arities))}",
            )
        arity = self.arities[name]
        if inp.cells is not None:
            if inp.width != 1 + arity:
                raise ShapeError(
                    f"input '{name}' needs a grid of shape (B, n1, ..., n{arity}) ({arity} argument axes), "
                    f"got {tuple(inp.cells[0].shape)}",
                    hint="give the values one axis per argument after the sample axis",
                )
            return
        if inp.cols.dim() != 2 or inp.cols.shape[1] != 1 + arity:
            raise ShapeError(
                f"input '{name}' needs cols of shape (N, {1 + arity}) (sample id + {arity} arguments), "
                f"got {tuple(inp.cols.shape)}",
                hint="put the sample id of each row in column 0",
            )
        n = inp.cols.shape[0]
        for what, t in (("probs", inp.probs), ("groups", inp.groups)):
            if t is not None and tuple(t.shape) != (n,):
                raise ShapeError(f"input '{name}': {what} must have shape ({n},), got {tuple(t.shape)}")

    @staticmethod
    def _input_bounds(inputs: Mapping[str, InputFacts]) -> dict[str, tuple[list[int], list[int], tuple[int, int] | None]]:
        """Per input with rows: ``(lowest, highest)`` value of each column, and of its group ids (None: no groups).

        One read from the device for all inputs given as rows (a grid's are known without one).
        """
        parts, layout = [], []
        out: dict[str, tuple[list[int], list[int], tuple[int, int] | None]] = {}
        for name, inp in inputs.items():
            if not len(inp):
                continue
            known = inp.bounds()
            if known is not None:
                out[name] = known
                continue
            lo, hi = torch.aminmax(inp.cols, dim=0)
            parts += [lo, hi]
            if inp.groups is not None:
                parts.append(torch.stack(torch.aminmax(inp.groups)).to(lo.dtype))
            layout.append((name, int(inp.cols.shape[1]), inp.groups is not None))
        flat = torch.cat(parts).tolist() if parts else []
        at = 0
        for name, width, grouped in layout:
            lo, hi = flat[at: at + width], flat[at + width: at + 2 * width]
            at += 2 * width
            groups = None
            if grouped:
                groups = (flat[at], flat[at + 1])
                at += 2
            out[name] = (lo, hi, groups)
        return out

    @staticmethod
    def _check_samples(name: str, bounds, batch_size: int) -> None:
        lo, hi, _ = bounds
        if lo[0] < 0 or hi[0] >= batch_size:
            raise ShapeError(
                f"input '{name}' has sample ids outside 0..{batch_size - 1}",
                hint="pass batch_size= the number of samples in the batch",
            )

    def run(
        self,
        *,
        semiring: Semiring,
        batch_size: int = 1,
        inputs: Mapping[str, InputFacts] | None = None,
        learnable: Tensor | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        targets: Sequence[str] | None = None,
        representation: str | None = None,
    ) -> "EvalResult":
        """Evaluate the program for ``batch_size`` samples.

        Args:
            semiring: the provenance to compute (``AddMult()``, ``TopKProofs(3)``, ...).
            batch_size: number of samples; the program's own facts hold in every sample.
            inputs: run-time facts per relation.
            learnable: ``(L,)`` probabilities of the learnable weights (``t(p) ::``), in
                ``learnable_facts`` order; defaults to their initial values.
            device: where to evaluate when no input tensor says it.
            targets: compute only these relations and what they depend on (default: all).
            representation: ``"auto"``, ``"sparse"`` or ``"dense"`` (default: the engine's).
                ``"auto"`` evaluates densely when the semiring is add-mult, max-mult, max-min
                or boolean, the rules qualify and the value ranges are small
                (``greybox.engine.dense``), else sparsely; both give the same result.

        Raises:
            ShapeError: an input has the wrong shape.
            UnknownRelationError: an input names a relation the program does not have.
            ResourceLimitError: evaluation passed ``limits``.
            DenseUnsupportedError: ``representation="dense"`` for an evaluation that does not
                qualify (the message says why).
        """
        started = time.monotonic()
        inputs = dict(inputs or {})
        for name, inp in inputs.items():
            self._check_input(name, inp, batch_size)
        bounds = self._input_bounds(inputs)
        for name, b in bounds.items():
            self._check_samples(name, b, batch_size)
        dev = self._device(inputs, learnable, device)
        if dtype is None:
            dtype = next((i.dtype for i in inputs.values() if i.dtype is not None), None) or (
                learnable.dtype if learnable is not None else torch.float32
            )
        mode = _check_representation(self.representation if representation is None else representation)
        if mode != "sparse":
            if self._dense is None:
                from .dense.evaluate import DenseEvaluator

                self._dense = DenseEvaluator(self)
            prepared = self._dense.prepare(semiring, targets, bounds)
            if not isinstance(prepared, Exception) and batch_size * prepared.program.cells > self.limits.max_tuples:
                # the dense tensors could hold more than the limit: the sparse engine counts exactly
                from .dense.qualify import DenseUnsupportedError

                prepared = DenseUnsupportedError(
                    f"{batch_size} samples of up to {prepared.program.cells:,} cells each could pass "
                    f"max_tuples={self.limits.max_tuples:,}",
                    hint="use representation='auto' or 'sparse', or raise Limits(max_tuples=...)",
                )
            if not isinstance(prepared, Exception):
                return self._dense.run(
                    prepared, semiring=semiring, batch_size=batch_size, inputs=inputs, learnable=learnable,
                    device=dev, dtype=dtype, limits=self.limits, started=started,
                )
            if mode == "dense":
                raise prepared

        # -- the fact table: the program's facts first, then the inputs in the order given
        static_probs = self._static_probs.to(device=dev, dtype=dtype)
        if learnable is not None and self.learnable_facts:
            idx = torch.tensor(self.learnable_facts, device=dev)
            static_probs = static_probs.index_put((idx,), learnable.to(dtype))
        probs = [static_probs]
        groups = [self._static_groups.to(dev)]
        next_group = int(self._static_groups.max()) + 1 if len(self.facts) else 0
        next_id = len(self.facts)
        input_ids: dict[str, Tensor] = {}
        input_offsets: dict[str, tuple[int, int]] = {}
        for name, inp in inputs.items():
            n = int(inp.cols.shape[0])
            p = inp.probabilities(dtype)
            if inp.groups is not None:
                _, g = torch.unique(inp.groups, return_inverse=True)
            else:
                g = torch.arange(n, device=dev)
            probs.append(p)
            groups.append(g + next_group)
            next_group += int(g.max()) + 1 if n else 0
            input_ids[name] = torch.arange(next_id, next_id + n, device=dev)
            input_offsets[name] = (next_id, n)
            next_id += n
        table = FactTable(torch.cat(probs), torch.cat(groups))
        algebra = semiring.bind(table)

        # -- relations: the program's facts replicated in every sample, plus inputs
        relations: dict[str, Relation] = {}
        samples = torch.arange(batch_size, device=dev)
        for name, arity in self.arities.items():
            parts_cols, parts_ids = [], []
            if name in self._static:
                codes, ids = self._static[name]
                codes, ids = codes.to(dev), ids.to(dev)
                s = codes.shape[0]
                parts_cols.append(torch.cat([samples.repeat_interleave(s)[:, None], codes.repeat(batch_size, 1)], 1))
                parts_ids.append(ids.repeat(batch_size))
            if name in inputs:
                parts_cols.append(inputs[name].cols.to(dev))
                parts_ids.append(input_ids[name])
            if not parts_cols:
                relations[name] = Relation.empty(arity, algebra)
                continue
            cols = torch.cat(parts_cols)
            relations[name] = dedupe(cols, algebra.from_facts(torch.cat(parts_ids)), algebra)

        ctx = RuleContext(algebra, self.symbols, batch_size, relations, max_rows=self.limits.max_tuples)
        needed = self.dependencies(targets) if targets is not None else None
        for rules, rel_names, recursive in self.strata:
            if needed is not None and not (rel_names & needed):
                continue
            run_stratum(rules, rel_names, recursive, ctx, self.arities, self.limits, started)
        return EvalResult(self, relations, algebra, batch_size, input_offsets)


@dataclass
class EvalResult:
    """Every relation of one evaluation, with helpers to read answers back as Python values."""

    engine: Engine
    relations: dict[str, Relation]
    algebra: Algebra
    batch_size: int
    input_offsets: dict[str, tuple[int, int]]

    def __getitem__(self, name: str) -> Relation:
        return self.relations[name]

    def decode(self, name: str, cols: Tensor) -> list[tuple]:
        """Rows ``(N, 1 + a)`` of relation ``name`` as Python argument tuples (symbols decoded)."""
        kinds = self.engine.symbol_columns.get(name, [])
        out = []
        for row in cols[:, 1:].tolist():
            out.append(tuple(self.engine.symbols.decode(v) if i < len(kinds) and kinds[i] else v for i, v in enumerate(row)))
        return out

    def probabilities(self, name: str) -> tuple[Tensor, Tensor]:
        """``(cols (N, 1 + a), probs (N,))`` of relation ``name``; probs keep their autograd graph."""
        rel = self.relations[name]
        return rel.cols, self.algebra.probability(rel.tags)

    def probability_at(self, name: str, rows: Tensor) -> Tensor:
        """``(N,)`` probability of each tuple ``rows`` ``(N, 1 + a)`` of relation ``name``, 0 where it was
        not derived; gradients flow back to the inputs.

        A dense evaluation reads the cells of ``rows`` directly, without listing the relation's tuples.

        >>> from greybox.semirings import AddMult
        >>> res = Engine("0.5 :: q(1). q(2).").run(semiring=AddMult())
        >>> res.probability_at("q", torch.tensor([[0, 1], [0, 3], [0, 2]])).tolist()
        [0.5, 0.0, 1.0]
        """
        dense = getattr(self.relations, "tags_at", None)
        if dense is not None:
            found, tags = dense(name, rows)
            return torch.where(found, self.algebra.probability(tags), 0.0)
        from .join import lookup
        from .relation import row_keys

        cols, probs = self.probabilities(name)
        n = int(rows.shape[0])
        if not len(probs):
            return torch.zeros(n, device=rows.device, dtype=torch.float32)
        wk, hk = row_keys(rows.to(cols.device), cols)
        idx = lookup(wk, hk)  # (N,)
        p = probs[idx.clamp_min(0)]
        return torch.where(idx >= 0, p, torch.zeros_like(p))

    def probability_per_sample(self, name: str, codes: Tensor) -> Tensor:
        """``(B,)`` probability of one tuple per sample: ``codes`` ``(B, a)`` are the arguments of
        sample ``0..B-1``'s tuple (``probability_at`` with the sample ids left implicit).

        >>> from greybox.semirings import AddMult
        >>> res = Engine("0.5 :: q(1). q(2).").run(semiring=AddMult(), batch_size=2)
        >>> res.probability_per_sample("q", torch.tensor([[1], [3]])).tolist()
        [0.5, 0.0]
        """
        dense = getattr(self.relations, "tags_per_sample", None)
        if dense is not None and int(codes.shape[0]) == self.batch_size:
            found, tags = dense(name, codes)
            return torch.where(found, self.algebra.probability(tags), 0.0)
        samples = torch.arange(int(codes.shape[0]), device=codes.device)[:, None]
        return self.probability_at(name, torch.cat([samples, codes.to(torch.int64)], dim=1))

    def answers(self, name: str) -> list[tuple[int, tuple, float]]:
        """``(sample, args, probability)`` for every tuple of ``name`` (for inspection and tests)."""
        cols, probs = self.probabilities(name)
        return [
            (int(s), args, round(float(p), 6))
            for s, args, p in zip(cols[:, 0].tolist(), self.decode(name, cols), probs.detach().tolist())
        ]
