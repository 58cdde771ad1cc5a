"""Bad cases: a CLUTRR release whose test files are not named ``1.k_test.csv`` is tested as it is."""

from __future__ import annotations

import csv
from pathlib import Path

from greybox.training.cli import lightning_main

ROOT = Path(__file__).resolve().parents[2]


def _release(folder: Path, names: list[str]) -> Path:
    """A CLUTRR folder of one-story test files, with the columns the reader uses."""
    folder.mkdir(parents=True)
    for name in names:
        with (folder / name).open("w", newline="") as f:
            csv.writer(f).writerows([["story", "query", "target", "genders"],
                                     ["[Ann] met her son [Bob]. [Bob]'s son [Cid] came too.", "('Ann', 'Cid')",
                                      "grandson", "Ann:female,Bob:male,Cid:male"]])
    return folder


def test_greybox_test_reads_any_clutrr_folder_and_reports_per_file(tmp_path: Path, monkeypatch, capsys) -> None:
    """``greybox test --config experiments/kinship/clutrr.yaml --data.init_args.data_dir DIR`` on a release
    with ``1.2,1.3_test.csv``, ``1.10_test.csv`` and ``test.csv`` (and no training file): one accuracy per file."""
    folder = _release(tmp_path / "release", ["1.2,1.3_test.csv", "1.10_test.csv", "test.csv"])
    monkeypatch.chdir(ROOT)
    assert lightning_main(["test", "--config", str(ROOT / "experiments/kinship/clutrr.yaml"),
                           f"--data.init_args.data_dir={folder}", "--trainer.logger=false",
                           "--trainer.enable_progress_bar=false", f"--trainer.default_root_dir={tmp_path}"]) == 0
    out = capsys.readouterr().out
    assert "test_acc/k10" in out  # Lightning's table (it wraps longer names)
    # and the line per loader after it: every file, by its k or its stem
    summary = out[out.index("\ntest ") + 1:].splitlines()
    assert summary[0].split() == ["test", "acc", "loss"]
    assert sorted(line.split()[0] for line in summary[1:4]) == ["1.2_1.3_test", "k10", "test"]
    assert all(0.0 <= float(line.split()[1]) <= 1.0 for line in summary[1:4])
