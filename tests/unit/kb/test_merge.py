"""merge_rules and `greybox kb add-rule FILE --from SOURCE`: one checked, atomic edit."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from greybox.cli import main
from greybox.errors import KnowledgeBaseError, UnknownRelationError
from greybox.kb.merge import merge_rules
from greybox.lang.parser import parse_program

BASE = """% a small family
type parent(symbol, symbol).
parent(ann, bob).
grandparent(X, Z) :- parent(X, Y), parent(Y, Z).
"""

LEARNED = """% learned rules

% weight 0.9700
grandparent(A, C) :- parent(A, B), parent(B, C).

% weight 0.8100
% (second comment line)
ancestor(X, Z) :- parent(X, Y), parent(Y, Z).
ancestor(X, Y) :- parent(X, Y).
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    base, source = tmp_path / "family.dl", tmp_path / "learned.dl"
    base.write_text(BASE)
    source.write_text(LEARNED)
    return base, source


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_merge_appends_what_is_missing_with_its_comments(files) -> None:
    base, source = files
    done = merge_rules(base, source)
    assert done.added == ["ancestor(X, Z) :- parent(X, Y), parent(Y, Z).", "ancestor(X, Y) :- parent(X, Y)."]
    assert done.skipped == ["grandparent(A, C) :- parent(A, B), parent(B, C)."]  # same rule, other variable names
    assert done.first_line == 5
    assert base.read_text() == BASE + (
        "% weight 0.8100\n% (second comment line)\n"
        "ancestor(X, Z) :- parent(X, Y), parent(Y, Z).\nancestor(X, Y) :- parent(X, Y).\n")
    assert len(parse_program(base.read_text()).statements) == 5
    again = merge_rules(base, source)  # a second merge finds nothing to add and writes nothing
    assert again.added == [] and len(again.skipped) == 3


def test_a_merge_with_a_problem_writes_nothing(files, tmp_path: Path) -> None:
    base, _ = files
    bad = tmp_path / "bad.dl"
    bad.write_text("ancestor(X, Y) :- parent(X, Y).\nuncle(X, Z) :- parent(X, Y), brother(Y, Z).\n")
    before = _sha(base)
    with pytest.raises(UnknownRelationError, match="brother") as err:
        merge_rules(base, bad)
    assert err.value.file == str(bad) and err.value.line == 2
    assert _sha(base) == before
    bad.write_text("?- parent(ann, X).\n")
    with pytest.raises(KnowledgeBaseError, match="a query is not a statement"):
        merge_rules(base, bad)
    assert _sha(base) == before


def test_cli_add_rule_from_a_file(files, capsys) -> None:
    base, source = files
    assert main(["kb", "add-rule", str(base), "--from", str(source)]) == 0
    assert "added 2 statements from" in capsys.readouterr().out
    assert main(["kb", "add-rule", str(base), "--from", str(source)]) == 0
    assert "nothing to add" in capsys.readouterr().out
    before = _sha(base)
    assert main(["kb", "add-rule", str(base), "p(X) :- parent(X, _).", "--from", str(source)]) == 2
    assert "give either RULE or --from SOURCE" in capsys.readouterr().err
    assert main(["kb", "add-rule", str(base)]) == 2
    assert main(["kb", "add-rule", str(base), "--from", str(base) + ".missing.dl"]) == 2
    assert "file not found" in capsys.readouterr().err
    assert _sha(base) == before
