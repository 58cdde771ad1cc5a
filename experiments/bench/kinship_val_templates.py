"""A fit's validation stories as two test files: those that tell a sentence no training story uses, and the rest.

    .venv/bin/python experiments/bench/kinship_val_templates.py --out DIR [--seed 0] [--val-fraction 0.1]
    greybox test --config experiments/kinship/clutrr.yaml --ckpt_path CKPT --data.init_args.data_dir DIR

CLUTRR's test files are written mostly in sentences the training file never uses (names
aside; ``kinship_templates.py``), while a random validation split shares almost all its
sentences with the training stories. This script takes the validation stories of the data
module's random split (the ``seed`` and ``val_fraction`` of the fit, so the checkpoint never
trained on them) and writes them, rows as in the training file, to ``DIR/unseen_test.csv``
(each tells at least one sentence whose template, names masked, no training story uses) and
``DIR/seen_test.csv`` (the rest). ``greybox test`` scores any folder of CLUTRR test files, so
it reports the checkpoint's accuracy on each: how much of what the validation accuracy
measures survives a new wording, on stories of the training distribution, without reading
the test files. Takes a few seconds; no model.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tasks.kinship.data import sentence_templates, split_random  # noqa: E402

DATA_DIR = "../shared/data/clutrr/data_089907f8"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="folder to write seen_test.csv and unseen_test.csv to")
    parser.add_argument("--data-dir", default=DATA_DIR, type=Path)
    parser.add_argument("--train-file", default="1.2,1.3_train.csv")
    parser.add_argument("--seed", type=int, default=0, help="the data module's seed (data.init_args.seed)")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    args = parser.parse_args(argv)
    path = args.data_dir / args.train_file
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        columns, rows = reader.fieldnames or [], list(reader)
    val, train = split_random(rows, args.val_fraction, args.seed)  # as the data module splits its stories, one per row
    seen = {t for row in train for t in sentence_templates(row["story"])}
    groups = {"unseen": [row for row in val if set(sentence_templates(row["story"])) - seen],
              "seen": [row for row in val if set(sentence_templates(row["story"])) <= seen]}
    args.out.mkdir(parents=True, exist_ok=True)
    for name, members in groups.items():
        with open(args.out / f"{name}_test.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(members)
    print(f"{len(val)} validation stories: {len(groups['unseen'])} tell a sentence no training story uses "
          f"-> {args.out / 'unseen_test.csv'}; {len(groups['seen'])} -> {args.out / 'seen_test.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
