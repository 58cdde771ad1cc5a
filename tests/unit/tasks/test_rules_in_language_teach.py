"""``ReadFromAnswers``: before the first epoch, the reader is taught from the training answers alone."""

from __future__ import annotations

import json
import random
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from greybox.errors import ConfigError
from greybox.neural.lexicon_search import Lexicon, LexiconCorpus
from greybox.neural.reader import TextReader
from greybox.neural.reader_tags import TAGS
from tasks.rules_in_language.data import ProofWriterDataModule, RuleTakerDataModule
from tasks.rules_in_language.model import RulesInLanguageTask
from tasks.rules_in_language.teach import ReadFromAnswers, theories_of
from tests.helpers.reading_toys import WordIdentityEncoder, toy_theory


def _write(path: Path, theories) -> Path:
    lines = [json.dumps({"id": th.id, "context": " ".join(th.sentences),
                         "questions": [{"id": f"{th.id}-{i}", "text": q.text, "label": q.label, "meta": {"QDep": 0}}
                                       for i, q in enumerate(th.questions)]}) for th in theories]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_the_reader_is_taught_the_lexicon_the_training_answers_choose(tmp_path: Path) -> None:
    rng = random.Random(1)
    _write(tmp_path / "toy.jsonl", [toy_theory(rng, n) for n in range(26)])
    data = RuleTakerDataModule(data_dir=str(tmp_path), train_splits=["toy"], test_split="toy", val_fraction=0.1)
    torch.manual_seed(0)
    model = RulesInLanguageTask(TextReader(word_encoder=WordIdentityEncoder(), hidden=32, k=4, dropout=0.0))
    trainer = SimpleNamespace(ckpt_path=None, datamodule=data, is_global_zero=True, log_dir=str(tmp_path / "run"))
    ReadFromAnswers(search_theories=100, restarts=12, screen=12, epochs=200, pairs=True, kicks=0, polish=0, seed=0).on_fit_start(trainer, model)
    lexicon = Lexicon.from_json(json.loads((tmp_path / "run" / "lexicon.json").read_text()))
    train = theories_of(data.splits["train"])
    corpus = LexiconCorpus(train, ["closed"] * len(train), lexicon)
    right = sum(corpus.score(t)[0] for t in range(len(train)))
    false = sum(q.label is False for th in train for q in th.questions)
    assert right > false + 0.5 * (corpus.sizes[0] - false)  # far above deriving nothing (every False right)
    # the reader now reads every sentence of the theories the lexicon answers right as the lexicon does
    solved = [t for t, th in enumerate(corpus.theories) if corpus.score(t)[0] == len(th[2])]
    sentences = sorted({i for t in solved for i in corpus.theories[t][0] + corpus.theories[t][1]})
    assert sentences
    tags = [lexicon.tags(corpus.words[i]) for i in sentences]
    with torch.no_grad():
        read = [tuple(model.reader.tag_log_probs([corpus.words[i]])[0].argmax(-1).tolist()) for i in sentences]
    assert [tuple(TAGS[t] for t in r) for r in read] == tags


def test_a_model_without_a_text_reader_is_refused() -> None:
    trainer = SimpleNamespace(ckpt_path=None, datamodule=None, is_global_zero=True, log_dir=None)
    with pytest.raises(ConfigError, match="needs a model with a text reader"):
        ReadFromAnswers().on_fit_start(trainer, SimpleNamespace(reader=None))


def test_the_open_world_climbs_on_from_the_closed_worlds_lexicon(tmp_path: Path) -> None:
    # one question a theory in the open world: read together with closed-world theories of the same language
    rng = random.Random(1)
    _write(tmp_path / "toy.jsonl", [toy_theory(rng, n) for n in range(26)])
    items = []
    for n in range(12):
        th = toy_theory(rng, 100 + n)
        q = th.questions[n % len(th.questions)]
        items.append({"id": f"pw-{n}_Q1", "context": " ".join(th.sentences), "question": f"Is it true? {q.text}",
                      "options": ["A) True", "B) False", "C) Unknown"], "answer": "A" if q.label else "C"})
    (tmp_path / "pw.json").write_text(json.dumps(items), encoding="utf-8")
    data = ProofWriterDataModule(train_file=str(tmp_path / "pw.json"), val_fraction=0.1)
    model = RulesInLanguageTask(TextReader(word_encoder=WordIdentityEncoder(), hidden=8, k=4, dropout=0.0), world="open")
    trainer = SimpleNamespace(ckpt_path=None, datamodule=data, is_global_zero=True, log_dir=str(tmp_path / "run"))
    ReadFromAnswers(search_theories=100, restarts=20, screen=12, epochs=1, pairs=True, kicks=10, polish=0, seed=0,
                    closed_world_dir=str(tmp_path), closed_world_splits=["toy"]).on_fit_start(trainer, model)
    lexicon = Lexicon.from_json(json.loads((tmp_path / "run" / "lexicon.json").read_text()))
    train = theories_of(data.splits["train"])
    corpus = LexiconCorpus(train, ["open"] * len(train), lexicon)
    # a randomised search: seed 0 is one run of it, checked in full (without the closed world's theories this
    # run answers 10 of the 11 and answers a quarter of 30 unseen closed-world theories' questions right)
    assert sum(corpus.score(t)[0] for t in range(len(train))) == corpus.sizes[0]  # every open-world answer right
    unseen = [toy_theory(random.Random(99), n) for n in range(30)]
    closed = LexiconCorpus(unseen, ["closed"] * len(unseen), lexicon)
    assert sum(closed.score(t)[0] for t in range(len(unseen))) == closed.sizes[0]
