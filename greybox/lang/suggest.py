"""Suggestions for misspelt names ("did you mean ...?"), with a bound on the work.

Finding the closest known name compares the misspelt one with every known name.
A program with thousands of unknown names (a generated file, a file read with the
wrong ``--input``) would make that quadratic in its size, so only the first
:data:`SUGGESTED` names of one check get a suggestion; the rest are reported
without one.

Example:
    >>> s = Suggestions(limit=1)
    >>> s.closest("parnet", ["parent", "person"]), s.closest("persn", ["parent", "person"])
    ('parent', None)
"""

from __future__ import annotations

import difflib
from typing import Iterable

__all__ = ["SUGGESTED", "Suggestions"]

#: How many misspelt names of one check get a suggestion.
SUGGESTED = 20


class Suggestions:
    """The closest known name for each of the first ``limit`` names asked about (the same answer when asked again)."""

    def __init__(self, limit: int = SUGGESTED) -> None:
        self.limit = limit
        self.answers: dict[str, str | None] = {}

    def closest(self, name: str, known: Iterable[str], cutoff: float = 0.6) -> str | None:
        """The known name closest to ``name`` (``None`` if none is close, or past the limit)."""
        if name in self.answers:
            return self.answers[name]
        if len(self.answers) >= self.limit:
            return None
        found = difflib.get_close_matches(name, sorted(known), n=1, cutoff=cutoff)
        self.answers[name] = found[0] if found else None
        return self.answers[name]
