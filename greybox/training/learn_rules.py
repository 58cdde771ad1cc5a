"""``greybox learn-rules``: learn chain rules from labelled graphs and export them as a ``.dl`` file.

    greybox learn-rules --config experiments/kinship/learn_rules.yaml -o learned.dl
    greybox learn-rules --config experiments/kinship/learn_rules.yaml -o learned.dl --max-train 500 --epochs 5
    greybox learn-rules --config experiments/kinship/learn_rules.yaml --config more.yaml -o learned.dl

Several ``--config`` files are read in order, a later file's options replacing an
earlier one's. Relative paths in a config file (``data_dir``, ``background``,
``reference``) are relative to the project root, the nearest folder above the first
config file that holds a ``pyproject.toml``, as for ``greybox fit``.

The facts are the graphs that the config's ``reader`` reads from the data (for CLUTRR,
``tasks.kinship.graphs.ClutrrGraphs``: ``story_edges`` / ``edge_types``, with ``genders``
as unary facts); the supervision is the target relation of each queried pair; this is
the setting of the published rule learners on CLUTRR (CTP, NeuralLP). The background
program (for kinship, ``knowledge/kinship.dl`` without its chain rules: gender and
inverse rules) is kept; a weight per candidate rule
``r3(X, Z) :- r1(X, Y), r2(Y, Z)`` over every triple of relations is learned with
max-mult forward chaining (``greybox.learn``); the rules above ``threshold`` are
written to the output file, each under a ``% weight`` comment.

The command then checks the file as ``greybox kb check BACKGROUND... OUTPUT`` does,
scores the rules against the reference file's chain rules (precision, recall of the
``(r1, r2, r3)`` triples), and reasons on the test graphs of each ``k`` with greybox's
engine reading the background plus the written file (and, as the reference row, the
background plus the reference's chain rules). The report is printed and written as
JSON (``OUTPUT.json`` unless ``--report`` says otherwise).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

__all__ = ["main", "run"]


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="greybox learn-rules", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", action="append", default=[],
                    help="YAML options (see greybox.learn.config.LearnRulesConfig); repeat to combine files, "
                    "later ones win; default: the defaults")
    ap.add_argument("-o", "--output", required=True, help="the .dl file to write the learned rules to")
    ap.add_argument("--report", help="the JSON report (default: OUTPUT.json)")
    ap.add_argument("--max-train", type=int, dest="max_train", help="read only the first N training rows")
    ap.add_argument("--max-test-per-k", type=int, dest="max_test_per_k", help="read only the first N rows per test file")
    ap.add_argument("--epochs", type=int, help="passes over the training graphs")
    ap.add_argument("--seed", type=int, help="random seed")
    ap.add_argument("--threshold", type=float, help="the smallest weight of an exported rule")
    ap.add_argument("--test-ks", type=int, nargs="*", dest="test_ks", help="chain lengths to test on (none: skip)")
    ap.add_argument("-q", "--quiet", action="store_true", help="do not print the progress of training")
    return ap


def _read_program(files: list[str]):
    from greybox.lang.ast import Program
    from greybox.lang.parser import parse_program

    program = Program(())
    for name in files:
        program = program + parse_program(Path(name).read_text(), file=name)
    return program


def _first_problem(problems: list, what: str):
    from greybox.errors import ProblemList

    if not problems:
        return None
    err = problems[0] if len(problems) == 1 else ProblemList(problems)
    err.hint = (err.hint + "; " if err.hint else "") + what
    return err


def run(config, output: str, command: str, log=None) -> dict:
    """Learn, export, check and evaluate; return the report.

    Args:
        config: a ``LearnRulesConfig``.
        output: the ``.dl`` file to write.
        command: the command line, recorded in the file's header and the report.
        log: called with a line of progress (``None``: silent).

    Returns:
        The report (JSON-ready).

    Raises:
        GreyboxError: a problem with the configuration, the data or the programs.
    """
    from greybox.kb.knowledge_base import KnowledgeBase
    from greybox.lang.analysis import check_program
    from greybox.lang.ast import Program
    from greybox.lang.parser import parse_program
    from greybox.learn.batch import batches_by_size
    from greybox.learn.chain_rules import as_chain_rule, split_chain_rules
    from greybox.learn.dense import ChainRuleScorer
    from greybox.learn.evaluate import engine_accuracy, score_rules
    from greybox.learn.export import write_rule_file
    from greybox.learn.graphs import count_distinct
    from greybox.learn.learner import learn_chain_rules, rules_above

    say = log or (lambda line: None)
    started = time.monotonic()
    reader = config.graph_reader()
    full = _read_program(config.background)
    background, removed = split_chain_rules(full, config.relations) if config.remove_chain_rules else (full, ())
    err = _first_problem(check_program(background), "the background without its chain rules must be a sound program")
    if err:
        raise err
    dense = ChainRuleScorer.compile(background, relations=config.relations, distinct_heads=config.distinct_heads)

    train = reader.read(config.train_path(), limit=config.max_train, relations=dense.relations, unaries=dense.unaries)
    distinct = count_distinct(train)
    batches = batches_by_size(distinct, relations=dense.relations, unaries=dense.unaries, batch_size=config.batch_size,
                              max_rounds=config.steps if config.rounds_from_edges else None)
    n_r = len(dense.relations)
    say(f"{len(train)} training graphs ({len(distinct)} distinct); {n_r ** 3} candidate rules over {n_r} relations; "
        f"background: {len(background)} statements ({len(removed)} chain rules removed)")
    learned = learn_chain_rules(
        dense, batches, parametrization=config.parametrization, epochs=config.epochs, lr=config.lr,
        steps=config.steps, sparsity=config.sparsity, negative_weight=config.negative_weight,
        initial=config.initial_weight, tie_noise=config.tie_noise, depth_epochs=config.depth_epochs,
        seed=config.seed,
        log=lambda e: say(f"epoch {e['epoch']:>3}  rounds {e['rounds']}  loss {e['loss']:.4f}  "
                          f"({e['examples']} examples)  {e['seconds']:.1f} s"),
    )
    rules = rules_above(dense, learned.weights, config.threshold)

    background_files = " ".join(config.background)
    heads = " or ".join(config.distinct_heads)
    header = [
        "Chain rules learned from data by `greybox learn-rules`.",
        "",
        f"command:    {command}",
        f"data:       {config.train_path()}",
        *("            " + line for line in reader.header(len(train), len(distinct))),
        f"background: {background_files}" + (f" without its {len(removed)} chain rules" if config.remove_chain_rules else ""),
        f"candidates: {n_r ** 3} weighted rules w :: r3(X, Z) :- r1(X, Y), r2(Y, Z) over {n_r} relations,",
        f"            max-mult; {config.parametrization} weights, {config.epochs} epochs, lr {config.lr}, "
        f"sparsity {config.sparsity},",
        "            " + (f"min({config.steps}, edges - 1)" if config.rounds_from_edges else str(config.steps))
        + " rounds of chaining" + (f", one more allowed every {config.depth_epochs} epochs" if config.depth_epochs else ""),
        f"kept:       {len(rules)} rules with weight >= {config.threshold}; each rule's weight is in the comment above it",
        "",
        'Convention: r(X, Y) means "Y is the r of X".',
        *([f"Rules concluding {heads} add X \\= Z (irreflexive relations: distinct_heads)."] if heads else []),
        "",
        "The file holds rules only; the background declares the relations. Check it with:",
        f"    greybox kb check {background_files} {output}",
        "Merge it into a rule file (statements already there are skipped):",
        f"    greybox kb add-rule FILE --from {output}",
    ]
    write_rule_file(output, rules, header)
    say(f"wrote {len(rules)} rules to {output}")

    # the file as a user would check it: with the background files that declare its relations
    kb = KnowledgeBase.load([*config.background, output], strict=False)
    err = _first_problem(kb.check(), f"`greybox kb check {background_files} {output}` fails")
    if err:
        raise err

    report: dict = {
        "schema": "greybox.learn_rules/1",
        "command": command,
        "output": output,
        "config": config.model_dump(),
        "data": {"train_file": str(config.train_path()), "train_graphs": len(train), "distinct_graphs": len(distinct),
                 "facts": reader.facts},
        "background": {"files": list(config.background), "statements": len(background),
                       "chain_rules_removed": len(removed)},
        "candidates": n_r ** 3,
        "training": {"seconds": round(learned.seconds, 2), "epochs": config.epochs,
                     "final_loss": learned.history[-1]["loss"], "history": learned.history},
        "rules": [{"rule": r.text(), "weight": round(r.weight or 0.0, 4)} for r in rules],
        "weights": _margin(learned.weights, config.threshold),
    }
    if config.reference:
        reference_program = _read_program([config.reference])
        reference_rules = [s for s in reference_program.statements if as_chain_rule(s, dense.relations) is not None]
        scores = score_rules([r.triple for r in rules], [as_chain_rule(s).triple for s in reference_rules])
        report["scores"] = {"reference": config.reference, **scores.as_dict()}
        say(f"rules vs {config.reference}: precision {scores.precision:.3f}, recall {scores.recall:.3f} "
            f"({scores.n_learned} learned, {scores.n_reference} reference)")
    if config.test_ks:
        # the engine reads the exported file itself: this checks the export end to end
        programs = {"learned": background + parse_program(Path(output).read_text(), file=output)}
        if config.reference:
            programs["reference"] = background + Program(tuple(reference_rules))
        accuracy: dict[str, dict] = {name: {} for name in programs}
        evaluation_started = time.monotonic()
        for k in config.test_ks:
            tests = reader.read(config.test_path(k), limit=config.max_test_per_k, relations=dense.relations,
                                   unaries=dense.unaries)
            row = []
            for name, program in programs.items():
                acc = engine_accuracy(program, tests, relations=dense.relations)
                accuracy[name][str(k)] = acc.as_dict()
                row.append(f"{name} {acc.accuracy:.3f}")
            say(f"k={k:<2} n={len(tests):<4} " + "  ".join(row))
        report["accuracy"] = accuracy
        report["evaluation_seconds"] = round(time.monotonic() - evaluation_started, 2)
    report["seconds"] = round(time.monotonic() - started, 2)
    return report


def _margin(weights, threshold: float) -> dict:
    """The smallest kept and the largest dropped weight: how clear-cut the threshold is."""
    kept, dropped = weights[weights >= threshold], weights[weights < threshold]
    return {"smallest_kept": round(float(kept.min()), 4) if kept.numel() else None,
            "largest_dropped": round(float(dropped.max()), 4) if dropped.numel() else None}


def _summary(report: dict) -> str:
    lines = [f"learned {len(report['rules'])} rules (weight >= {report['config']['threshold']}) from "
             f"{report['data']['train_graphs']} graphs ({report['data']['distinct_graphs']} distinct) "
             f"in {report['training']['seconds']:.1f} s of training",
             f"smallest kept weight {report['weights']['smallest_kept']}, "
             f"largest dropped weight {report['weights']['largest_dropped']}"]
    if "scores" in report:
        s = report["scores"]
        lines.append(f"against the chain rules of {s['reference']}: precision {s['precision']:.3f}, "
                     f"recall {s['recall']:.3f} ({s['n_learned']} learned, {s['n_reference']} reference)")
        for what, triples in (("not in the reference", s["false_positives"]), ("missed", s["false_negatives"])):
            if triples:
                lines.append(f"  {what}: " + ", ".join(f"{c} :- {a}, {b}" for a, b, c in triples))
    if "accuracy" in report:
        names = list(report["accuracy"])
        lines.append("accuracy per k (the engine derives exactly the target between the queried pair):")
        lines.append(f"  {'k':>3} {'n':>5} " + " ".join(f"{n:>10}" for n in names))
        for k, first in report["accuracy"][names[0]].items():
            cells = " ".join(f"{report['accuracy'][n][k]['accuracy']:>10.3f}" for n in names)
            lines.append(f"  {k:>3} {first['n']:>5} {cells}")
    return "\n".join(lines)


#: the options of ``LearnRulesConfig`` that are paths (relative ones are relative to the project root)
_PATH_OPTIONS = ("data_dir", "background", "reference")


def _load_configs(files: list[str], overrides: dict, load_config):
    """The ``LearnRulesConfig`` of the config ``files`` in order (later options win) and the command line's ``overrides``.

    Each file is checked on its own first, so that a mistake names its file and line.
    """
    import os

    import yaml

    from greybox.training.config_files import project_root

    root = project_root(files[0] if files else os.getcwd())

    def absolute(value):
        if isinstance(value, str) and value and not os.path.isabs(value):
            return os.path.normpath(os.path.join(root, value))
        if isinstance(value, list):
            return [absolute(v) for v in value]
        return value

    merged: dict = {}
    for file in files:
        load_config(file, check_paths=False)  # the file's own mistakes, with its line
        merged.update(yaml.safe_load(Path(file).read_text()) or {})
    defaults = {key: absolute(value) for key, value in load_config(None, check_paths=False).model_dump().items()
                if key in _PATH_OPTIONS}
    values = {**defaults, **{k: absolute(v) if k in _PATH_OPTIONS else v for k, v in merged.items()}, **overrides}
    return load_config(files[-1] if files else None, values)


def _main_sectioned(args, argv: list[str]) -> int:
    """A config of ``data`` and ``model`` sections (e.g. ``experiments/kg/*.yaml``): the model learns and reports."""
    from greybox.errors import ConfigError, GreyboxError
    from greybox.kb.atomic import atomic_write_text
    from greybox.learn.sections import run_sectioned

    try:
        if len(args.config) != 1:
            raise ConfigError(f"a config of data and model sections ({', '.join(args.config)}) is given alone",
                              hint="give one --config FILE; set its options in that file")
        (config,) = args.config
        ignored = [k for k in ("max_train", "max_test_per_k", "epochs", "seed", "threshold", "test_ks")
                   if getattr(args, k) is not None]
        if ignored:
            raise ConfigError(f"--{ignored[0].replace('_', '-')} does not apply to a config of data and model sections",
                              file=config, hint="set the model's init_args in the config instead")
        report_path = Path(args.report or args.output + ".json")
        if not report_path.parent.is_dir():
            raise ConfigError(f"cannot write the report: the folder {report_path.parent} does not exist",
                              hint="create it, or give another --report")
        log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
        from greybox.training.config_files import project_root, resolve_paths

        report = run_sectioned(config, args.output, command="greybox learn-rules " + shlex.join(argv), log=log,
                               prepare=lambda values: resolve_paths(values, project_root(config)))
        text = json.dumps(report, indent=2)
        atomic_write_text(report_path, text + "\n")
        print(text)
        print(f"wrote {args.output} and {report_path}")
    except GreyboxError as err:
        from greybox.cli import debug_enabled, report_error

        if debug_enabled():
            raise
        return report_error(err)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``greybox learn-rules``; a mistake in the input prints a message and returns 2."""
    from greybox.errors import ConfigError, GreyboxError

    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    from greybox.learn.sections import is_sectioned_config

    if any(is_sectioned_config(c) for c in args.config):
        return _main_sectioned(args, argv)
    try:
        import torch

        from greybox.kb.atomic import atomic_write_text
        from greybox.learn.config import load_config

        overrides = {k: getattr(args, k) for k in ("max_train", "max_test_per_k", "epochs", "seed", "threshold", "test_ks")
                     if getattr(args, k) is not None}
        config = _load_configs(args.config, overrides, load_config)
        if not args.output.endswith(".dl"):
            raise ConfigError(f"the output {args.output!r} is not a .dl file", hint="e.g. -o learned.dl")
        report_path = Path(args.report or args.output + ".json")
        if not report_path.parent.is_dir():
            raise ConfigError(f"cannot write the report: the folder {report_path.parent} does not exist",
                              hint="create it, or give another --report")
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # small tensors: one thread is fastest and leaves the others alone
        try:
            log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
            report = run(config, args.output, "greybox learn-rules " + shlex.join(argv), log)
        finally:
            torch.set_num_threads(threads)
        atomic_write_text(report_path, json.dumps(report, indent=2) + "\n")
        print(_summary(report))
        print(f"wrote {args.output} and {report_path}")
    except GreyboxError as err:
        from greybox.cli import debug_enabled, report_error

        if debug_enabled():
            raise
        return report_error(err)
    return 0
