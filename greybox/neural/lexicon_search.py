"""Learning how words read from answers alone: one lexicon of roles for a whole corpus.

A reader that has never seen a logical form can still be taught by the answers: a role per
word (``greybox.neural.reader_tags.TAGS``) spells every sentence's reading, the exact
evaluator answers the questions from the readings, and the roles that answer the most
questions right (and leave the fewest sentences unreadable) are kept. Searching one theory at
a time finds readings that answer its few questions for the wrong reason ("the cat chases
the dog" read as ``not chase(cat)``, and the question read the same way); one lexicon for
every theory of the corpus must answer them all, which leaves the wrong readings no room.

The search climbs over three levels of keys, each more specific than the last:

1. **word classes**: words whose neighbours are alike (:func:`word_classes`, the cosine of
   their left and right neighbour counts) share a role, so "cat", "dog" and "lion" move
   together: one move where word by word the climb would need ten;
2. **words**: a word may leave its class's role;
3. **contexts**: a word class after another may take a role of its own ("are" after
   "things" ends the conditions; after "they" it carries nothing).

Each key's role is chosen by coordinate ascent on the corpus score (answers right plus
``read_weight`` times sentences read), from a random start, best of ``restarts``.
:meth:`Lexicon.tags` then gives target tags for any sentence, which train a
:class:`~greybox.neural.reader.TextReader` (``reader_search.fit_tags``): the network learns to
read words the lexicon never saw from their context.

Example:
    >>> classes = word_classes([s.split() for s in ["Bob is big .", "Ann is red .", "Bob is red ."]], 0.8)
    >>> sorted(map(sorted, classes))
    [['.'], ['ann', 'bob'], ['big', 'red'], ['is']]
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Hashable, Sequence

from ..errors import ConfigError, ContradictionError, StratificationError
from .logical_forms import Reading
from .reader_search import Theory, fit_tags
from .reader_tags import TAGS, Lemmatizer, decode_tags, is_pronoun_fact, split_words
from .reading_eval import answer, entails

__all__ = ["word_classes", "Lexicon", "LexiconCorpus", "search_corpus_lexicon", "learn_lexicon", "teach_reader"]

_START = "<s>"


def word_classes(sentences: Sequence[Sequence[str]], threshold: float = 0.8) -> list[list[str]]:
    """Lower-cased word types grouped by their neighbours (greedy, most frequent words first).

    A word joins the class whose summed left/right neighbour counts are closest to its own
    (cosine), when that similarity is at least ``threshold``; otherwise it starts a class.
    """
    ctx: dict[str, Counter] = defaultdict(Counter)
    for ws in sentences:
        u = [_START] + [w.lower() for w in ws] + ["</s>"]
        for i in range(1, len(u) - 1):
            ctx[u[i]]["L:" + u[i - 1]] += 1
            ctx[u[i]]["R:" + u[i + 1]] += 1

    def cos(a: Counter, b: Counter) -> float:
        num = sum(v * b.get(k, 0) for k, v in a.items())
        return num / math.sqrt(sum(v * v for v in a.values()) * sum(v * v for v in b.values()))

    classes: list[tuple[list[str], Counter]] = []
    for w in sorted(ctx, key=lambda w: (-sum(ctx[w].values()), w)):
        best = max(classes, key=lambda c: cos(ctx[w], c[1]), default=None)
        if best is not None and cos(ctx[w], best[1]) >= threshold:
            best[0].append(w)
            best[1].update(ctx[w])
        else:
            classes.append(([w], Counter(ctx[w])))
    return [ws for ws, _ in classes]


@dataclass
class Lexicon:
    """Roles by word class, by word, and by (previous class, class): the most specific wins.

    Attributes:
        classes: word -> class name; a word not in it is a class of its own.
        roles: key -> index into ``TAGS``; keys are a class name, ``("word", w)`` or
            ``(previous class, class)``. A key without a role falls back to the next level, ``O`` last.
    """

    classes: dict[str, str]
    roles: dict[Hashable, int] = field(default_factory=dict)

    def keys(self, words: Sequence[str]) -> list[tuple[Hashable, Hashable, Hashable]]:
        """Per word, its (context, word, class) keys."""
        low = [w.lower() for w in words]
        cls = [self.classes.get(w, "=" + w) for w in low]
        prev = [_START] + cls[:-1]
        return [((p, c), ("word", w), c) for p, c, w in zip(prev, cls, low)]

    def tags(self, words: Sequence[str]) -> tuple[str, ...]:
        """The role of each word.

        >>> lex = Lexicon({"bob": "name", "big": "adj"}, {"name": 1, "adj": 4})
        >>> lex.tags("Bob is big .".split())
        ('CONST', 'O', 'PRED', 'O')
        """
        return tuple(TAGS[self._role(k)] for k in self.keys(words))

    def to_json(self) -> dict:
        """A JSON-able form (:meth:`from_json` reads it back), roles by name.

        >>> lex = Lexicon({"bob": "c1"}, {"c1": 1, ("word", "is"): 0, ("c1", "c2"): 4})
        >>> Lexicon.from_json(lex.to_json()) == lex
        True
        """
        return {"classes": self.classes,
                "roles": [[list(k) if isinstance(k, tuple) else k, TAGS[v]] for k, v in self.roles.items()]}

    @classmethod
    def from_json(cls, data: dict) -> "Lexicon":
        return cls(dict(data["classes"]), {tuple(k) if isinstance(k, list) else k: TAGS.index(v) for k, v in data["roles"]})

    def _role(self, key: tuple[Hashable, Hashable, Hashable]) -> int:
        ctx, word, cls = key
        return self.roles.get(ctx, self.roles.get(word, self.roles.get(cls, 0)))


class LexiconCorpus:
    """Theories whose questions score a lexicon; re-scores only the theories a changed key touches."""

    def __init__(self, theories: Sequence[Theory], worlds: Sequence[str], lexicon: Lexicon,
                 lemmatizer: Lemmatizer | None = None) -> None:
        self.lexicon = lexicon
        self.lemmatizer = lemmatizer or Lemmatizer()
        self.words: list[list[str]] = []
        index: dict[str, int] = {}
        self.theories: list[tuple[list[int], list[int], list, frozenset, str]] = []
        for th, world in zip(theories, worlds):
            ids = []
            for s in th.sentences + [q.text for q in th.questions]:
                if s not in index:
                    index[s] = len(self.words)
                    self.words.append(split_words(s))
                ids.append(index[s])
            n = len(th.sentences)
            context = frozenset(w.lower() for i in ids for w in self.words[i])
            self.theories.append((ids[:n], ids[n:], [q.label for q in th.questions], context, world))
        self.keys = [lexicon.keys(ws) for ws in self.words]
        self.touches: dict[Hashable, set[int]] = defaultdict(set)  # key -> theories using it
        for t, (sents, questions, _, _, _) in enumerate(self.theories):
            for i in sents + questions:
                for triple in self.keys[i]:
                    for k in triple:
                        self.touches[k].add(t)
        self._cache: dict[tuple, Reading | None] = {}

    @property
    def sizes(self) -> tuple[int, int]:
        """(questions, sentences including questions)."""
        return (sum(len(q) for _, q, _, _, _ in self.theories),
                sum(len(s) + len(q) for s, q, _, _, _ in self.theories))

    def reading(self, i: int, context: frozenset) -> Reading | None:
        tags = tuple(self.lexicon._role(k) for k in self.keys[i])
        key = (i, tags)
        if key not in self._cache:
            reading = decode_tags(self.words[i], [TAGS[t] for t in tags], self.lemmatizer, context)
            # one statement a sentence, as the synthetic theories searched on state them: a lexicon that reads
            # a rule as several facts or a pronoun's facts would be paid for reading it (with them allowed, the
            # tests' tiny language ended at 74-77 of its 96 answers instead of all)
            single = reading is not None and not reading.also and not is_pronoun_fact(reading)
            self._cache[key] = reading if single else None
        return self._cache[key]

    def solved(self, t: int) -> bool:
        """Theory ``t``'s every question answered right and every sentence read."""
        sents, questions, labels, _, _ = self.theories[t]
        return self.score(t) == (len(labels), len(sents) + len(questions))

    def score(self, t: int) -> tuple[int, int]:
        """(questions answered right, sentences read) of theory ``t`` under the current lexicon."""
        sents, questions, labels, context, world = self.theories[t]
        read = [self.reading(i, context) for i in sents]
        asked = [self.reading(i, context) for i in questions]
        n_read = sum(r is not None for r in read) + sum(q is not None for q in asked)
        try:
            derived = entails([r for r in read if r is not None], world)
        except StratificationError:  # only with well_founded=False; kept for safety
            return 0, n_read
        right = 0
        for q, y in zip(asked, labels):
            if q is not None and q.is_fact:
                try:
                    right += answer(derived, q.head, world) == y
                except ContradictionError:
                    pass
        return right, n_read


