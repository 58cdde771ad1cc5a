"""Data modules for questions over theories stated in English: RuleTaker (closed world) and ProofWriter (open world).

A batch is a dict:

==============  ===========================================================================
``sentences``   ``ItemLists``: per sample, the theory's sentences (padding ``None``)
``question``    ``ItemLists``: per sample, the one statement to judge
``label``       ``(B,)`` int64, index into ``ANSWERS`` (0 True, 1 False, 2 Unknown)
``depth``       ``(B,)`` int64, the proof depth ``QDep`` (-1 when the file does not give it)
``options``     ``(B,)`` int64, answers allowed (2: True/False; 3: True/False/Unknown)
``id``          list of the questions' ids
==============  ===========================================================================

Splits are made by theory: no theory has questions on both sides of a train/validation cut.

Example:
    >>> q = RuleQuestion(id="t-1", theory_id="t", sentences=("Bob is big.",), question="Bob is big.", label=0, depth=0)
    >>> batch = collate_questions([q])
    >>> batch["sentences"].samples, batch["label"].tolist(), batch["depth"].tolist()
    ((('Bob is big.',),), [0], [0])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from greybox.errors import ConfigError
from greybox.neural.items import ItemLists
from greybox.training.data import SeededDataModule

from .files import ANSWERS, RuleQuestion, read_proofwriter, read_questions, split_sentences

__all__ = ["RuleTakerDataModule", "ProofWriterDataModule", "collate_questions", "split_by_theory", "theory_half",
           "ANSWERS", "RuleQuestion", "split_sentences"]

_RULETAKER_TRAIN = ["depth-0/dev", "depth-1/dev", "depth-1/test", "depth-2/dev", "depth-2/test", "depth-3/dev", "depth-3/test"]


def collate_questions(items: list[RuleQuestion]) -> dict[str, Any]:
    """Questions -> a batch (see the module's table)."""
    return {
        "sentences": ItemLists([q.sentences for q in items]),
        "question": ItemLists([[q.question] for q in items]),
        "label": torch.tensor([q.label for q in items], dtype=torch.int64),
        "depth": torch.tensor([-1 if q.depth is None else q.depth for q in items], dtype=torch.int64),
        "options": torch.tensor([q.options for q in items], dtype=torch.int64),
        "id": [q.id for q in items],
    }


def split_by_theory(questions: list[RuleQuestion], val_fraction: float, seed: int) -> tuple[list[RuleQuestion], list[RuleQuestion]]:
    """``(train, val)``: a seeded ``val_fraction`` of the theories, with all their questions, goes to val.

    >>> qs = [RuleQuestion(f"{t}-{i}", str(t), (), "", 0) for t in range(10) for i in range(3)]
    >>> train, val = split_by_theory(qs, 0.2, seed=0)
    >>> len(val), {q.theory_id for q in train} & {q.theory_id for q in val}
    (6, set())
    """
    theories = sorted({q.theory_id for q in questions})
    order = np.random.default_rng(seed).permutation(len(theories))
    n_val = int(round(val_fraction * len(theories)))
    held = {theories[i] for i in order[:n_val]}
    return [q for q in questions if q.theory_id not in held], [q for q in questions if q.theory_id in held]


def theory_half(questions: list[RuleQuestion], part: str, seed: int, split: str = "") -> list[RuleQuestion]:
    """The seeded half of the questions' theories that ``NAME#train`` names, or the other half (``#test``).

    >>> qs = [RuleQuestion(f"{t}-1", str(t), (), "", 0) for t in range(4)]
    >>> sorted(q.theory_id for q in theory_half(qs, "train", 0) + theory_half(qs, "test", 0))
    ['0', '1', '2', '3']

    Raises:
        ConfigError: ``part`` is neither ``train`` nor ``test``.
    """
    if part not in ("train", "test"):
        raise ConfigError(f"split '{split}': the part after # must be train or test", hint="e.g. NatLang/dev#test")
    first, second = split_by_theory(questions, 0.5, seed=seed)
    return first if part == "train" else second


def _check_fraction(val_fraction: float) -> None:
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction}", hint="e.g. --data.init_args.val_fraction 0.05")


