"""What a training command shows while it runs: a compact progress bar, plain progress lines, no noise.

* On a terminal, ``CompactProgressBar`` (Lightning's tqdm bar) shows the loss and the
  monitored metric only, so the line fits 80 columns (tqdm trims it to the terminal).
* When standard output is not a terminal (a log file, ``| tee``, ``nohup``), ``PlainProgress``
  prints one line every N training steps (about 10 per epoch, at multiples of the
  trainer's ``log_every_n_steps``) and one per epoch, so a long run shows life without a
  bar's control characters.
* ``quiet_lightning()`` drops what a user cannot act on: the accelerator availability
  lines, the loggers' tips, the seed message, and library deprecation warnings.

Example:
    >>> compact_metrics({"v_num": 0, "train_loss": 2.8871, "val_loss": 2.7, "val_acc": 0.0857}, "val_acc", limit=2)
    {'loss': '2.887', 'val_acc': '0.086'}
    >>> PlainProgress.format_metrics({"train_loss": 2.8871, "val_acc": 0.0857, "v_num": 1})
    'train_loss 2.887  val_acc 0.0857'
"""

from __future__ import annotations

import logging
import math
import sys
import time
import warnings
from typing import Any, TextIO

import pytorch_lightning as pl
from pytorch_lightning.callbacks import TQDMProgressBar
from pytorch_lightning.callbacks.progress import ProgressBar

__all__ = ["CompactProgressBar", "PlainProgress", "compact_metrics", "quiet_lightning", "progress_callback"]

#: the beginnings of Lightning's info messages that a greybox user cannot act on
NOISE = ("GPU available:", "TPU available:", "HPU available:", "IPU available:", "LOCAL_RANK:", "💡 Tip",
         "Seed set to", "You are using a CUDA device")


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def compact_metrics(metrics: dict[str, Any], monitor: str | None = None, limit: int = 2) -> dict[str, str]:
    """At most ``limit`` metrics for a bar: the training loss (as ``loss``), then ``monitor``, then others."""
    values = {k: v for k, v in metrics.items() if k != "v_num" and _number(v) is not None}
    order = [k for k in ("train_loss", "loss") if k in values]
    order += [k for k in ([monitor] if monitor else []) if k in values and k not in order]
    order += [k for k in values if k not in order]
    out = {}
    for key in order[:limit]:
        out["loss" if key == "train_loss" else key] = f"{_number(values[key]):.3f}"
    return out


