"""Teaching the text reader from the answers before the first epoch (a Lightning callback).

Through the engine alone, an untrained reader gets no useful gradient: almost every reading
of a theory answers nothing. :class:`ReadFromAnswers` gives ``greybox fit`` a start from the
same labels: one lexicon of roles for the training corpus is searched so that the exact
evaluator answers the training questions right
(:func:`greybox.neural.lexicon_search.teach_reader`), and the reader's tagging head is fitted
to its tags; the epochs then train the reader through the engine as before. Only the
training split's True / False / Unknown labels are used; the lexicon is written beside the
run's checkpoints (``lexicon.json``).

Text in other words (crowd paraphrases such as NatLang's, ``phrasing_splits``) is learned next,
from its own training answers: one reading structure per sentence template, within the names
and predicates the reader now reads (:func:`greybox.neural.phrasing_search.teach_phrasings`).

Example (in a config)::

    trainer:
      callbacks:
        - class_path: tasks.rules_in_language.teach.ReadFromAnswers
          init_args: {search_theories: 150, restarts: 160, finalists: 8, phrasing_splits: [NatLang/dev#train]}
"""

from __future__ import annotations

import json
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import pytorch_lightning as pl

from greybox.errors import ConfigError
from greybox.neural.lexicon_search import teach_reader
from greybox.neural.phrasing_search import teach_phrasings
from greybox.neural.reader_search import Question, Theory

from .data import RuleTakerDataModule
from .files import ANSWERS, RuleQuestion

__all__ = ["ReadFromAnswers", "theories_of"]

_LABEL = {"true": True, "false": False, "unknown": None}


def theories_of(questions: Sequence[RuleQuestion]) -> list[Theory]:
    """Questions grouped into their theories, labels as True / False / None (Unknown).

    >>> qs = [RuleQuestion("t-1", "t", ("Bob is big.",), "Bob is big.", 0), RuleQuestion("t-2", "t", ("Bob is big.",), "Bob is red.", 1)]
    >>> [(th.id, [(q.text, q.label) for q in th.questions]) for th in theories_of(qs)]
    [('t', [('Bob is big.', True), ('Bob is red.', False)])]
    """
    grouped: OrderedDict[str, Theory] = OrderedDict()
    for q in questions:
        th = grouped.setdefault(q.theory_id, Theory(q.theory_id, list(q.sentences), []))
        th.questions.append(Question(q.question, _LABEL[ANSWERS[q.label]], q.depth))
    return list(grouped.values())


