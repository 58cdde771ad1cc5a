"""``Finetuning``: a pretrained part frozen, or trained from an epoch on at a fraction of the task's rate."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from greybox.errors import ConfigError
from greybox.training.finetuning import Finetuning


class Tiny(pl.LightningModule):
    """A "pretrained" body (with dropout) and a new head; Adam over what trains, as ``ReasoningTask``."""

    def __init__(self, lr: float = 0.1) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5))
        self.head = nn.Linear(4, 1)
        self.lr = lr
        self.seen: list[tuple[int, list[float], bool, bool]] = []  # per step: epoch, group lrs, body trains, mode

    def training_step(self, batch, batch_idx):
        opt = self.optimizers().optimizer
        self.seen.append((self.current_epoch, [g["lr"] for g in opt.param_groups],
                          self.body[0].weight.requires_grad, self.body.training))
        x, y = batch
        return ((self.head(self.body(x)) - y) ** 2).mean()

    def configure_optimizers(self):
        return torch.optim.Adam([p for p in self.parameters() if p.requires_grad], lr=self.lr)


def _loader() -> DataLoader:
    g = torch.Generator().manual_seed(0)
    return DataLoader(TensorDataset(torch.randn(8, 3, generator=g), torch.randn(8, 1, generator=g)), batch_size=4)


def _fit(model: Tiny, callback: Finetuning, root: Path, epochs: int, ckpt: str | None = None) -> pl.Trainer:
    trainer = pl.Trainer(max_epochs=epochs, accelerator="cpu", logger=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=root, callbacks=[callback],
                         enable_checkpointing=False)
    trainer.fit(model, _loader(), ckpt_path=ckpt)
    return trainer


def test_frozen_throughout_leaves_the_part_unchanged(tmp_path: Path) -> None:
    pl.seed_everything(0)
    model = Tiny()
    body, head = model.body[0].weight.clone(), model.head.weight.clone()
    _fit(model, Finetuning(module="body", unfreeze_at_epoch=None), tmp_path, epochs=2)
    assert torch.equal(model.body[0].weight, body) and not torch.equal(model.head.weight, head)
    assert {(lrs[0], len(lrs), trains, mode) for _, lrs, trains, mode in model.seen} == {(0.1, 1, False, False)}


def test_unfreezes_at_its_epoch_in_its_own_group_with_its_dropout(tmp_path: Path) -> None:
    pl.seed_everything(0)
    model = Tiny()
    _fit(model, Finetuning(module="body", unfreeze_at_epoch=1, lr_scale=0.25, dropout=0.0), tmp_path, epochs=3)
    by_epoch = {epoch: (lrs, trains, mode) for epoch, lrs, trains, mode in model.seen}
    assert by_epoch[0] == ([0.1], False, False)
    assert by_epoch[1] == by_epoch[2] == ([0.1, 0.025], True, True)
    assert model.body[1].p == 0.0


def test_a_resumed_fit_keeps_training_the_part_at_its_rate(tmp_path: Path) -> None:
    """The uninterrupted fit and one resumed from its first epoch's checkpoint end on the same weights."""
    def callback() -> Finetuning:
        return Finetuning(module="body", unfreeze_at_epoch=0, lr_scale=0.5, dropout=0.0)

    pl.seed_everything(0)
    whole = Tiny()
    _fit(whole, callback(), tmp_path / "whole", epochs=2)
    pl.seed_everything(0)
    first = Tiny()
    trainer = _fit(first, callback(), tmp_path / "first", epochs=1)
    trainer.save_checkpoint(tmp_path / "epoch1.ckpt")
    resumed = Tiny()
    _fit(resumed, callback(), tmp_path / "resumed", epochs=2, ckpt=str(tmp_path / "epoch1.ckpt"))
    assert [s for s in resumed.seen] == [s for s in whole.seen if s[0] == 1]
    for name, value in whole.state_dict().items():
        assert torch.allclose(resumed.state_dict()[name], value), name


def test_bad_arguments_say_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unfreeze_at_epoch must be >= 0 or null"):
        Finetuning(module="body", unfreeze_at_epoch=-1)
    with pytest.raises(ConfigError, match="lr_scale must be > 0"):
        Finetuning(module="body", lr_scale=0.0)
    with pytest.raises(ConfigError, match="no submodule 'encoder'"):
        Finetuning(module="encoder").freeze_before_training(Tiny())
