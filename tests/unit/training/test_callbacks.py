"""``TraceWriter`` during a real (tiny) fit of sum-2 on the bundled 8x8 digits."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import pytorch_lightning as pl

from greybox.errors import ConfigError
from greybox.trace.schema import TraceBatch, validate_trace_json
from greybox.training.callbacks import TraceWriter
from greybox.training.module import ReasoningTask
from tasks.digit_sum.data import DigitSumDataModule
from tasks.digit_sum.model import DigitNet

ROOT = Path(__file__).resolve().parents[3]


def _fit(tmp_path: Path, writer: TraceWriter, epochs: int = 2, logger: bool = False) -> pl.Trainer:
    pl.seed_everything(0, verbose=False)
    task = ReasoningTask(str(ROOT / "knowledge/digit_sum.dl"), {"digit_net": DigitNet(image_size=8)},
                         train_query="sum(S)", extra_facts="num_digits(2).", perception_targets={"digit_net": "digits"},
                         lr=3e-3)
    data = DigitSumDataModule(n=2, train_examples=16, val_examples=8, test_examples=0, batch_size=8)
    trainer = pl.Trainer(max_epochs=epochs, limit_train_batches=2, limit_val_batches=1, num_sanity_val_steps=0,
                         logger=pl.loggers.CSVLogger(tmp_path, name="csv") if logger else False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=tmp_path, callbacks=[writer], accelerator="cpu", devices=1)
    trainer.fit(task, datamodule=data)
    return trainer


def test_json_traces_after_every_epoch_validate(tmp_path: Path) -> None:
    writer = TraceWriter(n_examples=3, dirpath=str(tmp_path / "traces"))
    _fit(tmp_path, writer)
    files = sorted((tmp_path / "traces").iterdir())
    assert [f.name for f in files] == ["traces_epoch000.json", "traces_epoch001.json"]
    assert writer.written == files
    batches = [validate_trace_json(f.read_text()) for f in files]
    for batch in batches:
        assert isinstance(batch, TraceBatch)
        assert [t.index for t in batch.traces] == [0, 1, 2]
        assert {t.split for t in batch.traces} == {"val"} and {t.task for t in batch.traces} == {"digit_sum"}
        assert all(t.proofs and t.attributions and t.label is not None for t in batch.traces)
    # the same examples, seen by a network that has learnt in between
    first, second = ([t.probability for t in b.traces] for b in batches)
    assert first != second


def test_html_every_second_epoch_in_the_log_dir(tmp_path: Path) -> None:
    writer = TraceWriter(every_n_epochs=2, n_examples=2, format="html")
    trainer = _fit(tmp_path, writer, epochs=3, logger=True)
    folder = Path(trainer.log_dir) / "traces"
    assert folder.parent == tmp_path / "csv" / "version_0"
    assert [p.name for p in folder.iterdir()] == ["traces_epoch001.html"]
    page = (folder / "traces_epoch001.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "epoch 1" in page
    assert page.count("data:image/png;base64,") >= 2


def test_an_error_while_tracing_is_a_warning_not_a_crash(tmp_path: Path, monkeypatch, caplog) -> None:
    import greybox.training.traces as traces

    def broken(*args, **kwargs):
        raise ValueError("cannot trace this")

    monkeypatch.setattr(traces, "build_trace", broken)
    writer = TraceWriter(n_examples=1, dirpath=str(tmp_path / "traces"))
    with caplog.at_level(logging.WARNING, logger="greybox.training.callbacks"):
        trainer = _fit(tmp_path, writer, epochs=1)
    assert trainer.current_epoch == 1  # training went on to the end
    assert writer.written == [] and not (tmp_path / "traces").exists()
    assert "TraceWriter: no traces for epoch 0: ValueError: cannot trace this" in caplog.text


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"every_n_epochs": 0}, r"every_n_epochs must be at least 1, got 0"),
        ({"n_examples": 0}, r"n_examples must be at least 1, got 0"),
        ({"split": "test"}, r"TraceWriter traces the 'val' split, got split='test'"),
        ({"format": "pdf"}, r"unknown trace format 'pdf'"),
    ],
)
def test_bad_arguments_are_config_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TraceWriter(**kwargs)

