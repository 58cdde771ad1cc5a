"""One evaluation skeleton for both representations: inputs, fact numbering, strata, rounds, limits.

``Engine.run`` checks the run's inputs here (``RunInputs.check``), chooses a
representation, and calls ``evaluate``, which does the same for every representation:

1. number the facts (``greybox.engine.numbering``) and bind the semiring to them;
2. ``load`` the program's facts and the inputs into the representation's relations;
3. for each stratum, run round one (``first_round``), then, in a recursive stratum,
   semi-naive rounds (``Rounds.step``) while a relation changes, checking the limits
   (rounds and wall-clock time, ``fixpoint.check_round``) before each;
4. return an ``EvalResult`` over the representation's relations.

A representation holds relations its own way: sparse tuple columns
(``greybox.engine.sparse``) or dense semiring tensors (``greybox.engine.dense.evaluate``);
``Representation`` and ``Rounds`` are all the skeleton asks of one.

Example:
    >>> import time
    >>> from greybox.engine.engine import Engine
    >>> from greybox.engine.sparse import SparseRepresentation
    >>> from greybox.semirings import MaxMult
    >>> eng = Engine("e(1, 2). e(2, 3). p(X, Y) :- e(X, Y). p(X, Z) :- p(X, Y), e(Y, Z).")
    >>> run = RunInputs.check(eng, {}, batch_size=1, learnable=None, device=None, dtype=None)
    >>> res = evaluate(eng, SparseRepresentation(eng, run, targets=None), semiring=MaxMult(), run=run,
    ...                learnable=None, started=time.monotonic())
    >>> [args for _, args, _ in res.answers("p")]
    [(1, 2), (1, 3), (2, 3)]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Iterable, Mapping, Protocol

import torch
from torch import Tensor

from ..errors import ShapeError, UnknownRelationError
from ..semirings.base import Algebra, Semiring
from .fixpoint import check_round
from .inputs import InputFacts
from .numbering import NumberedFacts
from .relation import Relation
from .result import EvalResult

if TYPE_CHECKING:  # pragma: no cover
    from .engine import Engine

__all__ = ["Representation", "Rounds", "Stratum", "RunInputs", "Bounds", "evaluate"]

#: per input with rows: the lowest and highest value of each column (sample id first), and
#: of its group ids (None: no groups)
Bounds = tuple[list[int], list[int], "tuple[int, int] | None"]


class Stratum(Protocol):
    """A stratum as a representation compiled it."""

    relations: frozenset[str]
    recursive: bool


class Rounds(Protocol):
    """The semi-naive rounds of one recursive stratum (stable / recent / to_add)."""

    def changing(self) -> bool:
        """Whether the last round changed a relation of the stratum."""

    def busiest(self) -> str:
        """The relation that changed most in the last round (asked only to name it in an error)."""

    def step(self) -> None:
        """One more round: ``to_add`` from the recent tuples, merged into the totals."""

    def finish(self) -> None:
        """Put the stratum's totals where later strata and the result read them."""


class Representation(Protocol):
    """How one evaluation holds relations; made per run by ``Engine.run``."""

    def load(self, facts: NumberedFacts, algebra: Algebra) -> None:
        """Hold the program's facts (the same in every sample) and the run's inputs."""

    def strata(self) -> Iterable[Stratum]:
        """The strata to evaluate, in order (only those the targets need)."""

    def first_round(self, stratum: Stratum) -> Rounds:
        """Round one of ``stratum``: the rules that read no relation of the stratum, merged into its facts."""

    def relations(self) -> Mapping[str, Relation]:
        """Every relation evaluated, read as rows."""


@dataclass
class RunInputs:
    """The checked inputs of one run, with where and in what it evaluates.

    Attributes:
        inputs: run-time facts per relation, in the order given (the fact numbering's order).
        bounds: per input with rows, its ``Bounds`` (one read from the device for all of them).
        batch_size, device, dtype: of the evaluation.
    """

    inputs: dict[str, InputFacts]
    bounds: dict[str, Bounds]
    batch_size: int
    device: torch.device
    dtype: torch.dtype

    @classmethod
    def check(cls, engine: "Engine", inputs: Mapping[str, InputFacts] | None, *, batch_size: int,
              learnable: Tensor | None, device, dtype: torch.dtype | None) -> "RunInputs":
        """Check ``inputs`` against ``engine``'s relations and ``batch_size``.

        Raises:
            UnknownRelationError: an input names a relation the program does not have.
            ShapeError: an input has the wrong shape, or sample ids outside ``0..batch_size-1``.
        """
        inputs = dict(inputs or {})
        for name, inp in inputs.items():
            _check_input(engine.arities, name, inp)
        bounds = _input_bounds(inputs)
        for name, b in bounds.items():
            _check_samples(name, b, batch_size)
        dev = _device(inputs, learnable, device)
        if dtype is None:
            dtype = next((i.dtype for i in inputs.values() if i.dtype is not None), None) or (
                learnable.dtype if learnable is not None else torch.float32
            )
        return cls(inputs, bounds, batch_size, dev, dtype)


def evaluate(engine: "Engine", representation: Representation, *, semiring: Semiring, run: RunInputs,
             learnable: Tensor | None, started: float) -> EvalResult:
    """Evaluate ``engine``'s program on ``run`` in ``representation``.

    Args:
        engine: the compiled program (its fact numbering and limits).
        representation: how the relations are held (``Engine._choose``).
        semiring: the provenance to compute.
        run: the checked inputs.
        learnable: ``(L,)`` probabilities of the learnable weights (None: their initial values).
        started: ``time.monotonic()`` when the run began (for ``Limits.time_budget_s``).

    Raises:
        ResourceLimitError: evaluation passed ``engine.limits``.
    """
    facts = engine.numbering.number(run.inputs, learnable, run.device, run.dtype)
    algebra = semiring.bind(facts.table)
    representation.load(facts, algebra)
    for stratum in representation.strata():
        rounds = representation.first_round(stratum)
        if not stratum.recursive:
            continue
        iteration = 0
        while rounds.changing():
            iteration += 1
            check_round(engine.limits, iteration, started, rounds.busiest)
            rounds.step()
        rounds.finish()
    return EvalResult(engine, representation.relations(), algebra, run.batch_size, facts.input_offsets)


# ---------------------------------------------------------------------- checking the inputs


def _device(inputs: Mapping[str, InputFacts], learnable: Tensor | None, device) -> torch.device:
    if device is not None:
        return torch.device(device)
    for inp in inputs.values():
        return inp.device
    if learnable is not None:
        return learnable.device
    return torch.empty(0).device  # torch's default device


def _check_input(arities: Mapping[str, int], name: str, inp: InputFacts) -> None:
    if name not in arities:
        raise UnknownRelationError(
            f"input relation '{name}' is not in the program",
            hint=f"declare it (e.g. `type {name}(...).`) or use one of: {', '.join(sorted(arities))}",
        )
    arity = arities[name]
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


def _input_bounds(inputs: Mapping[str, InputFacts]) -> dict[str, Bounds]:
    """``Bounds`` per input with rows: one read from the device for all inputs given as rows
    (a grid's are known without one)."""
    parts, layout = [], []
    out: dict[str, Bounds] = {}
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


def _check_samples(name: str, bounds: Bounds, batch_size: int) -> None:
    lo, hi, _ = bounds
    if lo[0] < 0 or hi[0] >= batch_size:
        raise ShapeError(
            f"input '{name}' has sample ids outside 0..{batch_size - 1}",
            hint="pass batch_size= the number of samples in the batch",
        )

