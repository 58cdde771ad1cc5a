"""The corpus lexicon learned from answers alone: word classes, the lexicon's tags, the search."""

from __future__ import annotations

import random

from greybox.neural.lexicon_search import Lexicon, LexiconCorpus, search_corpus_lexicon, word_classes
from greybox.neural.reader_search import Question, Theory
from greybox.neural.reader_tags import split_words
from tests.helpers.reading_toys import ADJS, NAMES, toy_theory as _theory

def test_words_that_share_their_neighbours_share_a_class() -> None:
    rng = random.Random(0)
    sentences = [split_words(s) for th in (_theory(rng, n) for n in range(30)) for s in th.sentences]
    classes = {w: i for i, ws in enumerate(word_classes(sentences, 0.8)) for w in ws}
    assert classes["bob"] == classes["ann"] != classes["big"]
    assert classes["big"] == classes["wuggy"]
    assert classes["if"] != classes["then"] != classes["is"]


def test_the_most_specific_key_wins() -> None:
    lex = Lexicon({"bob": "name", "ann": "name", "big": "adj"}, {"name": 1, "adj": 4, ("word", "ann"): 0, ("<s>", "name"): 3})
    assert lex.tags("Bob is big .".split()) == ("VAR", "O", "PRED", "O")  # context, at the start
    assert lex.tags("so Ann is big".split()) == ("O", "O", "O", "PRED")   # the word's own role
    assert lex.tags("so Bob".split()) == ("O", "CONST")                   # the class's


def test_the_search_learns_to_read_from_answers_alone() -> None:
    # a randomised local search (random starts, screened): seed 0 is one run of it, checked in full
    rng = random.Random(1)
    theories = [_theory(rng, n) for n in range(24)]
    texts = [s for th in theories for s in th.sentences + [q.text for q in th.questions]]
    classes = {w: f"c{i}" for i, ws in enumerate(word_classes([split_words(s) for s in texts], 0.8)) for w in ws}
    worlds = ["closed"] * len(theories)
    lexicon, (right, read) = search_corpus_lexicon(theories, worlds, classes, restarts=20, screen=12, rounds=1, pairs=True, kicks=10,
                                                   seed=0)
    assert (right, read) == LexiconCorpus(theories, worlds, lexicon).sizes  # every question right, every sentence read
    # a theory never searched on, with a name and a word used nowhere together, reads and answers
    new = [Theory("new", ["Zed is wuggy.", "If someone is wuggy then they are nice."],
                  [Question("Zed is nice.", True), Question("Zed is big.", False), Question("Tom is nice.", False)])]
    assert LexiconCorpus(new, ["closed"], lexicon).score(0) == (3, 5)


def test_no_theories_to_learn_from_is_a_config_error() -> None:
    import pytest

    from greybox.errors import ConfigError
    from greybox.neural.lexicon_search import teach_reader
    from greybox.neural.reader import TextReader
    from tests.helpers.reading_toys import WordIdentityEncoder

    with pytest.raises(ConfigError, match="training split is empty"):
        teach_reader(TextReader(word_encoder=WordIdentityEncoder(), hidden=8), [], [])
