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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from greybox.learn.evaluate import derived_relations  # noqa: E402
from greybox.learn.graphs import relation_name  # noqa: E402
from tasks.kinship.data import RELATIONS  # noqa: E402
from tasks.kinship.graphs import CLUTRR_DIR, KINSHIP_RULES, TEST_FILE, TEST_KS, read_clutrr_graphs  # noqa: E402

__all__ = ["main"]


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
        exact = missed = 0
        open_sets: dict[tuple[str, ...], Counter] = defaultdict(Counter)
        for ex, derived in zip(examples, derived_relations(rules, examples, relations=relations)):
            if ex.target not in derived:
                missed += 1
            elif len(derived) == 1:
                exact += 1
            else:
                open_sets[tuple(sorted(derived, key=relations.index))][ex.target] += 1
        ambiguous = sum(sum(c.values()) for c in open_sets.values())
        best = exact + sum(max(c.values()) for c in open_sets.values())
        detail = "; ".join(f"{' or '.join(s)} ({', '.join(f'{t}: {n}' for t, n in c.most_common())})"
                           for s, c in sorted(open_sets.items()))
        print(f"| {k} | {len(examples)} | {exact} | {ambiguous} | {missed} | {best / len(examples):.3f} | {detail or '-'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
