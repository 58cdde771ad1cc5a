"""Any CLUTRR folder is tested as it is: every test file found, whatever its name, one loader each."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from greybox.errors import ConfigError
from tasks.kinship.data import TEST_PATTERN, ClutrrDataModule

COLUMNS = ["story", "query", "target", "genders"]
ROWS = [  # Cid is Ann's grandson; Dot is Eve's sister
    ["[Ann] met her son [Bob]. [Bob]'s son [Cid] came too.", "('Ann', 'Cid')", "grandson",
     "Ann:female,Bob:male,Cid:male"],
    ["[Eve] went out with her mother [Fay]. [Fay]'s daughter [Dot] stayed home.", "('Eve', 'Dot')", "sister",
     "Eve:female,Fay:female,Dot:female"],
]


def write_release(folder: Path, names: list[str]) -> Path:
    """A CLUTRR folder of tiny test files, two stories each, with the columns the reader uses."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        with (folder / name).open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            w.writerows(ROWS)
    return folder


def test_every_test_file_is_a_loader_named_by_its_k_or_its_stem(tmp_path: Path) -> None:
    folder = write_release(tmp_path / "release", ["1.2,1.3_test.csv", "test.csv", "1.10_test.csv", "1.4_test.csv",
                                                  "2.3_test.csv", "notes.csv"])
    dm = ClutrrDataModule(data_dir=str(folder))  # no training file: testing does not need one
    assert dm.test_loader_names == ["k4", "k10", "1.2_1.3_test", "2.3_test", "test"]
    assert dm.test_ks == [4, 10]
    dm.setup("test")
    assert [len(loader.dataset) for loader in dm.test_dataloader()] == [2, 2, 2, 2, 2]
    # the chain length of N.k_test.csv is kept on its stories; other files are mixed (0)
    assert [dm.tests[key][0].k for key in dm.test_keys] == [4, 10, 0, 3, 0]
    assert dm.tests["test"][1].people == ("Eve", "Fay", "Dot")


def test_test_ks_still_picks_the_chain_lengths_in_its_order(tmp_path: Path) -> None:
    folder = write_release(tmp_path, ["1.2_test.csv", "1.10_test.csv", "test.csv"])
    dm = ClutrrDataModule(data_dir=str(folder), test_ks=[10, 2])
    assert dm.test_loader_names == ["k10", "k2"]


def test_a_folder_without_a_test_file_names_the_folder_and_the_pattern(tmp_path: Path) -> None:
    folder = write_release(tmp_path / "only_train", ["1.2,1.3_train.csv", "test_notes.txt"])
    with pytest.raises(ConfigError, match="no CLUTRR test file") as info:
        ClutrrDataModule(data_dir=str(folder))
    assert str(folder.resolve()) in str(info.value) and TEST_PATTERN in str(info.value)


def test_fitting_without_the_training_file_says_which_file(tmp_path: Path) -> None:
    dm = ClutrrDataModule(data_dir=str(write_release(tmp_path, ["test.csv"])))
    with pytest.raises(ConfigError, match=r"'1.2,1.3_train.csv' not found"):
        dm.setup("fit")
