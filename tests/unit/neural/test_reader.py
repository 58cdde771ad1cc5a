"""The text reader: tag decoding, the exact beam, training from gold forms and from answers, open vocabulary."""

from __future__ import annotations

import itertools
import os

import pytest
import torch
from torch import nn

from greybox.errors import ConfigError, ContradictionError, ShapeError, StratificationError
from greybox.neural.logical_forms import Literal, Reading
from greybox.neural.reader import ReaderOutput, TextReader, kbest_tags
from greybox.neural.reader_search import Question, Theory, align_gold, allowed_tags, fit_tags, same_reading
from greybox.neural.reader_tags import TAGS, Lemmatizer, decode_tags, is_pronoun_fact, resolve_pronouns, split_words
from greybox.neural.reading_eval import answer, entails
from greybox.neural.items import ItemLists
from tests.helpers.reading_toys import FUNCTION_WORDS, StubEncoder, WordIdentityEncoder

X = "X"


def lit(p, *args, neg=False):
    return Literal(p, tuple(args), neg)


def dec(sentence, tags, known=()):
    return decode_tags(split_words(sentence), tags.split(), Lemmatizer(known))


# ---------------------------------------------------------------- decoding hand-made tag sequences

@pytest.mark.parametrize("sentence, tags, expected", [
    ("Bob is big.", "CONST O PRED O", Reading(lit("big", "bob"))),
    ("The bald eagle does not chase the cat.", "O CONST CONST_IN O NOT PRED O CONST O",
     Reading(lit("chase", "bald_eagle", "cat", neg=True))),
    ("If something is big and red then it is young.", "O VAR O PRED AND PRED THEN VAR O PRED O",
     Reading(lit("young", X), (lit("big", X), lit("red", X)))),
    ("Big, red things are young.", "PRED AND PRED VAR THEN PRED O", Reading(lit("young", X), (lit("big", X), lit("red", X)))),
    ("All big round people are not kind.", "O PRED PRED VAR THEN NOT PRED O",
     Reading(lit("kind", X, neg=True), (lit("big", X), lit("round", X)))),
    ("If the cat chases the dog and the dog is big then the cat needs the dog.",
     "O O CONST PRED O CONST AND O CONST O PRED THEN O CONST PRED O CONST O",
     Reading(lit("need", "cat", "dog"), (lit("chase", "cat", "dog"), lit("big", "dog")))),
    ("If someone is not big then they are red.", "O VAR O NOT PRED THEN VAR O PRED O",
     Reading(lit("red", X), (lit("big", X, neg=True),))),
])
def test_decode_hand_made_tags(sentence, tags, expected):
    got = dec(sentence, tags, known=["chase", "need"])
    assert got == expected, f"{got} != {expected}"


@pytest.mark.parametrize("sentence, tags, why", [
    ("Bob is big.", "CONST O O O", "no predicate"),
    ("Something is big and Bob is red.", "VAR O PRED AND CONST O PRED O", "facts half about a variable"),
    ("If Bob is big then something is red.", "O CONST O PRED THEN VAR O PRED O", "a variable only in the conclusion"),
    ("If a is b then c is d then e.", "O CONST O PRED THEN CONST O PRED THEN PRED O", "two conclusions"),
    ("Bob and Ann and Eve like Cid.", "CONST O CONST O CONST PRED CONST O", "three arguments"),
    ("Bob likes Ann and he is red.", "CONST PRED CONST AND VAR O PRED O", "a pronoun in a relation"),
    ("The cat chases the dog.", "O CONST O O CONST PRED", "a punctuation mark is no name"),
])
def test_decode_unreadable(sentence, tags, why):
    assert dec(sentence, tags) is None, why


def test_decode_rejects_a_tag_count_that_does_not_match():
    with pytest.raises(ValueError, match="3 words but 2 tags"):
        decode_tags(["a", "b", "c"], ["O", "O"])


def test_lemmas_agree_between_forms_read_together():
    lem = Lemmatizer()
    assert lem("chases") == "chases"  # no other form known: kept as it is
    assert lem("chases", ["chase"]) == "chase"
    assert Lemmatizer().fit(["They chase it."])("Chases") == "chase"
    assert lem("furious", ["furiou"]) == "furiou" and lem("furious") == "furious"


# ---------------------------------------------------------------- the exact beam

