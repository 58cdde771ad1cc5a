"""One rule file, edited safely: read, parse, check and rewrite it.

The steps shared by every edit of a ``.dl`` file (``add_rule``, ``remove_rule``,
``merge_rules``):

* ``read`` takes the file's bytes (rule files only) and ``parse_file`` decodes and
  parses them, keeping the text exactly as it is;
* ``context`` loads the files that the program also needs, and ``reject`` turns the
  problems of an edited program into the error to raise;
* ``normalize`` renames a statement's variables, so that two statements compare
  equal when they differ only in the names of variables;
* ``edit_lock`` holds the file's lock from the read to the rename, so that two edits
  of one file run one after the other and neither loses the other's statement; it
  refuses a file that is read-only (its permission bits, its folder's, or its file
  system), and removes the temporary files an edit killed earlier left behind;
* ``verify`` re-parses the new text before it is written, and ``write_if_unchanged``
  replaces the file atomically (the real file, when the name is a symbolic link),
  unless someone else changed it in the meantime.

Every failure to write is a ``KnowledgeBaseError`` naming the file and the fix; the
file is then unchanged and no temporary file is left.

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
    >>> with edit_lock(name):
    ...     write_if_unchanged(name, original, new_text)
    >>> len(parse_file(name, read(name))[1].statements)
    2
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import stat
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from greybox.errors import ConfigError, GreyboxError, KnowledgeBaseError, ParseError, ProblemList
from greybox.kb.atomic import atomic_write_text, file_lock, lock_path, remove_stale_temps, resolve_target
from greybox.kb.knowledge_base import KnowledgeBase, RULE_EXTENSIONS
from greybox.lang.ast import Program, Span, Statement, Var

__all__ = [
    "read", "parse_file", "context", "edit_lock", "verify", "write_if_unchanged", "normalize", "reject",
]


def read(name: str) -> bytes:
    """The bytes of a rule file that is about to be edited.

    Args:
        name: the path of a rule file (one of ``RULE_EXTENSIONS``).

    Returns:
        The file's content, as it is on disk.

    Raises:
        ConfigError: the file is not a rule file, is missing or cannot be read.
    """
    _require_rule_file(name)
    try:
        return Path(name).read_bytes()
    except FileNotFoundError:
        raise _not_found(name) from None
    except OSError as err:
        raise ConfigError(f"cannot read {name}: {err}", hint="check the file's permissions") from None


@contextlib.contextmanager
def edit_lock(name: str) -> Iterator[None]:
    """Hold the lock of a rule file for one edit: read, check, write and rename under it.

    Two edits of one file (or of two links to it) never interleave: the second waits
    until the first has renamed its new file into place, then reads that. Before the
    lock is taken, an edit that could not be written is refused: the file has no write
    permission (its mode bits are checked, since the administrator may write anything),
    its folder does not let a new file be created beside it, or its file system is
    mounted read-only. Under the lock, the temporary files of earlier edits that were
    killed are deleted. The lock file ``.NAME.lock`` beside the real file stays (see
    ``greybox.kb.atomic``).

    Args:
        name: the rule file to edit (a symbolic link is followed).

    Raises:
        ConfigError: the file is not a rule file or is missing.
        KnowledgeBaseError: the file cannot be written (nothing is changed).
    """
    _require_rule_file(name)
    target = resolve_target(name)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        raise _not_found(name) from None
    except OSError as err:
        raise ConfigError(f"cannot read {name}: {err}", hint="check the file's permissions") from None
    _refuse_read_only(name, target, info)
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(file_lock(target))
            remove_stale_temps(target)
        except OSError as err:
            raise _write_error(name, target, err) from None
        yield


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
        KnowledgeBaseError: the file changed since it was read (by a program that does
            not take ``edit_lock``), or it cannot be written (a full disk, ...); the file
            is then unchanged and no temporary file is left.
    """
    if Path(name).read_bytes() != original:
        raise KnowledgeBaseError(f"{name} changed while it was being edited; nothing was written",
                                 file=name, hint="run the command again")
    try:
        atomic_write_text(name, new_text)
    except OSError as err:
        raise _write_error(name, resolve_target(name), err) from None