class CompactProgressBar(TQDMProgressBar):
    """Lightning's tqdm bar with the loss and the monitored metric only (fits an 80-column terminal)."""

    def __init__(self, monitor: str | None = None, refresh_rate: int = 1) -> None:
        super().__init__(refresh_rate=refresh_rate)
        self.monitor = monitor

    def get_metrics(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> dict[str, Any]:
        return compact_metrics(super().get_metrics(trainer, pl_module), self.monitor)


class PlainProgress(ProgressBar):
    """One plain line every ``every_n_steps`` training steps and one after each epoch.

    For output that is not a terminal: each line stands alone (no carriage returns).

    Args:
        every_n_steps: training steps between two lines; ``None``: about ``lines_per_epoch``
            lines per epoch, at multiples of the trainer's ``log_every_n_steps``.
        stream: where to write (default: standard output).
        lines_per_epoch: how many step lines an epoch gets when ``every_n_steps`` is ``None``.
    """

    def __init__(self, every_n_steps: int | None = None, stream: TextIO | None = None,
                 lines_per_epoch: int = 10) -> None:
        super().__init__()
        self.every_n_steps = max(1, int(every_n_steps)) if every_n_steps else None
        self.lines_per_epoch = max(1, lines_per_epoch)
        self._interval = self.every_n_steps or 1
        self.stream = stream
        self._enabled = True
        self._epoch_start = 0.0

    def disable(self) -> None:
        self._enabled = False

    def enable(self) -> None:
        self._enabled = True

    @staticmethod
    def format_metrics(metrics: dict[str, Any]) -> str:
        """``name value`` pairs, 4 significant digits, without Lightning's ``v_num``."""
        parts = []
        for key, value in metrics.items():
            number = _number(value)
            if key != "v_num" and number is not None:
                parts.append(f"{key} {number:.4g}")
        return "  ".join(parts)

    def _say(self, line: str) -> None:
        if self._enabled and self.trainer.is_global_zero:
            print(line, file=self.stream or sys.stdout, flush=True)

    def _epoch(self, trainer: pl.Trainer) -> str:
        last = f"/{trainer.max_epochs - 1}" if trainer.max_epochs and trainer.max_epochs > 0 else ""
        return f"epoch {trainer.current_epoch}{last}"

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._epoch_start = time.monotonic()
        self._interval = self.every_n_steps or self.auto_interval(self.total_train_batches, trainer.log_every_n_steps,
                                                                  self.lines_per_epoch)

    @staticmethod
    def auto_interval(total: float, log_every_n_steps: int, lines: int = 10) -> int:
        """Steps between two lines: about ``lines`` per epoch of ``total`` steps, a multiple of ``log_every_n_steps``.

        >>> PlainProgress.auto_interval(255, 10), PlainProgress.auto_interval(47, 10), PlainProgress.auto_interval(500, 10)
        (30, 10, 50)
        """
        base = max(1, int(log_every_n_steps or 1))
        if not isinstance(total, (int, float)) or math.isinf(total) or total <= 0:
            return base * 10
        return max(base, math.ceil(math.ceil(total / lines) / base) * base)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        step = batch_idx + 1
        if step % self._interval:
            return
        total = self.total_train_batches
        elapsed = time.monotonic() - self._epoch_start
        of = f"/{int(total)}" if isinstance(total, int) or (isinstance(total, float) and total != float("inf")) else ""
        eta = ""
        if of and step < total:
            eta = f"  eta {_clock(elapsed / step * (total - step))}"
        metrics = self.format_metrics({k: v for k, v in self.get_metrics(trainer, pl_module).items()
                                       if not k.startswith("val")})
        self._say(f"{self._epoch(trainer)}  step {step}{of}  {elapsed / step:.2f} s/step{eta}  {metrics}".rstrip())

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # validation of the epoch has run: its metrics are in the line
        metrics = self.format_metrics(self.get_metrics(trainer, pl_module))
        self._say(f"{self._epoch(trainer)}  done in {_clock(time.monotonic() - self._epoch_start)}  {metrics}".rstrip())


def _clock(seconds: float) -> str:
    """``83`` -> ``1:23``; ``3725`` -> ``1:02:05``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_callback(monitor: str | None, every_n_steps: int | None = None, stream: TextIO | None = None) -> ProgressBar:
    """``CompactProgressBar`` on a terminal, ``PlainProgress`` otherwise."""
    out = stream or sys.stdout
    is_terminal = hasattr(out, "isatty") and out.isatty()
    return CompactProgressBar(monitor) if is_terminal else PlainProgress(every_n_steps, stream)


class _DropNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - never lose a record because of the filter
            return True
        if message.startswith("[rank: "):  # a message of one process of a distributed run
            message = message.split("] ", 1)[-1]
        return not message.lstrip().startswith(NOISE)


_FILTER = _DropNoise()
_PACKAGES = ("pytorch_lightning", "lightning_fabric", "lightning", "lightning.pytorch", "lightning.fabric")


def quiet_lightning() -> None:
    """Drop Lightning's messages and library warnings that a greybox user cannot act on.

    Library deprecation and future warnings, and Lightning's "possible user warnings"
    (few data loader workers, a logging interval above the batches of a short run), are
    ignored; greybox's own warnings still show.
    """
    for name in list(logging.root.manager.loggerDict) + list(_PACKAGES):
        if name.split(".")[0] in ("pytorch_lightning", "lightning_fabric", "lightning"):
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
            for handler in logger.handlers:
                if _FILTER not in handler.filters:
                    handler.addFilter(_FILTER)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        from lightning_fabric.utilities.warnings import PossibleUserWarning
    except ImportError:  # pragma: no cover - older Lightning
        PossibleUserWarning = None
    if PossibleUserWarning is not None:
        warnings.filterwarnings("ignore", category=PossibleUserWarning)
    # internal to the libraries: nothing in a config changes them
    for message in (r".*LeafSpec.*", r".*TypedStorage is deprecated.*", r".*does not have many workers.*",
                    r".*`resume_download` is deprecated.*", r".*The dirpath has changed from.*",
                    r".*encoder_attention_mask.*is deprecated.*", r".*index_reduce\(\) is in beta.*"):
        warnings.filterwarnings("ignore", message=message)
