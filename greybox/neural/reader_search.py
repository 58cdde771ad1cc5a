"""Training a :class:`TextReader` without tags: search readings a verifier accepts, fit the tags that spell them.

Two verifiers, one fit:

* **gold logical forms** (:func:`align_gold`): the candidate tag sequences of a sentence, the
  words restricted to roles its gold form allows (a word that names a gold predicate may be a
  predicate word, one that names a constant a constant word, any other word a non-naming
  role), are decoded until one spells the gold reading.
* **answers**: one lexicon of roles for a whole corpus, chosen through the exact evaluator
  (:mod:`greybox.neural.lexicon_search`); its tags are the targets.

:func:`fit_tags` then trains the tagging head on the targets (cross-entropy per word).

Example:
    >>> from greybox.neural.logical_forms import Literal
    >>> allowed_tags("Bob is big .".split(), Reading(Literal("big", ("bob",)))).sum(1).tolist()  # roles per word
    [2, 1, 2, 1]
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import Tensor

from .logical_forms import Reading, is_variable
from .reader import TextReader
from .reader_tags import TAGS, names_word, split_words

__all__ = ["allowed_tags", "same_reading", "align_gold", "Question", "Theory", "fit_tags"]

_NAMING = {"CONST", "CONST_IN", "PRED", "PRED_IN"}


def same_reading(a: Reading | None, b: Reading | None) -> bool:
    """Equal readings, the order of conditions aside."""
    if a is None or b is None:
        return a is b
    if a.also or b.also:  # facts stated together: the same set
        return {str(p) for p in a.parts()} == {str(p) for p in b.parts()}
    return a.head == b.head and sorted(map(str, a.body)) == sorted(map(str, b.body))


def allowed_tags(words: Sequence[str], gold: Reading) -> Tensor:
    """``(L, T)`` bool: the roles each word may take for the sentence to spell ``gold``.

    A word that is part of a gold predicate's name (or whose stem is) must be a predicate
    word, part of a constant's name a constant word; any other word names nothing, and takes
    only the roles the gold form has: ``VAR`` if it has a variable, ``NOT`` a negation,
    ``THEN`` a condition, ``AND`` two conditions.
    """
    preds, consts = set(), set()
    lits = (gold.head, *gold.body, *gold.also)
    for lit in lits:
        preds.update(lit.predicate.split("_"))
        consts.update(p for a in lit.arguments if not is_variable(a) for p in a.split("_"))
    plain = {"O"}
    plain |= {"VAR"} if any(is_variable(a) for lit in lits for a in lit.arguments) else set()
    plain |= {"NOT"} if any(lit.negated for lit in lits) else set()
    plain |= {"THEN"} if gold.body else set()
    plain |= {"AND"} if len(gold.body) > 1 else set()
    mask = torch.zeros(len(words), len(TAGS), dtype=torch.bool)
    for i, w in enumerate(words):
        lw = w.lower()
        if names_word(w, preds):
            roles = {"PRED", "PRED_IN"}
        elif lw in consts:
            roles = {"CONST", "CONST_IN"}
        else:
            roles = plain
        for t, name in enumerate(TAGS):
            mask[i, t] = name in roles
    return mask


def align_gold(reader: TextReader, sentences: Sequence[str], gold: Sequence[Reading | None], k: int = 1024,
               roles: Sequence[Reading | None] | None = None) -> list[tuple[str, ...] | None]:
    """Per sentence, the most probable tag sequence (within the beam) that spells its gold reading, else ``None``.

    The sentences are read as one text (a pronoun's facts go to whom the sentence before is about).
    A sentence whose gold is ``None`` is read as nothing. ``roles``: per sentence, the form whose names
    its words may take (default: its gold; a pronoun's facts, ``rough(X)``, for a gold ``rough(charlie)``).
    """
    words = [split_words(s) for s in sentences]
    allowed = [allowed_tags(w, r) if r is not None else torch.zeros(len(w), len(TAGS), dtype=torch.bool)
               for w, r in zip(words, roles if roles is not None else gold)]
    with torch.no_grad():
        out = reader(list(sentences), k=k, allowed=allowed)
    result: list[tuple[str, ...] | None] = []
    for row, tags, g in zip(out.readings, out.tags, gold):
        result.append(None if g is None else next((t for r, t in zip(row, tags) if same_reading(r, g)), None))
    return result


@dataclass
class Question:
    """A statement to judge and its label (True / False; open world also ``None`` for Unknown)."""

    text: str
    label: bool | None
    depth: int | None = None


@dataclass
class Theory:
    """Sentences and the questions asked about them."""

    id: str
    sentences: list[str]
    questions: list[Question]


def fit_tags(reader: TextReader, words: Sequence[Sequence[str]], tags: Sequence[Sequence[str]], epochs: int = 3,
             batch_size: int = 64, lr: float = 1e-3, seed: int = 0) -> float:
    """Train the tagging head on target tag sequences; returns the last epoch's mean loss."""
    params = [p for n, p in reader.named_parameters() if not n.startswith("words.") and p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    order = list(range(len(words)))
    rng = random.Random(seed)
    reader.train()
    last = 0.0
    for _ in range(epochs):
        rng.shuffle(order)
        total, n = 0.0, 0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            loss = reader.tag_loss([words[i] for i in idx], [tags[i] for i in idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            n += len(idx)
        last = total / max(n, 1)
    reader.eval()
    return last
