"""add_rule / remove_rule / list_rules: checked edits that leave a rejected file untouched."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from greybox.errors import (
    ConfigError,
    KnowledgeBaseError,
    ParseError,
    ProblemList,
    StratificationError,
    UnknownRelationError,
    UnsafeRuleError,
)
from greybox.kb.edit import add_rule, list_rules, remove_rule

BASE = """% a small family
parent(ann, bob).
parent(bob, cid).   % bob is cid's parent
person(ann). person(bob). person(cid).

grandparent(X, Z) :- parent(X, Y),
                     parent(Y, Z).
"""


@pytest.fixture
def kb_file(tmp_path: Path) -> Path:
    f = tmp_path / "family.dl"
    f.write_text(BASE)
    return f


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---------------------------------------------------------------- list


def test_list_numbers_every_statement_with_its_line(kb_file: Path) -> None:
    listed = list_rules(kb_file)
    assert [(s.number, s.line) for s in listed] == [(1, 2), (2, 3), (3, 4), (4, 4), (5, 4), (6, 6)]
    assert listed[5].text == "grandparent(X, Z) :- parent(X, Y), parent(Y, Z)."


# ---------------------------------------------------------------- add


def test_add_appends_formatted_rule_and_keeps_existing_text(kb_file: Path) -> None:
    done = add_rule(kb_file, "ancestor(X,Y):-parent(X,Y)")
    assert (done.number, done.line) == (7, 8)
    assert kb_file.read_text() == BASE + "ancestor(X, Y) :- parent(X, Y).\n"
    assert list_rules(kb_file)[-1].text == "ancestor(X, Y) :- parent(X, Y)."


def test_add_to_file_without_final_newline(tmp_path: Path) -> None:
    f = tmp_path / "k.dl"
    f.write_bytes(b"p(a).\r\nq(b).")
    done = add_rule(f, "r(X) :- p(X).")
    assert f.read_bytes() == b"p(a).\r\nq(b).\r\nr(X) :- p(X).\r\n"
    assert done.line == 3


def test_add_to_empty_file(tmp_path: Path) -> None:
    f = tmp_path / "k.dl"
    f.write_text("")
    add_rule(f, "0.5 :: coin(heads).")
    assert f.read_text() == "0.5 :: coin(heads).\n"


def test_parse_error_refers_to_the_rule_text(kb_file: Path) -> None:
    before = _sha(kb_file)
    with pytest.raises(ParseError) as info:
        add_rule(kb_file, "p(X :- q(X).")
    err = info.value
    assert (err.file, err.line, err.column) == ("<rule>", 1, 5)
    assert err.source_line == "p(X :- q(X)."
    assert _sha(kb_file) == before


def test_unsafe_rule_is_rejected(kb_file: Path) -> None:
    before = _sha(kb_file)
    with pytest.raises(UnsafeRuleError, match="X") as info:
        add_rule(kb_file, "lonely(X) :- \\+ parent(X, _).")
    assert info.value.file == "<rule>" and info.value.line == 1
    assert _sha(kb_file) == before


def test_unstratifiable_rule_is_rejected(kb_file: Path) -> None:
    before = _sha(kb_file)
    with pytest.raises(StratificationError):
        add_rule(kb_file, "parent(X, Y) :- person(X), person(Y), \\+ grandparent(X, Y).")
    assert _sha(kb_file) == before


def test_unknown_relation_is_rejected_unless_context_defines_it(kb_file: Path, tmp_path: Path) -> None:
    before = _sha(kb_file)
    with pytest.raises(UnknownRelationError, match="spouse"):
        add_rule(kb_file, "in_law(X, Z) :- spouse(X, Y), parent(Z, Y).")
    assert _sha(kb_file) == before
    other = tmp_path / "spouses.csv"
    other.write_text("ann,spouse,dan\n")
    add_rule(kb_file, "in_law(X, Z) :- spouse(X, Y), parent(Z, Y).", context_files=[other])
    assert "in_law(X, Z) :- spouse(X, Y), parent(Z, Y)." in kb_file.read_text()
    assert other.read_text() == "ann,spouse,dan\n"


def test_several_problems_come_together(kb_file: Path) -> None:
    before = _sha(kb_file)
    with pytest.raises(ProblemList) as info:
        add_rule(kb_file, "bad(X, W) :- nothing(X), parent(X, Y, Z).")
    kinds = {type(p).__name__ for p in info.value.problems}
    assert "UnknownRelationError" in kinds and len(info.value.problems) >= 2
    assert _sha(kb_file) == before


def test_duplicate_and_query_are_refused(kb_file: Path) -> None:
    before = _sha(kb_file)
    with pytest.raises(KnowledgeBaseError, match="already in .* as statement 6"):
        add_rule(kb_file, "grandparent(A, C) :- parent(A, B), parent(B, C).")
    with pytest.raises(KnowledgeBaseError, match="query"):
        add_rule(kb_file, "?- parent(ann, X).")
    assert _sha(kb_file) == before


def test_existing_broken_file_is_not_edited(tmp_path: Path) -> None:
    f = tmp_path / "k.dl"
    f.write_text("p(a).\nq(X :- p(X).\n")
    before = _sha(f)
    with pytest.raises(KnowledgeBaseError, match="does not parse"):
        add_rule(f, "r(a).")
    assert _sha(f) == before


def test_missing_file_and_kg_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        add_rule(tmp_path / "nope.dl", "p(a).")
    (tmp_path / "g.csv").write_text("a,r,b\n")
    with pytest.raises(ConfigError, match="only rule files"):
        add_rule(tmp_path / "g.csv", "p(a).")


# ---------------------------------------------------------------- remove


def test_remove_by_number_drops_the_line(kb_file: Path) -> None:
    done = remove_rule(kb_file, 2)
    assert (done.number, done.line, done.text) == (2, 3, "parent(bob, cid).")
    # its trailing comment went with it
    assert kb_file.read_text() == BASE.replace("parent(bob, cid).   % bob is cid's parent\n", "")


def test_remove_by_text_compares_syntax_not_spelling(kb_file: Path) -> None:
    done = remove_rule(kb_file, "grandparent(A,C) :- parent(A,B), parent(B,C)")
    assert done.number == 6
    assert kb_file.read_text() == BASE.replace(
        "grandparent(X, Z) :- parent(X, Y),\n                     parent(Y, Z).\n", "")


def test_remove_one_of_several_statements_on_a_line(kb_file: Path) -> None:
    remove_rule(kb_file, "person(bob).")
    assert "person(ann). person(cid).\n" in kb_file.read_text()
    remove_rule(kb_file, "4")  # now person(cid)
    assert "person(ann).\n" in kb_file.read_text()


def test_remove_that_breaks_the_program_is_refused(kb_file: Path) -> None:
    f = kb_file
    f.write_text(BASE + "uncle(X) :- grandparent(X, _).\n")
    remove_rule(f, "uncle(X) :- grandparent(X, _).")  # nothing needs uncle: fine
    assert f.read_text() == BASE
    with pytest.raises(KnowledgeBaseError, match=r"(?s)cannot be removed.*unknown relation parent") as info:
        for n in (1, 1):  # removing every parent fact leaves grandparent using an undefined relation
            remove_rule(f, n)
    assert any(isinstance(p, UnknownRelationError) for p in info.value.problems)
    assert "parent(ann, bob)." not in f.read_text()  # the first removal happened
    assert "parent(bob, cid)." in f.read_text()  # the second was refused


def test_remove_unknown_number_or_text(kb_file: Path) -> None:
    before = _sha(kb_file)
    with pytest.raises(KnowledgeBaseError, match="has no statement 9 \\(it has 6\\)"):
        remove_rule(kb_file, 9)
    with pytest.raises(KnowledgeBaseError, match="no statement of .* is 'parent\\(cid, ann\\).'"):
        remove_rule(kb_file, "parent(cid, ann).")
    with pytest.raises(ParseError):
        remove_rule(kb_file, "parent(cid, ")
    assert _sha(kb_file) == before
