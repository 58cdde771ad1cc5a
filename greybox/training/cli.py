"""``greybox fit|validate|test|predict``: the Lightning CLI over ``ReasoningTask`` and any data module.

The model section holds ``ReasoningTask``'s arguments, or another LightningModule's as
``class_path`` + ``init_args`` (e.g. the neural baseline of ``experiments/kinship/clutrr_baseline.yaml``).

Configuration is the constructors' typed arguments (LightningCLI / jsonargparse):
``greybox fit --config experiments/digit_sum/sum2_digits.yaml --trainer.max_epochs=3``;
``--print_config`` shows every value.

Relative paths in a config file are relative to the project root; on the command line,
to the current directory (``greybox.training.config_files``). A run writes only under
``trainer.default_root_dir``, one ``version_N`` folder per fit, and evaluation output
goes with the run it evaluates (``greybox.training.runs``). After ``fit`` one summary
names the best monitored metric, its checkpoint and the ``greybox test`` command to run.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

__all__ = ["lightning_main", "GreyboxCLI", "per_loader_summary"]


def _cli_class():
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint
    from pytorch_lightning.callbacks.progress import ProgressBar
    from pytorch_lightning.cli import LightningCLI

    from ..errors import ConfigError
    from . import config_files, runs
    from .module import ReasoningTask
    from .progress import progress_callback, quiet_lightning

    class GreyboxCLI(LightningCLI):
        """LightningCLI over any LightningModule (``ReasoningTask`` unless a ``class_path`` says otherwise).

        Relative paths in config files are relative to the project root (see
        ``greybox.training.config_files``); a run writes only under ``trainer.default_root_dir``
        (see ``greybox.training.runs``); a mistake in a config is a ``ConfigError``.
        """

        def __init__(self, args=None, run: bool = True) -> None:
            from ..cli import debug_enabled

            if not debug_enabled():
                quiet_lightning()
            args = list(sys.argv[1:] if args is None else args)
            self.cwd = os.getcwd()
            self.config_paths = config_files.config_files(args)
            self.project_root = config_files.project_root(self.config_paths[0] if self.config_paths else self.cwd)
            self.command_line = config_files.absolute_cli_paths(args, self.cwd)
            super().__init__(
                pl.LightningModule,
                pl.LightningDataModule,
                subclass_mode_model=True,
                subclass_mode_data=True,
                args=self.command_line,
                run=run,
                save_config_kwargs={"overwrite": True},
                auto_configure_optimizers=False,
                parser_kwargs={"exit_on_error": False,
                               **({"parser_mode": "omegaconf"} if _has_omegaconf() else {})},
            )

        def _parse_ckpt_path(self) -> None:
            # LightningCLI's own (the checkpoint's hyper-parameters are read back into the model's
            # config), except that one the model class no longer takes (an argument removed since the
            # checkpoint was written) is left out with a warning naming it, instead of stopping the
            # run with "unexpected keyword argument"
            import torch

            subcommand = self.config.get("subcommand")
            ckpt_path = self.config[subcommand].get("ckpt_path") if subcommand else None
            if not (ckpt_path and Path(ckpt_path).is_file()):
                return
            hparams = dict(torch.load(ckpt_path, weights_only=True, map_location="cpu").get("hyper_parameters", {}))
            hparams.pop("_instantiator", None)
            if not hparams:
                return
            if "_class_path" in hparams:
                class_path = hparams.pop("_class_path")
                stale = runs.stale_arguments(class_path, hparams)
                if stale:
                    warnings.warn(f"{ckpt_path} was written by a {class_path.rsplit('.', 1)[-1]} that took "
                                  f"{', '.join(stale)}; this one does not: left out", stacklevel=1)
                hparams = {"class_path": class_path,
                           "dict_kwargs": {k: v for k, v in hparams.items() if k not in stale}}
            self.config = self.parser.parse_object({subcommand: {"model": hparams}}, self.config)

        def add_arguments_to_parser(self, parser) -> None:
            # a model section without class_path holds ReasoningTask's arguments
            parser.set_defaults({"model": {"class_path": f"{ReasoningTask.__module__}.{ReasoningTask.__qualname__}"}})

        # ---------------------------------------------------------------- reading the config

        def parse_arguments(self, parser, args) -> None:
            from argparse import ArgumentError

            for file in self.config_paths:
                config_files.check_yaml(file)
            try:
                super().parse_arguments(parser, args)
            except ArgumentError as err:
                first = self.command_line[0] if self.command_line else ""
                command = first if first in self.subcommands() else "fit"
                raise config_files.translate_argument_error(str(err), self.command_line, self.config_paths,
                                                            command) from err

        def _section(self):
            return self.config[self.subcommand] if self.subcommand else self.config

        def before_instantiate_classes(self) -> None:
            section = self._section()
            config_files.resolve_paths(section, self.project_root)
            config_files.check_inputs(section, self.config_paths, self.project_root, self.command_line)
            ckpt = section.get("ckpt_path")
            if ckpt and str(ckpt) not in runs.CKPT_CHOICES and not os.path.isfile(ckpt):
                root = section.trainer.get("default_root_dir") or self.cwd
                newest = runs.newest_checkpoint(root)
                raise ConfigError(f"checkpoint not found: {ckpt}",
                                  hint=f"the newest checkpoint under {runs.shown_path(root)} is "
                                  f"{runs.shown_path(newest)}" if newest else
                                  f"no checkpoint under {runs.shown_path(root)}: checkpoints are written to "
                                  "<default_root_dir>/version_N/checkpoints/")

        def instantiate_classes(self) -> None:
            # LightningCLI.instantiate_classes, with the constructors given the input paths as a user writes them;
            # self.config (saved as the run's config.yaml) keeps them absolute
            self.config_init = self.parser.instantiate_classes(config_files.inputs_as_given(self.config, self.cwd))
            self.datamodule = self._get(self.config_init, "data")
            self.model = self._get(self.config_init, "model")
            self._add_configure_optimizers_method_to_model(self.subcommand)
            self.trainer = self.instantiate_trainer()

        # ---------------------------------------------------------------- where the run writes, what it shows

        def instantiate_trainer(self, **kwargs):
            trainer_config = self._get(self.config_init, "trainer", default={})
            # without a default_root_dir, where Lightning's own loggers would write
            root = trainer_config.get("default_root_dir") or os.path.join(self.cwd, "lightning_logs")
            if trainer_config.get("logger") in (None, True) and "logger" not in kwargs:
                stage = self.subcommand or "fit"
                if stage == "fit":
                    kwargs["logger"] = runs.default_loggers(root, runs.next_version(root))
                else:
                    folder = runs.evaluation_folder(stage, root, self._section().get("ckpt_path"))
                    kwargs["logger"] = runs.default_loggers(folder, runs.next_version(folder))
            callbacks = list(trainer_config.get("callbacks") or [])
            if trainer_config.get("enable_progress_bar") in (None, True) and not any(
                    isinstance(c, ProgressBar) for c in callbacks):
                monitor = next((c.monitor for c in callbacks if isinstance(c, ModelCheckpoint) and c.monitor), None)
                kwargs["callbacks"] = [*callbacks, progress_callback(monitor)]
            return super().instantiate_trainer(**kwargs)

        def after_fit(self) -> None:
            trainer = self.trainer
            log_dir = trainer.log_dir  # every process must ask: it is broadcast from rank 0
            if not trainer.is_global_zero:
                return
            checkpoint = trainer.checkpoint_callback
            saved = Path(log_dir or trainer.default_root_dir) / "config.yaml"
            print(runs.fit_summary(
                monitor=getattr(checkpoint, "monitor", None),
                best_score=getattr(checkpoint, "best_model_score", None),
                best_path=getattr(checkpoint, "best_model_path", None) or None,
                last_path=getattr(checkpoint, "last_model_path", None) or None,
                configs=[str(saved)] if saved.is_file() else self.config_paths,
                log_dir=log_dir, cwd=self.cwd), flush=True)

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
    """Run a Lightning sub-command; a mistake in the input prints one line and its hint, and returns 2.

    With ``GREYBOX_DEBUG=1`` (``greybox --debug``) the mistake raises, with its traceback.
    """
    from ..cli import debug_enabled, report_error, user_error
    from .run_args import prepare_lightning_args

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        with warnings.catch_warnings():
            # `greybox` passes its own arguments on; they are sys.argv's, not a second set
            warnings.filterwarnings("ignore", message=".*args parameter is intended to run from within Python.*")
            _cli_class()(args=prepare_lightning_args(argv))  # checked checkpoint, predict --output
    except Exception as exc:  # noqa: BLE001 - a user's mistake is one line; anything else keeps its traceback
        err = user_error(exc)
        if err is None or debug_enabled():
            raise
        return report_error(err)
    finally:
        _release_process_group()
    return 0


def _release_process_group() -> None:
    """Destroy the process group a DDP run leaves behind, so that its gloo threads are joined before the
    interpreter exits (left to the exit, a rank that trained to the end can still abort with
    "terminate called without an active exception"). Nothing to do without one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
