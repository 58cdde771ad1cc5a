"""What the sentences of CLUTRR's test stories say about their chain edges: one verdict per template.

    .venv/bin/python experiments/kinship/template_audit.py readings --ckpt_path CKPT --out readings.json  # minutes
    .venv/bin/python experiments/kinship/template_audit.py build [--readings readings.json] [--sample 200]
    .venv/bin/python experiments/kinship/template_audit.py summary

CLUTRR's stories are stitched from crowd-written sentences whose names are filled in per
story, and a sentence written for one relation is reused in many stories. Some of them say
something else than the graph they are used for: "[Kenneth] took his favorite son [Kevin]"
serves the edge ``son(Kevin, Kenneth)`` (Kenneth is Kevin's son). This script lists, for every
chain edge ``(A, r, B)`` of every test story (``story_edges`` / ``edge_types``: B is A's r),
the sentence that states it, masks its names into a *template* (A's name -> ``[A]``, B's ->
``[B]``, anyone else's -> ``[C]``, ``[D]``, ... in order of mention) and groups the edges by
(template, relation). ``experiments/kinship/template_audit.tsv`` holds one row per group,
with the verdict of a person who read the template:

* ``graph``: the sentence states r (B is A's r, in whatever words or order);
* ``inverse``: the roles are swapped: the sentence says A is B's r-kind ("[A] took his son [B]"
  for ``son(B, A)``);
* ``other``: another relation; ``states`` names the kind of relation B is to A by the text
  (``parent``, ``sibling``, ... as :data:`tasks.kinship.data.KINDS`);
* ``none``: the sentence does not say how the two are related;
* empty: not read (``status`` says ``not read``).

``note`` says why, where the template alone does not show it (e.g. the story states the
relation in a sentence the template does not hold: a lost full stop merged two sentences).

``build`` recomputes the groups from the data and keeps every verdict already in the file;
``status`` marks the groups to read (``read``: used by at least ``--min-edges`` test edges, or
misread by a model with probability above 0.9 at some edge, by its ``--readings``), a seeded random
sample of the rarely used groups (``sampled``) and the rest (``not read``); ``selected`` says why.
A template that is a read one followed by sentences naming neither A nor B (CLUTRR's text lost
the full stop between them) takes its verdict (``same sentence as ID``). ``summary``
prints the counts and a Wilson interval on the share of misstated templates among the unread
ones, from the sample. :func:`text_edges` applies the verdicts to a story's graph (what
``experiments/bench/kinship_text_ceiling.py`` runs the rules on).

Example:
    >>> template_of("[Kenneth] took his favorite son [Kevin] out, [Ann] said.", "Kevin", "Kenneth")
    '[B] took his favorite son [A] out, [C] said.'
    >>> segments("[Ann] ate. [Bob] [Cid] sang! [Dan] and [Eve] left")
    ['[Ann] ate.', '[Bob]', '[Cid] sang!', '[Dan] and [Eve] left']
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import json
import math
import random
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from greybox.errors import ConfigError  # noqa: E402
from tasks.kinship.stories import KINDS, _NAME, inverse_kind, kind_of, raw_sentences  # noqa: E402

__all__ = ["ChainEdge", "AuditRow", "VERDICTS", "segments", "template_of", "story_edges", "edges_by_story", "model_readings",
           "read_audit", "write_audit", "text_edges", "wilson", "sample_estimate", "main"]

#: the audit file, from the project root
AUDIT_FILE = "experiments/kinship/template_audit.tsv"
DATA_DIR = "../shared/data/clutrr/data_089907f8"
TEST_FILE = "1.{k}_test.csv"
TEST_KS = tuple(range(2, 11))
#: what a template may say about its edge
VERDICTS = ("graph", "inverse", "other", "none")
_COLUMNS = ("id", "edges", "relation", "verdict", "states", "status", "selected", "misread", "note", "template")
_SEGMENT_END = re.compile(r"(?<=\])\s+(?=\[)")  # "... [Scott] [Joy] had ...": a full stop left out


def segments(story: str) -> list[str]:
    """The story's sentences (:func:`tasks.kinship.stories.raw_sentences`), also cut between two names
    with nothing between them, where CLUTRR's text lost a full stop."""
    return [part for raw in raw_sentences(story) for part in _SEGMENT_END.split(raw) if part]


