"""Learned chain rules as a ``.dl`` file: a header, then each rule under a ``% weight`` comment.

The file holds rules only (no declarations), so that it can be checked together with
the background that declares the relations, and each rule line can be given as it is
to ``greybox kb add-rule FILE "RULE"``.

Example:
    >>> import tempfile, pathlib
    >>> from greybox.learn.chain_rules import ChainRule
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "learned.dl"
    >>> write_rule_file(path, [ChainRule("father", "father", "grandfather", weight=0.98765)], ["learned"])
    >>> print(path.read_text(), end="")
    % learned
    <BLANKLINE>
    % weight 0.9877
    grandfather(X, Z) :- father(X, Y), father(Y, Z).
    >>> read_chain_rules(path)
    [ChainRule(first='father', second='father', head='grandfather', distinct=False, weight=0.9877)]
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from greybox.errors import ConfigError

from .chain_rules import ChainRule, as_chain_rule

__all__ = ["format_rule_file", "write_rule_file", "read_chain_rules", "WEIGHT_COMMENT"]

#: the comment line above each rule: ``% weight 0.9731``
WEIGHT_COMMENT = re.compile(r"^\s*%\s*weight\s+([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*$")


def format_rule_file(rules: Sequence[ChainRule], header: Sequence[str] = ()) -> str:
    """The text of a learned-rule file.

    Args:
        rules: the rules, written in this order; a rule's ``weight`` goes in the comment above it.
        header: lines of the header comment (``% `` is put before each).

    Returns:
        The file's text, ending with a newline.
    """
    lines = [("% " + line).rstrip() for line in header]
    for rule in rules:
        lines.append("")
        if rule.weight is not None:
            lines.append(f"% weight {rule.weight:.4f}")
        lines.append(rule.text())
    return "\n".join(lines) + "\n"


def write_rule_file(path: str | os.PathLike, rules: Sequence[ChainRule], header: Sequence[str] = ()) -> None:
    """Write :func:`format_rule_file` to ``path`` atomically (the old file stays until the new one is complete).

    Raises:
        ConfigError: the folder does not exist.
    """
    from greybox.kb.atomic import atomic_write_text

    path = Path(path)
    if not path.parent.is_dir():
        raise ConfigError(f"cannot write {path}: the folder {path.parent} does not exist",
                          hint="create the folder first, or give another -o")
    atomic_write_text(path, format_rule_file(rules, header))


def read_chain_rules(path: str | os.PathLike) -> list[ChainRule]:
    """Read a learned-rule file back: its chain rules, with the weights of their comments.

    Args:
        path: a file written by :func:`write_rule_file` (or by hand in the same layout).

    Returns:
        The rules in file order; ``weight`` is ``None`` for a rule without a ``% weight`` line.

    Raises:
        ConfigError: the file is missing or holds a statement that is not a chain rule.
        ParseError: the file does not parse.
    """
    from greybox.lang.ast import Clause
    from greybox.lang.parser import parse_program

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"rule file not found: {path}", hint="give the file written by `greybox learn-rules -o`")
    text = path.read_text()
    lines = text.splitlines()
    out = []
    for statement in parse_program(text, file=str(path)).statements:
        span = statement.span
        rule = as_chain_rule(statement) if isinstance(statement, Clause) else None
        if rule is None:
            raise ConfigError("not a chain rule r3(X, Z) :- r1(X, Y), r2(Y, Z)", file=str(path), line=span.line,
                              column=span.column, source_line=lines[span.line - 1] if span.line else None,
                              hint="a learned-rule file holds chain rules only; move other statements elsewhere")
        above = lines[span.line - 2] if span.line >= 2 else ""
        match = WEIGHT_COMMENT.match(above)
        if match and rule.weight is None:
            rule = ChainRule(rule.first, rule.second, rule.head, rule.distinct, float(match.group(1)))
        out.append(rule)
    return out
