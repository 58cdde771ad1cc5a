"""The CLUTRR data module: the files read into train / validation / test splits, one test loader per k.

A story is cut into windows and candidate pairs by :mod:`tasks.kinship.stories`, whose
names this module also gives (``from tasks.kinship.data import RELATIONS, parse_story``);
:mod:`tasks.kinship.describe` puts a story into words for ``greybox explain``. Imports go
one way: ``stories`` <- ``describe`` <- ``data``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from torch.utils.data import DataLoader, Dataset

from greybox.errors import ConfigError
from greybox.training.data import SeededDataModule
from tasks.kinship.describe import describe_split
from tasks.kinship.stories import (DATA_HINT, KINDS, NONE, RELATIONS, CandidatePair, PairText, Story,
                                   collate_stories, inverse_kind, inverse_of, kind_of,
                                   names_per_sentence, pair_texts, parse_story, raw_sentences, read_clutrr,
                                   with_distractor)

__all__ = [
    "ClutrrDataModule",
    # the story readers, from tasks.kinship.stories
    "RELATIONS",
    "NONE",
    "KINDS",
    "kind_of",
    "inverse_of",
    "inverse_kind",
    "names_per_sentence",
    "raw_sentences",
    "CandidatePair",
    "Story",
    "parse_story",
    "read_clutrr",
    "with_distractor",
    "PairText",
    "pair_texts",
    "collate_stories",
]


class _Stories(Dataset):
    def __init__(self, stories: list[Story]) -> None:
        self.stories = stories

    def __len__(self) -> int:
        return len(self.stories)

    def __getitem__(self, i: int) -> Story:
        return self.stories[i]


class ClutrrDataModule(SeededDataModule):
    """CLUTRR (clean, task 1.x): train on chains of 2-3 relations, test on chains of k = 2..10.

    Batches are the dicts of :func:`collate_stories`. ``test_dataloader`` returns one
    loader per k, in ``test_ks`` order, so metrics are logged per k.

    Args:
        data_dir: folder with ``1.2,1.3_train.csv`` and ``1.k_test.csv``.
        train_file: the training csv inside ``data_dir``.
        val_fraction: share of the training stories held out for validation.
        test_ks: the chain lengths to test on (files ``1.{k}_test.csv``).
        batch_size: stories per batch.
        seed: seeds the train/validation split and, with the epoch, each epoch's training order
            (so a resumed run continues in the order of the uninterrupted one).
        max_train: keep only this many training stories (after the split; None: all).
        max_test_per_k: keep only the first stories of each test file (None: all).
        window: sentences per text the extractor reads (see :func:`parse_story`).
        one_direction: read each pair of people in one order only (see :func:`parse_story`).
        same_sentence_first: read a pair from a window in which one sentence names both
            people, when there is one (see :func:`parse_story`).
        distractors: share of the training stories told together with another, unrelated
            training story (seeded; see :func:`with_distractor`). Validation and test are unchanged.
        num_workers: DataLoader worker processes.

    Raises:
        ConfigError: a value is out of range, or the folder or a file is missing.
    """

    def __init__(
        self,
        data_dir: str = "../shared/data/clutrr/data_089907f8",
        train_file: str = "1.2,1.3_train.csv",
        val_fraction: float = 0.1,
        test_ks: list[int] = [2, 3, 4, 5, 6, 7, 8, 9, 10],  # noqa: B006 - read only, shown by --print_config
        batch_size: int = 32,
        seed: int = 0,
        max_train: int | None = None,
        max_test_per_k: int | None = None,
        window: int = 2,
        one_direction: bool = False,
        same_sentence_first: bool = False,
        distractors: float = 0.0,
        num_workers: int = 0,
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        if not 0.0 <= val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be in [0, 1), got {val_fraction}", hint="e.g. --data.init_args.val_fraction 0.1")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}", hint="set --data.init_args.batch_size to 1 or more")
        folder = Path(data_dir)
        if not folder.is_dir():
            raise ConfigError(f"CLUTRR folder not found (resolved: {folder.resolve()})", file=str(folder), hint=DATA_HINT)
        for name in [train_file, *(f"1.{k}_test.csv" for k in test_ks)]:
            if not (folder / name).is_file():
                raise ConfigError(f"CLUTRR file '{name}' not found in {folder.resolve()}", file=str(folder / name),
                                  hint=DATA_HINT + "; or drop that k from --data.init_args.test_ks")
        self.save_hyperparameters()
        self.data_dir = folder
        self.train_file = train_file
        self.val_fraction = val_fraction
        self.test_ks = list(test_ks)
        self.max_train = max_train
        self.max_test_per_k = max_test_per_k
        self.window = window
        self.one_direction = one_direction
        self.same_sentence_first = same_sentence_first
        if not 0.0 <= distractors <= 1.0:
            raise ConfigError(f"distractors must be in [0, 1], got {distractors}", hint="e.g. --data.init_args.distractors 0.5")
        self.distractors = distractors
        self.splits: dict[str, list[Story]] = {}
        self.tests: dict[int, list[Story]] = {}

    @property
    def reading(self) -> dict[str, object]:
        """How stories are cut into windows and pairs: the keyword arguments of :func:`parse_story`."""
        return {"window": self.window, "one_direction": self.one_direction,
                "same_sentence_first": self.same_sentence_first}

    def setup(self, stage: str | None = None) -> None:
        """Read and parse the files (once; idempotent)."""
        if self.splits:
            return
        reading = self.reading
        stories = read_clutrr(self.data_dir / self.train_file, **reading)
        order = np.random.default_rng(self.seed).permutation(len(stories))
        n_val = int(round(self.val_fraction * len(stories)))
        val = [stories[i] for i in sorted(order[:n_val])]
        train = [stories[i] for i in sorted(order[n_val:])]
        if self.max_train is not None:
            train = train[: self.max_train]
            val = val[: max(1, self.max_train // 10)] if val else val
        if self.distractors > 0 and len(train) > 1:
            rng = np.random.default_rng(self.seed + 1)
            picks = rng.random(len(train)) < self.distractors
            others = rng.integers(0, len(train) - 1, len(train))
            train = [
                with_distractor(s, train[o + (o >= i)], before=bool(o % 2), **reading) if pick else s
                for i, (s, pick, o) in enumerate(zip(train, picks, others.tolist()))
            ]
        self.splits = {"train": train, "val": val}
        self.tests = {k: read_clutrr(self.data_dir / f"1.{k}_test.csv", k=k, limit=self.max_test_per_k, **reading)
                      for k in self.test_ks}

    def _loader(self, stories: list[Story], shuffle: bool) -> DataLoader:
        return self.loader(_Stories(stories), shuffle, collate_fn=collate_stories)

    def train_dataloader(self) -> DataLoader:
        self.setup()
        return self._loader(self.splits["train"], shuffle=True)

    def val_dataloader(self) -> DataLoader:
        self.setup()
        return self._loader(self.splits["val"], shuffle=False)

    @property
    def test_loader_names(self) -> list[str]:
        """Names of the test loaders, under which metrics are logged (``test_acc/k10``)."""
        return [f"k{k}" for k in self.test_ks]

    def test_dataloader(self) -> list[DataLoader]:
        self.setup()
        return [self._loader(self.tests[k], shuffle=False) for k in self.test_ks]

    def predict_dataloader(self) -> list[DataLoader]:
        return self.test_dataloader()

    def describe(self, split: str, index: int, dataloader: int = 0):
        """Story ``index`` of ``split`` in words (names, sentences, pairs), for ``greybox explain``.

        ``dataloader`` picks the test loader (the position of its k in ``test_ks``);
        see :func:`tasks.kinship.describe.describe_split`.
        """
        return describe_split(self, split, index, dataloader)
