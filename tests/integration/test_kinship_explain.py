"""``greybox explain`` on the kinship config: a checkpoint made here, a CLUTRR test story explained.

The model trains for one step (the explanation, not the accuracy, is under test). The
small k=2 test file stands in for the 8 MB training file so that setting up the data
takes a moment; the test loaders are k=2 and k=3, and ``--dataloader 1`` picks k=3.
Skipped when the CLUTRR data is not there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from greybox.trace.schema import DecisionTrace, NeuralSource, json_schema, validate_trace_json
from greybox.training.cli import lightning_main
from tasks.kinship.data import RELATIONS, read_clutrr

ROOT = Path(__file__).resolve().parents[2]
CLUTRR = ROOT.parent / "shared/data/clutrr/data_089907f8"
CONFIG = str(ROOT / "experiments/kinship/clutrr.yaml")
DATA = [f"--data.init_args.data_dir={CLUTRR}", "--data.init_args.train_file=1.2_test.csv", "--data.init_args.max_train=8",
        "--data.init_args.max_test_per_k=2", "--data.init_args.batch_size=4", "--data.init_args.test_ks=[2,3]"]
pytestmark = pytest.mark.skipif(not CLUTRR.is_dir(), reason=f"CLUTRR data not found at {CLUTRR}")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clutrr")
    callbacks = ('--trainer.callbacks=[{"class_path": "pytorch_lightning.callbacks.ModelCheckpoint", '
                 f'"init_args": {{"dirpath": "{out}", "save_last": true}}}}]')
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)  # the config names its rule files relative to the project
        status = lightning_main(["fit", "--config", CONFIG, *DATA, "--trainer.max_steps=1", "--trainer.limit_val_batches=1",
                                 "--trainer.logger=false", "--trainer.enable_progress_bar=false",
                                 "--trainer.enable_model_summary=false", f"--trainer.default_root_dir={out}", callbacks])
    assert status == 0
    assert (out / "last.ckpt").is_file()
    return out / "last.ckpt"


@pytest.fixture(scope="module")
def story():
    reading = yaml.safe_load(Path(CONFIG).read_text())["data"]["init_args"]  # as the config reads stories
    return read_clutrr(CLUTRR / "1.3_test.csv", k=3, limit=1, one_direction=reading["one_direction"],
                       same_sentence_first=reading["same_sentence_first"])[0]


def _explain(checkpoint: Path, capsys, monkeypatch, *extra: str) -> str:
    from greybox.training.explain import main

    monkeypatch.chdir(ROOT)
    assert main(["--config", CONFIG, "--ckpt_path", str(checkpoint), *DATA, "--dataloader", "1", "--index", "0",
                 "-k", "2", "--proof-budget", "2", *extra]) == 0
    return capsys.readouterr().out


def test_explain_text_shows_the_story_names_and_the_proof_chain(checkpoint, story, capsys, monkeypatch) -> None:
    text = _explain(checkpoint, capsys, monkeypatch)
    a, b = story.query
    assert "kinship test #0 (k=3)  query: answer(R)" in text
    assert f"question: what is {story.people[b]} to {story.people[a]}?" in text
    for number, sentence in enumerate(story.sentences, 1):
        assert f"[{number}] {sentence}" in text
    assert "readings (most probable class of each input)" in text
    assert "proof 1  p=" in text and "  =>  " in text and "[rule knowledge/kinship" in text
    assert "<- relation_net read pair (" in text


def test_explain_json_names_people_pairs_and_windows(checkpoint, story, capsys, monkeypatch) -> None:
    trace = validate_trace_json(_explain(checkpoint, capsys, monkeypatch, "--format", "json"))
    assert isinstance(trace, DecisionTrace)
    assert json.loads((ROOT / "greybox/trace/schema.json").read_text()) == json_schema()
    assert (trace.task, trace.split, trace.index, trace.subset) == ("kinship", "test", 0, "k=3")
    assert [p.text for p in trace.passages] == list(story.sentences)
    assert trace.label == RELATIONS[story.label] and trace.predicted in RELATIONS
    people = set(story.people)
    pairs = [(story.people[p.first], story.people[p.second]) for p in story.pairs]
    assert [i.label for i in trace.inputs] == [f"pair ({x}, {y})" for x, y in pairs]
    for i, pair in zip(trace.inputs, story.pairs):
        assert i.passages == [n + 1 for n in story.text_sentences[pair.text]] and i.text == story.texts[pair.text]
    assert trace.proofs, trace.notes
    for proof in trace.proofs:
        chain = proof.chain
        assert chain is not None and {chain.links[0].start} | {link.end for link in chain.links} <= people
        assert chain.rule is None or chain.rule.file.startswith("knowledge/kinship")
        for node in proof.root.walk():
            if isinstance(node.source, NeuralSource):
                assert node.source.input_label.startswith("pair (") and " in [" in node.source.input_label