class _QuestionsModule(SeededDataModule):
    """What both data modules share: the splits as lists of questions, loaders, per-group accuracy keys."""

    splits: dict[str, list[RuleQuestion]]

    def _loader(self, questions: list[RuleQuestion], shuffle: bool) -> DataLoader:
        return self.loader(questions, shuffle, collate_fn=collate_questions)

    def train_dataloader(self) -> DataLoader:
        self.setup("fit")
        return self._loader(self.splits["train"], shuffle=True)

    def val_dataloader(self) -> DataLoader:
        self.setup("fit")
        return self._loader(self.splits["val"], shuffle=False)

    def test_dataloader(self) -> DataLoader:
        self.setup("test")
        return self._loader(self.splits["test"], shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()

    @staticmethod
    def theory_from_text(text: str) -> list[str]:
        """A theory given as text, cut into sentences (for ``greybox read --theory``)."""
        return split_sentences(text)

    @staticmethod
    def theory_in_file(path: str, wanted: str) -> tuple[list[str], str]:
        """``(sentences, question)`` of the question or theory ``wanted`` (a theory: its first question) in a file.

        Raises:
            ParseError: the file is in neither format.
            ConfigError: no theory or question has that id.
        """
        questions = read_questions(path)
        for match in (lambda q: q.id == wanted, lambda q: q.theory_id == wanted):
            found = next((q for q in questions if match(q)), None)
            if found is not None:
                return list(found.sentences), found.question
        known = sorted({q.theory_id for q in questions})[:3]
        raise ConfigError(f"--id {wanted}: no theory or question with that id in {path}", file=str(path),
                          hint=f"theory ids there look like {', '.join(known) or '(none)'}; a question's id adds -N or _QN")


class RuleTakerDataModule(_QuestionsModule):
    """RuleTaker (closed world): train on the depth-0..3 files, test on any ``DIR/NAME.jsonl``.

    Args:
        data_dir: the folder the splits are named in (``../shared/data/ruletaker``; for a set
            never seen, its own folder).
        test_split: the test file ``data_dir/NAME.jsonl`` (e.g. ``depth-5/dev``, ``NatLang/dev``,
            or ``test`` for ``--data_dir DIR``); a ``meta-NAME.jsonl`` beside it is optional.
            ``NAME#train`` / ``NAME#test``: a seeded half of NAME's theories / the other half (see ``read``).
        train_splits: the training files ``data_dir/NAME.jsonl``; read only to fit.
        val_fraction: share of the training theories (with all their questions) held out for validation.
        batch_size: questions per batch.
        seed: seeds the train/validation cut and each epoch's order.
        max_train: keep only this many training questions (after the cut, in file order; None: all).
        max_test: keep only the first questions of the test file (None: all).
        num_workers: DataLoader worker processes.

    Raises:
        ConfigError: ``data_dir`` or a named file does not exist, or a value is out of range.
    """

    def __init__(
        self,
        data_dir: str = "../shared/data/ruletaker",
        test_split: str = "depth-5/dev",
        train_splits: list[str] = _RULETAKER_TRAIN,  # noqa: B006 - read only, shown by --print_config
        val_fraction: float = 0.05,
        batch_size: int = 32,
        seed: int = 0,
        max_train: int | None = None,
        max_test: int | None = None,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        _check_fraction(val_fraction)
        self.data_dir = Path(data_dir)
        if not self.data_dir.is_dir():
            raise ConfigError(f"RuleTaker folder not found (resolved: {self.data_dir.resolve()})", file=str(data_dir),
                              hint="give --data.init_args.data_dir the folder that holds NAME.jsonl")
        self.test_split = test_split
        self.train_splits = list(train_splits)
        self.val_fraction = val_fraction
        self.max_train = max_train
        self.max_test = max_test
        self.save_hyperparameters()
        self.splits = {}

    def read(self, split: str) -> list[RuleQuestion]:
        """The questions of a split; ``NAME#train`` / ``NAME#test`` is a seeded half of NAME's theories and the other half.

        NatLang dev is the only paraphrased text: ``train_splits: [..., NatLang/dev#train]`` trains on half of
        its theories and ``test_split: NatLang/dev#test`` measures on the other half.
        """
        name, _, part = split.partition("#")
        questions = read_questions(self.file(name))
        if not part:
            return questions
        return theory_half(questions, part, self.seed, split)

    def file(self, split: str) -> Path:
        """``data_dir/NAME.jsonl`` for a split name (a name ending in ``.jsonl`` is taken as it is).

        Raises:
            ConfigError: the file does not exist.
        """
        split = split.partition("#")[0]
        path = self.data_dir / (split if split.endswith(".jsonl") else f"{split}.jsonl")
        if not path.is_file():
            present = sorted(str(p.relative_to(self.data_dir))[:-6] for p in self.data_dir.rglob("*.jsonl")
                             if not p.name.startswith("meta-"))[:12]
            raise ConfigError(f"RuleTaker split '{split}' not found: {path}", file=str(path),
                              hint=f"splits under {self.data_dir}: {', '.join(present) or 'none'}")
        return path

    @property
    def meta_file(self) -> Path | None:
        """``meta-NAME.jsonl`` beside the test file, when there is one."""
        path = self.file(self.test_split)
        meta = path.with_name(f"meta-{path.name}")
        return meta if meta.is_file() else None

    def setup(self, stage: str | None = None) -> None:
        """Read the test file (every stage) and, to fit, the training files (once each)."""
        if "test" not in self.splits:
            self.splits["test"] = self.read(self.test_split)[: self.max_test]
        if stage in (None, "fit", "validate") and "train" not in self.splits:
            questions = [q for split in self.train_splits for q in self.read(split)]
            train, val = split_by_theory(questions, self.val_fraction, self.seed)
            self.splits["train"] = train[: self.max_train] if self.max_train is not None else train
            self.splits["val"] = val[: max(1, self.max_train // 10)] if self.max_train is not None and val else val


class ProofWriterDataModule(_QuestionsModule):
    """ProofWriter (open world): train on a file, validate on a held-out part of it by theory, test on any file.

    Args:
        train_file: the training file (``../shared/data/proofwriter/train.json``); read only to fit.
        test_file: the test file (default: the held-out validation part of ``train_file``).
        val_fraction: share of the training theories held out for validation (and, without a
            ``test_file``, for test).
        batch_size: questions per batch.
        seed: seeds the cut and each epoch's order.
        max_train: keep only this many training questions (None: all).
        max_test: keep only the first test questions (None: all).
        num_workers: DataLoader worker processes.

    Raises:
        ConfigError: a file does not exist, or a value is out of range.
    """

    def __init__(
        self,
        train_file: str = "../shared/data/proofwriter/train.json",
        test_file: str | None = None,
        val_fraction: float = 0.1,
        batch_size: int = 32,
        seed: int = 0,
        max_train: int | None = None,
        max_test: int | None = None,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        _check_fraction(val_fraction)
        for name, value in (("train_file", train_file), ("test_file", test_file)):
            if value is not None and not Path(value).is_file():
                raise ConfigError(f"ProofWriter {name} not found: {value} (resolved: {Path(value).resolve()})",
                                  file=str(value), hint=f"give --data.init_args.{name} an existing .json file")
        self.train_file = Path(train_file)
        self.test_file = Path(test_file) if test_file is not None else None
        self.val_fraction = val_fraction
        self.max_train = max_train
        self.max_test = max_test
        self.save_hyperparameters()
        self.splits = {}

    def setup(self, stage: str | None = None) -> None:
        """Read the files (once each)."""
        if "train" not in self.splits and (stage in (None, "fit", "validate") or self.test_file is None):
            train, val = split_by_theory(read_proofwriter(self.train_file), self.val_fraction, self.seed)
            self.splits["train"] = train[: self.max_train] if self.max_train is not None else train
            self.splits["val"] = val
        if "test" not in self.splits:
            test = read_questions(self.test_file) if self.test_file is not None else self.splits["val"]
            self.splits["test"] = test[: self.max_test]
