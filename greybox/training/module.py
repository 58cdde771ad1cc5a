"""``ReasoningTask``: a LightningModule that trains perception networks through the rules.

Only the conclusions are labelled: the loss is the negative log-likelihood of the
labelled answer of the training query, computed by the engine from the networks'
facts, so gradients reach every network through the proofs.

Two ways to label:

* an answer query ``train_query="sum(S)"`` with ``label_key="label"``: the loss is
  ``-log P(sum(label))``;
* a conditioned query ``train_query="correct"`` (no variables): the labels are given
  to the program as facts (``sequence_facts={"target": "label_digits"}``) and the
  loss is ``-log P(correct)``. This keeps exact inference polynomial when the
  answer space is huge (the sum of two 15-digit numbers).

Predictions come from ``eval_query``: ``decode="exact"`` takes the most probable
answer; ``decode="most_probable_world"`` evaluates the program once on every
network's most probable reading (cheap when exact answer probabilities are not).
"""

from __future__ import annotations

from typing import Literal, Mapping

import pytorch_lightning as pl
import torch
from torch import Tensor, nn

from ..engine.engine import InputFacts
from ..errors import ConfigError
from ..neural.module import ReasoningModule, ReasoningOutput
from ..neural.predicate import NeuralOutput

__all__ = ["ReasoningTask", "sequence_facts"]


def sequence_facts(values: Tensor) -> InputFacts:
    """``(B, L)`` values -> certain facts ``rel(i, values[b, i])`` for every sample ``b`` and position ``i``.

    >>> sequence_facts(torch.tensor([[3, 1]])).cols.tolist()
    [[0, 0, 3], [0, 1, 1]]
    """
    b, length = values.shape
    dev = values.device
    sample = torch.arange(b, device=dev).repeat_interleave(length)
    pos = torch.arange(length, device=dev).repeat(b)
    return InputFacts(torch.stack([sample, pos, values.reshape(-1).long()], dim=1))


