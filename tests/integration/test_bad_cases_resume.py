"""A run resumed from its checkpoint is the run: the same weights as one never interrupted.

The sum-2 config on the bundled digits, with a few examples, trained 2 epochs in one go and
1 epoch + ``--ckpt_path`` resume for the second: the two final models must be equal, bit for
bit, on CPU. The training order of each epoch is a function of (seed, epoch), and the
resumed run restores the random generators that the checkpoint holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from greybox.training.cli import lightning_main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "experiments/digit_sum/sum2_digits.yaml"


def _fit(out: Path, epochs: int, *extra: str) -> Path:
    # no monitor: last.ckpt is the last epoch (with a monitor, Lightning >= 2.6 writes last.ckpt
    # only when the monitored value improves)
    callbacks = ('--trainer.callbacks=[{"class_path": "pytorch_lightning.callbacks.ModelCheckpoint", '
                 f'"init_args": {{"dirpath": "{out}", "monitor": null, "save_last": true, '
                 '"enable_version_counter": false}}]')
    status = lightning_main([
        "fit", "--config", str(CONFIG), f"--trainer.max_epochs={epochs}", "--trainer.logger=false",
        "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
        f"--trainer.default_root_dir={out}", callbacks,
        "--data.init_args.train_examples=96", "--data.init_args.val_examples=16",
        "--data.init_args.test_examples=0", "--data.init_args.batch_size=16", *extra])
    assert status == 0
    return out / "last.ckpt"


def _weights(ckpt: Path) -> dict[str, torch.Tensor]:
    return torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"]


def test_resumed_run_equals_uninterrupted_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    whole = _weights(_fit(tmp_path / "whole", 2))
    first = _fit(tmp_path / "first", 1)
    # the second epoch, resumed from the first one's checkpoint in a fresh run
    resumed = _weights(_fit(tmp_path / "resumed", 2, f"--ckpt_path={first}"))
    assert whole.keys() == resumed.keys()
    worst = max(float((whole[k].float() - resumed[k].float()).abs().max()) for k in whole)
    assert worst == 0.0, f"the resumed run's weights differ from the uninterrupted run's by up to {worst}"
    # and the second epoch did train: the models moved away from the first epoch's
    after_one = _weights(first)
    assert max(float((whole[k].float() - after_one[k].float()).abs().max()) for k in whole) > 0.0
