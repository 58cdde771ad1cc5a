"""Path rules ``w :: inferred_r(X, Z) :- r1(X, Y1), r2(Y2, Y1), r3(Y2, Z).`` and their ``.dl`` files.

A *path rule* concludes a link ``r(X, Z)`` from a path of one to three known facts
from ``X`` to ``Z``; each step follows a relation forwards (``r1(X, Y1)``) or backwards
(``r2(Y2, Y1)``: the inverse of ``r2``). Its head is ``inferred_r`` (:data:`HEAD_PREFIX`),
not ``r`` itself: the rules are applied once to the known facts, as they were scored,
and a derived link is never the premise of another rule, so the engine run on the file
derives exactly the links (and, in the ``max-mult`` semiring, the scores) that the
ranking used.

The file writes each rule with its weight ``w ::`` (its confidence on the training
graph), under the comments ``% weight w`` (as :mod:`greybox.learn.export` writes) and
``% support S of B`` (S of the B links the body gives are facts; see
:func:`greybox.learn.path_mining.score_rules_on_graph`).

Example:
    >>> rule = PathRule("uncle", (("father", False), ("brother", False)), weight=0.8, support=8, body_size=10)
    >>> rule.text()
    '0.8 :: inferred_uncle(X, Z) :- father(X, Y1), brother(Y1, Z).'
    >>> PathRule("child", (("parent", True),)).text()
    'inferred_child(X, Z) :- parent(Z, X).'
    >>> PathRule("locatedin", (("neighborof", False),), 0.9, anchor="guinea-bissau", answer="africa").text()
    "0.9 :: inferred_locatedin(X, africa) :- neighborof(X, 'guinea-bissau')."
    >>> PathRule("uncle", (("father", False), ("brother", False)), 0.8, backoff=True).text()
    '0.8 :: backoff_uncle(X, Z) :- father(X, Y1), brother(Y1, Z).'
    >>> print(format_path_rule_file([rule], ["learned"]), end="")
    % learned
    <BLANKLINE>
    % support 8 of 10
    % weight 0.8000
    0.8 :: inferred_uncle(X, Z) :- father(X, Y1), brother(Y1, Z).

A *back-off rule* (the fourth example) concludes ``backoff_r``: the back-off rules of ``r``
only order the links that ``r``'s own rules score equally (none fires, or the same ones), by
their best proof (see :mod:`greybox.learn.ranking`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from greybox.errors import ConfigError

__all__ = ["HEAD_PREFIX", "BACKOFF_PREFIX", "PathRule", "head_name", "constant_text", "format_path_rule_file",
           "write_path_rule_file", "read_path_rule_file", "as_path_rule"]

#: the head of a rule concluding ``r`` is ``inferred_r``
HEAD_PREFIX = "inferred_"
#: the head of a back-off rule of ``r`` is ``backoff_r``
BACKOFF_PREFIX = "backoff_"

Step = tuple[str, bool]


def head_name(relation: str) -> str:
    """The predicate a rule concluding ``relation`` derives.

    >>> head_name("term6")
    'inferred_term6'
    """
    return HEAD_PREFIX + relation


def constant_text(name: str) -> str:
    """An entity as a constant of the rule language: bare when it is a symbol, else quoted.

    >>> constant_text("europe"), constant_text("timor-leste"), constant_text("it's")
    ('europe', "'timor-leste'", "'it\\\\'s'")
    """
    import re

    if re.fullmatch(r"[a-z][A-Za-z0-9_]*", name):
        return name
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _variables(length: int) -> list[str]:
    return ["X", *(f"Y{i}" for i in range(1, length)), "Z"]


@dataclass(frozen=True)
class PathRule:
    """``weight :: inferred_head(X, Z) :- step1, ..., stepn`` with ``n`` in 1..3.

    Attributes:
        head: the relation concluded (a relation of the graph).
        body: the steps from ``X`` to ``Z``: ``(relation, inverse)``; ``inverse`` follows the
            relation backwards.
        weight: the rule's probability (its confidence), ``None``: certain.
        support: links ``head(x, z)`` the body gives that are facts (see ``body_size``).
        body_size: links ``head(x, z)`` the body gives on the training graph (or, weighed on
            held-out folds, the new links it gives on the graph without each fold).
        line: the rule's line in the file it was read from (0: not read from a file).
        anchor: for an anchored rule, the entity the body ends at (in place of ``Z``).
        answer: for an anchored rule, the entity it concludes (the head is ``inferred_head(X, answer)``).
        backoff: a back-off rule: it concludes ``backoff_head``, and only breaks ties of ``head``'s own rules.
    """

    head: str
    body: tuple[Step, ...]
    weight: float | None = None
    support: int = 0
    body_size: int = 0
    line: int = 0
    anchor: str | None = None
    answer: str | None = None
    backoff: bool = False

    @property
    def key(self) -> tuple:
        """What two rules must share to say the same thing."""
        key = (self.head, self.body) if self.anchor is None else (self.head, self.body, self.anchor, self.answer)
        return key + ("backoff",) if self.backoff else key

    def atoms(self) -> list[str]:
        """The body atoms as text, ``r1(X, Y1)`` or ``r1(Y1, X)`` for an inverse step."""
        names = _variables(len(self.body))
        if self.anchor is not None:
            names[-1] = constant_text(self.anchor)
        return [f"{rel}({names[i + 1]}, {names[i]})" if inverse else f"{rel}({names[i]}, {names[i + 1]})"
                for i, (rel, inverse) in enumerate(self.body)]

    def text(self) -> str:
        """The rule as greybox source."""
        prefix = f"{self.weight!r} :: " if self.weight is not None else ""
        tail = "Z" if self.anchor is None else constant_text(self.answer)
        head = BACKOFF_PREFIX + self.head if self.backoff else head_name(self.head)
        return f"{prefix}{head}(X, {tail}) :- {', '.join(self.atoms())}."

    def comments(self) -> list[str]:
        """The comment lines written above the rule."""
        out = [f"support {self.support} of {self.body_size}"] if self.body_size else []
        return out + ([f"weight {self.weight:.4f}"] if self.weight is not None else [])


def format_path_rule_file(rules: Sequence[PathRule], header: Sequence[str] = ()) -> str:
    """The text of a path-rule file: the header comment, then each rule under its comments.

    Args:
        rules: the rules, in this order.
        header: lines of the header comment.

    Returns:
        The text, ending with a newline.
    """
    lines = [("% " + line).rstrip() for line in header]
    for rule in rules:
        lines.append("")
        lines += [f"% {c}" for c in rule.comments()]
        lines.append(rule.text())
    return "\n".join(lines) + "\n"


def write_path_rule_file(path: str | os.PathLike, rules: Sequence[PathRule], header: Sequence[str] = ()) -> list[PathRule]:
    """Write :func:`format_path_rule_file` to ``path`` atomically.

    Returns:
        The rules with ``line`` set to their line in the file.

    Raises:
        ConfigError: the folder does not exist.
    """
    from greybox.kb.atomic import atomic_write_text

    path = Path(path)
    if not path.parent.is_dir():
        raise ConfigError(f"cannot write {path}: the folder {path.parent} does not exist",
                          hint="create the folder first, or give another output file")
    text = format_path_rule_file(rules, header)
    atomic_write_text(path, text)
    return read_path_rule_file(path)


def as_path_rule(clause) -> PathRule | None:
    """The path rule a parsed clause is, or ``None``.

    >>> from greybox.lang.parser import parse_statement
    >>> rule = as_path_rule(parse_statement("0.5 :: inferred_a(X, Z) :- b(X, Y1), c(Z, Y1)."))
    >>> rule.key, rule.weight, rule.line, rule.anchor
    (('a', (('b', False), ('c', True))), 0.5, 1, None)
    >>> as_path_rule(parse_statement("a(X, Z) :- b(X, Z).")) is None
    True
    >>> as_path_rule(parse_statement("0.5 :: inferred_a(X, europe) :- b(X, Y1), c(Y1, 'x-y').")).key
    ('a', (('b', False), ('c', False)), 'x-y', 'europe')
    >>> as_path_rule(parse_statement("0.5 :: backoff_a(X, Z) :- b(X, Z).")).key
    ('a', (('b', False),), 'backoff')
    """
    from greybox.lang.ast import Atom, Clause, Const, Probability, Var

    if not isinstance(clause, Clause):
        return None
    prefix = next((p for p in (HEAD_PREFIX, BACKOFF_PREFIX) if clause.head.predicate.startswith(p)), None)
    if prefix is None:
        return None
    if clause.weight is not None and not isinstance(clause.weight, Probability):
        return None
    body = clause.body
    if not 1 <= len(body) <= 3 or not all(isinstance(a, Atom) and len(a.args) == 2 for a in body):
        return None
    names = _variables(len(body))
    anchor = answer = None
    last = [a.value for a in (clause.head.args[1], *(atom.args[i] for atom in body[-1:] for i in (0, 1)))
            if isinstance(a, Const) and isinstance(a.value, str)]
    if isinstance(clause.head.args[1], Const) and len(last) == 2:
        answer, anchor = last  # inferred_r(X, answer) :- ..., rn(Yn-1, anchor) (or rn(anchor, Yn-1))
        names[-1] = None  # the anchor's place holds no variable
    args = [tuple(a.name if isinstance(a, Var) else None for a in atom.args) for atom in (clause.head, *body)]
    if args[0] != ("X", "Z" if anchor is None else None):
        return None
    steps = []
    for i, (atom, pair) in enumerate(zip(body, args[1:])):
        if pair == (names[i], names[i + 1]):
            steps.append((atom.predicate, False))
        elif pair == (names[i + 1], names[i]):
            steps.append((atom.predicate, True))
        else:
            return None
    weight = clause.weight.value if clause.weight is not None else None
    line = clause.span.line if clause.span is not None else 0
    return PathRule(clause.head.predicate[len(prefix):], tuple(steps), weight, line=line, anchor=anchor,
                    answer=answer, backoff=prefix == BACKOFF_PREFIX)


def read_path_rule_file(path: str | os.PathLike) -> list[PathRule]:
    """Read a path-rule file back (weights from ``w ::``, support from the comments, lines).

    Raises:
        ConfigError: the file is missing, or holds a statement that is not a path rule.
        ParseError: the file does not parse.
    """
    import re

    from greybox.lang.parser import parse_program

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"rule file not found: {path}", hint="give the file the rule learner wrote")
    text = path.read_text()
    lines = text.splitlines()
    support = re.compile(r"^\s*%\s*support\s+(\d+)\s+of\s+(\d+)\b")
    out = []
    for statement in parse_program(text, file=str(path)).statements:
        rule = as_path_rule(statement)
        span = statement.span
        if rule is None:
            raise ConfigError("not a path rule inferred_r(X, Z) :- r1(X, Y1), ..., rn(Yn-1, Z) (or an anchored one, "
                              "inferred_r(X, answer) :- r1(X, Y1), ..., rn(Yn-1, anchor), or a back-off rule "
                              "backoff_r(X, Z) :- ...)", file=str(path),
                              line=span.line, source_line=lines[span.line - 1] if span.line else None,
                              hint="a learned-rule file holds path rules only; move other statements elsewhere")
        for back in (2, 3):
            match = support.match(lines[span.line - back]) if span.line > back else None
            if match:
                rule = replace(rule, support=int(match.group(1)), body_size=int(match.group(2)), line=span.line)
                break
        out.append(rule)
    return out
