"""Learning new phrasings from answers: one reading structure per sentence template.

A reader that reads one phrasing of a language (the synthetic sentences it was taught on)
knows its names and predicates; crowd paraphrases state the same facts and rules in other
words ("Gary is feeling blue because he thinks he has been too nice to people."). The words
it already reads as predicates / names / "not" stay predicates / names / optionally
negations; of every other word, at most one marks the conclusion (``THEN``) and at most one
is the variable (``VAR``), the rest name nothing. Within that space each sentence has a few
dozen candidate readings (:func:`candidates`), ranked by the reader.

Paraphrases are reused across texts with other names, so a **template** (a sentence with its
names masked) gets one tag sequence for all its sentences, chosen by a coordinate ascent over
the templates' candidates on the number of training questions the exact evaluator answers
right (:func:`search_templates`). One choice per template leaves no room for a reading that
answers one theory's questions for the wrong reason. The tags of the theories answered right
in full then train the reader's head, with its own tags on the first phrasing so that it keeps
reading it (:func:`teach_phrasings`).

Example (a reader that knows nothing yet proposes; the answers choose):
    >>> import torch
    >>> from greybox.neural.reader import TextReader
    >>> from greybox.neural.reader_search import Question, Theory
    >>> class Stub(torch.nn.Module):
    ...     dim = 4
    ...     def forward(self, sentences): return [torch.ones(len(s), 4) for s in sentences]
    >>> reader = TextReader(word_encoder=Stub(), hidden=8, k=2)
    >>> known = ({"big": 1, "red": 1}, {"bob", "ann"}, set())
    >>> theory = Theory("t", ["Bob is big.", "Big people are also red."], [Question("Bob is red.", True)])
    >>> sorted(str(r) for r, _ in candidates(reader, theory.sentences, known, 40)[1])[:2]
    ['big(X). red(X).', 'red(X) :- big(X).']
"""

from __future__ import annotations

import random
from typing import Callable, Sequence

import torch

from ..errors import ContradictionError
from .items import ItemLists
from .logical_forms import Reading, is_variable
from .reader import ReaderOutput, TextReader
from .reader_search import Theory, fit_tags
from .reader_tags import TAG_INDEX, decode_tags, names_word, resolve_pronouns, split_words
from .reading_eval import answer, entails

__all__ = ["Known", "known_words", "candidates", "well_typed", "search_templates", "read_each", "question_readings",
           "teach_phrasings"]

#: (predicate words with their arity, constant words, "not" words) a reader reads in its first phrasing
Known = tuple[dict[str, int], set[str], set[str]]
_MASK = "<N>"


def known_words(out: ReaderOutput) -> Known:
    """What a reader read in sentences of its first phrasing (``out``: its output on them, e.g. from
    :func:`read_each`): predicate words and their arity, constant words, the words it reads as "not"."""
    arity: dict[str, int] = {}
    consts, negations = set(), set()
    for words, readings, tags in zip(out.words, out.readings, out.tags):
        for part in (readings[0].parts() if readings else ()):
            for lit in (part.head, *part.body):
                for w in lit.predicate.split("_"):
                    arity.setdefault(w, len(lit.arguments))
                consts.update(w for a in lit.arguments if not is_variable(a) for w in a.split("_"))
        if tags:
            negations.update(w.lower() for w, t in zip(words, tags[0]) if t == "NOT")
    return arity, consts, negations


def read_each(reader: TextReader, sentences: Sequence[str], batch: int = 512) -> ReaderOutput:
    """The reader's top reading and tags of each sentence alone, in batches."""
    words, readings, tags = [], [], []
    with torch.no_grad():
        for start in range(0, len(sentences), batch):
            out = reader(ItemLists([[s] for s in sentences[start:start + batch]]))
            words += out.words
            readings += out.readings
            tags += out.tags
    return ReaderOutput(readings, torch.zeros(0), tags, words)


