"""Reading RuleTaker and ProofWriter files into questions over theories stated in English.

Two formats:

* RuleTaker ``.jsonl`` (closed world): one theory per line, ``{"id", "context", "questions":
  [{"id", "text", "label": true|false, "meta": {"QDep", ...}}]}``; an optional
  ``meta-NAME.jsonl`` beside ``NAME.jsonl`` gives the logical forms (see
  :mod:`tasks.rules_in_language.gold`).
* ProofWriter ``.json`` as sampled by Logic-LM (open world): a list of ``{"id", "context",
  "question": "... ? STATEMENT", "options": ["A) True", "B) False", "C) Unknown"], "answer":
  "A"}``; files whose options are only True and False read too.

Every file is read as utf-8-sig (the RuleTaker release starts some files with a BOM). A
file in neither format is a ``ParseError`` naming the file and line.

Example:
    >>> split_sentences("The cow is big. If something is big then it is red.  Bob is nice")
    ['The cow is big.', 'If something is big then it is red.', 'Bob is nice.']
    >>> statement_of("Based on the above information, is the following statement true, false, or unknown? Bob is red.")
    'Bob is red.'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from greybox.errors import ParseError

__all__ = [
    "ANSWERS",
    "RuleQuestion",
    "split_sentences",
    "statement_of",
    "read_ruletaker",
    "read_proofwriter",
    "read_questions",
]

#: answer classes: closed world labels are 0 (True) and 1 (False); open world adds 2 (Unknown)
ANSWERS = ("true", "false", "unknown")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class RuleQuestion:
    """One question about one theory.

    Args:
        id: the question's id in its file.
        theory_id: the theory's id (questions of one theory share it; splits are made by theory).
        sentences: the theory, one sentence per item, in the file's order.
        question: the statement to judge, one sentence.
        label: index into ``ANSWERS`` (0 True, 1 False, 2 Unknown).
        depth: the proof depth ``QDep`` when the file gives it (None: not given).
        options: how many answers the question allows (2: True/False, 3: with Unknown).
    """

    id: str
    theory_id: str
    sentences: tuple[str, ...]
    question: str
    label: int
    depth: int | None = None
    options: int = 2


def split_sentences(text: str) -> list[str]:
    """A theory's text cut into sentences at ``.``, ``!`` or ``?`` followed by a space; each ends with a full stop."""
    out = []
    for part in _SENTENCE_END.split(text.strip()):
        part = " ".join(part.split())
        if part:
            out.append(part if part[-1] in ".!?" else part + ".")
    return out


def statement_of(question: str) -> str:
    """The statement to judge: the text after the last ``?`` of a ProofWriter question (the whole text without one)."""
    head, mark, tail = question.rpartition("?")
    statement = tail.strip() if mark and tail.strip() else question.strip()
    return split_sentences(statement)[-1] if statement else statement


def _fail(file: Path, line: int | None, message: str, source: str | None = None) -> ParseError:
    return ParseError(
        message, file=str(file), line=line, source_line=source[:200] if source else None,
        expected=["RuleTaker .jsonl", "ProofWriter .json"],
        hint="give a RuleTaker .jsonl file (one theory per line with 'context' and 'questions') "
        "or a ProofWriter .json list (items with 'context', 'question', 'options', 'answer')",
    )


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise _fail(path, None, f"not UTF-8 text ({e.reason} at byte {e.start})") from e


