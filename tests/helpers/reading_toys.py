"""A tiny language of facts and rules for reader tests: random theories labelled by their true meaning, and a stub encoder."""

from __future__ import annotations

import random

import torch
from torch import nn

from greybox.neural.logical_forms import Literal, Reading
from greybox.neural.reader_search import Question, Theory
from greybox.neural.reading_eval import answer

__all__ = ["NAMES", "ADJS", "toy_theory", "StubEncoder", "WordIdentityEncoder", "FUNCTION_WORDS"]

NAMES = ["bob", "ann", "eve", "tom", "zed"]
ADJS = ["big", "red", "kind", "cold", "nice", "wuggy"]


def toy_theory(rng: random.Random, n: int) -> Theory:
    """A random theory in a tiny language, its questions labelled by the theory's true meaning."""
    facts = [(rng.choice(NAMES), rng.choice(ADJS)) for _ in range(3)]
    rules = [(rng.choice(facts)[1], rng.choice(ADJS)), tuple(rng.sample(ADJS, 2))]
    sentences = [f"{a.capitalize()} is {p}." for a, p in facts]
    sentences += [f"If someone is {b} then they are {h}." for b, h in rules]
    meaning = [Reading(Literal(p, (a,))) for a, p in facts]
    meaning += [Reading(Literal(h, ("X",)), (Literal(b, ("X",)),)) for b, h in rules]
    asked = [(a, h) for a, p in facts for b, h in rules if p == b]  # what a rule derives, as RuleTaker asks it too
    asked += [(rng.choice(NAMES), rng.choice(ADJS)) for _ in range(4 - len(asked[:2]))]
    questions = [Question(f"{a.capitalize()} is {p}.", answer(meaning, Literal(p, (a,)))) for a, p in asked[:2] + asked[-2:]]
    return Theory(f"t{n}", sentences, questions)


FUNCTION_WORDS = ["the", "is", "are", "if", "then", "and", "not", "does", "something", "someone", "it", "they", "things",
                  ",", "."]


class StubEncoder(nn.Module):
    """Function words by identity, every other word as one "content word" vector, plus its capital.

    It stands for what a pretrained encoder gives: content words look alike in their role,
    whatever they name (so invented words read like known ones).
    """

    dim = len(FUNCTION_WORDS) + 2

    def forward(self, sentences):
        out = []
        for words in sentences:
            v = torch.zeros(len(words), self.dim)
            for i, w in enumerate(words):
                if w.lower() in FUNCTION_WORDS:
                    v[i, FUNCTION_WORDS.index(w.lower())] = 1.0
                else:
                    v[i, -2] = 1.0
                    v[i, -1] = float(w[:1].isupper())
            out.append(v)
        return out


class WordIdentityEncoder(nn.Module):
    """Each word of the tiny language by its own one-hot (any other word: one shared vector)."""

    VOCABULARY = FUNCTION_WORDS + ["if"] + NAMES + ADJS
    dim = len(VOCABULARY) + 1

    def forward(self, sentences):
        out = []
        for words in sentences:
            v = torch.zeros(len(words), self.dim)
            for i, w in enumerate(words):
                low = w.lower()
                v[i, self.VOCABULARY.index(low) if low in self.VOCABULARY else -1] = 1.0
            out.append(v)
        return out
