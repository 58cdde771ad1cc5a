"""Theories stated in English: the files, the program of a read theory, closed- and open-world answers,
the model's differentiable answer, the .dl export and the explain trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from greybox.neural.items import ItemLists
from greybox.neural.logical_forms import Literal, Reading
from greybox.neural.reading_program import theory_program
from tasks.rules_in_language.data import ProofWriterDataModule, RuleTakerDataModule, collate_questions
from tasks.rules_in_language.files import read_proofwriter, read_ruletaker
from tasks.rules_in_language.gold import GoldReader, parse_form
from tasks.rules_in_language.model import RulesInLanguageTask
from tasks.rules_in_language.reasoning import solve
from tests.helpers.rule_templates import TemplateReader
from tests.helpers.rules_tiny import CWA_THEORIES, write_config, write_proofwriter, write_ruletaker

ROOT = Path(__file__).resolve().parents[3]
NATLANG = ROOT.parent / "shared/data/ruletaker/NatLang"


def fact(pred: str, *args: str, neg: bool = False) -> Reading:
    return Reading(Literal(pred, args, negated=neg))


def rule(head: Literal, *body: Literal) -> Reading:
    return Reading(head, body)


def lit(pred: str, *args: str, neg: bool = False) -> Literal:
    return Literal(pred, args, negated=neg)


# ---------------------------------------------------------------- files and data modules


def test_ruletaker_file_reads_sentences_label_and_depth(tmp_path: Path) -> None:
    qs = read_ruletaker(write_ruletaker(tmp_path))
    assert len(qs) == 7 and qs[0].theory_id == "Tiny-1"
    assert qs[0].sentences[:2] == ("Bob is big.", "The cow chases Bob.")
    assert [q.label for q in qs[:4]] == [0, 0, 0, 1] and [q.depth for q in qs[:4]] == [1, 2, 0, 1]


def test_proofwriter_file_reads_statement_and_answers(tmp_path: Path) -> None:
    qs = read_proofwriter(write_proofwriter(tmp_path))
    assert [q.question for q in qs] == ["Bob is red.", "Bob is kind.", "Bob is round."]
    assert [q.label for q in qs] == [0, 1, 2] and {q.options for q in qs} == {3}
    assert qs[0].theory_id == "Tiny_T1"


def test_two_option_proofwriter_file_reads(tmp_path: Path) -> None:
    item = {"id": "X_T_Q1", "context": "Bob is big.", "question": "Is the following true or false? Bob is big.",
            "options": ["A) True", "B) False"], "answer": "A"}
    (tmp_path / "two.json").write_text(json.dumps([item]))
    (q,) = read_proofwriter(tmp_path / "two.json")
    assert q.options == 2 and q.label == 0


def test_validation_is_split_by_theory(tmp_path: Path) -> None:
    write_ruletaker(tmp_path)
    dm = RuleTakerDataModule(data_dir=str(tmp_path), test_split="tiny", train_splits=["tiny"], val_fraction=0.5)
    dm.setup("fit")
    train, val = dm.splits["train"], dm.splits["val"]
    assert train and val and not {q.theory_id for q in train} & {q.theory_id for q in val}
    batch = next(iter(dm.test_dataloader()))
    assert isinstance(batch["sentences"], ItemLists) and batch["depth"].tolist()[:3] == [1, 2, 0]


def test_proofwriter_module_holds_out_theories(tmp_path: Path) -> None:
    dm = ProofWriterDataModule(train_file=str(write_proofwriter(tmp_path)), val_fraction=0.0)
    dm.setup("test")
    assert len(dm.splits["test"]) == 0 and len(dm.splits["train"]) == 3


# ---------------------------------------------------------------- reasoning


def test_closed_world_negation_as_failure_and_negated_conclusion() -> None:
    sentences = ["Bob is big.", "If something is big and not cold then it is red.", "Red things are not big."]
    program = theory_program(sentences, [[fact("big", "bob")],
                                         [rule(lit("red", "X"), lit("big", "X"), lit("cold", "X", neg=True))],
                                         [rule(lit("big", "X", neg=True), lit("red", "X"))]])
    assert solve(program, fact("red", "bob")).verdict == "true"
    assert solve(program, fact("cold", "bob", neg=True)).verdict == "true"  # not derived: false under the closed world
    assert solve(program, fact("big", "bob", neg=True)).verdict == "false"  # the negated conclusion derives nothing
    assert program.inert == (2,)


@pytest.mark.parametrize("ground", [False, True])
def test_a_sentence_of_several_facts_writes_each_under_its_one_gate(ground: bool) -> None:
    sentences = ["Gary is feeling blue because he is too nice.", "Nice blue people are round."]
    both = Reading(lit("blue", "gary"), also=(lit("nice", "gary"),))
    program = theory_program(sentences, [[both], [rule(lit("round", "X"), lit("nice", "X"), lit("blue", "X"))]],
                             weights="gate", ground=ground)
    first = [st for st in program.statements if st.sentence == 0]
    assert len(first) == 2 and all(st.text.endswith("read(0, 0).") for st in first)
    assert {str(st.reading) for st in first} == {"blue(gary).", "nice(gary)."}
    plain = theory_program(sentences, [[both], [rule(lit("round", "X"), lit("nice", "X"), lit("blue", "X"))]], ground=ground)
    assert solve(plain, fact("round", "gary")).verdict == "true"


def test_a_proof_cites_a_sentence_of_two_premises_once() -> None:
    from tasks.rules_in_language.explain import sentence_proofs
    from tasks.rules_in_language.reasoning import question_atom

    sentences = ["Gary is feeling blue because he is too nice.", "Nice blue people are round."]
    program = theory_program(sentences, [[Reading(lit("blue", "gary"), also=(lit("nice", "gary"),))],
                                         [rule(lit("round", "X"), lit("nice", "X"), lit("blue", "X"))]])
    (proof,) = sentence_proofs(program, sentences, question_atom(lit("round", "gary"), program), "Gary is round.")
    assert proof.sentences == [1, 2]
    (step,) = proof.steps
    assert len(step.premises) == 2 and step.premises[0].startswith("Gary is feeling blue")


def test_negation_through_recursion_is_answered_by_the_well_founded_model() -> None:
    # blue <- round, not smart; round <- blue; smart <- round, cold: not stratified over relations
    sentences = ["Anne is quiet.", "If something is quiet then it is blue.", "If something is round and not smart then it is blue.",
                 "Blue things are round.", "If something is round and cold then it is smart.", "Bob is round."]
    readings = [[fact("quiet", "anne")], [rule(lit("blue", "X"), lit("quiet", "X"))],
                [rule(lit("blue", "X"), lit("round", "X"), lit("smart", "X", neg=True))],
                [rule(lit("round", "X"), lit("blue", "X"))], [rule(lit("smart", "X"), lit("round", "X"), lit("cold", "X"))],
                [fact("round", "bob")]]
    program = theory_program(sentences, readings)
    assert program.ground
    assert solve(program, fact("blue", "anne")).verdict == "true"
    assert solve(program, fact("blue", "bob")).verdict == "true"  # round and not smart
    assert solve(program, fact("smart", "bob")).verdict == "false"


def test_open_world_true_false_unknown_and_contradiction() -> None:
    sentences = ["Bob is big.", "If something is big then it is not kind.", "Bob is not cold."]
    readings = [[fact("big", "bob")], [rule(lit("kind", "X", neg=True), lit("big", "X"))], [fact("cold", "bob", neg=True)]]
    program = theory_program(sentences, readings, world="open")
    assert solve(program, fact("big", "bob")).verdict == "true"
    assert solve(program, fact("kind", "bob")).verdict == "false"
    assert solve(program, fact("kind", "bob", neg=True)).verdict == "true"
    assert solve(program, fact("cold", "bob")).verdict == "false"
    assert solve(program, fact("round", "bob")).verdict == "unknown"
    clash = theory_program(sentences + ["Bob is kind."], readings + [[fact("kind", "bob")]], world="open")
    answer = solve(clash, fact("big", "bob"))
    assert answer.verdict == "contradiction" and answer.contradictions == ("kind(bob)",)


def test_gold_forms_parse_like_the_reader_names_things() -> None:
    r = parse_form('((("something" "chases" "bald eagle" "+") ("something" "is" "cold" "~")) -> ("something" "visits" "Bob" "-"))')
    assert str(r) == "not visit(X, bob) :- chase(X, bald_eagle), not cold(X)."


@pytest.mark.skipif(not (NATLANG / "meta-dev.jsonl").is_file(), reason="NatLang data not found")
def test_gold_reader_answers_natlang_theories() -> None:
    reader = GoldReader([str(NATLANG / "meta-dev.jsonl")])
    questions = read_ruletaker(NATLANG / "dev.jsonl", limit=10)
    for q in questions:
        program = theory_program(q.sentences, reader.read(list(q.sentences)), weights="none")
        assert solve(program, reader.read([q.question])[0][0]).verdict == ("true", "false")[q.label], q.id


# ---------------------------------------------------------------- the model


def _batch(tmp_path: Path):
    write_ruletaker(tmp_path)
    return collate_questions(read_ruletaker(tmp_path / "tiny.jsonl"))


def test_model_answers_and_trains_the_reader_through_the_engine(tmp_path: Path) -> None:
    batch = _batch(tmp_path)
    model = RulesInLanguageTask(TemplateReader(confidence=0.8), world="closed")
    assert [d.verdict for d in model.decode(batch)] == [("true", "false")[q["label"] is False]
                                                         for t in CWA_THEORIES for q in t["questions"]]
    loss = model.loss(batch)
    loss.backward()
    assert torch.isfinite(loss) and model.reader.scale.grad is not None and model.reader.scale.grad != 0


def test_open_world_model_scores_three_answers(tmp_path: Path) -> None:
    batch = collate_questions(read_proofwriter(write_proofwriter(tmp_path)))
    model = RulesInLanguageTask(TemplateReader(confidence=0.9), world="open")
    assert [d.verdict for d in model.decode(batch)] == ["true", "false", "unknown"]
    scores = model.answer_scores(batch)
    assert scores.argmax(1).tolist() == [0, 1, 2]


def test_export_passes_kb_check_and_answers_like_the_model(tmp_path: Path) -> None:
    from greybox.cli import main as greybox_main
    from greybox.query_cli import run_query

    model = RulesInLanguageTask(TemplateReader(confidence=0.9), world="closed")
    sentences = list(read_ruletaker(write_ruletaker(tmp_path))[0].sentences)
    for question in ("Bob is kind.", "The cow is not kind.", "The cow is red."):
        decoded = model.decode_one(sentences, question)
        path = tmp_path / "theory.dl"
        path.write_text(model.export_theory(sentences, question))
        assert greybox_main(["kb", "check", str(path)]) == 0
        text = path.read_text()
        assert "% [s1] Bob is big.  (p=0.900)" in text and "0.9 :: big(bob)." in text
        derived = bool(run_query([path], text.rsplit("?- ", 1)[1].strip().join(["?- ", ""]), semiring="boolean")["answers"])
        negated = decoded.question_reading.head.negated
        assert (derived != negated) == (decoded.verdict == "true")
        best = run_query([path], "?- " + text.rsplit("?- ", 1)[1].strip(), semiring="max-mult")["answers"]
        p_atom = best[0]["probability"] if best else 0.0
        expected = decoded.answer.scores[0] if not negated else 1.0 - decoded.answer.scores[0]
        assert p_atom == pytest.approx(expected, abs=1e-9)


def test_explain_trace_cites_sentences(tmp_path: Path, monkeypatch, capsys) -> None:
    from greybox.training.explain import main as explain
    from greybox.trace.schema import validate_trace_json

    monkeypatch.chdir(ROOT)
    config = write_config(tmp_path)
    assert explain(["--config", str(config), "--index", "1", "--format", "json"]) == 0
    trace = validate_trace_json(capsys.readouterr().out)
    assert trace.predicted == "true" and trace.correct
    steps = [s.text() for s in trace.proofs[0].steps]
    assert steps[0] == ("Bob is big. [s1] + not cold(bob) + If something is big and it is not cold then it is red. [s3]"
                        " ⇒ red(bob)")
    assert steps[-1].endswith("If something is red then it is kind. [s4] ⇒ Bob is kind.")
    assert trace.proofs[0].sentences == [1, 3, 4]
    assert [i.read_as for i in trace.inputs][:1] == ["big(bob)."]
    # False under negation as failure: --why-not says what is missing
    assert explain(["--config", str(config), "--index", "3", "--why-not", "true"]) == 0
    text = capsys.readouterr().out
    assert "why not true?" in text and "unproved: big(cow)" in text


def test_greybox_read_writes_a_file_that_kb_check_accepts(tmp_path: Path, monkeypatch, capsys) -> None:
    from greybox.cli import main as greybox_main
    from greybox.query_cli import run_query

    monkeypatch.chdir(ROOT)
    config = write_config(tmp_path)
    out = tmp_path / "read.dl"
    assert greybox_main(["read", "--config", str(config), "--file", str(tmp_path / "tiny.jsonl"), "--id", "Tiny-2-1",
                         "-o", str(out)]) == 0
    text = out.read_text()
    assert "% [s2] If someone is round then they are cold.  (p=0.900)" in text
    assert "0.9 :: cold(X) :- round(X)." in text and text.rstrip().endswith("?- blue(anne).")
    assert greybox_main(["kb", "check", str(out)]) == 0
    (answer,) = run_query([out], "?- blue(anne).", semiring="max-mult")["answers"]
    assert answer["probability"] == pytest.approx(0.9 ** 3)
    assert greybox_main(["read", "--config", str(config), "--file", str(tmp_path / "tiny.jsonl"), "--id", "Nope"]) == 2
    assert "--id Nope: no theory or question with that id" in capsys.readouterr().err


def test_explain_wrong_only_finds_the_misread_question(tmp_path: Path, monkeypatch, capsys) -> None:
    from greybox.training.explain import main as explain

    monkeypatch.chdir(ROOT)
    config = write_config(tmp_path)
    theories = json.loads("[" + ",".join((tmp_path / "tiny.jsonl").read_text().splitlines()) + "]")
    theories[1]["questions"][0]["label"] = False  # "Anne is blue." labelled wrong on purpose
    (tmp_path / "tiny.jsonl").write_text("".join(json.dumps(t) + "\n" for t in theories))
    assert explain(["--config", str(config), "--index", "0", "--wrong-only", "--limit", "1", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert '"question": "Anne is blue."' in out and '"correct": false' in out


def test_a_split_halved_by_theory_for_training_and_measuring(tmp_path: Path) -> None:
    write_ruletaker(tmp_path)
    dm = RuleTakerDataModule(data_dir=str(tmp_path), test_split="tiny#test", train_splits=["tiny#train"], val_fraction=0.0)
    dm.setup("fit")
    train, test = {q.theory_id for q in dm.splits["train"]}, {q.theory_id for q in dm.splits["test"]}
    assert train and test and not train & test and train | test == {"Tiny-1", "Tiny-2"}


def test_html_trace_shows_the_chain_of_sentences_and_what_is_missing(tmp_path: Path) -> None:
    from greybox.trace.render_html import render_html
    from greybox.trace.schema import TraceBatch
    from tasks.rules_in_language.explain import trace_of
    from tests.integration.test_trace_browser import CHROMIUM, _dom

    if CHROMIUM is None:
        pytest.skip("Chromium is not installed")
    batch = _batch(tmp_path)
    model = RulesInLanguageTask(TemplateReader(confidence=0.9), world="closed")
    decoded = model.decode(batch)
    traces = [trace_of(decoded[1], label=0, index=1), trace_of(decoded[3], label=1, index=3, why_not_answer="true")]
    page = tmp_path / "rules.html"
    page.write_text(render_html(TraceBatch(traces=traces), title="rules"), encoding="utf-8")
    dom = _dom(page, "#select=0", tmp_path)
    lines = [e.text for e in dom.by_id("proof-0").find_all(cls="chain-line")]
    assert lines[-1] == "red(bob) + If something is red then it is kind. [s4] \u21d2 Bob is kind."
    dom = _dom(page, "#select=1", tmp_path)
    assert "would conclude red(cow); unproved: big(cow)" in dom.by_id("why-not-body").text


@pytest.mark.parametrize("world", ["closed", "open"])
def test_the_engine_and_the_reference_evaluator_agree_on_the_answer(tmp_path: Path, world: str) -> None:
    # the training path (tensor engine, readings as gated facts) and the exact path (reference evaluator over the
    # weighted program) give the same scores; the training path also weighs by the question's reading (0.9)
    questions = read_ruletaker(write_ruletaker(tmp_path)) if world == "closed" else read_proofwriter(write_proofwriter(tmp_path))
    batch = collate_questions(questions)
    model = RulesInLanguageTask(TemplateReader(confidence=0.9), world=world)
    engine = model.answer_scores(batch).detach()
    reference = torch.tensor([d.answer.scores for d in model.decode(batch)], dtype=engine.dtype)
    assert torch.allclose(engine, 0.9 * reference, atol=1e-5)


def test_greybox_predict_writes_named_verdicts(tmp_path: Path, monkeypatch) -> None:
    from greybox.training.cli import lightning_main

    monkeypatch.chdir(ROOT)
    config = write_config(tmp_path, world="open")
    out = tmp_path / "pred.jsonl"
    assert lightning_main(["predict", "--config", str(config), "--trainer.enable_progress_bar=false",
                           "--output", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["answer"], r["label"]) for r in rows] == [("true", "true"), ("false", "false"), ("unknown", "unknown")]


def _random_theory(rng, n_rules: int) -> list[Reading]:
    preds, consts = ["big", "red", "kind", "cold"], ["bob", "ann"]
    theory = [fact(rng.choice(preds), rng.choice(consts)) for _ in range(3)]
    for _ in range(n_rules):
        body = [lit(rng.choice(preds), "X", neg=rng.random() < 0.4) for _ in range(rng.randint(1, 2))]
        if all(b.negated for b in body):
            body[0] = Literal(body[0].predicate, body[0].arguments)
        theory.append(rule(lit(rng.choice(preds), "X"), *body))
    return theory


@pytest.mark.parametrize("seed", range(40))
def test_the_search_evaluator_answers_like_the_task_program_even_without_strata(seed: int) -> None:
    # the reader's training search (reading_eval) and the task's program must agree on every
    # closed-world answer, also where negation goes through recursion (the well-founded model)
    import random

    from greybox.neural.reading_eval import answer

    rng = random.Random(seed)
    theory = _random_theory(rng, rng.randint(2, 5))
    program = theory_program([f"s{i}" for i in range(len(theory))], [[r] for r in theory])
    for p in ["big", "red", "kind", "cold"]:
        for c in ["bob", "ann"]:
            expected = solve(program, fact(p, c)).verdict == "true"
            assert answer(theory, lit(p, c)) is expected, (p, c, [str(r) for r in theory])


def test_phrasing_splits_are_read_before_the_search_and_a_wrong_one_names_what_to_fix(tmp_path: Path) -> None:
    from greybox.errors import ConfigError
    from tasks.rules_in_language.teach import ReadFromAnswers

    write_ruletaker(tmp_path)
    ruletaker = RuleTakerDataModule(data_dir=str(tmp_path), test_split="tiny", train_splits=["tiny"])
    (theory,) = ReadFromAnswers(phrasing_splits=["tiny#train"]).phrasing_theories(ruletaker)
    assert theory.id in {"Tiny-1", "Tiny-2"} and theory.questions
    assert ReadFromAnswers().phrasing_theories(ruletaker) == []
    with pytest.raises(ConfigError, match="not found"):
        ReadFromAnswers(phrasing_splits=["NatLang/dev#train"]).phrasing_theories(ruletaker)
    proofwriter = ProofWriterDataModule(train_file=str(write_proofwriter(tmp_path)), val_fraction=0.0)
    with pytest.raises(ConfigError, match="RuleTaker files"):
        ReadFromAnswers(phrasing_splits=["tiny#train"]).phrasing_theories(proofwriter)