def normalize(node):
    """The statement with variables renamed V1, V2, ... in order of appearance (``_`` kept).

    Args:
        node: a statement (or any AST node, or tuple of them).

    Returns:
        The same node with its variables renamed, so that two statements that differ
        only in the names of their variables compare (and hash) equal.
    """
    names: dict[str, str] = {}
    built: list = []  # the rebuilt nodes, children before their parent
    # (node, False): first visit; (node, the names of the fields rebuilt, or the tuple's length): children done
    stack: list[tuple[Any, Any]] = [(node, False)]
    while stack:  # no recursion: a sum of 100,000 terms is as deep as that
        x, done = stack.pop()
        if isinstance(x, Var):
            built.append(x if x.name == "_" else Var(names.setdefault(x.name, f"V{len(names) + 1}")))
        elif done is not False:
            n = done if isinstance(done, int) else len(done)
            children = built[len(built) - n:]
            del built[len(built) - n:]
            built.append(tuple(children) if isinstance(done, int)
                         else dataclasses.replace(x, **dict(zip(done, children))))
        elif isinstance(x, tuple):
            stack.append((x, len(x)))
            stack.extend((y, False) for y in reversed(x))
        elif dataclasses.is_dataclass(x) and not isinstance(x, (type, Span)):
            fields = tuple(f.name for f in dataclasses.fields(x) if f.name != "span")
            stack.append((x, fields))
            stack.extend((getattr(x, f), False) for f in reversed(fields))
        else:
            built.append(x)
    return built[0]


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


# ---------------------------------------------------------------- helpers


def _require_rule_file(name: str) -> None:
    if Path(name).suffix.lower() not in RULE_EXTENSIONS:
        raise ConfigError(f"{name}: only rule files ({', '.join(RULE_EXTENSIONS)}) can be edited",
                          hint="knowledge-graph files are data: edit them with any tool")


def _not_found(name: str) -> ConfigError:
    return ConfigError(f"file not found: {name}",
                       hint=f"check the path, or create an empty file first: touch {name}")


def _link_note(name: str, target: Path) -> str:
    """`` (a link to TARGET)`` when ``name`` is a symbolic link, else ''."""
    return f" (a link to {target})" if os.path.islink(name) else ""


def _shown_paths(name: str, target: Path) -> tuple[str, str]:
    """The file and folder to name in a hint: as the user wrote them, or the link's target."""
    shown = str(target) if os.path.islink(name) else name
    return shown, os.path.dirname(shown) or "."


def _refuse_read_only(name: str, target: Path, info: os.stat_result) -> None:
    """Raise when an edit of ``target`` could not (or should not) be written."""
    folder = target.parent
    note = _link_note(name, target)
    shown, shown_folder = _shown_paths(name, target)
    if _read_only_file_system(folder):
        raise KnowledgeBaseError(
            f"the file{note} is on a read-only file system, so it was not edited", file=name,
            hint="remount that file system read-write, or copy the file somewhere writable and edit the copy",
        )
    if not info.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise KnowledgeBaseError(
            f"the file{note} is read-only (mode {stat.filemode(info.st_mode)}), so it was not edited",
            file=name, hint=f"if it should change, make it writable first: chmod u+w {shown}",
        )
    folder_mode = os.stat(folder).st_mode
    if not folder_mode & 0o222 or not os.access(folder, os.W_OK | os.X_OK):
        raise KnowledgeBaseError(
            f"the folder {shown_folder}{note and ' of the real file'} is read-only (mode "
            f"{stat.filemode(folder_mode)}) and an edit writes the new file beside the old one, so it was not edited",
            file=name, hint=f"make the folder writable first: chmod u+w {shown_folder}",
        )


def _read_only_file_system(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # no statvfs (Windows): the write itself will tell
        return False


def _write_error(name: str, target: Path, err: OSError) -> KnowledgeBaseError:
    """The error for an edit whose lock, temporary file, write or rename failed."""
    _, folder = _shown_paths(name, target)
    reason = err.strerror or str(err)
    if err.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        hint = f"free some space where {folder} is (see `df -h {folder}`), then run the command again"
    elif err.errno == errno.EROFS:
        hint = "remount that file system read-write, or copy the file somewhere writable and edit the copy"
    elif err.errno == errno.ELOOP and os.path.islink(lock_path(target)):
        hint = f"the lock file {lock_path(target)} is a symbolic link, which an edit never follows: delete it"
    elif err.errno in (errno.EACCES, errno.EPERM):
        hint = (f"an edit writes the new file in {folder} and renames it over the old one: "
                f"make that folder writable (chmod u+w {folder})")
    else:
        hint = f"check the disk and the folder {folder}, then run the command again"
    return KnowledgeBaseError(f"cannot write the edited file{_link_note(name, target)}: {reason}",
                              file=name, hint=hint)
