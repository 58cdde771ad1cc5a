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
from typing import Mapping, Sequence

import torch
from torch import Tensor

from ..errors import ConfigError
from ..lang.analysis import ProgramInfo, analyze
from ..lang.stratify import reachable
from ..lang.ast import Aggregate, Atom, BuiltinDomain, Negation, Program, RangeDomain, SetDomain, Var
from ..lang.facts import InputFact, collect_facts
from ..lang.magic import magic_rewrite
from ..lang.parser import parse_program, parse_query
from ..semirings.base import Semiring
from .dense.evaluate import DenseEvaluator
from .dense.qualify import DenseUnsupportedError
from .evaluation import Representation, RunInputs, evaluate
from .fixpoint import CompiledRule, Limits
from .inputs import InputFacts
from .int64 import check_facts
from .numbering import FactNumbering
from .result import EvalResult
from .sparse import SparseRepresentation
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
        self._dense: DenseEvaluator | None = None  # the dense path and its caches, made on first use
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
        self.numbering = FactNumbering(
            self._static_probs, torch.tensor([f.group for f in self.facts], dtype=torch.int64), self.learnable_facts
        )
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
    ) -> EvalResult:
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
        run = RunInputs.check(self, inputs, batch_size=batch_size, learnable=learnable, device=device, dtype=dtype)
        mode = _check_representation(self.representation if representation is None else representation)
        chosen = self._choose(mode, semiring, targets, run)
        return evaluate(self, chosen, semiring=semiring, run=run, learnable=learnable, started=started)

    def _choose(self, mode: str, semiring: Semiring, targets: Sequence[str] | None, run: RunInputs) -> Representation:
        """The representation of one run: dense when ``mode`` allows and the evaluation qualifies, else sparse.

        Raises:
            DenseUnsupportedError: ``mode`` is ``"dense"`` and the evaluation does not qualify.
        """
        if mode != "sparse":
            if self._dense is None:
                self._dense = DenseEvaluator(self)
            prepared = self._dense.prepare(semiring, targets, run.bounds)
            if not isinstance(prepared, Exception) and run.batch_size * prepared.program.cells > self.limits.max_tuples:
                # the dense tensors could hold more than the limit: the sparse engine counts exactly
                prepared = DenseUnsupportedError(
                    f"{run.batch_size} samples of up to {prepared.program.cells:,} cells each could pass "
                    f"max_tuples={self.limits.max_tuples:,}",
                    hint="use representation='auto' or 'sparse', or raise Limits(max_tuples=...)",
                )
            if not isinstance(prepared, Exception):
                return self._dense.representation(prepared, run)
            if mode == "dense":
                raise prepared
        return SparseRepresentation(self, run, targets)
