"""A test double of the text reader: the templates of the synthetic RuleTaker/ProofWriter language, by hand.

NOT the reader (that one is learned and knows no template): this double reads the few sentence
shapes the synthetic theories are generated from, so that the reasoning can be measured and
tested alone, fast, on files without a ``meta-*.jsonl`` (RuleTaker depth-N, ProofWriter). A
sentence outside the templates is read as nothing (unreadable), as the reader may read it.

Example:
    >>> r = TemplateReader()
    >>> [str(x[0]) if x else None for x in r.read(["The bald eagle does not chase Bob.", "Big, red things are young.",
    ...   "If something is big and it does not see the cow then the cow is not red.", "Colorless ideas sleep."])]
    ['not chase(bald_eagle, bob).', 'young(X) :- big(X), red(X).', 'not red(cow) :- big(X), not see(X, cow).', None]
"""

from __future__ import annotations

import re
from typing import Sequence

import torch
from torch import nn

from greybox.neural.items import ItemLists
from greybox.neural.logical_forms import Literal, Reading
from tasks.rules_in_language.gold import GoldOutput, lemma

__all__ = ["TemplateReader", "read_sentence"]

_VARIABLES = {"something", "someone", "it", "they", "everything", "everyone"}
_TERM = r"(?:the [a-z]+(?: [a-z]+)?|[A-Z][a-z]+|something|someone|it|they)"
_ATTRIBUTE = re.compile(rf"^({_TERM}) (?:is|are) (not )?([a-z]+)$")
_NEG_RELATION = re.compile(rf"^({_TERM}) (?:does|do) not ([a-z]+) ({_TERM})$")
_RELATION = re.compile(rf"^({_TERM}) ([a-z]+) ({_TERM})$")
_GENERIC = re.compile(r"^(?:all )?([a-z, ]+?) (?:things|people) are (not )?([a-z]+)$")
_RULE = re.compile(r"^if (.+) then (.+)$")


def _term(words: str) -> str:
    w = words.lower()
    if w in _VARIABLES:
        return "X"
    return w[4:].replace(" ", "_") if w.startswith("the ") else w.replace(" ", "_")


def _clause(text: str, previous: Literal | None) -> Literal | None:
    m = _ATTRIBUTE.match(text)
    if m:
        return Literal(m.group(3), (_term(m.group(1)),), negated=bool(m.group(2)))
    m = _NEG_RELATION.match(text)
    if m:
        return Literal(lemma(m.group(2)) if m.group(2).endswith("s") else m.group(2),
                       (_term(m.group(1)), _term(m.group(3))), negated=True)
    m = _RELATION.match(text)
    if m and m.group(2) not in ("is", "are"):
        return Literal(lemma(m.group(2)), (_term(m.group(1)), _term(m.group(3))))
    if previous is not None and re.fullmatch(r"(not )?[a-z]+", text) and len(previous.arguments) == 1:
        negated = text.startswith("not ")
        return Literal(text[4:] if negated else text, previous.arguments, negated=negated)
    return None


def read_sentence(sentence: str) -> Reading | None:
    """One synthetic sentence -> its reading (None: not one of the templates)."""
    text = re.sub(r"\b(The|If|All)\b", lambda w: w.group(1).lower(), sentence.strip().rstrip(".").strip())
    m = _RULE.match(text)
    if m:
        body, previous = [], None
        for part in m.group(1).split(" and "):
            lit = _clause(part, previous)
            if lit is None:
                return None
            body.append(lit)
            previous = lit
        head = _clause(m.group(2), None)
        return Reading(head, tuple(body)) if head is not None else None
    m = _GENERIC.match(text[0].lower() + text[1:]) if text and not _ATTRIBUTE.match(text) else None
    if m:
        adjectives = [a for a in re.split(r",\s*|\s+and\s+|\s+", m.group(1)) if a]
        return Reading(Literal(m.group(3), ("X",), negated=bool(m.group(2))),
                       tuple(Literal(a, ("X",)) for a in adjectives))
    lit = _clause(text, None)
    return Reading(lit) if lit is not None else None


class TemplateReader(nn.Module):
    """The template double as a reader: every sentence it knows at probability ``confidence``.

    Args:
        confidence: the probability of each reading (1.0: certain).
    """

    def __init__(self, confidence: float = 1.0) -> None:
        super().__init__()
        self.confidence = confidence
        self.scale = nn.Parameter(torch.zeros(()))  # something for an optimizer to hold

    def read(self, sentences: Sequence[str], k: int = 1) -> list[list[Reading]]:
        out = []
        for s in sentences:
            r = read_sentence(s)
            out.append([r.with_probability(self.confidence)] if r is not None else [])
        return out

    def forward(self, sentences: ItemLists) -> GoldOutput:
        items = sentences.flat()
        readings = [self.read([s])[0] if s is not None else [] for s in items]
        p = torch.sigmoid(self.scale + torch.logit(torch.tensor(min(self.confidence, 1 - 1e-6))))
        probs = torch.stack([p * (1.0 if r else 0.0) for r in readings]).reshape(len(items), 1) if items \
            else torch.zeros(0, 1)
        return GoldOutput(readings, probs)
