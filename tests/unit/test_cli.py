"""The `greybox` command: kb check/list/add-rule/remove-rule, query, delegated commands."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from greybox import cli
from greybox.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = Path(sys.executable).parent / "greybox"

FAMILY = """% a family
father(ann, bob).
0.9 :: father(bob, cid).
person(ann). person(bob). person(cid).
grandfather(X, Z) :- father(X, Y), father(Y, Z).
"""


@pytest.fixture
def kb_file(tmp_path: Path) -> Path:
    f = tmp_path / "family.dl"
    f.write_text(FAMILY)
    return f


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _greybox(*args: str) -> subprocess.CompletedProcess:
    command = [str(CONSOLE)] if CONSOLE.exists() else [sys.executable, "-m", "greybox.cli"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(command + list(args), capture_output=True, text=True, env=env, timeout=120)


# ---------------------------------------------------------------- end to end (console script)


def test_console_add_rule_parse_error_exits_2_and_leaves_file(kb_file: Path) -> None:
    before = _sha(kb_file)
    done = _greybox("kb", "add-rule", str(kb_file), "p(X :- q(X).")
    assert done.returncode == 2
    assert "<rule>:1:5:" in done.stderr  # line 1, column 5 of the rule as typed
    assert "p(X :- q(X)." in done.stderr and "^" in done.stderr
    assert "was not changed" in done.stderr
    assert "Traceback" not in done.stderr
    assert _sha(kb_file) == before


def test_console_query_with_proofs(kb_file: Path) -> None:
    done = _greybox("query", str(kb_file), "?- grandfather(ann, Z).", "--proofs")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "1. Z = cid    p = 0.9" in out
    assert f"rule {kb_file}:5" in out  # the rule used, with file:line
    assert f"fact {kb_file}:3" in out and f"fact {kb_file}:2" in out


# ---------------------------------------------------------------- help and dispatch


def test_help_lists_every_subcommand(capsys) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("kb", "query", "fit", "validate", "test", "predict", "explain", "learn-rules"):
        assert name in out


def test_no_arguments_is_a_usage_error(capsys) -> None:
    assert main([]) == 2
    assert "usage: greybox" in capsys.readouterr().err


def test_delegated_command_that_cannot_load_exits_2(monkeypatch, capsys) -> None:
    monkeypatch.setitem(cli.DELEGATED, "fit", ("greybox_no_such_module.cli", "lightning_main", True, "train"))
    assert main(["fit", "--config", "x.yaml"]) == 2
    err = capsys.readouterr().err
    assert "`greybox fit` is not available" in err and "greybox_no_such_module" in err


def test_delegated_commands_get_their_arguments(monkeypatch) -> None:
    calls = []
    fake = types.ModuleType("fake_training")
    fake.lightning_main = lambda argv: calls.append(("lightning", argv))
    fake.main = lambda argv: calls.append(("main", argv)) or 3
    monkeypatch.setitem(sys.modules, "fake_training", fake)
    monkeypatch.setitem(cli.DELEGATED, "fit", ("fake_training", "lightning_main", True, ""))
    monkeypatch.setitem(cli.DELEGATED, "explain", ("fake_training", "main", False, ""))
    assert main(["fit", "--config", "a.yaml"]) == 0
    assert main(["explain", "--ckpt", "m.ckpt"]) == 3
    assert calls == [("lightning", ["fit", "--config", "a.yaml"]), ("main", ["--ckpt", "m.ckpt"])]


# ---------------------------------------------------------------- kb add-rule / remove-rule / list


@pytest.mark.parametrize(
    "rule, expected",
    [
        ("p(X :- q(X).", "<rule>:1:5:"),
        ("p(X) :- \\+ q(X).", "<rule>:1:"),
        ("father(X, Y) :- person(X), person(Y), \\+ grandfather(X, Y).", "through recursion"),
    ],
    ids=["syntax", "unsafe", "unstratifiable"],
)
def test_rejected_add_exits_2_and_changes_nothing(kb_file: Path, capsys, rule: str, expected: str) -> None:
    if "q(X)" in rule:  # give q a definition so that only the intended problem shows
        kb_file.write_text(FAMILY + "q(ann).\n")
    before = _sha(kb_file)
    assert main(["kb", "add-rule", str(kb_file), rule]) == 2
    err = capsys.readouterr().err
    assert expected in err
    assert "hint:" in err
    assert _sha(kb_file) == before


def test_unknown_relation_hint_mentions_with(kb_file: Path, capsys) -> None:
    assert main(["kb", "add-rule", str(kb_file), "uncle(X, Z) :- father(X, Y), brother(Y, Z)."]) == 2
    err = capsys.readouterr().err
    assert "unknown relation brother/2" in err and "--with FILE" in err


def test_add_with_context_file(kb_file: Path, tmp_path: Path, capsys) -> None:
    siblings = tmp_path / "siblings.tsv"
    siblings.write_text("bob\tbrother\tdan\n")
    code = main(["kb", "add-rule", str(kb_file), "uncle(X, Z) :- father(X, Y), brother(Y, Z).",
                 "--with", str(siblings)])
    assert code == 0
    assert capsys.readouterr().out.strip() == (
        f"added statement 7 at {kb_file}:6: uncle(X, Z) :- father(X, Y), brother(Y, Z).")
    assert kb_file.read_text() == FAMILY + "uncle(X, Z) :- father(X, Y), brother(Y, Z).\n"


def test_list_numbers_statements(kb_file: Path, capsys) -> None:
    assert main(["kb", "list", str(kb_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["#", "line", "statement"]
    assert lines[1].split(maxsplit=2) == ["1", "2", "father(ann, bob)."]
    assert lines[2].split(maxsplit=2) == ["2", "3", "0.9 :: father(bob, cid)."]
    assert lines[5].split(maxsplit=2) == ["5", "4", "person(cid)."]
    assert lines[6].split(maxsplit=2) == ["6", "5", "grandfather(X, Z) :- father(X, Y), father(Y, Z)."]
    assert len(lines) == 7


def test_remove_by_number_and_by_text(kb_file: Path, capsys) -> None:
    assert main(["kb", "remove-rule", str(kb_file), "4"]) == 0
    assert "removed statement 4 (line 4)" in capsys.readouterr().out
    assert "person(ann). person(cid).\n" in kb_file.read_text()
    assert main(["kb", "remove-rule", str(kb_file), "grandfather(A, C) :- father(A, B), father(B, C)"]) == 0
    assert "grandfather" not in kb_file.read_text()
    assert "removed statement 5 (line 5)" in capsys.readouterr().out
    assert main(["kb", "list", str(kb_file)]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + 4


def test_refused_remove_exits_2(kb_file: Path, capsys) -> None:
    kb_file.write_text("father(ann, bob).\ngrandfather(X, Z) :- father(X, Y), father(Y, Z).\n")
    before = _sha(kb_file)
    assert main(["kb", "remove-rule", str(kb_file), "1"]) == 2
    err = capsys.readouterr().err
    assert "cannot be removed" in err and "unknown relation father/2" in err and "was not changed" in err
    assert _sha(kb_file) == before


def test_missing_file_exits_2_without_traceback(tmp_path: Path, capsys) -> None:
    assert main(["kb", "list", str(tmp_path / "none.dl")]) == 2
    err = capsys.readouterr().err
    assert "file not found" in err and "none.dl" in err and "Traceback" not in err


# ---------------------------------------------------------------- kb check


def test_check_ok(kb_file: Path, capsys) -> None:
    assert main(["kb", "check", str(kb_file)]) == 0
    assert capsys.readouterr().out.strip() == "ok: 6 statements, 3 relations"


def test_check_lists_every_problem(tmp_path: Path, capsys) -> None:
    f = tmp_path / "bad.dl"
    f.write_text("p(a).\nq(X :- p(X).\nr(X) :- \\+ p(X).\ns(X) :- p(X), t(X).\n")
    g = tmp_path / "bad.csv"
    g.write_text("a,parent,b,7\n")
    assert main(["kb", "check", str(f), str(g)]) == 2
    err = capsys.readouterr().err
    assert f"{f}:2:" in err  # syntax
    assert f"{f}:3:" in err  # unsafe
    assert f"{f}:4:" in err and "unknown relation t/1" in err
    assert f"{g}:1:" in err and "between 0 and 1" in err
    assert err.strip().endswith("4 problems found")


def test_check_with_input_relation(tmp_path: Path, capsys) -> None:
    f = tmp_path / "k.dl"
    f.write_text("even(X) :- digit(X), X mod 2 = 0.\n")
    assert main(["kb", "check", str(f)]) == 2
    capsys.readouterr()
    assert main(["kb", "check", str(f), "--input", "digit/1"]) == 0


# ---------------------------------------------------------------- query


def test_query_json(kb_file: Path, tmp_path: Path, capsys) -> None:
    kg = tmp_path / "more.csv"
    kg.write_text("head,relation,tail,probability\ncid,father,dan,0.5\n")
    assert main(["query", str(kb_file), str(kg), "grandfather(X, Z)", "--format", "json", "--proofs"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["query"] == "?- grandfather(X, Z)."
    got = {(a["bindings"]["X"], a["bindings"]["Z"]): a["probability"] for a in result["answers"]}
    assert got == pytest.approx({("ann", "cid"): 0.9, ("bob", "dan"): 0.45})
    bob_dan = next(a for a in result["answers"] if a["bindings"]["X"] == "bob")
    origins = {f["origin"] for f in bob_dan["proofs"][0]["facts"]}
    assert origins == {f"{kb_file}:3", f"{kg}:2 (row 1)"}
    tree = bob_dan["proofs"][0]["tree"][0]
    assert tree["kind"] == "rule" and tree["origin"] == f"{kb_file}:5"
    assert [c["origin"] for c in tree["children"]] == [f"{kb_file}:3", f"{kg}:2 (row 1)"]


def test_query_without_answers_and_bad_query(kb_file: Path, capsys) -> None:
    assert main(["query", str(kb_file), "?- grandfather(cid, Z)."]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "no answers"
    assert main(["query", str(kb_file), "?- grandfather(cid, Z"]) == 2
    assert "<query>:1:" in capsys.readouterr().err


def test_a_delegated_commands_wrapped_mistake_is_one_line_and_a_bug_keeps_its_traceback(monkeypatch, capsys) -> None:
    from greybox.errors import ParseError

    def wrapped(argv):
        try:
            raise ParseError("unexpected ':-'", file="k.dl", line=2, column=4, source_line="p(X :- q.", hint="close '('")
        except ParseError as err:
            raise ValueError("Does not validate against any of the Union subtypes") from err

    fake = types.ModuleType("fake_training_errors")
    fake.lightning_main = wrapped
    fake.main = lambda argv: 1 / 0
    monkeypatch.setitem(sys.modules, "fake_training_errors", fake)
    monkeypatch.setitem(cli.DELEGATED, "fit", ("fake_training_errors", "lightning_main", True, ""))
    monkeypatch.setitem(cli.DELEGATED, "explain", ("fake_training_errors", "main", False, ""))
    monkeypatch.delenv("GREYBOX_DEBUG", raising=False)
    assert main(["fit", "--config", "a.yaml"]) == 2
    assert capsys.readouterr().err == "error: k.dl:2:4: unexpected ':-'\nhint: close '('\n"
    with pytest.raises(ValueError, match="Union subtypes"):
        main(["fit", "--config", "a.yaml", "--debug"])
    monkeypatch.setenv("GREYBOX_DEBUG", "1")
    with pytest.raises(ValueError, match="Union subtypes"):
        main(["fit", "--config", "a.yaml"])
    with pytest.raises(ZeroDivisionError):
        main(["explain"])


def test_explain_reports_a_config_mistake_in_one_line_and_its_hint(tmp_path, capsys) -> None:
    from greybox.cli import main

    bad = tmp_path / "bad.dl"
    bad.write_text("sum(S) :- digit(0, A), S is A +.\n")
    config = Path(__file__).resolve().parents[2] / "experiments/digit_sum/sum2_digits.yaml"
    assert main(["explain", "--config", str(config), f"--model.program={bad}", "--index", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith("error: ") and str(bad) in err[0]
    assert len(err) <= 2 and (len(err) == 1 or err[1].startswith("hint: "))
