"""``PathRuleCompletion``: learned path rules, optionally with a ComplEx embedding, as a LightningModule.

``greybox fit --config experiments/kg/kinship.yaml`` learns the rules from the graph when
the fit starts (candidate paths, exact counts, optionally weights fitted to held-out facts:
:func:`tasks.kg.model.learn`); with ``embedding: complex`` it then trains, end to end, the
embedding and the rules' weights together as one program (:mod:`tasks.kg.combined`): the
score of ``r(h, t)`` is the probability of ``link(h, r, t)``, the noisy-or of the embedding's
fact and the rules that fire, trained by cross-entropy over every tail of ``r(h, ?)`` and
every head of ``r(?, t)`` (the rules evaluated on the graph without the fact's fold) with
ComplEx's N3 penalty. ``max_rules: 0`` is the embedding alone. With ``calibrate`` the embedding
trains alone and a second stage (:meth:`PathRuleCompletion.fit_calibration`) weighs the two
sources on dev; with ``stack_folds`` the rules' weights may first be refitted beside embeddings
that never saw the facts they are fitted on (:mod:`tasks.kg.stacking`).

``greybox test --config ... --ckpt_path CKPT`` ranks the test queries of the data module's
folder (``--data.init_args.data_dir DIR``: another folder) with the checkpoint's rules
applied to that folder's graph: ``test_mrr``, ``test_hits@1``, ``test_hits@3``,
``test_hits@10``, and for Countries ``test_auc_pr``. Filtered ranks, ties at the mean rank.

The checkpoint holds the rules as plain data (relation names, steps, counts) under
``kg_rules`` and their weights as the tensor ``rule_logits``; the embedding's weights are
tensors too: it loads with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Literal

import pytorch_lightning as pl
import torch
from torch import nn

from greybox.errors import CheckpointError, ConfigError, UnknownRelationError
from greybox.learn.path_rules import PathRule

__all__ = ["PathRuleCompletion"]


class PathRuleCompletion(pl.LightningModule):
    """Path rules learned from the graph, how their weights make a link's score, and an optional embedding.

    Args:
        max_length: longest rule body (1 to 3 steps).
        samples: facts drawn per relation to find candidate bodies.
        walks: three-step paths drawn per fact.
        cap: steps joined out of each end of a drawn fact for two-step paths.
        max_candidates: candidate bodies scored per relation.
        min_support: fewest training facts a kept rule must derive.
        min_confidence: smallest confidence (weight) of a kept rule.
        smoothing: added to a body's size in its confidence.
        max_rules: most rules kept per relation (0: no rules, the embedding alone).
        aggregation: ``max`` (the best proof, the max-mult semiring), ``noisy_or`` (the
            exact probability of the link) or ``log_count`` (``sum -log(1 - w) * log(1 + n)`` over
            the rules, ``n`` the rule's proofs of the link: each rule's evidence grows with its
            paths, :mod:`greybox.learn.ranking`); with an embedding, ``noisy_or``.
        learn_weights: fit the kept rules' weights on held-out facts (``greybox.learn.rule_weights``),
            starting from their confidences: to the noisy-or probability of the facts, or, with
            ``log_count``, to a softmax of the path-count scores over each query's candidates.
        seed: the random draws' seed.
        device: where the rules' matrices live (``cpu``, ``cuda``).
        embedding: ``complex``: a ComplEx embedding is the neural predicate ``kge`` of the
            program, trained with the rules' weights; ``None``: the rules alone.
        rank: the embedding's complex dimensions.
        lr: Adagrad's learning rate (embedding and rule weights).
        n3: weight of the N3 penalty.
        folds: training facts are cut into this many folds; a fact's rules are evaluated on
            the graph without its fold.
        anchored_length: longest body of the anchored rules ``r(X, answer) :- ..., rn(Yn-1, anchor)``
            learned beside the chain rules for a benchmark with candidate answers (Countries);
            0: none. Their noisy-or counts the anchors that vouch for an answer.
        anchored_min_confidence: smallest confidence of a kept anchored rule.
        anchored_max_rules: most anchored rules kept per relation.
        backoff_rules: back-off rules per relation (0: none): the most confident candidates, with their
            confidence, conclude ``backoff_r`` and order the links the kept rules score equally, by their
            best proof (:mod:`greybox.learn.ranking`); the rules alone, without ``exclusive_answers``.
        calibrate: a second stage of the fit, with an embedding: the embedding is trained alone
            (the rules' weights stay as learned), then, with the embedding and the weights frozen,
            the embedding's fact becomes ``sigmoid(a_r * phi + b_r)`` and each rule's weight
            ``1 - (1 - w) ** c_r``, with ``(a, b, c)`` fitted on the dev queries
            (:func:`tasks.kg.combined.fit_calibration`): ``global`` (one triple for all relations),
            ``relation`` (plus each relation's offset), ``auto`` (the one of the two with the higher
            dev MRR cross-fitted over two halves of dev); ``None``: the rules and the embedding
            trained together, uncalibrated. The second stage runs at every validated epoch, so each
            epoch's checkpoint holds the program calibrated for its embedding and ``val_mrr`` (which
            picks the best checkpoint, as for the embedding alone) ranks that program.
        calibration_l2: the pull of a relation's own offsets to the shared values.
        stack_folds: with ``calibrate``: before the calibration, the rules' weights are also refitted
            beside embeddings trained (same settings) without each of this many folds of the training
            facts, on the facts of the fold (:mod:`tasks.kg.stacking`); the calibration on dev then
            keeps these weights or the learned ones, whichever ranks dev better cross-fitted.
            0: the weights as learned.
        stack_l2: the pull of a refitted rule's log-odds toward its learned value (a Gaussian prior of
            precision ``2 * stack_l2`` per rule, against the mean cross-entropy times the rows).
        kge_ckpt: a checkpoint of this model whose embedding is taken as trained (the fit trains nothing
            more; with ``calibrate``).
        rules_ckpt: a checkpoint of this model whose rules and weights are taken instead of learning them
            (the weights its program holds before the calibration: refitted ones if its fit kept those).
        exclusive_answers: each query has exactly one answer among its candidates (Countries: one
            region per country): a link's score is the rules' probability of it given that exactly
            one candidate holds (:mod:`greybox.learn.exclusive`), so that scores pooled over many
            queries compare; the rules alone, with ``noisy_or``.
    """

    def __init__(self, max_length: int = 3, samples: int = 200, walks: int = 2000, cap: int = 400,
                 max_candidates: int = 2000, min_support: int = 2, min_confidence: float = 0.01,
                 smoothing: float = 5.0, max_rules: int = 1000,
                 aggregation: Literal["max", "noisy_or", "log_count"] = "max", learn_weights: bool = False, seed: int = 0,
                 device: str = "cpu", embedding: Literal["complex"] | None = None, rank: int = 100,
                 lr: float = 0.1, n3: float = 0.01, folds: int = 5, anchored_length: int = 0,
                 anchored_min_confidence: float = 0.3, anchored_max_rules: int = 1000, backoff_rules: int = 0,
                 calibrate: Literal["global", "relation", "auto"] | None = None, calibration_l2: float = 0.05,
                 stack_folds: int = 0, stack_l2: float = 0.1,
                 kge_ckpt: str | None = None, rules_ckpt: str | None = None, exclusive_answers: bool = False) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.options = dict(max_length=max_length, samples=samples, walks=walks, cap=cap,
                            max_candidates=max_candidates, min_support=min_support, min_confidence=min_confidence,
                            smoothing=smoothing, max_rules=max_rules, seed=seed, device=device,
                            anchored_length=anchored_length, anchored_min_confidence=anchored_min_confidence,
                            anchored_max_rules=anchored_max_rules, backoff_rules=backoff_rules)
        self.aggregation = aggregation
        self.learn_weights = learn_weights
        self.matrix_device = device
        if embedding not in (None, "complex"):
            raise ConfigError(f"unknown embedding {embedding!r}", hint="use embedding: complex, or null for the rules alone")
        if embedding is not None and aggregation != "noisy_or":
            raise ConfigError("an embedding is combined with the rules by noisy-or (the probability of link(h, r, t))",
                              hint="set aggregation: noisy_or")
        self.embedding = embedding
        if exclusive_answers and (aggregation != "noisy_or" or embedding is not None):
            raise ConfigError("exclusive_answers conditions the rules' noisy-or probability on one answer per query",
                              hint="set aggregation: noisy_or and embedding: null, or exclusive_answers: false")
        self.exclusive_answers = exclusive_answers
        if backoff_rules < 0 or (backoff_rules and (embedding is not None or exclusive_answers)):
            raise ConfigError(f"backoff_rules {backoff_rules}: back-off rules order the links of the rules alone",
                              hint="backoff_rules: 0 with an embedding or exclusive_answers (else a count >= 1)")
        if calibrate not in (None, "global", "relation", "auto"):
            raise ConfigError(f"unknown calibrate {calibrate!r}", hint="use global, relation, auto, or null")
        if calibrate is not None and embedding is None:
            raise ConfigError("calibrate fits the embedding's scale against the rules' weights",
                              hint="set embedding: complex, or calibrate: null")
        self.calibrate, self.calibration_l2 = calibrate, calibration_l2
        if stack_folds < 0 or stack_folds == 1:
            raise ConfigError(f"stack_folds {stack_folds}: the training facts are cut into at least 2 folds",
                              hint="set stack_folds: 0 (the learned weights) or 2 or more")
        if stack_folds and calibrate is None:
            raise ConfigError("stack_folds refits the rules' weights before the calibration on dev",
                              hint="set calibrate: auto, or stack_folds: 0")
        self.stack_folds, self.stack_l2 = stack_folds, stack_l2
        self._embedding_epochs: int | None = None  # how long a checkpoint's embedding trained (kge_ckpt)
        self._learned_logits: torch.Tensor | None = None  # the rules' log-odds before any refit
        self._epochs_trained = 0
        self._calibrated_at: int | None = None  # the epochs of training the calibration was fitted after
        self.kge_ckpt, self.rules_ckpt = kge_ckpt, rules_ckpt
        self._frozen = False
        self.calibration_report: dict = {}
        self.rank, self.lr, self.n3, self.folds = rank, lr, n3, folds
        self.rules: list[PathRule] = []
        self.entities: tuple[str, ...] = ()
        self.relations: tuple[str, ...] = ()
        self.rule_logits = nn.Parameter(torch.zeros(0, dtype=torch.float64), requires_grad=False)
        self.kge: nn.Module | None = None
        self._train_rows = None
        self._eval = None

    # ------------------------------------------------------------------ the script's entry point

    def learn_rules(self, data, output: str, *, command: str = "", log=None) -> dict:
        """Learn, export, check and rank (:func:`tasks.kg.model.run`): what ``greybox learn-rules`` calls."""
        from tasks.kg.model import run

        return run(data, self, output, command=command, log=log)

    # ------------------------------------------------------------------ what the model holds

    @property
    def fitted(self) -> bool:
        """Whether the rules (and embedding) exist: after ``fit``, or loaded from a checkpoint."""
        return bool(self.entities)

    def weights(self) -> torch.Tensor:
        """``(n_rules,)`` float64: the rules' weights in the program, ``1 - (1 - sigmoid(theta)) ** c_r``."""
        return -torch.expm1(self.log_not_weights())

    def log_not_weights(self) -> torch.Tensor:
        """``(n_rules,)`` float64: ``log(1 - w)`` of each rule's weight in the program (calibrated)."""
        log_not = -torch.nn.functional.softplus(self.rule_logits.detach())
        if not self.rules:
            return log_not
        head = torch.tensor([self.relation_id.get(r.head, 0) for r in self.rules])
        return log_not * self.rule_power.detach()[head].to(log_not.device)

    def weighted_rules(self) -> list[PathRule]:
        """The rules with their current weights (to 12 digits: a weight read back from its log-odds is
        written as it was learned, 0.1818 and not 0.18180000000000002)."""
        return [replace(r, weight=round(float(w), 12)) for r, w in zip(self.rules, self.weights().tolist())]

    def build(self, entities, relations, rules: list[PathRule]) -> None:
        """Hold these rules (weights from their ``weight``) and, with an embedding, a new ComplEx."""
        from tasks.kg.complex import ComplEx

        self.entities, self.relations = tuple(entities), tuple(relations)
        self.entity_id = {e: i for i, e in enumerate(self.entities)}
        self.relation_id = {r: i for i, r in enumerate(self.relations)}
        self.rules = list(rules)
        w = torch.tensor([1.0 if r.weight is None else r.weight for r in rules], dtype=torch.float64)
        self.rule_logits = nn.Parameter(torch.logit(w.clamp(1e-12, 1 - 1e-12)), requires_grad=self.embedding is not None)
        # the calibration (the second stage): identity until fitted
        n = len(self.relations)
        self.kge_scale = nn.Parameter(torch.ones(n, dtype=torch.float64), requires_grad=False)
        self.kge_bias = nn.Parameter(torch.zeros(n, dtype=torch.float64), requires_grad=False)
        self.rule_power = nn.Parameter(torch.ones(n, dtype=torch.float64), requires_grad=False)
        if self.embedding is not None:
            self.kge = ComplEx(self.entities, self.relations, self.rank)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["kg_rules"] = {
            "entities": list(self.entities), "relations": list(self.relations),
            "heads": [r.head for r in self.rules],
            "bodies": [[[rel, bool(inv)] for rel, inv in r.body] for r in self.rules],
            "support": [int(r.support) for r in self.rules], "body_size": [int(r.body_size) for r in self.rules],
            # anchored rules inferred_r(X, answer) :- ..., rn(Yn-1, anchor): "" for a chain rule
            "anchors": [r.anchor or "" for r in self.rules], "answers": [r.answer or "" for r in self.rules],
            "backoff": [bool(r.backoff) for r in self.rules],  # backoff_r(X, Z) :- ...: orders the ties of inferred_r
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        data = checkpoint.get("kg_rules")
        if not isinstance(data, dict):
            raise CheckpointError("the checkpoint holds no learned rules (no 'kg_rules')",
                                  hint="give a checkpoint written by greybox fit with a config of experiments/kg/")
        n = len(data["heads"])
        anchors, answers = data.get("anchors", [""] * n), data.get("answers", [""] * n)
        backoff = data.get("backoff", [False] * n)
        rules = [PathRule(h, tuple((rel, bool(inv)) for rel, inv in body), None, s, b, anchor=a or None,
                          answer=t or None, backoff=bool(o))
                 for h, body, s, b, a, t, o in zip(data["heads"], data["bodies"], data["support"], data["body_size"],
                                                   anchors, answers, backoff)]
        self.build(data["entities"], data["relations"], rules)
        state = checkpoint.get("state_dict")
        if isinstance(state, dict):  # a checkpoint written before the calibration existed: the identity
            for key in ("kge_scale", "kge_bias", "rule_power"):
                state.setdefault(key, getattr(self, key).detach().clone())

    # ------------------------------------------------------------------ fit: mine, then train

    def setup(self, stage: str) -> None:
        if stage != "fit" or self.fitted:
            return
        from tasks.kg.model import learn

        kg = self.trainer.datamodule.load()
        fast = bool(getattr(self.trainer, "fast_dev_run", False))
        say = (lambda line: print(line, flush=True)) if self.trainer.is_global_zero else (lambda line: None)
        if self.rules_ckpt:
            rules, logits = self._checkpoint_rules(self.rules_ckpt)
            say(f"rules: {len(rules)} with their weights from {self.rules_ckpt}")
        else:
            rules, logits = learn(kg, self, log=say, quick=fast)[0], None
        self.build(kg.entities, kg.relations, rules)
        if logits is not None:
            with torch.no_grad():
                self.rule_logits.copy_(logits)
        if self.calibrate is not None:
            self.rule_logits.requires_grad_(False)  # the rules' weights stay as learned; the embedding trains alone
            self._learned_logits = self.rule_logits.detach().clone()
        if self.kge_ckpt:
            self._load_embedding(self.kge_ckpt)
            say(f"embedding: as trained in {self.kge_ckpt}")
            if self.calibrate is not None:
                self.fit_calibration(kg, log=say)
        self._frozen = not any(p.requires_grad for p in self.parameters())
        if self._frozen:
            import warnings

            # the rules alone: the fit learns them before the first step; the steps train nothing
            warnings.filterwarnings("ignore", message=r".*configure_optimizers. returned .None.")
            warnings.filterwarnings("ignore", message=r".*training_step. returned .None.")
        if self.kge is not None and self.rules and not self._frozen and self.calibrate is None:
            from tasks.kg.combined import HeldOutRuleRows

            self._train_rows = HeldOutRuleRows(kg.facts(), self.entities, self.relations, self.rules,
                                               folds=self.folds, seed=self.options["seed"], device=self.matrix_device)

    def configure_optimizers(self):
        trained = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.Adagrad(trained, lr=self.lr) if trained else None

    def training_step(self, batch, batch_idx: int):
        if self.kge is None or self._frozen:
            return None  # the rules (and the embedding) were made when the fit started; nothing is trained here
        from tasks.kg.combined import link_logit

        dev = self.kge.entity.weight.device
        h = torch.tensor([self.entity_id[x.head] for x in batch], device=dev)
        r = torch.tensor([self.relation_id[x.relation] for x in batch], device=dev)
        t = torch.tensor([self.entity_id[x.tail] for x in batch], device=dev)
        phi_tail, _ = self.kge(h, r)  # (B, E)
        phi_head = self.kge.head_scores(r, t)  # (B, E)
        if self._train_rows is not None:
            log_not_w = -torch.nn.functional.softplus(self.rule_logits)  # log(1 - sigmoid(theta)), uncalibrated
            tail_not, head_not = self._train_rows.features(batch, log_not_w.to(dev))
        else:
            tail_not = head_not = torch.zeros_like(phi_tail, dtype=torch.float64)
        ce = nn.functional.cross_entropy
        loss = (ce(link_logit(phi_tail.double(), tail_not), t) + ce(link_logit(phi_head.double(), head_not), h)
                + self.n3 * self.kge.n3(h, r, t).double() / len(batch))
        self.log("train_loss", loss.float(), prog_bar=True, batch_size=len(batch))
        return loss

    def on_train_epoch_end(self) -> None:
        self._epochs_trained += 1

    def on_train_end(self) -> None:
        calibrated = self._calibrated_at == self._epochs_trained
        if self.calibrate is not None and not self._frozen and not calibrated and self.kge is not None:
            say = (lambda line: print(line, flush=True)) if self.trainer.is_global_zero else (lambda line: None)
            say("warning: the last epoch was not validated, so its checkpoints hold no calibration; it is fitted "
                "now for the exported files (set check_val_every_n_epoch to a divisor of max_epochs)")
            self.fit_calibration(self.trainer.datamodule.load(), log=say, epochs=self._epochs_trained)

    def on_fit_end(self) -> None:
        if not self.trainer.is_global_zero or self.trainer.log_dir is None:
            return
        folder = Path(self.trainer.log_dir)
        if folder.is_dir():
            files = self.export(folder / "rules.dl", self.trainer.datamodule.load())
            print("wrote " + ", ".join(map(str, files)), flush=True)

    def export(self, rules_file: str | Path, kg) -> list[Path]:
        """Write the rules (current weights) as a checked ``.dl`` file, the graph beside it, and, with an
        embedding, ``link.dl``: the program of :mod:`tasks.kg.combined`. Sets each rule's ``line``."""
        from greybox.learn.path_rules import write_path_rule_file
        from tasks.kg.combined import link_program
        from tasks.kg.model import check_export, write_facts

        rules_file = Path(rules_file)
        facts_file = Path(str(rules_file.with_suffix("")) + ".facts.tsv")
        from tasks.kg.model import scoring_header

        header = ["Path rules learned from a knowledge graph (greybox.learn.path_mining); weights as trained.",
                  *scoring_header(self.aggregation), f"Check: greybox kb check {rules_file} {facts_file}"]
        self.rules = write_path_rule_file(rules_file, self.weighted_rules(), header)
        write_facts(facts_file, kg)
        check_export(str(rules_file), str(facts_file))
        files = [rules_file, facts_file]
        if self.kge is not None:
            link = rules_file.with_name("link.dl")
            link.write_text("% The rules of " + rules_file.name + " and the embedding `kge` as one program:\n"
                            "% link(h, r, t) is predicted by a rule, by the embedding, or by both.\n"
                            + link_program(sorted({r.head for r in self.rules})) + "\n")
            files.append(link)
        return files

    # ------------------------------------------------------------------ ranking

    def _start_ranking(self) -> None:
        from greybox.learn.path_mining import BodyMatrices, GraphIndex

        if not self.fitted:
            raise ConfigError("the model has no rules yet: test a fitted model",
                              hint="give --ckpt_path RUN/checkpoints/last.ckpt (written by greybox fit)")
        kg = self.trainer.datamodule.load()
        stage = "test" if self.trainer.testing else "valid"
        queries = kg.valid if stage == "valid" else kg.test
        origins = kg.origins.get(stage, ())
        for i, q in enumerate(queries):
            if q.relation not in self.relation_id:
                file, line = origins[i] if i < len(origins) else (None, None)
                raise UnknownRelationError(f"unknown relation {q.relation!r}: the checkpoint has no rules or "
                                           "embedding for it", file=file, line=line,
                                           hint=f"the model knows: {', '.join(self.relations)}; drop the line")
        ids = {e: i for i, e in enumerate(kg.entities)}
        tails, heads = defaultdict(set), defaultdict(set)
        for h, r, t in kg.known():
            if h in ids and t in ids:
                tails[(h, r)].add(ids[t])
                heads[(r, t)].add(ids[h])
        allowed = torch.zeros(len(kg.entities), dtype=torch.bool)
        allowed[[ids[c] for c in kg.candidates] if kg.candidates else slice(None)] = True
        matrices = BodyMatrices(GraphIndex(kg.facts(), kg.entities, kg.relations), device=self.matrix_device)
        rules_of = defaultdict(list)
        for rule in self.weighted_rules():
            rules_of[rule.head].append(rule)
        self._eval = {"kg": kg, "ids": ids, "rules_of": rules_of, "tails": tails, "heads": heads,
                      "allowed": allowed, "matrices": matrices,
                      "ranks": [], "pooled": [], "relation": None, "scores": None}

    def rule_scores(self, matrices, rules, candidates=None) -> torch.Tensor:
        """``(E, E)`` scores of one relation's links by its rules on ``matrices``' graph: the ``aggregation``
        of the rules that fire, or (``exclusive_answers``) their probability given exactly one of
        ``candidates`` (``None``: every entity)."""
        if self.exclusive_answers:
            from greybox.learn.exclusive import exclusive_scores

            return exclusive_scores(matrices, rules, candidates)
        from greybox.learn.ranking import relation_scores

        return relation_scores(matrices, rules, aggregation=self.aggregation)

    def relation_scores(self, relation: str) -> torch.Tensor:
        """``(E, E)`` scores of ``relation(x, z)`` on the graph being ranked (its entities), higher first.

        The rules alone: :meth:`rule_scores` (max, noisy-or, or given one answer among the candidates);
        with an embedding: the log-odds of ``link(x, relation, z)``'s probability (the same order).
        """
        state = self._eval
        rules = state["rules_of"].get(relation, [])
        if self.kge is None:
            known = set(state["matrices"].index.relations)
            usable = [r for r in rules if all(rel in known for rel, _ in r.body)]
            return self.rule_scores(state["matrices"], usable, state["kg"].candidates or None).cpu()
        return self.link_logits(relation, state["matrices"], state["kg"].entities).cpu()

    def link_logits(self, relation: str, matrices, entities) -> torch.Tensor:
        """``(E, E)`` float64 log-odds of ``link(x, relation, z)`` for the given graph and its entities."""
        from tasks.kg.combined import link_logit, log_not_rules

        phi = self.embedding_scores(relation, entities)
        pick = [i for i, r in enumerate(self.rules) if r.head == relation]
        log_not = log_not_rules(matrices, [self.rules[i] for i in pick], self.log_not_weights()[pick])
        return link_logit(phi, log_not.to(phi.device))

    @torch.no_grad()
    def embedding_scores(self, relation: str, entities) -> torch.Tensor:
        """``(E, E)`` float64 ``phi(x, relation, z)`` over ``entities``; ``-inf`` where one is unknown to the embedding."""
        n = len(entities)
        if self.kge is None:
            return torch.full((n, n), -torch.inf, dtype=torch.float64)
        k = self.relation_id[relation]
        full = self.kge.scores(relation).double().cpu() * self.kge_scale[k].detach().cpu() \
            + self.kge_bias[k].detach().cpu()  # (E_model, E_model): a_r * phi + b_r
        known = torch.tensor([e in self.entity_id for e in entities])
        ids = torch.tensor([self.entity_id.get(e, 0) for e in entities])
        out = full[ids][:, ids]
        out[~known] = -torch.inf
        out[:, ~known] = -torch.inf
        return out

    def _rank_batch(self, batch) -> None:
        from greybox.learn.ranking import filtered_rank

        state = self._eval
        ids = state["ids"]
        sides = ("tail",) if state["kg"].candidates else ("head", "tail")
        for h, r, t in batch:
            if state["relation"] != r:
                state["relation"], state["scores"] = r, self.relation_scores(r)
            scores = state["scores"]
            for side in sides:
                if side == "tail":
                    row, answer, others = scores[ids[h]], ids[t], state["tails"][(h, r)]
                else:
                    row, answer, others = scores[:, ids[t]], ids[h], state["heads"][(r, t)]
                excluded = ~state["allowed"].clone()
                excluded[list(others)] = True
                state["ranks"].append(filtered_rank(row, answer, excluded))
            for region in state["kg"].candidates:
                state["pooled"].append((float(scores[ids[h], ids[region]]), region == t))

    def _finish_ranking(self, prefix: str) -> None:
        from greybox.learn.ranking import auc_pr, ranking_metrics

        state = self._eval
        if state is None or not state["ranks"]:
            return
        for key, value in ranking_metrics(state["ranks"]).items():
            self.log(f"{prefix}_{key}", value, prog_bar=key == "mrr")
        if state["pooled"]:
            self.log(f"{prefix}_auc_pr", auc_pr(*zip(*state["pooled"])))
        self._eval = None

    def on_validation_epoch_start(self) -> None:
        trainer = self.trainer
        epochs = trainer.current_epoch + 1  # validation runs after the epoch's last step
        if self.calibrate is not None and not self._frozen and not trainer.sanity_checking \
                and self._calibrated_at != epochs:
            # the second stage at every validated epoch: each epoch's checkpoint holds the program calibrated for
            # its embedding, and val_mrr (which picks the best checkpoint) ranks that program
            say = (lambda line: print(line, flush=True)) if trainer.is_global_zero else (lambda line: None)
            self.fit_calibration(trainer.datamodule.load(), log=say, epochs=epochs)
        self._start_ranking()

    def validation_step(self, batch, batch_idx: int) -> None:
        self._rank_batch(batch)

    def on_validation_epoch_end(self) -> None:
        self._finish_ranking("val")

    def on_test_epoch_start(self) -> None:
        self._start_ranking()

    def test_step(self, batch, batch_idx: int) -> None:
        self._rank_batch(batch)

    def on_test_epoch_end(self) -> None:
        self._finish_ranking("test")

    # ------------------------------------------------------------------ the second stage

    def _checkpoint_rules(self, path: str) -> tuple[list[PathRule], torch.Tensor]:
        from greybox.training.checkpoints import load_checkpoint

        state = load_checkpoint(path)
        other = PathRuleCompletion(aggregation="noisy_or")
        other.on_load_checkpoint(state)
        logits = state["state_dict"].get("rule_logits")
        if logits is None or len(logits) != len(other.rules):
            raise CheckpointError(f"{path}: the checkpoint's rule weights do not match its rules",
                                  hint="give a checkpoint written by greybox fit with a config of experiments/kg/")
        return other.rules, logits.double()

    def _load_embedding(self, path: str) -> None:
        from greybox.training.checkpoints import load_checkpoint

        state = load_checkpoint(path)
        data = state.get("kg_rules", {})
        same = (list(data.get("entities", [])) == list(self.entities)
                and list(data.get("relations", [])) == list(self.relations))
        if not same:
            raise CheckpointError(f"{path}: the embedding was trained on other entities or relations",
                                  hint="give a checkpoint of the same benchmark (greybox fit with its _kge config)")
        weights = {k[len("kge."):]: v for k, v in state["state_dict"].items() if k.startswith("kge.")}
        if not weights:
            raise CheckpointError(f"{path}: the checkpoint holds no embedding",
                                  hint="give a checkpoint of a config with embedding: complex")
        self.kge.load_state_dict(weights)
        self.kge.requires_grad_(False)
        self._embedding_epochs = int(state.get("epoch", 0)) + 1  # the out-of-fold embeddings train as long

    @torch.no_grad()
    def _raw_parts(self, kg, rule_logits: torch.Tensor):
        from greybox.learn.path_mining import BodyMatrices, GraphIndex
        from tasks.kg.combined import log_not_rules

        matrices = BodyMatrices(GraphIndex(kg.facts(), kg.entities, kg.relations), device=self.matrix_device)
        raw_not = -torch.nn.functional.softplus(rule_logits.detach())

        def phi_of(relation):
            return self.kge.scores(relation).double().cpu()

        def log_not_of(relation):
            pick = [i for i, r in enumerate(self.rules) if r.head == relation]
            return log_not_rules(matrices, [self.rules[i] for i in pick], raw_not[pick]).cpu()

        return phi_of, log_not_of

    def learned_logits(self) -> torch.Tensor:
        """The rules' log-odds as learned (or taken from ``rules_ckpt``), before any refit."""
        return (self.rule_logits if self._learned_logits is None else self._learned_logits).detach().clone()

    def stacked_rule_logits(self, kg, log=None, epochs: int | None = None) -> torch.Tensor:
        """The rules' log-odds refitted beside out-of-fold embeddings (:mod:`tasks.kg.stacking`), each trained
        for ``epochs`` (default: as long as the checkpoint's embedding, or ``max_epochs``)."""
        from tasks.kg.stacking import OutOfFoldRows, fit_rule_weights

        epochs = epochs or self._embedding_epochs
        if epochs is None:
            epochs = self.trainer.max_epochs if self._trainer is not None else 100
        batch_size = getattr(self.trainer.datamodule, "batch_size", 512) if self._trainer is not None else 512
        # the second stage may run inside validation, where gradients are off: these fits need them
        with torch.inference_mode(False), torch.enable_grad():
            rows = OutOfFoldRows.build(kg.facts(), self.entities, self.relations, self.rules,
                                       folds=self.stack_folds, seed=self.options["seed"], log=log, rank=self.rank,
                                       epochs=epochs, batch_size=batch_size, lr=self.lr, n3=self.n3)
            return fit_rule_weights(rows, self.learned_logits(), l2=self.stack_l2)

    def fit_calibration(self, kg, log=None, epochs: int | None = None) -> dict:
        """The second stage: fit ``(a_r, b_r, c_r)`` on ``kg``'s dev queries, the embedding and weights frozen.

        A dev query's row leaves out every other known answer (the training facts, dev and test, as the
        filtered ranking of ``val_mrr`` does; the test triples are never answers, only left out).
        With ``stack_folds`` the rules' weights refitted beside out-of-fold embeddings are a second
        source of weights; the source and the scope kept are those with the higher cross-fitted dev MRR.
        Returns (and keeps in ``calibration_report``) the dev MRRs: the embedding alone, the program
        uncalibrated, each source and scope cross-fitted, and the choice.
        """
        from tasks.kg.combined import CalibrationRows, calibrated_logit, cross_fitted_mrr, fit_calibration, rows_mrr

        if self.kge is None:
            raise ConfigError("calibrate needs an embedding", hint="set embedding: complex")
        self.kge.eval()
        sources = {"learned": self.learned_logits()}
        if self.stack_folds and self.rules:
            sources["stacked"] = self.stacked_rule_logits(kg, log=log, epochs=epochs)
        known = list(kg.known())
        n = len(self.relations)
        one, zero = torch.ones(n, dtype=torch.float64), torch.zeros(n, dtype=torch.float64)
        scopes = ["global", "relation"] if self.calibrate == "auto" else [self.calibrate]
        report: dict = {}
        all_rows = {}
        for source, logits in sources.items():
            rows = CalibrationRows.build(kg.valid, known, self.entities, self.relations, *self._raw_parts(kg, logits))
            all_rows[source] = rows
            tag = "" if source == "learned" else f"{source}_"
            if source == "learned":
                report["dev_rows"] = len(rows)
                report["dev_mrr_embedding"] = rows_mrr(calibrated_logit(rows, one, zero, zero), rows.answer)
            report[f"dev_mrr_{tag}uncalibrated"] = rows_mrr(calibrated_logit(rows, one, zero, one), rows.answer)
            for scope in scopes:
                report[f"dev_mrr_{tag}{scope}_crossfitted"] = cross_fitted_mrr(
                    rows, n, per_relation=scope == "relation", l2=self.calibration_l2, seed=self.options["seed"])
        choices = [(source, scope) for source in sources for scope in scopes]
        source, scope = max(choices, key=lambda c: report[f"dev_mrr_{'' if c[0] == 'learned' else c[0] + '_'}"
                                                         f"{c[1]}_crossfitted"])
        rows = all_rows[source]
        scale, bias, power = fit_calibration(rows, n, per_relation=scope == "relation", l2=self.calibration_l2)
        if len(sources) > 1:
            report["weights"] = source
        report["scope"] = scope
        report["dev_mrr_fitted"] = rows_mrr(calibrated_logit(rows, scale, bias, power), rows.answer)
        with torch.no_grad():
            self.rule_logits.copy_(sources[source])
            self.kge_scale.copy_(scale), self.kge_bias.copy_(bias), self.rule_power.copy_(power)
        self.calibration_report = report
        self._calibrated_at = epochs
        if log is not None:
            log("calibration on dev: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                                   for k, v in report.items()))
            log(f"calibration: scale {scale.mean():.3f} (mean), bias {bias.mean():.3f}, rule power {power.mean():.3f}")
        return report
