"""A tiny knowledge graph in the ``ntp`` layout (train.tsv, dev.tsv, test.tsv) for fast tests.

Families of three: ``parent`` twice, ``child`` back, and ``grandparent`` between the ends; a
``knows`` chain between families. Some ``grandparent`` facts are held out as dev and test:
the rule ``grandparent(X, Z) :- parent(X, Y), parent(Y, Z)`` ranks each first.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["tiny_triples", "write_tiny_kg"]


def tiny_triples(prefix: str = "p", families: int = 10) -> list[tuple[str, str, str]]:
    """The triples of the tiny graph, entities named ``{prefix}0``, ``{prefix}1``, ..."""
    people = [f"{prefix}{i}" for i in range(3 * families)]
    rows = []
    for i in range(0, len(people), 3):
        a, b, c = people[i:i + 3]
        rows += [(a, "parent", b), (b, "parent", c), (a, "grandparent", c), (b, "child", a), (c, "child", b)]
    rows += [(people[i], "knows", people[i + 3]) for i in range(0, len(people) - 3, 3)]
    return rows


def write_tiny_kg(folder: Path, prefix: str = "p", *, test: str | None = None, train: str | None = None) -> Path:
    """Write the tiny graph to ``folder``: 3 ``grandparent`` facts as test, 2 as dev, the rest as train.

    ``test`` / ``train``: text that replaces the file (for bad input).
    """
    rows = tiny_triples(prefix)
    grand = [r for r in rows if r[1] == "grandparent"]
    held = grand[:5]
    folder.mkdir(parents=True, exist_ok=True)

    def text(triples):
        return "".join("\t".join(t) + "\n" for t in triples)

    (folder / "train.tsv").write_text(train if train is not None else text(r for r in rows if r not in held))
    (folder / "dev.tsv").write_text(text(held[3:5]))
    (folder / "test.tsv").write_text(test if test is not None else text(held[:3]))
    return folder
