"""Reading checkpoints without running code, and the checks ``greybox fit|test|...`` makes first."""

from __future__ import annotations

import argparse
import os
import pathlib

import pytest
import torch
from jsonargparse import Namespace
from torch import nn

from greybox.errors import CheckpointError, ConfigError
from greybox.training.checkpoints import checkpoint_sha256, load_checkpoint, load_weights, run_config_near
from greybox.training.run_args import checkpoint_argument, prepare_lightning_args


class _Payload:
    def __init__(self, path: pathlib.Path) -> None:
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def _save(path: pathlib.Path, **extra) -> pathlib.Path:
    torch.save({"state_dict": {"w": torch.ones(2)}, **extra}, path)
    return path


def test_what_a_greybox_checkpoint_holds_is_read(tmp_path) -> None:
    hp = Namespace(program="knowledge/digit_sum.dl", nested=Namespace(lr=0.1))
    path = _save(tmp_path / "ok.ckpt", hyper_parameters=hp, folder=pathlib.Path("runs/x"),
                 args=argparse.Namespace(seed=0), epoch=2)
    state = load_checkpoint(path)
    assert state["hyper_parameters"].nested.lr == 0.1 and state["folder"] == pathlib.Path("runs/x")
    assert state["args"].seed == 0 and torch.equal(state["state_dict"]["w"], torch.ones(2))


def test_a_payload_never_runs(tmp_path) -> None:
    marker = tmp_path / "MARKER"
    path = _save(tmp_path / "evil.ckpt", extra=_Payload(marker))
    with pytest.raises(CheckpointError, match=r"evil\.ckpt: refusing to load the checkpoint: it names code .*posix\.system"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"\x00" * 64, b"PK\x03\x04 truncated zip", os.urandom(2048)])
def test_unreadable_bytes_are_a_checkpoint_error(tmp_path, content) -> None:
    path = tmp_path / "bad.ckpt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=r"bad\.ckpt: cannot read the checkpoint: it is not a PyTorch checkpoint file"):
        load_checkpoint(path)


def test_a_pickle_of_other_things_is_not_a_greybox_checkpoint(tmp_path) -> None:
    torch.save({"weights": torch.ones(1)}, tmp_path / "a.ckpt")
    with pytest.raises(CheckpointError, match=r"not a greybox checkpoint: it holds a dict with the keys \['weights'\]"):
        load_checkpoint(tmp_path / "a.ckpt")
    torch.save({"state_dict": {"w": 3}}, tmp_path / "b.ckpt")
    with pytest.raises(CheckpointError, match=r"state_dict entry 'w' is not a tensor"):
        load_checkpoint(tmp_path / "b.ckpt")
    with pytest.raises(CheckpointError, match=r"checkpoint '.*missing\.ckpt' does not exist"):
        load_checkpoint(tmp_path / "missing.ckpt")


def test_the_sha256_is_that_of_the_bytes(tmp_path) -> None:
    import hashlib

    path = _save(tmp_path / "ok.ckpt")
    assert checkpoint_sha256(path) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_weights_that_do_not_fit_name_the_runs_own_config(tmp_path) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("model: {}\n")
    path = run / "checkpoints" / "last.ckpt"
    torch.save({"state_dict": nn.Linear(3, 2).state_dict()}, path)
    assert run_config_near(path) == (run / "config.yaml").resolve()
    with pytest.raises(CheckpointError, match=r"does not fit the model built from other\.yaml: .*size mismatch") as err:
        load_weights(nn.Linear(4, 2), path, ["other.yaml"])
    assert err.value.hint == f"the run that wrote it saved its config: use --config {(run / 'config.yaml').resolve()}"
    with pytest.raises(CheckpointError, match=r"Missing key\(s\)") as err:
        load_weights(nn.Sequential(nn.Linear(3, 2)), path, [str(run / "config.yaml")])
    assert err.value.hint == "build the model with the config the checkpoint was trained with"
    model = nn.Linear(3, 2)
    load_weights(model, path)
    assert torch.equal(model.weight, torch.load(path, weights_only=True)["state_dict"]["weight"])


def test_lightning_arguments_are_checked_before_the_run(tmp_path) -> None:
    ok = _save(tmp_path / "ok.ckpt")
    config = tmp_path / "c.yaml"
    config.write_text(f"ckpt_path: {tmp_path / 'evil.ckpt'}\n")
    assert checkpoint_argument(["--config", str(config)]) == str(tmp_path / "evil.ckpt")
    assert checkpoint_argument(["--config", str(config), "--ckpt_path", str(ok)]) == str(ok)
    assert prepare_lightning_args(["test", "--ckpt_path", str(ok)]) == ["test", "--ckpt_path", str(ok), "--weights_only=true"]
    _save(tmp_path / "evil.ckpt", extra=_Payload(tmp_path / "MARKER"))
    with pytest.raises(CheckpointError, match="refusing to load"):
        prepare_lightning_args(["validate", "--config", str(config)])
    assert not (tmp_path / "MARKER").exists()
    assert prepare_lightning_args(["fit", "--ckpt_path", "last"])[-1] == "--weights_only=true"  # Lightning finds it
    with pytest.raises(ConfigError, match=r"--output is an option of `greybox predict`, not of `greybox test`"):
        prepare_lightning_args(["test", "--output", "p.jsonl"])
    with pytest.raises(ConfigError, match=r"unknown file type \.txt"):
        prepare_lightning_args(["predict", "--output=p.txt"])
