"""``greybox explain``: the decision trace of test examples of a trained model.

    greybox explain --config experiments/digit_sum/sum2_digits.yaml --ckpt_path CKPT --index 3
    greybox explain --config experiments/digit_sum/sum2_digits.yaml --ckpt_path CKPT --index 3 7 12 --format json
    greybox explain --config experiments/digit_sum/sum2_digits.yaml --ckpt_path CKPT --index 3 --why-not 9
    greybox explain --config experiments/digit_sum/sum2_digits.yaml --ckpt_path CKPT --limit 200 --wrong-only --format html -o wrong.html
    greybox explain --config experiments/kinship/clutrr.yaml --ckpt_path CKPT --dataloader 8 --index 12
    greybox explain --config RUN/config.yaml --ckpt_path RUN/checkpoints/last.ckpt --index 3 --why-not aunt --trees

CKPT is a checkpoint that ``greybox fit`` wrote, RUN the folder of that run
(``runs/<task>/<config>/version_<n>``), where the run also saved its exact config as
``config.yaml``. The model and data come from the configs (several ``--config`` files
are merged in order, as with ``greybox fit``), the weights from the checkpoint, which is
read without running any code it might hold (``greybox.training.checkpoints``). Unknown
options are passed on to the config (e.g. ``--data.init_args.test_examples=50``).

Without ``--ckpt_path`` the model is UNTRAINED (random initial weights): the traces
say so in every format (a first line, a page banner, ``provenance.untrained``) and a
warning goes to stderr; such a trace shows the rules at work, not a model. Every
trace records its provenance: the config files, the checkpoint and its SHA-256, the
greybox version.

``--index`` takes one example (``--limit N`` then traces N from it on) or a list
(``--index 3 7 12`` or ``--index 3,7,12``). ``--wrong-only`` keeps the wrong
predictions: of the listed examples, or the first ``--limit`` wrong ones from
``--index`` on. A wrong prediction's trace shows the proofs of the label beside those
of the prediction and answers "why not the label?" (``--why-not`` asks about another
answer instead); changes of a reading below 0.01 are not offered as reasons.

Every trace gives the prediction's probability as a polynomial over the probabilities
of the perceived facts (symbolic provenance, ``greybox.trace.symbolic``): for a sum of
two digits, the sum over digit pairs of the products of the two images' readings. The
text and HTML formats show its largest terms, JSON all of them (``symbolic``). The
why-not answer then also gives, solved from the polynomials, the probability of one
reading past which the other answer wins (``why_not.exact``).

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
The text format draws each image the networks read as a small picture of shading
characters.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator, Sequence

__all__ = ["main", "load_task", "example_batch", "describe_example", "task_name_of", "provenance", "parse_indices", "is_wrong",
           "weights_override"]


def load_task(config: str | Sequence[str], ckpt_path: str | None, overrides: list[str]):
    """``(task, datamodule)`` built from Lightning configs (merged in order), with the checkpoint's weights loaded.

    Raises:
        ConfigError: a config file does not exist.
        CheckpointError: the checkpoint is missing, unreadable, unsafe, or does not fit the model.
    """
    from ..errors import ConfigError
    from .checkpoints import load_checkpoint, load_weights
    from .cli import GreyboxCLI

    configs = [str(config)] if isinstance(config, (str, Path)) else [str(c) for c in config]
    for c in configs:
        if not Path(c).is_file():
            raise ConfigError(f"config file '{c}' does not exist", hint="pass the YAML used with `greybox fit`")
    state = load_checkpoint(ckpt_path) if ckpt_path else None  # before anything is built
    with ExitStack() as stack, warnings.catch_warnings():
        usable = [stack.enter_context(_without_run_options(Path(c))) for c in configs]
        # the options come from `greybox explain`'s own parser, not from sys.argv
        warnings.filterwarnings("ignore", message=".*args parameter is intended to run from within Python.*")
        cli = GreyboxCLI(args=[a for u in usable for a in ("--config", str(u))] + list(overrides), run=False)
    task, dm = cli.model, cli.datamodule
    if state is not None:
        load_weights(task, ckpt_path, configs, state=state)
    return task, dm


def provenance(configs: Sequence[str], ckpt_path: str | None):
    """The ``Provenance`` of traces made from these configs and this checkpoint (None: untrained)."""
    from .. import __version__
    from ..trace.schema import Provenance
    from .checkpoints import checkpoint_sha256

    return Provenance(configs=[str(c) for c in configs], checkpoint=str(ckpt_path) if ckpt_path else None,
                      checkpoint_sha256=checkpoint_sha256(ckpt_path) if ckpt_path else None,
                      greybox_version=__version__)


def weights_override(overrides: Sequence[str]) -> str | None:
    """The file a ``--...weights FILE`` override loads trained weights from (a network's own, not a checkpoint).

    >>> weights_override(["--model.init_args.reader.init_args.weights", "head.pt", "--data.init_args.seed=1"])
    'head.pt'
    >>> weights_override(["--model.init_args.reader.init_args.weights=head.pt"]), weights_override(["--x.weights=null"])
    ('head.pt', None)
    """
    for i, arg in enumerate(overrides):
        key, eq, value = arg.partition("=")
        if key.startswith("--") and key.endswith(".weights"):
            value = value if eq else (overrides[i + 1] if i + 1 < len(overrides) else "")
            return value if value and value.lower() not in ("null", "none") else None
    return None


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


def task_name_of(dm) -> str:
    """The task a data module belongs to: ``kinship`` for ``tasks.kinship.data.X``, else the class's name."""
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


def describe_example(dm, split: str, index: int, dataloader: int = 0):
    """The data module's description of the example (``describe``), or None when it has none."""
    describe = getattr(dm, "describe", None)
    return describe(split, index, dataloader) if callable(describe) else None


def parse_indices(values: Sequence[str]) -> list[int]:
    """Example indices from ``--index 3 7 12`` or ``--index 3,7,12`` (duplicates dropped, order kept).

    >>> parse_indices(["3,7", "12", "7"])
    [3, 7, 12]
    >>> parse_indices(["x"])
    Traceback (most recent call last):
    ...
    greybox.errors.ConfigError: --index x: not a number
    hint: give example numbers, e.g. --index 3 7 12 or --index 3,7,12
    """
    from ..errors import ConfigError

    out: list[int] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise ConfigError(f"--index {part}: not a number", hint="give example numbers, e.g. --index 3 7 12 or --index 3,7,12")
            if int(part) not in out:
                out.append(int(part))
    if not out:
        raise ConfigError("--index needs at least one example number", hint="e.g. --index 3")
    return out


def is_wrong(task, example) -> bool | None:
    """Whether the task's prediction for a one-example batch differs from its label (None: no label)."""
    import torch

    key = getattr(task, "answer_key", None)
    if not key or key not in example:
        return None
    with torch.no_grad():
        codes, _ = task.predict_answers(example)
    label = example[key].reshape(codes.shape[0], -1).to(codes.device)
    return not bool((codes == label).all())


def _candidates(args, n: int) -> Iterator[int]:
    """Example indices to consider: the list given, or from the one index on (to the end with --wrong-only)."""
    if len(args.index) > 1:
        yield from (i for i in args.index)
        return
    first = args.index[0]
    last = n if args.wrong_only else min(n, first + max(1, args.limit))
    yield from range(first, last)


def main(argv: list[str] | None = None) -> int:
    from ..errors import ConfigError, GreyboxError

    ap = argparse.ArgumentParser(prog="greybox explain", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, action="append",
                    help="the experiment's YAML config (repeat to merge several, as with `greybox fit`)")
    ap.add_argument("--ckpt_path", help="checkpoint with the trained weights (without it the model is UNTRAINED)")
    ap.add_argument("--index", nargs="+", default=["0"], metavar="N",
                    help="example(s) of the split: one (then --limit counts from it) or a list, 3 7 12 or 3,7,12")
    ap.add_argument("--split", default="test", choices=["train", "val", "test"])
    ap.add_argument("--limit", type=int, default=1,
                    help="number of examples (from --index on) to trace; with --wrong-only, of wrong ones")
    ap.add_argument("--wrong-only", dest="wrong_only", action="store_true",
                    help="trace only wrong predictions (of the listed examples, or the first --limit from --index on)")
    ap.add_argument("--format", default="text", choices=["text", "json", "dot", "html"])
    ap.add_argument("-k", type=int, default=3, help="proofs per answer")
    ap.add_argument("--dataloader", type=int, default=None,
                    help="which loader of a split that has several (e.g. the kinship test loader of one k), from 0")
    ap.add_argument("--why-not", dest="why_not",
                    help="an answer that was not predicted: what would make it win (default for a wrong prediction: the label)")
    ap.add_argument("--trees", action="store_true",
                    help="text: also draw the derivation tree of proofs shown as a chain (json/html/dot always carry it)")
    ap.add_argument("--proof-budget", dest="proof_budget", type=float, default=3.0,
                    help="seconds each proof search may take (default 3); a search cut short says so in the trace")
    ap.add_argument("-o", "--output", help="write to this file instead of standard output")
    args, overrides = ap.parse_known_args(argv)
    try:
        from ..trace import render_dot, render_html, render_text
        from ..trace.schema import TraceBatch
        from .traces import build_trace

        args.index = parse_indices(args.index)
        if args.limit < 1:
            raise ConfigError(f"--limit {args.limit}: must be 1 or more", hint="e.g. --limit 20")
        if len(args.index) > 1 and args.limit != 1:
            raise ConfigError("--limit counts from a single --index; with a list of indices, the list says which",
                              hint="give either --index 3 --limit 10 or --index 3 7 12")
        task, dm = load_task(args.config, args.ckpt_path, overrides)
        origin = provenance(args.config, args.ckpt_path or weights_override(overrides))
        if origin.untrained:
            print("warning: no --ckpt_path: explaining an UNTRAINED model (random initial weights); "
                  "pass the checkpoint `greybox fit` wrote", file=sys.stderr)
        loader = args.dataloader if args.dataloader is not None else 0
        n_loaders = len(_loaders(dm, args.split))
        if args.dataloader is None and n_loaders > 1:
            print(f"note: the {args.split} split has {n_loaders} loaders; explaining loader 0 "
                  "(pick another with --dataloader N)", file=sys.stderr)
        _, n = example_batch(dm, args.split, args.index[0], loader)
        traces = []
        looked = 0
        for i in _candidates(args, n):
            example, n = example_batch(dm, args.split, i, loader)
            looked += 1
            if args.wrong_only and is_wrong(task, example) is not True:
                continue
            # a model that traces its own decisions (e.g. a theory read from English) builds the trace itself
            own = getattr(task, "decision_trace", None)
            if callable(own):
                traces.append(own(example, split=args.split, index=i, k=args.k, why_not_answer=args.why_not,
                                  provenance=origin))
                continue
            traces.append(build_trace(task, example, task_name=task_name_of(dm), split=args.split, index=i,
                                      k=args.k, why_not_answer=args.why_not,
                                      description=describe_example(dm, args.split, i, loader),
                                      proof_budget_s=args.proof_budget, provenance=origin))
            if args.wrong_only and len(args.index) == 1 and len(traces) >= args.limit:
                break
        selection = None
        if args.wrong_only:
            selection = f"wrong predictions only ({len(traces)} of {looked} examples looked at)"
            if not traces:
                print(f"note: no wrong prediction among the {looked} examples looked at", file=sys.stderr)
        elif len(args.index) > 1:
            selection = "examples " + ", ".join(map(str, args.index))
        if args.format == "html":
            title = f"greybox traces: {' + '.join(Path(c).stem for c in args.config)}"
            text = render_html(traces, title=title + (" (UNTRAINED)" if origin.untrained else ""), selection=selection)
        elif args.format == "json":
            one = len(traces) == 1 and len(args.index) == 1 and not args.wrong_only and args.limit == 1
            text = (traces[0] if one else TraceBatch(traces=traces, selection=selection)).model_dump_json(indent=2)
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
        from greybox.cli import debug_enabled, report_error

        if debug_enabled():
            raise
        return report_error(err)
    return 0
