"""CLUTRR kinship stories: the relation vocabulary, one story's windows and candidate pairs, batches.

The data module that reads the files into splits is :mod:`tasks.kinship.data`.

A story such as ``[Dorothy]'s brother [Michael] and her went to get ice cream.
[Michael] is the proud father of the lovely [Donald]`` is cut into sentences, and the
sentences into *windows* of ``window`` consecutive sentences (the texts the extractor
reads). Every ordered pair of different people named in one window is a *candidate
pair*, read from the first window that names both; the query is a pair of people and
the label is the index of the target relation in :data:`RELATIONS` (``aunt`` here, for
the query ``(Donald, Dorothy)``: Dorothy is Donald's aunt).

Windows of two sentences catch relations stated across a sentence boundary ("[Michael]
is proud of his son. [Donald] is the son's name."): with one-sentence windows 65% of the
10-edge test chains have every edge inside a candidate pair, with two-sentence windows
all but one.

People are numbered per story, ``0 .. P-1`` in the order of the ``genders`` column.

Example:
    >>> s = parse_story("[Ann] met her son [Bob]. [Bob]'s son [Cid] came too.",
    ...                 query=("Ann", "Cid"), target="grandson", genders="Ann:female,Bob:male,Cid:male",
    ...                 window=1)
    >>> s.people, s.label, s.query
    (('Ann', 'Bob', 'Cid'), 10, (0, 2))
    >>> [(p.text, p.first, p.second) for p in s.pairs]
    [(0, 0, 1), (0, 1, 0), (1, 1, 2), (1, 2, 1)]
    >>> s2 = parse_story("[Ann] met her son [Bob]. [Bob]'s son [Cid] came too.", ("Ann", "Cid"), "grandson")
    >>> s2.texts
    ("Ann met her son Bob. Bob's son Cid came too.",)
    >>> [(p.first, p.second) for p in s2.pairs]   # never the queried pair (Ann, Cid) itself
    [(0, 1), (1, 0), (1, 2), (2, 1)]
"""

from __future__ import annotations

import ast
import csv
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from greybox.errors import ConfigError
from greybox.neural.items import ItemLists

__all__ = [
    "RELATIONS",
    "NONE",
    "KINDS",
    "kind_of",
    "inverse_of",
    "inverse_kind",
    "names_per_sentence",
    "raw_sentences",
    "sentence_templates",
    "CandidatePair",
    "Story",
    "parse_story",
    "read_clutrr",
    "with_distractor",
    "PairText",
    "pair_texts",
    "collate_stories",
    "DATA_HINT",
]

#: the 20 CLUTRR relations, in the order of the answer codes of ``knowledge/kinship_task.dl`` (``answer(I)``)
RELATIONS: tuple[str, ...] = (
    "father", "mother", "son", "daughter", "husband", "wife", "brother", "sister",
    "grandfather", "grandmother", "grandson", "granddaughter", "uncle", "aunt", "nephew", "niece",
    "father_in_law", "mother_in_law", "son_in_law", "daughter_in_law",
)
#: the extractor's 21st class: the sentence says nothing about how the two are related
NONE = "none"

#: the ten kinds of relation, each with its male and female relation (``knowledge/kinship_kinds.dl``):
#: an extractor that reads kinds leaves the gender to the person's known gender
KINDS: dict[str, tuple[str, str]] = {
    "parent": ("father", "mother"), "child": ("son", "daughter"), "spouse": ("husband", "wife"),
    "sibling": ("brother", "sister"), "grandparent": ("grandfather", "grandmother"),
    "grandchild": ("grandson", "granddaughter"), "pibling": ("uncle", "aunt"), "nibling": ("nephew", "niece"),
    "parent_in_law": ("father_in_law", "mother_in_law"), "child_in_law": ("son_in_law", "daughter_in_law"),
}


def kind_of(relation: str) -> str:
    """The kind of a relation, regardless of gender.

    >>> kind_of("aunt"), kind_of("son-in-law")
    ('pibling', 'child_in_law')
    """
    relation = relation.replace("-", "_")
    for kind, pair in KINDS.items():
        if relation in pair:
            return kind
    raise ConfigError(f"'{relation}' is not a CLUTRR relation", hint=f"one of {', '.join(RELATIONS)}")


