"""How many sentences of each CLUTRR test file the training stories already use, names aside.

    .venv/bin/python experiments/bench/kinship_templates.py [--ks 2 3 4 6 10]

A sentence's template is the sentence with every bracketed name replaced by "N", lower-cased.
A reader that only learned the training file's templates is tested, at every k, mostly on
sentences it has never seen: this counts, per ``1.k_test.csv``, the sentences whose template
occurs in ``1.2,1.3_train.csv``. No model is involved; it takes a few seconds.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tasks.kinship.stories import sentence_templates  # noqa: E402


def read_templates(path: Path) -> list[str]:
    with open(path, newline="") as f:
        return [t for row in csv.DictReader(f) for t in sentence_templates(row["story"])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared/data/clutrr/data_089907f8"))
    parser.add_argument("--ks", type=int, nargs="+", default=list(range(2, 11)))
    args = parser.parse_args(argv)
    seen = set(read_templates(Path(args.data_dir) / "1.2,1.3_train.csv"))
    print(f"training file: {len(seen)} distinct templates")
    print("| k | sentences | template in the training file |")
    print("| --- | --- | --- |")
    for k in args.ks:
        test = read_templates(Path(args.data_dir) / f"1.{k}_test.csv")
        known = sum(t in seen for t in test)
        print(f"| {k} | {len(test)} | {known} ({known / len(test):.3f}) |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
