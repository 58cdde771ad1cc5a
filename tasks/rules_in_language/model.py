"""``RulesInLanguageTask``: a text reader reads the theory and the question, the engine answers, the loss trains the reader.

One forward pass, per question:

1. the reader reads every sentence of the theory and the question as candidate readings with
   probabilities (``reader(ItemLists) -> ReaderOutput``: ``readings (N, K)``, ``probabilities (N, K)``);
2. the theory becomes a program (:func:`~greybox.neural.reading_program.theory_program`) in which
   each candidate is gated by the run-time fact ``read(Sentence, Candidate)``, whose probability
   is the reader's;
3. the tensor engine evaluates it in the **max-mult** semiring (the best derivation: polynomial
   on ~20-sentence theories with recursion, unlike exact counting) and gives the probability that
   the question's atom (and, in the open world, its negation ``neg_p``) is derived, differentiable
   in the reader's probabilities;
4. the loss: closed world, binary cross-entropy on P(True) (``P(q)``, or ``1 - P(q)`` for a
   negated question); open world, the negative log of the labelled class among
   ``(P(q), P(neg q), (1 - P(q)) (1 - P(neg q)))`` normalised (True/False only when the question
   has two options). The question's candidates are summed over, weighted by their probability.

The prediction decodes the most probable reading of every sentence (candidates at probability
0.5 or more; else the best one when it outweighs "unreadable") and answers exactly with the
reference evaluator (:func:`~tasks.rules_in_language.reasoning.solve`): nothing in it is bounded
by a depth. ``test_acc`` is logged with one accuracy per proof depth (``test_acc/depth3``) when
the questions have one, and per answer class (``test_acc/true`` ...) in the open world.

Any reader fits that returns an object with ``readings`` and ``probabilities`` (the shared
``ReaderOutput``); the config names it by ``class_path``/``init_args`` like any network.
"""

from __future__ import annotations

from collections import Counter, OrderedDict
from functools import lru_cache
from typing import Any, Literal as Choice, Mapping, Sequence

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from greybox.engine.engine import Engine, InputFacts
from greybox.errors import ConfigError
from greybox.neural.logical_forms import Literal, Reading
from greybox.neural.reading_program import GATE, TheoryProgram, theory_program
from greybox.semirings import MaxMult

from .files import ANSWERS
from .reasoning import VERDICTS, Answer, question_atom, solve

__all__ = ["RulesInLanguageTask", "decode_readings", "Decoded"]


def decode_readings(readings: Sequence[Sequence[Reading]], probabilities: Tensor) -> list[list[Reading]]:
    """Per item, the readings kept: every candidate at probability 0.5 or more, else the most probable
    one when it outweighs the rest of the row ("unreadable"); each with its probability filled in.

    >>> big = Reading(Literal("big", ("bob",)))
    >>> decode_readings([[big], [big], []], torch.tensor([[0.9], [0.3], [0.0]]))[1:]
    [[], []]
    >>> round(decode_readings([[big]], torch.tensor([[0.9]]))[0][0].probability, 6)
    0.9
    """
    out = []
    probs = probabilities.detach().float().cpu().tolist()
    for cands, row in zip(readings, probs):
        row = row[: len(cands)]
        kept = [r.with_probability(float(p)) for r, p in zip(cands, row) if p >= 0.5]
        if not kept and cands:
            best = max(range(len(cands)), key=lambda k: row[k])
            if row[best] > 1.0 - sum(row):
                kept = [cands[best].with_probability(float(row[best]))]
        out.append(kept)
    return out


@lru_cache(maxsize=64)
def _program(sentences: tuple[str, ...], readings: tuple, counts: tuple[int, ...], world: str) -> TheoryProgram:
    """The program of a theory as read (cached: the questions of one theory share it)."""
    flat = [r.with_probability(p) for r, p in readings]
    theory, at = [], 0
    for n in counts:
        theory.append(flat[at: at + n])
        at += n
    return theory_program(sentences, theory, world=world, weights="probability")


@lru_cache(maxsize=256)
def _gated_program(sentences: tuple[str, ...], candidates: tuple, world: str, asked: tuple) -> TheoryProgram:
    """The program whose readings are gated by ``read(S, K)`` (cached: the gates' probabilities are not in it)."""
    return theory_program(sentences, [list(rs) for rs in candidates], world=world, weights="gate", extra_relations=asked)


