"""Crash-safe file replacement: a reader sees the old file or the new one, never a mix.

``atomic_write_text`` writes to a temporary file in the target's folder, flushes and
fsyncs it, renames it over the target with ``os.replace`` (atomic on POSIX and on
Windows within one volume) and fsyncs the folder so that the rename itself survives
a power cut. If anything fails before the rename the temporary file is removed and
the target is untouched. A symbolic link is followed: the file it points to is
replaced (in that file's folder) and the link stays a link.

A process killed outright (``SIGKILL``) can leave a temporary file behind, named
``.NAME.XXXXXXXX.tmp`` beside the target; the knowledge-base loader skips hidden
files, and ``remove_stale_temps`` deletes them. Writers that may run at the same time
(knowledge-base edits) serialise through ``file_lock``, which holds an advisory lock
(``fcntl.flock``) on the empty file ``.NAME.lock`` beside the target; that file stays
when the lock is released (deleting it would let a waiting process lock a file that
no longer has a name while a third one creates and locks a new one).

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> target = folder / "rules.dl"
    >>> atomic_write_text(target, "p(a).\\n")
    >>> target.read_text()
    'p(a).\\n'
    >>> sorted(p.name for p in folder.iterdir())
    ['rules.dl']
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Iterator

try:  # POSIX; elsewhere ``file_lock`` only resolves the path
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = [
    "atomic_write_text",
    "atomic_write_bytes",
    "resolve_target",
    "file_lock",
    "lock_path",
    "temp_files",
    "remove_stale_temps",
    "TEMP_SUFFIX",
    "LOCK_SUFFIX",
]

#: Suffix of the temporary files written next to the target.
TEMP_SUFFIX = ".tmp"
#: Suffix of the lock file ``.NAME.lock`` that ``file_lock`` keeps next to the target.
LOCK_SUFFIX = ".lock"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically.

    Args:
        path: the file to write; its folder must exist.
        data: the complete new content.

    Raises:
        OSError: the folder is missing or not writable, the disk is full, ...; the
            target is unchanged and no temporary file is left behind.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.bin"
        >>> atomic_write_bytes(p, b"\\x00\\x01")
        >>> p.read_bytes()
        b'\\x00\\x01'
    """
    target = resolve_target(path)
    folder = target.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        _keep_mode(target, tmp_name)
        os.replace(tmp_name, target)
    except BaseException:
        # any failure (including KeyboardInterrupt) before or during the rename:
        # the target is untouched, so only the temporary file has to go
        try:
            os.unlink(tmp_name)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def atomic_write_text(path: str | os.PathLike, text: str, *, encoding: str = "utf-8") -> None:
    """Replace the text file ``path`` with ``text`` atomically (see the module docstring).

    Args:
        path: the file to write; its folder must exist.
        text: the complete new content; written as is (no newline translation).
        encoding: text encoding, UTF-8 by default.

    Raises:
        OSError: as ``atomic_write_bytes``; the target is then unchanged.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "k.dl"
        >>> atomic_write_text(p, "a.\\n"); atomic_write_text(p, "b.\\n")
        >>> p.read_text()
        'b.\\n'
    """
    atomic_write_bytes(path, text.encode(encoding))


def resolve_target(path: str | os.PathLike) -> Path:
    """The file that writing ``path`` must change: symbolic links followed, made absolute.

    Args:
        path: a file name, possibly a link (or a chain of links) to the real file.

    Returns:
        The real file's path (which need not exist yet).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> (folder / "real.dl").write_text("p(a).\\n")
        6
        >>> (folder / "link.dl").symlink_to("real.dl")
        >>> resolve_target(folder / "link.dl") == (folder / "real.dl").resolve()
        True
    """
    return Path(os.path.realpath(os.fspath(path)))


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file of ``path``: ``.NAME.lock`` beside the real file (links followed).

    Example:
        >>> lock_path("/kb/rules.dl").name
        '.rules.dl.lock'
    """
    target = resolve_target(path)
    return target.with_name(f".{target.name}{LOCK_SUFFIX}")


@contextlib.contextmanager
def file_lock(path: str | os.PathLike) -> Iterator[Path]:
    """Hold the exclusive advisory lock of ``path`` while the ``with`` block runs.

    Every process that edits ``path`` through ``file_lock`` waits for the one holding
    it, so a read, check, write and rename made under the lock cannot interleave with
    another. The lock is ``fcntl.flock`` on ``.NAME.lock`` beside the real file (links
    followed); the kernel releases it when the holder exits, even by ``SIGKILL``, so a
    killed edit never blocks the next one. The lock file, empty, stays afterwards.

    Args:
        path: the file to be edited (it need not exist).

    Yields:
        The real file's path (``resolve_target(path)``).

    Raises:
        OSError: the lock file cannot be created or opened (read-only folder, ...).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> with file_lock(folder / "k.dl") as target:
        ...     target.write_text("p(a).\\n")
        6
        >>> sorted(p.name for p in folder.iterdir())
        ['.k.dl.lock', 'k.dl']
    """
    target = resolve_target(path)
    if fcntl is None:  # pragma: no cover
        yield target
        return
    # read-only is enough for flock, so another user who may edit the file can lock it too;
    # a lock file that is a link is refused (ELOOP) rather than followed to create a file elsewhere
    flags = os.O_RDONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(lock_path(target), flags, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield target
    finally:
        os.close(fd)  # releases the lock


def temp_files(path: str | os.PathLike) -> list[Path]:
    """The temporary files that saves of ``path`` create (``.NAME.XXXXXXXX.tmp``), sorted.

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / ".k.dl.ab12cd34.tmp").write_text("half")
        >>> _ = (folder / ".k.dl.x.dl.ab12cd34.tmp").write_text("another file's")
        >>> [p.name for p in temp_files(folder / "k.dl")]
        ['.k.dl.ab12cd34.tmp']
    """
    target = resolve_target(path)
    pattern = re.compile(r"\." + re.escape(target.name) + r"\.[a-z0-9_]{8}" + re.escape(TEMP_SUFFIX))
    try:
        names = os.listdir(target.parent)
    except FileNotFoundError:
        return []
    return sorted(target.parent / n for n in names if pattern.fullmatch(n))


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Delete the temporary files that interrupted saves of ``path`` left behind.

    Call it while holding ``file_lock(path)``: every locked writer removes its own
    temporary file before it lets the lock go, so any that is there then belongs to a
    writer that was killed. (A writer that saves ``path`` without the lock at that very
    moment would lose its temporary file and fail; greybox's edits all take the lock.)

    Args:
        path: the file whose leftovers to delete.

    Returns:
        The files deleted.

    Raises:
        OSError: a leftover cannot be deleted (e.g. a read-only folder).

    Example:
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> _ = (folder / ".k.dl.ab12cd34.tmp").write_text("half")
        >>> [p.name for p in remove_stale_temps(folder / "k.dl")], list(folder.iterdir())
        (['.k.dl.ab12cd34.tmp'], [])
    """
    removed = []
    for leftover in temp_files(path):
        try:
            os.unlink(leftover)
        except FileNotFoundError:
            continue
        removed.append(leftover)
    return removed


def _keep_mode(target: Path, tmp_name: str) -> None:
    """Give the new file the permission bits of the file it replaces (mkstemp makes it 0600)."""
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        # reading the umask means setting it, which races with other threads: use rw-r--r--
        mode = 0o644
    os.chmod(tmp_name, mode)


def _fsync_folder(folder: Path) -> None:
    """Persist the rename; folders cannot be opened for fsync on every platform, so best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
