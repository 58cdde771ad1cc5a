"""Merge the statements of one rule file into another, as one checked, atomic edit.

``merge_rules(target, source)`` appends every statement of ``source`` that ``target``
does not already hold (compared as syntax, variable names aside), each with the
comment lines written just above it in ``source`` (e.g. ``% weight 0.97``). The
merged program is checked as a whole, with the same checks as ``add_rule``; if it
has a problem, nothing is written. Like every edit, it runs under the file's lock.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "family.dl").write_text("parent(ann, bob).\\nparent(bob, cid).\\n")
    >>> _ = (d / "new.dl").write_text("% learned\\ngp(X, Z) :- parent(X, Y), parent(Y, Z).\\nparent(ann, bob).\\n")
    >>> done = merge_rules(d / "family.dl", d / "new.dl")
    >>> done.added, done.skipped
    (['gp(X, Z) :- parent(X, Y), parent(Y, Z).'], ['parent(ann, bob).'])
    >>> print((d / "family.dl").read_text(), end="")
    parent(ann, bob).
    parent(bob, cid).
    % learned
    gp(X, Z) :- parent(X, Y), parent(Y, Z).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from greybox.errors import KnowledgeBaseError
from greybox.kb import rule_file
from greybox.lang.ast import Program, Query

__all__ = ["MergeResult", "merge_rules"]


@dataclass(frozen=True)
class MergeResult:
    """What a merge did.

    Attributes:
        file: the edited file.
        added: the statements appended, formatted, in order.
        skipped: the statements of the source that the file already held.
        first_line: the line of the file where the appended text starts (0 when nothing was added).
    """

    file: str
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    first_line: int = 0


def _comments_above(lines: list[str], line: int) -> list[str]:
    """The ``%`` comment lines directly above 1-based ``line`` (stopping at a blank or other line)."""
    out: list[str] = []
    i = line - 2
    while i >= 0 and lines[i].lstrip().startswith("%"):
        out.insert(0, lines[i].strip())
        i -= 1
    return out


def merge_rules(
    file: str | os.PathLike,
    source: str | os.PathLike,
    *,
    context_files: Iterable[str | os.PathLike] = (),
    inputs: Mapping[str, int] | None = None,
) -> MergeResult:
    """Append the statements of ``source`` that ``file`` lacks, if the result is sound.

    Args:
        file: the ``.dl`` file to edit.
        source: the ``.dl`` file to take statements from (read only).
        context_files: files the program also needs (read only).
        inputs: relations supplied at run time (name -> arity).

    Returns:
        The ``MergeResult`` (``added`` empty when ``file`` already held everything).

    Raises:
        ParseError: ``source`` does not parse.
        KnowledgeBaseError: ``source`` holds a query, or ``file`` does not parse.
        UnsafeRuleError, StratificationError, UnknownRelationError, ArityError,
        TypeCheckError, ProblemList: the merged program's problems (nothing written).
        ConfigError: a file is missing.
    """
    name, source_name = os.fspath(file), os.fspath(source)
    with rule_file.edit_lock(name):  # read, check and write while no other edit of the file runs
        return _merge_locked(name, source_name, context_files, inputs)


def _merge_locked(name: str, source_name: str, context_files, inputs) -> MergeResult:
    from greybox.lang.analysis import check_program
    from greybox.lang.printer import format_statement

    original = rule_file.read(name)
    base_text, base = rule_file.parse_file(name, original)
    source_text, incoming = rule_file.parse_file(source_name, rule_file.read(source_name), wrap=False)
    source_lines = source_text.splitlines()
    present = {rule_file.normalize(s) for s in base.statements}
    new, added, skipped, chunks = [], [], [], []
    for statement in incoming.statements:
        if isinstance(statement, Query):
            raise KnowledgeBaseError(
                "a query is not a statement to keep in a rule file", file=source_name,
                line=statement.span.line, column=statement.span.column,
                hint=f"remove the query from {source_name}, or run it with `greybox query`",
            )
        key = rule_file.normalize(statement)
        text = format_statement(statement)
        if key in present:
            skipped.append(text)
            continue
        present.add(key)
        new.append(statement)
        added.append(text)
        chunks += _comments_above(source_lines, statement.span.line) + [text]
    if not new:
        return MergeResult(name, [], skipped, 0)

    context = rule_file.context(context_files, inputs)
    candidate = base + Program(tuple(new)) + context.program
    sources = {**context.sources, name: base_text, source_name: source_text}
    problems = list(check_program(candidate, inputs=context.inputs, source=sources))
    if problems:
        before = list(check_program(base + context.program, inputs=context.inputs, source=sources))
        raise rule_file.reject(problems, before)

    newline = "\r\n" if "\r\n" in base_text else "\n"
    separator = newline if base_text and not base_text.endswith(("\n", "\r")) else ""
    new_text = base_text + separator + newline.join(chunks) + newline
    rule_file.verify(name, new_text, base.statements + tuple(new))
    rule_file.write_if_unchanged(name, original, new_text)
    return MergeResult(name, added, skipped, (base_text + separator).count("\n") + 1)
