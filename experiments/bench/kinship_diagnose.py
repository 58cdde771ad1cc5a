"""Where a trained CLUTRR model's long-chain errors come from: the reasoning or the reading.

    OMP_NUM_THREADS=1 .venv/bin/python experiments/bench/kinship_diagnose.py --config CONFIG --ckpt_path CKPT [--stories 40] [--ks 2 3 4 6 10] [-- OPTIONS]

For the first ``--stories`` stories of each ``1.k_test.csv``:

* ``oracle``: the answer accuracy of the same program and engine when the extractor is
  replaced by an oracle that reads each chain edge (the leaves of CLUTRR's ``proof_state``)
  as its gold relation (and its reverse as the inverse relation), and every other candidate
  pair as ``none``;
* ``model``: the trained model's answer accuracy, with max-mult and with max-min decoding;
* ``edges read right``: of the chain edges (A, r, B) that are candidate pairs, how many the
  trained extractor reads as r (most probable class of the pair (A, B)), or as r's kind
  (``parent`` for ``father``) when the extractor reads kinds;
* ``reversed read right``: the same for the pair (B, A), read as r's inverse for B's gender
  (the rules derive r from either);
* ``other pairs read none``: of the candidate pairs that are not chain edges either way, how
  many the extractor reads as ``none``;
* ``model edges, others none``: the answer accuracy when the chain edges keep the model's
  reading and every other pair is read as ``none`` (what the other pairs' readings cost);
* ``gold edges, model others``: the answer accuracy when the chain edges are read as their
  gold relation and every other pair keeps the model's reading (what misread edges cost).

The stories are cut into windows and pairs as the config's data module does; options after
``--`` change the config, e.g. ``-- --data.init_args.same_sentence_first true`` reads a trained
model's pairs from other windows.
"""

from __future__ import annotations

import argparse
import ast
import csv
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from greybox.neural.predicate import NeuralOutput  # noqa: E402
from greybox.training.explain import load_task  # noqa: E402
from tasks.kinship.data import NONE, Story, collate_stories, inverse_of, kind_of, parse_story  # noqa: E402

__all__ = ["chain_edges", "pair_relation", "main"]


def chain_edges(row: dict[str, str]) -> dict[tuple[str, str], str]:
    """The story's own edges ``(A, B) -> r``: the leaves of CLUTRR's ``proof_state``."""
    proofs = ast.literal_eval(row["proof_state"])
    derived = {head for step in proofs for head in step}
    return {(a, b): r.replace("-", "_") for step in proofs for body in step.values()
            for (a, r, b) in body if (a, r, b) not in derived}


def pair_relation(edges: dict[tuple[str, str], str], story: Story, pair) -> tuple[str, str] | None:
    """What the candidate pair's second person is to its first, if the pair is a chain edge.

    Returns ``("forward", r)`` for the edge (A, r, B) read as (A, B), ``("reverse", r')``
    for it read as (B, A), where r' is r's inverse for B's gender; None otherwise.
    """
    a, b = story.people[pair.first], story.people[pair.second]
    if (a, b) in edges:
        return "forward", edges[(a, b)]
    if (b, a) in edges:
        return "reverse", inverse_of(edges[(b, a)], story.genders[pair.second])
    return None


def _class(classes: tuple[str, ...], relation: str) -> int:
    """The extractor's class for a relation: itself, or its kind."""
    return classes.index(relation) if relation in classes else classes.index(kind_of(relation))


def _accuracy(out, labels: torch.Tensor) -> float:
    codes, _ = out.predict()
    return float((codes[:, 0] == labels).float().mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="experiments/kinship/clutrr.yaml")
    parser.add_argument("--ckpt_path", required=True)
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared/data/clutrr/data_089907f8"))
    parser.add_argument("--stories", type=int, default=40)
    parser.add_argument("--ks", type=int, nargs="+", default=[2, 3, 4, 6, 10])
    parser.add_argument("overrides", nargs="*", help="config options after --, e.g. -- --data.init_args.window 1")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    task, dm = load_task(args.config, args.ckpt_path, args.overrides)
    # the stories are cut into windows and pairs as the config's data module does
    reading = dm.reading
    task.eval()
    classes = tuple(task.reasoner.networks["relation_net"].classes)
    print("| k | stories | oracle | model (max-mult) | model (max-min) | edges read right | reversed read right "
          "| other pairs read none | model edges, others none | gold edges, model others |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for k in args.ks:
        with open(Path(args.data_dir) / f"1.{k}_test.csv", newline="") as f:
            rows = list(csv.DictReader(f))[: args.stories]
        stories = [parse_story(r["story"], tuple(ast.literal_eval(r["query"])), r["target"], r["genders"], k=k, **reading)
                   for r in rows]
        edges = [chain_edges(r) for r in rows]  # per story: (A, B) -> r
        batch = collate_stories(stories)
        with torch.no_grad():
            read = task.reasoner.perceive(task._net_inputs(batch))["relation_net"]  # args (N, 2), probs (N, 21)
            gold = torch.zeros_like(read.probs)
            gold[:, -1] = 1.0  # none
            right = total = back_right = back_total = none_right = none_total = 0
            for j, (sample, item) in enumerate(read.args.tolist()):
                story = stories[sample]
                if item >= len(story.pairs):
                    continue
                found = pair_relation(edges[sample], story, story.pairs[item])
                read_as = int(read.probs[j].argmax())
                if found is None:
                    none_total += 1
                    none_right += classes[read_as] == NONE
                    continue
                direction, relation = found
                cls = _class(classes, relation)
                gold[j] = 0.0
                gold[j, cls] = 1.0
                if direction == "forward":
                    total += 1
                    right += read_as == cls
                else:
                    back_total += 1
                    back_right += read_as == cls
            oracle = task.reason(batch, neural={"relation_net": NeuralOutput(read.args, gold)})
            is_edge = gold[:, -1] < 1.0  # (N,)
            none_elsewhere = torch.where(is_edge[:, None], read.probs, gold)
            gold_edges = torch.where(is_edge[:, None], gold, read.probs)
            edges_only = task.reason(batch, neural={"relation_net": NeuralOutput(read.args, none_elsewhere)})
            others_only = task.reason(batch, neural={"relation_net": NeuralOutput(read.args, gold_edges)})
            by_product = task.reason(batch, neural={"relation_net": read})
            by_min = task.reason(batch, semiring="max-min", neural={"relation_net": read})
        print(f"| {k} | {len(stories)} | {_accuracy(oracle, batch['label']):.3f} | {_accuracy(by_product, batch['label']):.3f} "
              f"| {_accuracy(by_min, batch['label']):.3f} | {right} / {total} | {back_right} / {back_total} "
              f"| {none_right} / {none_total} | {_accuracy(edges_only, batch['label']):.3f} "
              f"| {_accuracy(others_only, batch['label']):.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