def _move(corpus: LexiconCorpus, keys: tuple[Hashable, ...], options: Sequence[tuple[int | None, ...]],
          scores: list[tuple[int, int]], read_weight: float) -> bool:
    """Give ``keys`` the option (one role or ``None`` per key) that scores best, if better than now; True if moved."""
    roles = corpus.lexicon.roles
    value = lambda s: s[0] + read_weight * s[1]  # noqa: E731
    touched = set().union(*(corpus.touches.get(k, set()) for k in keys))
    if not touched:
        return False
    old = tuple(roles.get(k) for k in keys)
    best, best_option, best_scores = sum(value(scores[t]) for t in touched), old, None
    for option in options:
        for k, r in zip(keys, option):
            if r is None:
                roles.pop(k, None)
            else:
                roles[k] = r
        trial = {t: corpus.score(t) for t in touched}
        v = sum(value(sc) for sc in trial.values())
        if v > best + 1e-9:
            best, best_option, best_scores = v, option, trial
    for k, r in zip(keys, best_option):
        if r is None:
            roles.pop(k, None)
        else:
            roles[k] = r
    if best_scores is None:
        return False
    for t, sc in best_scores.items():
        scores[t] = sc
    return True


def _climb(corpus: LexiconCorpus, keys: Sequence[Hashable], scores: list[tuple[int, int]], rng: random.Random,
           read_weight: float, passes: int, optional: bool) -> None:
    """Coordinate ascent: per key, the role (or, ``optional``, no role of its own) that scores best."""
    for _ in range(passes):
        order = list(keys)
        rng.shuffle(order)
        moved = False
        for k in order:
            old = corpus.lexicon.roles.get(k)
            options = [(r,) for r in ([None] if optional else []) + list(range(len(TAGS))) if r != old]
            moved |= _move(corpus, (k,), options, scores, read_weight)
        if not moved:
            return


