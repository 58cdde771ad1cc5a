"""Can the relation extractor read a story's relations at all? A supervised probe.

    OMP_NUM_THREADS=1 .venv/bin/python experiments/bench/kinship_probe.py [--stories 1500] [--epochs 2] \
        [--mark-pair] [--word-prior] [--finetune] [--ks 2 4 10]

The CLUTRR task never labels the sentences: greybox trains the extractor through the rules
from the queried relation alone. This probe asks a different question, to tell a weak
reading apart from a weak training signal: trained WITH the relation of every chain edge
(the leaves of CLUTRR's ``proof_state``, as kinds of relation, each pair read once), how
many chain edges does the same extractor read right on stories it has not seen?

It trains ``RelationExtractor(classes=KINDS + none)`` on the first ``--stories`` training
stories (cross-entropy on the pairs that are chain edges, either way round; other pairs
are left out, their relation is unknown), then prints the share of chain edges read right
on 300 held-out training stories (chains of 2-3, the training distribution) and on the
first 100 stories of each ``1.k_test.csv``.
"""

from __future__ import annotations

import argparse
import ast
import csv
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "experiments/bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from kinship_diagnose import chain_edges, pair_relation  # noqa: E402
from greybox.training.finetuning import Finetuning  # noqa: E402
from tasks.kinship.data import KINDS, NONE, Story, collate_stories, kind_of, parse_story  # noqa: E402
from tasks.kinship.model import RelationExtractor  # noqa: E402

__all__ = ["labelled_stories", "main"]

CLASSES = [*KINDS, NONE]


def labelled_stories(path: Path, start: int, count: int) -> list[tuple[Story, list[int]]]:
    """Stories ``start .. start + count`` of a CLUTRR file, each with its pairs' kinds (-1: not a chain edge)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))[start: start + count]
    out = []
    for row in rows:
        story = parse_story(row["story"], tuple(ast.literal_eval(row["query"])), row["target"], row["genders"],
                            one_direction=True)
        edges = chain_edges(row)
        found = [pair_relation(edges, story, pair) for pair in story.pairs]
        labels = [-1 if f is None else CLASSES.index(kind_of(f[1])) for f in found]
        out.append((story, labels))
    return out


def _batches(stories: list[tuple[Story, list[int]]], size: int = 32):
    for i in range(0, len(stories), size):
        chunk = stories[i: i + size]
        x = collate_stories([s for s, _ in chunk])["pairs"]  # ItemLists (B, M) of PairText
        y = torch.full(x.shape, -1)  # (B, M)
        for j, (_, labels) in enumerate(chunk):
            y[j, : len(labels)] = torch.tensor(labels, dtype=torch.int64)
        yield x.flat(), y.flatten()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared/data/clutrr/data_089907f8")
    parser.add_argument("--stories", type=int, default=1500, help="training stories (edge-labelled)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--mark-pair", action="store_true")
    parser.add_argument("--word-prior", action="store_true")
    parser.add_argument("--finetune", action="store_true", help="fine-tune the encoder too")
    parser.add_argument("--ks", type=int, nargs="+", default=[2, 4, 10])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    net = RelationExtractor(classes=CLASSES, mark_pair=args.mark_pair, word_prior=args.word_prior)
    train = labelled_stories(args.data_dir / "1.2,1.3_train.csv", 0, args.stories)
    # the encoder frozen, or fine-tuned at 0.02x the head's rate (what the callback does in a fit)
    policy = Finetuning(module="encoder", unfreeze_at_epoch=0 if args.finetune else None, lr_scale=0.02)
    policy.freeze_before_training(net)
    optimizer = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    policy.finetune_function(net, 0, optimizer)
    net.train()
    started = time.perf_counter()
    for epoch in range(args.epochs):
        for x, y in _batches(train):
            keep = y >= 0
            probs = net(x)  # (N, 11)
            loss = -torch.log(probs[keep, y[keep]].clamp_min(1e-9)).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch}: last batch loss {float(loss):.3f}, {time.perf_counter() - started:.0f} s", flush=True)
    net.eval()
    sets = {"held-out training stories": labelled_stories(args.data_dir / "1.2,1.3_train.csv", 6000, 300)}
    sets.update({f"k = {k}": labelled_stories(args.data_dir / f"1.{k}_test.csv", 0, 100) for k in args.ks})
    options = ", ".join(f"{k}={v}" for k, v in vars(args).items() if k in ("mark_pair", "word_prior", "finetune"))
    print(f"| stories ({options}; {args.stories} training stories, {args.epochs} epochs) | chain edges read right |")
    print("| --- | --- |")
    for name, stories in sets.items():
        right = total = 0
        with torch.no_grad():
            for x, y in _batches(stories):
                keep = y >= 0
                right += int((net(x).argmax(1)[keep] == y[keep]).sum())
                total += int(keep.sum())
        print(f"| {name} | {right} / {total} = {right / total:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