def well_typed(reading: Reading, arity: dict[str, int]) -> bool:
    """Every literal has the arity its predicate has where the reader knows it.

    >>> from greybox.neural.logical_forms import Literal
    >>> well_typed(Reading(Literal("big", ("bob", "X"))), {"big": 1})
    False
    """
    return all(arity.get(lit.predicate, len(lit.arguments)) == len(lit.arguments)
               for part in reading.parts() for lit in (part.head, *part.body))


def candidates(reader: TextReader, sentences: Sequence[str], known: Known,
               limit: int) -> list[list[tuple[Reading, tuple[str, ...]]]]:
    """Per sentence, up to ``limit`` well-typed readings in the space above, most probable first, each with the
    tags that spell it (a reading scores as its most probable tag sequence). A pronoun's facts stay unresolved."""
    arity, consts, negations = known
    words = [split_words(s) for s in sentences]
    context = {w.lower() for ws in words for w in ws}
    with torch.no_grad():
        log_probs = reader.tag_log_probs(words)  # per sentence (L, T)
    out = []
    for ws, lp in zip(words, log_probs):
        base, free, negs = [], [], []
        for i, w in enumerate(ws):
            lw = w.lower()
            if names_word(w, arity):
                base.append("PRED")
            elif lw in consts:
                base.append("CONST_IN" if base and base[-1] in ("CONST", "CONST_IN") else "CONST")
            else:
                base.append("O")
                free.append(i)
                negs += [i] if lw in negations else []
        best: dict[Reading, tuple[float, tuple[str, ...]]] = {}
        for then in [None, *free]:
            for var in [None, *free]:
                if var is not None and var == then:
                    continue
                for negated in range(2 ** len(negs)):
                    tags = list(base)
                    for i, tag in ((then, "THEN"), (var, "VAR")):
                        if i is not None:
                            tags[i] = tag
                    for bit, i in enumerate(negs):
                        if negated >> bit & 1 and i not in (then, var):
                            tags[i] = "NOT"
                    reading = decode_tags(ws, tags, reader.lemmatizer, context)
                    if reading is None or not well_typed(reading, arity):
                        continue
                    # the sequence's log-probability under the reader: sum over words of log p(tag)
                    score = float(sum(lp[i, TAG_INDEX[t]] for i, t in enumerate(tags)))
                    if reading not in best or score > best[reading][0]:
                        best[reading] = (score, tuple(tags))
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:limit]
        out.append([(r, tags) for r, (_, tags) in ranked])
    return out


