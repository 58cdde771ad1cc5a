"""Bad cases of checkpoints, ``greybox explain`` and ``greybox predict``, each through ``greybox.cli.main``.

A checkpoint is a pickle: one that names ``os.system`` must be refused (exit status 2,
one ``error:`` line naming the file) before anything of it runs, by ``explain`` and by
every Lightning sub-command that takes ``--ckpt_path``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from greybox.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "experiments/digit_sum/sum2_digits.yaml")
SMALL = ["--data.init_args.train_examples=64", "--data.init_args.val_examples=32", "--data.init_args.test_examples=16",
         "--data.init_args.batch_size=16"]
QUIET = ["--trainer.logger=false", "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


class _Payload:
    """Unpickles as ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A real checkpoint of sum2_digits.yaml: one epoch of two batches."""
    out = tmp_path_factory.mktemp("sum2")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        status = main(["fit", "--config", CONFIG, *SMALL, *QUIET, "--trainer.max_epochs=1", "--trainer.limit_train_batches=2",
                       "--trainer.limit_val_batches=1", f"--trainer.default_root_dir={out}"])
    assert status == 0
    return next(out.glob("**/last.ckpt"))


@pytest.fixture()
def evil(trained: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the real checkpoint with an ``os.system`` payload that creates a marker file."""
    marker = tmp_path / "MARKER"
    state = torch.load(trained, map_location="cpu", weights_only=True)
    state["extra"] = _Payload(f"touch {marker}")
    path = tmp_path / "evil.ckpt"
    torch.save(state, path)
    return path, marker


def test_explain_refuses_a_checkpoint_that_runs_code(evil, capsys, monkeypatch) -> None:
    path, marker = evil
    monkeypatch.chdir(ROOT)
    status = main(["explain", "--config", CONFIG, "--ckpt_path", str(path), "--index", "0", *SMALL])
    err = capsys.readouterr().err
    assert not marker.exists(), "the checkpoint's payload ran"
    assert status == 2
    assert f"error: {path}: refusing to load the checkpoint" in err and "posix.system" in err


@pytest.mark.parametrize("command", ["test", "validate", "predict", "fit"])
def test_lightning_commands_refuse_a_checkpoint_that_runs_code(command, evil, capsys, monkeypatch) -> None:
    path, marker = evil
    monkeypatch.chdir(ROOT)
    status = main([command, "--config", CONFIG, "--ckpt_path", str(path), *SMALL, *QUIET, "--trainer.max_epochs=1",
                   f"--trainer.default_root_dir={path.parent}"])
    err = capsys.readouterr().err
    assert not marker.exists(), "the checkpoint's payload ran"
    assert status == 2 and "refusing to load the checkpoint" in err and "Traceback" not in err


@pytest.mark.parametrize("content, reason", [
    (os.urandom(4096), "not a PyTorch checkpoint file"),
    (b"not a checkpoint", "not a PyTorch checkpoint file"),
    (None, "not a PyTorch checkpoint file"),  # the real checkpoint, cut short
    (b"", "not a PyTorch checkpoint file"),
])
def test_a_corrupt_checkpoint_is_a_one_line_error(content, reason, trained, tmp_path, capsys, monkeypatch) -> None:
    path = tmp_path / "bad.ckpt"
    path.write_bytes(trained.read_bytes()[:20000] if content is None else content)
    monkeypatch.chdir(ROOT)
    assert main(["test", "--config", CONFIG, "--ckpt_path", str(path), *SMALL, *QUIET,
                 f"--trainer.default_root_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: cannot read the checkpoint: it is {reason}") and "hint:" in err
    assert main(["explain", "--config", CONFIG, "--ckpt_path", str(path), *SMALL]) == 2
    assert f"error: {path}: cannot read the checkpoint" in capsys.readouterr().err


def test_a_file_that_is_not_a_checkpoint_is_named(tmp_path, capsys, monkeypatch) -> None:
    path = tmp_path / "list.ckpt"
    torch.save([1, 2, 3], path)
    monkeypatch.chdir(ROOT)
    assert main(["predict", "--config", CONFIG, "--ckpt_path", str(path), *SMALL, *QUIET,
                 f"--trainer.default_root_dir={tmp_path}"]) == 2
    assert f"error: {path}: not a greybox checkpoint: it holds list" in capsys.readouterr().err


def test_a_real_checkpoint_still_tests_and_explains(trained, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["test", "--config", CONFIG, "--ckpt_path", str(trained), *SMALL, *QUIET,
                 f"--trainer.default_root_dir={tmp_path}"]) == 0
    assert main(["explain", "--config", CONFIG, "--ckpt_path", str(trained), "--index", "0", *SMALL]) == 0
    assert "digit_sum test #0" in capsys.readouterr().out


def test_predict_output_writes_one_line_per_sample(trained, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "p.jsonl"
    assert main(["predict", "--config", CONFIG, "--ckpt_path", str(trained), *SMALL, *QUIET,
                 f"--trainer.default_root_dir={tmp_path}", "--output", str(out)]) == 0
    assert f"wrote 16 predictions to {out}" in capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == list(range(16))
    for r in rows:
        assert set(r) == {"id", "answer", "probability", "label"}
        assert 0 <= int(r["answer"]) <= 18 and 0 <= int(r["label"]) <= 18 and 0.0 <= r["probability"] <= 1.0
    csv_out = tmp_path / "p.csv"
    assert main(["predict", "--config", CONFIG, "--ckpt_path", str(trained), *SMALL, *QUIET,
                 f"--trainer.default_root_dir={tmp_path}", f"--output={csv_out}"]) == 0
    lines = csv_out.read_text().splitlines()
    assert lines[0] == "id,answer,probability,label" and len(lines) == 17
    assert [line.split(",")[1] for line in lines[1:]] == [r["answer"] for r in rows]


def test_predict_output_with_an_unknown_extension_fails_before_predicting(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["predict", "--config", CONFIG, *SMALL, *QUIET, f"--trainer.default_root_dir={tmp_path}",
                 "--output", "p.txt"]) == 2
    assert "unknown file type .txt" in capsys.readouterr().err
