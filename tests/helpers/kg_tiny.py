"""A tiny knowledge graph in the ``ntp`` layout (train.tsv, dev.tsv, test.tsv) for fast tests.

Families of three: ``parent`` twice, ``child`` back, and ``grandparent`` between the ends; a
``knows`` chain between families. Some ``grandparent`` facts are held out as dev and test:
the rule ``grandparent(X, Z) :- parent(X, Y), parent(Y, Z)`` ranks each first.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np

__all__ = ["tiny_triples", "write_tiny_kg", "toy_graph", "random_facts", "path_count_folder"]


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


def toy_graph(seed: int = 0, n: int = 7, m: int = 22) -> list[tuple[str, str, str]]:
    """``m`` distinct random facts over ``n`` people and the relations p, q, s."""
    rng = random.Random(seed)
    people = [f"e{i}" for i in range(n)]
    facts = set()
    while len(facts) < m:
        facts.add((rng.choice(people), rng.choice(["p", "q", "s"]), rng.choice(people)))
    return sorted(facts)


def random_facts(seed: int, n: int = 30, m: int = 150) -> list[tuple[str, str, str]]:
    """Up to ``m`` random facts over ``n`` people and the relations p, q, s (duplicates dropped)."""
    rng = np.random.default_rng(seed)
    people = [f"e{i}" for i in range(n)]
    return sorted({(people[a], ["p", "q", "s"][r], people[b]) for a, r, b in
                   zip(rng.integers(n, size=m), rng.integers(3, size=m), rng.integers(n, size=m))})


def path_count_folder(tmp_path: Path, dev: str = "") -> Path:
    """A KG folder where x reaches z by two p.q paths and y by one, r(x, z) holds; the test asks r(x11, z11)."""
    rows = []
    for g in range(12):
        x, b, c, z, y = (f"x{g}", f"b{g}", f"c{g}", f"z{g}", f"y{g}")
        rows += [f"{x}\tp\t{b}", f"{x}\tp\t{c}", f"{b}\tq\t{z}", f"{c}\tq\t{z}", f"{b}\tq\t{y}"]
        if g < 11:
            rows.append(f"{x}\tr\t{z}")
    (tmp_path / "train.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "dev.tsv").write_text(dev)
    (tmp_path / "test.tsv").write_text("x11\tr\tz11\n")
    return tmp_path
