"""Learning new phrasings from answers: candidates within the known names and predicates, one choice per template."""

from __future__ import annotations

import random

from greybox.neural.logical_forms import Literal, Reading
from greybox.neural.phrasing_search import candidates, search_templates, teach_phrasings, well_typed
from greybox.neural.reader import TextReader
from greybox.neural.reader_search import Question, Theory, same_reading
from greybox.neural.reader_tags import decode_tags, resolve_pronouns, split_words
from greybox.neural.reading_eval import answer
from tests.helpers.reading_toys import ADJS, NAMES, WordIdentityEncoder

X = "X"
KNOWN = ({a: 1 for a in ADJS}, set(NAMES), {"not"})


def lit(p, *args):
    return Literal(p, tuple(args))


# paraphrase templates of the tiny language: (text with {n} for a name, its meaning as a function of the name)
TEMPLATES = [
    ("{n} is feeling big because he is red.", lambda n: Reading(lit("big", n), also=(lit("red", n),))),
    ("The cold and nice one was named {n} after all.", lambda n: Reading(lit("cold", n), also=(lit("nice", n),))),
    ("He is kind to others, too.", None),  # a pronoun: kind(the one named last)
    ("Red people are often nice.", lambda n: Reading(lit("nice", X), (lit("red", X),))),
    ("Anyone who is cold and nice will also be wuggy.", lambda n: Reading(lit("wuggy", X), (lit("cold", X), lit("nice", X)))),
]


def _theory(rng: random.Random, t: int) -> tuple[Theory, list[Reading]]:
    a, b = rng.sample([n.capitalize() for n in NAMES], 2)
    sentences = [TEMPLATES[0][0].format(n=a), TEMPLATES[1][0].format(n=b), TEMPLATES[2][0], TEMPLATES[3][0], TEMPLATES[4][0]]
    truth = [TEMPLATES[0][1](a.lower()), TEMPLATES[1][1](b.lower()), Reading(lit("kind", b.lower())),
             TEMPLATES[3][1](a), TEMPLATES[4][1](a)]
    asked = [(n, p) for n in (a, b) for p in ADJS]
    questions = [Question(f"{n} is {p}.", answer(truth, lit(p, n.lower()))) for n, p in asked]
    return Theory(f"t{t}", sentences, questions), truth


def _reader() -> TextReader:
    return TextReader(word_encoder=WordIdentityEncoder(), hidden=16, k=4, dropout=0.0)


def test_the_candidates_hold_every_paraphrases_meaning_and_only_well_typed_ones() -> None:
    theory, truth = _theory(random.Random(0), 0)
    found = candidates(_reader(), theory.sentences, KNOWN, limit=200)
    for sentence, cands, meaning in zip(theory.sentences, found, truth):
        readings = resolve_pronouns([truth[1], *[r for r, _ in cands]])[1:] if sentence.startswith("He") else [
            r for r, _ in cands]
        assert any(r is not None and same_reading(r, meaning) for r in readings), sentence
        assert all(well_typed(r, KNOWN[0]) for r, _ in cands)
    assert not well_typed(Reading(lit("big", "bob", X)), KNOWN[0])


def test_one_choice_per_template_reads_every_paraphrase_right_from_the_answers() -> None:
    rng = random.Random(3)
    made = [_theory(rng, t) for t in range(8)]
    theories = [th for th, _ in made]
    # the questions are in the first phrasing, which a trained reader reads: here their meaning is given
    asked = {q.text: Reading(lit(q.text.split()[2].rstrip("."), q.text.split()[0].lower())) for th in theories
             for q in th.questions}
    targets, solved, chosen = search_templates(_reader(), theories, ["closed"] * len(theories), KNOWN, alternatives=40,
                                               questions=asked)
    assert solved == len(theories) and len(targets) == sum(len(th.sentences) for th in theories)
    # the choice is per template: a theory never searched on, with other names, reads as it means
    new, truth = _theory(random.Random(99), 99)
    read = [decode_tags(split_words(s), chosen[tuple("<N>" if w.lower() in NAMES else w for w in split_words(s))])
            for s in new.sentences]
    assert all(same_reading(r, m) for r, m in zip(resolve_pronouns(read), truth))


def test_teaching_the_phrasings_keeps_the_first_phrasing_read() -> None:
    rng = random.Random(5)
    theories = [_theory(rng, t)[0] for t in range(6)]
    reader = _reader()
    first = [f"{n.capitalize()} is {a}." for n in NAMES for a in ADJS]
    from greybox.neural.reader_search import fit_tags

    fit_tags(reader, [s.split() for s in first], [["CONST", "O", "PRED"]] * len(first), epochs=60, lr=1e-2)
    first = [f"{s} ." for s in first]
    fit_tags(reader, [s.split() for s in first], [["CONST", "O", "PRED", "O"]] * len(first), epochs=60, lr=1e-2)
    solved = teach_phrasings(reader, theories, ["closed"] * len(theories), first, epochs=30, repeat=3)
    assert solved == len(theories)
    assert [str(r) for r in reader.read(["Zed is wuggy ."])[0]] == ["wuggy(zed)."]