def _climb_pairs(corpus: LexiconCorpus, pairs: Sequence[tuple[Hashable, Hashable]], scores: list[tuple[int, int]],
                 rng: random.Random, read_weight: float) -> None:
    """Two keys moved at once: every pair of roles for each pair of neighbouring classes.

    One move at a time cannot leave a reading that is wrong in two places that agree with
    each other: "Bob is big" read as ``is(bob, big)`` needs both "is" and "big" to change
    before the answers can say so.
    """
    order = list(pairs)
    rng.shuffle(order)
    for a, b in order:
        old = (corpus.lexicon.roles.get(a), corpus.lexicon.roles.get(b))
        # moves of one key are the single climb's
        options = [(ra, rb) for ra in range(len(TAGS)) for rb in range(len(TAGS)) if ra != old[0] and rb != old[1]]
        _move(corpus, (a, b), options, scores, read_weight)


def search_corpus_lexicon(theories: Sequence[Theory], worlds: Sequence[str], classes: dict[str, str],
                          lemmatizer: Lemmatizer | None = None, restarts: int = 160, finalists: int = 8,
                          screen: int = 30, rounds: int = 2, read_weight: float = 0.3, pairs: bool = False,
                          kicks: int = 0, seed: int = 0, start: Lexicon | None = None,
                          log: Callable[[str], None] = lambda m: None) -> tuple[Lexicon, tuple[int, int]]:
    """The lexicon that answers the most questions of ``theories`` right.

    On ``screen`` theories drawn from the corpus, each of ``restarts`` starts draws random roles
    for the word classes (again while they read under a fifth of the sentences: no one move
    revives such a start) and climbs the classes alone (cheap: a few seconds). The
    ``finalists`` best of them climb every level (classes, with ``pairs`` also two at a time,
    words, contexts), best first, until one answers and reads the whole screen; the best one
    then climbs classes, words and contexts on every theory. Most starts end in a wrong
    reading that agrees with itself, and the class climb ranks them: on one RuleTaker screen,
    9 of 240 starts ended the class climb (1.8 s each) at the top value, each of the 9 then
    answered and read the whole screen when it climbed every level (7-12 s each), and the next
    3 did not (``experiments/bench/lexicon_search_starts.py``). Many cheap starts therefore
    find the right one more often than a few full ones (``experiments/bench/lexicon_search_seeds.py``
    measures the whole search over seeds).

    Args:
        theories: sentences and labelled questions.
        worlds: per theory, ``"closed"`` or ``"open"``.
        classes: word -> class name (e.g. from :func:`word_classes`).
        restarts: random starts, each climbing the word classes alone on the screen.
        finalists: the best starts that then climb every level on the screen.
        screen: theories a start is screened on.
        rounds: rounds of the climb through the levels, on the screen and on the whole corpus.
        read_weight: a sentence read is worth this many right answers (it breaks ties early on,
            when few answers move).
        pairs: the screening climb also moves two neighbouring classes at once (slower; it
            escapes readings wrong in two places that agree, e.g. ``is(bob, big)``).
        kicks: then, this many times, two class roles of the best lexicon drawn anew and the
            climb again on the screen, kept when it scores no worse (an iterated local search).
        start: climb from this lexicon (e.g. one searched on another corpus) instead of
            screening random starts.

    Returns:
        the lexicon and its (questions right, sentences read) on ``theories``.
    """
    rng = random.Random(seed)
    if start is not None:
        return _climb_corpus(theories, worlds, Lexicon(dict(classes), dict(start.roles)), lemmatizer, rounds, rng,
                             read_weight, log)
    sample = rng.sample(range(len(theories)), min(screen, len(theories)))
    best: tuple[tuple[int, int], dict] | None = None
    lexicon = Lexicon(dict(classes))  # the screen's corpus reads through it; each start sets its roles
    corpus = LexiconCorpus([theories[i] for i in sample], [worlds[i] for i in sample], lexicon, lemmatizer)
    keys = _keys(corpus)
    value = lambda total: total[0] + read_weight * total[1]  # noqa: E731
    starts: list[tuple[float, int, dict]] = []
    for r in range(restarts):
        for _ in range(100):  # a start that reads almost nothing is dead: no one move makes a sentence readable
            lexicon.roles = {k: rng.randrange(len(TAGS)) for k in keys["classes"]}
            if sum(corpus.score(t)[1] for t in range(len(corpus.theories))) >= 0.2 * corpus.sizes[1]:
                break
        scores = [corpus.score(t) for t in range(len(corpus.theories))]
        _climb(corpus, keys["classes"], scores, rng, read_weight, passes=8, optional=False)
        starts.append((value((sum(s[0] for s in scores), sum(s[1] for s in scores))), r, dict(lexicon.roles)))
        if (r + 1) % 40 == 0 and r + 1 < restarts:
            log(f"{r + 1} starts climbed the word classes; best value so far {max(s[0] for s in starts):.0f}")
    starts.sort(key=lambda s: (-s[0], s[1]))
    log(f"{restarts} starts climbed the word classes on {len(sample)} theories; best values "
        + ", ".join(f"{v:.0f}" for v, _, _ in starts[:finalists]))
    for _, r, roles in starts[:finalists]:
        lexicon.roles = dict(roles)
        for _ in range(rounds):
            total = _climb_levels(corpus, keys, rng, read_weight, pairs=pairs)
        log(f"start {r}: answers {total[0]}/{corpus.sizes[0]}, read {total[1]}/{corpus.sizes[1]} on {len(sample)} theories")
        if best is None or total > best[0]:
            best = (total, dict(lexicon.roles))
        if total == corpus.sizes:  # the whole screen answered and read: no start can do better
            break
    assert best is not None
    # kicks (an iterated local search): from the best lexicon, two class roles drawn anew and the climb
    # again; the result is kept when it scores no worse on the screen
    kicked = 0
    for kicked in range(1, (kicks if best[0] != corpus.sizes else 0) + 1):
        lexicon.roles = dict(best[1])
        for key in rng.sample(keys["classes"], min(2, len(keys["classes"]))):
            lexicon.roles[key] = rng.randrange(len(TAGS))
        total = _climb_levels(corpus, keys, rng, read_weight, pairs=pairs)
        if total >= best[0]:
            best = (total, dict(lexicon.roles))
        if best[0] == corpus.sizes:
            break
    if kicked:
        log(f"after {kicked} kicks: answers {best[0][0]}/{corpus.sizes[0]}, read {best[0][1]}/{corpus.sizes[1]} "
            f"on {len(sample)} theories")
    return _climb_corpus(theories, worlds, Lexicon(dict(classes), best[1]), lemmatizer, rounds, rng, read_weight, log)


