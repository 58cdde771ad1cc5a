"""Training a :class:`TextReader` without tags: search readings a verifier accepts, fit the tags that spell them.

Two verifiers, one loop (hard EM):

* **gold logical forms** (:func:`align_gold`): the candidate tag sequences of a sentence, the
  words restricted to roles its gold form allows (a word that names a gold predicate may be a
  predicate word, one that names a constant a constant word, any other word a non-naming
  role), are decoded until one spells the gold reading.
* **answers** (:func:`search_lexicon`): per theory, one role per word type is chosen by
  coordinate ascent on the number of questions the exact evaluator
  (:mod:`greybox.neural.reading_eval`) answers correctly; a theory whose questions all come
  out right, every sentence read, gives its tags as targets.

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

from ..errors import ContradictionError, StratificationError
from .logical_forms import Literal, Reading, is_variable
from .reader import TextReader
from .reader_tags import TAG_INDEX, TAGS, decode_tags, split_words
from .reading_eval import answer, entails

__all__ = ["allowed_tags", "same_reading", "align_gold", "Question", "Theory", "search_lexicon", "fit_tags"]

_NAMING = {"CONST", "CONST_IN", "PRED", "PRED_IN"}


def same_reading(a: Reading | None, b: Reading | None) -> bool:
    """Equal readings, the order of conditions aside."""
    if a is None or b is None:
        return a is b
    return a.head == b.head and sorted(map(str, a.body)) == sorted(map(str, b.body))


def allowed_tags(words: Sequence[str], gold: Reading) -> Tensor:
    """``(L, T)`` bool: the roles each word may take for the sentence to spell ``gold``.

    A word that is part of a gold predicate's name (or whose stem is) must be a predicate
    word, part of a constant's name a constant word; any other word names nothing, and takes
    only the roles the gold form has: ``VAR`` if it has a variable, ``NOT`` a negation,
    ``THEN`` a condition, ``AND`` two conditions.
    """
    preds, consts = set(), set()
    lits = (gold.head, *gold.body)
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
        if {lw, lw[:-1], lw[:-2]} & preds:
            roles = {"PRED", "PRED_IN"}
        elif lw in consts:
            roles = {"CONST", "CONST_IN"}
        else:
            roles = plain
        for t, name in enumerate(TAGS):
            mask[i, t] = name in roles
    return mask


def align_gold(reader: TextReader, sentences: Sequence[str], gold: Sequence[Reading], k: int = 1024
               ) -> list[tuple[str, ...] | None]:
    """Per sentence, the most probable tag sequence (within the beam) that spells its gold reading, else ``None``."""
    words = [split_words(s) for s in sentences]
    allowed = [allowed_tags(w, g) for w, g in zip(words, gold)]
    with torch.no_grad():
        out = reader(list(sentences), k=k, allowed=allowed)
    result: list[tuple[str, ...] | None] = []
    for row, tags, g in zip(out.readings, out.tags, gold):
        result.append(next((t for r, t in zip(row, tags) if same_reading(r, g)), None))
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


def _correct(chosen: list[Reading | None], questions: list[Reading | None], labels: list[bool | None], world: str) -> int:
    theory = [r for r in chosen if r is not None]
    try:
        derived = entails(theory, world)
    except StratificationError:
        return 0
    n = 0
    for q, y in zip(questions, labels):
        if q is None or not q.is_fact:
            continue
        try:
            n += answer(derived, q.head, world) == y
        except ContradictionError:
            pass
    return n


def search_lexicon(reader: TextReader, theory: Theory, world: str = "closed", passes: int = 2
                   ) -> tuple[list[list[str]], list[tuple[str, ...] | None], int]:
    """Choose a role per word *type* of a theory so that its questions come out right.

    A word keeps the role it has across a theory far more often than not ("chases" names a
    relation in every sentence it is in), so one change of a word type's role re-reads every
    sentence that uses it: the search moves through readings many at a time, where a change
    of one sentence's reading could not show any effect on the answers. Each word starts
    with its most probable tag; coordinate ascent over (word type, tag) keeps a change that
    answers more questions right.

    Returns:
        per sentence (theory sentences, then questions) its words and the tags chosen
        (``None`` where the sentence stays unreadable), and the count of correct answers.
    """
    texts = theory.sentences + [q.text for q in theory.questions]
    labels = [q.label for q in theory.questions]
    n = len(theory.sentences)
    words = [split_words(t) for t in texts]
    context = {w.lower() for ws in words for w in ws}
    with torch.no_grad():
        lps = reader.tag_log_probs(words)
    base = [lp.argmax(-1).tolist() for lp in lps]
    types = sorted(context)
    where: dict[str, list[int]] = {t: [] for t in types}
    for i, ws in enumerate(words):
        for w in {w.lower() for w in ws}:
            where[w].append(i)
    lexicon: dict[str, int] = {}

    def tags_of(i: int) -> tuple[str, ...]:
        return tuple(TAGS[lexicon.get(w.lower(), b)] for w, b in zip(words[i], base[i]))

    def read(i: int) -> Reading | None:
        return decode_tags(words[i], tags_of(i), reader.lemmatizer, context)

    def score(rs: list[Reading | None]) -> tuple[int, int]:
        # answers first; among equal answers, more sentences read (a sentence read as nothing
        # explains nothing, and its words are what the next sentences share)
        return _correct(rs[:n], rs[n:], labels, world), sum(r is not None for r in rs)

    readings = [read(i) for i in range(len(texts))]
    best = score(readings)
    full = (len(labels), len(texts))
    # the least sure words first: their role is what the model knows least
    doubt = {t: 0.0 for t in types}
    for ws, lp in zip(words, lps):
        top = lp.max(-1).values
        for w, v in zip(ws, top.tolist()):
            doubt[w.lower()] = min(doubt[w.lower()], v)
    order = sorted(types, key=lambda t: doubt[t])
    # per word type and tag, the model's mean log-probability of that tag over the type's occurrences
    sums: dict[str, Tensor] = {}
    counts: dict[str, int] = {}
    for ws, lp in zip(words, lps):
        for w, row in zip(ws, lp):
            sums[w.lower()] = sums.get(w.lower(), 0) + row
            counts[w.lower()] = counts.get(w.lower(), 0) + 1

    def prior(t: str, tag: int | None) -> float:
        return 0.0 if tag is None else float(sums[t][tag]) / counts[t]

    for _ in range(passes):
        improved = False
        for t in order:
            if best == full:
                break
            keep = lexicon.get(t)
            best_tag, best_read, best_key = keep, None, (best, prior(t, keep))
            for tag in range(len(TAGS)):
                if tag == keep:
                    continue
                lexicon[t] = tag
                trial = list(readings)
                for i in where[t]:
                    trial[i] = read(i)
                key = (score(trial), prior(t, tag))
                # a change must answer more (or read more); among such changes the model's likeliest role wins
                if key[0] > best and key > best_key:
                    best_tag, best_read, best_key = tag, trial, key
            if best_read is not None:
                best = best_key[0]
            if best_tag is None:
                lexicon.pop(t, None)
            else:
                lexicon[t] = best_tag
            if best_read is not None:
                readings, improved = best_read, True
        if not improved or best == full:
            break
    return words, [tags_of(i) if readings[i] is not None else None for i in range(len(texts))], best[0]


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
