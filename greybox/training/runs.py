"""Where a Lightning command writes: one folder per run under ``trainer.default_root_dir``.

``default_root_dir`` alone decides where a run writes. Each ``greybox fit`` is a new
folder ``<default_root_dir>/version_N`` that holds everything of that run::

    runs/digit_sum/sum2_digits/version_0/
        config.yaml                 the full config, enough to rerun or test the run
        checkpoints/last.ckpt       and the best ones (ModelCheckpoint)
        metrics.csv  hparams.yaml   CSV logger
        events.out.tfevents.*       TensorBoard scalars (when tensorboard is installed)
        test/version_0/             `greybox test --ckpt_path .../version_0/checkpoints/x.ckpt`

``greybox test|validate|predict`` with a ``--ckpt_path`` inside a run's ``checkpoints``
folder write under that run (``<run>/test/version_M``); without one, under
``<default_root_dir>/test/version_M``. A config that names its own loggers
(``trainer.logger``) keeps them as written.

Example:
    >>> import tempfile
    >>> root = Path(tempfile.mkdtemp())
    >>> (root / "version_0").mkdir(); (root / "version_3").mkdir(); (root / "version_x").mkdir()
    >>> next_version(root)
    4
    >>> run_of_checkpoint(root / "version_3" / "checkpoints" / "last.ckpt") == root / "version_3"
    True
    >>> run_of_checkpoint(root / "model.ckpt") is None
    True
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any, Sequence

__all__ = ["next_version", "run_of_checkpoint", "default_loggers", "evaluation_folder", "shown_path",
           "fit_summary", "newest_checkpoint", "stale_arguments"]

#: ``ckpt_path`` values that Lightning reads as a choice, not a file
CKPT_CHOICES = ("best", "last", "hpc", "registry")


def next_version(folder: str | os.PathLike) -> int:
    """The first ``N`` above every ``version_N`` folder in ``folder`` (0 when there is none)."""
    path = Path(folder)
    taken = [int(p.name[len("version_"):]) for p in path.glob("version_*")
             if p.is_dir() and p.name[len("version_"):].isdigit()] if path.is_dir() else []
    return max(taken, default=-1) + 1


def run_of_checkpoint(ckpt_path: str | os.PathLike | None) -> Path | None:
    """The run folder holding a checkpoint (``<run>/checkpoints/x.ckpt``), or None."""
    if not ckpt_path or str(ckpt_path) in CKPT_CHOICES:
        return None
    path = Path(ckpt_path).resolve()
    return path.parent.parent if path.parent.name == "checkpoints" else None


def evaluation_folder(stage: str, root: str | os.PathLike, ckpt_path: str | None) -> Path:
    """Where ``greybox <stage>`` logs: ``<run>/<stage>`` for a run's checkpoint, else ``<root>/<stage>``."""
    run = run_of_checkpoint(ckpt_path)
    return (run if run is not None else Path(root)) / stage


def _has_tensorboard() -> bool:
    import importlib.util

    return any(importlib.util.find_spec(name) is not None for name in ("tensorboard", "tensorboardX"))


def default_loggers(folder: str | os.PathLike, version: int) -> list:
    """A CSV logger and (when installed) a TensorBoard logger that both write in ``folder/version_<version>``."""
    from pytorch_lightning.loggers import CSVLogger, TensorBoardLogger

    loggers: list = [CSVLogger(save_dir=os.fspath(folder), name="", version=version)]
    if _has_tensorboard():
        loggers.append(TensorBoardLogger(save_dir=os.fspath(folder), name="", version=version,
                                         default_hp_metric=False))
    return loggers


def newest_checkpoint(root: str | os.PathLike) -> Path | None:
    """The most recently written ``.ckpt`` under ``root`` (None when there is none)."""
    path = Path(root)
    found = list(path.rglob("*.ckpt")) if path.is_dir() else []
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def shown_path(path: str | os.PathLike, cwd: str | os.PathLike | None = None) -> str:
    """``path`` relative to ``cwd`` when it lies below it, else absolute (for messages a user copies).

    >>> shown_path("/a/b/c.ckpt", "/a")
    'b/c.ckpt'
    >>> shown_path("/x/c.ckpt", "/a")
    '/x/c.ckpt'
    """
    absolute = Path(os.path.abspath(path))
    base = Path(os.path.abspath(cwd or os.getcwd()))
    try:
        return str(absolute.relative_to(base))
    except ValueError:
        return str(absolute)


def fit_summary(*, monitor: str | None, best_score: Any, best_path: str | None, last_path: str | None,
                configs: Sequence[str], log_dir: str | None, cwd: str | None = None) -> str:
    """The lines printed after ``greybox fit``: the best metric, the checkpoint, the command to test it.

    >>> print(fit_summary(monitor="val_acc", best_score=0.91234, best_path="/r/v0/checkpoints/e3.ckpt",
    ...                   last_path="/r/v0/checkpoints/last.ckpt", configs=["/r/v0/config.yaml"], log_dir="/r/v0",
    ...                   cwd="/r"))
    run:        v0
    best:       val_acc = 0.9123
    checkpoint: v0/checkpoints/e3.ckpt
    test it:    greybox test --config v0/config.yaml --ckpt_path v0/checkpoints/e3.ckpt
    """
    checkpoint = best_path or last_path
    lines = []
    if log_dir:
        lines.append(f"run:        {shown_path(log_dir, cwd)}")
    if monitor and best_score is not None:
        lines.append(f"best:       {monitor} = {float(best_score):.4f}")
    if checkpoint:
        lines.append(f"checkpoint: {shown_path(checkpoint, cwd)}")
        command = ["greybox", "test"]
        for config in configs:
            command += ["--config", shown_path(config, cwd)]
        command += ["--ckpt_path", shown_path(checkpoint, cwd)]
        lines.append(f"test it:    {shlex.join(command)}")
    else:
        lines.append("checkpoint: none was written (no ModelCheckpoint callback, or checkpointing is off)")
    return "\n".join(lines)


def stale_arguments(class_path: str, arguments: dict) -> list[str]:
    """The names in ``arguments`` that the class at ``class_path`` no longer takes.

    A checkpoint keeps the constructor arguments of the model that wrote it; an argument removed
    since then is stale. A class that takes ``**kwargs``, or cannot be imported, has none.

    >>> stale_arguments("greybox.training.module.ReasoningTask", {"lr": 0.1, "sparsity": None})
    ['sparsity']
    >>> stale_arguments("no.such.Class", {"x": 1})
    []
    """
    import inspect
    from pydoc import locate

    cls = locate(class_path)
    if not inspect.isclass(cls):
        return []
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return []
    return sorted(k for k in arguments if k not in params)