class ReasoningTask(pl.LightningModule):
    """Train networks from labels on conclusions.

    Args:
        program: path of the ``.dl`` rule file, or a list of files evaluated together.
        networks: the perception module for each model name in the program's ``nn(...)``.
        train_query: the query whose probability is maximised.
        eval_query: the query whose most probable answer is the prediction (default: train_query).
        inputs: batch key holding each network's input, a ``(B, M, ...)`` tensor or an ``ItemLists`` (text)
            (default: ``images`` for every network).
        label_key: batch key of the labelled answer (for an answer-valued train_query).
        answer_key: batch key of the true answer, to score predictions (default: label_key).
        sequence_facts: relation -> batch key of ``(B, L)`` values given as facts ``rel(i, v)``.
        perception_targets: network -> batch key of its true classes ``(B, M)`` (indices into the
            classes of its ``nn`` declaration); used only to report the network's own accuracy,
            never for training: logged as ``train_<network>_acc`` (per epoch, as read while
            learning), ``val_<network>_acc`` and ``test_<network>_acc``.
        extra_facts: program text appended to the program (e.g. ``num_digits(2).``).
        semiring: provenance used for training.
        decode: how ``eval_query`` is decoded into a prediction.
        lr: Adam learning rate.
        eps: floor of the label's probability inside the log (0: the smallest positive
            float), so that an underived label gives a finite loss while tiny
            probabilities (1e-15 for a 15-digit addition at the start) keep their gradient.
        loss: ``"nll"``: ``-log P(label)``, right when the answers' probabilities compete
            (add-mult: they sum to at most 1). ``"bce"``: binary cross-entropy over every
            derived answer, ``-log P(label) - sum over other answers a of log(1 - P(a))``;
            needed when they do not compete (max-mult scores each answer by its best
            proof, and ``nll`` alone is satisfied by deriving every answer).
    """

    def __init__(
        self,
        program: str | list[str],
        networks: dict[str, nn.Module],
        train_query: str,
        eval_query: str | None = None,
        inputs: dict[str, str] | None = None,
        label_key: str | None = "label",
        answer_key: str | None = None,
        sequence_facts: dict[str, str] | None = None,
        perception_targets: dict[str, str] | None = None,
        extra_facts: str = "",
        semiring: str = "add-mult",
        decode: Literal["exact", "most_probable_world"] = "exact",
        lr: float = 1e-3,
        eps: float = 0.0,
        loss: Literal["nll", "bce"] = "nll",
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["networks"])
        self.reasoner = ReasoningModule(program, networks, query=train_query, semiring=semiring, extra_facts=extra_facts)
        self.eval_reasoner_query = eval_query or train_query
        # reasoners for other queries, sharing this one's modules (plain dict: not registered as submodules)
        self._query_reasoners: dict[str, ReasoningModule] = {}
        self.inputs = dict(inputs or {name: "images" for name in networks})
        self.label_key = label_key
        self.answer_key = answer_key or label_key
        self.sequence_facts = dict(sequence_facts or {})
        self.perception_targets = dict(perception_targets or {})
        self.decode = decode
        self.lr = lr
        self.eps = eps
        if loss not in ("nll", "bce"):
            raise ConfigError(f"unknown loss '{loss}'", hint="use loss: nll or loss: bce")
        self.loss_kind = loss
        for rel in self.sequence_facts:
            if rel not in self.reasoner.engine.arities:
                raise ConfigError(f"sequence_facts names '{rel}', which the program does not have",
                                  hint="declare it in the program, e.g. `type target(int, int).`")

    # ------------------------------------------------------------------ pieces

    def _net_inputs(self, batch: Mapping[str, Tensor]) -> dict[str, Tensor]:
        out = {}
        for model, key in self.inputs.items():
            if key not in batch:
                raise ConfigError(f"batch has no key '{key}' for network '{model}'", hint=f"keys are: {', '.join(batch)}")
            out[model] = batch[key]
        return out

    def _facts(self, batch: Mapping[str, Tensor]) -> dict[str, InputFacts]:
        return {rel: sequence_facts(batch[key]) for rel, key in self.sequence_facts.items()}

    def _batch_size(self, batch: Mapping[str, Tensor]) -> int:
        return int(next(iter(self._net_inputs(batch).values())).shape[0])

    def reason(self, batch: Mapping[str, Tensor], query: str | None = None, semiring: str | None = None,
               neural: Mapping[str, NeuralOutput] | None = None) -> ReasoningOutput:
        """Evaluate ``query`` (default: the training query) on a batch."""
        reasoner = self.reasoner if query is None else self._reasoner_for(query)
        return reasoner(self._net_inputs(batch), self._facts(batch), semiring=semiring,
                        batch_size=self._batch_size(batch), neural=neural)

    def _reasoner_for(self, query: str) -> ReasoningModule:
        # another query over the same program, networks and weights: share everything but the query atom
        if query == self.hparams.train_query:
            return self.reasoner
        clone = self._query_reasoners.get(query)
        if clone is None:
            from ..lang.parser import parse_query

            clone = object.__new__(ReasoningModule)
            clone.__dict__.update(self.reasoner.__dict__)
            clone.query_atom = parse_query(query).body[0]
            self._query_reasoners[query] = clone
        return clone

    def loss(self, batch: Mapping[str, Tensor]) -> tuple[Tensor, ReasoningOutput]:
        out = self.reason(batch)
        if out.query.args:
            if self.label_key is None:
                raise ConfigError("train_query has variables, so label_key must name the batch's answer", hint="set label_key")
            labels = batch[self.label_key].reshape(self._batch_size(batch), -1)
            p = out.probability_of(labels)
        else:
            labels = torch.zeros(self._batch_size(batch), 0, dtype=torch.int64)
            p = out.probability_of(labels)
        floor = max(self.eps, torch.finfo(p.dtype).tiny)
        nll = -torch.log(p.clamp_min(floor))  # (B,)
        if self.loss_kind == "bce" and out.query.args:
            codes, probs = out.all_answers()  # (N, 1 + f), (N,)
            labels = labels.to(codes.device)
            wrong = (codes[:, 1:] != labels[codes[:, 0]]).any(dim=1)  # (N,) answers other than the label
            # -log(1 - P(a)) for every derived wrong answer a, summed per sample
            push_down = -torch.log1p(-probs[wrong].clamp(max=1.0 - 1e-6))
            nll = nll.index_add(0, codes[wrong, 0], push_down.to(nll.dtype))
        return nll.mean(), out

    def predict_answers(self, batch: Mapping[str, Tensor], train_out: ReasoningOutput | None = None) -> tuple[Tensor, Tensor]:
        """``(codes (B, n_free), probability (B,))`` of the predicted answers.

        ``train_out``: this batch's evaluation of the training query, reused when it is also
        the evaluation query (one engine run instead of two).
        """
        if self.decode == "exact":
            if train_out is not None and self.eval_reasoner_query == self.hparams.train_query:
                return train_out.predict()
            out = self.reason(batch, self.eval_reasoner_query)
            return out.predict()
        neural = self.reasoner.perceive(self._net_inputs(batch))
        hard = {}
        for name, n in neural.items():
            onehot = torch.zeros_like(n.probs).scatter_(1, n.probs.argmax(1, keepdim=True), 1.0)
            hard[name] = NeuralOutput(n.args, onehot)
        out = self.reason(batch, self.eval_reasoner_query, semiring="max-mult", neural=hard)
        codes, _ = out.predict()
        # the probability of the most probable world: product of the chosen readings
        prob = torch.ones(self._batch_size(batch), device=codes.device)
        for n in neural.values():
            prob = prob.index_reduce(0, n.args[:, 0], n.probs.max(1).values.detach(), "prod")
        return codes, prob

    # ------------------------------------------------------------------ lightning

    def forward(self, batch: Mapping[str, Tensor]) -> ReasoningOutput:
        return self.reason(batch)

    def _loader_name(self, stage: str, dataloader_idx: int) -> str | None:
        """The data module's name for a test loader (e.g. ``k10``), when it gives names."""
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        names = getattr(dm, f"{stage}_loader_names", None)
        return names[dataloader_idx] if names and 0 <= dataloader_idx < len(names) else None

    def _log_metrics(self, stage: str, batch: Mapping[str, Tensor], loss: Tensor | None,
                     out: ReasoningOutput | None = None, dataloader_idx: int = 0) -> None:
        b = self._batch_size(batch)
        name = self._loader_name(stage, dataloader_idx)
        suffix = f"/{name}" if name else ""

        def log(metric: str, value: Tensor, prog_bar: bool) -> None:
            self.log(f"{metric}{suffix}", value, prog_bar=prog_bar, batch_size=b, sync_dist=stage != "train",
                     add_dataloader_idx=name is None)

        if loss is not None:
            log(f"{stage}_loss", loss, True)
        if self.answer_key and self.answer_key in batch:
            codes, _ = self.predict_answers(batch, out)
            truth = batch[self.answer_key].reshape(b, -1).to(codes.device)
            log(f"{stage}_acc", (codes == truth).all(dim=1).float().mean(), True)
        for model, acc in self.perception_accuracy(batch, out).items():
            log(f"{stage}_{model}_acc", acc, True)

    def perception_accuracy(self, batch: Mapping[str, Tensor], out: ReasoningOutput | None = None) -> dict[str, Tensor]:
        """Each network of ``perception_targets`` -> the share of its items read as their true class.

        Read from the networks' outputs in ``out`` (this batch's evaluation; perceived anew
        when None), so no network runs twice and training draws no extra random numbers.
        A network whose target key is not in the batch is left out.

        Raises:
            ConfigError: a network of ``perception_targets`` reads more than one item per fact,
                so a ``(B, M)`` table of true classes does not say what each reading should be.
        """
        targets = {m: k for m, k in self.perception_targets.items() if k in batch}
        if not targets:
            return {}
        neural = out.neural if out is not None else self.reasoner.perceive(self._net_inputs(batch))
        acc = {}
        for model, key in targets.items():
            n = neural[model]
            if n.args.shape[1] != 2:
                raise ConfigError(f"perception_targets names '{model}', which reads {n.args.shape[1] - 1} inputs per fact",
                                  hint="give true classes only for a network that reads one item (image) per fact")
            read = n.probs.sum(1) > 0  # (N,) padding rows read nothing
            truth = batch[key].to(n.args.device)[n.args[read, 0], n.args[read, 1]]  # (n,) true class of each read item
            acc[model] = (n.probs[read].detach().argmax(1) == truth).float().mean()
        return acc

    def training_step(self, batch: Mapping[str, Tensor], batch_idx: int) -> Tensor:
        loss, out = self.loss(batch)
        b = self._batch_size(batch)
        self.log("train_loss", loss, prog_bar=True, batch_size=b)
        for model, acc in self.perception_accuracy(batch, out).items():
            # per epoch: the mean over the epoch's examples of what the network read while it learnt
            self.log(f"train_{model}_acc", acc, on_step=False, on_epoch=True, batch_size=b)
        return loss

    def validation_step(self, batch: Mapping[str, Tensor], batch_idx: int, dataloader_idx: int = 0) -> None:
        loss, out = self.loss(batch)
        self._log_metrics("val", batch, loss, out, dataloader_idx)

    def test_step(self, batch: Mapping[str, Tensor], batch_idx: int, dataloader_idx: int = 0) -> None:
        # several test loaders (e.g. one per story length) are logged apart: under the data
        # module's `test_loader_names` (test_acc/k10) when it has them, else by loader index
        loss, out = self.loss(batch)
        self._log_metrics("test", batch, loss, out, dataloader_idx)

    def predict_step(self, batch: Mapping[str, Tensor], batch_idx: int,
                     dataloader_idx: int = 0) -> dict[str, Tensor]:
        codes, prob = self.predict_answers(batch)
        return {"answer": codes, "probability": prob}

    def configure_callbacks(self) -> list[pl.Callback]:
        """A checkpoint keeps the global random generators, so that a resumed fit draws the
        dropout masks of the uninterrupted one (see :mod:`greybox.training.random_state`)."""
        from .random_state import RandomStateCheckpoint

        return [RandomStateCheckpoint()]

    def configure_optimizers(self) -> torch.optim.Optimizer:
        """Adam at ``lr`` over the parameters that train.

        A frozen part (no gradient) is left out; a pretrained part fine-tuned at its own rate
        joins the optimizer in a group of its own when it unfreezes
        (:class:`greybox.training.finetuning.Finetuning`).
        """
        return torch.optim.Adam([p for p in self.parameters() if p.requires_grad], lr=self.lr)