def read_ruletaker(path: str | Path, limit: int | None = None) -> list[RuleQuestion]:
    """The questions of a RuleTaker ``.jsonl`` file, theory by theory.

    Args:
        path: the file.
        limit: keep only the first ``limit`` theories (None: all).

    Raises:
        ParseError: a line is not JSON, or not a theory with ``context`` and ``questions``
            (the error names the file and line).
    """
    path = Path(path)
    out: list[RuleQuestion] = []
    theories = 0
    for number, line in enumerate(_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        if limit is not None and theories >= limit:
            break
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise _fail(path, number, f"not a JSON line: {e.msg}", line) from e
        if not isinstance(item, dict) or not isinstance(item.get("context"), str) or not isinstance(item.get("questions"), list):
            raise _fail(path, number, "not a RuleTaker theory: a line needs 'context' (text) and 'questions' (a list)", line)
        theories += 1
        sentences = tuple(split_sentences(item["context"]))
        theory_id = str(item.get("id", f"line{number}"))
        for q in item["questions"]:
            if not isinstance(q, dict) or "text" not in q or not isinstance(q.get("label"), bool):
                raise _fail(path, number, "a question needs 'text' and a true/false 'label'", line)
            depth = (q.get("meta") or {}).get("QDep")
            out.append(RuleQuestion(id=str(q.get("id", "")), theory_id=theory_id, sentences=sentences,
                                    question=" ".join(str(q["text"]).split()), label=0 if q["label"] else 1,
                                    depth=int(depth) if isinstance(depth, int) or str(depth).isdigit() else None,
                                    options=2))
    return out


_OPTION = re.compile(r"^\s*([A-Z])\)\s*(.+?)\s*$")


def _theory_of(question_id: str) -> str:
    # ProofWriter ids are <source>_<theory>_Q<n>: questions of one theory share all but the last part
    head, sep, tail = question_id.rpartition("_")
    return head if sep and tail.startswith("Q") else question_id


def read_proofwriter(path: str | Path, limit: int | None = None) -> list[RuleQuestion]:
    """The questions of a ProofWriter ``.json`` file (a list of questions, each with its theory).

    Options ``A) True``, ``B) False`` and, when there, ``C) Unknown``; ``answer`` is the letter.

    Raises:
        ParseError: not JSON, not a list of questions, an option that is not True/False/Unknown,
            or an answer that names no option (the error names the file and the item's line).
    """
    path = Path(path)
    text = _text(path)
    try:
        items = json.loads(text)
    except json.JSONDecodeError as e:
        lines = text.splitlines()
        raise _fail(path, e.lineno, f"not JSON: {e.msg}", lines[e.lineno - 1] if 0 < e.lineno <= len(lines) else None) from e
    if not isinstance(items, list):
        raise _fail(path, 1, f"not a ProofWriter file: a list of questions was expected, got a JSON {type(items).__name__}")
    lines = text.splitlines()
    out: list[RuleQuestion] = []
    for i, item in enumerate(items[:limit] if limit is not None else items):
        where = _line_of(lines, item.get("id") if isinstance(item, dict) else None)
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("context", "question", "answer")) \
                or not isinstance(item.get("options"), list):
            raise _fail(path, where, f"item {i} is not a ProofWriter question (needs context, question, options, answer)")
        letters = {}
        for option in item["options"]:
            m = _OPTION.match(str(option))
            word = m.group(2).lower() if m else ""
            if word not in ANSWERS:
                raise _fail(path, where, f"item {i}: option {option!r} is not 'X) True', 'X) False' or 'X) Unknown'")
            letters[m.group(1)] = ANSWERS.index(word)
        answer = item["answer"].strip().rstrip(")")
        if answer not in letters:
            raise _fail(path, where, f"item {i}: answer {item['answer']!r} names no option ({', '.join(letters)})")
        qid = str(item.get("id", f"item{i}"))
        out.append(RuleQuestion(id=qid, theory_id=_theory_of(qid), sentences=tuple(split_sentences(item["context"])),
                                question=statement_of(item["question"]), label=letters[answer], depth=None,
                                options=3 if 2 in letters.values() else 2))
    return out


def _line_of(lines: list[str], qid) -> int | None:
    if qid is None:
        return None
    needle = json.dumps(str(qid))
    return next((n for n, line in enumerate(lines, start=1) if needle in line), None)


def read_questions(path: str | Path, limit: int | None = None) -> list[RuleQuestion]:
    """The questions of a file in either format, told apart by its first character (``[``: ProofWriter).

    Raises:
        ParseError: the file is empty or in neither format.
    """
    path = Path(path)
    text = _text(path).lstrip()
    if not text:
        raise _fail(path, 1, "the file is empty")
    return read_proofwriter(path, limit) if text.startswith("[") else read_ruletaker(path, limit)
