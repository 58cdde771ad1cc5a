"""What a reader of CLUTRR's text can reach: the rules on each story's graph as its sentences state it.

    .venv/bin/python experiments/bench/kinship_text_ceiling.py [--audit experiments/kinship/template_audit.tsv]
        [--readings readings.json] [--data-dir DIR] [--ks 2 3 ... 10]

The graph ceiling (``kinship_ceiling.py``) runs the rules on CLUTRR's own graph of each story.
Some of its edges are stated otherwise by the story's sentence (the template audit,
``experiments/kinship/template_audit.py``): here each such edge is replaced by what its sentence
says (``inverse``: the roles swapped; ``other``: the relation the text names; ``none``: no edge),
and the same rules (``knowledge/kinship.dl``, greybox's engine) run on that graph. Per k:

* ``graph ceiling`` / ``text ceiling``: the best any function of the graph can score, as
  ``kinship_ceiling.py`` counts it (the label derived alone, plus, where the rules leave several
  relations open, the label given most often for that set);
* ``text, label alone``: stories whose text graph derives the label and nothing else;
* ``faithful``: stories whose every chain edge is stated as in the graph (no read template says
  otherwise; templates not read count as faithful);
* ``low``: the text ceiling if the unread edges were misstated at the top of the 95% interval
  the audit's sample gives, each misstated edge costing its story;
* with ``--readings`` (``template_audit.py readings``: one pass of a trained model), the model's
  accuracy on all stories and on the faithful ones; and, of the chain edges whose sentence states
  them as in the graph, how many the model reads as another kind (probability of the edge's kind
  below 0.5), split by whether the sentence's words (names masked, :func:`sentence_templates`)
  occur in the training file.

No model runs here: seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "experiments/bench", ROOT / "experiments/kinship"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from greybox.learn.evaluate import derived_relations  # noqa: E402
from greybox.learn.graphs import relation_name  # noqa: E402
from kinship_ceiling import Score, score  # noqa: E402
from kinship_templates import read_templates  # noqa: E402
from tasks.kinship.data import RELATIONS, sentence_templates  # noqa: E402
from tasks.kinship.graphs import CLUTRR_DIR, KINSHIP_RULES, TEST_FILE, TEST_KS, read_clutrr_graphs  # noqa: E402
from template_audit import AUDIT_FILE, edges_by_story, read_audit, sample_estimate, text_edges  # noqa: E402

__all__ = ["TextCeiling", "text_ceiling", "misread_by_wording", "main"]


@dataclass(frozen=True)
class TextCeiling:
    """The figures of one test file (see the module's docstring).

    Attributes:
        k: the chain length; graph, text: the rules' scores on the two graphs;
        faithful: indices of the stories whose chain edges are all stated as in the graph;
        misstated: chain edges whose sentence states something else (read templates), out of ``edges``;
        unread: chain edges whose template was not read.
    """

    k: int
    graph: Score
    text: Score
    faithful: tuple[int, ...]
    misstated: int
    edges: int
    unread: int

    def lower_bound(self, share: float) -> float:
        """The text ceiling if a ``share`` of the unread edges were misstated, each costing its story."""
        return max(0.0, (self.text.best - share * self.unread) / self.text.stories)


def text_ceiling(data_dir: str | Path, audit_path: str | Path, ks=TEST_KS, rules: str | Path | None = None) -> list[TextCeiling]:
    """The graph and text ceilings of each ``1.k_test.csv`` in ``data_dir``, under the audit's verdicts.

    Raises:
        ConfigError: a test file is missing or malformed, or the audit holds an unknown verdict.
    """
    program = Path(rules or ROOT / KINSHIP_RULES).read_text()
    relations = [relation_name(r) for r in RELATIONS]
    audit = read_audit(audit_path)
    out = []
    for k, items in edges_by_story(data_dir, ks).items():
        graphs = read_clutrr_graphs(Path(data_dir) / TEST_FILE.format(k=k))
        texts, faithful, misstated, n_edges, unread = [], [], 0, 0, 0
        for i, (ex, (row, edges)) in enumerate(zip(graphs, items)):
            genders = [g.split(":")[1].strip() if ":" in g else "" for g in row["genders"].split(",") if g.strip()]
            stated = text_edges(edges, genders, audit)
            bad = sum(e.key in audit and audit[e.key].verdict not in ("", "graph") for e in edges)
            misstated += bad
            unread += sum(e.key not in audit or not audit[e.key].verdict for e in edges)
            n_edges += len(edges)
            if not bad:
                faithful.append(i)
            texts.append(replace(ex, edges=tuple(stated)))
        targets = [ex.target for ex in graphs]
        out.append(TextCeiling(k, score(targets, derived_relations(program, graphs, relations=relations), relations),
                               score(targets, derived_relations(program, texts, relations=relations), relations),
                               tuple(faithful), misstated, n_edges, unread))
    return out


def misread_by_wording(data_dir: str | Path, audit_path: str | Path, readings: dict[str, float], train_file: str | Path,
                       ks=TEST_KS) -> dict[str, tuple[int, int]]:
    """Of the chain edges stated as in the graph, ``(misread, edges)`` by the wording of their sentence.

    ``readings``: ``"k/row/a/b"`` -> the model's probability of NOT reading the edge as its kind
    (``template_audit.py readings``); misread: above 0.5. ``"training words"``: every sentence that
    names both people is, names masked, a sentence of ``train_file``; ``"new words"``: the others.
    """
    audit = read_audit(audit_path)
    seen = set(read_templates(Path(train_file)))
    counts = {"training words": [0, 0], "new words": [0, 0]}
    for k, items in edges_by_story(data_dir, ks).items():
        for row_index, (_, edges) in enumerate(items):
            for e in edges:
                verdict = audit[e.key].verdict if e.key in audit else ""
                if not e.text or verdict not in ("", "graph"):
                    continue
                group = counts["training words" if set(sentence_templates(e.text)) <= seen else "new words"]
                group[0] += readings[f"{k}/{row_index}/{e.a}/{e.b}"] > 0.5
                group[1] += 1
    return {name: (bad, n) for name, (bad, n) in counts.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=os.path.normpath(ROOT / CLUTRR_DIR))
    parser.add_argument("--audit", default=str(ROOT / AUDIT_FILE))
    parser.add_argument("--readings", default=None, help="a model's readings (template_audit.py readings)")
    parser.add_argument("--ks", type=int, nargs="+", default=list(TEST_KS))
    parser.add_argument("--rules", default=str(ROOT / KINSHIP_RULES))
    args = parser.parse_args(argv)
    stories = json.loads(Path(args.readings).read_text())["stories"] if args.readings else None
    bad, n, _, high = sample_estimate(list(read_audit(args.audit).values()))
    print(f"templates not read: {bad} of the {n} sampled are misstated (95% Wilson top {high:.3f}); the last column "
          f"takes that share of the unread edges as misstated, each costing its story")
    head = ("| k | stories | edges misstated | edges not read | graph ceiling | text ceiling | text, label alone "
            "| faithful stories | text ceiling, low |")
    if stories is not None:
        head += " model | model, faithful stories |"
    print(head)
    print("|" + " --- |" * head.count(" |"))
    for t in text_ceiling(args.data_dir, args.audit, args.ks, args.rules):
        line = (f"| {t.k} | {t.graph.stories} | {t.misstated} / {t.edges} | {t.unread} | {t.graph.ceiling:.3f} "
                f"| {t.text.ceiling:.3f} | {t.text.exact / t.text.stories:.3f} | {len(t.faithful)} "
                f"| {t.lower_bound(high):.3f} |")
        if stories is not None:
            right = [stories[f"{t.k}/{i}"] for i in range(t.graph.stories)]
            on_faithful = [right[i] for i in t.faithful]
            line += (f" {sum(right) / len(right):.3f} | "
                     f"{sum(on_faithful) / max(1, len(on_faithful)):.3f} |")
        print(line, flush=True)
    if args.readings:
        readings = json.loads(Path(args.readings).read_text())["edges"]
        train = Path(args.data_dir) / "1.2,1.3_train.csv"
        print("\nchain edges stated as in the graph, read as another kind (k = " + ", ".join(map(str, args.ks)) + "):")
        for name, (bad, n) in misread_by_wording(args.data_dir, args.audit, readings, train, args.ks).items():
            print(f"  sentence in {name}: {bad} / {n} ({bad / max(1, n):.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
