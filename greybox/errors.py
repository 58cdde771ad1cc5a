"""One exception hierarchy for everything greybox reports to a user.

Every error carries where it happened (file, line, column when known) and a
``hint`` that says how to fix it. ``str(err)`` renders all of it, with the
offending source line and a caret under the column when the source is known.

Example:
    >>> err = UnsafeRuleError("variable X in the head is not bound by a positive literal",
    ...                       file="k.dl", line=3, column=1, source_line="p(X) :- \\\\+ q(X).",
    ...                       hint="add a positive literal that binds X, e.g. person(X)")
    >>> print(err)
    k.dl:3:1: variable X in the head is not bound by a positive literal
      p(X) :- \\+ q(X).
      ^
    hint: add a positive literal that binds X, e.g. person(X)
"""

from __future__ import annotations

__all__ = [
    "GreyboxError",
    "ParseError",
    "TypeCheckError",
    "StratificationError",
    "UnsafeRuleError",
    "UnknownRelationError",
    "ArityError",
    "UnboundNeuralPredicateError",
    "ShapeError",
    "ResourceLimitError",
    "ArithmeticOverflowError",
    "ConfigError",
    "EvidenceError",
    "KnowledgeBaseError",
    "ContradictionError",
    "CheckpointError",
    "ProblemList",
]


class GreyboxError(Exception):
    """Base class of every error greybox raises on bad input.

    Args:
        message: what is wrong, in one sentence.
        file: the file the problem is in, if any.
        line: 1-based line number, if known.
        column: 1-based column number, if known.
        source_line: the text of that line, shown with a caret under ``column``.
        hint: how to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        source_line: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.source_line = source_line
        self.hint = hint
        super().__init__(self.render())

    @property
    def location(self) -> str:
        """``file:line:column`` with whatever parts are known ('' when none)."""
        parts = [self.file or ("<input>" if self.line is not None else "")]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(p for p in parts if p)

    def render(self) -> str:
        loc = self.location
        out = f"{loc}: {self.message}" if loc else self.message
        if self.source_line is not None:
            out += "\n  " + self.source_line.rstrip("\n")
            if self.column is not None:
                # keep tabs so the caret lines up under the offending character
                prefix = "".join(c if c == "\t" else " " for c in self.source_line[: self.column - 1])
                out += "\n  " + prefix + "^"
        if self.hint:
            out += f"\nhint: {self.hint}"
        return out

    def __str__(self) -> str:
        return self.render()


class ParseError(GreyboxError):
    """The text is not valid greybox syntax. ``expected`` lists what would have been accepted."""

    def __init__(self, message: str, *, expected: list[str] | None = None, **kw) -> None:
        self.expected = sorted(expected or [])
        super().__init__(message, **kw)


class TypeCheckError(GreyboxError):
    """A value or variable is used with two incompatible types or outside its declared domain."""


class StratificationError(GreyboxError):
    """Negation or aggregation through recursion. ``cycle`` names the relations on the cycle."""

    def __init__(self, message: str, *, cycle: list[str] | None = None, **kw) -> None:
        self.cycle = list(cycle or [])
        super().__init__(message, **kw)


class UnsafeRuleError(GreyboxError):
    """A variable is not bound by a positive literal where it must be."""


class UnknownRelationError(GreyboxError):
    """A rule, query or input uses a relation that nothing defines or declares."""


class ArityError(GreyboxError):
    """A relation is used with two different numbers of arguments."""


class UnboundNeuralPredicateError(GreyboxError):
    """A neural predicate is declared in the program but no module was given for it at run time."""


class ShapeError(GreyboxError):
    """A tensor given to the engine or a neural predicate has the wrong shape."""


class ResourceLimitError(GreyboxError):
    """Evaluation passed a limit (iterations, derived tuples, wall-clock time).

    ``relation`` names the relation that kept growing.
    """

    def __init__(self, message: str, *, relation: str | None = None, **kw) -> None:
        self.relation = relation
        super().__init__(message, **kw)


class ArithmeticOverflowError(GreyboxError):
    """Integer arithmetic left the 64-bit range (``-2**63 .. 2**63-1``) while a rule was evaluated.

    ``operation`` names the operator (``*``, ``+``, ``sum``, ...) and ``operands`` its values.
    """

    def __init__(self, message: str, *, operation: str | None = None, operands: tuple = (), **kw) -> None:
        self.operation = operation
        self.operands = tuple(operands)
        super().__init__(message, **kw)


class ConfigError(GreyboxError):
    """A configuration value is wrong or a file it names is missing."""


class EvidenceError(GreyboxError):
    """The evidence cannot hold (its probability is 0), so nothing can be conditioned on it."""


class KnowledgeBaseError(GreyboxError):
    """An edit to a knowledge base was rejected (nothing was written)."""


class ContradictionError(GreyboxError):
    """Open world, a theory derives both a statement and its negation: it answers nothing about it."""


class CheckpointError(GreyboxError):
    """A checkpoint file is missing, unreadable, unsafe to load, or does not fit the model."""


class ProblemList(GreyboxError):
    """Several problems found at once (e.g. by ``greybox kb check``); ``problems`` holds each."""

    def __init__(self, problems: list[GreyboxError]) -> None:
        self.problems = list(problems)
        n = len(self.problems)
        body = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} found:\n{body}")
