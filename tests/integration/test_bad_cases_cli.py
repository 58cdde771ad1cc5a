"""The everyday path of `greybox fit|test|learn-rules`: where a run writes, paths, mistakes, quiet output.

Each command runs as a user runs it: the console script, in a folder other than the
project root, with its output read from pipes (not a terminal).
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from greybox.cli import main
from greybox.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = Path(sys.executable).parent / "greybox"
DIGITS = ROOT / "experiments/digit_sum/sum2_digits.yaml"
MNIST_CONFIG = ROOT / "experiments/digit_sum/sum2_mnist.yaml"
CLUTRR = ROOT.parent / "shared/data/clutrr/data_089907f8"
#: a tiny sum-2 run: one epoch of 2 batches
TINY = ["--trainer.max_epochs", "1", "--trainer.limit_train_batches", "2", "--trainer.limit_val_batches", "1",
        "--trainer.limit_test_batches", "1", "--data.init_args.train_examples", "64", "--data.init_args.val_examples",
        "32", "--data.init_args.test_examples", "32", "--trainer.accelerator", "cpu"]


def _greybox(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    command = [str(CONSOLE)] if CONSOLE.exists() else [sys.executable, "-m", "greybox.cli"]
    env = {k: v for k, v in os.environ.items() if k != "GREYBOX_DEBUG"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(command + list(args), capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")} if folder.is_dir() else set()


@pytest.mark.slow
def test_fit_from_another_folder_writes_only_under_default_root_dir_and_prints_the_next_command(tmp_path: Path) -> None:
    elsewhere, out = tmp_path / "elsewhere", tmp_path / "out"
    elsewhere.mkdir()
    project_runs = _files(ROOT / "runs")
    done = _greybox("fit", "--config", str(DIGITS), "--trainer.default_root_dir", "../out", *TINY, cwd=elsewhere)
    assert done.returncode == 0, done.stderr[-2000:]
    # everything of the run in one folder under default_root_dir (given relative to the current directory)
    written = _files(out)
    assert {"version_0/config.yaml", "version_0/metrics.csv", "version_0/checkpoints/last.ckpt"} <= written
    assert any(name.startswith("version_0/events.out.tfevents") for name in written)  # TensorBoard scalars
    assert _files(elsewhere) == set() and _files(ROOT / "runs") == project_runs
    # one summary: the best metric, the checkpoint, the command to test it
    summary = done.stdout[done.stdout.index("run:"):].splitlines()
    assert summary[0].split() == ["run:", str(out / "version_0")]  # outside the current folder: absolute
    assert re.fullmatch(r"best: +val_acc = [01]\.\d{4}", summary[1])
    assert re.fullmatch(rf"checkpoint: {re.escape(str(out))}/version_0/checkpoints/best-epoch=0-val_acc=[01]\.\d{{3}}\.ckpt", summary[2])
    command = shlex.split(summary[3].split(":", 1)[1])
    assert command[:2] == ["greybox", "test"] and "--ckpt_path" in command
    # quiet: nothing a user cannot act on; plain progress lines, no bar, off a terminal
    for noise in ("GPU available", "TPU available", "Tip", "LeafSpec", "Seed set", "Warning"):
        assert noise not in done.stderr + done.stdout
    assert "\r" not in done.stdout and re.search(r"^epoch 0/0  done in ", done.stdout, re.M)

    # the printed command works, and its logs go with the run it evaluates
    tested = _greybox(*command[1:], "--trainer.limit_test_batches", "1", cwd=elsewhere)
    assert tested.returncode == 0, tested.stderr[-2000:]
    assert "test_acc" in tested.stdout
    after = _files(out)
    assert "version_0/test/version_0/metrics.csv" in after
    assert not any(name.startswith("version_1") for name in after)
    assert _files(elsewhere) == set()


@pytest.mark.parametrize("case", ["missing data folder", "rule file syntax error", "yaml syntax error",
                                  "unknown key", "wrong type"])
def test_a_config_mistake_is_one_line_and_exit_status_2(case: str, tmp_path: Path) -> None:
    extra = tmp_path / "extra.yaml"
    args = ["fit", "--config", str(DIGITS)]
    if case == "missing data folder":
        args = ["fit", "--config", str(MNIST_CONFIG), "--data.init_args.data_dir", "/nonexistent"]
        expected = "error: data folder not found: /nonexistent"
    elif case == "rule file syntax error":
        (tmp_path / "bad.dl").write_text("% a comment\nsum(S) :- digit(X :- y.\n")
        extra.write_text(f"model:\n  program: {tmp_path / 'bad.dl'}\n")
        expected = "error: bad.dl:2:19: unexpected ':-'"  # below the current folder: named relative to it
    elif case == "yaml syntax error":
        extra.write_text("model:\n  lr: [0.1\n")
        expected = f"error: {extra}:3:1: YAML syntax error"
    elif case == "unknown key":
        extra.write_text("model:\n  lrr: 0.1\n")
        expected = f"error: {extra}:2:3: unknown option 'model.lrr'"
    else:
        extra.write_text("data:\n  init_args:\n    batch_size: many\n")
        expected = f"error: {extra}:3:5: data.batch_size: expected int, got 'many'"
    if case != "missing data folder":
        args += ["--config", str(extra)]
    done = _greybox(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) <= 3, done.stderr
    assert lines[0].startswith(expected), lines
    assert lines[-1].startswith("hint: ")
    assert "<unicode string>" not in done.stderr and "Traceback" not in done.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown option 'model.lrr'"):
        main(["fit", "--config", str(DIGITS), "--model.lrr", "3", "--debug"])
    assert "GREYBOX_DEBUG" not in os.environ


def test_a_data_dir_the_source_ignores_is_an_error(tmp_path: Path, capsys) -> None:
    assert main(["fit", "--config", str(DIGITS), "--data.init_args.data_dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is read only with source 'mnist'" in err and "hint: add --data.init_args.source mnist" in err


def test_every_lightning_config_logs_tensorboard_scalars_under_its_default_root_dir() -> None:
    configs = [p for p in (ROOT / "experiments").glob("*/*.yaml") if "\ntrainer:" in "\n" + p.read_text()]
    assert configs
    for config in configs:
        text = config.read_text()
        # no logger of their own: greybox's CSV + TensorBoard loggers, in default_root_dir
        assert "logger:" not in text and "save_dir" not in text, config
        assert re.search(rf"default_root_dir: runs/{config.parent.name}/{config.stem}\b", text), config


def test_learn_rules_reads_several_configs(tmp_path: Path, capsys) -> None:
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    first.write_text("epochz: 1\n")
    second.write_text("epochs: 1\ndata_dir: /no/such/folder\n")
    assert main(["learn-rules", "--config", str(first), "--config", str(second), "-o", str(tmp_path / "x.dl")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"error: {first}:1:1: unknown option 'epochz'" and err[1].startswith("hint: did you mean 'epochs'?")


@pytest.mark.skipif(not CLUTRR.is_dir(), reason=f"CLUTRR data not found at {CLUTRR}")
def test_learn_rules_from_another_folder_reads_the_project_paths(tmp_path: Path) -> None:
    small = tmp_path / "small.yaml"
    small.write_text("epochs: 1\nmax_train: 20\ntest_ks: []\n")
    done = _greybox("learn-rules", "--config", str(ROOT / "experiments/kinship/learn_rules.yaml"), "--config", str(small),
                    "-o", "learned.dl", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "from 20 graphs" in done.stdout and (tmp_path / "learned.dl").is_file()
