"""One self-contained HTML page to browse traces.

The page holds everything it needs: the style and the script are inlined from
``greybox/trace/assets/``, the traces are embedded as a ``TraceBatch`` JSON in
``<script type="application/json" id="trace-data">``, and digit images are PNG
data URIs. It loads nothing from anywhere (its Content-Security-Policy forbids
it), so it can be mailed, archived or opened offline.

The page lists the examples marked right / wrong (filter buttons ``#filter-all``,
``#filter-right``, ``#filter-wrong`` and a text filter ``#filter-text``) and shows
the selected one: ``#prediction`` and ``#alternatives``, ``#inputs`` (culprits have
the class ``culprit``), ``#why-not``, ``#proof-tree`` (collapsible ``details``),
``#attributions`` (bars) and ``#rules-used``; for a wrong prediction, the proofs of the
label in ``#label-proof-tree`` beside the proofs of the prediction; the trace's
``#provenance`` (config, checkpoint, SHA-256, greybox version). A trace of an untrained
model shows ``#untrained-banner`` on the page and ``#untrained-badge`` by its answer.
The summary gives an ``#accuracy`` only over several examples taken in a row: a batch
with a ``selection`` (e.g. wrong predictions only) names it in ``#selection`` instead. List items are
``#example-list li[data-index=N][data-correct=true|false|unknown]``.
The URL hash ``#filter=wrong&q=text&select=first|wrong-first|N`` sets the filters
and clicks an example when the page loads.

Example:
    >>> from greybox.trace.schema import DecisionTrace
    >>> t = DecisionTrace(task="t", split="test", index=0, query="q(X)", predicted="<b>a</b>",
    ...                   probability=0.5)
    >>> page = render_html([t], title="Run & <1>")
    >>> "<title>Run &amp; &lt;1&gt;</title>" in page, "<b>a</b>" in page
    (True, False)
"""

from __future__ import annotations

import base64
import html
import json
import re
import struct
import zlib
from importlib import resources
from typing import Sequence, Union

from greybox.errors import ConfigError
from greybox.trace.schema import SCHEMA_VERSION, DecisionTrace, TraceBatch

__all__ = ["render_html", "embed_json", "png_data_uri"]

_ASSETS = ("template.html", "trace.css", "trace.js")


def _asset(name: str) -> str:
    try:
        return resources.files("greybox.trace").joinpath("assets", name).read_text(encoding="utf-8")
    except OSError as e:  # a broken install: package data missing
        raise ConfigError(
            f"the trace page asset {name} is missing: {e}",
            hint="reinstall greybox; pyproject.toml must list trace/assets/* as package data",
        ) from e


def embed_json(text: str) -> str:
    """Make JSON text safe inside ``<script type="application/json">``.

    ``<``, ``>`` and ``&`` become ``\\u003c`` ... so no string can close the script
    element or open a comment; U+2028/U+2029 are escaped for old parsers.
    ``JSON.parse`` reads the result as the same value.

    Args:
        text: JSON text.

    Returns:
        The escaped JSON text.

    Example:
        >>> embed_json('{"a": "</script>"}')
        '{"a": "\\\\u003c/script\\\\u003e"}'
        >>> json.loads(embed_json('{"a": "</script>"}'))
        {'a': '</script>'}
    """
    return (
        text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    )


def render_html(
    traces: Union[Sequence[DecisionTrace], TraceBatch, DecisionTrace],
    title: str = "greybox traces",
    selection: str | None = None,
) -> str:
    """Render traces as one self-contained HTML page.

    Args:
        traces: a list of traces, a ``TraceBatch`` or a single trace.
        title: the page title (escaped).
        selection: how the traces were picked, when not in a row (``TraceBatch.selection``).

    Returns:
        The page as text; write it to a ``.html`` file and open it in a browser.

    Raises:
        ConfigError: an element of ``traces`` is not a ``DecisionTrace``, or the page assets are missing.

    Example:
        >>> page = render_html(TraceBatch(traces=[]))
        >>> page.startswith("<!DOCTYPE html>"), 'id="trace-data"' in page
        (True, True)
    """
    if isinstance(traces, DecisionTrace):
        batch = TraceBatch(traces=[traces])
    elif isinstance(traces, TraceBatch):
        batch = traces
    else:
        traces = list(traces)
        bad = [i for i, t in enumerate(traces) if not isinstance(t, DecisionTrace)]
        if bad:
            raise ConfigError(
                f"render_html needs DecisionTrace objects; item {bad[0]} is {type(traces[bad[0]]).__name__}",
                hint="read JSON traces with validate_trace_json() first",
            )
        batch = TraceBatch(traces=traces)
    if selection is not None:
        batch = batch.model_copy(update={"selection": selection})
    template, style, script = (_asset(name) for name in _ASSETS)
    values = {
        "TITLE": html.escape(title),
        "SCHEMA_VERSION": html.escape(SCHEMA_VERSION),
        "STYLE": style,
        "SCRIPT": script,
        "DATA": embed_json(batch.model_dump_json()),
    }
    # one pass, so a placeholder-like text inside the data or the title is never expanded
    return re.sub(r"\{\{([A-Z_]+)\}\}", lambda m: values[m.group(1)], template)


def png_data_uri(pixels: Sequence[Sequence[float]], *, scale: int = 1) -> str:
    """Encode a grayscale image as a PNG data URI (for ``PerceivedInput.data_uri``).

    Pure Python (``zlib``), no imaging library needed. For a tensor, pass ``t.tolist()``.

    Args:
        pixels: rows of values in [0, 1]; 0 is black, 1 is white.
        scale: repeat each pixel ``scale`` times in both directions.

    Returns:
        ``'data:image/png;base64,...'``.

    Raises:
        ConfigError: rows of different lengths, an empty image, or a value outside [0, 1].

    Example:
        >>> uri = png_data_uri([[0.0, 1.0], [1.0, 0.0]])
        >>> uri.startswith("data:image/png;base64,iVBORw0KGgo")
        True
    """
    rows = [list(r) for r in pixels]
    width = len(rows[0]) if rows else 0
    if not rows or width == 0 or any(len(r) != width for r in rows):
        raise ConfigError("png_data_uri needs a non-empty rectangular grid of pixels",
                          hint="pass a list of equally long rows, e.g. image.squeeze().tolist()")
    if scale < 1:
        raise ConfigError(f"scale must be >= 1, got {scale}", hint="use scale=1 for the image as is")
    raw = bytearray()
    for r in rows:
        for v in r:
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"pixel value {v} is outside [0, 1]",
                                  hint="normalise the image to [0, 1] first (e.g. x / 255)")
        line = bytes(round(v * 255) for v in r for _ in range(scale))
        for _ in range(scale):
            raw += b"\x00" + line  # filter type 0 (none) per scanline
    h, w = len(rows) * scale, width * scale

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))  # 8-bit grayscale
        + chunk(b"IDAT", zlib.compress(bytes(raw), 9))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
