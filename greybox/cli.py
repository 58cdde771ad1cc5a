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
    greybox read --config CFG --theory TEXT -o F.dl   read a theory in English into a rule file
    greybox learn-rules ...                      learn rules from data

A mistake in the input (a missing file, a rule that does not parse, an edit that
would break the knowledge base) prints a message on stderr and exits with status 2;
success exits with 0. The training commands (``fit``, ``validate``, ``test``,
``predict``, ``explain``, ``learn-rules``) report a mistake in a config or a
constructor argument the same way, as one line and its hint; ``--debug`` (anywhere
on the command line) or ``GREYBOX_DEBUG=1`` shows the traceback instead.

Example:
    >>> main(["kb", "list", "no/such/file.dl"])
    2
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable, Sequence

from greybox.errors import ConfigError, GreyboxError

__all__ = ["main", "build_parser", "DELEGATED", "debug_enabled", "user_error", "one_line", "report_error"]

#: Sub-commands handled by other modules, loaded only when used:
#: name -> (module, function, whether the function gets the sub-command name too, help).
DELEGATED: dict[str, tuple[str, str, bool, str]] = {
    "fit": ("greybox.training.cli", "lightning_main", True, "train a model (Lightning)"),
    "validate": ("greybox.training.cli", "lightning_main", True, "evaluate on the validation set"),
    "test": ("greybox.training.cli", "lightning_main", True, "evaluate on the test set"),
    "predict": ("greybox.training.cli", "lightning_main", True, "predict with a trained model"),
    "explain": ("greybox.training.explain", "main", False, "explain predictions with their proofs"),
    "read": ("greybox.training.read", "main", False, "read a theory stated in English into a rule file"),
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
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    previous = os.environ.get("GREYBOX_DEBUG")
    if debug:
        os.environ["GREYBOX_DEBUG"] = "1"  # the delegated commands read it too
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
        if debug_enabled():
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    finally:
        if debug:
            if previous is None:
                os.environ.pop("GREYBOX_DEBUG", None)
            else:
                os.environ["GREYBOX_DEBUG"] = previous


def debug_enabled() -> bool:
    """Whether tracebacks are wanted: ``--debug`` was given or ``GREYBOX_DEBUG`` is set (not ``0``)."""
    return os.environ.get("GREYBOX_DEBUG", "") not in ("", "0")


def user_error(exc: BaseException) -> GreyboxError | None:
    """The mistake in the input that ``exc`` stands for, or None when it is a fault of the program.

    Constructors that a config names raise ``GreyboxError``; the configuration library wraps
    them in its own errors, so the chain of causes is searched. Lightning's
    ``MisconfigurationException`` (a trainer option that cannot work) counts as a user error too.

    Example:
        >>> try:
        ...     try:
        ...         raise ConfigError("no such folder", file="data/x", hint="give another folder")
        ...     except ConfigError as inner:
        ...         raise ValueError("Does not validate against any of the Union subtypes") from inner
        ... except ValueError as outer:
        ...     print(one_line(user_error(outer)))
        error: data/x: no such folder
        hint: give another folder
        >>> user_error(KeyError("a bug")) is None
        True
    """
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    fallback: GreyboxError | None = None
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, GreyboxError):
            return current
        if fallback is None and type(current).__name__ == "MisconfigurationException":
            first = str(current).strip().splitlines()[0] if str(current).strip() else type(current).__name__
            fallback = ConfigError(first, hint="change the trainer option it names (see `greybox fit --help`)")
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        # errors that hold others (a union of types that each failed)
        todo.extend(e for e in getattr(current, "exceptions", ()) or () if isinstance(e, BaseException))
    return fallback


def one_line(err: GreyboxError) -> str:
    """``err`` as one ``error:`` line (where, what) and its ``hint:`` line.

    The source line and caret of a parse error are left out: the location names the
    file, line and column. Several problems show the first and how many more there are.

    Example:
        >>> print(one_line(ConfigError("rule file not found", file="k.dl", hint="check the path")))
        error: k.dl: rule file not found
        hint: check the path
    """
    problems = getattr(err, "problems", None)
    more = ""
    if problems:
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
        err = problems[0]
    message = " ".join(err.message.split("\n")[0].split()) if err.message else type(err).__name__
    location = err.location
    line = f"error: {location}: {message}{more}" if location else f"error: {message}{more}"
    if err.hint:
        line += "\nhint: " + " ".join(err.hint.split())
    return line


def report_error(err: GreyboxError, stream=None) -> int:
    """Print ``one_line(err)`` on ``stream`` (stderr) and return the exit status of a user error, 2."""
    print(one_line(err), file=stream or sys.stderr)
    return 2


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
    except Exception as exc:  # noqa: BLE001 - a user's mistake is one line; anything else keeps its traceback
        err = user_error(exc)
        if err is None or debug_enabled():
            raise
        return report_error(err)


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
