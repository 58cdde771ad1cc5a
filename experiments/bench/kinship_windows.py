"""Which window each CLUTRR chain edge is read from: the sentence that states it, or another.

    .venv/bin/python experiments/bench/kinship_windows.py [--ks 2 3 4 6 10]

For every chain edge (the leaves of CLUTRR's ``proof_state``) of every ``1.k_test.csv``
story, cut as the config cuts stories (two-sentence windows, one order per pair): whether one
sentence names both people, and whether the window the pair is read from contains such a
sentence, with the first window that names both (the default) and with
``same_sentence_first``. No model is involved; it takes a few seconds.
"""

from __future__ import annotations

import argparse
import ast
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "experiments/bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from kinship_diagnose import chain_edges  # noqa: E402
from tasks.kinship.data import names_per_sentence, parse_story  # noqa: E402


def count(rows: list[dict[str, str]], k: int, same_sentence_first: bool) -> tuple[int, int, int]:
    """``(edges, stated in one sentence, read from a window holding that sentence)``."""
    edges = stated = read_there = 0
    for row in rows:
        story = parse_story(row["story"], tuple(ast.literal_eval(row["query"])), row["target"], row["genders"], k=k,
                            one_direction=True, same_sentence_first=same_sentence_first)
        windows = {frozenset((story.people[p.first], story.people[p.second])): story.text_sentences[p.text]
                   for p in story.pairs}
        names = names_per_sentence(row["story"])
        for a, b in chain_edges(row):
            edges += 1
            where = [i for i, named in enumerate(names) if {a, b} <= named]
            stated += bool(where)
            read_there += bool(where) and any(i in windows.get(frozenset((a, b)), ()) for i in where)
    return edges, stated, read_there


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared/data/clutrr/data_089907f8"))
    parser.add_argument("--ks", type=int, nargs="+", default=[2, 3, 4, 6, 10])
    args = parser.parse_args(argv)
    print("| k | chain edges | stated in one sentence | read from that sentence: first window | same_sentence_first |")
    print("| --- | --- | --- | --- | --- |")
    for k in args.ks:
        with open(Path(args.data_dir) / f"1.{k}_test.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        edges, stated, first = count(rows, k, same_sentence_first=False)
        _, _, preferred = count(rows, k, same_sentence_first=True)
        print(f"| {k} | {edges} | {stated} | {first} | {preferred} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
