"""One rule file, edited safely: read, parse, check and rewrite it.

The steps shared by every edit of a ``.dl`` file (``add_rule``, ``remove_rule``,
``merge_rules``):

* ``read`` takes the file's bytes (rule files only) and ``parse_file`` decodes and
  parses them, keeping the text exactly as it is;
* ``context`` loads the files that the program also needs, and ``reject`` turns the
  problems of an edited program into the error to raise;
* ``normalize`` renames a statement's variables, so that two statements compare
  equal when they differ only in the names of variables;
* ``verify`` re-parses the new text before it is written, and ``write_if_unchanged``
  replaces the file atomically, unless someone else changed it in the meantime.

Example:
    >>> import tempfile, pathlib
    >>> from greybox.lang.parser import parse_statement
    >>> name = str(pathlib.Path(tempfile.mkdtemp()) / "family.dl")
    >>> _ = pathlib.Path(name).write_text("parent(ann, bob).\\n")
    >>> original = read(name)
    >>> text, program = parse_file(name, original)
    >>> rule = parse_statement("grandparent(X, Z) :- parent(X, Y), parent(Y, Z).")
    >>> normalize(rule) == normalize(parse_statement("grandparent(A, C) :- parent(A, B), parent(B, C)."))
    True
    >>> new_text = text + "grandparent(X, Z) :- parent(X, Y), parent(Y, Z).\\n"
    >>> verify(name, new_text, program.statements + (rule,))
    >>> write_if_unchanged(name, original, new_text)
    >>> len(parse_file(name, read(name))[1].statements)
    2
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from pathlib import Path
from typing import Iterable, Mapping

from greybox.errors import ConfigError, GreyboxError, KnowledgeBaseError, ParseError, ProblemList
from greybox.kb.atomic import atomic_write_text
from greybox.kb.knowledge_base import KnowledgeBase, RULE_EXTENSIONS
from greybox.lang.ast import Program, Span, Statement, Var

__all__ = ["read", "parse_file", "context", "verify", "write_if_unchanged", "normalize", "reject"]


def read(name: str) -> bytes:
    """The bytes of a rule file that is about to be edited.

    Args:
        name: the path of a rule file (one of ``RULE_EXTENSIONS``).

    Returns:
        The file's content, as it is on disk.

    Raises:
        ConfigError: the file is not a rule file, is missing or cannot be read.
    """
    if Path(name).suffix.lower() not in RULE_EXTENSIONS:
        raise ConfigError(f"{name}: only rule files ({', '.join(RULE_EXTENSIONS)}) can be edited",
                          hint="knowledge-graph files are data: edit them with any tool")
    try:
        return Path(name).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"file not found: {name}",
                          hint=f"check the path, or create an empty file first: touch {name}") from None
    except OSError as err:
        raise ConfigError(f"cannot read {name}: {err}", hint="check the file's permissions") from None


def parse_file(name: str, data: bytes, *, wrap: bool = True) -> tuple[str, Program]:
    """Decode (keeping line endings as they are) and parse a rule file.

    Args:
        name: the file's path, used in error positions.
        data: the file's bytes (from ``read``).
        wrap: turn a ``ParseError`` into a ``KnowledgeBaseError`` saying that the file
            was not edited; ``False`` raises the ``ParseError`` itself.

    Returns:
        The decoded text and its parsed ``Program``.

    Raises:
        ConfigError: the bytes are not UTF-8.
        KnowledgeBaseError: the text does not parse (``wrap=True``).
        ParseError: the text does not parse (``wrap=False``).
    """
    from greybox.lang.parser import parse_program

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(f"{name} is not UTF-8 text: {err}", hint="save the file as UTF-8") from None
    try:
        return text, parse_program(text, file=name)
    except ParseError as err:
        if not wrap:
            raise
        raise KnowledgeBaseError(
            f"{name} does not parse, so it was not edited:\n{err}",
            hint=f"fix the file first; `greybox kb check {name}` lists its problems",
        ) from None


def context(files: Iterable[str | os.PathLike], inputs: Mapping[str, int] | None) -> KnowledgeBase:
    """The knowledge base of the files an edited program also needs (read, never written).

    Args:
        files: rule or knowledge-graph files; none gives an empty knowledge base.
        inputs: relations supplied at run time (name -> arity).

    Returns:
        A ``KnowledgeBase`` whose ``program``, ``sources`` and ``inputs`` join the check.

    Raises:
        ConfigError: a file is missing.
        GreyboxError: a file does not load (see ``KnowledgeBase.load``).
    """
    files = list(files)
    if not files:
        from networkx import MultiDiGraph

        return KnowledgeBase(Program(()), (), MultiDiGraph(), inputs=inputs)
    return KnowledgeBase.load(files, inputs=inputs)


def verify(name: str, new_text: str, expected: tuple[Statement, ...]) -> None:
    """Re-read the text about to be written: it must hold exactly the expected statements.

    Args:
        name: the file's path, used when parsing.
        new_text: the text about to replace the file.
        expected: the statements it must parse to, in order.

    Raises:
        KnowledgeBaseError: the text does not parse, or parses to other statements.
    """
    from greybox.lang.parser import parse_program

    try:
        got = parse_program(new_text, file=name).statements
    except ParseError as err:
        got = err
    if got != tuple(expected):
        raise KnowledgeBaseError(
            f"the edited text of {name} would not read back as intended, so nothing was written",
            file=name, hint="edit the file by hand; the printer or the file's layout confused the edit",
        )


def write_if_unchanged(name: str, original: bytes, new_text: str) -> None:
    """Replace the file atomically with ``new_text``, if it still holds ``original``.

    Args:
        name: the file's path.
        original: the bytes read before the edit (from ``read``).
        new_text: the new content.

    Raises:
        KnowledgeBaseError: the file changed since it was read; nothing is written.
    """
    if Path(name).read_bytes() != original:
        raise KnowledgeBaseError(f"{name} changed while it was being edited; nothing was written",
                                 file=name, hint="run the command again")
    atomic_write_text(name, new_text)


def normalize(node):
    """The statement with variables renamed V1, V2, ... in order of appearance (``_`` kept).

    Args:
        node: a statement (or any AST node, or tuple of them).

    Returns:
        The same node with its variables renamed, so that two statements that differ
        only in the names of their variables compare (and hash) equal.
    """
    names: dict[str, str] = {}

    def walk(x):
        if isinstance(x, Var):
            if x.name == "_":
                return x
            return Var(names.setdefault(x.name, f"V{len(names) + 1}"))
        if isinstance(x, tuple):
            return tuple(walk(y) for y in x)
        if dataclasses.is_dataclass(x) and not isinstance(x, (type, Span)):
            return dataclasses.replace(
                x, **{f.name: walk(getattr(x, f.name)) for f in dataclasses.fields(x) if f.name != "span"}
            )
        return x

    return walk(node)


def reject(problems: list[GreyboxError], before: list[GreyboxError]) -> GreyboxError:
    """The error to raise for an add that leaves ``problems``; marks those that were already there.

    Args:
        problems: the problems of the edited program (at least one).
        before: the problems of the program before the edit; those in ``problems`` too
            get a hint saying so.

    Returns:
        The one problem, or a ``ProblemList`` of all of them.
    """
    old = Counter((type(p).__name__, p.message, p.file, p.line, p.column) for p in before)
    for p in problems:
        key = (type(p).__name__, p.message, p.file, p.line, p.column)
        if old[key] > 0:
            old[key] -= 1
            p.hint = "this problem was there before the edit; fix it first" + (f" ({p.hint})" if p.hint else "")
    return problems[0] if len(problems) == 1 else ProblemList(problems)
