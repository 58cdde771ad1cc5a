"""``greybox read``: a theory stated in English, read by a trained model, written as a rule file.

    greybox read --config experiments/rules_in_language/ruletaker.yaml --ckpt_path CKPT \\
        --theory "Bob is big. If something is big then it is red." --question "Bob is red." -o theory.dl
    greybox read --config CFG --ckpt_path CKPT --file ../shared/data/ruletaker/depth-5/dev.jsonl --id AttNeg-D5-537-3 -o t.dl

The model reads every sentence; the file holds each reading as a statement under the sentence
it came from (``% [s3] Bob is big.  (p=0.981)``), with the reading's probability as its weight
(``0.981 :: big(bob).``); a sentence read as nothing says so. With a question (``--question``,
or ``--id`` naming a question), the file ends with the question as a ``?-`` query.
``greybox kb check`` accepts the file, and ``greybox query FILE`` answers the question as the
model does: ``--semiring boolean`` says whether the atom is derived (the verdict; a negated
question is True when it is not), ``--semiring max-mult`` gives the model's probability.
A person may edit the rules and ask again.

``--file`` reads RuleTaker ``.jsonl`` and ProofWriter ``.json`` files; ``--id`` is a theory's id
(its first question is asked) or a question's id. Options the command does not know go to the
config (e.g. ``--model.init_args.world=open``). Without ``--ckpt_path`` the model is UNTRAINED.

The model must have ``export_theory(sentences, question) -> str`` and the data module
``theory_from_text(text) -> sentences`` and ``theory_in_file(path, id) -> (sentences, question)``
(as ``tasks.rules_in_language`` has): this command knows no data format.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    from ..errors import ConfigError, GreyboxError

    ap = argparse.ArgumentParser(prog="greybox read", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True, action="append", help="the experiment's YAML config (repeatable)")
    ap.add_argument("--ckpt_path", help="checkpoint with the trained weights (without it the model is UNTRAINED)")
    source = ap.add_mutually_exclusive_group(required=True)
    source.add_argument("--theory", help="the theory as text (sentences end with a full stop)")
    source.add_argument("--file", help="a RuleTaker .jsonl or ProofWriter .json file (with --id)")
    ap.add_argument("--id", help="with --file: the theory's or question's id")
    ap.add_argument("--question", help="a statement to ask about the theory (written as a ?- query)")
    ap.add_argument("-o", "--output", help="the .dl file to write (default: standard output)")
    args, overrides = ap.parse_known_args(argv)
    try:
        from .explain import load_task

        if args.file is not None and not args.id:
            raise ConfigError("--file needs --id (a theory's or a question's id)", hint="e.g. --id AttNeg-D5-537-3")
        if args.file is not None and not Path(args.file).is_file():
            raise ConfigError(f"no such file: {args.file}", file=args.file, hint="give a RuleTaker .jsonl or ProofWriter .json file")
        task, dm = load_task(args.config, args.ckpt_path, overrides)
        export = getattr(task, "export_theory", None)
        if export is None or not hasattr(dm, "theory_in_file"):
            raise ConfigError(f"the model {type(task).__name__} cannot read a theory into rules",
                              hint="use a config whose model reads text into rules, e.g. experiments/rules_in_language/ruletaker.yaml")
        if args.file is not None:
            sentences, question = dm.theory_in_file(args.file, args.id)
        else:
            sentences, question = dm.theory_from_text(args.theory), None
        question = args.question or question
        if not args.ckpt_path:
            print("warning: no --ckpt_path: reading with an UNTRAINED model", file=sys.stderr)
        text = export(sentences, question)
        if args.output:
            from ..kb.atomic import atomic_write_text

            atomic_write_text(Path(args.output), text)
            print(f"wrote {len(sentences)} sentences read as rules to {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
    except GreyboxError as err:
        from greybox.cli import debug_enabled, report_error

        if debug_enabled():
            raise
        return report_error(err)
    return 0
