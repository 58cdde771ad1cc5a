"""Reading the files of a query: the knowledge base, the ``?-`` queries and the evidence.

``evidence(Atom, true).`` and ``evidence(Atom, false).`` are ProbLog's way of writing
what is observed (``evidence(Atom).`` means true). The rule language does not take an
atom as an argument, so these statements are taken out of each ``.dl`` file before it
is parsed (replaced by blanks, so that every other statement keeps its line and
column) and read here on their own: ``evidence`` is a reserved relation of the
query layer. The ``?-`` queries stay in the program (the parser keeps them as
``Query`` statements, in file order); ProbLog's ``query(Atom).`` is read as ``?- Atom.``,
so ``query`` is reserved too.

Example:
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "alarm.dl"
    >>> _ = f.write_text("0.1 :: burglary.\\nalarm :- burglary.\\n"
    ...                  "evidence(alarm, true).\\n?- burglary.\\n")
    >>> kb, evidence = load_sources([f])
    >>> [(e.atom.predicate, e.value, e.line) for e in evidence]
    [('alarm', True, 3)]
    >>> [str(q.span.line) for q in kb.program.queries]
    ['4']
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from greybox.errors import ParseError
from greybox.lang.ast import Atom, Const

__all__ = ["Evidence", "load_sources", "parse_evidence_option", "read_reserved", "statement_kind"]

_EVIDENCE = re.compile(r"evidence\s*\(")
_QUERY = re.compile(r"query\s*\(")
_VALUES = {"true": True, "false": False}


@dataclass(frozen=True)
class Evidence:
    """One observation: ``atom`` is ``value`` (True or False).

    Attributes:
        atom: a ground atom.
        value: whether it was observed true.
        file: where it is written (``<evidence>`` for a command-line option).
        line: its 1-based line.
    """

    atom: Atom
    value: bool
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        from greybox.lang.printer import format_atom

        return f"{format_atom(self.atom)}={'true' if self.value else 'false'}"


def load_sources(paths: Iterable[str | os.PathLike], *, inputs=None):
    """Load the knowledge base of ``paths`` and the evidence written in its ``.dl`` files.

    Args:
        paths: rule and knowledge-graph files, or folders (as ``KnowledgeBase.load``).
        inputs: relations supplied at run time (name -> arity).

    Returns:
        ``(knowledge base, [Evidence, ...])``, the evidence in file order.

    Raises:
        GreyboxError: as ``KnowledgeBase.load``; a ``ParseError`` for an evidence
            statement that is not ``evidence(ground atom, true|false).``.
    """
    from greybox.kb.knowledge_base import RULE_EXTENSIONS, KnowledgeBase, Origin

    paths = list(paths)
    kb = KnowledgeBase.load(paths, inputs=inputs, strict=False)
    texts = {f: kb.sources[f] for f in kb.files if Path(f).suffix.lower() in RULE_EXTENSIONS and f in kb.sources}
    found = {f: read_reserved(t, f) for f, t in texts.items()}
    if all(found[f][0] == texts[f] for f in found):
        if kb.load_problems:
            raise kb.load_problems[0]
        return kb, []
    # read again, with the evidence statements blanked out of the rule files
    import networkx as nx

    from greybox.lang.parser import parse_program

    statements, origins, evidence = [], [], []
    graph = nx.MultiDiGraph()
    for f in kb.files:
        if f in found:
            blank, ev = found[f]
            evidence += ev
            read = parse_program(blank, file=f).statements
            statements += read
            origins += (Origin(statement_kind(s), f, getattr(getattr(s, "span", None), "line", 0) or 0) for s in read)
        else:
            part = KnowledgeBase.load([f])
            statements += part.program.statements
            origins += part.origins
            graph = nx.compose(graph, part.graph)
    from greybox.lang.ast import Program

    return KnowledgeBase(Program(tuple(statements)), origins, graph, files=kb.files, inputs=inputs,
                         sources=texts), evidence


def read_reserved(text: str, file: str | None = None) -> tuple[str, list[Evidence]]:
    """Read the statements of ProbLog's reserved relations out of a rule text.

    ``evidence(atom, true|false).`` is taken out (replaced by spaces) and returned as
    ``Evidence``; ProbLog's ``query(atom).`` becomes the query ``?- atom.`` in place.
    Every other statement keeps its line and column.

    Args:
        text: the text of a ``.dl`` file.
        file: its name, for spans and errors.

    Returns:
        ``(the rewritten text, [Evidence, ...])``.

    Raises:
        ParseError: an evidence statement is malformed (with file, line and column).

    Example:
        >>> text, ev = read_reserved("p(a).\\nevidence(p(a), false). query(p(X)).\\n")
        >>> text
        'p(a).\\n                       ?-    p(X) .\\n'
        >>> [str(e) for e in ev]
        ['p(a)=false']
    """
    from greybox.kb.knowledge_base import statement_ends

    out = list(text)
    evidence: list[Evidence] = []
    start = 0
    for end in list(statement_ends(text)) + [len(text)]:
        begin = _skip_space_and_comments(text, start, end)
        if begin < end and _EVIDENCE.match(text, begin):
            evidence.append(_read_evidence(text, begin, end, file))
            for i in range(begin, end):
                if out[i] != "\n":
                    out[i] = " "
        elif begin < end and _QUERY.match(text, begin):
            statement = text[begin:end].rstrip()
            close = begin + len(statement.rstrip(".").rstrip()) - 1
            if text[close] == ")":
                opened = text.index("(", begin)
                out[begin:begin + 2] = "?-"
                for i in range(begin + 2, opened + 1):
                    out[i] = " "
                out[close] = " "
        start = end
    return "".join(out), evidence


def parse_evidence_option(spec: str) -> Evidence:
    """Read ``--evidence "ATOM=true"`` (or ``=false``; a bare ``ATOM`` means true).

    Raises:
        ParseError: the atom does not parse, or the value is neither true nor false.

    Example:
        >>> str(parse_evidence_option("aunt(ann, bob)=false"))
        'aunt(ann, bob)=false'
    """
    atom_text, value = spec, "true"
    head, sep, tail = spec.rpartition("=")
    if sep and tail.strip().lower() in _VALUES:
        atom_text, value = head, tail.strip().lower()
    return Evidence(_ground_atom(atom_text, "<evidence>", 1, 1), _VALUES[value], "<evidence>", 1)


# ---------------------------------------------------------------- internals


def statement_kind(statement) -> str:
    """The ``Origin.kind`` of a statement of a rule file: ``'fact'`` or ``'rule'``."""
    from greybox.lang.ast import AnnotatedDisjunction, Clause

    fact = (isinstance(statement, Clause) and statement.is_fact) or (
        isinstance(statement, AnnotatedDisjunction) and not statement.body)
    return "fact" if fact else "rule"


def _skip_space_and_comments(text: str, i: int, end: int) -> int:
    while i < end:
        if text[i].isspace():
            i += 1
        elif text[i] == "%":
            nl = text.find("\n", i)
            i = end if nl < 0 else nl
        elif text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = end if close < 0 else close + 2
        else:
            break
    return i


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _read_evidence(text: str, begin: int, end: int, file: str | None) -> Evidence:
    line, column = _position(text, begin)
    statement = text[begin:end].rstrip()
    open_at = statement.index("(")
    inner = statement[open_at + 1:]
    if inner.endswith("."):
        inner = inner[:-1].rstrip()
    if not inner.endswith(")"):
        raise ParseError("an evidence statement is `evidence(atom, true).` or `evidence(atom, false).`",
                         file=file, line=line, column=column, source_line=text.splitlines()[line - 1],
                         hint="e.g. evidence(alarm, true).")
    inner = inner[:-1]
    atom_text, value = inner, "true"
    split = _last_top_level_comma(inner)
    if split is not None and inner[split + 1:].strip().lower() in _VALUES:
        atom_text, value = inner[:split], inner[split + 1:].strip().lower()
    elif split is not None and not _looks_like_call(inner):
        raise ParseError(f"evidence value {inner[split + 1:].strip()!r} is neither true nor false",
                         file=file, line=line, column=column, source_line=text.splitlines()[line - 1],
                         hint="write evidence(atom, true). or evidence(atom, false).")
    atom_line, atom_column = _position(text, begin + open_at + 1)
    return Evidence(_ground_atom(atom_text, file, atom_line, atom_column), _VALUES[value], file, line)


def _looks_like_call(text: str) -> bool:
    return bool(re.fullmatch(r"\s*\w+\s*\(.*\)\s*", text, flags=re.S))


def _last_top_level_comma(text: str) -> int | None:
    depth, last, quote = 0, None, None
    for i, c in enumerate(text):
        if quote:
            if c == quote:
                quote = None
        elif c in "'\"":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "," and depth == 0:
            last = i
    return last


def _ground_atom(text: str, file: str | None, line: int, column: int) -> Atom:
    from greybox.lang.parser import parse_query

    padded = "\n" * (line - 1) + " " * (column - 1) + text
    q = parse_query(padded, file=file)
    if len(q.body) != 1 or not isinstance(q.body[0], Atom) or not all(isinstance(a, Const) for a in q.body[0].args):
        raise ParseError(
            f"evidence must be one ground atom, not {text.strip()!r}",
            file=file, line=line, column=column,
            hint="name a single fact without variables, e.g. evidence(aunt(ann, bob), true).",
        )
    return q.body[0]
