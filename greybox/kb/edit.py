"""Safe edits of a rule file: add, remove and list statements.

Every edit is parsed and checked against the whole program (the file, plus the
context files that define what it uses) before the file is replaced atomically.
A rejected edit raises and leaves the file byte-for-byte unchanged. An edit holds
the file's lock from reading it to renaming the new file into place
(``rule_file.edit_lock``), so concurrent edits of one file apply one after the other
and none is lost; a symbolic link is followed, and the file it points to is edited.

* ``add_rule`` appends the new statement, formatted, after the file's existing text
  (which is kept exactly as it is). The edited program must have no problem at all.
* ``remove_rule`` deletes one statement (by its number in ``list_rules`` or by its
  text, compared as syntax up to the names of variables); the line it stood on goes
  too when nothing else is on it but a comment. It is refused when the removal
  creates a problem, e.g. a rule left using a relation nothing defines any more.
* ``list_rules`` numbers the statements of a file from 1.

Example:
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "family.dl"
    >>> _ = f.write_text("% family\\nparent(ann, bob).\\nparent(bob, cid).\\n")
    >>> add_rule(f, "grandparent(X, Z) :- parent(X, Y), parent(Y, Z)").number
    3
    >>> [(s.number, s.line) for s in list_rules(f)]
    [(1, 2), (2, 3), (3, 4)]
    >>> remove_rule(f, "grandparent(A, C) :- parent(A, B), parent(B, C).").number
    3
    >>> f.read_text()
    '% family\\nparent(ann, bob).\\nparent(bob, cid).\\n'
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping

from greybox.errors import GreyboxError, KnowledgeBaseError, ParseError
from greybox.kb import rule_file
from greybox.lang.ast import Program, Query, Span, Statement

__all__ = ["ListedStatement", "EditResult", "RULE_SOURCE", "add_rule", "remove_rule", "list_rules"]

#: The file name given to the text of a new rule, so that its errors read ``<rule>:1:COLUMN``.
RULE_SOURCE = "<rule>"


@dataclass(frozen=True)
class ListedStatement:
    """One statement of a rule file.

    Attributes:
        number: 1-based position among the file's statements (what ``remove_rule`` takes).
        line: 1-based line where it starts.
        text: the statement, formatted on one line.
        statement: the parsed statement.
    """

    number: int
    line: int
    text: str
    statement: Statement


@dataclass(frozen=True)
class EditResult:
    """What an edit did: the file, the statement's number and line, its text."""

    file: str
    number: int
    line: int
    text: str


# ---------------------------------------------------------------- public API


def list_rules(file: str | os.PathLike) -> list[ListedStatement]:
    """Number the statements of a rule file.

    Args:
        file: a ``.dl`` file.

    Returns:
        One ``ListedStatement`` per statement, in file order.

    Raises:
        ConfigError: the file is missing.
        ParseError: the file is not valid syntax.
    """
    from greybox.lang.printer import format_statement

    name = os.fspath(file)
    _, program = rule_file.parse_file(name, rule_file.read(name), wrap=False)
    return [
        ListedStatement(i, s.span.line, format_statement(s), s)
        for i, s in enumerate(program.statements, start=1)
    ]


def add_rule(
    file: str | os.PathLike,
    text: str,
    *,
    context_files: Iterable[str | os.PathLike] = (),
    inputs: Mapping[str, int] | None = None,
) -> EditResult:
    """Append one statement to a rule file, if the resulting program is sound.

    Args:
        file: the ``.dl`` file to edit.
        text: one statement (rule, fact, declaration); the final ``.`` may be left out.
        context_files: rule or knowledge-graph files that the program needs (they
            define relations the file uses); they are read, never written.
        inputs: relations supplied at run time (name -> arity).

    Returns:
        The ``EditResult`` of the new statement.

    Raises:
        ParseError: ``text`` is not one valid statement; the position refers to ``text``
            (``<rule>:1:COLUMN``).
        UnsafeRuleError, StratificationError, UnknownRelationError, ArityError,
        TypeCheckError: the one problem of the edited program.
        ProblemList: several problems.
        KnowledgeBaseError: the statement is a query or is already in the file, or the
            file does not parse.
        ConfigError: a file is missing.
    """
    name = os.fspath(file)
    with rule_file.edit_lock(name):  # read, check and write while no other edit of the file runs
        return _add_locked(name, text, context_files, inputs)


