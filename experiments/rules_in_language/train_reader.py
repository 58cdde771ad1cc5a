"""Train and measure the text reader (``greybox.neural.reader.TextReader``) on RuleTaker / ProofWriter.

Two routes, each named in the output:

* ``lexicon`` (answers alone): one lexicon of roles for the whole training corpus
  (``greybox.neural.lexicon_search``: word classes, words and contexts) is searched so that the
  exact evaluator answers the training questions right; its tags on every training sentence
  of a theory it answers right in full then train the head.
* ``gold`` (a variant, not from answers): hard EM on the gold logical forms of the NatLang
  meta-dev theories of the training part (even numeric ids; the odd ones are only measured).

``--init`` starts from a saved head (``--route gold --gold-rounds 0 --init HEAD`` measures it).
The per-theory answer search of earlier versions was removed: it reached 0.596 on depth-5 dev
(``experiments/RESULTS.md``).

Measures: exact logical form per sentence on the held-out NatLang synthetic texts; answer
accuracy per depth on depth-5 dev (closed world) and on the held-out ProofWriter theories
(open world); training time; sentences per second at inference.

    nice -n 10 python experiments/rules_in_language/train_reader.py --route lexicon --out runs/reader/lexicon
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter, defaultdict
from pathlib import Path

import torch

from greybox.errors import ContradictionError, StratificationError
from greybox.neural.logical_forms import Literal, Reading
from greybox.neural.lexicon_search import Lexicon, LexiconCorpus, teach_reader
from greybox.neural.reader import TextReader
from greybox.neural.reader_search import Question, Theory, align_gold, fit_tags, same_reading
from greybox.neural.reader_tags import split_words
from greybox.neural.reading_eval import answer, entails

DATA = Path("../shared/data")
TRAIN_FILES = ["depth-0/dev.jsonl", "depth-1/dev.jsonl", "depth-1/test.jsonl", "depth-2/dev.jsonl", "depth-2/test.jsonl",
               "depth-3/dev.jsonl", "depth-3/test.jsonl"]
_SENT = re.compile(r"(?<=[.!?])\s+")
_TRIPLE = re.compile(r'\("([^"]*)" "([^"]*)" "([^"]*)" "([+-])"\)')


def sentences_of(context: str) -> list[str]:
    return [s for s in _SENT.split(context.strip()) if s]


def load_ruletaker(path: Path) -> list[Theory]:
    out = []
    with open(path, encoding="utf-8-sig") as f:
        for line in f:
            d = json.loads(line)
            qs = [Question(q["text"], bool(q["label"]), q["meta"].get("QDep")) for q in d["questions"]]
            out.append(Theory(d["id"], sentences_of(d["context"]), qs))
    return out


def load_proofwriter(path: Path) -> list[Theory]:
    """Questions grouped by theory (the id before ``_Q``); the statement is the question's last sentence."""
    by: dict[str, Theory] = {}
    for d in json.load(open(path)):
        tid = d["id"].rsplit("_Q", 1)[0]
        text = d["question"].split("?", 1)[-1].strip()
        label = {"A": True, "B": False, "C": None}[d["answer"]]
        th = by.setdefault(tid, Theory(tid, sentences_of(d["context"]), []))
        th.questions.append(Question(text, label))
    return list(by.values())


def _term(t: str) -> str:
    return "X" if t.lower() in ("someone", "something") else "_".join(t.lower().split())


def _gold_literal(s: str, r: str, o: str, pol: str) -> Literal:
    if r == "is":
        return Literal(o.lower(), (_term(s),), pol == "-")
    rel = r.lower()[:-1] if r.lower().endswith("s") else r.lower()
    return Literal(rel, (_term(s), _term(o)), pol == "-")


def gold_reading(rep: str) -> Reading:
    if "->" in rep:
        body, head = rep.split("->")
        return Reading(_gold_literal(*_TRIPLE.findall(head)[0]), tuple(_gold_literal(*t) for t in _TRIPLE.findall(body)))
    return Reading(_gold_literal(*_TRIPLE.findall(rep)[0]))


def load_natlang_gold() -> tuple[list[tuple[str, Reading]], list[tuple[str, Reading]], list[str], list[str]]:
    """(text, gold) pairs of the training part (even numeric id) and the held-out part (odd), and their ids."""
    train, held, train_ids, held_ids = [], [], [], []
    with open(DATA / "ruletaker/NatLang/meta-dev.jsonl", encoding="utf-8-sig") as f:
        for line in f:
            d = json.loads(line)
            part, ids = (train, train_ids) if int(d["id"].rsplit("-", 1)[1]) % 2 == 0 else (held, held_ids)
            ids.append(d["id"])
            for item in (*d["triples"].values(), *d["rules"].values()):
                part.append((item["text"], gold_reading(item["representation"])))
            for q in d["questions"].values():
                part.append((q["question"], gold_reading(q["representation"])))
    return train, held, train_ids, held_ids