def _climb_corpus(theories: Sequence[Theory], worlds: Sequence[str], lexicon: Lexicon, lemmatizer: Lemmatizer | None,
                  rounds: int, rng: random.Random, read_weight: float,
                  log: Callable[[str], None]) -> tuple[Lexicon, tuple[int, int]]:
    corpus = LexiconCorpus(theories, worlds, lexicon, lemmatizer)
    keys = _keys(corpus)
    for rnd in range(rounds):
        total = _climb_levels(corpus, keys, rng, read_weight, pairs=False)
        log(f"round {rnd} on every theory: answers {total[0]}/{corpus.sizes[0]}, read {total[1]}/{corpus.sizes[1]}")
    return lexicon, total


def _climb_levels(corpus: LexiconCorpus, keys: dict[str, list], rng: random.Random, read_weight: float,
                  pairs: bool) -> tuple[int, int]:
    """One climb through the levels (classes, class pairs if ``pairs``, words, contexts); the corpus's score after it."""
    scores = [corpus.score(t) for t in range(len(corpus.theories))]
    for name, level in keys.items():
        if name == "class pairs":
            if pairs:
                _climb_pairs(corpus, level, scores, rng, read_weight)
        else:
            _climb(corpus, level, scores, rng, read_weight, passes=4, optional=name != "classes")
    return sum(s[0] for s in scores), sum(s[1] for s in scores)


