"""Interning of symbolic constants as int64 ids, one table per compiled program (no global state)."""

from __future__ import annotations

__all__ = ["SymbolTable"]


class SymbolTable:
    """Maps symbols (``str``) to consecutive ids and back. Integers are stored as themselves.

    Whether a column holds symbols or integers comes from the program's types, so an
    id never needs to say which kind it is.

    >>> t = SymbolTable()
    >>> t.encode("ann"), t.encode("bob"), t.encode("ann")
    (0, 1, 0)
    >>> t.decode(1)
    'bob'
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._names: list[str] = []

    def encode(self, symbol: str) -> int:
        sid = self._ids.get(symbol)
        if sid is None:
            sid = len(self._names)
            self._ids[symbol] = sid
            self._names.append(symbol)
        return sid

    def lookup(self, symbol: str) -> int | None:
        """The id of ``symbol`` or ``None`` when it was never seen (a query for it has no answer)."""
        return self._ids.get(symbol)

    def decode(self, sid: int) -> str:
        return self._names[sid]

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, symbol: str) -> bool:
        return symbol in self._ids