def template_of(text: str, a: str, b: str) -> str:
    """``text`` with A's name as ``[A]``, B's as ``[B]`` and the others' as ``[C]``, ``[D]``, ... in order."""
    others: dict[str, str] = {}

    def mask(m: re.Match) -> str:
        name = m.group(1)
        if name == a:
            return "[A]"
        if name == b:
            return "[B]"
        return "[" + others.setdefault(name, chr(ord("C") + len(others))) + "]"

    return _NAME.sub(mask, text.strip())


def template_id(template: str, relation: str) -> str:
    """A short stable key of a (template, relation) group."""
    return hashlib.sha1(f"{template}\t{relation}".encode()).hexdigest()[:10]


@dataclass(frozen=True)
class ChainEdge:
    """One chain edge of one test story: ``relation(a, b)``, b is a's relation.

    Attributes:
        k: the story's file (``1.k_test.csv``); row: its row (0-based, file order).
        a, b: person indices (the order of the ``genders`` column); names: the story's names.
        relation: the graph's relation (``son_in_law`` spelling).
        text: the sentence(s) that name both (:func:`_stating_text`), brackets kept; ``""`` when
            the story does not name both.
        template: ``text`` masked by :func:`template_of`.
    """

    k: int
    row: int
    a: int
    b: int
    relation: str
    text: str
    template: str

    @property
    def key(self) -> str:
        """The id of its (template, relation) group."""
        return template_id(self.template, self.relation)


def _stating_text(parts: list[str], a: str, b: str) -> str:
    """The sentences that state the relation of ``a`` and ``b``, as a reader finds them.

    The sentence that names both and the fewest other people (a sentence whose full stop was
    lost names the people of two), else the fewest consecutive sentences that name both, with
    the fewest people; then the sentence after it too when it goes on about the same people
    without naming anyone first ("... with her brother. His name is [Don].").

    >>> _stating_text(["[Ann] ate [Cid] sang with her son.", "His name is [Bob].", "[Ann]'s son [Bob] sang."],
    ...               "Ann", "Bob")
    "[Ann]'s son [Bob] sang."
    >>> _stating_text(["[Ann] sang with her son.", "His name is [Bob].", "[Cid] ate."], "Ann", "Bob")
    '[Ann] sang with her son. His name is [Bob].'
    """
    named = [set(_NAME.findall(p)) for p in parts]
    for width in range(1, len(parts) + 1):
        spans = [(len(set().union(*named[i:i + width])), i) for i in range(len(parts) - width + 1)
                 if {a, b} <= set().union(*named[i:i + width])]
        if spans:
            _, i = min(spans)
            end = i + width
            if end < len(parts) and not parts[end].lstrip().startswith("[") and width == 1:
                end += 1
            return " ".join(parts[i:end])
    return ""


def story_edges(row: dict[str, str], k: int, index: int) -> list[ChainEdge]:
    """The chain edges of one CLUTRR row, each with the text that states it.

    >>> row = {"story": "[Kenneth] took his favorite son [Kevin]. [Ann] is [Kevin]'s mother.",
    ...        "genders": "Kevin:male,Kenneth:male,Ann:female", "story_edges": "[(0, 1), (0, 2)]",
    ...        "edge_types": "['son', 'mother']"}
    >>> [(e.relation, e.template) for e in story_edges(row, 2, 0)]
    [('son', '[B] took his favorite son [A].'), ('mother', "[B] is [A]'s mother.")]
    """
    people = [g.split(":")[0].strip() for g in row["genders"].split(",") if g.strip()]
    parts = segments(row["story"])
    out = []
    for (i, j), relation in zip(ast.literal_eval(row["story_edges"]), ast.literal_eval(row["edge_types"])):
        relation = relation.replace("-", "_")
        text = _stating_text(parts, people[i], people[j])
        template = template_of(text, people[i], people[j]) if text else "(the story does not name both)"
        out.append(ChainEdge(k, index, i, j, relation, text, template))
    return out


