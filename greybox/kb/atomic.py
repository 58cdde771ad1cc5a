"""Crash-safe file replacement: a reader sees the old file or the new one, never a mix.

``atomic_write_text`` writes to a temporary file in the target's folder, flushes and
fsyncs it, renames it over the target with ``os.replace`` (atomic on POSIX and on
Windows within one volume) and fsyncs the folder so that the rename itself survives
a power cut. If anything fails before the rename the temporary file is removed and
the target is untouched. A process killed outright (``SIGKILL``) can leave a
temporary file behind; its name starts with ``.`` and ends with ``.tmp``, so the
knowledge-base loader, which reads only the files it is given, never picks it up.

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

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_text", "atomic_write_bytes", "TEMP_SUFFIX"]

#: Suffix of the temporary files written next to the target.
TEMP_SUFFIX = ".tmp"


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
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
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
