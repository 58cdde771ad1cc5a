"""The CLUTRR data module: the files read into train / validation / test splits, one test loader per k.

A story is cut into windows and candidate pairs by :mod:`tasks.kinship.stories`, whose
names this module also gives (``from tasks.kinship.data import RELATIONS, parse_story``);
:mod:`tasks.kinship.describe` puts a story into words for ``greybox explain``. Imports go
one way: ``stories`` <- ``describe`` <- ``data``.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Literal, TypeVar

import numpy as np
from torch.utils.data import DataLoader, Dataset

from greybox.errors import ConfigError
from greybox.training.data import SeededDataModule
from tasks.kinship.describe import describe_split
from tasks.kinship.stories import (DATA_HINT, KINDS, NONE, RELATIONS, CandidatePair, PairText, Story,
                                   collate_stories, inverse_kind, inverse_of, kind_of,
                                   names_per_sentence, pair_texts, parse_story, raw_sentences, read_clutrr,
                                   sentence_templates, with_distractor)

__all__ = [
    "ClutrrDataModule",
    "TEST_PATTERN",
    "find_test_files",
    "split_random",
    "split_unseen_templates",
    # the story readers, from tasks.kinship.stories
    "RELATIONS",
    "NONE",
    "KINDS",
    "kind_of",
    "inverse_of",
    "inverse_kind",
    "names_per_sentence",
    "raw_sentences",
    "sentence_templates",
    "CandidatePair",
    "Story",
    "parse_story",
    "read_clutrr",
    "with_distractor",
    "PairText",
    "pair_texts",
    "collate_stories",
]


#: the test files of a CLUTRR folder: ``1.10_test.csv``, ``1.2,1.3_test.csv``, ``test.csv``, ...
TEST_PATTERN = "*_test.csv or test.csv"
_CHAIN_FILE = re.compile(r"^1\.(\d+)_test\.csv$")  # task 1, chains of k edges: logged as k{k}
_ANY_K = re.compile(r"^\d+\.(\d+)_test\.csv$")  # another task's file of one chain length


def _is_test_file(name: str) -> bool:
    return name == "test.csv" or name.endswith("_test.csv")


def find_test_files(folder: str | Path) -> dict[str, tuple[Path, int]]:
    """The test files of a CLUTRR folder, by the name their metrics are logged under, in loader order.

    ``1.k_test.csv`` is named ``k{k}`` (``test_acc/k10``), the files of chains of 2..10 edges first,
    by k; any other file that matches :data:`TEST_PATTERN` is named by its stem (characters other
    than letters, digits, ``.``, ``_`` and ``-`` made ``_``: ``1.2,1.3_test.csv`` -> ``1.2_1.3_test``),
    after them, by name. Each comes with the chain length its stories are recorded with (the k of
    ``N.k_test.csv``, else 0: mixed or unknown).

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> for name in ["1.10_test.csv", "1.2_test.csv", "1.2,1.3_test.csv", "test.csv", "1.2,1.3_train.csv", "x.txt"]:
    ...     _ = (folder / name).write_text("")
    >>> {name: (path.name, k) for name, (path, k) in find_test_files(folder).items()}
    {'k2': ('1.2_test.csv', 2), 'k10': ('1.10_test.csv', 10), '1.2_1.3_test': ('1.2,1.3_test.csv', 0), 'test': ('test.csv', 0)}
    """
    chains, others = [], []
    for path in Path(folder).iterdir():
        if not (path.is_file() and _is_test_file(path.name)):
            continue
        chain = _CHAIN_FILE.match(path.name)
        if chain:
            chains.append((int(chain.group(1)), f"k{chain.group(1)}", path))
        else:
            any_k = _ANY_K.match(path.name)
            others.append((path.name, re.sub(r"[^\w.\-]", "_", path.stem), path, int(any_k.group(1)) if any_k else 0))
    found = {name: (path, k) for k, name, path in sorted(chains)}
    for _, name, path, k in sorted(others):
        found.setdefault(name, (path, k))
    return found


T = TypeVar("T")


def split_random(stories: list[T], fraction: float, seed: int) -> tuple[list[T], list[T]]:
    """``(val, train)``: a seeded random ``fraction`` of the stories, and the others, in the file's order.

    >>> split_random(list("abcdefghij"), 0.2, seed=0)[0] == split_random(list("abcdefghij"), 0.2, seed=0)[0]
    True
    >>> [len(part) for part in split_random(list("abcdefghij"), 0.2, seed=0)]
    [2, 8]
    """
    order = np.random.default_rng(seed).permutation(len(stories))
    n_val = int(round(fraction * len(stories)))
    return [stories[i] for i in sorted(order[:n_val])], [stories[i] for i in sorted(order[n_val:])]


def split_unseen_templates(stories: list[Story], fraction: float, seed: int) -> tuple[list[Story], list[Story]]:
    """``(val, train)``: every validation story tells a sentence in words no training story uses.

    The test files of CLUTRR are written mostly in sentences the training file never uses
    (names aside; ``experiments/bench/kinship_templates.py``), so a random validation split,
    whose sentences the training stories already use, says little about reading new ones.
    Here the distinct sentence templates (:func:`sentence_templates`) are taken in a seeded
    random order and each, with every story that uses it, is held out until ``fraction`` of
    the stories are; the training stories are the others, so none uses a held-out template.
    Both keep the file's order.

    >>> tell = lambda story: parse_story(story, ("Ann", "Bob"), "son")
    >>> stories = [tell("[Ann] met her son [Bob]."), tell("[Ann] sang with her son [Bob]."), tell("[Ann] met her son [Bob].")]
    >>> val, train = split_unseen_templates(stories, 0.3, seed=0)
    >>> words = lambda split: {t for s in split for t in sentence_templates(s.source)}
    >>> len(val) + len(train), len(val) >= 1, words(val) & words(train)
    (3, True, set())
    """
    users: dict[str, list[int]] = defaultdict(list)  # template -> the stories that use it
    for i, story in enumerate(stories):
        for template in set(sentence_templates(story.source)):
            users[template].append(i)
    order = sorted(users)
    np.random.default_rng(seed).shuffle(order)
    target = int(round(fraction * len(stories)))
    held: set[int] = set()
    for template in order:
        if len(held) >= target:
            break
        held.update(users[template])
    return ([s for i, s in enumerate(stories) if i in held], [s for i, s in enumerate(stories) if i not in held])


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
    loader per test file, so metrics are logged per file: ``test_acc/k10`` for
    ``1.10_test.csv``, ``test_acc/<stem>`` for any other (:func:`find_test_files`). So any
    CLUTRR release with the same columns is tested as it is, whatever it names its test files
    (``--data.init_args.data_dir OTHER_FOLDER``); testing needs no training file.

    Args:
        data_dir: folder with ``1.2,1.3_train.csv`` and the test files (``1.k_test.csv``, or any
            ``*_test.csv`` / ``test.csv``).
        train_file: the training csv inside ``data_dir`` (read to fit and validate only).
        val_fraction: share of the training stories held out for validation.
        val_split: how they are chosen: ``random`` stories, or ``unseen_templates``: stories
            that tell a sentence in words no training story uses (:func:`split_unseen_templates`),
            as the test files mostly do, so that validation measures reading new sentences.
        test_ks: test on these chain lengths only (files ``1.{k}_test.csv``, in this order);
            None: every test file in the folder.
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
        ConfigError: a value is out of range, the folder is missing, a file of ``test_ks`` is
            missing, or the folder holds no test file; the training file is checked when it is read.
    """

    def __init__(
        self,
        data_dir: str = "../shared/data/clutrr/data_089907f8",
        train_file: str = "1.2,1.3_train.csv",
        val_fraction: float = 0.1,
        val_split: Literal["random", "unseen_templates"] = "random",
        test_ks: list[int] | None = None,
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
        found = find_test_files(folder)
        if test_ks is not None:
            for k in test_ks:
                if not (folder / f"1.{k}_test.csv").is_file():
                    raise ConfigError(f"CLUTRR file '1.{k}_test.csv' not found in {folder.resolve()}",
                                      file=str(folder / f"1.{k}_test.csv"),
                                      hint=DATA_HINT + "; or drop that k from --data.init_args.test_ks")
            found = {f"k{k}": (folder / f"1.{k}_test.csv", k) for k in test_ks}
        elif not found:
            raise ConfigError(f"no CLUTRR test file in {folder.resolve()} (looked for {TEST_PATTERN})", file=str(folder),
                              hint=DATA_HINT + "; a test file is named like 1.10_test.csv, 1.2,1.3_test.csv or test.csv")
        self.save_hyperparameters()
        self.data_dir = folder
        self.train_file = train_file
        self.val_fraction = val_fraction
        if val_split not in ("random", "unseen_templates"):
            raise ConfigError(f"val_split must be 'random' or 'unseen_templates', got {val_split!r}",
                              hint="e.g. --data.init_args.val_split unseen_templates")
        self.val_split = val_split
        #: the test files by loader name, in loader order: (path, chain length or 0)
        self.test_files: dict[str, tuple[Path, int]] = found
        #: the key of each test loader's stories in ``tests``: its k for ``1.k_test.csv``, else its name
        self.test_keys: list[int | str] = [k if name == f"k{k}" else name for name, (_, k) in found.items()]
        #: the chain lengths of the ``1.k_test.csv`` files tested
        self.test_ks = [key for key in self.test_keys if isinstance(key, int)]
        self.max_train = max_train
        self.max_test_per_k = max_test_per_k
        self.window = window
        self.one_direction = one_direction
        self.same_sentence_first = same_sentence_first
        if not 0.0 <= distractors <= 1.0:
            raise ConfigError(f"distractors must be in [0, 1], got {distractors}", hint="e.g. --data.init_args.distractors 0.5")
        self.distractors = distractors
        self.splits: dict[str, list[Story]] = {}
        self.tests: dict[int | str, list[Story]] = {}

    @property
    def reading(self) -> dict[str, object]:
        """How stories are cut into windows and pairs: the keyword arguments of :func:`parse_story`."""
        return {"window": self.window, "one_direction": self.one_direction,
                "same_sentence_first": self.same_sentence_first}

    def setup(self, stage: str | None = None) -> None:
        """Read and parse the files (once each; idempotent): the test files always, the training
        file unless only testing or predicting."""
        reading = self.reading
        if not self.tests:
            self.tests = {key: read_clutrr(path, k=k, limit=self.max_test_per_k, **reading)
                          for key, (path, k) in zip(self.test_keys, self.test_files.values())}
        if self.splits or stage in ("test", "predict"):
            return
        train_path = self.data_dir / self.train_file
        if not train_path.is_file():
            raise ConfigError(f"CLUTRR file '{self.train_file}' not found in {self.data_dir.resolve()}", file=str(train_path),
                              hint=DATA_HINT + "; or name the training file with --data.init_args.train_file")
        stories = read_clutrr(train_path, **reading)
        split = split_unseen_templates if self.val_split == "unseen_templates" else split_random
        val, train = split(stories, self.val_fraction, self.seed)
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

    def _loader(self, stories: list[Story], shuffle: bool) -> DataLoader:
        return self.loader(_Stories(stories), shuffle, collate_fn=collate_stories)

    def train_dataloader(self) -> DataLoader:
        self.setup("fit")
        return self._loader(self.splits["train"], shuffle=True)

    def val_dataloader(self) -> DataLoader:
        self.setup("fit")
        return self._loader(self.splits["val"], shuffle=False)

    @property
    def test_loader_names(self) -> list[str]:
        """Names of the test loaders, under which metrics are logged (``test_acc/k10``, ``test_acc/test``)."""
        return list(self.test_files)

    def test_dataloader(self) -> list[DataLoader]:
        self.setup("test")
        return [self._loader(self.tests[key], shuffle=False) for key in self.test_keys]

    def predict_dataloader(self) -> list[DataLoader]:
        return self.test_dataloader()

    def describe(self, split: str, index: int, dataloader: int = 0):
        """Story ``index`` of ``split`` in words (names, sentences, pairs), for ``greybox explain``.

        ``dataloader`` picks the test loader (its position in ``test_loader_names``);
        see :func:`tasks.kinship.describe.describe_split`.
        """
        return describe_split(self, split, index, dataloader)