def _declares(program: TheoryProgram, lit: Literal) -> bool:
    """Whether the program declares the atoms a question about ``lit`` reads (both polarities in the open world)."""
    for positive in ((True, False) if program.world == "open" else (True,)):
        relation, _ = question_atom(lit, program, positive=positive)
        if relation not in (program.atoms if program.ground else program.arities):
            return False
    return True


def _allowed(verdict: str, options: int) -> str:
    """The verdict among a question's options: with only True and False, a statement not derived is False.

    >>> _allowed("unknown", 2), _allowed("unknown", 3), _allowed("contradiction", 2)
    ('false', 'unknown', 'contradiction')
    """
    return "false" if verdict == "unknown" and options == 2 else verdict


class Decoded:
    """One question as the model answers it: the theory's readings and program, the question's reading, the answer."""

    def __init__(self, sentences: Sequence[str], readings: list[list[Reading]], question: str,
                 question_reading: Reading | None, program: TheoryProgram, answer: Answer | None) -> None:
        self.sentences = list(sentences)
        self.readings = readings
        self.question = question
        self.question_reading = question_reading
        self.program = program
        self.answer = answer

    @property
    def verdict(self) -> str:
        """The verdict; ``unknown`` in the open world and ``false`` in the closed one for an unreadable question."""
        if self.answer is not None:
            return self.answer.verdict
        return "unknown" if self.program.world == "open" else "false"