def distinct(pairs):
    seen = {}
    for t, g in pairs:
        seen.setdefault(t, g)
    return list(seen.items())


def train_gold(reader: TextReader, pairs, rounds: int, log) -> dict:
    """Hard EM on gold logical forms; returns the aligned tags of the last round (words -> tags)."""
    texts = [t for t, _ in pairs]
    golds = [g for _, g in pairs]
    for r in range(rounds):
        tags = align_gold(reader, texts, golds)
        found = [(split_words(t), tg) for t, tg in zip(texts, tags) if tg is not None]
        loss = fit_tags(reader, [w for w, _ in found], [tg for _, tg in found], epochs=4, seed=r) if found else float("nan")
        log(f"gold round {r}: aligned {len(found)}/{len(texts)} sentences, loss {loss:.3f}")
        if len(found) == len(texts):
            break
    return {tuple(w): tg for w, tg in found}


def lexicon_accuracy(lexicon: Lexicon, theories: list[Theory], world: str, lemmatizer) -> dict:
    """Answer accuracy with the lexicon itself as the reader (words it never saw take the role ``O``)."""
    corpus = LexiconCorpus(theories, [world] * len(theories), lexicon, lemmatizer)
    return {"all": round(sum(corpus.score(t)[0] for t in range(len(theories))) / max(corpus.sizes[0], 1), 4),
            "n": corpus.sizes[0]}


def reader_accuracy(reader: TextReader, pairs) -> float:
    texts = [t for t, _ in pairs]
    read = reader.read(texts)
    ok = sum(same_reading(r[0] if r else None, g) for r, (_, g) in zip(read, pairs))
    return ok / max(len(pairs), 1)


def renamed_reader_accuracy(reader: TextReader, pairs) -> float:
    """Exact logical form up to one renaming of names for all sentences (a reader trained from
    answers names "the cat" ``the_cat`` where the gold form says ``cat``): each predicted name is
    mapped to the gold name it stands in for most often, then the forms are compared."""
    read = [r[0] if r else None for r in reader.read([t for t, _ in pairs])]
    votes: dict[str, Counter] = defaultdict(Counter)

    def names(r: Reading) -> list[str]:
        return [x for lit in (r.head, *r.body) for x in (lit.predicate, *lit.arguments)]

    for r, (_, g) in zip(read, pairs):
        if r is not None and len(names(r)) == len(names(g)):
            for a, b in zip(names(r), names(g)):
                votes[a][b] += 1
    rename = {a: c.most_common(1)[0][0] for a, c in votes.items()}

    def renamed(r: Reading) -> Reading:
        lit = lambda x: Literal(rename.get(x.predicate, x.predicate), tuple(rename.get(a, a) for a in x.arguments), x.negated)  # noqa: E731
        return Reading(lit(r.head), tuple(lit(b) for b in r.body))

    ok = sum(r is not None and same_reading(renamed(r), g) for r, (_, g) in zip(read, pairs))
    return ok / max(len(pairs), 1)


def answer_accuracy(reader: TextReader, theories: list[Theory], world: str) -> tuple[dict, float]:
    """Accuracy per depth (closed world) or per label (open world) with the top reading of every sentence."""
    hits: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    n_sent, t0 = 0, time.time()
    for th in theories:
        texts = th.sentences + [q.text for q in th.questions]
        read = reader.read(texts)
        n_sent += len(texts)
        theory = [r[0] for r in read[:len(th.sentences)] if r]
        try:
            derived = entails(theory, world)
        except StratificationError:
            derived = None
        for q, r in zip(th.questions, read[len(th.sentences):]):
            pred = "unreadable"
            if r and derived is not None:
                try:
                    pred = answer(derived, r[0].head, world)
                except ContradictionError:
                    pred = "contradiction"
            key = f"depth{q.depth}" if world == "closed" else f"label_{q.label}"
            for kk in (key, "all"):
                hits[kk][0] += pred == q.label
                hits[kk][1] += 1
    secs = time.time() - t0
    return {k: round(v[0] / v[1], 4) for k, v in sorted(hits.items())} | {"n": hits["all"][1]}, n_sent / secs


