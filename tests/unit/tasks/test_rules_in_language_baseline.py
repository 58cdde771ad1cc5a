"""The pure neural baseline of questions over theories in English: theory + question -> answer, no rules."""

from __future__ import annotations

import pytest
import torch

from greybox.errors import ConfigError, ShapeError
from greybox.neural.items import ItemLists
from greybox.training.finetuning import Finetuning
from tasks.rules_in_language.baseline import TheoryClassifier
from tasks.rules_in_language.data import RuleQuestion, collate_questions

THEORY = ("Bob is big.", "If something is big then it is red.", "Ann is not cold.")
QUESTIONS = [
    RuleQuestion("a", "t", THEORY, "Bob is red.", 0, depth=1),
    RuleQuestion("b", "t", THEORY, "Ann is cold.", 1, depth=0),
    RuleQuestion("c", "u", ("The cat is round.",), "The cat is kind.", 2, options=3),
]


@pytest.fixture(scope="module")
def model() -> TheoryClassifier:
    torch.manual_seed(0)
    net = TheoryClassifier(width=32, layers=1, heads=2, pool_heads=2)
    Finetuning(module="encoder", unfreeze_at_epoch=None).freeze_before_training(net)  # as the configs leave it
    return net


def _logits(model: TheoryClassifier, questions: list[RuleQuestion]) -> torch.Tensor:
    batch = collate_questions(questions)
    return model(batch["sentences"], batch["question"], batch["options"])


def test_unknown_is_an_answer_only_where_the_question_allows_it(model: TheoryClassifier) -> None:
    model.eval()
    logits = _logits(model, QUESTIONS)
    assert logits.shape == (3, 3)
    low = torch.finfo(logits.dtype).min
    assert logits[:2, 2].tolist() == [low, low]  # True/False questions
    assert bool(torch.isfinite(logits[:2, :2]).all() and torch.isfinite(logits[2]).all())
    assert logits.argmax(-1)[:2].lt(2).all()


def test_each_sentence_is_encoded_once_and_kept_in_float16(model: TheoryClassifier) -> None:
    model.eval()
    model.encoder._cache.clear()
    first = _logits(model, QUESTIONS)
    texts = set(THEORY) | {"The cat is round.", "Bob is red.", "Ann is cold.", "The cat is kind."}
    assert set(model.encoder._cache) == texts
    assert all(v.dtype == torch.float16 and v.shape[1] == 384 for v in model.encoder._cache.values())
    assert torch.equal(first, _logits(model, QUESTIONS))  # the second pass reads the cache only


def test_the_answer_depends_on_the_question_and_not_on_the_order_of_the_theory(model: TheoryClassifier) -> None:
    model.eval()
    asked = _logits(model, QUESTIONS[:2])
    assert not torch.allclose(asked[0, :2], asked[1, :2], atol=1e-4)
    shuffled = RuleQuestion("a", "t", THEORY[::-1], "Bob is red.", 0, depth=1)
    assert torch.allclose(asked[0], _logits(model, [shuffled])[0], atol=1e-5)


def test_an_empty_theory_is_read(model: TheoryClassifier) -> None:
    model.eval()
    logits = _logits(model, [RuleQuestion("e", "e", (), "Bob is red.", 0)])
    assert logits.shape == (1, 3) and bool(torch.isfinite(logits[0, :2]).all())


def test_gradients_reach_the_trainable_part_and_not_the_frozen_encoder(model: TheoryClassifier) -> None:
    model.train()
    model.zero_grad()
    batch = collate_questions(QUESTIONS)
    logits = model(batch["sentences"], batch["question"], batch["options"])
    loss = torch.nn.functional.cross_entropy(logits, batch["label"])
    loss.backward()
    assert model.pool_queries.grad is not None and model.pool_queries.grad.abs().sum() > 0
    assert all(p.grad is not None for p in model.reader.parameters())
    assert all(p.grad is None for p in model.encoder.parameters())


def test_one_question_per_theory_is_required(model: TheoryClassifier) -> None:
    with pytest.raises(ShapeError, match=r"one question per theory, got 2 theories, \[2, 1\] questions"):
        model(ItemLists([THEORY, THEORY]), ItemLists([["Bob is red.", "Bob is big."], ["Ann is cold."]]))


def test_heads_must_divide_the_width() -> None:
    with pytest.raises(ConfigError, match=r"heads dividing width, got width=30.*heads=4"):
        TheoryClassifier(width=30, heads=4)
