"""Images as terminal pictures: the PNG a trace holds, read back and shaded."""

from __future__ import annotations

import pytest

from greybox.trace.picture import picture_lines, png_pixels
from greybox.trace.render_html import png_data_uri


def _gradient(n: int) -> list[list[float]]:
    return [[(r * n + c) / (n * n - 1) for c in range(n)] for r in range(n)]


@pytest.mark.parametrize("scale", [1, 3, 7])
def test_an_8x8_image_is_8_lines_of_16_characters_whatever_its_scale(scale) -> None:
    lines = picture_lines(png_data_uri(_gradient(8), scale=scale))
    assert len(lines) == 8 and {len(line) for line in lines} == {16}
    assert lines[0].startswith("  ") and lines[-1].endswith("██")  # 0 is blank, 1 a full block
    assert all(a == b for line in lines for a, b in zip(line[::2], line[1::2]))  # two characters per pixel


def test_a_28x28_image_is_14_lines_of_28_characters() -> None:
    pixels = [[1.0 if 10 <= c < 18 else 0.0 for c in range(28)] for _ in range(28)]
    lines = picture_lines(png_data_uri(pixels, scale=2))
    assert len(lines) == 14 and {len(line) for line in lines} == {28}
    assert all(line == " " * 10 + "█" * 8 + " " * 10 for line in lines)


def test_pixels_round_trip_through_the_png() -> None:
    pixels = [[0.0, 0.5], [1.0, 0.25]]
    back = png_pixels(png_data_uri(pixels))
    assert back is not None and [[round(v * 255) for v in row] for row in back] == [[0, 128], [255, 64]]


@pytest.mark.parametrize("uri", ["", "data:image/jpeg;base64,AAAA", "data:image/png;base64,!!", "data:image/png;base64,AAAA"])
def test_anything_else_draws_nothing(uri) -> None:
    assert picture_lines(uri) == []
