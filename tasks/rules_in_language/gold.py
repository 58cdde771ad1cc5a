"""The gold logical forms of a RuleTaker ``meta-*.jsonl`` file, as a reader that reads them back.

A meta file gives, for every theory, its facts (``triples``) and rules with their logical form
(``representation``: ``("Bob" "is" "green" "+")``, rules ``((( ... ) ( ... )) -> ( ... ))``)
and every question's. :class:`GoldReader` reads a sentence as the gold forms written for it:
it is the ceiling of the reasoning (a perfect reader) and the oracle the neural reader is
measured against. Forms are normalised the way the reader names things: lower-case lemmas
joined by ``_`` (``"bald eagle"`` -> ``bald_eagle``, ``"chases"`` -> ``chase``), ``"is"`` with an
attribute -> a unary predicate, ``"something"``/``"someone"`` -> the variable ``X``; polarity
``-`` (a negated fact) and ``~`` (negation as failure in a body) -> ``negated``.

Which sentence states which form: a synthetic theory's sentences are the forms' own texts.
A crowd-paraphrased (NatLang) theory states its facts first (one sentence may state several,
all about the entity it names) and then its rules, one sentence each, in the order of the
meta file (checked on all 240 NatLang dev theories).

Example:
    >>> print(parse_form('(("something" "is" "big" "+") ("something" "chases" "bald eagle" "~")) -> ("something" "is" "red" "-")'))
    not red(X) :- big(X), not chase(X, bald_eagle).
    >>> print(parse_form('("Bob" "likes" "the cat" "+")'))
    like(bob, cat).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from greybox.errors import ParseError
from greybox.neural.items import ItemLists
from greybox.neural.logical_forms import Literal, Reading

from .files import split_sentences

__all__ = ["GoldReader", "GoldOutput", "GoldTheory", "parse_form", "lemma", "term", "read_meta"]

_VARIABLE_WORDS = {"something", "someone", "somebody", "it", "they", "everything", "everyone"}
_TOKEN = re.compile(r'"([^"]*)"|(->)|([()])')


def lemma(verb: str) -> str:
    """The lemma of a verb in the third person: ``chases`` -> ``chase``, ``needs`` -> ``need``, ``does`` -> ``do``.

    >>> [lemma(v) for v in ("chases", "sees", "visits", "eats", "likes", "needs", "kisses", "worries", "is")]
    ['chase', 'see', 'visit', 'eat', 'like', 'need', 'kiss', 'worry', 'is']
    """
    v = verb.lower()
    if v in ("is", "has", "does", "was"):
        return {"has": "have", "does": "do"}.get(v, v)
    if v.endswith("ies") and len(v) > 4:
        return v[:-3] + "y"
    if v.endswith(("sses", "shes", "ches", "xes", "zzes")):
        return v[:-2]
    if v.endswith("s") and not v.endswith("ss"):
        return v[:-1]
    return v


def term(words: str, variables: dict[str, str]) -> str:
    """An argument: a variable word -> ``X`` (``Y``, ... for further ones), else the words as one constant.

    >>> v = {}; term("something", v), term("the bald eagle", v), term("Bob", v)
    ('X', 'bald_eagle', 'bob')
    """
    w = words.strip().lower()
    if w in _VARIABLE_WORDS:
        return variables.setdefault(w, "XYZUVW"[len(variables)])
    parts = [p for p in re.split(r"[^a-z0-9]+", w) if p]
    if parts and parts[0] in ("the", "a", "an") and len(parts) > 1:
        parts = parts[1:]
    return "_".join(parts) or "x"


def _literal(fields: list[str], variables: dict[str, str]) -> Literal:
    if len(fields) != 4 or fields[3] not in ("+", "-", "~"):
        raise ValueError(f"a literal has four fields (arg, relation, arg, polarity), got {fields}")
    subject, relation, obj, polarity = fields
    if relation.lower() == "is":
        return Literal(term(obj, {}), (term(subject, variables),), negated=polarity != "+")
    return Literal(lemma(relation), (term(subject, variables), term(obj, variables)), negated=polarity != "+")


def _tree(text: str):
    stack: list[list] = [[]]
    for quoted, arrow, paren in _TOKEN.findall(text):
        if paren == "(":
            stack.append([])
        elif paren == ")":
            if len(stack) < 2:
                raise ValueError("unbalanced parentheses")
            done = stack.pop()
            stack[-1].append(done)
        elif arrow:
            stack[-1].append("->")
        else:
            stack[-1].append(quoted)
    if len(stack) != 1:
        raise ValueError("unbalanced parentheses")
    return stack[0]


def parse_form(text: str) -> Reading:
    """A ``representation`` -> a ``Reading`` (a fact, or a rule ``body -> head``).

    Raises:
        ValueError: the text is not a fact or rule form.
    """
    tree = _tree(text)
    while len(tree) == 1 and isinstance(tree[0], list) and not all(isinstance(x, str) for x in tree[0]):
        tree = tree[0]
    variables: dict[str, str] = {}
    if "->" in tree:
        i = tree.index("->")
        body, head = tree[:i], tree[i + 1:]
        while len(body) == 1 and isinstance(body[0], list) and body[0] and isinstance(body[0][0], list):
            body = body[0]
        if len(head) != 1:
            raise ValueError(f"a rule has one conclusion: {text}")
        lits = tuple(_literal(b, variables) for b in body)
        return Reading(_literal(head[0], variables), lits)
    fields = tree[0] if len(tree) == 1 and isinstance(tree[0], list) else tree
    return Reading(_literal(fields, variables))


@dataclass(frozen=True)
class GoldTheory:
    """One theory of a meta file: its sentences, each sentence's gold readings, and its forms by name.

    Attributes:
        id: the theory's id.
        sentences: the theory's text cut into sentences.
        readings: per sentence, its gold readings (all hold).
        names: per sentence, the meta names of its forms (``triple3``, ``rule2``), for gold proofs.
        questions: ``Qid`` -> (question text, its reading, answer, gold proofs text).
    """

    id: str
    sentences: tuple[str, ...]
    readings: tuple[tuple[Reading, ...], ...]
    names: tuple[tuple[str, ...], ...]
    questions: dict


def _ordered(forms: dict, prefix: str) -> list[tuple[str, dict]]:
    return sorted(forms.items(), key=lambda kv: int(kv[0][len(prefix):]) if kv[0][len(prefix):].isdigit() else 0)


def _align(theory: dict, sentences: list[str]) -> list[list[str]]:
    """Per sentence, the meta names of the forms it states."""
    by_text: dict[str, list[str]] = {}
    forms = {**theory.get("triples", {}), **theory.get("rules", {})}
    for name, form in forms.items():
        by_text.setdefault(" ".join(form["text"].split()), []).append(name)
    if all(s in by_text for s in sentences):  # a synthetic theory: sentences are the forms' texts
        return [by_text[s] for s in sentences]
    rules = [n for n, _ in _ordered(theory.get("rules", {}), "rule")]
    n_facts = len(sentences) - len(rules)
    out: list[list[str]] = [[] for _ in sentences]
    for s, name in zip(range(n_facts, len(sentences)), rules):
        out[s].append(name)
    triples = [(name, _tree(form["representation"])[0]) for name, form in _ordered(theory.get("triples", {}), "triple")]
    names = {t[0].lower() for _, t in triples}
    at = 0
    for name, fields in triples:
        subject, attribute = fields[0].lower(), fields[2].lower()
        start = at
        while start < n_facts and subject not in sentences[start].lower():
            start += 1
        if start == n_facts:
            continue
        # the entity's block: its sentence and the ones after it that name no other entity ("This makes him cold.")
        end = start + 1
        while end < n_facts and not any(n in sentences[end].lower() for n in names - {subject}):
            end += 1
        chosen = next((i for i in range(start, end) if re.search(rf"\b{re.escape(attribute)}", sentences[i].lower())), start)
        out[chosen].append(name)
        at = start
    return out


def read_meta(path: str | Path) -> list[GoldTheory]:
    """The theories of a ``meta-*.jsonl`` file with their gold readings.

    Raises:
        ParseError: a line is not JSON or a form does not parse (naming the file and line).
    """
    path = Path(path)
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            theory = json.loads(line)
            sentences = split_sentences(theory.get("theory") or " ".join(
                f["text"] for _, f in [*_ordered(theory["triples"], "triple"), *_ordered(theory["rules"], "rule")]))
            names = _align(theory, sentences)
            forms = {**theory.get("triples", {}), **theory.get("rules", {})}
            readings = tuple(tuple(parse_form(forms[n]["representation"]) for n in ns) for ns in names)
            questions = {qid: (" ".join(q["question"].split()), parse_form(q["representation"]), q.get("answer"),
                               q.get("proofs", ""))
                         for qid, q in theory.get("questions", {}).items()}
        except (json.JSONDecodeError, KeyError, ValueError, TypeError) as e:
            raise ParseError(f"not a RuleTaker meta theory: {e}", file=str(path), line=number,
                             source_line=line[:200], hint="give the meta-NAME.jsonl file of the RuleTaker release") from e
        out.append(GoldTheory(id=str(theory.get("id", number)), sentences=tuple(sentences), readings=readings,
                              names=tuple(tuple(n) for n in names), questions=questions))
    return out


@dataclass
class GoldOutput:
    """What a reader returns (the shape of ``ReaderOutput``): per item, candidate readings and their probabilities.

    Attributes:
        readings: ``(N, K)`` candidate readings, ``[]`` for padding or an unreadable item.
        probabilities: ``(N, K)``; the gold reader gives every gold reading of a sentence 1.0 (they all hold).
    """

    readings: list[list[Reading]]
    probabilities: torch.Tensor


class GoldReader(nn.Module):
    """A reader that reads every sentence as its gold logical forms (from ``meta-*.jsonl`` files).

    Args:
        meta_files: the meta files whose theories and questions it knows.

    A sentence it does not know is read as nothing (unreadable).
    """

    def __init__(self, meta_files: Sequence[str]) -> None:
        super().__init__()
        self.forms: dict[str, tuple[Reading, ...]] = {}
        self.theories: list[GoldTheory] = []
        # a paraphrased sentence may state different forms in different theories (a pronoun's facts
        # go with the sentence before): a theory is read as a whole when it is known as a whole
        self.by_theory: dict[tuple[str, ...], tuple[tuple[Reading, ...], ...]] = {}
        for f in meta_files:
            for theory in read_meta(f):
                self.theories.append(theory)
                self.by_theory.setdefault(theory.sentences, theory.readings)
                for sentence, readings in zip(theory.sentences, theory.readings):
                    self.forms.setdefault(sentence, readings)
                for text, reading, _, _ in theory.questions.values():
                    self.forms.setdefault(text, (reading,))

    def forward(self, sentences: ItemLists) -> GoldOutput:
        samples = sentences.samples if isinstance(sentences, ItemLists) else (tuple(sentences),)
        width_m = sentences.width if isinstance(sentences, ItemLists) else len(samples[0])
        readings = []
        for sample in samples:
            read = self.read(list(sample))
            readings.extend(read + [[] for _ in range(width_m - len(sample))])
        items = readings
        width = max((len(r) for r in readings), default=0) or 1
        probs = torch.zeros(len(items), width)
        for i, r in enumerate(readings):
            probs[i, : len(r)] = 1.0
        return GoldOutput(readings, probs)

    def read(self, sentences: list[str], k: int = 1) -> list[list[Reading]]:
        """Each sentence's gold readings (all of them: they hold together); a known theory is read as a whole."""
        whole = self.by_theory.get(tuple(" ".join(s.split()) for s in sentences))
        if whole is not None:
            return [list(r) for r in whole]
        return [list(self.forms.get(" ".join(s.split()), ())) for s in sentences]
