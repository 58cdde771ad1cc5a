"""``python -m tasks.kg --config experiments/kg/kinship.yaml -o rules.dl``: learn path rules, export, rank.

Prints the report as JSON (``test_mrr``, ``test_hits@1``, ``test_hits@3``, ``test_hits@10``; for
Countries also ``test_auc_pr``) and writes it to ``OUTPUT.json``. Every constructor argument
of the config can be changed on the command line, e.g. ``--data.init_args.data_dir DIR`` to
score another folder of the same layout, ``--model.init_args.aggregation noisy_or``.
``--explain HEAD RELATION TAIL`` prints the proofs of a link: each rule with its weight and
``file:line``, and the known facts it joins, each with its ``file:line``.
"""

from __future__ import annotations

import json
import shlex
import sys

__all__ = ["main"]


def _parser():
    from jsonargparse import ActionConfigFile, ArgumentParser

    from tasks.kg.model import KGData, PathRuleCompletion

    parser = ArgumentParser(prog="python -m tasks.kg", description=__doc__)
    parser.add_argument("--config", action=ActionConfigFile, help="the YAML config (experiments/kg/*.yaml)")
    parser.add_subclass_arguments(KGData, "data", required=True)
    parser.add_subclass_arguments(PathRuleCompletion, "model", required=True)
    # read by `greybox fit|test` from the same config; not used here
    parser.add_argument("--trainer", type=dict, default={}, help="(greybox fit's section; ignored)")
    parser.add_argument("--seed_everything", type=int, default=None, help="(greybox fit's; ignored)")
    parser.add_argument("-o", "--output", default="rules.dl", help="the .dl file of the learned rules")
    parser.add_argument("--ckpt_path", default=None,
                        help="a checkpoint of greybox fit: its rules (and embedding) are written to OUTPUT and "
                             "the --explain links explained; nothing is learned")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    parser.add_argument("--explain", nargs=3, action="append", metavar=("HEAD", "RELATION", "TAIL"), default=[],
                        help="print the proofs of this link by the learned rules (repeatable)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; a mistake in the input prints a message and returns 2."""
    import torch

    from greybox.errors import ConfigError, GreyboxError
    from greybox.kb.atomic import atomic_write_text
    from tasks.kg.model import run

    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    cfg = parser.parse_args(argv)
    init = parser.instantiate(cfg)
    torch.set_num_threads(1)
    try:
        if not cfg.output.endswith(".dl"):
            raise ConfigError(f"the output {cfg.output!r} is not a .dl file", hint="e.g. -o rules.dl")
        if cfg.ckpt_path:
            from tasks.kg.explain import explain_checkpoint

            for link in cfg.explain or []:
                print(explain_checkpoint(cfg.ckpt_path, init.data, tuple(link), cfg.output))
            return 0
        log = None if cfg.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
        report = run(init.data, init.model, cfg.output, command="python -m tasks.kg " + shlex.join(argv), log=log)
    except GreyboxError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=2)
    atomic_write_text(cfg.output + ".json", text + "\n")
    print(text)
    if cfg.explain:
        from greybox.learn.path_rules import read_path_rule_file
        from tasks.kg.explain import format_proofs, link_proofs

        graph, rules = init.data.load().graph, read_path_rule_file(cfg.output)
        for link in cfg.explain:
            print(format_proofs(link_proofs(graph, rules, tuple(link)), tuple(link), cfg.output))
    return 0


if __name__ == "__main__":
    sys.exit(main())
