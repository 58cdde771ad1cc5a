"""Structural tags of words and their generic decoding into a :class:`Reading`.

A text reader tags each word of a sentence with one of a few task-independent roles; this
module turns a tag sequence into a logical form, like BIO decoding turns tags into spans.
Nothing here knows an English sentence template: names come from the words themselves
(lower-case lemmas joined by ``_``), so invented words read as well as known ones.

Tags (``TAGS``):

* ``O``: the word carries no logical content ("the", "is", "if").
* ``CONST`` / ``CONST_IN``: a constant's first / further word ("the *bald eagle*" -> ``bald_eagle``).
* ``VAR``: a variable ("someone", "it", "things"): the rule's variable ``X``.
* ``PRED`` / ``PRED_IN``: a predicate's first / further word; each ``PRED`` starts a literal.
* ``NOT``: the literals of its segment are negated.
* ``AND``: ends a segment (the literals on either side are separate conditions).
* ``THEN``: ends the conditions; what follows is the conclusion.

Decoding: the words between ``AND``/``THEN`` boundaries form segments; each predicate of a
segment takes the segment's terms in order (terms before the predicate, then after). A
predicate with no term before it inherits the subject of the previous literal ("if something
is big and red"), or, first in the sentence, that of the next one ("big, red things are
young"). With a ``THEN``, the literals before it are the body and the one after it the
head; without, the literals are facts (one sentence may state several: "Bob is big and red."),
which must be ground, or all properties of the variable: a pronoun's facts ("He is big and
red."), which :func:`resolve_pronouns` gives to the entity the sentence before is about. Anything else
(two heads, no predicate, three arguments, a variable only in the conclusion, a name that is
not an identifier of the rule language, such as ``.``) is unreadable: ``None``.

Example:
    >>> words = "If something is big and red then it is young .".split()
    >>> tags = "O VAR O PRED AND PRED THEN VAR O PRED O".split()
    >>> print(decode_tags(words, tags))
    young(X) :- big(X), red(X).
    >>> print(decode_tags("The bald eagle does not chase the cat .".split(),
    ...                   "O CONST CONST_IN O NOT PRED O CONST O".split()))
    not chase(bald_eagle, cat).
    >>> print(decode_tags("Bob is feeling blue because he is green .".split(),
    ...                   "CONST O O PRED O O O PRED O".split()))
    blue(bob). green(bob).
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from .logical_forms import Literal, Reading, is_variable

__all__ = ["TAGS", "TAG_INDEX", "VARIABLE", "MAX_ARITY", "split_words", "Lemmatizer", "decode_tags", "is_pronoun_fact",
           "resolve_pronouns", "resolve_pronoun", "stated_of", "names_word"]

TAGS: tuple[str, ...] = ("O", "CONST", "CONST_IN", "VAR", "PRED", "PRED_IN", "NOT", "AND", "THEN")
TAG_INDEX: dict[str, int] = {t: i for i, t in enumerate(TAGS)}
#: the name every VAR word reads as (the sentences read have one variable)
VARIABLE = "X"
#: literals with more arguments than this are unreadable (a property or a relation)
MAX_ARITY = 2

_WORD = re.compile(r"\w+(?:'\w+)?|[^\w\s]")


def split_words(sentence: str) -> list[str]:
    """The words and punctuation marks of a sentence, in order.

    >>> split_words("Bob's dog, the cat: big.")
    ["Bob's", 'dog', ',', 'the', 'cat', ':', 'big', '.']
    """
    return _WORD.findall(sentence)


class Lemmatizer:
    """Strips an inflection (``-s``, ``-es``) from a predicate word when the stem is a known form.

    "chases" and "chase" are one predicate when both forms occur ("the cat chases the dog",
    "if they chase the dog"); the known forms are the words the lemmatizer was fitted on plus
    the words read together with the sentence (the theory and its question). A word whose
    stem never occurs keeps its form, consistently, so invented words stay one predicate.

    >>> lem = Lemmatizer(["they", "chase", "the", "cat"])
    >>> lem("chases"), lem("visits"), lem("visits", ["visit"]), lem("Furious")
    ('chase', 'visits', 'visit', 'furious')
    """

    def __init__(self, known: Iterable[str] = ()) -> None:
        self.known: set[str] = {w.lower() for w in known}

    def fit(self, sentences: Iterable[str]) -> "Lemmatizer":
        """Add the words of ``sentences`` to the known forms."""
        for s in sentences:
            self.known.update(w.lower() for w in split_words(s))
        return self

    def __call__(self, word: str, context: Iterable[str] = ()) -> str:
        w = word.lower()
        extra = {c.lower() for c in context}
        for suffix in ("s", "es"):
            stem = w[: -len(suffix)]
            if w.endswith(suffix) and len(stem) >= 2 and (stem in self.known or stem in extra):
                return stem
        return w


_IDENTIFIER = re.compile(r"[^\W_]\w*")


def names_word(word: str, names) -> bool:
    """Whether ``word``, or its stem without ``-s`` / ``-es``, is one of ``names`` (lower-case).

    >>> names_word("Chases", {"chase"}), names_word("big", {"chase"})
    (True, False)
    """
    w = word.lower()
    return not {w, w[:-1], w[:-2]}.isdisjoint(names)


def _name(words: Sequence[str]) -> str:
    return "_".join(w.lower() for w in words)


def _is_name(name: str) -> bool:
    """A predicate or constant must be an identifier of the rule language (letters, digits, ``_``)."""
    return _IDENTIFIER.fullmatch(name) is not None


def decode_tags(words: Sequence[str], tags: Sequence[str], lemmatize: Lemmatizer | None = None,
                context: Iterable[str] = ()) -> Reading | None:
    """The reading a tag sequence spells, or ``None`` when it spells no fact or rule.

    Args:
        words: the sentence's words (:func:`split_words`).
        tags: one of ``TAGS`` per word.
        lemmatize: normalises predicate words (default: lower-case only).
        context: words read together with the sentence, known forms for ``lemmatize``.
    """
    if len(words) != len(tags):
        raise ValueError(f"{len(words)} words but {len(tags)} tags")
    ctx = list(context)
    lem = (lambda w: lemmatize(w, ctx)) if lemmatize is not None else (lambda w: w.lower())
    # segments: lists of ("term", name) / ("pred", [words]) / ("not",); `head_from` = first head segment
    segments: list[list[list]] = [[]]
    head_from: int | None = None
    prev = "O"
    for word, tag in zip(words, tags):
        seg = segments[-1]
        if tag == "CONST" or (tag == "CONST_IN" and prev not in ("CONST", "CONST_IN")):
            seg.append(["term", [word]])
        elif tag == "CONST_IN":
            seg[-1][1].append(word)
        elif tag == "VAR":
            seg.append(["term", None])
        elif tag == "PRED" or (tag == "PRED_IN" and prev not in ("PRED", "PRED_IN")):
            seg.append(["pred", [word]])
        elif tag == "PRED_IN":
            seg[-1][1].append(word)
        elif tag == "NOT":
            seg.append(["not"])
        elif tag in ("AND", "THEN"):
            if tag == "THEN":
                if head_from is not None:
                    return None
                head_from = len(segments)
            segments.append([])
        elif tag != "O":
            raise ValueError(f"unknown tag {tag!r}; tags are {', '.join(TAGS)}")
        prev = tag
    # per segment with a predicate: its predicates, its terms before / after the first one, polarity, index
    parts: list[tuple[list[str], list[str], list[str], bool, int]] = []
    carried: list[str] = []
    for i, seg in enumerate(segments):
        terms = [(j, VARIABLE if item[1] is None else _name(item[1])) for j, item in enumerate(seg) if item[0] == "term"]
        preds = [(j, "_".join(lem(w) for w in item[1])) for j, item in enumerate(seg) if item[0] == "pred"]
        negated = any(item[0] == "not" for item in seg)
        if not preds:
            if negated:
                return None  # a negation with no predicate to negate
            carried += [t for _, t in terms]  # terms before their predicate's segment ("the cat and ...")
            continue
        first = preds[0][0]
        before = carried + [t for j, t in terms if j < first]
        carried = []
        parts.append(([p for _, p in preds], before, [t for j, t in terms if j > first], negated, i))
    if not parts or carried:
        return None
    resolved: list[tuple[Literal, int]] = []
    for n, (preds, before, after, negated, i) in enumerate(parts):
        if before:
            args = before + after
        elif resolved:  # "... and red": the previous literal's subject, unless it follows ("and red things")
            subject = resolved[-1][0].arguments[0]
            args = after if after[:1] == [subject] else [subject, *after]
        elif after:  # "big things ...": the terms after the predicate
            args = after
        else:  # "big, red things": the next segment's subject
            subject = next(((b2 or a2)[0] for _, b2, a2, _, _ in parts[n + 1:] if b2 or a2), None)
            if subject is None:
                return None
            args = [subject]
        if not 1 <= len(args) <= MAX_ARITY or not all(_is_name(p) for p in preds) or not all(
                _is_name(a) for a in args):
            return None
        resolved += [(Literal(p, tuple(args), negated), i) for p in preds]
    if head_from is None:  # facts: ground, or all about the one someone a pronoun names ("He is big and red.")
        facts = list(dict.fromkeys(lit for lit, _ in resolved))
        terms = {a for lit in facts for a in lit.arguments}
        if any(is_variable(a) for a in terms) and (terms != {VARIABLE} or any(len(f.arguments) != 1 for f in facts)):
            return None
        return Reading(head=facts[0], also=tuple(facts[1:]))
    body = tuple(lit for lit, seg in resolved if seg < head_from)
    head = [lit for lit, seg in resolved if seg >= head_from]
    if len(head) != 1 or not body or not {a for a in head[0].arguments if is_variable(a)} <= {
            a for lit in body for a in lit.arguments}:
        return None  # one conclusion, at least one condition, no variable only in the conclusion
    return Reading(head=head[0], body=body)


def is_pronoun_fact(reading: Reading | None) -> bool:
    """A reading of facts about the variable: what a pronoun states ("He is big." -> ``big(X)``)."""
    return reading is not None and reading.is_fact and bool(reading.variables())


def resolve_pronouns(readings: Sequence[Reading | None]) -> list[Reading | None]:
    """A text's readings in order, each pronoun's facts given to the entity the sentence before states facts of.

    A pronoun names the subject of the facts of the sentence just before it (itself perhaps a
    pronoun's); after a rule, an unreadable sentence or at the start, a pronoun's facts are
    unreadable (``None``): "... whoever is big must also be kind." is no fact about anyone.

    >>> from .logical_forms import Literal
    >>> bob, he = Reading(Literal("big", ("bob",))), Reading(Literal("red", ("X",)))
    >>> rule = Reading(Literal("red", ("X",)), (Literal("big", ("X",)),))
    >>> [str(r) for r in resolve_pronouns([bob, he, he])], resolve_pronouns([he, bob])[0], resolve_pronouns([bob, rule, he])[2]
    (['big(bob).', 'red(bob).', 'red(bob).'], None, None)
    """
    out: list[Reading | None] = []
    for r in readings:
        out.append(resolve_pronoun(r, out[-1] if out else None))
    return out


def resolve_pronoun(reading: Reading | None, before: Reading | None) -> Reading | None:
    """``reading`` with a pronoun's facts given to whom ``before``, the (resolved) reading of the sentence
    just before, states facts of; ``None`` for a pronoun's facts when ``before`` states none. Other
    readings are returned as they are (:func:`resolve_pronouns` applies it to a whole text).

    >>> from .logical_forms import Literal
    >>> print(resolve_pronoun(Reading(Literal("red", ("X",))), Reading(Literal("big", ("bob",)))))
    red(bob).
    """
    if not is_pronoun_fact(reading):
        return reading
    return stated_of(reading, before.head.arguments[0]) if before is not None and before.is_fact else None


def stated_of(reading: Reading, entity: str) -> Reading:
    """A pronoun's facts (:func:`is_pronoun_fact`) stated of ``entity``."""
    it = {VARIABLE: entity}
    return Reading(reading.head.bound(it), probability=reading.probability, also=tuple(x.bound(it) for x in reading.also))