def test_kbest_tags_equals_brute_force():
    torch.manual_seed(0)
    lp = torch.randn(4, 3).log_softmax(-1)
    allowed = torch.ones(4, 3, dtype=torch.bool)
    allowed[1, 0] = False
    seqs, scores = kbest_tags(lp, 5, allowed)
    brute = sorted(((sum(float(lp[i, t]) for i, t in enumerate(s)), s) for s in itertools.product(range(3), repeat=4)
                    if all(allowed[i, t] for i, t in enumerate(s))), reverse=True)[:5]
    assert [tuple(s) for s in seqs.tolist()] == [s for _, s in brute]
    assert torch.allclose(scores, torch.tensor([v for v, _ in brute]), atol=1e-5)


# ---------------------------------------------------------------- a tiny reader over a stub encoder

TRAIN = [
    ("The cat is big.", Reading(lit("big", "cat"))),
    ("The dog is not red.", Reading(lit("red", "dog", neg=True))),
    ("If something is big then it is red.", Reading(lit("red", X), (lit("big", X),))),
    ("If someone is red and big then they are kind.", Reading(lit("kind", X), (lit("red", X), lit("big", X)))),
]


def tiny_reader(seed=0):
    torch.manual_seed(seed)
    return TextReader(word_encoder=StubEncoder(), hidden=32, k=4, dropout=0.0)


def test_reader_output_shapes_and_padding():
    reader = tiny_reader()
    out = reader(ItemLists([["The cat is big.", "If something is big then it is red."], ["The dog is red."]]))
    assert isinstance(out, ReaderOutput)
    assert out.probabilities.shape == (4, 4) and out.readings[3] == [] and out.words[3] == []
    assert bool((out.probabilities.sum(1) <= 1 + 1e-6).all())


def test_tag_loss_rejects_a_wrong_tag_count():
    with pytest.raises(ShapeError, match="2 tags for a sentence of 4 words"):
        tiny_reader().tag_loss([["Bob", "is", "big", "."]], [["CONST", "O"]])


def _trained_on_gold():
    """The tiny reader after six rounds of hard EM on the gold forms of ``TRAIN``."""
    reader = tiny_reader()
    texts, golds = [t for t, _ in TRAIN], [g for _, g in TRAIN]
    for r in range(6):
        tags = align_gold(reader, texts, golds)
        found = [(split_words(t), tg) for t, tg in zip(texts, tags) if tg]
        fit_tags(reader, [w for w, _ in found], [tg for _, tg in found], epochs=40, lr=1e-2, seed=r)
    return reader


def test_training_from_gold_forms_reaches_the_right_readings():
    reader = _trained_on_gold()
    texts, golds = [t for t, _ in TRAIN], [g for _, g in TRAIN]
    read = reader.read(texts)
    assert all(same_reading(r[0], g) for r, g in zip(read, golds)), read
    assert all(r[0].probability > 0.5 for r in read)
    assert reader(texts).probabilities.requires_grad


def test_names_come_from_the_words_invented_words_read():
    reader = _trained_on_gold()
    wug, rule = reader.read(["The wug is blicky.", "If something is blicky then it is zorp."])
    assert wug[0] == Reading(lit("blicky", "wug"))
    assert rule[0] == Reading(lit("zorp", X), (lit("blicky", X),))


def test_allowed_tags_follow_the_gold_names():
    mask = allowed_tags(split_words("The bald eagle chases the cat."), Reading(lit("chase", "bald_eagle", "cat")))
    pred, const = TAGS.index("PRED"), TAGS.index("CONST")
    assert mask[:, pred].tolist() == [False, False, False, True, False, False, False]
    assert mask[:, const].tolist() == [False, True, True, False, False, True, False]
    assert not mask[:, TAGS.index("VAR")].any() and not mask[:, TAGS.index("THEN")].any()  # a fact, no variable


# ---------------------------------------------------------------- the evaluator and the answer search

def test_closed_world_negation_as_failure_and_strata():
    theory = [Reading(lit("big", "bob")), Reading(lit("red", "ann")),
              Reading(lit("kind", X), (lit("red", X, neg=True), lit("big", X))),
              Reading(lit("nice", X), (lit("kind", X, neg=True), lit("red", X)))]
    assert answer(theory, lit("kind", "bob")) is True
    assert answer(theory, lit("kind", "ann")) is False
    assert answer(theory, lit("nice", "ann")) is True and answer(theory, lit("nice", "bob", neg=True)) is True
    paradox = [Reading(lit("a", "bob")), Reading(lit("b", X), (lit("a", X), lit("b", X, neg=True)))]
    with pytest.raises(StratificationError, match="depends on itself"):
        entails(paradox, well_founded=False)
    # by default the well-founded model answers: b(bob) is undefined, so it is not derived
    assert answer(paradox, lit("b", "bob")) is False and answer(paradox, lit("a", "bob")) is True