class ReadFromAnswers(pl.Callback):
    """Before the first epoch of a fit, teach the reader from the training answers (see the module).

    Args:
        search_theories: theories the lexicon is searched on (a seeded sample of the training split).
        restarts: random starts of the search, each climbing the word classes on ``screen`` theories.
        finalists: the best starts that then climb every level (words and contexts too).
        screen: theories a start is screened on.
        max_targets: sentences the reader's head is fitted on.
        epochs: passes of that fit.
        pairs: the screening climb also moves two neighbouring word classes at once.
        kicks: from the best start, times two class roles are drawn anew and the climb is run again.
        polish: rounds of climbing on with training theories the lexicon still answers wrong.
        seed: seeds the samples and the search.
        closed_world_dir: a RuleTaker folder whose closed-world training files the lexicon also learns from.
        closed_world_splits: those files (default: the RuleTaker data module's training files).
        phrasing_splits: files of the data module's folder (``NAME`` or a half, ``NAME#train``) written in
            other words than the training split; their answers teach the reader those phrasings after
            the lexicon (closed world). Never name a half you test on.

    Raises:
        ConfigError: the model has no text reader, or the data module no training split.
    """

    def __init__(self, search_theories: int = 150, restarts: int = 160, finalists: int = 8, screen: int = 40,
                 max_targets: int = 12000, epochs: int = 4, pairs: bool = False, kicks: int = 20, polish: int = 2,
                 seed: int = 0, closed_world_dir: str | None = None,
                 closed_world_splits: list[str] | None = None, phrasing_splits: list[str] | None = None) -> None:
        self.search_theories = search_theories
        self.restarts = restarts
        self.finalists = finalists
        self.screen = screen
        self.max_targets = max_targets
        self.epochs = epochs
        self.pairs = pairs
        self.polish = polish
        self.kicks = kicks
        self.seed = seed
        self.closed_world_dir = closed_world_dir
        self.closed_world_splits = closed_world_splits
        self.phrasing_splits = list(phrasing_splits or [])

    def training_theories(self, data, world: str) -> tuple[list[Theory], list[str]]:
        """The theories the reader learns from (the data module's training split, then the closed world's
        files if named), and each one's world (``"closed"`` or ``"open"``)."""
        data.setup("fit")
        theories = theories_of(data.splits["train"])
        worlds = [world] * len(theories)
        if self.closed_world_dir is not None:
            closed = RuleTakerDataModule(data_dir=self.closed_world_dir, seed=self.seed)
            if self.closed_world_splits:
                closed.train_splits = list(self.closed_world_splits)
            closed.test_split = closed.train_splits[0]  # only the training files are read
            closed.max_train = getattr(data, "max_train", None)  # a capped (smoke) run caps these too
            closed.setup("fit")
            extra = theories_of(closed.splits["train"])
            theories, worlds = extra + theories, ["closed"] * len(extra) + worlds
        return theories, worlds

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.ckpt_path:  # resumed: the reader was taught when the run began
            return
        reader = getattr(pl_module, "reader", None)
        if reader is None or not hasattr(reader, "lemmatizer"):
            raise ConfigError("ReadFromAnswers needs a model with a text reader (model.init_args.reader: TextReader)",
                              hint="remove the callback, or give the model a greybox.neural.reader.TextReader")
        data = trainer.datamodule
        if data is None or not hasattr(data, "splits"):
            raise ConfigError("ReadFromAnswers needs the questions data module's training split",
                              hint="use tasks.rules_in_language.data.RuleTakerDataModule or ProofWriterDataModule")
        other = self.phrasing_theories(data)  # read first: a wrong split fails before the search, not after
        theories, worlds = self.training_theories(data, pl_module.world)
        texts = [s for th in theories for s in th.sentences + [q.text for q in th.questions]]
        reader.lemmatizer.fit(texts)
        log = lambda message: print(f"reading from answers: {message}", flush=True)  # noqa: E731
        lexicon = teach_reader(reader, theories, worlds, search_theories=self.search_theories,
                               restarts=self.restarts, finalists=self.finalists, screen=self.screen,
                               max_targets=self.max_targets, epochs=self.epochs, pairs=self.pairs, kicks=self.kicks,
                               polish=self.polish, seed=self.seed, log=log)
        if trainer.is_global_zero and trainer.log_dir:
            path = Path(trainer.log_dir) / "lexicon.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(lexicon.to_json(), indent=1), encoding="utf-8")
            log(f"lexicon written to {path}")
        if other:
            reader.lemmatizer.fit(s for th in other for s in th.sentences + [q.text for q in th.questions])
            teach_phrasings(reader, other, ["closed"] * len(other), texts, seed=self.seed, log=log)

    def phrasing_theories(self, data) -> list[Theory]:
        """The theories of ``phrasing_splits`` (none when it is empty).

        Raises:
            ConfigError: the data module reads no RuleTaker folder; a split's file does not exist.
        """
        if not self.phrasing_splits:
            return []
        if not isinstance(data, RuleTakerDataModule):
            raise ConfigError("ReadFromAnswers(phrasing_splits=...) reads RuleTaker files of the data module's folder",
                              hint="use tasks.rules_in_language.data.RuleTakerDataModule, or leave phrasing_splits out")
        questions = [q for split in self.phrasing_splits for q in data.read(split)]
        if data.max_train is not None:  # a capped (smoke) run caps these too
            questions = questions[: data.max_train]
        return theories_of(questions)
