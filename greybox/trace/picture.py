"""A perceived image as a small terminal picture: Unicode shading, one character per pixel.

The trace keeps images as PNG data URIs (``render_html.png_data_uri``); this module reads
those back (8-bit grayscale, the only kind greybox writes), undoes the scaling they
were written with, and draws each pixel with `` ░▒▓█`` (blank for 0, full block for
1). An 8x8 image is 8 lines of 16 characters (two per pixel, so that it looks
square); a 28x28 image is 14 lines of 28 characters (two pixel rows per line).

Example:
    >>> from greybox.trace.render_html import png_data_uri
    >>> picture_lines(png_data_uri([[0.0, 1.0], [0.5, 0.0]], scale=4))
    ['  ██', '▒▒  ']
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import Optional

__all__ = ["picture_lines", "png_pixels"]

_SHADES = " ░▒▓█"


def png_pixels(data_uri: str) -> Optional[list[list[float]]]:
    """The rows of an 8-bit grayscale PNG data URI as values in [0, 1]; None for any other image."""
    prefix = "data:image/png;base64,"
    if not data_uri.startswith(prefix):
        return None
    try:
        png = base64.b64decode(data_uri[len(prefix):], validate=True)
    except ValueError:
        return None
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    pos, width, height, data = 8, 0, 0, b""
    while pos + 8 <= len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        kind, body = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if (depth, color, interlace) != (8, 0, 0):
                return None  # not the plain grayscale greybox writes
        elif kind == b"IDAT":
            data += body
    try:
        raw = zlib.decompress(data)
    except zlib.error:
        return None
    if not width or len(raw) != height * (width + 1):
        return None
    rows = []
    for r in range(height):
        line = raw[r * (width + 1):(r + 1) * (width + 1)]
        if line[0] != 0:
            return None  # a PNG filter greybox does not write
        rows.append([b / 255 for b in line[1:]])
    return rows


def _unscale(rows: list[list[float]]) -> list[list[float]]:
    """The image before ``png_data_uri(scale=s)``: the largest s whose s x s blocks are all one value."""
    h, w = len(rows), len(rows[0])
    for s in range(min(h, w), 1, -1):
        if h % s or w % s:
            continue
        if all(rows[r][c] == rows[r - r % s][c - c % s] for r in range(h) for c in range(w)):
            return [row[::s] for row in rows[::s]]
    return rows


def _shade(v: float) -> str:
    return _SHADES[min(len(_SHADES) - 1, max(0, round(v * (len(_SHADES) - 1))))]


def picture_lines(data_uri: str, max_lines: int = 14) -> list[str]:
    """The image as lines of shading characters ([] when it is not a grayscale PNG).

    Args:
        data_uri: the image, as ``PerceivedInput.data_uri`` holds it.
        max_lines: pixel rows are averaged in pairs (or more) to stay within this many lines.

    Returns:
        The lines, all of one width, trailing blanks kept.
    """
    rows = png_pixels(data_uri) if data_uri else None
    if not rows:
        return []
    rows = _unscale(rows)
    if len(rows) <= max_lines:
        return ["".join(_shade(v) * 2 for v in row) for row in rows]  # two characters per pixel: square
    step = -(-len(rows) // max_lines)  # rows averaged per line
    lines = []
    for r in range(0, len(rows), step):
        block = rows[r:r + step]
        lines.append("".join(_shade(sum(col) / len(col)) for col in zip(*block)))
    return lines
