"""Rule files as bytes: decoded as text mode reads them, or a ParseError at the bad bytes."""

from __future__ import annotations

import pytest

from greybox.errors import ConfigError, ParseError
from greybox.lang import check_program, parse_program
from greybox.lang.source import decode_source, read_source


def test_line_endings_are_read_as_text_mode_reads_them():
    assert decode_source(b"p(a).\r\nq(b).\rr(c).\n") == "p(a).\nq(b).\nr(c).\n"
    with pytest.raises(ParseError) as caught:
        parse_program(decode_source(b"p(a).\rq(X :- p(X).", "k.dl"), "k.dl")
    assert (caught.value.line, caught.value.column) == (2, 5)


def test_a_byte_order_mark_is_white_space():
    text = decode_source(b"\xef\xbb\xbfp(a).\nq(X) :- p(X).\n")
    program = parse_program(text)
    assert [s.head.predicate for s in program.clauses] == ["p", "q"]
    assert check_program(program) == []


def test_a_nul_byte_is_an_unexpected_character_where_it_stands():
    with pytest.raises(ParseError, match=r"k.dl:2:3: unexpected character '\\x00'"):
        parse_program(decode_source(b"p(a).\nq(\x00).\n", "k.dl"), "k.dl")


@pytest.mark.parametrize(
    ("data", "line", "column", "byte"),
    [
        (b"\xff", 1, 1, "0xff"),
        (b"p(a).\nq('caf\xe9').\n", 2, 7, "0xe9"),
        (b"p('\xc3\xa9t\xc3\xa9', \xc3).", 1, 10, "0xc3"),  # after two-byte characters: columns count characters
        (b"p(a).\r\nq(b).\rr(\xed\xa0\x80).", 3, 3, "0xed"),  # a UTF-16 surrogate is not UTF-8
        (b"p(a).\n% \xf0\x9f\x98", 2, 3, "0xf0"),  # cut in the middle of a character
        (b"p(\xc0\xaf).", 1, 3, "0xc0"),  # an overlong form
    ],
)
def test_bytes_that_are_not_utf8_are_a_located_parse_error(data, line, column, byte):
    with pytest.raises(ParseError, match=f"not UTF-8 \\(byte {byte}\\)") as caught:
        decode_source(data, "bad.dl")
    err = caught.value
    assert (err.file, err.line, err.column) == ("bad.dl", line, column)
    assert err.hint == "save the file as UTF-8 text"
    assert str(err).splitlines()[2].index("^") == column + 1  # under the bad byte, after the two-space indent


def test_read_source(tmp_path):
    path = tmp_path / "k.dl"
    path.write_bytes(b"p(a).\r\n")
    assert read_source(path) == "p(a).\n"
    path.write_bytes(b"p(\xff).")
    with pytest.raises(ParseError, match=r"k.dl:1:3: the bytes here are not UTF-8"):
        read_source(path)
    with pytest.raises(ConfigError, match="file not found"):
        read_source(tmp_path / "missing.dl")


def test_errors_show_the_line_the_parser_counted_after_a_form_feed():
    # a form feed is white space to the parser, not a line break
    text = decode_source(b"p(a).\x0cq(b).\nr(X) :- s(X).\n")
    (error,) = check_program(parse_program(text, "f.dl"), source=text)
    assert (error.line, error.source_line) == (2, "r(X) :- s(X).")