def edges_by_story(data_dir: str | Path, ks=TEST_KS) -> dict[int, list[tuple[dict[str, str], list[ChainEdge]]]]:
    """Per k, per test story (file order): its row and its chain edges.

    Raises:
        ConfigError: a test file is missing.
    """
    out = {}
    for k in ks:
        path = Path(data_dir) / TEST_FILE.format(k=k)
        if not path.is_file():
            raise ConfigError(f"CLUTRR test file not found (resolved: {path.resolve()})", file=str(path),
                              hint="pass the CLUTRR folder with --data-dir")
        with path.open(newline="") as f:
            rows = list(csv.DictReader(f))
        out[k] = [(row, story_edges(row, k, i)) for i, row in enumerate(rows)]
    return out


@dataclass
class AuditRow:
    """One (template, relation) group of the audit file; see the module's docstring for the columns."""

    id: str
    edges: int
    relation: str
    verdict: str
    states: str
    status: str
    selected: str
    misread: str
    note: str
    template: str


def read_audit(path: str | Path) -> dict[str, AuditRow]:
    """The audit file's rows by id, verdicts checked.

    Raises:
        ConfigError: a verdict is not one of :data:`VERDICTS`, or ``other`` lacks the kind it states.
    """
    path = Path(path)
    if not path.is_file():
        return {}
    rows = {}
    with path.open(newline="") as f:
        for line, rec in enumerate(csv.DictReader(f, delimiter="\t"), start=2):
            row = AuditRow(**{c: rec.get(c) or "" for c in _COLUMNS if c != "edges"}, edges=int(rec["edges"]))
            if row.verdict and row.verdict not in VERDICTS:
                raise ConfigError(f"unknown verdict {row.verdict!r}", file=str(path), line=line,
                                  hint=f"one of {', '.join(VERDICTS)}, or empty when not read")
            if row.verdict == "other" and row.states not in KINDS:
                raise ConfigError(f"verdict 'other' states {row.states!r}, not a kind of relation", file=str(path),
                                  line=line, hint=f"name what B is to A by the text: one of {', '.join(KINDS)}")
            rows[row.id] = row
    return rows


