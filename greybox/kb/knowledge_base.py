"""The knowledge base: rule files and knowledge-graph files read into one program.

``KnowledgeBase.load(paths)`` reads ``.dl`` rule files and knowledge-graph files
(``.tsv``, ``.csv``, ``.jsonl``, see ``greybox.kb.kg_files``) and keeps:

* ``program``: every statement of every file, in the order given; a knowledge-graph
  edge ``head --relation--> tail`` becomes the fact ``relation(head, tail).``, or
  ``p :: relation(head, tail).`` when the row has a probability;
* ``graph``: a ``networkx.MultiDiGraph`` whose nodes are the entities of the
  knowledge-graph files, with one edge per distinct edge ``(head, tail, key=relation)``
  carrying the attributes ``probability`` (``None`` = certain) and ``origin``
  (facts written in ``.dl`` files are in ``program`` only);
* ``origins``: where each statement came from (``Origin``), for explanations.

A folder given as a path stands for its ``.dl`` and knowledge-graph files, sorted by
name; hidden files (such as the ``.name.*.tmp`` files an interrupted save can leave)
are skipped.

Example:
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "rules.dl").write_text("grandparent(X, Z) :- parent(X, Y), parent(Y, Z).\\n")
    >>> _ = (folder / "family.csv").write_text("ann,parent,bob\\nbob,parent,cid,0.9\\n")
    >>> kb = KnowledgeBase.load([folder / "rules.dl", folder / "family.csv"])
    >>> len(kb.program), kb.graph.number_of_edges()
    (3, 2)
    >>> kb.origins[2].kind, kb.origins[2].line, kb.origins[2].row
    ('kg', 2, 2)
    >>> kb.check()
    []
"""

from __future__ import annotations

import bisect
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import networkx as nx

from greybox.errors import ConfigError, GreyboxError, ParseError
from greybox.kb.kg_files import KG_EXTENSIONS, KGRow, iter_kg_rows
from greybox.lang.ast import (
    AnnotatedDisjunction,
    Atom,
    Clause,
    Const,
    Probability,
    Program,
    Span,
    Statement,
)

__all__ = ["Origin", "KnowledgeBase", "RULE_EXTENSIONS", "read_rule_file", "parse_rules_collecting", "kg_fact"]

