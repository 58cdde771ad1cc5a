"""Bad input to ``greybox fit|test`` on a knowledge graph: one line naming the file and line, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from greybox.training.cli import lightning_main
from tests.helpers.kg_tiny import write_tiny_kg

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "experiments/kg/kinship.yaml")
QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("kgbad")
    data = write_tiny_kg(tmp / "data")
    assert lightning_main(["fit", "--config", CONFIG, f"--data.init_args.data_dir={data}",
                           f"--trainer.default_root_dir={tmp / 'runs'}", "--model.init_args.min_support=1",
                           "--model.init_args.learn_weights=false", *QUIET]) == 0
    (ckpt,) = (tmp / "runs").rglob("last.ckpt")
    return ckpt


def _test(ckpt, folder, capsys) -> tuple[int, str]:
    status = lightning_main(["test", "--config", CONFIG, "--ckpt_path", str(ckpt),
                             f"--data.init_args.data_dir={folder}", *QUIET])
    return status, capsys.readouterr().err


def test_a_test_triple_with_an_unknown_relation(checkpoint, tmp_path, capsys):
    folder = write_tiny_kg(tmp_path / "d", test="p0\tgrandparent\tp2\np3\tcousin\tp5\n")
    status, err = _test(checkpoint, folder, capsys)
    assert status == 2
    assert f"{folder / 'test.tsv'}:2: unknown relation 'cousin'" in err
    assert "Traceback" not in err


def test_a_relation_of_the_folder_that_the_checkpoint_does_not_know(checkpoint, tmp_path, capsys):
    rows = "".join(f"p{i}\tcousin\tp{i + 1}\n" for i in range(0, 27, 3))
    folder = write_tiny_kg(tmp_path / "d", test="p0\tgrandparent\tp2\np0\tcousin\tp1\n")
    with open(folder / "train.tsv", "a") as f:
        f.write(rows)
    status, err = _test(checkpoint, folder, capsys)
    assert status == 2
    assert f"{folder / 'test.tsv'}:2: unknown relation 'cousin': the checkpoint has no rules or embedding" in err


def test_a_malformed_line(checkpoint, tmp_path, capsys):
    folder = write_tiny_kg(tmp_path / "d", train="p0\tparent\tp1\np1 parent p2\n")
    status, err = _test(checkpoint, folder, capsys)
    assert status == 2
    assert f"{folder / 'train.tsv'}:2: expected three tab-separated columns" in err


def test_an_empty_graph(tmp_path, capsys):
    folder = write_tiny_kg(tmp_path / "d", train="\n")
    status = lightning_main(["fit", "--config", CONFIG, f"--data.init_args.data_dir={folder}",
                             f"--trainer.default_root_dir={tmp_path / 'runs'}", *QUIET])
    assert status == 2
    assert f"{folder / 'train.tsv'}: the graph is empty" in capsys.readouterr().err


def test_test_without_a_checkpoint(tmp_path, capsys):
    folder = write_tiny_kg(tmp_path / "d")
    status = lightning_main(["test", "--config", CONFIG, f"--data.init_args.data_dir={folder}",
                             f"--trainer.default_root_dir={tmp_path / 'runs'}", *QUIET])
    assert status == 2
    assert "the model has no rules yet" in capsys.readouterr().err