def write_audit(path: str | Path, rows: list[AuditRow]) -> None:
    """Write the rows, most used first (then by template), so that the file is the same for the same data."""
    rows = sorted(rows, key=lambda r: (-r.edges, r.template, r.relation))
    with Path(path).open("w", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow(_COLUMNS)
        for r in rows:
            w.writerow([getattr(r, c) for c in _COLUMNS])


def text_edges(edges: list[ChainEdge], genders: list[str], audit: dict[str, AuditRow]) -> list[tuple[int, str, int]]:
    """The story's graph as its sentences state it: each edge replaced by what its template's verdict says.

    ``graph`` and unread templates keep the edge; ``inverse`` states A as B's r-kind (gendered by A);
    ``other`` states B as A's ``states`` kind (gendered by B); ``none`` drops the edge.

    >>> e = ChainEdge(2, 0, 0, 1, "son", "", "[B] took his son [A].")
    >>> text_edges([e], ["male", "male"], {e.key: AuditRow(e.key, 1, "son", "inverse", "", "read", "", "", "", "")})
    [(1, 'son', 0)]
    """
    out = []
    for e in edges:
        row = audit.get(e.key)
        verdict = row.verdict if row is not None and row.verdict else "graph"
        if verdict == "graph":
            out.append((e.a, e.relation, e.b))
        elif verdict == "inverse":
            out.append((e.b, KINDS[kind_of(e.relation)][genders[e.a] != "male"], e.a))
        elif verdict == "other":
            out.append((e.a, KINDS[row.states][genders[e.b] != "male"], e.b))
    return out


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default).

    >>> [round(x, 3) for x in wilson(0, 100)]
    [0.0, 0.037]
    """
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def model_readings(config: str, ckpt_path: str, data_dir: str | Path, ks=TEST_KS, overrides=()) -> dict:
    """One pass of a trained model over the test stories: how it reads each chain edge, what it answers.

    Returns ``{"edges": {"k/row/a/b": p}, "stories": {"k/row": correct}}``: ``p`` is the extractor's
    probability of NOT reading the edge as its kind, from the candidate pair (a, b) or (b, a),
    whichever the config's data module cuts (1.0 when the edge is no candidate pair: it cannot
    be read); ``correct`` whether the model's answer (as ``greybox test`` decodes it) is the label.
    """
    import torch

    from greybox.training.explain import load_task
    from tasks.kinship.data import collate_stories, parse_story

    torch.set_num_threads(1)
    task, dm = load_task(config, ckpt_path, list(overrides))
    task.eval()
    classes = tuple(task.reasoner.networks["relation_net"].classes)
    edges_out: dict[str, float] = {}
    stories_out: dict[str, bool] = {}
    for k, items in edges_by_story(data_dir, ks).items():
        for lo in range(0, len(items), 32):
            part = items[lo:lo + 32]
            parsed = [parse_story(row["story"], tuple(ast.literal_eval(row["query"])), row["target"], row["genders"],
                                  k=k, **dm.reading) for row, _ in part]
            batch = collate_stories(parsed)
            with torch.no_grad():
                read = task.reasoner.perceive(task._net_inputs(batch))["relation_net"]  # args (N, 2), probs (N, C)
                codes, _ = task.predict_answers(batch)  # (B, 1)
            probs = {}
            for (sample, item), p in zip(read.args.tolist(), read.probs.tolist()):
                if item < len(parsed[sample].pairs):
                    pair = parsed[sample].pairs[item]
                    probs[(sample, pair.first, pair.second)] = p
            for sample, (_, edges) in enumerate(part):
                stories_out[f"{k}/{lo + sample}"] = bool(codes[sample, 0] == batch["label"][sample])
                for e in edges:
                    kind = kind_of(e.relation)
                    if (sample, e.a, e.b) in probs:
                        p = probs[(sample, e.a, e.b)][classes.index(kind)]
                    elif (sample, e.b, e.a) in probs:
                        p = probs[(sample, e.b, e.a)][classes.index(inverse_kind(kind))]
                    else:
                        p = 0.0
                    edges_out[f"{k}/{e.row}/{e.a}/{e.b}"] = round(1.0 - p, 6)
        print(f"k = {k}: {sum(stories_out[f'{k}/{i}'] for i in range(len(items))) / len(items):.3f}",
              file=sys.stderr, flush=True)
    return {"config": str(config), "ckpt_path": str(ckpt_path), "edges": edges_out, "stories": stories_out}


def readings(args) -> int:
    out = model_readings(args.config, args.ckpt_path, args.data_dir, args.ks)
    Path(args.out).write_text(json.dumps(out, indent=0, sort_keys=True))
    print(f"{len(out['edges'])} chain edges, {len(out['stories'])} stories -> {args.out}")
    return 0


def build(args) -> int:
    stories = edges_by_story(args.data_dir, args.ks)
    groups: dict[str, list[ChainEdge]] = defaultdict(list)
    for items in stories.values():
        for _, edges in items:
            for e in edges:
                groups[e.key].append(e)
    old = read_audit(args.audit)
    misread = json.loads(Path(args.readings).read_text())["edges"] if args.readings else None
    rows = []
    for key, edges in groups.items():
        prev = old.get(key)
        if misread is not None:
            bad = sum(misread.get(f"{e.k}/{e.row}/{e.a}/{e.b}", 0.0) > 0.9 for e in edges)  # edges it did not read: 0
            count = f"{bad}/{len(edges)}"
        else:
            count = prev.misread if prev else ""
        why = []
        if len(edges) >= args.min_edges:
            why.append("frequent")
        if count and int(count.split("/")[0]) > 0:
            why.append("misread")
        rows.append(AuditRow(key, len(edges), edges[0].relation, prev.verdict if prev else "",
                             prev.states if prev else "", "read" if why else "not read", ",".join(why), count,
                             prev.note if prev else "", edges[0].template))
    # a template that is a read one followed by sentences that name neither A nor B (a full stop
    # lost between two sentences) says what that one says
    carried = {key for key, r in old.items() if "same sentence" in r.selected}
    sources = sorted((r for r in rows if r.verdict and r.id not in carried), key=lambda r: -len(r.template))
    for r in rows:
        if r.verdict and r.id not in carried:
            continue
        for src in sources:
            rest = r.template[len(src.template):]
            if (src.relation == r.relation and r.template.startswith(src.template + " ")
                    and "[A]" not in rest and "[B]" not in rest):
                r.verdict, r.states, r.note = src.verdict, src.states, src.note
                r.status, r.selected = "read", ",".join([*filter(None, [r.selected]), f"same sentence as {src.id}"])
                break
    for r in rows:  # read beyond the selection: in an earlier draw of the sample (of templates since cut
        if r.verdict and r.status == "not read":  # otherwise), or after the sample, from the rest
            before = old[r.id].selected if r.id in old else ""
            r.status, r.selected = "read", before if before in ("earlier sample", "rest") else "rest"
    # the sample: a seeded shuffle of the ids of the templates used by fewer than --min-edges test
    # edges, its first --sample; drawn from the data alone, so a model's readings do not move it
    rare = sorted(r.id for r in rows if r.edges < args.min_edges)
    random.Random(args.seed).shuffle(rare)
    sampled = set(rare[:args.sample])
    for r in rows:
        if r.id in sampled:
            r.status, r.selected = "sampled", ",".join(["sample"] + ([r.selected] if r.selected and r.selected != "earlier sample" else []))
    write_audit(args.audit, rows)
    print(f"{len(rows)} templates, {sum(r.edges for r in rows)} chain edges -> {args.audit}")
    return summary(args)


def sample_estimate(rows) -> tuple[int, int, float, float]:
    """``(misstated, read, low, high)`` of the sample: how many of its read templates say something
    else than the graph, and the 95% Wilson interval of that share. The sample is uniform over the
    rarely used templates, and the templates not read are among them.

    >>> sample_estimate([AuditRow("a", 1, "son", "graph", "", "sampled", "", "", "", ""),
    ...                  AuditRow("b", 1, "son", "none", "", "sampled", "", "", "", "")])[:2]
    (1, 2)
    """
    sample = [r for r in rows if r.status == "sampled" and r.verdict]
    bad = sum(r.verdict != "graph" for r in sample)
    return (bad, len(sample), *wilson(bad, len(sample)))


def summary(args) -> int:
    rows = list(read_audit(args.audit).values())
    print("| status | templates | edges | verdict read | graph | inverse | other | none |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for status in ("read", "sampled", "not read"):
        part = [r for r in rows if r.status == status]
        done = [r for r in part if r.verdict]
        counts = [f"{sum(r.verdict == v for r in done)} ({sum(r.edges for r in done if r.verdict == v)} edges)"
                  for v in VERDICTS]
        print(f"| {status} | {len(part)} | {sum(r.edges for r in part)} | {len(done)} | {' | '.join(counts)} |")
    bad, n, lo, hi = sample_estimate(rows)
    unread = [r for r in rows if not r.verdict]
    n_edges = sum(r.edges for r in unread)
    print(f"sample: {bad} of {n} templates misstated ({bad / max(1, n):.3f}; "
          f"95% Wilson interval {lo:.3f}-{hi:.3f}); {len(unread)} templates not read, {n_edges} chain edges: "
          f"~{bad / max(1, n) * n_edges:.0f} of them misstated, at most ~{hi * n_edges:.0f} at the interval's top")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["readings", "build", "summary"])
    parser.add_argument("--data-dir", default=str(ROOT / DATA_DIR))
    parser.add_argument("--audit", default=str(ROOT / AUDIT_FILE))
    parser.add_argument("--config", default=str(ROOT / "experiments/kinship/clutrr.yaml"))
    parser.add_argument("--ckpt_path", default=None, help="readings: the trained model")
    parser.add_argument("--out", default="readings.json", help="readings: where to write them")
    parser.add_argument("--readings", default=None, help="build: a model's readings; mark the templates it misreads")
    parser.add_argument("--min-edges", type=int, default=3, help="read every template used by this many test edges")
    parser.add_argument("--sample", type=int, default=200, help="templates sampled from the rarely used ones")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ks", type=int, nargs="+", default=list(TEST_KS), help="the test files 1.k_test.csv")
    args = parser.parse_args(argv)
    return {"readings": readings, "build": build, "summary": summary}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