def search_templates(reader: TextReader, theories: Sequence[Theory], worlds: Sequence[str], known: Known,
                     alternatives: int = 32, passes: int = 3, questions: dict[str, Reading | None] | None = None
                     ) -> tuple[list[tuple[list[str], tuple[str, ...]]], int, dict[tuple, tuple[str, ...]]]:
    """One tag sequence per sentence template, chosen on the answers of every theory that uses it (see the module).

    Args:
        questions: the questions' readings (default: the reader's).

    Returns:
        ``(targets, solved, chosen)``: the words and chosen tags of every sentence of the theories
        answered right in full, how many theories those are, and the tags chosen per template.
    """
    consts = known[1]
    words = {s: split_words(s) for th in theories for s in th.sentences}
    template = {s: tuple(_MASK if w.lower() in consts else w for w in ws) for s, ws in words.items()}
    options: dict[tuple, list[tuple[str, ...]]] = {}  # from a template's first sentence: names stand at the same places
    for s in words:
        if template[s] not in options:
            options[template[s]] = [tags for _, tags in candidates(reader, [s], known, alternatives)[0]]
    context = {w.lower() for ws in words.values() for w in ws}
    cache: dict[tuple[str, tuple[str, ...]], Reading | None] = {}

    def reading(s: str) -> Reading | None:
        opts = options[template[s]]
        if not opts:
            return None
        tags = opts[choice[template[s]]]
        if (s, tags) not in cache:
            cache[(s, tags)] = decode_tags(words[s], tags, reader.lemmatizer, context)
        return cache[(s, tags)]

    if questions is None:
        texts = sorted({q.text for th in theories for q in th.questions})
        questions = question_readings(texts, read_each(reader, texts))
    asked = [[(questions[q.text], q.label) for q in th.questions] for th in theories]
    users: dict[tuple, set[int]] = {}
    for t, th in enumerate(theories):
        for s in th.sentences:
            users.setdefault(template[s], set()).add(t)
    choice = {key: 0 for key in options}  # from each template's most probable candidate

    def right(t: int) -> int:
        theory = [r for r in resolve_pronouns([reading(s) for s in theories[t].sentences]) if r is not None]
        derived = entails(theory, worlds[t])
        return sum(q is not None and _answers(derived, q, worlds[t]) == y for q, y in asked[t])

    scores = [right(t) for t in range(len(theories))]
    for _ in range(passes):
        moved = False
        for key, opts in options.items():
            touched = sorted(users[key])
            now = sum(scores[t] for t in touched)
            for j in range(len(opts)):
                if j == choice[key]:
                    continue
                old, choice[key] = choice[key], j
                trial = [right(t) for t in touched]
                if sum(trial) > now:
                    now, moved = sum(trial), True
                    for t, v in zip(touched, trial):
                        scores[t] = v
                else:
                    choice[key] = old
        if not moved:
            break
    targets, solved = [], 0
    for t, th in enumerate(theories):
        if scores[t] == len(asked[t]) and all(options[template[s]] for s in th.sentences):
            solved += 1
            targets += [(words[s], options[template[s]][choice[template[s]]]) for s in th.sentences]
    return targets, solved, {key: opts[choice[key]] for key, opts in options.items() if opts}


def question_readings(texts: Sequence[str], read: ReaderOutput) -> dict[str, Reading | None]:
    """Each question's top reading (``read``: the reader's output on ``texts``) when it is a fact, else ``None``."""
    return {t: (rs[0] if rs and rs[0].is_fact else None) for t, rs in zip(texts, read.readings)}


def _answers(derived, question: Reading, world: str):
    try:
        return answer(derived, question.head, world)
    except ContradictionError:
        return "contradiction"


def teach_phrasings(reader: TextReader, theories: Sequence[Theory], worlds: Sequence[str], first: Sequence[str],
                    alternatives: int = 32, epochs: int = 4, repeat: int = 3, keep: int = 6000, seed: int = 0,
                    log: Callable[[str], None] = lambda message: None) -> int:
    """Teach ``reader`` the phrasings of ``theories`` from their answers (see the module); returns the theories
    the search answers right in full.

    Args:
        first: sentences in the phrasing the reader already reads: its names and predicates come from a
            sample of ``keep`` of them and from the theories' questions (asked in that phrasing), and its
            own tags on both are fitted beside the new targets, so that it keeps reading them.
        alternatives: candidate readings per template.
        epochs: passes of the fit; ``repeat``: times a new target is seen per pass.
    """
    rng = random.Random(seed)
    first = sorted(set(first))
    first = rng.sample(first, min(keep, len(first)))
    # the questions are asked in the first phrasing: read once, kept read as they are, their words known
    questions = sorted({q.text for th in theories for q in th.questions} - set(first))
    own = read_each(reader, first + questions)
    kept = [(w, t[0]) for w, t in zip(own.words, own.tags) if t]
    asked = question_readings(first + questions, own)
    targets, solved, _ = search_templates(reader, theories, worlds, known_words(own), alternatives, questions=asked)
    pairs = targets * repeat + kept
    loss = fit_tags(reader, [w for w, _ in pairs], [t for _, t in pairs], epochs=epochs, seed=seed)
    log(f"phrasings: {solved}/{len(theories)} theories answered right in full by one reading per template; the head "
        f"fitted on {len(targets)} of their sentences and {len(kept)} of the first phrasing (loss {loss:.4f})")
    return solved