def open_run(folder: str):
    """The run folder (created) and a function that prints a timed line and appends it to its ``log.txt``."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    log_file = open(out / "log.txt", "w")

    def log(msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, flush=True)
        log_file.write(line + "\n")
        log_file.flush()

    return out, log


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--route", choices=["lexicon", "gold"], required=True)
    ap.add_argument("--search-theories", type=int, default=150, help="lexicon: theories of each world the lexicon is searched on")
    ap.add_argument("--max-targets", type=int, default=12000, help="lexicon: sentences the head is fitted on")
    ap.add_argument("--restarts", type=int, default=160, help="lexicon: random starts, each climbing the word classes")
    ap.add_argument("--finalists", type=int, default=8, help="lexicon: best starts that then climb every level")
    ap.add_argument("--screen", type=int, default=40, help="lexicon: theories each start is screened on")
    ap.add_argument("--out", default="runs/reader/model")
    ap.add_argument("--gold-rounds", type=int, default=8, help="gold: rounds of hard EM on the gold forms")
    ap.add_argument("--eval-theories", type=int, default=0, help="depth-5 dev and ProofWriter theories measured (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", default="", help="start from this saved head (reader_head.pt)")
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    out, log = open_run(args.out)
    reader = TextReader(k=4)
    reader.words.encoder.requires_grad_(False)
    reader.eval()
    theories = [t for f in TRAIN_FILES for t in load_ruletaker(DATA / "ruletaker" / f)]
    gold_train, gold_held, train_ids, held_ids = load_natlang_gold()
    reader.lemmatizer.fit(s for th in theories for s in th.sentences + [q.text for q in th.questions])
    log(f"route {args.route}: {len(theories)} training theories (depth 0-3); NatLang gold: train part {len(train_ids)} "
        f"theories (even ids), held-out {len(held_ids)} (odd ids)")
    t0 = time.time()
    if args.init:
        reader.load_head(args.init)
        log(f"started from {args.init}")
    pw_all = load_proofwriter(DATA / "proofwriter/train.json")
    pw = [t for t in pw_all if int(t.id.rsplit("-", 1)[1]) % 5 == 0]
    d5 = load_ruletaker(DATA / "ruletaker/depth-5/dev.jsonl")
    if args.route == "lexicon":
        pw_train = [t for t in pw_all if int(t.id.rsplit("-", 1)[1]) % 5 != 0]
        lexicon = teach_reader(reader, theories + pw_train, ["closed"] * len(theories) + ["open"] * len(pw_train),
                               search_theories=args.search_theories, restarts=args.restarts, finalists=args.finalists,
                               screen=args.screen, max_targets=args.max_targets, seed=args.seed, log=log)
        json.dump(lexicon.to_json(), open(out / "lexicon.json", "w"))
        log(f"the lexicon as the reader: depth-5 dev {lexicon_accuracy(lexicon, d5, 'closed', reader.lemmatizer)}, "
            f"ProofWriter held-out {lexicon_accuracy(lexicon, pw, 'open', reader.lemmatizer)}")
    elif args.gold_rounds:
        train_gold(reader, distinct(gold_train), rounds=args.gold_rounds, log=log)
    train_s = time.time() - t0
    log(f"training time {train_s:.0f}s")
    reader.save_head(out / "reader_head.pt")
    log(f"saved {out / 'reader_head.pt'}")
    acc = reader_accuracy(reader, distinct(gold_held))
    log(f"reader accuracy (exact logical form), held-out NatLang synthetic texts: {acc:.4f} ({len(distinct(gold_held))} sentences)")
    renamed = renamed_reader_accuracy(reader, distinct(gold_held))
    log(f"reader accuracy (exact logical form up to one renaming of names), held-out NatLang synthetic texts: {renamed:.4f}")
    if args.eval_theories:
        d5 = d5[: args.eval_theories]
    res, sps = answer_accuracy(reader, d5, "closed")
    log(f"depth-5 dev answer accuracy (closed world): {res}; {sps:.0f} sentences/s at inference")
    if args.eval_theories:
        pw = pw[: args.eval_theories]
    res, sps = answer_accuracy(reader, pw, "open")
    log(f"ProofWriter held-out theories (numeric id % 5 == 0, {len(pw)} theories) answer accuracy (open world): {res}")
    json.dump({"train_s": train_s, "natlang_reader_acc": acc, "natlang_reader_acc_renamed": renamed}, open(out / "summary.json", "w"))


if __name__ == "__main__":
    main()
