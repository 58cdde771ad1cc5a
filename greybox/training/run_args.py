"""What ``greybox fit|validate|test|predict`` does to its arguments before Lightning sees them.

* A checkpoint (``--ckpt_path``, on the command line or in a ``--config`` file) is read
  with ``greybox.training.checkpoints.load_checkpoint`` first, so an unsafe, corrupt or
  missing file stops the run with a ``CheckpointError`` before anything is built, and
  Lightning then reads it with ``weights_only=True`` too (``--weights_only=true`` is
  appended; ``SAFE_GLOBALS`` are allowed to ``torch.load``).
* ``greybox predict --output FILE`` becomes a ``PredictionWriter`` callback
  (``greybox.training.predictions``).

Example:
    >>> prepare_lightning_args(["predict", "--config", "c.yaml", "--output", "p.jsonl"])[-2:]
    ['--weights_only=true', '--trainer.callbacks+={"class_path": "greybox.training.predictions.PredictionWriter", "init_args": {"path": "p.jsonl"}}']
    >>> prepare_lightning_args(["fit", "--help"])
    ['fit', '--help']
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

from ..errors import ConfigError

__all__ = ["prepare_lightning_args", "checkpoint_argument"]

_SUBCOMMANDS = ("fit", "validate", "test", "predict")
#: values of --ckpt_path that Lightning resolves itself (a ModelCheckpoint's best or last file)
_SPECIAL = ("best", "last", "hpc", "registry")


def checkpoint_argument(args: list[str]) -> Optional[str]:
    """The ``ckpt_path`` the arguments give: the last of ``--ckpt_path`` and the ``ckpt_path`` of ``--config`` files.

    >>> checkpoint_argument(["--ckpt_path", "a.ckpt", "--ckpt_path=b.ckpt"])
    'b.ckpt'
    >>> checkpoint_argument(["--trainer.max_epochs=1"]) is None
    True
    """
    import yaml

    found: Optional[str] = None
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if not eq and i + 1 < len(args):
            value = args[i + 1]
        if name in ("--config", "-c") and (eq or i + 1 < len(args)):
            path = Path(value)
            if path.is_file():
                try:
                    data = yaml.safe_load(path.read_text(encoding="utf-8"))
                except (yaml.YAMLError, UnicodeDecodeError):
                    data = None  # Lightning reports a broken config itself
                if isinstance(data, dict) and "ckpt_path" in data:
                    found = None if data["ckpt_path"] is None else str(data["ckpt_path"])
        elif name == "--ckpt_path" and (eq or i + 1 < len(args)):
            found = None if value in ("null", "None", "") else value
        i += 1 if eq or name not in ("--config", "-c", "--ckpt_path") else 2
    return found


def prepare_lightning_args(argv: Optional[list[str]]) -> list[str]:
    """The arguments of a Lightning sub-command, checked and completed (see the module docstring).

    Args:
        argv: ``[subcommand, *options]`` (default: ``sys.argv[1:]``).

    Returns:
        The arguments to give ``LightningCLI``.

    Raises:
        CheckpointError: the checkpoint is missing, unreadable or unsafe.
        ConfigError: ``--output`` is given to another sub-command than ``predict`` or names
            a file type other than ``.csv`` / ``.jsonl``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in _SUBCOMMANDS or any(a in ("-h", "--help") for a in args[1:]):
        return args
    subcommand, rest = args[0], args[1:]
    output = None
    kept = []
    i = 0
    while i < len(rest):
        name, eq, value = rest[i].partition("=")
        if name == "--output":
            if not eq:
                if i + 1 >= len(rest):
                    raise ConfigError("--output needs a file name", hint="e.g. --output predictions.jsonl")
                value = rest[i + 1]
                i += 1
            output = value
        else:
            kept.append(rest[i])
        i += 1
    if output is not None and subcommand != "predict":
        raise ConfigError(f"--output is an option of `greybox predict`, not of `greybox {subcommand}`",
                          hint="run greybox predict --config CONFIG --ckpt_path CKPT --output predictions.jsonl")
    ckpt = checkpoint_argument(kept)
    if ckpt is not None and not (ckpt.split(":")[0] in _SPECIAL and not Path(ckpt).exists()):
        from .checkpoints import check_checkpoint

        check_checkpoint(ckpt)
    _allow_safe_globals()
    kept.append("--weights_only=true")
    if output is not None:
        from .predictions import output_format

        output_format(output)  # a wrong extension fails now, not after predicting
        writer = {"class_path": "greybox.training.predictions.PredictionWriter", "init_args": {"path": output}}
        kept.append("--trainer.callbacks+=" + json.dumps(writer))
    return [subcommand, *kept]


def _allow_safe_globals() -> None:
    # Lightning's own torch.load(weights_only=True) must read what load_checkpoint accepts
    import torch

    from .checkpoints import safe_globals

    torch.serialization.add_safe_globals(safe_globals())
