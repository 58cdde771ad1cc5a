"""Bad cases of `greybox query` and `greybox kb check`, each failing on the code before its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greybox.cli import main

ROOT = Path(__file__).resolve().parents[2]
KINSHIP = ROOT / "knowledge" / "kinship.dl"


@pytest.fixture
def family(tmp_path: Path) -> Path:
    f = tmp_path / "family.tsv"
    f.write_text("head\trelation\ttail\nann\tfather\tbob\nbob\tsister\tcid\n")
    return f


def test_misspelt_query_relation_is_reported_with_a_suggestion(family: Path, capsys) -> None:
    # before: "no answers" and status 0
    assert main(["query", str(KINSHIP), str(family), "?- ant(ann, Who)."]) == 2
    err = capsys.readouterr().err
    assert "unknown relation ant/2" in err and "did you mean aunt/2?" in err


def test_misspelt_tsv_relation_is_flagged_by_kb_check(family: Path, capsys) -> None:
    # before: "ok" and status 0; the row was silently never used by the rules
    family.write_text(family.read_text() + "ann\taunnt\tbob\n")
    main(["kb", "check", str(KINSHIP), str(family)])
    err = capsys.readouterr().err
    assert f"{family}:4:" in err and "aunnt/2" in err and "did you mean aunt/2?" in err


def test_semiring_is_chosen_on_the_command_line(tmp_path: Path, capsys) -> None:
    # before: fixed to top-k proofs with the exact probability
    f = tmp_path / "k.dl"
    f.write_text("0.9 :: e(a, b).\n0.5 :: e(b, c).\n0.6 :: e(a, c).\nr(X, Y) :- e(X, Y).\nr(X, Z) :- e(X, Y), r(Y, Z).\n")
    assert main(["query", str(f), "?- r(a, c).", "--semiring", "max-mult", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["answers"][0]["probability"] == pytest.approx(0.6)


def test_queries_written_in_the_file_are_answered(tmp_path: Path, capsys) -> None:
    # before: a query on the command line was required
    f = tmp_path / "k.dl"
    f.write_text("0.4 :: a.\nb :- a.\n?- b.\n")
    assert main(["query", str(f)]) == 0
    assert capsys.readouterr().out.splitlines() == ["?- b.", "1. yes    p = 0.4"]


def test_evidence_statements_condition_the_probabilities(tmp_path: Path, capsys) -> None:
    # before: `evidence(alarm, true).` with a compound atom did not parse
    f = tmp_path / "alarm.dl"
    f.write_text("0.1 :: burglary.\n0.2 :: earthquake.\nalarm(house) :- burglary.\nalarm(house) :- earthquake.\n"
                 "evidence(alarm(house), true).\n?- burglary.\n")
    assert main(["query", str(f), "--format", "json"]) == 0
    p = json.loads(capsys.readouterr().out)["queries"][0]["answers"][0]["probability"]
    assert p == pytest.approx(0.1 / (1 - 0.9 * 0.8))


def test_limit_hint_names_an_option_of_the_command(tmp_path: Path, capsys) -> None:
    # before: the hint said "raise max_tuples", which the command had no option for
    f = tmp_path / "n.dl"
    f.write_text("n(0).\nn(Y) :- n(X), Y is X + 1.\n")
    assert main(["query", str(f), "?- n(X).", "--max-tuples", "100"]) == 2
    assert "--max-tuples (now 100)" in capsys.readouterr().err


def test_an_unrelated_runaway_relation_is_not_evaluated(tmp_path: Path, capsys) -> None:
    # before: the whole program was evaluated, so the query failed on `n`'s limit
    f = tmp_path / "n.dl"
    f.write_text("n(0).\nn(Y) :- n(X), Y is X + 1.\nedge(a, b).\nreach(X, Y) :- edge(X, Y).\n")
    assert main(["query", str(f), "?- reach(a, X).", "--max-tuples", "100", "--semiring", "max-mult"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "1. X = b    p = 1"


def test_most_probable_explanation(tmp_path: Path, capsys) -> None:
    # before: no --mpe
    f = tmp_path / "alarm.dl"
    f.write_text("0.1 :: burglary.\n0.2 :: earthquake.\nalarm :- burglary.\nalarm :- earthquake.\n")
    assert main(["query", str(f), "--mpe", "--evidence", "alarm=true", "--format", "json"]) == 0
    mpe = json.loads(capsys.readouterr().out)["mpe"]
    assert mpe["probability"] == pytest.approx(0.9 * 0.2) and [x["fact"] for x in mpe["true"]] == ["earthquake"]