class RulesInLanguageTask(pl.LightningModule):
    """Train a text reader from the answers to questions about theories stated in English.

    Args:
        reader: the text reader (``class_path``/``init_args`` in a config): called on an ``ItemLists``
            of sentences, it returns ``readings (N, K)`` and ``probabilities (N, K)``.
        world: ``closed`` (RuleTaker: negation as failure) or ``open`` (ProofWriter: True/False/Unknown).
        lr: Adam learning rate.
        cache_size: compiled programs kept (a theory read the same way again is not compiled again).
    """

    def __init__(self, reader: nn.Module, world: Choice["closed", "open"] = "closed", lr: float = 1e-4,
                 cache_size: int = 512) -> None:
        super().__init__()
        if world not in ("closed", "open"):
            raise ConfigError(f"unknown world {world!r}", hint="use world: closed (RuleTaker) or world: open (ProofWriter)")
        self.save_hyperparameters(ignore=["reader"])
        self.reader = reader
        self.world = world
        self.lr = lr
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self.cache_size = cache_size
        self._tally: dict[str, Counter] = {}

    # ------------------------------------------------------------------ reading

    def _read(self, items) -> tuple[list[list[Reading]], Tensor]:
        out = self.reader(items)
        return out.readings, out.probabilities

    def decode(self, batch: Mapping[str, Any]) -> list[Decoded]:
        """Every question of a batch read and answered exactly (see the module)."""
        sentences, questions = batch["sentences"], batch["question"]
        with torch.no_grad():
            readings, probs = self._read(sentences)
            q_readings, q_probs = self._read(questions)
        kept = decode_readings(readings, probs)
        q_kept = decode_readings(q_readings, q_probs)
        _, width = sentences.shape
        out = []
        for b, sample in enumerate(sentences.samples):
            theory = kept[b * width: b * width + len(sample)]
            question = next((r for r in q_kept[b] if r.is_fact), None)
            program = _program(tuple(sample), tuple((r, r.probability) for rs in theory for r in rs),
                               tuple(len(rs) for rs in theory), self.world)
            if question is not None and not _declares(program, question.head):
                program = theory_program(sample, theory, world=self.world, weights="probability",
                                         extra_relations=[question.head])
            answer = solve(program, question) if question is not None else None
            out.append(Decoded(sample, theory, questions.samples[b][0], question, program, answer))
        return out

    def decode_one(self, sentences: Sequence[str], question: str | None) -> Decoded:
        """One theory (and question, when given) read and answered, as in ``decode``."""
        from greybox.neural.items import ItemLists

        batch = {"sentences": ItemLists([list(sentences)]), "question": ItemLists([[question or ""]])}
        decoded = self.decode(batch)[0]
        if question is None:
            decoded.question, decoded.question_reading, decoded.answer = "", None, None
        return decoded

    def export_theory(self, sentences: Sequence[str], question: str | None = None) -> str:
        """The theory as the model reads it, a ``.dl`` file: each reading under its sentence, weighted by
        its probability; the question, when given, as a ``?-`` query (see ``greybox read``)."""
        d = self.decode_one(sentences, question)
        lines = [d.program.text, ""]
        if question is not None:
            lines.append(f"% question: {question}")
            lines.append("%   `greybox query FILE --semiring boolean` says whether the atom is derived (the verdict), "
                         "`--semiring max-mult` gives the model's probability")
            if d.question_reading is None:
                lines.append("%   unreadable: no logical form, so no query")
            else:
                relation, args = question_atom(d.question_reading.head, d.program,
                                               positive=not (d.question_reading.head.negated and self.world == "open"))
                atom = f"{relation}({', '.join(args)})" if args else relation
                how = ("True when this atom is NOT derived (negation as failure)"
                       if self.world == "closed" and d.question_reading.head.negated else "True when this atom is derived")
                if self.world == "open":
                    other, _ = question_atom(d.question_reading.head, d.program, positive=d.question_reading.head.negated)
                    how += f"; False when {other}({', '.join(args)}) is; Unknown otherwise"
                lines.append(f"%   read as {d.question_reading.head} (p={d.question_reading.probability:.3f}); {how}")
                lines.append(f"%   the model's answer: {d.verdict} (p={d.answer.probability:.3f})")
                lines.append(f"?- {atom}.")
        return "\n".join(lines) + "\n"

    def decision_trace(self, example: Mapping[str, Any], *, split: str, index: int, k: int = 3,
                       why_not_answer: str | None = None, provenance=None, **_: Any):
        """The ``DecisionTrace`` of a one-question batch (``greybox explain`` calls it; see ``tasks.rules_in_language.explain``)."""
        from .explain import trace_of

        decoded = self.decode(example)[0]
        label = int(example["label"][0]) if "label" in example else None
        return trace_of(decoded, label=label, split=split, index=index, k=k, why_not_answer=why_not_answer,
                        provenance=provenance)

    # ------------------------------------------------------------------ the differentiable answer

    def _engine(self, text: str) -> Engine:
        engine = self._engines.get(text)
        if engine is None:
            engine = self._engines[text] = Engine(text, representation="sparse")
            while len(self._engines) > self.cache_size:
                self._engines.popitem(last=False)
        else:
            self._engines.move_to_end(text)
        return engine

    def answer_scores(self, batch: Mapping[str, Any]) -> Tensor:
        """``(B, 3)`` probability of True, False, Unknown for every question (differentiable in the reader).

        Closed world: ``(P(True), 1 - P(True), 0)``. Open world: ``(P(q), P(neg q), (1 - P(q)) (1 - P(neg q)))``.
        """
        sentences, questions = batch["sentences"], batch["question"]
        readings, probs = self._read(sentences)  # (B*M, K)
        q_readings, q_probs = self._read(questions)  # (B, K)
        _, width = sentences.shape
        rows = []
        for b, sample in enumerate(sentences.samples):
            cands = [[r for r in readings[b * width + i]] for i in range(len(sample))]
            p = probs[b * width: b * width + len(sample)]  # (M_b, K)
            q_cands = [(k, r) for k, r in enumerate(q_readings[b]) if r.is_fact]
            program = _gated_program(tuple(sample), tuple(tuple(rs) for rs in cands), self.world,
                                     tuple(r.head for _, r in q_cands))
            engine = self._engine(program.text)
            gates = [(s, k) for s, rs in enumerate(cands) for k in range(len(rs))]
            cols = torch.tensor([[0, s, k] for s, k in gates], dtype=torch.int64).reshape(-1, 3)
            gate_p = torch.stack([p[s, k] for s, k in gates]) if gates else p.new_zeros(0)
            result = engine.run(semiring=MaxMult(), inputs={GATE: InputFacts(cols, gate_p.float())})
            score = p.new_zeros(3).float()
            for k, r in q_cands:
                weight = q_probs[b, k].float()
                pos = self._atom_probability(engine, result, program, r.head, True)
                if self.world == "closed":
                    p_true = 1.0 - pos if r.head.negated else pos
                    s_k = torch.stack([p_true, 1.0 - p_true, torch.zeros_like(p_true)])
                else:
                    neg = self._atom_probability(engine, result, program, r.head, False)
                    asked, other = (neg, pos) if r.head.negated else (pos, neg)
                    s_k = torch.stack([asked, other, (1.0 - asked) * (1.0 - other)])
                score = score + weight * s_k
            rows.append(score)
        # a batch in which nothing was read still hangs on the reader's graph: zero gradient, not an error
        anchor = 0.0 * (probs.sum() + q_probs.sum()).float()
        return torch.stack(rows) + anchor  # (B, 3)

    @staticmethod
    def _atom_probability(engine: Engine, result, program: TheoryProgram, lit: Literal, positive: bool) -> Tensor:
        relation, args = question_atom(lit, program, positive=positive)
        if relation not in engine.arities or any(a[:1].isupper() for a in args):
            return torch.zeros((), dtype=torch.float32)
        codes = [engine.symbols.encode(a) for a in args]
        row = torch.tensor([[0, *codes]], dtype=torch.int64)
        return result.probability_at(relation, row)[0].float()

    def loss(self, batch: Mapping[str, Any]) -> Tensor:
        """Closed world: BCE on P(True); open world: NLL of the label among the allowed answers."""
        scores = self.answer_scores(batch).clamp(1e-6, 1.0 - 1e-6)  # (B, 3)
        labels = batch["label"].to(scores.device)
        if self.world == "closed":
            p_true = scores[:, 0]
            target = (labels == 0).float()
            return nn.functional.binary_cross_entropy(p_true, target)
        allowed = torch.arange(3, device=scores.device)[None, :] < batch["options"].to(scores.device)[:, None]
        masked = torch.where(allowed, scores, torch.zeros_like(scores))
        chosen = masked.gather(1, labels[:, None]).squeeze(1)
        return -(torch.log(chosen) - torch.log(masked.sum(1))).mean()

    # ------------------------------------------------------------------ lightning

    def forward(self, batch: Mapping[str, Any]) -> Tensor:
        return self.answer_scores(batch)

    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> Tensor:
        loss = self.loss(batch)
        if not loss.requires_grad:  # the reader read nothing at all (its probabilities are constants): no step
            loss = loss + sum(0.0 * p.sum() for p in self.parameters() if p.requires_grad)
        self.log("train_loss", loss, prog_bar=True, batch_size=len(batch["id"]))
        return loss

    def _evaluate(self, stage: str, batch: Mapping[str, Any]) -> None:
        tally = self._tally.setdefault(stage, Counter())
        options = batch["options"].tolist() if "options" in batch else [3] * len(batch["id"])
        for d, label, depth, n in zip(self.decode(batch), batch["label"].tolist(), batch["depth"].tolist(), options):
            right = _allowed(d.verdict, n) == ANSWERS[label]
            for group in ("", f"/depth{depth}" if depth >= 0 else None,
                          f"/{ANSWERS[label]}" if self.world == "open" else None):
                if group is not None:
                    tally[f"right{group}"] += right
                    tally[f"total{group}"] += 1

    def validation_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        self._evaluate("val", batch)

    def test_step(self, batch: Mapping[str, Any], batch_idx: int) -> None:
        self._evaluate("test", batch)

    def _log_tally(self, stage: str) -> None:
        tally = self._tally.pop(stage, Counter())
        for key, total in sorted(tally.items()):
            if key.startswith("total") and total:
                group = key[len("total"):]
                self.log(f"{stage}_acc{group}", tally[f"right{group}"] / total, prog_bar=not group)

    def on_validation_epoch_end(self) -> None:
        self._log_tally("val")

    def on_test_epoch_end(self) -> None:
        self._log_tally("test")

    #: the batch key of the true answer (``greybox explain --wrong-only`` compares predictions with it)
    answer_key = "label"

    def predict_answers(self, batch: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """``(codes (B, 1), probability (B,))``: each verdict as its index in ``VERDICTS`` (0 True, 1 False,
        2 Unknown, 3 contradiction: never a label) and its probability."""
        decoded = self.decode(batch)
        options = batch["options"].tolist() if "options" in batch else [3] * len(decoded)
        codes = torch.tensor([[VERDICTS.index(_allowed(d.verdict, n))] for d, n in zip(decoded, options)],
                             dtype=torch.int64)
        probs = torch.tensor([d.answer.probability if d.answer else 1.0 for d in decoded])
        return codes, probs

    #: the names of the answer codes (``greybox predict --output`` writes them)
    answer_names = list(VERDICTS)

    def predict_step(self, batch: Mapping[str, Any], batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        """``{"answer": (B, 1) codes into VERDICTS, "probability": (B,)}``."""
        codes, probs = self.predict_answers(batch)
        return {"answer": codes, "probability": probs}

    def configure_optimizers(self):
        """Adam at ``lr`` over the reader's trainable parameters (none: nothing to train, e.g. a gold reader)."""
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.Adam(params, lr=self.lr) if params else None
