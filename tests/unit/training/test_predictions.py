"""``greybox predict --output``: rows of predictions, answers by name when the data module names them."""

from __future__ import annotations

import io
import json

import pytest

from greybox.errors import ConfigError
from greybox.trace.describe import ExampleDescription
from greybox.training.predictions import answer_names, answer_text, output_format, write_rows
from tests.unit.training.test_traces import _task


class NamedSums:
    """A data module whose description names the sums (0 -> 'zero', ...)."""

    def describe(self, split: str, index: int, dataloader: int = 0) -> ExampleDescription:
        return ExampleDescription(names={"sum.0": [f"s{i}" for i in range(19)]})


def test_answers_are_numbers_or_the_names_the_data_module_gives() -> None:
    task = _task()
    assert answer_text(task, [8]) == "8"
    names = answer_names(task, NamedSums())
    assert [list(n)[:2] for n in names] == [["s0", "s1"]]
    assert answer_text(task, [8], names) == "s8"
    assert answer_names(task, object()) == []


def test_rows_as_csv_and_json_lines() -> None:
    rows = [{"id": 3, "answer": "aunt, x", "probability": 0.5, "label": None}]
    out = io.StringIO()
    assert write_rows(rows, out, "csv") == 1
    assert out.getvalue() == 'id,answer,probability,label\n3,"aunt, x",0.5,\n'
    out = io.StringIO()
    write_rows(rows, out, "jsonl")
    assert json.loads(out.getvalue()) == rows[0]
    with pytest.raises(ConfigError, match=r"--output p\.parquet: unknown file type \.parquet"):
        output_format("p.parquet")


def test_predict_runs_over_several_loaders() -> None:
    """A data module with one predict loader per part (CLUTRR's k = 2..10) predicts each."""
    import pytorch_lightning as pl
    import torch
    from torch.utils.data import DataLoader

    from tests.unit.training.test_traces import _images

    batch = {"images": _images()[None].repeat(3, 1, 1, 1, 1)}                 # (3, 2, 1, 8, 8)
    loaders = [DataLoader([batch], batch_size=None), DataLoader([batch, batch], batch_size=None)]
    trainer = pl.Trainer(accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, enable_checkpointing=False)
    out = trainer.predict(_task(), dataloaders=loaders)
    assert [len(part) for part in out] == [1, 2]
    assert out[1][0]["answer"].shape[0] == 3 and torch.all(out[1][0]["probability"] <= 1)
