"""``ReasoningModule``: perception networks -> facts -> rule engine -> answer probabilities, as one ``nn.Module``.

Example:
    >>> import torch
    >>> from torch import nn
    >>> program = '''
    ...     nn(coin_net, [X], F, [heads, tails]) :: face(X, F).
    ...     both_heads :- face(0, heads), face(1, heads).
    ... '''
    >>> coin = nn.Sequential(nn.Flatten(), nn.Linear(1, 2), nn.Softmax(-1))
    >>> model = ReasoningModule(program, {"coin_net": coin}, query="both_heads")
    >>> out = model({"coin_net": torch.zeros(4, 2, 1)})   # 4 samples, 2 coins each
    >>> out.probability_of([()] * 4).shape
    torch.Size([4])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import torch
from torch import Tensor, nn

from ..engine.engine import Engine, EvalResult, InputFacts, Limits
from ..errors import ConfigError
from ..lang.analysis import require_bound
from ..lang.ast import Atom, Const, Program, Var
from ..lang.parser import parse_program, parse_query
from ..semirings import Semiring, get_semiring
from .items import ItemLists
from .predicate import NeuralOutput, NeuralPredicate

__all__ = ["ReasoningModule", "ReasoningOutput", "load_programs"]


def _load_program(program: str | Path) -> tuple[str, str | None]:
    """Program text and its file name; ``program`` is a path to a ``.dl`` file or source text."""
    if isinstance(program, Path) or (isinstance(program, str) and program.endswith(".dl") and "\n" not in program):
        path = Path(program)
        if not path.is_file():
            raise ConfigError(f"rule file '{path}' does not exist", hint="give the path of a .dl file, relative to the working directory")
        return path.read_text(), str(path)
    return str(program), None


def load_programs(program: str | Path | Sequence[str | Path], extra_facts: str = "") -> Program:
    """Parse one program, or several evaluated together, each statement keeping its own file and line.

    Args:
        program: a ``.dl`` path or program text, or a list of them (e.g. the rules, then a task's glue).
        extra_facts: program text appended last (file name ``<extra_facts>``).

    Raises:
        ConfigError: a file does not exist or the list is empty.
        ParseError: a part does not parse (naming its file and line).

    >>> p = load_programs(["edge(1, 2).", "path(X, Y) :- edge(X, Y)."])
    >>> len(p.statements)
    2
    """
    parts = [program] if isinstance(program, (str, Path)) else list(program)
    if not parts:
        raise ConfigError("the program list is empty", hint="give at least one .dl file, e.g. program: [knowledge/kinship.dl]")
    parsed: Program | None = None
    for part in parts:
        text, file = _load_program(part)
        one = parse_program(text, file=file)
        parsed = one if parsed is None else parsed + one
    assert parsed is not None
    if extra_facts:
        parsed = parsed + parse_program(extra_facts, file="<extra_facts>")
    return parsed


class ReasoningModule(nn.Module):
    """Networks that perceive, a program that reasons, and a query whose probabilities come out.

    Args:
        program: path of a ``.dl`` file, or program text, or a list of them evaluated together
            (e.g. ``["knowledge/kinship.dl", "knowledge/kinship_read.dl", "knowledge/kinship_task.dl"]``), with ``nn(...)`` declarations.
        networks: module for each model name used in the ``nn(...)`` declarations.
        query: the atom to answer, e.g. ``"sum(S)"``; its variables are the answer.
        semiring: provenance used in ``forward`` (``"add-mult"`` trains exact
            sum-product programs fast; ``"top-k"`` also returns proofs).
        k: proofs kept per tuple when ``semiring="top-k"``.
        extra_facts: program text added to the program (e.g. ``"num_digits(4)."``).
        limits: resource limits for every evaluation.

    Raises:
        UnboundNeuralPredicateError: a declared model has no module in ``networks``.
    """

    def __init__(
        self,
        program: str | Path | Sequence[str | Path],
        networks: Mapping[str, nn.Module],
        query: str,
        semiring: str = "add-mult",
        k: int = 3,
        extra_facts: str = "",
        input_relations: Mapping[str, int] | None = None,
        limits: Limits | None = None,
    ) -> None:
        super().__init__()
        parsed = load_programs(program, extra_facts)
        self.engine = Engine(parsed, inputs=dict(input_relations or {}), limits=limits)
        require_bound(self.engine.info, networks)
        self.networks = nn.ModuleDict(dict(networks))
        self.predicates = [NeuralPredicate(d, self.engine.symbols) for d in self.engine.info.program.neural]
        q = parse_query(query)
        atoms = [lit for lit in q.body if isinstance(lit, Atom)]
        if len(q.body) != 1 or not atoms:
            raise ConfigError(f"query '{query}' must be a single atom such as sum(S)", hint="write the answer relation and its variables")
        self.query_atom: Atom = atoms[0]
        if self.query_atom.predicate not in self.engine.arities:
            raise ConfigError(
                f"query relation '{self.query_atom.predicate}' is not defined by the program",
                hint=f"pick one of: {', '.join(sorted(self.engine.arities))}",
            )
        self.semiring_name = semiring
        self.k = k
        init = self.engine.learnable_initial.clamp(1e-4, 1 - 1e-4)
        # learnable rule weights live as logits so that they stay probabilities
        self.weight_logits = nn.Parameter(torch.logit(init)) if len(init) else None

    def semiring(self, name: str | None = None) -> Semiring:
        name = name or self.semiring_name
        return get_semiring(name, k=self.k) if name.replace("_", "-") == "top-k" else get_semiring(name)

    def perceive(self, batch: Mapping[str, Tensor | ItemLists | NeuralOutput]) -> dict[str, NeuralOutput]:
        """Run each network on its input. A tensor ``(B, M, ...)`` is read as ``M`` items per sample;
        an :class:`~greybox.neural.items.ItemLists` (text, say) reaches the network as its
        ``B * M`` items, a list, ``None`` for padding.

        >>> from torch import nn
        >>> class Length(nn.Module):  # long text or short text
        ...     def forward(self, texts): return torch.tensor([[len(t or "") > 3, len(t or "") <= 3] for t in texts]).float()
        >>> model = ReasoningModule("nn(len_net, [X], L, [long, short]) :: size(X, L).", {"len_net": Length()}, query="size(X, L)")
        >>> out = model.perceive({"len_net": ItemLists([["hello", "hi"], ["hey"]])})["len_net"]
        >>> out.items, out.probs[:, 0].tolist()
        ((2, 2), [1.0, 0.0, 0.0, 0.0])
        """
        outs: dict[str, NeuralOutput] = {}
        for pred in self.predicates:
            if pred.model in outs:
                continue
            x = batch.get(pred.model)
            if x is None:
                raise ConfigError(f"the batch has no input for network '{pred.model}'", hint=f"pass {{'{pred.model}': tensor}} or an ItemLists")
            if isinstance(x, NeuralOutput):
                outs[pred.model] = x
                continue
            b, m = x.shape[:2]
            flat = x.flat() if isinstance(x, ItemLists) else x.reshape(b * m, *x.shape[2:])  # B*M items
            probs = self.networks[pred.model](flat)  # (B*M, C)
            outs[pred.model] = pred.items(probs.reshape(b, m, -1))
        return outs

    def forward(
        self,
        batch: Mapping[str, Tensor | ItemLists | NeuralOutput],
        facts: Mapping[str, InputFacts] | None = None,
        *,
        semiring: str | None = None,
        batch_size: int | None = None,
        neural: Mapping[str, NeuralOutput] | None = None,
    ) -> "ReasoningOutput":
        """Perceive, reason and return the query's answers for every sample of the batch."""
        neural = dict(neural) if neural is not None else self.perceive(batch)
        inputs: dict[str, InputFacts] = dict(facts or {})
        for pred in self.predicates:
            inputs[pred.relation] = pred.facts(neural[pred.model])
        if batch_size is None:
            first = next(iter(neural.values()), None)
            if first is not None and first.items is not None:
                batch_size = first.items[0]
            else:
                batch_size = int(first.args[:, 0].max()) + 1 if first is not None and len(first.args) else 1
        learnable = torch.sigmoid(self.weight_logits) if self.weight_logits is not None else None
        result = self.engine.run(
            semiring=self.semiring(semiring), batch_size=batch_size, inputs=inputs, learnable=learnable,
            targets=[self.query_atom.predicate],
        )
        return ReasoningOutput(result, self.query_atom, neural)


@dataclass
class ReasoningOutput:
    """The evaluation of one batch, read through the query."""

    result: EvalResult
    query: Atom
    neural: dict[str, NeuralOutput]

    def _rows(self) -> tuple[Tensor, Tensor, list[int]]:
        """Query tuples ``(N, 1 + a)``, their probabilities ``(N,)``, and the answer columns."""
        cols, probs = self.result.probabilities(self.query.predicate)
        mask = torch.ones(cols.shape[0], dtype=torch.bool, device=cols.device)
        free: list[int] = []
        seen: dict[str, int] = {}
        for i, arg in enumerate(self.query.args):
            if isinstance(arg, Const):
                code = arg.value if isinstance(arg.value, int) else self.result.engine.symbols.lookup(arg.value)
                mask &= cols[:, 1 + i] == (code if code is not None else -(2**62))
            elif isinstance(arg, Var) and arg.name in seen:
                mask &= cols[:, 1 + i] == cols[:, 1 + seen[arg.name]]
            else:
                seen[arg.name] = i
                free.append(1 + i)
        idx = mask.nonzero().squeeze(1)
        return cols[idx], probs[idx], free

    def all_answers(self) -> tuple[Tensor, Tensor]:
        """Every derived answer: ``(codes (N, 1 + n_free), probability (N,))``, column 0 the sample."""
        cols, probs, free = self._rows()
        return cols[:, [0] + free], probs

    def answer_codes(self, answers: Sequence[tuple]) -> Tensor:
        """Encode one answer tuple per sample as ``(B, n_free)`` int64 codes."""
        syms = self.result.engine.symbols
        rows = [[a if isinstance(a, int) else (syms.lookup(a) if syms.lookup(a) is not None else -(2**62)) for a in ans] for ans in answers]
        return torch.tensor(rows, dtype=torch.int64).reshape(len(answers), -1)

    def probability_of(self, answers: Sequence[tuple] | Tensor) -> Tensor:
        """``(B,)`` probability of the given answer of each sample (0 where it was not derived).

        ``answers`` is one tuple of answer values per sample, or ``(B, n_free)`` codes.
        """
        b = self.result.batch_size
        codes = answers if isinstance(answers, Tensor) else self.answer_codes(answers)
        codes = codes.to(torch.int64).reshape(b, -1)
        names = [arg.name for arg in self.query.args if isinstance(arg, Var)]
        if len(names) == len(self.query.args) == len(set(names)):  # q(X, Y): the answer is the whole tuple
            return self.result.probability_per_sample(self.query.predicate, codes)
        # the query's whole tuple per sample: answer values, constants, repeated variables
        syms = self.result.engine.symbols
        columns = [torch.arange(b, device=codes.device)]
        seen: dict[str, int] = {}
        for arg in self.query.args:
            if isinstance(arg, Const):
                code = arg.value if isinstance(arg.value, int) else syms.lookup(arg.value)
                columns.append(torch.full((b,), code if code is not None else -(2**62), dtype=torch.int64,
                                          device=codes.device))
            elif isinstance(arg, Var) and arg.name in seen:
                columns.append(columns[1 + seen[arg.name]])
            else:
                seen[arg.name] = len(columns) - 1
                columns.append(codes[:, len(seen) - 1])
        rows = torch.stack(columns, dim=1)  # (B, 1 + a)
        return self.result.probability_at(self.query.predicate, rows)

    def ranked(self, sample: int) -> list[tuple[tuple, float]]:
        """All answers of one sample with their probabilities, most probable first."""
        cols, probs, free = self._rows()
        pick = (cols[:, 0] == sample).nonzero().squeeze(1)
        decoded = self.result.decode(self.query.predicate, cols[pick])
        values = [tuple(d[i - 1] for i in free) for d in decoded]
        pairs = list(zip(values, probs[pick].detach().tolist()))
        return sorted(pairs, key=lambda t: (-t[1], t[0]))

    def predict(self) -> tuple[Tensor, Tensor]:
        """``(codes (B, n_free), probability (B,))`` of each sample's most probable answer.

        A sample with no derived answer gets code ``-1`` and probability 0.
        """
        cols, probs, free = self._rows()
        b = self.result.batch_size
        p = probs.detach()
        best_p = torch.zeros(b, dtype=p.dtype, device=p.device).scatter_reduce(0, cols[:, 0], p, "amax", include_self=True)
        is_best = (p == best_p[cols[:, 0]]) & (p > 0)
        row = torch.full((b,), -1, dtype=torch.int64, device=p.device)
        # the first best row of each sample (lowest index) wins ties
        candidates = torch.where(is_best, torch.arange(len(p), device=p.device), torch.full_like(cols[:, 0], len(p)))
        first = torch.full((b,), len(p), dtype=torch.int64, device=p.device).scatter_reduce(0, cols[:, 0], candidates, "amin")
        row = torch.where(first < len(p), first, row)
        codes = torch.where(row[:, None] >= 0, cols[row.clamp_min(0)][:, free], torch.full((b, len(free)), -1, device=p.device))
        return codes, best_p
