"""The ``greybox`` command.

Sub-commands::

    greybox kb check FILE...                     list every problem of a knowledge base
    greybox kb list FILE                         number the statements of a rule file
    greybox kb add-rule FILE "RULE" [--with FILE...]
    greybox kb add-rule FILE --from RULES.dl [--with FILE...]
    greybox kb remove-rule FILE N|"RULE" [--with FILE...]
    greybox query FILE... "?- goal." [--proofs] [-k K] [--format text|json]
    greybox fit|validate|test|predict ...        train and evaluate (Lightning)
    greybox explain ...                          explain predictions with their proofs
    greybox learn-rules ...                      learn rules from data

A mistake in the input (a missing file, a rule that does not parse, an edit that
would break the knowledge base) prints a message on stderr and exits with status 2;
success exits with 0.

Example:
    >>> main(["kb", "list", "no/such/file.dl"])
    2
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Callable, Sequence

from greybox.errors import GreyboxError

__all__ = ["main", "build_parser", "DELEGATED"]

#: Sub-commands handled by other modules, loaded only when used:
#: name -> (module, function, whether the function gets the sub-command name too, help).
DELEGATED: dict[str, tuple[str, str, bool, str]] = {
    "fit": ("greybox.training.cli", "lightning_main", True, "train a model (Lightning)"),
    "validate": ("greybox.training.cli", "lightning_main", True, "evaluate on the validation set"),
    "test": ("greybox.training.cli", "lightning_main", True, "evaluate on the test set"),
    "predict": ("greybox.training.cli", "lightning_main", True, "predict with a trained model"),
    "explain": ("greybox.training.explain", "main", False, "explain predictions with their proofs"),
    "learn-rules": ("greybox.training.learn_rules", "main", False, "learn rules from data"),
}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``greybox`` (delegated sub-commands are listed, not parsed).

    Returns:
        The parser; each parsed namespace has a ``run`` callable taking the namespace.
    """
    from greybox.kb import cli as kb_cli
    from greybox import query_cli

    parser = argparse.ArgumentParser(
        prog="greybox",
        description="Neuro-symbolic reasoning: rules, knowledge graphs and neural "
        "predicates, with a proof for every answer.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    kb_cli.add_parser(commands)
    query_cli.add_parser(commands)
    for name, (_, _, _, help_text) in DELEGATED.items():
        commands.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``greybox`` command.

    Args:
        argv: the arguments after ``greybox`` (default: ``sys.argv[1:]``).

    Returns:
        The exit status: 0 on success, 2 on a mistake in the input.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if args and args[0] in DELEGATED:
            return _delegate(args)
        parser = build_parser()
        try:
            namespace = parser.parse_args(args)
        except SystemExit as stop:  # --help (0) or a usage error (2), already printed
            return _exit_code(stop.code)
        return _result_code(namespace.run(namespace))
    except GreyboxError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _delegate(args: list[str]) -> int:
    name = args[0]
    module_name, function_name, with_name, _ = DELEGATED[name]
    try:
        function: Callable = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as err:
        missing = getattr(err, "name", None)
        if isinstance(err, ImportError) and missing and not module_name.startswith(missing):
            hint = f"install the missing package {missing!r}"
        else:
            hint = "this installation of greybox lacks it; `greybox kb` and `greybox query` still work"
        print(f"error: `greybox {name}` is not available: {module_name}.{function_name} cannot be "
              f"loaded ({err})\nhint: {hint}", file=sys.stderr)
        return 2
    try:
        return _result_code(function(args if with_name else args[1:]))
    except SystemExit as stop:
        return _exit_code(stop.code)


def _result_code(value) -> int:
    """A command's return value as an exit status: an int is one, anything else means success."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _exit_code(code) -> int:
    """The status ``SystemExit(code)`` stands for; a message means failure (after printing it)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