def test_open_world_unknown_false_and_contradiction():
    theory = [Reading(lit("big", "bob")), Reading(lit("red", X, neg=True), (lit("big", X),)),
              Reading(lit("cold", X), (lit("red", X, neg=True),)), Reading(lit("red", "eve")), Reading(lit("big", "eve"))]
    assert answer(theory, lit("cold", "bob"), world="open") is True
    assert answer(theory, lit("red", "bob"), world="open") is False
    assert answer(theory, lit("cold", "ann"), world="open") is None
    with pytest.raises(ContradictionError, match="both red"):
        answer(theory, lit("red", "eve"), world="open")


def test_question_and_theory_records():
    th = Theory("t1", ["Bob is big."], [Question("Bob is big.", True, 0)])
    assert th.questions[0].depth == 0


# ---------------------------------------------------------------- the real MiniLM

@pytest.mark.slow
def test_minilm_reader_learns_gold_forms_and_agrees_inflections():
    torch.manual_seed(0)
    reader = TextReader(hidden=64, k=4, dropout=0.0)
    reader.words.encoder.requires_grad_(False)
    data = TRAIN + [("The cat chases the dog.", Reading(lit("chases", "cat", "dog"))),
                    ("If something chases the dog then it is big.", Reading(lit("big", X), (lit("chases", X, "dog"),)))]
    texts, golds = [t for t, _ in data], [g for _, g in data]
    for r in range(6):
        tags = align_gold(reader, texts, golds)
        found = [(split_words(t), tg) for t, tg in zip(texts, tags) if tg]
        fit_tags(reader, [w for w, _ in found], [tg for _, tg in found], epochs=40, lr=1e-2, seed=r)
    read = reader.read(texts)
    wrong = [(t, str(r[0]) if r else None) for t, r, g in zip(texts, read, golds) if not (r and same_reading(r[0], g))]
    assert not wrong, wrong
    # read together with "they chase", "chases" reads as the predicate chase
    both = reader.read(["The cat chases the dog.", "If they chase the dog then they are big."])
    assert both[0] and both[0][0] == Reading(lit("chase", "cat", "dog"))


def test_head_weights_save_load_and_bad_files(tmp_path):
    reader = tiny_reader()
    reader.lemmatizer.fit(["They chase it."])
    reader.save_head(tmp_path / "head.pt")
    other = TextReader(word_encoder=StubEncoder(), hidden=32, k=4, weights=str(tmp_path / "head.pt"))
    assert torch.equal(other.head[-1].weight, reader.head[-1].weight) and "chase" in other.lemmatizer.known
    with pytest.raises(ConfigError, match="do not exist"):
        TextReader(word_encoder=StubEncoder(), weights=str(tmp_path / "missing.pt"))
    with pytest.raises(ConfigError, match="do not fit"):
        TextReader(word_encoder=StubEncoder(), hidden=16, weights=str(tmp_path / "head.pt"))


def test_a_conclusion_may_name_a_constant_the_conditions_do_not():
    # "then they see the bear": only a variable must be bound by the conditions, not a constant
    words = "If someone is rough then they see the bear .".split()
    reading = decode_tags(words, "O VAR O PRED THEN VAR PRED O CONST O".split())
    assert str(reading) == "see(X, bear) :- rough(X)."
    words = "If Bob is rough then it is big .".split()
    assert decode_tags(words, "O CONST O PRED THEN VAR O PRED O".split()) is None  # X only in the conclusion


