"""``TraceWriter``: decision traces of a few validation examples after every n-th epoch.

Watching the traces of the same examples change while a model learns shows what the
loss alone does not: which readings the rules start to trust, which proofs take over,
which images stay misread. Enable it in an experiment config:

.. code-block:: yaml

    trainer:
      callbacks:
        - class_path: greybox.training.callbacks.TraceWriter
          init_args:
            every_n_epochs: 1
            n_examples: 8
            format: html          # or json (a TraceBatch)
            # dirpath: runs/digit_sum/traces   (default: <log dir>/traces)

Each write is one file per epoch, ``traces_epoch{E:03d}.json`` (or ``.html``), replaced
atomically. Tracing never stops training: an error while tracing is logged as a warning.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import pytorch_lightning as pl
import torch

from ..errors import ConfigError

__all__ = ["TraceWriter"]

log = logging.getLogger(__name__)


def _first_loader(loaders: Any) -> Any:
    """The first data loader of what Lightning holds (a loader, a list or a dict of them)."""
    if isinstance(loaders, (list, tuple)):
        return loaders[0] if loaders else None
    if isinstance(loaders, dict):
        return next(iter(loaders.values()), None)
    return loaders


def _to_device(example: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in example.items()}


class TraceWriter(pl.Callback):
    """Write the decision traces of the first validation examples after every n-th epoch.

    Only global rank 0 writes; the other processes of a distributed run skip tracing.

    Args:
        every_n_epochs: trace after validation epochs ``n - 1``, ``2n - 1``, ... (counting from 0).
        n_examples: how many examples, from the start of the validation set.
        split: the split to trace (the validation split).
        format: ``'json'`` (a ``TraceBatch``) or ``'html'`` (a self-contained page).
        dirpath: folder for the files; default ``<trainer.log_dir>/traces`` (the logger's
            folder, or ``default_root_dir`` without a logger).

    Raises:
        ConfigError: a count is below 1, or ``split`` / ``format`` is unknown.

    Example:
        >>> TraceWriter(format="html").filename(3)
        'traces_epoch003.html'
        >>> TraceWriter(every_n_epochs=0)
        Traceback (most recent call last):
        ...
        greybox.errors.ConfigError: every_n_epochs must be at least 1, got 0
        hint: trace after every epoch with every_n_epochs: 1
    """

    def __init__(
        self,
        every_n_epochs: int = 1,
        n_examples: int = 8,
        split: Literal["val"] = "val",
        format: Literal["json", "html"] = "json",
        dirpath: str | None = None,
    ) -> None:
        super().__init__()
        if every_n_epochs < 1:
            raise ConfigError(f"every_n_epochs must be at least 1, got {every_n_epochs}",
                              hint="trace after every epoch with every_n_epochs: 1")
        if n_examples < 1:
            raise ConfigError(f"n_examples must be at least 1, got {n_examples}",
                              hint="trace a few examples, e.g. n_examples: 8")
        if split != "val":
            raise ConfigError(f"TraceWriter traces the 'val' split, got split={split!r}",
                              hint="use split: val (the examples that validation already runs)")
        if format not in ("json", "html"):
            raise ConfigError(f"unknown trace format {format!r}", hint="use format: json or format: html")
        self.every_n_epochs = every_n_epochs
        self.n_examples = n_examples
        self.split = split
        self.format = format
        self.dirpath = dirpath
        self._folder: Path | None = Path(dirpath) if dirpath is not None else None
        #: the files written so far, in order
        self.written: list[Path] = []

    def filename(self, epoch: int) -> str:
        """The file name for ``epoch`` (0-based)."""
        return f"traces_epoch{epoch:03d}.{self.format}"

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        if self.dirpath is None:
            # trainer.log_dir broadcasts from rank 0: every process must ask, so ask here
            self._folder = Path(trainer.log_dir or trainer.default_root_dir) / "traces"

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or not trainer.is_global_zero:
            return
        epoch = trainer.current_epoch
        if (epoch + 1) % self.every_n_epochs:
            return
        try:
            path = self._write(trainer, pl_module, epoch)
        except Exception as err:  # noqa: BLE001 - a trace must never stop training
            log.warning("TraceWriter: no traces for epoch %d: %s: %s", epoch, type(err).__name__, err)
            return
        self.written.append(path)

    # ------------------------------------------------------------------ pieces

    def _loader(self, trainer: pl.Trainer) -> Any:
        loader = _first_loader(trainer.val_dataloaders)
        if loader is None and trainer.datamodule is not None:
            loader = _first_loader(trainer.datamodule.val_dataloader())
        if loader is None or not hasattr(loader, "dataset"):
            raise ConfigError("no validation data loader with a dataset to trace",
                              hint="give the trainer validation data, or remove the TraceWriter callback")
        return loader

    def _write(self, trainer: pl.Trainer, pl_module: pl.LightningModule, epoch: int) -> Path:
        from torch.utils.data import default_collate

        from ..kb.atomic import atomic_write_text
        from ..trace.render_html import render_html
        from ..trace.schema import TraceBatch
        from .explain import describe_example, task_name_of
        from .module import ReasoningTask
        from .traces import build_trace

        if not isinstance(pl_module, ReasoningTask):
            raise ConfigError(f"TraceWriter traces a ReasoningTask, not a {type(pl_module).__name__}",
                              hint="remove the TraceWriter callback for this model")
        loader = self._loader(trainer)
        dataset = loader.dataset
        collate = getattr(loader, "collate_fn", None) or default_collate  # the batches training sees
        task_name = task_name_of(trainer.datamodule) if trainer.datamodule is not None else type(pl_module).__name__
        was_training = pl_module.training
        traces = []
        try:
            # validation runs without autograd; attributions need it
            with torch.inference_mode(False), torch.enable_grad():
                for i in range(min(self.n_examples, len(dataset))):
                    example = _to_device(collate([dataset[i]]), pl_module.device)
                    description = describe_example(trainer.datamodule, "val", i) if trainer.datamodule is not None else None
                    traces.append(build_trace(pl_module, example, task_name=task_name, split=self.split, index=i,
                                              description=description))
        finally:
            pl_module.train(was_training)
        if self.format == "html":
            text = render_html(traces, title=f"greybox traces: {task_name}, epoch {epoch}")
        else:
            text = TraceBatch(traces=traces).model_dump_json(indent=2)
        assert self._folder is not None, "setup() sets the folder"
        self._folder.mkdir(parents=True, exist_ok=True)
        path = self._folder / self.filename(epoch)
        atomic_write_text(path, text + "\n")
        return path

    def __repr__(self) -> str:
        return (f"TraceWriter(every_n_epochs={self.every_n_epochs}, n_examples={self.n_examples}, "
                f"split={self.split!r}, format={self.format!r}, dirpath={self.dirpath!r})")
