"""Teach a trained text reader NatLang's crowd paraphrases: from the answers alone, or from the gold forms (a variant).

NatLang dev is the only paraphrased text there is. Its theories are split in two halves by the
data module (``NatLang/dev#train``, ``NatLang/dev#test``, seeded); this script reads only the
training half's sentences and their gold forms (``meta-dev.jsonl``), so ``greybox test ...
--data.init_args.test_split "NatLang/dev#test"`` measures the reader on paraphrases it never saw.
Two sources of targets (``--targets``):

* ``answers``: the True / False labels of the training half's questions, nothing else:
  :func:`greybox.neural.phrasing_search.teach_phrasings` (one reading structure per sentence
  template, chosen on the answers of every theory that uses it), what ``greybox fit --config
  experiments/rules_in_language/ruletaker.yaml`` runs too (``ReadFromAnswers(phrasing_splits=...)``).
* ``gold`` (a variant, not from answers): per sentence, what the meta file says it states: a
  rule, or the facts about the entity it names (several at once: "Gary is feeling blue because he
  thinks he has been too nice to people ..." states ``blue(gary)`` and ``nice(gary)``), or a
  pronoun's facts ("He is rough, but nice."), which the reader gives to whom the sentence just
  before states facts of. A sentence whose form names a word the sentence does not use
  ("downhearted" for ``blue``) cannot be spelled by tags and is left out. Each round finds, within
  the exact beam and the roles the gold form allows each word, the most probable tag sequence that
  spells it.

The tagging head is then fitted on the targets together with the starting reader's own tags on
RuleTaker training sentences (so that it keeps reading the synthetic language). Either way the
reader is measured, never trained, against the held-out half's gold forms (and the training
half's, for the answers).

    python experiments/rules_in_language/train_paraphrase_reader.py --init CKPT --targets answers --out runs/reader/paraphrase
    greybox test --config experiments/rules_in_language/ruletaker.yaml \\
        --model.init_args.reader.init_args.weights runs/reader/paraphrase/reader_head.pt \\
        --data.init_args.test_split "NatLang/dev#test"
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import torch

from greybox.neural.items import ItemLists
from greybox.neural.logical_forms import Literal, Reading
from greybox.neural.reader import TextReader
from greybox.neural.reader_search import align_gold, fit_tags, same_reading
from greybox.neural.phrasing_search import teach_phrasings
from greybox.neural.reader_tags import VARIABLE, split_words
from tasks.rules_in_language.data import RuleTakerDataModule
from tasks.rules_in_language.gold import GoldTheory, read_meta
from tasks.rules_in_language.teach import theories_of
from train_reader import open_run  # the folder's own scripts


def sentence_target(sentence: str, forms: tuple[Reading, ...]) -> tuple[Reading, Reading] | None:
    """``(target, allowed-from)``: what the sentence states and the form whose names the tags may use.

    ``allowed-from`` differs from ``target`` only for a pronoun's facts: ``rough(X)`` for "He is rough.",
    whose target is the meta file's ``rough(charlie)``. ``None``: nothing stated, or more than a rule.
    """
    if not forms:
        return None
    if any(f.body for f in forms):
        return (forms[0], forms[0]) if len(forms) == 1 else None
    facts = [f.head for f in forms]
    target = Reading(facts[0], also=tuple(facts[1:]))
    words = {w.lower() for w in split_words(sentence)}
    subjects = {a for f in facts for a in f.arguments}
    if all(set(s.split("_")) <= words for s in subjects):
        return target, target
    if len(subjects) == 1 and all(len(f.arguments) == 1 for f in facts):  # a pronoun's facts
        open_facts = [Literal(f.predicate, (VARIABLE,), f.negated) for f in facts]
        return target, Reading(open_facts[0], also=tuple(open_facts[1:]))
    return None


def targets(theories: list[GoldTheory]) -> list[list[tuple[str, tuple[Reading, Reading] | None]]]:
    """Per theory, per sentence: the sentence and its target (see :func:`sentence_target`)."""
    return [[(s, sentence_target(s, forms)) for s, forms in zip(th.sentences, th.readings)] for th in theories]


def read_theories(reader: TextReader, texts: list[list[str]], k: int | None = None):
    """The reader's output on whole theories (a pronoun takes whom the sentence before it is about)."""
    with torch.no_grad():
        return reader(ItemLists(texts), k=k)


