"""Reading knowledge-graph files: one edge ``head --relation--> tail`` per row.

Formats (chosen by the file's extension):

* ``.tsv`` / ``.csv``: columns ``head, relation, tail[, probability]``. A first row
  that names the columns is a header and is skipped; with a header the columns may
  come in any order and further columns are ignored. Accepted column names:
  ``head`` (``subject``, ``source``, ``h``), ``relation`` (``predicate``, ``rel``, ``r``),
  ``tail`` (``object``, ``target``, ``t``), ``probability`` (``prob``, ``p``,
  ``confidence``, ``weight``). An empty probability cell means "certain".
* ``.jsonl``: one JSON object per line with keys ``head``, ``relation``, ``tail`` and
  optionally ``probability`` (``null`` = certain); other keys are ignored.

Blank lines are skipped. Entities are kept as text (a JSON integer stays an ``int``).

Relation names become relation names of the rule language, so they are sanitised
by one documented rule (``sanitize_relation``): lower-case, every run of characters
other than ``a-z``, ``0-9`` and ``_`` becomes one ``_``, leading and trailing ``_``
are dropped (``Father-In-Law`` -> ``father_in_law``, ``/people/person/nationality``
-> ``people_person_nationality``). A name that is still not an identifier starting
with a letter is a ``ConfigError``.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "family.tsv"
    >>> _ = p.write_text("head\\trelation\\ttail\\tprobability\\nann\\tfather-in-law\\tbob\\t\\nbob\\tfather\\tcid\\t0.9\\n")
    >>> [(r.head, r.relation, r.tail, r.probability, r.line) for r in read_kg_file(p)]
    [('ann', 'father_in_law', 'bob', None, 2), ('bob', 'father', 'cid', 0.9, 3)]
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from greybox.errors import ConfigError, UnknownRelationError

__all__ = ["KG_EXTENSIONS", "KGRow", "read_kg_file", "iter_kg_rows", "sanitize_relation", "misspelt_relations"]

#: File extensions read as knowledge graphs.
KG_EXTENSIONS = (".tsv", ".csv", ".jsonl")

_ALIASES = {
    "head": ("head", "subject", "source", "h"),
    "relation": ("relation", "predicate", "rel", "r"),
    "tail": ("tail", "object", "target", "t"),
    "probability": ("probability", "prob", "p", "confidence", "weight"),
}
_COLUMN_OF = {alias: column for column, names in _ALIASES.items() for alias in names}
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*\Z")


@dataclass(frozen=True)
class KGRow:
    """One knowledge-graph edge as read from a file.

    Attributes:
        head: the source entity.
        relation: the sanitised relation name.
        tail: the target entity.
        probability: the edge's probability, or ``None`` when certain.
        line: 1-based line of the row in the file.
        row: 1-based number of the data row (the header does not count).
        raw_relation: the relation name exactly as written in the file.
    """

    head: str | int
    relation: str
    tail: str | int
    probability: float | None
    line: int
    row: int
    raw_relation: str


def sanitize_relation(name: str, *, file: str | None = None, line: int | None = None) -> str:
    """Turn a knowledge-graph relation name into a relation name of the rule language.

    Args:
        name: the name as written in the file.
        file: the file, for the error message.
        line: the line, for the error message.

    Returns:
        The sanitised name (see the module docstring for the rule).

    Raises:
        ConfigError: nothing usable is left, or it does not start with a letter.

    Example:
        >>> sanitize_relation("Son-In-Law")
        'son_in_law'
        >>> sanitize_relation("/film/film/genre")
        'film_film_genre'
        >>> sanitize_relation("42nd")
        Traceback (most recent call last):
        ...
        greybox.errors.ConfigError: relation name '42nd' cannot be used: ...
    """
    clean = re.sub(r"[^a-z0-9_]+", "_", name.strip().lower()).strip("_")
    if not _IDENTIFIER.match(clean):
        raise ConfigError(
            f"relation name {name!r} cannot be used: it does not start with a letter (after "
            "lower-casing and replacing other characters with '_')",
            file=file,
            line=line,
            hint="rename the relation in the file so that it starts with a letter, e.g. 'rel_"
            + (clean or "x") + "'",
        )
    return clean


def misspelt_relations(statements, origins, *, cutoff: float = 0.8) -> list[UnknownRelationError]:
    """Knowledge-graph relations that look like a misspelling of a relation of the rules.

    A relation that occurs only in knowledge-graph rows (no rule, fact of a rule file,
    declaration or query mentions it) and whose name is close to one the rule files
    do mention (``difflib`` ratio at least ``cutoff``) is most likely a typo: the
    rules never see those rows. One problem per file and relation, at its first row;
    they are warnings (the rows are valid, only suspicious).

    Args:
        statements: the knowledge base's statements (``KnowledgeBase.program.statements``).
        origins: their ``Origin`` objects (``kind == "kg"`` marks a knowledge-graph row).
        cutoff: how close a name must be to be suggested.

    Returns:
        ``UnknownRelationError`` problems naming ``file:line`` and the suggestion.

    Example:
        >>> from greybox.lang.parser import parse_program
        >>> from types import SimpleNamespace as O
        >>> rules = parse_program("type aunt(symbol, symbol). niece(X, Y) :- aunt(Y, X).").statements
        >>> rows = parse_program("aunnt(ann, bob). likes(ann, tea).").statements
        >>> origins = [O(kind="rule", file="k.dl", line=1)] * 2 + [O(kind="kg", file="f.tsv", line=3)] * 2
        >>> print(misspelt_relations(rules + rows, origins)[0])
        f.tsv:3: relation aunnt/2 is used only in knowledge-graph rows (1 row): no rule or declaration mentions it
        hint: did you mean aunt/2? rename it in the file, or declare it with `type aunnt(...)` if it is meant
    """
    import difflib

    from greybox.lang.ast import AnnotatedDisjunction, Clause, NeuralDeclaration, Query, TypeDeclaration
    from greybox.lang.safety import literal_atoms

    known: dict[str, int] = {}
    used: dict[tuple[str, str | None], list] = {}  # (relation, file) -> [arity, first line, rows]
    for s, origin in zip(statements, origins):
        if origin.kind == "kg" and isinstance(s, Clause):
            entry = used.setdefault((s.head.predicate, origin.file), [len(s.head.args), origin.line, 0])
            entry[2] += 1
            continue
        atoms = []
        if isinstance(s, Clause):
            atoms = [s.head, *(a for lit in s.body for a, _ in literal_atoms(lit))]
        elif isinstance(s, AnnotatedDisjunction):
            atoms = [h for _, h in s.heads] + [a for lit in s.body for a, _ in literal_atoms(lit)]
        elif isinstance(s, Query):
            atoms = [a for lit in s.body for a, _ in literal_atoms(lit)]
        elif isinstance(s, NeuralDeclaration):
            atoms = [s.atom]
        elif isinstance(s, TypeDeclaration):
            known.setdefault(s.predicate, len(s.domains))
        for a in atoms:
            known.setdefault(a.predicate, len(a.args))
    problems = []
    for (name, file), (arity, line, rows) in used.items():
        if name in known:
            continue
        same = sorted(n for n, a in known.items() if a == arity)
        close = difflib.get_close_matches(name, same, n=1, cutoff=cutoff)
        if not close:
            continue
        problems.append(UnknownRelationError(
            f"relation {name}/{arity} is used only in knowledge-graph rows ({rows} row{'s' if rows != 1 else ''}): "
            "no rule or declaration mentions it",
            file=file, line=line,
            hint=f"did you mean {close[0]}/{arity}? rename it in the file, or declare it with "
            f"`type {name}(...)` if it is meant",
        ))
    return problems


def read_kg_file(path: str | os.PathLike) -> list[KGRow]:
    """Read every row of a knowledge-graph file, stopping at the first bad row.

    Args:
        path: a ``.tsv``, ``.csv`` or ``.jsonl`` file.

    Returns:
        The rows in file order.

    Raises:
        ConfigError: the file is missing, has an unknown extension, or a row is malformed
            (the error names the file and line).
    """
    rows = []
    for item in iter_kg_rows(path):
        if isinstance(item, ConfigError):
            raise item
        rows.append(item)
    return rows


def iter_kg_rows(path: str | os.PathLike) -> Iterator[KGRow | ConfigError]:
    """Yield each row of a knowledge-graph file, or a ``ConfigError`` for each bad row.

    Lets a checker report every bad row at once; ``read_kg_file`` stops at the first.

    Args:
        path: a ``.tsv``, ``.csv`` or ``.jsonl`` file.

    Yields:
        ``KGRow`` for a good row, ``ConfigError`` (not raised) for a bad one.

    Raises:
        ConfigError: the file is missing or its extension is not a knowledge-graph one.
    """
    name = str(path)
    suffix = Path(name).suffix.lower()
    if suffix not in KG_EXTENSIONS:
        raise ConfigError(
            f"{name}: not a knowledge-graph file",
            hint="knowledge-graph files end in " + ", ".join(KG_EXTENSIONS),
        )
    try:
        text = Path(name).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"file not found: {name}", hint="check the path") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read {name}: {err}", hint="the file must be UTF-8 text") from None
    if suffix == ".jsonl":
        yield from _jsonl_rows(text, name)
    else:
        yield from _table_rows(text, name, "\t" if suffix == ".tsv" else ",")


def _table_rows(text: str, file: str, delimiter: str) -> Iterator[KGRow | ConfigError]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    positions: dict[str, int] | None = None
    header_width = 0
    data_row = 0
    first = True
    for cells in reader:
        line = reader.line_num  # physical line where this record ends
        if not any(c.strip() for c in cells):
            continue
        if first:
            first = False
            positions = _header_positions(cells)
            if positions is not None:
                header_width = len(cells)
                continue
        data_row += 1
        if positions is None:
            if len(cells) not in (3, 4):
                yield _row_error(
                    f"expected 3 or 4 columns (head, relation, tail[, probability]), found {len(cells)}",
                    file, line, "add a header row naming the columns, or keep only those columns",
                )
                continue
            head, relation, tail = cells[0], cells[1], cells[2]
            prob = cells[3] if len(cells) == 4 else ""
        else:
            if len(cells) != header_width:
                yield _row_error(
                    f"row has {len(cells)} columns, the header {header_width}",
                    file, line, "give every row one cell per header column (an empty probability "
                    "cell means certain)",
                )
                continue
            head, relation, tail = (cells[positions[c]] for c in ("head", "relation", "tail"))
            prob = cells[positions["probability"]] if "probability" in positions else ""
        yield _make_row(head.strip(), relation, tail.strip(), prob.strip() or None, file, line, data_row)


def _header_positions(cells: list[str]) -> dict[str, int] | None:
    """Column positions when ``cells`` is a header row naming head, relation and tail; else None."""
    positions: dict[str, int] = {}
    for index, cell in enumerate(cells):
        column = _COLUMN_OF.get(cell.strip().lower())
        if column is not None and column not in positions:
            positions[column] = index
    if all(c in positions for c in ("head", "relation", "tail")):
        return positions
    return None


def _jsonl_rows(text: str, file: str) -> Iterator[KGRow | ConfigError]:
    data_row = 0
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        data_row += 1
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as err:
            yield _row_error(f"not valid JSON: {err.msg}", file, line,
                             'write one object per line, e.g. {"head": "ann", "relation": "parent", "tail": "bob"}',
                             column=err.colno, source_line=raw)
            continue
        missing = [k for k in ("head", "relation", "tail") if not isinstance(obj, dict) or k not in obj]
        if missing:
            yield _row_error(f"missing key{'s' if len(missing) > 1 else ''} {', '.join(missing)}", file, line,
                             "every line needs the keys head, relation and tail", source_line=raw)
            continue
        entities = []
        for key in ("head", "tail"):
            value = obj[key]
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                yield _row_error(f"{key} must be a string or an integer, not {value!r}", file, line,
                                 "write entities as strings", source_line=raw)
                break
            entities.append(value.strip() if isinstance(value, str) else value)
        else:
            prob = obj.get("probability")
            prob_text = None if prob is None else str(prob)
            if not isinstance(obj["relation"], str):
                yield _row_error("relation must be a string", file, line, 'e.g. "relation": "parent"',
                                 source_line=raw)
                continue
            yield _make_row(entities[0], obj["relation"], entities[1], prob_text, file, line, data_row)


def _make_row(head, relation: str, tail, prob: str | None, file: str, line: int, row: int) -> KGRow | ConfigError:
    if head == "" or tail == "":
        return _row_error("empty head or tail entity", file, line, "every row needs a head and a tail")
    try:
        name = sanitize_relation(relation, file=file, line=line)
    except ConfigError as err:
        return err
    probability = None
    if prob is not None:
        try:
            probability = float(prob)
        except ValueError:
            probability = math.nan
        if not 0.0 <= probability <= 1.0:  # also catches NaN
            return _row_error(f"probability {prob!r} is not a number between 0 and 1", file, line,
                              "write a probability such as 0.8, or leave the cell empty for a certain edge")
    return KGRow(head, name, tail, probability, line, row, relation)


def _row_error(message: str, file: str, line: int, hint: str, *, column: int | None = None,
               source_line: str | None = None) -> ConfigError:
    return ConfigError(message, file=file, line=line, column=column, source_line=source_line, hint=hint)