def _keys(corpus: LexiconCorpus) -> dict[str, list]:
    """The keys of each level the corpus uses, in a fixed order."""
    triples = [k for ks in corpus.keys for k in ks]
    return {"classes": sorted({k[2] for k in triples}, key=str),
            "class pairs": sorted({k[0] for k in triples if k[0][0] not in (_START, k[0][1])}, key=str),
            "words": sorted({k[1] for k in triples}, key=str),
            "contexts": sorted({k[0] for k in triples}, key=str)}


def learn_lexicon(theories: Sequence[Theory], worlds: Sequence[str], lemmatizer: Lemmatizer | None = None,
                  search_theories: int = 150, restarts: int = 160, finalists: int = 8, screen: int = 40,
                  pairs: bool = False, kicks: int = 20, polish: int = 2, seed: int = 0, rng: random.Random | None = None,
                  log: Callable[[str], None] = lambda m: None) -> tuple[Lexicon, LexiconCorpus]:
    """The corpus lexicon learned from the answers of ``theories`` alone.

    A lexicon is searched on ``search_theories`` theories of each world (closed world first;
    the open world's then climb on from it, both samples together). ``restarts``,
    ``finalists``, ``screen``, ``pairs`` and ``kicks`` are :func:`search_corpus_lexicon`'s.
    Then, ``polish`` times, the lexicon climbs on with the sample and up to ``search_theories``
    of the training theories it still answers wrong somewhere (a construction too rare for the
    sample shows up there). ``rng`` draws the samples (default: seeded by ``seed``).

    Returns:
        the lexicon, and every theory as a :class:`LexiconCorpus` read through it.

    Raises:
        ConfigError: there are no theories.
    """
    rng = rng or random.Random(seed)
    texts = {s for th in theories for s in th.sentences + [q.text for q in th.questions]}
    classes = {w: f"c{i}" for i, ws in enumerate(word_classes([split_words(t) for t in sorted(texts)])) for w in ws}
    log(f"word classes: {len(set(classes.values()))} for {len(classes)} words")
    by_world: dict[str, list[int]] = defaultdict(list)
    for i, w in enumerate(worlds):
        by_world[w].append(i)
    lexicon: Lexicon | None = None
    sample: list[int] = []
    for world in ("closed", "open"):
        if world not in by_world:
            continue
        sample += rng.sample(by_world[world], min(search_theories, len(by_world[world])))
        lexicon, (right, read) = search_corpus_lexicon(
            [theories[i] for i in sample], [worlds[i] for i in sample], classes, lemmatizer,
            restarts=restarts, finalists=finalists, screen=screen, pairs=pairs, kicks=kicks, seed=seed, start=lexicon,
            log=log)
        log(f"lexicon searched on {len(sample)} theories ({world} world added): {right} answers right, {read} sentences read")
    if lexicon is None:
        raise ConfigError("no theories to learn how to read from: the training split is empty",
                          hint="give the data module a training file with theories and labelled questions")
    corpus = LexiconCorpus(theories, worlds, lexicon, lemmatizer)  # every theory; read through the latest lexicon
    for _ in range(polish):
        # the theories it still gets wrong carry the constructions the sample had too few of
        corpus.lexicon = lexicon
        wrong = [t for t in range(len(corpus.theories)) if not corpus.solved(t)]
        log(f"the lexicon gets {len(wrong)}/{len(theories)} theories wrong somewhere")
        if not wrong:
            break
        extra = sample + rng.sample(wrong, min(search_theories, len(wrong)))
        lexicon, (right, read) = search_corpus_lexicon(
            [theories[i] for i in extra], [worlds[i] for i in extra], classes, lemmatizer, seed=seed,
            start=lexicon, log=log)
        log(f"climbed on with {len(extra) - len(sample)} of them: {right} answers right, {read} sentences read")
    corpus.lexicon = lexicon
    return lexicon, corpus