#: each kind's inverse: if B is A's parent, A is B's child
_INVERSE_KIND = {"parent": "child", "spouse": "spouse", "sibling": "sibling", "grandparent": "grandchild",
                 "pibling": "nibling", "parent_in_law": "child_in_law"}
_INVERSE_KIND.update({v: k for k, v in _INVERSE_KIND.items()})


def inverse_kind(kind: str) -> str:
    """The kind of relation A is to B when B is A's ``kind``.

    >>> inverse_kind("parent"), inverse_kind("sibling")
    ('child', 'sibling')
    """
    return _INVERSE_KIND[kind]


def inverse_of(relation: str, gender: int) -> str:
    """What A is to B when B is A's ``relation``, given A's gender (1 male, 0 female).

    >>> inverse_of("aunt", 1), inverse_of("father", 0), inverse_of("wife", 1)
    ('nephew', 'daughter', 'husband')
    """
    return KINDS[inverse_kind(kind_of(relation))][1 - gender]

_NAME = re.compile(r"\[([^\]]+)\]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
#: how to point a config at the CLUTRR files, for the errors that say they are missing
DATA_HINT = "pass the CLUTRR folder with --data.init_args.data_dir (from the project root: ../shared/data/clutrr/data_089907f8)"


@dataclass(frozen=True)
class CandidatePair:
    """Two people named in one window; ``second`` is what the extractor says about ``first``.

    Attributes:
        text: index of the window in ``Story.texts`` the pair is read from.
        first, second: person indices.
        first_span, second_span: ``(start, end)`` character offsets of their first mentions in that text.
    """

    text: int
    first: int
    second: int
    first_span: tuple[int, int]
    second_span: tuple[int, int]


@dataclass(frozen=True)
class Story:
    """One parsed CLUTRR example.

    Attributes:
        sentences: the sentences without brackets.
        texts: the windows the extractor reads (consecutive sentences joined by a space).
        text_sentences: for each window, the indices of its sentences.
        people: names, indexed by person id.
        genders: 1 male, 0 female, per person.
        pairs: the candidate pairs.
        query: ``(a, b)`` person ids; the answer is what ``b`` is to ``a``.
        label: index of the target in :data:`RELATIONS`.
        k: number of edges of the story's chain (CLUTRR's ``1.k``), 0 when unknown.
        source: the story as given (with ``[brackets]``) and ``source_genders`` its genders
            column, kept to build variants (:func:`with_distractor`).
    """

    sentences: tuple[str, ...]
    texts: tuple[str, ...]
    text_sentences: tuple[tuple[int, ...], ...]
    people: tuple[str, ...]
    genders: tuple[int, ...]
    pairs: tuple[CandidatePair, ...]
    query: tuple[int, int]
    label: int
    k: int = 0
    source: str = ""
    source_genders: str = ""


def _relation_index(target: str) -> int:
    name = target.strip().replace("-", "_")
    if name not in RELATIONS:
        raise ConfigError(f"unknown CLUTRR relation '{target}'", hint=f"expected one of: {', '.join(RELATIONS)}")
    return RELATIONS.index(name)


def parse_story(story: str, query: tuple[str, str], target: str, genders: str = "", k: int = 0,
                window: int = 2, one_direction: bool = False, same_sentence_first: bool = False) -> Story:
    """Sentences, windows, people and candidate pairs of one story.

    Args:
        story: text with ``[Bracketed]`` names.
        query: the two queried names.
        target: the relation (``son-in-law`` or ``son_in_law``).
        genders: CLUTRR's ``Name:male,Name:female,...``; fixes the person numbering.
        k: the chain length, kept for reporting.
        window: sentences per window (1: pairs within a sentence; 2: also across a sentence boundary).
        one_direction: each pair of people once, the one named first as ``first``, instead
            of both orders; the rules derive the other direction (``son(Y, X) :- father(X, Y),
            male(X)``), so a reading cannot hide behind its reverse.
        same_sentence_first: read a pair from the first window in which one sentence names
            both people, when there is one, instead of the first window that names both. In a
            long story the same two people can be named in neighbouring sentences about other
            relations before the sentence that says how they are related.

    The two queried people are never a candidate pair: a CLUTRR story never states the
    queried relation (it is the composition of the chain), and reading it directly from a
    window that names both teaches the extractor a shortcut that does not generalize to
    longer chains.

    Returns:
        The parsed :class:`Story`.

    >>> s3 = parse_story("[Ann] met her son [Bob]. [Bob]'s son [Cid] came too.", ("Ann", "Cid"), "grandson",
    ...                  one_direction=True)
    >>> [(p.first, p.second) for p in s3.pairs]
    [(0, 1), (1, 2)]
    >>> s4 = parse_story("[Ann] sang. [Bob] ate. [Bob]'s mother [Ann] came.", ("Ann", "Cid"), "mother",
    ...                  "Ann:female,Bob:male,Cid:male", one_direction=True, same_sentence_first=True)
    >>> [(s4.texts[p.text], s4.people[p.first]) for p in s4.pairs]
    [("Bob ate. Bob's mother Ann came.", 'Bob')]

    Raises:
        ConfigError: the target is not a CLUTRR relation, a queried name is not in the story, or window < 1.
    """
    if window < 1:
        raise ConfigError(f"window must be >= 1 sentence, got {window}", hint="use 1 or 2 (--data.init_args.window)")
    people: list[str] = []
    gender_of: dict[str, int] = {}
    for item in filter(None, (g.strip() for g in genders.split(","))):
        name, _, gender = item.partition(":")
        people.append(name)
        gender_of[name] = 1 if gender.strip() == "male" else 0
    raws = raw_sentences(story)
    sentences = [_NAME.sub(r"\1", raw) for raw in raws]
    for m in _NAME.finditer(story):
        if m.group(1) not in people:
            people.append(m.group(1))
    starts = range(max(1, len(raws) - window + 1))
    text_sentences = tuple(tuple(range(i, min(i + window, len(raws)))) for i in starts)
    texts: list[str] = []
    window_spans: list[dict[str, tuple[int, int]]] = []  # per window: name -> span of its first mention
    for members in text_sentences:
        plain, spans, pos = "", {}, 0
        raw = " ".join(raws[i] for i in members)
        for m in _NAME.finditer(raw):
            plain += raw[pos:m.start()]
            spans.setdefault(m.group(1), (len(plain), len(plain) + len(m.group(1))))  # first mention
            plain += m.group(1)
            pos = m.end()
        texts.append(plain + raw[pos:])
        window_spans.append(spans)
    # the window each pair of people is read from: the first that names both, or with
    # same_sentence_first the first in which one sentence names both, when there is one
    sentence_names = names_per_sentence(story)
    read_from: dict[frozenset[str], tuple[int, bool]] = {}  # pair -> (window, whether one of its sentences names both)
    for index, spans in enumerate(window_spans):
        named = list(spans)
        for i, a in enumerate(named):
            for b in named[i + 1:]:
                key = frozenset((a, b))
                stated = same_sentence_first and any(key <= sentence_names[j] for j in text_sentences[index])
                if key not in read_from or (stated and not read_from[key][1]):
                    read_from[key] = (index, stated)
    pairs: list[CandidatePair] = []
    queried = set(query)
    for index, spans in enumerate(window_spans):
        named = list(spans)  # in order of first mention
        for i, a in enumerate(named):
            for b in named[i + 1:] if one_direction else named:
                if a == b or read_from[frozenset((a, b))][0] != index or {a, b} == queried:
                    continue
                pairs.append(CandidatePair(index, people.index(a), people.index(b), spans[a], spans[b]))
    for name in query:
        if name not in people:
            raise ConfigError(f"queried person '{name}' is not named in the story", hint="check the story's [brackets]")
    return Story(
        sentences=tuple(sentences), texts=tuple(texts), text_sentences=text_sentences, people=tuple(people),
        genders=tuple(gender_of.get(p, -1) for p in people), pairs=tuple(pairs),
        query=(people.index(query[0]), people.index(query[1])), label=_relation_index(target), k=k,
        source=story, source_genders=genders,
    )


def raw_sentences(story: str) -> list[str]:
    """The sentences of a CLUTRR story, names still in brackets, as :func:`parse_story` splits them.

    >>> raw_sentences("[Ann] met her son [Bob]. [Bob]'s son [Cid] came too.")
    ['[Ann] met her son [Bob].', "[Bob]'s son [Cid] came too."]
    """
    return _SENTENCE_END.split(story.strip())


def sentence_templates(story: str) -> list[str]:
    """The sentences of a CLUTRR story with every bracketed name replaced by "N", lower-cased.

    CLUTRR's crowd-written sentences are reused across stories with other names; two sentences
    with one template say the same thing in the same words.

    >>> sentence_templates("[Ann] met her son [Bob]. [Bob]'s son [Cid] came too.")
    ['n met her son n.', "n's son n came too."]
    """
    return [_NAME.sub("N", raw).strip().lower() for raw in raw_sentences(story)]


def names_per_sentence(story: str) -> list[set[str]]:
    """The bracketed names of each sentence of a CLUTRR story, as :func:`parse_story` splits it.

    >>> [sorted(names) for names in names_per_sentence("[Ann] met her son [Bob]. [Bob]'s son [Cid] came too.")]
    [['Ann', 'Bob'], ['Bob', 'Cid']]
    """
    return [set(_NAME.findall(raw)) for raw in raw_sentences(story)]


def with_distractor(story: Story, other: Story, before: bool, window: int = 2, one_direction: bool = False,
                    same_sentence_first: bool = False) -> Story:
    """``story`` with the sentences of an unrelated ``other`` story told before or after it.

    The query and label stay ``story``'s. Pairs of people from the two stories that share a
    window are unrelated: the extractor learns to read them as ``none``, which a training
    story alone never shows (in CLUTRR's training stories everyone named together is related).

    Returns ``story`` unchanged when the two stories share a name.

    >>> a = parse_story("[Ann] met her son [Bob]. [Bob]'s son [Cid] came too.", ("Ann", "Cid"), "grandson",
    ...                 "Ann:female,Bob:male,Cid:male")
    >>> b = parse_story("[Eve] and her brother [Dan] ate.", ("Eve", "Dan"), "brother", "Eve:female,Dan:male")
    >>> m = with_distractor(a, b, before=False)
    >>> m.people, m.query, m.label == a.label
    (('Ann', 'Bob', 'Cid', 'Eve', 'Dan'), (0, 2), True)
    >>> ("Cid", "Eve") in {(m.people[p.first], m.people[p.second]) for p in m.pairs}
    True
    """
    if set(story.people) & set(other.people):
        return story
    text = f"{other.source} {story.source}" if before else f"{story.source} {other.source}"
    genders = ",".join(g for g in (story.source_genders, other.source_genders) if g)
    query = (story.people[story.query[0]], story.people[story.query[1]])
    return parse_story(text, query, RELATIONS[story.label], genders, k=story.k, window=window,
                       one_direction=one_direction, same_sentence_first=same_sentence_first)


def read_clutrr(path: str | Path, k: int = 0, limit: int | None = None, window: int = 2,
                one_direction: bool = False, same_sentence_first: bool = False) -> list[Story]:
    """Parse the stories of one CLUTRR csv file.

    Args:
        path: the csv file (columns ``story``, ``query``, ``target``, ``genders``, ...).
        k: chain length recorded on every story (0: unknown / mixed).
        limit: keep only the first ``limit`` rows.
        window: sentences per window, see :func:`parse_story`.
        one_direction, same_sentence_first: see :func:`parse_story`.

    Raises:
        ConfigError: the file is missing or lacks a column.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"CLUTRR file not found (resolved: {path.resolve()})", file=str(path), hint=DATA_HINT)
    stories = []
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = {"story", "query", "target", "genders"} - set(reader.fieldnames or ())
        if missing:
            raise ConfigError(f"CLUTRR file lacks the columns {sorted(missing)}", file=str(path), hint=DATA_HINT)
        for line, row in enumerate(reader, start=2):
            if limit is not None and len(stories) >= limit:
                break
            try:
                query = ast.literal_eval(row["query"])
            except (ValueError, SyntaxError) as exc:
                raise ConfigError(f"cannot read the query {row['query']!r}", file=str(path), line=line,
                                  hint="the query column holds a pair such as ('Ann', 'Bob')") from exc
            stories.append(parse_story(row["story"], tuple(query), row["target"], row["genders"], k=k, window=window,
                                       one_direction=one_direction, same_sentence_first=same_sentence_first))
    return stories


@dataclass(frozen=True)
class PairText:
    """What the extractor reads of one candidate pair: the window's text and where the two names are.

    Attributes:
        text: the window (one or more sentences, without brackets).
        first_span, second_span: ``(start, end)`` character offsets of the pair's first and second
            person's first mentions in ``text``.
    """

    text: str
    first_span: tuple[int, int]
    second_span: tuple[int, int]

    @property
    def names(self) -> tuple[str, str]:
        """The two names as the text spells them.

        >>> PairText("Ann is Bob's mother.", (0, 3), (7, 10)).names
        ('Ann', 'Bob')
        """
        return self.text[slice(*self.first_span)], self.text[slice(*self.second_span)]


def pair_texts(story: Story) -> list[PairText]:
    """The extractor's input for each candidate pair of ``story``, in the order of ``story.pairs``.

    >>> s = parse_story("[A] is [B]'s son.", ("B", "C"), "son", "A:male,B:male,C:male")
    >>> pair_texts(s)[0]
    PairText(text="A is B's son.", first_span=(0, 1), second_span=(5, 6))
    """
    return [PairText(story.texts[p.text], p.first_span, p.second_span) for p in story.pairs]


def collate_stories(stories: list[Story]) -> dict[str, torch.Tensor | ItemLists]:
    """Stack stories into one batch dict, padding pairs and people.

    Returns:
        ``pairs`` the extractor's input: an :class:`~greybox.neural.items.ItemLists` of
        shape (B, M), per story its :func:`pair_texts` (``None`` pads);
        ``pair_first``, ``pair_second`` (B, M) person ids of each pair (-1: padding);
        ``query`` (B, 2) the queried people; ``genders`` (B, P) 1 male, 0 female, -1 padding;
        ``label`` (B,) target relation index; ``k`` (B,) chain length.

    >>> s = parse_story("[A] is [B]'s son.", ("B", "C"), "son", "A:male,B:male,C:male")
    >>> b = collate_stories([s, s])
    >>> b["pairs"].shape, b["query"].tolist(), b["label"].tolist()
    ((2, 2), [[1, 2], [1, 2]], [2, 2])
    """
    pairs = ItemLists([pair_texts(s) for s in stories])  # (B, M) texts of the pairs
    bsz, m = pairs.shape
    first = torch.full((bsz, m), -1, dtype=torch.int64)  # (B, M)
    second = torch.full((bsz, m), -1, dtype=torch.int64)  # (B, M)
    n_people = max(len(s.people) for s in stories)
    genders = torch.full((bsz, n_people), -1, dtype=torch.int64)  # (B, P)
    for i, s in enumerate(stories):
        first[i, : len(s.pairs)] = torch.tensor([p.first for p in s.pairs], dtype=torch.int64)
        second[i, : len(s.pairs)] = torch.tensor([p.second for p in s.pairs], dtype=torch.int64)
        genders[i, : len(s.genders)] = torch.tensor(s.genders, dtype=torch.int64)
    return {
        "pairs": pairs,
        "pair_first": first,
        "pair_second": second,
        "query": torch.tensor([s.query for s in stories], dtype=torch.int64),  # (B, 2)
        "genders": genders,
        "label": torch.tensor([s.label for s in stories], dtype=torch.int64),  # (B,)
        "k": torch.tensor([s.k for s in stories], dtype=torch.int64),  # (B,)
    }
