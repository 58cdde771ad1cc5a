"""Bad input to the reading of theories stated in English: an explicit answer or a clear error, never a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greybox.errors import ParseError
from greybox.trace.schema import validate_trace_json
from tasks.rules_in_language.data import RuleTakerDataModule, collate_questions
from tasks.rules_in_language.explain import trace_of
from tasks.rules_in_language.files import RuleQuestion, read_questions
from tasks.rules_in_language.model import RulesInLanguageTask
from tests.helpers.rule_templates import TemplateReader

ROOT = Path(__file__).resolve().parents[2]


def _ask(world: str, sentences: tuple[str, ...], question: str, label: int = 1):
    model = RulesInLanguageTask(TemplateReader(confidence=0.9), world=world)
    batch = collate_questions([RuleQuestion("q", "t", sentences, question, label, depth=0, options=3 if world == "open" else 2)])
    decoded = model.decode(batch)[0]
    trace = trace_of(decoded, label=label)
    validate_trace_json(trace.model_dump_json())  # the trace is valid data
    return model, batch, decoded, trace


@pytest.mark.parametrize("world, verdict", [("closed", "false"), ("open", "unknown")])
def test_empty_theory_answers_and_says_so(world: str, verdict: str) -> None:
    model, batch, decoded, trace = _ask(world, (), "Bob is big.", label=1 if world == "closed" else 2)
    assert decoded.verdict == verdict and trace.correct
    assert "the theory is empty: nothing is derived" in trace.notes
    assert model.loss(batch).isfinite()


@pytest.mark.parametrize("world, verdict", [("closed", "false"), ("open", "unknown")])
def test_question_about_an_entity_the_theory_never_names(world: str, verdict: str) -> None:
    _, _, decoded, trace = _ask(world, ("Bob is big.", "If something is big then it is red."), "Zed is red.")
    assert decoded.verdict == verdict
    assert "the theory never names zed" in trace.notes


def test_unreadable_sentence_is_explicit_in_the_trace() -> None:
    _, batch, decoded, trace = _ask("closed", ("Bob is big.", "Colorless green ideas sleep furiously.",
                                               "If something is big then it is red."), "Bob is red.", label=0)
    assert decoded.verdict == "true"
    assert trace.inputs[1].read_as == "unreadable sentence: no logical form"
    assert any(n.startswith("[s2] unreadable sentence") for n in trace.notes)
    assert decoded.program.unreadable == (1,) and "% [s2] Colorless green ideas sleep furiously.  (unreadable" \
        in decoded.program.text


def test_unreadable_question_is_answered_unknown_in_the_open_world() -> None:
    _, _, decoded, trace = _ask("open", ("Bob is big.",), "Is it raining on Bob?", label=2)
    assert decoded.verdict == "unknown" and decoded.answer is None
    assert any("is unreadable" in n for n in trace.notes)


@pytest.mark.parametrize("name, text, line", [
    ("stories.csv", "story,query,target\nAnn is tall.,x,y\n", 1),
    ("bad.jsonl", '{"id": "T", "context": "Bob is big.", "questions": []}\n{"id": 3}\n', 2),
    ("bad.json", json.dumps([{"id": "X_Q1", "context": "c", "question": "q", "options": ["A) Yes"], "answer": "A"}]), 1),
])
def test_a_file_in_neither_format_is_a_parse_error_naming_file_and_line(tmp_path: Path, name: str, text: str,
                                                                       line: int) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ParseError, match=rf"{name}:{line}.*(not a JSON line|not a RuleTaker theory|is not 'X\) True')") as err:
        read_questions(path)
    assert "hint: give a RuleTaker .jsonl file" in str(err.value)


def test_greybox_test_on_a_file_in_neither_format_reports_it(tmp_path: Path, monkeypatch, capsys) -> None:
    from greybox.training.cli import lightning_main
    from tests.helpers.rules_tiny import write_config

    monkeypatch.chdir(ROOT)
    config = write_config(tmp_path)
    (tmp_path / "notes.jsonl").write_text("these are notes, not questions\n")
    status = lightning_main(["test", "--config", str(config), "--data.init_args.test_split=notes",
                             "--trainer.enable_progress_bar=false"])
    assert status == 2
    err = capsys.readouterr().err
    assert "notes.jsonl:1" in err and "not a JSON line" in err


def test_missing_test_split_names_the_splits_there(tmp_path: Path) -> None:
    from greybox.errors import ConfigError
    from tests.helpers.rules_tiny import write_ruletaker

    write_ruletaker(tmp_path)
    with pytest.raises(ConfigError, match="RuleTaker split 'nope' not found") as err:
        RuleTakerDataModule(data_dir=str(tmp_path), test_split="nope").setup("test")
    assert "tiny" in str(err.value)