def _add_locked(name: str, text: str, context_files, inputs) -> EditResult:
    from greybox.lang.analysis import check_program
    from greybox.lang.parser import parse_statement
    from greybox.lang.printer import format_statement

    original = rule_file.read(name)
    base_text, base = rule_file.parse_file(name, original)
    try:
        statement = parse_statement(text, file=RULE_SOURCE)
    except ParseError as err:
        if err.hint and "single statement" in err.hint:
            err.hint = "add one statement at a time"
        raise _with_source(err, {RULE_SOURCE: text.splitlines()}) from None
    if isinstance(statement, Query):
        raise KnowledgeBaseError(
            "a query is not a statement to keep in a rule file",
            file=RULE_SOURCE, line=1, column=1, source_line=_first_line(text),
            hint='run it with: greybox query FILE "' + text.strip() + '"',
        )
    for listed, old in enumerate(base.statements, start=1):
        if rule_file.normalize(old) == rule_file.normalize(statement):
            raise KnowledgeBaseError(
                f"this statement is already in {name} as statement {listed}",
                file=name, line=old.span.line, column=old.span.column,
                source_line=_line(base_text, old.span.line),
                hint="nothing to add; `greybox kb list " + name + "` shows the statements",
            )
    context = rule_file.context(context_files, inputs)
    candidate = base + Program((statement,)) + context.program
    sources = {**context.sources, name: base_text, RULE_SOURCE: text}
    problems = list(check_program(candidate, inputs=context.inputs, source=sources))
    if problems:
        before = list(check_program(base + context.program, inputs=context.inputs, source=sources))
        raise rule_file.reject(problems, before)

    formatted = format_statement(statement)
    newline = "\r\n" if "\r\n" in base_text else "\n"
    separator = newline if base_text and not base_text.endswith(("\n", "\r")) else ""
    new_text = base_text + separator + formatted + newline
    rule_file.verify(name, new_text, base.statements + (statement,))
    rule_file.write_if_unchanged(name, original, new_text)
    line = (base_text + separator).count("\n") + 1
    return EditResult(name, len(base.statements) + 1, line, formatted)


def remove_rule(
    file: str | os.PathLike,
    n_or_text: int | str,
    *,
    context_files: Iterable[str | os.PathLike] = (),
    inputs: Mapping[str, int] | None = None,
) -> EditResult:
    """Remove one statement from a rule file, unless that makes the program unsound.

    Args:
        file: the ``.dl`` file to edit.
        n_or_text: the statement's number as shown by ``list_rules`` (an ``int`` or a
            string of digits), or its text (compared as syntax, variable names aside).
        context_files: rule or knowledge-graph files the program needs; read only.
        inputs: relations supplied at run time (name -> arity).

    Returns:
        The ``EditResult`` of the removed statement.

    Raises:
        KnowledgeBaseError: no such statement, or removing it creates problems (listed
            in the message; also in its ``problems`` attribute).
        ParseError: ``n_or_text`` is neither a number nor a valid statement.
        ConfigError: a file is missing.
    """
    name = os.fspath(file)
    with rule_file.edit_lock(name):  # read, check and write while no other edit of the file runs
        return _remove_locked(name, n_or_text, context_files, inputs)


