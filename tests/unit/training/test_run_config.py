"""Config files, run folders and progress output of the Lightning commands (``greybox.training.config_files``,
``runs``, ``progress``) and the one-line errors of ``greybox.cli``."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from jsonargparse import Namespace

from greybox.cli import one_line, user_error
from greybox.errors import ConfigError, ParseError, ProblemList
from greybox.training import config_files, runs
from greybox.training.progress import CompactProgressBar, PlainProgress, compact_metrics

ROOT = Path(__file__).resolve().parents[3]

# ---------------------------------------------------------------- paths


def test_command_line_paths_are_made_absolute_against_the_current_folder() -> None:
    args = ["fit", "--config", "c.yaml", "--model.program=[a.dl, /b.dl]", "--data.init_args.data_dir", "d",
            "--trainer.default_root_dir", "null", "--model.lr", "0.1", "--data.data_dir=/abs"]
    assert config_files.absolute_cli_paths(args, "/w") == [
        "fit", "--config", "c.yaml", "--model.program=[/w/a.dl, /b.dl]", "--data.init_args.data_dir", "/w/d",
        "--trainer.default_root_dir", "null", "--model.lr", "0.1", "--data.data_dir=/abs"]


def test_config_paths_resolve_against_the_root_at_any_depth() -> None:
    config = Namespace(trainer=Namespace(default_root_dir="runs/x", callbacks=[{"init_args": {"dirpath": "ck"}}]),
                       model=Namespace(init_args=Namespace(program=["k/a.dl", "/abs/b.dl"], lr=0.1,
                                                           networks={"n": Namespace(init_args=Namespace(encoder_path=None))})),
                       data=Namespace(init_args=Namespace(data_dir="../data", task="sum")))
    config_files.resolve_paths(config, "/p/root")
    assert config.trainer.default_root_dir == "/p/root/runs/x"
    assert config.trainer.callbacks[0]["init_args"]["dirpath"] == "/p/root/ck"
    assert config.model.init_args.program == ["/p/root/k/a.dl", "/abs/b.dl"]
    assert config.model.init_args.networks["n"].init_args.encoder_path is None
    assert config.data.init_args.data_dir == "/p/data" and config.data.init_args.task == "sum"


def test_the_project_root_is_the_folder_with_pyproject(tmp_path: Path) -> None:
    assert config_files.project_root(ROOT / "experiments/digit_sum/sum2_digits.yaml") == ROOT
    (tmp_path / "a/b").mkdir(parents=True)
    (tmp_path / "a/b/c.yaml").write_text("{}\n")
    assert config_files.project_root(tmp_path / "a/b/c.yaml") in (tmp_path / "a/b", *tmp_path.parents)


def test_a_missing_input_names_the_path_tried_and_the_config_line(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("model:\n  init_args:\n    program: [k/a.dl, k/b.dl]\n")
    (tmp_path / "k").mkdir()
    (tmp_path / "k/a.dl").write_text("")
    parsed = Namespace(model=Namespace(init_args=Namespace(program=["k/a.dl", "k/b.dl"])))
    config_files.resolve_paths(parsed, tmp_path)
    with pytest.raises(ConfigError, match=r"rule file not found: .*/k/b\.dl") as err:
        config_files.check_inputs(parsed, [str(config)], tmp_path)
    assert (err.value.file, err.value.line) == (str(config), 3) and "project root" in err.value.hint
    with pytest.raises(ConfigError, match="rule file not found") as err:
        config_files.check_inputs(parsed, [str(config)], tmp_path, ["--model.program", "k/b.dl"])
    assert err.value.file is None and "current directory" in err.value.hint


# ---------------------------------------------------------------- mistakes


def test_a_yaml_error_names_the_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer:\n  max_epochs: 3\n  callbacks: [a, b\nmodel: {}\n")
    with pytest.raises(ConfigError, match="YAML syntax error") as err:
        config_files.check_yaml(str(bad))
    assert err.value.file == str(bad) and err.value.line == 4
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a mapping"):
        config_files.check_yaml(str(listed))
    with pytest.raises(ConfigError, match="config file not found"):
        config_files.check_yaml(str(tmp_path / "none.yaml"))


UNION = """Parser key "model":
  Does not validate against any of the Union subtypes
  Subtypes: [<class 'pytorch_lightning.core.module.LightningModule'>, <class 'NoneType'>]
  Errors:
    - Problem with given class_path 'greybox.ReasoningTask':
        {inner}
    - Expected a <class 'NoneType'>
  Given value type: <class 'dict'>
  Given value: {{'lr': 'abc'}}"""


def test_the_parsers_messages_become_one_line(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("model:\n  init_args:\n    lrr: 3\n    lr: abc\ntrainer:\n  max_epochz: 1\n")
    unknown = config_files.translate_argument_error(UNION.format(inner="Option 'lrr' is not accepted"), [], [str(config)])
    assert unknown.message == "unknown option 'model.lrr'" and (unknown.file, unknown.line) == (str(config), 3)
    assert unknown.hint.startswith("did you mean 'model.lr'?")
    wrong = config_files.translate_argument_error(
        UNION.format(inner='Parser key "lr":\n          Expected a <class \'float\'>. Got value: abc'), [], [str(config)])
    assert wrong.message == "model.lr: expected float, got 'abc'" and wrong.line == 4
    typed = config_files.translate_argument_error(UNION.format(inner="Option 'lrr' is not accepted"),
                                                  ["fit", "--model.lrr", "3"], [str(config)])
    assert typed.file is None  # typed on the command line, not in the file
    group = config_files.translate_argument_error("Subcommand 'fit' does not accept option 'trainer.max_epochz'",
                                                  [], [str(config)])
    assert group.message == "unknown option 'trainer.max_epochz'" and group.line == 6
    assert "did you mean 'trainer.max_epochs'?" in group.hint
    loose = config_files.translate_argument_error("unrecognized arguments: --trainer.max_epochz 2", [], [])
    assert loose.message == "unknown option --trainer.max_epochz" and "trainer.max_epochs" in loose.hint


def test_user_errors_are_found_in_the_chain_and_printed_in_one_line() -> None:
    parse = ParseError("unexpected ':-'", file="k.dl", line=3, column=5, source_line="p(X :- q(X).", hint="close it")
    try:
        try:
            raise parse
        except ParseError as inner:
            raise ValueError("Does not validate against any of the Union subtypes") from inner
    except ValueError as outer:
        assert user_error(outer) is parse
    assert one_line(parse) == "error: k.dl:3:5: unexpected ':-'\nhint: close it"
    several = ProblemList([parse, ConfigError("other")])
    assert one_line(several).splitlines()[0] == "error: k.dl:3:5: unexpected ':-' (and 1 more problem)"
    from lightning_fabric.utilities.exceptions import MisconfigurationException

    found = user_error(MisconfigurationException("No supported gpu backend found!\nmore"))
    assert isinstance(found, ConfigError) and found.message == "No supported gpu backend found!"
    assert user_error(ZeroDivisionError("a bug")) is None


# ---------------------------------------------------------------- run folders


def test_evaluation_logs_go_with_the_run_of_the_checkpoint(tmp_path: Path) -> None:
    ckpt = tmp_path / "root/version_2/checkpoints/last.ckpt"
    assert runs.evaluation_folder("test", tmp_path / "root", str(ckpt)) == (tmp_path / "root/version_2/test").resolve()
    assert runs.evaluation_folder("predict", tmp_path / "root", str(tmp_path / "m.ckpt")) == tmp_path / "root/predict"
    assert runs.evaluation_folder("test", tmp_path / "root", None) == tmp_path / "root/test"


def test_the_default_loggers_share_one_version_folder(tmp_path: Path) -> None:
    loggers = runs.default_loggers(tmp_path, 3)
    assert {Path(logger.log_dir) for logger in loggers} == {tmp_path / "version_3"}
    assert type(loggers[0]).__name__ == "CSVLogger"


def test_the_summary_without_a_checkpoint_says_so() -> None:
    text = runs.fit_summary(monitor=None, best_score=None, best_path=None, last_path=None, configs=["c.yaml"],
                            log_dir=None)
    assert text.startswith("checkpoint: none was written")


# ---------------------------------------------------------------- progress


class _Tiny(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(2, 1)

    def training_step(self, batch, batch_idx):
        loss = self.layer(batch[0]).pow(2).mean()
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        self.log("val_acc", 0.5, prog_bar=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _loader():
    data = torch.utils.data.TensorDataset(torch.randn(12, 2))
    return torch.utils.data.DataLoader(data, batch_size=2)


def test_plain_progress_prints_a_line_every_n_steps_and_per_epoch(tmp_path: Path) -> None:
    out = io.StringIO()
    trainer = pl.Trainer(max_epochs=2, limit_train_batches=4, limit_val_batches=1, logger=False,
                         enable_checkpointing=False, enable_model_summary=False, default_root_dir=tmp_path,
                         callbacks=[PlainProgress(every_n_steps=2, stream=out)], accelerator="cpu")
    trainer.fit(_Tiny(), _loader(), _loader())
    lines = out.getvalue().splitlines()
    assert [line.split("  ")[:2] for line in lines] == [
        ["epoch 0/1", "step 2/4"], ["epoch 0/1", "step 4/4"], ["epoch 0/1", lines[2].split("  ")[1]],
        ["epoch 1/1", "step 2/4"], ["epoch 1/1", "step 4/4"], ["epoch 1/1", lines[5].split("  ")[1]]]
    assert lines[2].split("  ")[1].startswith("done in ") and "val_acc 0.5" in lines[2]
    assert "train_loss" in lines[0] and "val_acc" not in lines[0] and "\r" not in out.getvalue()


def test_the_terminal_bar_fits_80_columns() -> None:
    from tqdm import tqdm

    metrics = {"v_num": 12, "train_loss": 2.61234, "val_loss": 2.5, "val_acc": 0.078, "val_digit_net_acc": 0.1}
    shown = compact_metrics(metrics, "val_acc")
    assert shown == {"loss": "2.612", "val_acc": "0.078"}
    postfix = ", ".join(f"{k}={v}" for k, v in shown.items())
    line = tqdm.format_meter(n=160, total=188, elapsed=5.0, ncols=80, prefix="Epoch 12", postfix=postfix,
                             bar_format=CompactProgressBar.BAR_FORMAT)
    assert len(line) <= 80 and "val_acc=0.078" in line


def test_constructors_get_input_paths_below_the_current_folder_as_relative() -> None:
    config = Namespace(model=Namespace(init_args=Namespace(program=["/w/k/a.dl", "/x/b.dl"])),
                       trainer=Namespace(default_root_dir="/w/runs"), data=Namespace(data_dir="/w/d"))
    given = config_files.inputs_as_given(config, "/w")
    assert given.model.init_args.program == ["k/a.dl", "/x/b.dl"] and given.data.data_dir == "d"
    assert given.trainer.default_root_dir == "/w/runs"  # outputs stay absolute
    assert config.model.init_args.program == ["/w/k/a.dl", "/x/b.dl"]  # the saved config is untouched