def align(reader: TextReader, data, k: int) -> list[tuple[list[str], tuple[str, ...]]]:
    """The most probable tag sequence (within the beam and the allowed roles) that spells each target."""
    found = []
    for theory in data:  # read whole: a pronoun's facts need the sentence before
        texts = [s for s, _ in theory]
        tags = align_gold(reader, texts, [t and t[0] for _, t in theory], k, roles=[t and t[1] for _, t in theory])
        found += [(split_words(s), tg) for s, tg in zip(texts, tags) if tg is not None]
    return found


def accuracy(reader: TextReader, data) -> tuple[int, int]:
    """(sentences whose top reading is their target, sentences with a target), theories read whole."""
    right = total = 0
    for theory in data:
        out = read_theories(reader, [[s for s, _ in theory]], k=1)
        for i, (_, t) in enumerate(theory):
            if t is not None:
                total += 1
                right += bool(out.readings[i]) and same_reading(out.readings[i][0], t[0])
    return right, total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--init", required=True, help="the reader to start from: a checkpoint greybox fit wrote, or a reader_head.pt")
    ap.add_argument("--targets", choices=("answers", "gold"), required=True,
                    help="answers: the training half's labels alone; gold: its gold logical forms (a variant)")
    ap.add_argument("--out", default="runs/reader/paraphrase")
    ap.add_argument("--data-dir", default="../shared/data/ruletaker")
    ap.add_argument("--rounds", type=int, default=4, help="gold: rounds of hard EM")
    ap.add_argument("--epochs", type=int, default=4, help="epochs of the tag fit per round")
    ap.add_argument("--beam", type=int, default=1024, help="gold: tag sequences searched per sentence for its target")
    ap.add_argument("--alternatives", type=int, default=32, help="answers: candidate readings per sentence")
    ap.add_argument("--keep", type=int, default=6000, help="RuleTaker training sentences the reader's own tags keep")
    ap.add_argument("--repeat", type=int, default=3, help="times each paraphrase target is seen per epoch")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    out, log = open_run(args.out)
    t0 = time.time()
    reader = TextReader(k=4, weights=args.init)
    reader.words.requires_grad_(False)
    reader.eval()
    dm = RuleTakerDataModule(data_dir=args.data_dir)
    train_ids = {q.theory_id for q in dm.read("NatLang/dev#train")}
    test_ids = {q.theory_id for q in dm.read("NatLang/dev#test")}
    meta = read_meta(Path(args.data_dir) / "NatLang/meta-dev.jsonl")
    train = targets([th for th in meta if th.id in train_ids])
    held = targets([th for th in meta if th.id in test_ids])
    n_train = sum(t is not None for th in train for _, t in th)
    log(f"NatLang dev#train: {len(train)} theories, {n_train} of {sum(len(th) for th in train)} sentences with a target; "
        f"dev#test: {len(held)} theories (measured only)")
    synthetic = sorted({s for split in dm.train_splits for q in dm.read(split) for s in (*q.sentences, q.question)})
    log(f"before: NatLang dev#train sentences read as their target {accuracy(reader, train)}, "
        f"dev#test {accuracy(reader, held)}")
    if args.targets == "answers":
        asked = theories_of(dm.read("NatLang/dev#train"))
        teach_phrasings(reader, asked, ["closed"] * len(asked), synthetic, alternatives=args.alternatives,
                        epochs=args.epochs, repeat=args.repeat, keep=args.keep, seed=args.seed, log=log)
    else:
        rng = random.Random(args.seed)
        own = read_theories(reader, [[s] for s in rng.sample(synthetic, min(args.keep, len(synthetic)))], k=1)
        keep = [(w, t[0]) for w, t in zip(own.words, own.tags) if t]
        for r in range(args.rounds):
            found = align(reader, train, args.beam)
            pairs = found * args.repeat + keep
            loss = fit_tags(reader, [w for w, _ in pairs], [t for _, t in pairs], epochs=args.epochs, seed=args.seed + r)
            log(f"round {r}: aligned {len(found)}/{n_train} paraphrased sentences, loss {loss:.4f}")
    right_train, right_held = accuracy(reader, train), accuracy(reader, held)
    log(f"read as their gold form: dev#train {right_train}, dev#test {right_held}")
    summary = {"train_read": right_train, "test_read": right_held}
    reader.save_head(out / "reader_head.pt")
    summary["train_s"] = round(time.time() - t0)
    json.dump(summary, open(out / "summary.json", "w"))
    log(f"saved {out / 'reader_head.pt'} ({summary['train_s']} s)")


if __name__ == "__main__":
    main()
