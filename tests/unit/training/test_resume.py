"""Resuming a fit: each epoch's training order is a function of (seed, epoch), and a checkpoint
keeps the global random generators, so a resumed run is the uninterrupted run."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DistributedSampler

from greybox.training.data import EpochRandomSampler
from greybox.training.module import ReasoningTask
from greybox.training.random_state import RandomStateCheckpoint
from tasks.digit_sum.data import DigitSumDataModule

ROOT = Path(__file__).resolve().parents[3]


def _train_batches(dm: DigitSumDataModule, epoch: int) -> list[list[int]]:
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(epoch)
    return [b["label"].tolist() for b in loader]


def test_epoch_order_depends_on_seed_and_epoch_only() -> None:
    a, b = EpochRandomSampler(range(50), seed=1), EpochRandomSampler(range(50), seed=1)
    assert a.order(3) == b.order(3) and sorted(a.order(3)) == list(range(50))
    assert a.order(3) != a.order(4)
    assert a.order(3) != EpochRandomSampler(range(50), seed=2).order(3)
    # (seed, epoch) pairs are mixed, not added
    assert EpochRandomSampler(range(50), seed=1).order(0) != EpochRandomSampler(range(50), seed=0).order(1)
    # a plain loop without set_epoch gets a new order each pass, epoch by epoch
    assert [list(a), list(a)] == [b.order(0), b.order(1)]


def test_a_rebuilt_train_loader_continues_at_its_epoch() -> None:
    dm = DigitSumDataModule(n=2, train_examples=40, val_examples=8, test_examples=0, batch_size=8, seed=5)
    fresh = DigitSumDataModule(n=2, train_examples=40, val_examples=8, test_examples=0, batch_size=8, seed=5)
    whole = [_train_batches(dm, e) for e in range(3)]
    assert whole[0] != whole[1] != whole[2]
    # what a resumed run does: a new data module and loader, told the epoch it is at
    assert _train_batches(fresh, 2) == whole[2]
    # validation keeps its order
    assert [b["label"].tolist() for b in dm.val_dataloader()] == [b["label"].tolist() for b in fresh.val_dataloader()]


def test_lightning_replaces_it_under_ddp_with_a_shuffling_epoch_keyed_sampler() -> None:
    # what Trainer(use_distributed_sampler=True) does with several processes
    from pytorch_lightning.trainer.connectors.data_connector import _get_distributed_sampler
    from pytorch_lightning.utilities.data import _is_dataloader_shuffled

    dm = DigitSumDataModule(n=2, train_examples=40, val_examples=8, test_examples=0, batch_size=8)
    loader = dm.train_dataloader()
    assert _is_dataloader_shuffled(loader)
    assert not _is_dataloader_shuffled(dm.val_dataloader())
    orders = []
    for _ in range(2):  # the first run, then a resumed one that builds its sampler anew
        sampler = _get_distributed_sampler(loader, shuffle=True, overfit_batches=0, num_replicas=2, rank=0, seed=7)
        assert type(sampler) is DistributedSampler and sampler.shuffle
        by_epoch = []
        for epoch in range(2):
            sampler.set_epoch(epoch)
            by_epoch.append(list(sampler))
        orders.append(by_epoch)
    assert orders[0] == orders[1] and orders[0][0] != orders[0][1]


class _DropoutDigitNet(nn.Module):
    """A digit reader with dropout: its training draws from torch's global generator."""

    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 10), nn.Softmax(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)  # (X, 10)


def _fit(out: Path, epochs: int, ckpt: Path | None = None) -> dict[str, torch.Tensor]:
    pl.seed_everything(0, verbose=False)
    task = ReasoningTask(str(ROOT / "knowledge/digit_sum.dl"), {"digit_net": _DropoutDigitNet()},
                         train_query="sum(S)", extra_facts="num_digits(2).", lr=3e-2)
    data = DigitSumDataModule(n=2, train_examples=32, val_examples=8, test_examples=0, batch_size=8)
    trainer = pl.Trainer(max_epochs=epochs, logger=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=out, accelerator="cpu", devices=1,
                         callbacks=[pl.callbacks.ModelCheckpoint(dirpath=out, save_last=True, monitor=None)])
    trainer.fit(task, datamodule=data, ckpt_path=ckpt)
    return {k: v.clone() for k, v in task.state_dict().items()}


def _worst(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_resumed_dropout_draws_the_masks_of_the_uninterrupted_run(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _fit(tmp_path / "whole", 2)
    _fit(tmp_path / "first", 1)
    resumed = _fit(tmp_path / "resumed", 2, tmp_path / "first/last.ckpt")
    assert _worst(whole, resumed) == 0.0
    # the checkpoint is what makes it so: without the generators, the masks differ
    monkeypatch.setattr(RandomStateCheckpoint, "load_state_dict", lambda self, state: None)
    without = _fit(tmp_path / "without", 2, tmp_path / "first/last.ckpt")
    assert _worst(whole, without) > 0.0
