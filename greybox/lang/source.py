"""Rule files as bytes: decoding them into source text, or a located error.

A rule file is UTF-8. :func:`decode_source` turns its bytes into the text the
parser reads, the way Python's text mode reads a file (``\\r\\n`` and a lone
``\\r`` end a line like ``\\n``); a byte order mark at the start is kept and
read as white space by the parser. Bytes that are not UTF-8 raise a
:class:`~greybox.errors.ParseError` at the line and column where the bad bytes
start, with that line shown up to them; any other byte (a NUL, a control
character) decodes and is reported by the parser where it stands.

Example:
    >>> decode_source(b"p(a).\\r\\nq(b).\\r\\n")
    'p(a).\\nq(b).\\n'
    >>> try:
    ...     decode_source(b"p(a).\\nq('caf\\xe9').\\n", file="k.dl")
    ... except ParseError as err:
    ...     print(err)
    k.dl:2:7: the bytes here are not UTF-8 (byte 0xe9)
      q('caf
            ^
    hint: save the file as UTF-8 text
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import ConfigError, ParseError

__all__ = ["decode_source", "read_source"]


def decode_source(data: bytes, file: str | None = None) -> str:
    """The source text of a rule file's bytes.

    Args:
        data: the bytes of the file.
        file: the file name for errors.

    Returns:
        The text, with ``\\r\\n`` and ``\\r`` turned into ``\\n``.

    Raises:
        ParseError: the bytes are not UTF-8 (at the line and column of the first bad byte).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise _not_utf8(data, err, file) from None
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def read_source(path: str | os.PathLike) -> str:
    """Read and decode a rule file (see :func:`decode_source`).

    Raises:
        ConfigError: the file is missing or cannot be read.
        ParseError: the file is not UTF-8 text.
    """
    name = os.fspath(path)
    try:
        data = Path(name).read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"file not found: {name}", hint="check the path") from None
    except OSError as err:
        raise ConfigError(f"cannot read {name}: {err}", hint="the file must be readable UTF-8 text") from None
    return decode_source(data, name)


def _not_utf8(data: bytes, err: UnicodeDecodeError, file: str | None) -> ParseError:
    start = err.start
    # data[:start] is valid UTF-8 (the decoder stopped at the first bad byte)
    before = data[:start].decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    line_start = before.rfind("\n") + 1
    return ParseError(
        f"the bytes here are not UTF-8 (byte 0x{data[start]:02x})",
        file=file,
        line=before.count("\n", 0, line_start) + 1,
        column=len(before) - line_start + 1,
        source_line=before[line_start:],
        hint="save the file as UTF-8 text",
    )
