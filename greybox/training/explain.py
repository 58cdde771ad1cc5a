"""``greybox explain``: the decision trace of test examples of a trained model.

    greybox explain --config experiments/digit_sum/sum2_digits.yaml --ckpt_path CKPT --index 3
    greybox explain --config CFG --ckpt_path CKPT --index 3 --format json
    greybox explain --config CFG --ckpt_path CKPT --index 3 --why-not 9
    greybox explain --config CFG --ckpt_path CKPT --split test --limit 200 --format html -o traces.html
    greybox explain --config experiments/kinship/clutrr.yaml --ckpt_path CKPT --dataloader 8 --index 12
    greybox explain --config runs/kinship/clutrr/config.yaml --ckpt_path CKPT --index 3 --why-not aunt --trees

The model and data come from the same config as ``greybox fit`` (or the config.yaml a
run saved); the weights from the checkpoint. Unknown options are passed on to the config (e.g. ``--data.data_dir``).

A split with several loaders (the kinship test split has one per chain length k, in
the order of ``test_ks``) is explained one loader at a time: ``--dataloader N`` picks
the N-th (default 0), and ``--index`` counts within it. Passing the config a single
loader works too, e.g. ``--data.init_args.test_ks=[10]``.

When the data module has ``describe(split, index, dataloader)`` (see
``greybox.trace.describe``), traces show the example's text, name its constants
(people by their names, answers by their words; ``--why-not`` takes the word) and
read each proof as a chain; the text format then draws the derivation trees only
with ``--trees``. Each proof search has ``--proof-budget`` seconds (see
``greybox.trace.proof_search``); a search cut short says so in the trace's notes.
"""

from __future__ import annotations

import argparse
import warnings
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

__all__ = ["main", "load_task", "example_batch", "describe_example"]


def load_task(config: str, ckpt_path: str | None, overrides: list[str]):
    """``(task, datamodule)`` built from a Lightning config, with the checkpoint's weights loaded."""
    import torch

    from ..errors import ConfigError
    from .cli import _cli_class

    if not Path(config).is_file():
        raise ConfigError(f"config file '{config}' does not exist", hint="pass the YAML used with `greybox fit`")
    with _without_run_options(Path(config)) as usable, warnings.catch_warnings():
        # the options come from `greybox explain`'s own parser, not from sys.argv
        warnings.filterwarnings("ignore", message=".*args parameter is intended to run from within Python.*")
        cli = _cli_class()(args=["--config", str(usable), *overrides], run=False)
    task, dm = cli.model, cli.datamodule
    if ckpt_path:
        from .checkpoints import load_weights

        load_weights(task, ckpt_path, [config])
    return task, dm


#: options of `greybox fit|test|...` that the config a run saves (its config.yaml) holds, but building a model does not take
_RUN_OPTIONS = ("ckpt_path", "weights_only", "verbose", "return_predictions")


@contextmanager
def _without_run_options(config: Path) -> Iterator[Path]:
    """The config, or a temporary copy without the run's own options (a run's saved ``config.yaml``)."""
    import tempfile

    import yaml

    try:
        data = yaml.safe_load(config.read_text())
    except yaml.YAMLError:
        data = None  # let the CLI report the problem
    if not isinstance(data, dict) or not any(key in data for key in _RUN_OPTIONS):
        yield config
        return
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / config.name
        copy.write_text(yaml.safe_dump({k: v for k, v in data.items() if k not in _RUN_OPTIONS}, sort_keys=False))
        yield copy


def _task_name(dm) -> str:
    parts = type(dm).__module__.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "tasks" else type(dm).__name__


def _loaders(dm, split: str) -> list:
    dm.setup({"train": "fit", "val": "validate", "test": "test"}.get(split, "test"))
    loaders = getattr(dm, f"{split}_dataloader")()
    if isinstance(loaders, dict):
        return list(loaders.values())
    return list(loaders) if isinstance(loaders, (list, tuple)) else [loaders]