def teach_reader(reader, theories: Sequence[Theory], worlds: Sequence[str], search_theories: int = 150,
                 restarts: int = 160, finalists: int = 8, screen: int = 40, max_targets: int = 12000, epochs: int = 4,
                 pairs: bool = False, kicks: int = 20, polish: int = 2, seed: int = 0,
                 log: Callable[[str], None] = lambda m: None) -> Lexicon:
    """Teach a :class:`~greybox.neural.reader.TextReader` to read from the answers alone.

    The lexicon of :func:`learn_lexicon` (its arguments, the reader's lemmatizer); its tags on
    every sentence of every theory it answers right in full (each sentence read) train the
    reader's tagging head (at most ``max_targets`` sentences, ``epochs`` passes).

    Returns:
        the lexicon.
    """
    rng = random.Random(seed)
    lexicon, corpus = learn_lexicon(theories, worlds, reader.lemmatizer, search_theories=search_theories,
                                    restarts=restarts, finalists=finalists, screen=screen, pairs=pairs, kicks=kicks,
                                    polish=polish, seed=seed, rng=rng, log=log)
    targets: dict[tuple[str, ...], tuple[str, ...]] = {}
    solved = 0
    for t, (sents, questions, _, _, _) in enumerate(corpus.theories):
        if corpus.solved(t):
            solved += 1
            for i in sents + questions:
                targets[tuple(corpus.words[i])] = lexicon.tags(corpus.words[i])
    log(f"the lexicon answers {solved}/{len(theories)} theories right in full: {len(targets)} target sentences")
    keys = sorted(targets)
    if len(keys) > max_targets:
        keys = rng.sample(keys, max_targets)
    if keys:
        loss = fit_tags(reader, [list(k) for k in keys], [targets[k] for k in keys], epochs=epochs, seed=seed)
        log(f"reader fitted on {len(keys)} sentences, loss {loss:.4f}")
    return lexicon
