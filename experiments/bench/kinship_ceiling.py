"""How well any reasoner over a CLUTRR story's relations can do: the gold graphs through the rules.

    .venv/bin/python experiments/bench/kinship_ceiling.py [--data-dir DIR] [--ks 2 3 ... 10] [--rules knowledge/kinship.dl]

For each story of each ``1.k_test.csv``, the gold graph (``story_edges``, ``edge_types``,
``genders``: what a perfect reader would extract; ``tasks.kinship.graphs.read_clutrr_graphs``) is
evaluated with the rules by greybox's engine (``greybox.learn.evaluate.derived_relations``), and
the relations derived between the queried people are compared with the label:

* ``exact``: the rules derive the label and nothing else;
* ``ambiguous``: the rules derive the label and another relation. CLUTRR's families are
  generated with more detail than a story tells: "the grandmother of my wife's son" is my
  mother or my mother-in-law, and the story does not say which;
* ``missed``: the rules do not derive the label;
* ``ceiling``: the best accuracy any function of the graph can reach on the file: exact
  stories, plus, for each set of relations the rules leave open, the stories whose label is
  the one most often given for that set in this very file (an optimistic bound: it reads the
  test labels).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from greybox.learn.evaluate import derived_relations  # noqa: E402
from greybox.learn.graphs import relation_name  # noqa: E402
from tasks.kinship.data import RELATIONS  # noqa: E402
from tasks.kinship.graphs import CLUTRR_DIR, KINSHIP_RULES, TEST_FILE, TEST_KS, read_clutrr_graphs  # noqa: E402

__all__ = ["Score", "score", "main"]


@dataclass(frozen=True)
class Score:
    """How the rules fare on the graphs of one file.

    Attributes:
        stories: how many; exact: label derived alone; ambiguous: label and another; missed: label not derived.
        best: the ceiling, in stories: exact plus, per set of relations left open, its most frequent label.
        open_sets: per set of relations left open (in ``relations`` order), its labels' counts.
    """

    stories: int
    exact: int
    ambiguous: int
    missed: int
    best: int
    open_sets: dict[tuple[str, ...], Counter]

    @property
    def ceiling(self) -> float:
        """``best`` as a share of the stories."""
        return self.best / self.stories if self.stories else 0.0


def score(targets: list[str], derived: list[set[str]], relations: list[str]) -> Score:
    """Score the relations the rules derive for each story against its label.

    >>> s = score(["aunt", "mother", "mother", "son"], [{"aunt"}, {"mother", "mother_in_law"},
    ...           {"mother", "mother_in_law"}, set()], ["mother", "son", "aunt", "mother_in_law"])
    >>> s.exact, s.ambiguous, s.missed, s.best, round(s.ceiling, 2)
    (1, 2, 1, 3, 0.75)
    """
    exact = missed = 0
    open_sets: dict[tuple[str, ...], Counter] = defaultdict(Counter)
    for target, found in zip(targets, derived):
        if target not in found:
            missed += 1
        elif len(found) == 1:
            exact += 1
        else:
            open_sets[tuple(sorted(found, key=relations.index))][target] += 1
    ambiguous = sum(sum(c.values()) for c in open_sets.values())
    best = exact + sum(max(c.values()) for c in open_sets.values())
    return Score(len(targets), exact, ambiguous, missed, best, dict(open_sets))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.path.normpath(ROOT / CLUTRR_DIR))
    parser.add_argument("--ks", type=int, nargs="+", default=list(TEST_KS))
    parser.add_argument("--rules", default=str(ROOT / KINSHIP_RULES))
    args = parser.parse_args(argv)
    rules = Path(args.rules).read_text()
    print("| k | stories | exact | ambiguous | missed | ceiling | what the rules leave open (label: stories) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    relations = [relation_name(r) for r in RELATIONS]
    for k in args.ks:
        examples = read_clutrr_graphs(Path(args.data_dir) / TEST_FILE.format(k=k))
        found = derived_relations(rules, examples, relations=relations)
        sc = score([ex.target for ex in examples], found, relations)
        detail = "; ".join(f"{' or '.join(s)} ({', '.join(f'{t}: {n}' for t, n in c.most_common())})"
                           for s, c in sorted(sc.open_sets.items()))
        print(f"| {k} | {sc.stories} | {sc.exact} | {sc.ambiguous} | {sc.missed} | {sc.ceiling:.3f} | {detail or '-'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