#: File extensions read as rule programs.
RULE_EXTENSIONS = (".dl",)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a statement of the knowledge base came from.

    Attributes:
        kind: ``'fact'`` (a fact or body-less annotated disjunction in a rule file),
            ``'rule'`` (any other statement of a rule file: rules, declarations, queries)
            or ``'kg'`` (an edge of a knowledge-graph file).
        file: the file, as given to ``load``.
        line: 1-based line where the statement starts.
        row: for ``'kg'``, the 1-based data row (the header does not count); else ``None``.

    Example:
        >>> str(Origin("kg", "family.tsv", 3, 2))
        'family.tsv:3 (row 2)'
    """

    kind: str
    file: str | None
    line: int
    row: int | None = None

    def __str__(self) -> str:
        where = f"{self.file or '<input>'}:{self.line}"
        return f"{where} (row {self.row})" if self.row is not None else where


class KnowledgeBase:
    """Rules, facts and a knowledge graph read from files; build one with ``load``.

    Args:
        program: all statements.
        origins: one ``Origin`` per statement of ``program``.
        graph: the knowledge graph of the knowledge-graph files.
        files: the files read.
        inputs: relations (name -> arity) supplied at run time, for ``check`` and ``info``.
        load_problems: problems met while reading (only with ``load(..., strict=False)``).
        sources: file -> text of the rule files, to show the offending line in errors.
    """

    def __init__(
        self,
        program: Program,
        origins: Iterable[Origin],
        graph: nx.MultiDiGraph,
        *,
        files: Iterable[str] = (),
        inputs: Mapping[str, int] | None = None,
        load_problems: Iterable[GreyboxError] = (),
        sources: Mapping[str, str] | None = None,
    ) -> None:
        self.program = program
        self.origins = tuple(origins)
        if len(self.origins) != len(program.statements):
            raise ValueError("one origin per statement is needed")
        self.graph = graph
        self.files = tuple(files)
        self.inputs = dict(inputs or {})
        self.load_problems = list(load_problems)
        self.sources = dict(sources or {})

    @cached_property
    def _index(self) -> "_SpanIndex":
        return _SpanIndex(self.program.statements)  # built on the first origin_of only

    # ------------------------------------------------------------ building

    @classmethod
    def load(
        cls,
        paths: str | os.PathLike | Iterable[str | os.PathLike],
        *,
        inputs: Mapping[str, int] | None = None,
        strict: bool = True,
    ) -> "KnowledgeBase":
        """Read rule files and knowledge-graph files into one knowledge base.

        Args:
            paths: one path or several: ``.dl`` files, ``.tsv``/``.csv``/``.jsonl`` files,
                or folders (their such files, sorted, hidden files skipped).
            inputs: relations supplied at run time (name -> arity), used by ``check``.
            strict: raise the first problem (default). With ``strict=False`` every
                problem is kept in ``load_problems`` and reported by ``check()``; the
                statements that could be read are kept.

        Returns:
            The knowledge base.

        Raises:
            ConfigError: a file is missing or has an unknown extension, or a
                knowledge-graph row is malformed.
            ParseError: a rule file is not valid syntax.
        """
        from greybox.lang.gc_pause import paused_gc

        with paused_gc():  # (millions of objects that all stay alive: see greybox.lang.gc_pause)
            return cls._load(_expand(paths), inputs, strict)

    @classmethod
    def _load(cls, files: list[str], inputs: Mapping[str, int] | None, strict: bool) -> "KnowledgeBase":
        statements: list[Statement] = []
        origins: list[Origin] = []
        problems: list[GreyboxError] = []
        sources: dict[str, str] = {}
        graph = nx.MultiDiGraph()
        for file in files:
            try:
                if Path(file).suffix.lower() in RULE_EXTENSIONS:
                    sources[file] = _read_text(file)
                    read, found = _read_rules(file, sources[file], strict)
                    statements += read
                    origins += (_rule_origin(s, file) for s in read)
                else:
                    found = _read_kg(file, strict, statements, origins, graph)
            except GreyboxError as err:
                if strict:
                    raise
                found = [err]
            problems += found
        return cls(Program(tuple(statements)), origins, graph, files=files, inputs=inputs,
                   load_problems=problems, sources=sources)

    # ------------------------------------------------------------ questions

    def check(self) -> list[GreyboxError]:
        """Every problem of the knowledge base: reading problems, then the program's.

        Returns:
            The problems (empty when the knowledge base is sound), each with its file,
            line and column, in file order and then by position.
        """
        from greybox.lang.analysis import check_program

        problems = self.load_problems + list(check_program(self.program, inputs=self.inputs, source=self.sources))
        order = {f: i for i, f in enumerate(self.files)}
        # file by file, top to bottom (reading and analysis problems interleaved)
        return sorted(problems, key=lambda p: (order.get(p.file, len(order)), p.line or 0, p.column or 0))

    def warnings(self) -> list[GreyboxError]:
        """What is valid but suspicious: a knowledge-graph relation that no rule, fact or
        declaration mentions and whose name is close to one that is (a typo such as ``aunnt``).

        Returns:
            One :class:`~greybox.errors.UnknownRelationError` per file and relation, located at
            its first row, with a "did you mean" hint.
        """
        from greybox.kb.kg_files import misspelt_relations

        return misspelt_relations(self.program.statements, self.origins)

    @cached_property
    def info(self):
        """The analysed program (``greybox.lang.analysis.ProgramInfo``).

        Raises:
            GreyboxError: the first problem found (its own type), including reading problems.
        """
        from greybox.lang.analysis import analyze

        if self.load_problems:
            raise self.load_problems[0]
        return analyze(self.program, inputs=self.inputs, source=self.sources)

    def origin_of(self, item: int | Statement | Span | object) -> Origin | None:
        """Where a statement (or any node inside one) came from.

        Args:
            item: a statement index, a statement, a ``Span``, or anything with a ``span``
                (an atom, an ``InputFact``, a clause of ``info.clauses``).

        Returns:
            The ``Origin`` of the statement that starts at or before that span in the same
            file, or ``None`` when the span is unknown.
        """
        if isinstance(item, int):
            return self.origins[item]
        span = item if isinstance(item, Span) else getattr(item, "span", None)
        if span is None:
            return None
        index = self._index.find(span)
        return None if index is None else self.origins[index]

    def relations(self) -> dict[str, int]:
        """Name -> arity of every relation that a statement defines or declares (not checked).

        Example:
            >>> from greybox.lang.ast import Atom, Clause, Const, Program
            >>> kb = KnowledgeBase(Program((Clause(Atom("p", (Const(1),))),)), [Origin("fact", None, 1)], nx.MultiDiGraph())
            >>> kb.relations()
            {'p': 1}
        """
        found: dict[str, int] = {}
        for s in self.program.statements:
            for atom in _defined_atoms(s):
                found.setdefault(atom[0], atom[1])
        return found

    def __len__(self) -> int:
        return len(self.program.statements)

    def __repr__(self) -> str:
        return (f"KnowledgeBase({len(self.program.statements)} statements, "
                f"{self.graph.number_of_edges()} graph edges, files={list(self.files)!r})")


# ---------------------------------------------------------------- reading files


def read_rule_file(path: str | os.PathLike) -> tuple[str, Program]:
    """Read and parse one rule file.

    Args:
        path: the ``.dl`` file.

    Returns:
        ``(text, program)``.

    Raises:
        ConfigError: the file is missing or unreadable.
        ParseError: the text is not valid syntax (the first error).
    """
    from greybox.lang.parser import parse_program

    text = _read_text(str(path))
    return text, parse_program(text, file=str(path))


def parse_rules_collecting(text: str, file: str | None) -> tuple[list[Statement], list[ParseError]]:
    """Parse a rule text, reporting every syntax error instead of only the first.

    The whole text is parsed first; only if that fails is it cut into statements
    (at each ``.`` followed by white space, a comment or the end, outside quotes and
    comments) and each piece parsed on its own, at its original line and column.

    Args:
        text: the program text.
        file: the file name for spans and errors.

    Returns:
        ``(statements that parsed, errors)``.

    Example:
        >>> stmts, errors = parse_rules_collecting("p(a).\\nq(X :- p(X).\\nr(b).\\ns(.\\n", "k.dl")
        >>> len(stmts), [(e.line, e.file) for e in errors]
        (2, [(2, 'k.dl'), (4, 'k.dl')])
    """
    from greybox.lang.parser import parse_program

    try:
        return list(parse_program(text, file=file).statements), []
    except ParseError:
        pass
    lines = [ln.removesuffix("\r") for ln in text.split("\n")]  # (lines as the parser counts them)
    statements: list[Statement] = []
    errors: list[ParseError] = []
    line, line_start, counted = 1, 0, 0  # (found piece by piece: the whole time stays linear)
    for start, chunk in _split_statements(text):
        newlines = text.count("\n", counted, start)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", counted, start) + 1
        counted = start
        try:
            statements += parse_program(chunk, file=file, at=(line, start - line_start + 1)).statements
        except ParseError as err:
            if err.line is not None and 1 <= err.line <= len(lines):
                err.source_line = lines[err.line - 1]  # the real line, not the padded one
            errors.append(err)
    return statements, errors


def statement_ends(text: str, start: int = 0) -> Iterator[int]:
    """Offsets just after each statement-ending ``.`` from ``start`` on (skipping comments and quotes)."""
    i, n = start, len(text)
    while i < n:
        c = text[i]
        if c == "%":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in "'\"":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if c == "." and (i + 1 == n or text[i + 1].isspace() or text[i + 1] == "%"):
            yield i + 1
        i += 1


def _split_statements(text: str) -> list[tuple[int, str]]:
    """Cut ``text`` after each statement-ending ``.``; returns (start offset, piece)."""
    pieces: list[tuple[int, str]] = []
    start = 0
    for end in statement_ends(text):
        pieces.append((start, text[start:end]))
        start = end
    if text[start:].strip() and not all(
        not ln.strip() or ln.lstrip().startswith("%") for ln in text[start:].splitlines()
    ):
        pieces.append((start, text[start:]))
    return pieces


def _expand(paths) -> list[str]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[str] = []
    for p in paths:
        name = os.fspath(p)
        path = Path(name)
        if path.is_dir():
            found = sorted(
                q for q in path.iterdir()
                if q.is_file() and not q.name.startswith(".")
                and q.suffix.lower() in RULE_EXTENSIONS + KG_EXTENSIONS
            )
            if not found:
                raise ConfigError(f"folder {name} holds no rule or knowledge-graph files",
                                  hint="rule files end in .dl; knowledge-graph files in "
                                  + ", ".join(KG_EXTENSIONS))
            files += [str(q) for q in found]
        elif not path.exists():
            raise ConfigError(f"file not found: {name}", hint="check the path; folders may be given too")
        elif path.suffix.lower() not in RULE_EXTENSIONS + KG_EXTENSIONS:
            raise ConfigError(
                f"{name}: unknown kind of file {path.suffix or '(no extension)'!r}",
                hint="rule files end in .dl; knowledge-graph files in " + ", ".join(KG_EXTENSIONS),
            )
        else:
            files.append(name)
    return files


def _read_text(file: str) -> str:
    # bytes that are not UTF-8 are a ParseError at their line and column
    from greybox.lang.source import read_source

    return read_source(file)


def _read_rules(file: str, text: str, strict: bool) -> tuple[list[Statement], list[GreyboxError]]:
    if strict:
        from greybox.lang.parser import parse_program

        return list(parse_program(text, file=file).statements), []
    statements, errors = parse_rules_collecting(text, file)
    return statements, list(errors)


def _read_kg(file: str, strict: bool, statements: list, origins: list, graph: nx.MultiDiGraph) -> list:
    problems: list[GreyboxError] = []
    for item in iter_kg_rows(file):
        if isinstance(item, GreyboxError):
            if strict:
                raise item
            problems.append(item)
            continue
        origin = Origin("kg", file, item.line, item.row)
        statements.append(kg_fact(item, file))
        origins.append(origin)
        graph.add_edge(item.head, item.tail, key=item.relation,
                       probability=item.probability, origin=origin)
    return problems


def kg_fact(row: KGRow, file: str | None) -> Clause:
    """The fact for one knowledge-graph row: ``relation(head, tail).`` or ``p :: relation(head, tail).``"""
    span = Span(file, row.line, 1)
    atom = Atom(row.relation, (Const(row.head, span=span), Const(row.tail, span=span)), span=span)
    weight = None if row.probability is None else Probability(row.probability, span=span)
    return Clause(atom, (), weight, span=span)


def _rule_origin(statement: Statement, file: str) -> Origin:
    span = getattr(statement, "span", None)
    line = span.line if span is not None else 0
    is_fact = (isinstance(statement, Clause) and statement.is_fact) or (
        isinstance(statement, AnnotatedDisjunction) and not statement.body
    )
    return Origin("fact" if is_fact else "rule", file, line)


def _defined_atoms(statement: Statement) -> list[tuple[str, int]]:
    if isinstance(statement, Clause):
        return [statement.head.key]
    if isinstance(statement, AnnotatedDisjunction):
        return [a.key for _, a in statement.heads]
    atom = getattr(statement, "atom", None)
    if isinstance(atom, Atom):
        return [atom.key]
    key = getattr(statement, "key", None)
    return [key] if key is not None else []


class _SpanIndex:
    """Finds the statement containing a span: the last statement of that file starting at or before it."""

    def __init__(self, statements: tuple[Statement, ...]) -> None:
        self._starts: dict[str | None, list[tuple[int, int, int]]] = {}
        for index, s in enumerate(statements):
            span = getattr(s, "span", None)
            if span is None or span.line <= 0:
                continue
            self._starts.setdefault(span.file, []).append((span.line, span.column, index))
        for entries in self._starts.values():
            entries.sort()

    def find(self, span: Span) -> int | None:
        entries = self._starts.get(span.file)
        if not entries or span.line <= 0:
            return None
        pos = bisect.bisect_right(entries, (span.line, span.column, float("inf"))) - 1
        return entries[pos][2] if pos >= 0 else None
