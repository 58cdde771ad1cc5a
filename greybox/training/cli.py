"""``greybox fit|validate|test|predict``: the Lightning CLI over ``ReasoningTask`` and any data module.

The model section holds ``ReasoningTask``'s arguments, or another LightningModule's as
``class_path`` + ``init_args`` (e.g. the neural baseline of ``experiments/kinship/clutrr_baseline.yaml``).

Configuration is the constructors' typed arguments (LightningCLI / jsonargparse):
``greybox fit --config experiments/digit_sum/sum2_digits.yaml --trainer.max_epochs=3``;
``--print_config`` shows every value.
"""

from __future__ import annotations

import os
import warnings
import sys

__all__ = ["lightning_main", "GreyboxCLI", "per_loader_summary"]


def _cli_class():
    import pytorch_lightning as pl
    from pytorch_lightning.cli import LightningCLI

    from .module import ReasoningTask

    class GreyboxCLI(LightningCLI):
        """LightningCLI over any LightningModule (``ReasoningTask`` unless a ``class_path`` says otherwise)."""

        def __init__(self, args=None, run: bool = True) -> None:
            super().__init__(
                pl.LightningModule,
                pl.LightningDataModule,
                subclass_mode_model=True,
                subclass_mode_data=True,
                args=args,
                run=run,
                save_config_kwargs={"overwrite": True},
                auto_configure_optimizers=False,
                parser_kwargs={"parser_mode": "omegaconf"} if _has_omegaconf() else None,
            )

        def add_arguments_to_parser(self, parser) -> None:
            # a model section without class_path holds ReasoningTask's arguments
            parser.set_defaults({"model": {"class_path": f"{ReasoningTask.__module__}.{ReasoningTask.__qualname__}"}})

        def after_test(self) -> None:
            # several named test loaders (one per story length): one line per loader after Lightning's tables
            summary = per_loader_summary({k: float(v) for k, v in self.trainer.callback_metrics.items()})
            if summary:
                print(summary)

    return GreyboxCLI


def per_loader_summary(metrics: dict[str, float], stage: str = "test") -> str:
    """Metrics logged per named loader (``test_acc/k2``), one line per loader; "" when there are none.

    >>> print(per_loader_summary({"test_acc/k2": 0.92, "test_loss/k2": 1.07, "test_acc/k10": 0.47, "val_acc": 0.9}))
    test  acc    loss
    k2    0.920  1.070
    k10   0.470  -
    """
    rows: dict[str, dict[str, float]] = {}
    for key, value in metrics.items():
        name, _, loader = key.partition("/")
        if loader and name.startswith(f"{stage}_"):
            rows.setdefault(loader, {})[name[len(stage) + 1:]] = value
    if not rows:
        return ""
    columns = sorted({c for row in rows.values() for c in row})
    loaders = sorted(rows, key=lambda n: (len(n), n))  # k2 before k10
    width = max(len(stage), *map(len, loaders)) + 2
    lines = [stage.ljust(width) + "  ".join(c.ljust(5) for c in columns)]
    for loader in loaders:
        cells = [f"{rows[loader][c]:.3f}" if c in rows[loader] else "-".ljust(5) for c in columns]
        lines.append(loader.ljust(width) + "  ".join(cells))
    return "\n".join(line.rstrip() for line in lines)


def _has_omegaconf() -> bool:
    try:
        import omegaconf  # noqa: F401
    except ImportError:
        return False
    return True


def __getattr__(name: str):
    if name == "GreyboxCLI":
        return _cli_class()
    raise AttributeError(name)


def lightning_main(argv: list[str] | None = None) -> int:
    """Run a Lightning sub-command; user errors print a message and return 2."""
    from ..errors import GreyboxError
    from .run_args import prepare_lightning_args

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        with warnings.catch_warnings():
            # `greybox` passes its own arguments on; they are sys.argv's, not a second set
            warnings.filterwarnings("ignore", message=".*args parameter is intended to run from within Python.*")
            _cli_class()(args=prepare_lightning_args(argv))  # checked checkpoint, predict --output
    except GreyboxError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
