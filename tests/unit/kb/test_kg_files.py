"""Reading knowledge-graph files: formats, headers, probabilities, bad rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from greybox.errors import ConfigError
from greybox.kb.kg_files import iter_kg_rows, read_kg_file, sanitize_relation


def _triples(rows):
    return [(r.head, r.relation, r.tail, r.probability) for r in rows]


def test_tsv_without_header(tmp_path: Path) -> None:
    f = tmp_path / "g.tsv"
    f.write_text("ann\tparent\tbob\nbob\tparent\tcid\t0.25\n")
    rows = read_kg_file(f)
    assert _triples(rows) == [("ann", "parent", "bob", None), ("bob", "parent", "cid", 0.25)]
    assert [(r.line, r.row) for r in rows] == [(1, 1), (2, 2)]


def test_csv_with_header_in_any_order_and_extra_columns(tmp_path: Path) -> None:
    f = tmp_path / "g.csv"
    f.write_text("tail,source_doc,relation,head,probability\nbob,d1,parent,ann,\n\ncid,d2,parent,bob,0.5\n")
    rows = read_kg_file(f)
    assert _triples(rows) == [("ann", "parent", "bob", None), ("bob", "parent", "cid", 0.5)]
    assert [(r.line, r.row) for r in rows] == [(2, 1), (4, 2)]


def test_csv_quoted_entity_with_comma(tmp_path: Path) -> None:
    f = tmp_path / "g.csv"
    f.write_text('head,relation,tail\n"Smith, Ann",parent,Bob\n')
    assert _triples(read_kg_file(f)) == [("Smith, Ann", "parent", "Bob", None)]


def test_jsonl_objects(tmp_path: Path) -> None:
    f = tmp_path / "g.jsonl"
    f.write_text('{"head": "ann", "relation": "parent", "tail": "bob"}\n\n'
                 '{"head": 7, "relation": "Next", "tail": 8, "probability": 0.9, "note": "x"}\n'
                 '{"head": "a", "relation": "r", "tail": "b", "probability": null}\n')
    rows = read_kg_file(f)
    assert _triples(rows) == [("ann", "parent", "bob", None), (7, "next", 8, 0.9), ("a", "r", "b", None)]
    assert [r.line for r in rows] == [1, 3, 4]


def test_relation_names_are_sanitised() -> None:
    assert sanitize_relation("father-in-law") == "father_in_law"
    assert sanitize_relation("/people/person/nationality") == "people_person_nationality"
    assert sanitize_relation("Has Part") == "has_part"
    assert sanitize_relation("p31") == "p31"


@pytest.mark.parametrize("bad", ["42", "", "---", "_", "9lives"])
def test_unusable_relation_name_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match="cannot be used"):
        sanitize_relation(bad, file="g.tsv", line=3)


def test_bad_relation_in_file_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "g.tsv"
    f.write_text("ann\tparent\tbob\nbob\t2nd-cousin\tcid\n")
    with pytest.raises(ConfigError, match=r"g\.tsv:2: relation name '2nd-cousin' cannot be used"):
        read_kg_file(f)


def test_bad_rows_are_all_reported_by_iter(tmp_path: Path) -> None:
    f = tmp_path / "g.csv"
    f.write_text("ann,parent\nann,parent,bob,1.5\nann,parent,bob,x\nann,parent,bob\n")
    items = list(iter_kg_rows(f))
    errors = [i for i in items if isinstance(i, ConfigError)]
    assert [e.line for e in errors] == [1, 2, 3]
    assert "expected 3 or 4 columns" in errors[0].message
    assert "between 0 and 1" in errors[1].message and "between 0 and 1" in errors[2].message
    assert _triples([i for i in items if not isinstance(i, ConfigError)]) == [("ann", "parent", "bob", None)]


def test_bad_json_line(tmp_path: Path) -> None:
    f = tmp_path / "g.jsonl"
    f.write_text('{"head": "a", "relation": "r", "tail": "b"}\n{"head": "a", "tail": "b"}\n[1]\n{oops\n')
    errors = [i for i in iter_kg_rows(f) if isinstance(i, ConfigError)]
    assert [(e.line, e.message) for e in errors[:2]] == [(2, "missing key relation"), (3, "missing keys head, relation, tail")]
    assert errors[2].line == 4 and errors[2].message.startswith("not valid JSON")


def test_missing_file_and_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"file not found: .*nope\.tsv"):
        read_kg_file(tmp_path / "nope.tsv")
    (tmp_path / "g.xml").write_text("<g/>")
    with pytest.raises(ConfigError, match="not a knowledge-graph file"):
        read_kg_file(tmp_path / "g.xml")


def test_row_wider_than_header_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "g.tsv"
    f.write_text("head\trelation\ttail\nann\tparent\tbob\t0.9\n")
    with pytest.raises(ConfigError, match=r"g\.tsv:2: row has 4 columns, the header 3"):
        read_kg_file(f)