def _remove_locked(name: str, n_or_text: int | str, context_files, inputs) -> EditResult:
    from greybox.lang.analysis import check_program
    from greybox.lang.printer import format_statement

    original = rule_file.read(name)
    base_text, base = rule_file.parse_file(name, original)
    index = _find(name, base, n_or_text)
    target = base.statements[index]
    start = _offset(base_text, target.span)
    end = _statement_end(base_text, start)
    new_text = _cut(base_text, start, end)
    kept = base.statements[:index] + base.statements[index + 1 :]
    rule_file.verify(name, new_text, kept)

    context = rule_file.context(context_files, inputs)
    sources = {**context.sources, name: new_text}
    after = list(check_program(Program(kept) + context.program, inputs=context.inputs, source=sources))
    if after:
        before = Counter(_problem_key(p) for p in check_program(base + context.program, inputs=context.inputs))
        new_problems = []
        for p in after:
            key = _problem_key(p)
            if before[key] > 0:
                before[key] -= 1
            else:
                new_problems.append(p)
        if new_problems:
            rendered = "\n".join(str(p) for p in new_problems)
            err = KnowledgeBaseError(
                f"statement {index + 1} ({format_statement(target)}) cannot be removed: without it, "
                + ("this problem appears" if len(new_problems) == 1 else f"{len(new_problems)} problems appear")
                + f":\n{rendered}",
                file=name, line=target.span.line, column=target.span.column,
                hint="remove or change the statements that need it first",
            )
            err.problems = new_problems
            raise err
    rule_file.write_if_unchanged(name, original, new_text)
    return EditResult(name, index + 1, target.span.line, format_statement(target))


# ---------------------------------------------------------------- helpers


def _find(name: str, program: Program, n_or_text: int | str) -> int:
    from greybox.lang.parser import parse_statement

    count = len(program.statements)
    if isinstance(n_or_text, int) or str(n_or_text).strip().isdigit():
        n = int(n_or_text)
        if not 1 <= n <= count:
            raise KnowledgeBaseError(
                f"{name} has no statement {n} (it has {count})",
                hint=f"`greybox kb list {name}` shows the statements and their numbers",
            )
        return n - 1
    text = str(n_or_text)
    try:
        wanted = rule_file.normalize(parse_statement(text, file=RULE_SOURCE))
    except ParseError as err:
        raise _with_source(err, {RULE_SOURCE: text.splitlines()}) from None
    for i, s in enumerate(program.statements):
        if rule_file.normalize(s) == wanted:
            return i
    raise KnowledgeBaseError(
        f"no statement of {name} is {text.strip()!r}",
        hint=f"`greybox kb list {name}` shows the statements; give the number or the exact rule",
    )


def _offset(text: str, span: Span) -> int:
    pos = 0
    for _ in range(span.line - 1):
        pos = text.index("\n", pos) + 1
    return pos + span.column - 1


def _statement_end(text: str, start: int) -> int:
    """Offset just after the ``.`` that ends the statement starting at ``start``."""
    from .knowledge_base import statement_ends

    return next(statement_ends(text, start), len(text))


def _cut(text: str, start: int, end: int) -> str:
    """Remove text[start:end]; drop its line(s) too when only blanks or a comment remain there."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    before, after = text[line_start:start], text[end:line_end].strip()
    if not before.strip() and (not after or after.startswith("%")):
        return text[:line_start] + text[min(line_end + 1, len(text)):]
    head, tail = text[:start], text[end:].lstrip(" \t")
    if before.strip():  # another statement precedes it on the line: keep one space between
        head = head.rstrip(" \t")
        if tail and not tail.startswith(("\n", "\r")):
            head += " "
    return head + tail


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text.splitlines() else text


def _line(text: str, line: int) -> str | None:
    lines = text.splitlines()
    return lines[line - 1] if 1 <= line <= len(lines) else None


def _with_source(err: GreyboxError, sources: dict[str, list[str]]) -> GreyboxError:
    """Fill in the offending line of an error that lacks it."""
    lines = sources.get(err.file or "")
    if err.source_line is None and lines and err.line is not None and 1 <= err.line <= len(lines):
        err.source_line = lines[err.line - 1]
    return err


def _problem_key(err: GreyboxError) -> tuple[str, str]:
    return (type(err).__name__, err.message)