def example_batch(dm, split: str, index: int, dataloader: int = 0):
    """``(batch, n)``: example ``index`` of loader ``dataloader`` of ``split`` as a batch of one, and the loader's size.

    The example is collated by the loader's own ``collate_fn``, as in training.

    Raises:
        ConfigError: the loader or the index does not exist.
    """
    from ..errors import ConfigError

    loaders = _loaders(dm, split)
    if not 0 <= dataloader < len(loaders):
        raise ConfigError(f"--dataloader {dataloader}: the {split} split has {len(loaders)} loader(s)",
                          hint=f"pick a loader 0..{len(loaders) - 1}")
    loader = loaders[dataloader]
    ds = loader.dataset
    if not 0 <= index < len(ds):
        raise ConfigError(f"--index {index} is outside the {split} split (0..{len(ds) - 1})", hint="pick an index in range")
    collate = getattr(loader, "collate_fn", None)
    if collate is None:
        from torch.utils.data import default_collate as collate
    return collate([ds[index]]), len(ds)


def _example(dm, split: str, index: int, dataloader: int = 0):
    return example_batch(dm, split, index, dataloader)


def describe_example(dm, split: str, index: int, dataloader: int = 0):
    """The data module's description of the example (``describe``), or None when it has none."""
    describe = getattr(dm, "describe", None)
    return describe(split, index, dataloader) if callable(describe) else None


def main(argv: list[str] | None = None) -> int:
    from ..errors import GreyboxError

    ap = argparse.ArgumentParser(prog="greybox explain", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, help="the experiment's YAML config")
    ap.add_argument("--ckpt_path", help="checkpoint with the trained weights")
    ap.add_argument("--index", type=int, default=0, help="example index in the split (single-trace formats)")
    ap.add_argument("--split", default="test", choices=["train", "val", "test"])
    ap.add_argument("--limit", type=int, default=1, help="number of examples (from --index on) to trace")
    ap.add_argument("--format", default="text", choices=["text", "json", "dot", "html"])
    ap.add_argument("-k", type=int, default=3, help="proofs per answer")
    ap.add_argument("--dataloader", type=int, default=None,
                    help="which loader of a split that has several (e.g. the kinship test loader of one k), from 0")
    ap.add_argument("--why-not", dest="why_not", help="an answer that was not predicted: what would make it win")
    ap.add_argument("--trees", action="store_true",
                    help="text: also draw the derivation tree of proofs shown as a chain (json/html/dot always carry it)")
    ap.add_argument("--proof-budget", dest="proof_budget", type=float, default=3.0,
                    help="seconds each proof search may take (default 3); a search cut short says so in the trace")
    ap.add_argument("-o", "--output", help="write to this file instead of standard output")
    args, overrides = ap.parse_known_args(argv)
    try:
        import torch

        from ..trace import render_dot, render_html, render_text
        from ..trace.schema import TraceBatch
        from .traces import build_trace

        task, dm = load_task(args.config, args.ckpt_path, overrides)
        loader = args.dataloader if args.dataloader is not None else 0
        if args.dataloader is None and len(_loaders(dm, args.split)) > 1:
            print(f"note: the {args.split} split has {len(_loaders(dm, args.split))} loaders; explaining loader 0 "
                  "(pick another with --dataloader N)", file=sys.stderr)
        traces = []
        for i in range(args.index, args.index + max(1, args.limit)):
            example, n = example_batch(dm, args.split, i, loader)
            traces.append(build_trace(task, example, task_name=_task_name(dm), split=args.split, index=i,
                                      k=args.k, why_not_answer=args.why_not,
                                      description=describe_example(dm, args.split, i, loader),
                                      proof_budget_s=args.proof_budget))
            if i + 1 >= n:
                break
        if args.format == "html":
            text = render_html(traces, title=f"greybox traces: {Path(args.config).stem}")
        elif args.format == "json":
            text = (traces[0] if len(traces) == 1 else TraceBatch(traces=traces)).model_dump_json(indent=2)
        elif args.format == "dot":
            text = "\n".join(render_dot(t) for t in traces)
        else:
            text = "\n\n".join(render_text(t, plain=not sys.stdout.isatty() or bool(args.output), trees=args.trees)
                                 for t in traces)
        if args.output:
            from ..kb.atomic import atomic_write_text

            atomic_write_text(Path(args.output), text + "\n")
            print(f"wrote {len(traces)} trace{'s' if len(traces) != 1 else ''} to {args.output}", file=sys.stderr)
        else:
            print(text)
    except GreyboxError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0