def test_a_checkpoint_of_the_reader_holds_tensors_only_and_restores_the_lemmatizer(tmp_path):
    # `greybox test --ckpt_path` loads weights only (no code runs): the lemmatizer's known forms travel as a tensor
    from greybox.training.checkpoints import load_checkpoint

    reader = tiny_reader()
    reader.lemmatizer.fit(["They chase it."])
    torch.save({"state_dict": reader.state_dict()}, tmp_path / "model.ckpt")
    state = load_checkpoint(tmp_path / "model.ckpt")["state_dict"]
    other = tiny_reader()
    other.load_state_dict(state)
    assert "chase" in other.lemmatizer.known and other.lemmatizer.known == reader.lemmatizer.known
    # the reader of a task's checkpoint, as weights of a new reader
    torch.save({"state_dict": {f"reader.{k}": v for k, v in reader.state_dict().items()}}, tmp_path / "task.ckpt")
    third = TextReader(word_encoder=StubEncoder(), hidden=32, k=4, weights=str(tmp_path / "task.ckpt"))
    assert torch.equal(third.head[-1].weight, reader.head[-1].weight) and third.lemmatizer.known == reader.lemmatizer.known
    # a head saved in the earlier form (the known forms as a dict) still loads
    old = {**reader.head_state_dict(), "_extra_state": {"known": ["see"]}}
    torch.save(old, tmp_path / "old_head.pt")
    assert TextReader(word_encoder=StubEncoder(), hidden=32, k=4, weights=str(tmp_path / "old_head.pt")).lemmatizer.known \
        == {"see"}


def test_a_readings_probability_never_passes_one(monkeypatch):
    # several tag sequences spell one reading ("." as O or AND); their summed probability may round past 1,
    # and a reading above 1 on a cycle of rules would grow every round of max-mult: it is capped at 1
    reader = tiny_reader()
    words = "Bob is big .".split()
    lp = torch.full((len(words), len(TAGS)), -30.0)
    for i, tag in enumerate(["CONST", "O", "PRED", "O"]):
        lp[i, TAGS.index(tag)] = 0.0
    lp[3, TAGS.index("AND")] = 0.0  # as likely as O: the two sequences' probabilities sum to 2
    monkeypatch.setattr(reader, "tag_log_probs", lambda sentences: [lp])
    out = reader(["Bob is big."], k=4)
    assert out.readings[0][0] == Reading(lit("big", "bob"))
    assert float(out.probabilities.max()) <= 1.0


@pytest.mark.parametrize("sentence, tags, expected", [
    ("Bob is big and Ann is red.", "CONST O PRED AND CONST O PRED O", ["big(bob).", "red(ann)."]),
    ("The round, rough and green one was labeled Eric.", "O PRED O PRED O PRED O O O CONST O",
     ["round(eric).", "rough(eric).", "green(eric)."]),
    ("Gary is feeling blue because he is too nice.", "CONST O O PRED O O O O PRED O", ["blue(gary).", "nice(gary)."]),
])
def test_one_sentence_states_several_facts(sentence, tags, expected):
    reading = decode_tags(split_words(sentence), tags.split())
    assert [str(p) for p in reading.parts()] == expected and reading.is_fact


def test_a_pronouns_facts_go_to_the_entity_named_last():
    words = split_words("He is rough, but nice.")
    pronoun = decode_tags(words, "VAR O PRED O O PRED O".split())
    assert pronoun is not None and is_pronoun_fact(pronoun)
    eric = decode_tags(split_words("Eric is big."), "CONST O PRED O".split())
    anne = decode_tags(split_words("Anne is red."), "CONST O PRED O".split())
    resolved = resolve_pronouns([anne, eric, pronoun])
    assert [str(p) for p in resolved[2].parts()] == ["rough(eric).", "nice(eric)."]
    assert resolve_pronouns([pronoun, eric])[0] is None  # nobody named before it


def test_the_reader_resolves_a_pronoun_within_one_text():
    # "he" is a word the identity encoder does not know (its shared vector); names and adjectives it knows
    reader = TextReader(word_encoder=WordIdentityEncoder(), hidden=16, k=2, dropout=0.0)
    train = [("Zed is big .", "CONST O PRED O"), ("He is red .", "VAR O PRED O"), ("Bob is kind .", "CONST O PRED O")]
    fit_tags(reader, [s.split() for s, _ in train], [t.split() for _, t in train], epochs=200, lr=1e-2)
    out = reader(ItemLists([["Zed is big .", "He is red ."], ["He is red ."]]))
    assert [str(r) for r in out.readings[0][:1]] == ["big(zed)."]
    assert [str(r) for r in out.readings[1][:1]] == ["red(zed)."]
    # in a text that names nobody before it, the pronoun's reading is dropped (what is left: "He" as a name)
    assert [str(r) for r in out.readings[2]] == ["red(he)."]
