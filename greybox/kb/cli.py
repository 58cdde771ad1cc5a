"""``greybox kb``: check, list and edit knowledge-base files from the command line.

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="greybox")
    >>> add_parser(parser.add_subparsers())
    >>> ns = parser.parse_args(["kb", "add-rule", "k.dl", "p(X) :- q(X).", "--with", "q.dl"])
    >>> ns.file, ns.rule, ns.context
    ('k.dl', 'p(X) :- q(X).', ['q.dl'])
    >>> parser.parse_args(["kb", "add-rule", "k.dl", "--from", "learned.dl"]).source
    'learned.dl'
"""

from __future__ import annotations

import argparse
import sys

from greybox.errors import ConfigError, GreyboxError, ProblemList, UnknownRelationError

__all__ = ["add_parser", "parse_inputs"]


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add the ``kb`` sub-command and its own sub-commands to ``commands``.

    Args:
        commands: the sub-parsers of the ``greybox`` parser.
    """
    kb = commands.add_parser("kb", help="check, list and edit knowledge-base files",
                             description="Check, list and edit knowledge-base files. Every edit "
                             "is checked against the whole program first; a rejected edit "
                             "changes nothing.")
    sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND", required=True)

    check = sub.add_parser("check", help="list every problem of rule and knowledge-graph files")
    check.add_argument("files", nargs="+", metavar="FILE", help=".dl, .tsv, .csv or .jsonl files, or folders")
    _add_inputs(check)
    check.set_defaults(run=_check)

    listing = sub.add_parser("list", help="number the statements of a rule file")
    listing.add_argument("file", metavar="FILE", help="a .dl file")
    listing.set_defaults(run=_list)

    add = sub.add_parser("add-rule", help="append a statement (or a file's statements) to a rule file, if the result is sound")
    add.add_argument("file", metavar="FILE", help="the .dl file to edit")
    add.add_argument("rule", metavar="RULE", nargs="?",
                     help='one statement, e.g. "grandparent(X, Z) :- parent(X, Y), parent(Y, Z)."')
    add.add_argument("--from", dest="source", metavar="SOURCE",
                     help="instead of RULE: append every statement of this .dl file that FILE lacks, "
                     "in one checked edit (e.g. the output of `greybox learn-rules`)")
    _add_context(add)
    add.set_defaults(run=_add)

    remove = sub.add_parser("remove-rule", help="remove a statement (by number or text) from a rule file")
    remove.add_argument("file", metavar="FILE", help="the .dl file to edit")
    remove.add_argument("which", metavar="N|RULE", help="the number shown by `greybox kb list`, or the statement")
    _add_context(remove)
    remove.set_defaults(run=_remove)


def parse_inputs(specs: list[str] | None) -> dict[str, int]:
    """Read ``NAME/ARITY`` specifications of run-time input relations.

    Args:
        specs: e.g. ``["digit/2", "image/1"]``.

    Returns:
        Name -> arity.

    Raises:
        ConfigError: a specification is not ``NAME/ARITY``.

    Example:
        >>> parse_inputs(["digit/2"])
        {'digit': 2}
    """
    inputs: dict[str, int] = {}
    for spec in specs or []:
        name, _, arity = spec.partition("/")
        if not name or not arity.isdigit():
            raise ConfigError(f"input relation {spec!r} is not NAME/ARITY", hint="e.g. --input digit/2")
        inputs[name] = int(arity)
    return inputs


def _add_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--input", dest="inputs", action="append", metavar="NAME/ARITY",
                        help="a relation supplied at run time (repeatable), e.g. digit/2")


def _add_context(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--with", dest="context", nargs="+", action="extend", default=[], metavar="FILE",
                        help="files the program also needs (read only), e.g. the files that define "
                        "the relations the rule uses")
    _add_inputs(parser)


def _check(ns: argparse.Namespace) -> int:
    from greybox.kb.knowledge_base import KnowledgeBase

    kb = KnowledgeBase.load(ns.files, inputs=parse_inputs(ns.inputs), strict=False)
    for warning in kb.warnings():
        print(f"warning: {warning}", end="\n\n", file=sys.stderr)
    problems = kb.check()
    if problems:
        for p in problems:
            print(p, end="\n\n", file=sys.stderr)
        n = len(problems)
        print(f"{n} problem{'s' if n != 1 else ''} found", file=sys.stderr)
        return 2
    print(f"ok: {len(kb.program)} statements, {len(_relations(kb.program))} relations")
    return 0


def _relations(program) -> set[str]:
    """Names of the relations a checked program defines or declares (without analysing it again)."""
    from greybox.lang.ast import AnnotatedDisjunction, Clause, NeuralDeclaration, TypeDeclaration

    names: set[str] = set()
    for s in program.statements:
        if isinstance(s, Clause):
            names.add(s.head.predicate)
        elif isinstance(s, AnnotatedDisjunction):
            names.update(a.predicate for _, a in s.heads)
        elif isinstance(s, NeuralDeclaration):
            names.add(s.atom.predicate)
        elif isinstance(s, TypeDeclaration):
            names.add(s.predicate)
    return names


def _list(ns: argparse.Namespace) -> int:
    from greybox.kb.edit import list_rules

    listed = list_rules(ns.file)
    if not listed:
        print(f"{ns.file} has no statements")
        return 0
    width = len(str(len(listed)))
    line_width = max(4, len(str(listed[-1].line)))
    print(f"{'#':>{width}}  {'line':>{line_width}}  statement")
    for s in listed:
        print(f"{s.number:>{width}}  {s.line:>{line_width}}  {s.text}")
    return 0


def _add(ns: argparse.Namespace) -> int:
    from greybox.kb.edit import add_rule

    if (ns.rule is None) == (ns.source is None):
        print("error: give either RULE or --from SOURCE", file=sys.stderr)
        print('hint: e.g. greybox kb add-rule k.dl "p(X) :- q(X)." or greybox kb add-rule k.dl --from learned.dl',
              file=sys.stderr)
        return 2
    if ns.source is not None:
        return _merge(ns)
    try:
        done = add_rule(ns.file, ns.rule, context_files=ns.context, inputs=parse_inputs(ns.inputs))
    except GreyboxError as err:
        return _rejected(ns, err)
    print(f"added statement {done.number} at {done.file}:{done.line}: {done.text}")
    return 0


def _merge(ns: argparse.Namespace) -> int:
    from greybox.kb.merge import merge_rules

    try:
        done = merge_rules(ns.file, ns.source, context_files=ns.context, inputs=parse_inputs(ns.inputs))
    except GreyboxError as err:
        return _rejected(ns, err)
    already = f" ({len(done.skipped)} already there)" if done.skipped else ""
    if not done.added:
        print(f"nothing to add: {done.file} already holds every statement of {ns.source}{already}")
        return 0
    n = len(done.added)
    print(f"added {n} statement{'s' if n != 1 else ''} from {ns.source} at {done.file}:{done.first_line}{already}")
    return 0


def _remove(ns: argparse.Namespace) -> int:
    from greybox.kb.edit import remove_rule

    try:
        done = remove_rule(ns.file, ns.which, context_files=ns.context, inputs=parse_inputs(ns.inputs))
    except GreyboxError as err:
        return _rejected(ns, err)
    print(f"removed statement {done.number} (line {done.line}) from {done.file}: {done.text}")
    return 0


def _rejected(ns: argparse.Namespace, err: GreyboxError) -> int:
    problems = err.problems if isinstance(err, ProblemList) else [err]
    if not ns.context and any(isinstance(p, UnknownRelationError) for p in problems):
        err.hint = ((err.hint + "; ") if err.hint else "") + (
            "if another file defines the relation, name it with --with FILE")
    print(f"error: {err}", file=sys.stderr)
    if not isinstance(err, ConfigError):  # a missing file needs no reassurance
        print(f"{ns.file} was not changed.", file=sys.stderr)
    return 2
