"""``ReadFromAnswers``: before the first epoch, the reader is taught from the training answers alone."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from greybox.errors import ConfigError
from greybox.neural.reader import TextReader
from tasks.rules_in_language.data import RuleTakerDataModule, collate_questions
from tasks.rules_in_language.files import read_ruletaker
from tasks.rules_in_language.model import RulesInLanguageTask
from tasks.rules_in_language.teach import ReadFromAnswers
from tests.helpers.reading_toys import StubEncoder, toy_theory


def _write(path: Path, theories) -> Path:
    lines = [json.dumps({"id": th.id, "context": " ".join(th.sentences),
                         "questions": [{"id": f"{th.id}-{i}", "text": q.text, "label": q.label, "meta": {"QDep": 0}}
                                       for i, q in enumerate(th.questions)]}) for th in theories]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_reader_is_taught_from_the_answers_before_the_first_epoch(tmp_path: Path) -> None:
    rng = random.Random(1)
    _write(tmp_path / "toy.jsonl", [toy_theory(rng, n) for n in range(26)])
    data = RuleTakerDataModule(data_dir=str(tmp_path), train_splits=["toy"], test_split="toy", val_fraction=0.05)
    torch.manual_seed(0)
    model = RulesInLanguageTask(TextReader(word_encoder=StubEncoder(), hidden=32, k=4, dropout=0.0), world="closed")
    # an untrained reader answers from a theory it cannot read
    held = _write(tmp_path / "held.jsonl", [toy_theory(random.Random(7), 100 + n) for n in range(6)])
    batch = collate_questions(read_ruletaker(held))
    trainer = SimpleNamespace(ckpt_path=None, datamodule=data, is_global_zero=True, log_dir=str(tmp_path / "run"))
    ReadFromAnswers(search_theories=24, restarts=40, screen=12, epochs=300, seed=0).on_fit_start(trainer, model)
    verdicts = [d.verdict for d in model.decode(batch)]
    expected = ["true" if y == 0 else "false" for y in batch["label"].tolist()]
    assert verdicts == expected  # theories never trained on, answered right
    lexicon = json.loads((tmp_path / "run" / "lexicon.json").read_text())
    assert lexicon["roles"] and lexicon["classes"]["bob"] == lexicon["classes"]["ann"]


def test_a_model_without_a_text_reader_is_refused(tmp_path: Path) -> None:
    trainer = SimpleNamespace(ckpt_path=None, datamodule=None, is_global_zero=True, log_dir=None)
    with pytest.raises(ConfigError, match="needs a model with a text reader"):
        ReadFromAnswers().on_fit_start(trainer, SimpleNamespace(reader=None))
