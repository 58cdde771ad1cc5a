"""How the lexicon search's starts end: the class climb alone, then every level, on one RuleTaker screen.

    OMP_NUM_THREADS=1 .venv/bin/python experiments/bench/lexicon_search_starts.py --starts 240 --climb 30

The search of ``greybox.neural.lexicon_search`` ranks random starts by a cheap climb of the
word classes alone and climbs every level only from the best. This measures whether that
ranking holds: on the screen of 40 RuleTaker training theories that
``experiments/rules_in_language/train_reader.py`` draws (seed 0), ``--starts`` random starts
each climb the word classes (their value: answers right + 0.3 x sentences read, and the
time), and the ``--climb`` best of them then climb every level; a start "solves" the screen
when it answers and reads all of it. No network runs here.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "experiments/rules_in_language"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from greybox.neural.lexicon_search import Lexicon, LexiconCorpus, _climb, _climb_levels, _keys, word_classes  # noqa: E402
from greybox.neural.reader_tags import TAGS, Lemmatizer, split_words  # noqa: E402
from train_reader import DATA, TRAIN_FILES, load_ruletaker  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--starts", type=int, default=240)
    ap.add_argument("--climb", type=int, default=30, help="the best starts that then climb every level")
    ap.add_argument("--screen", type=int, default=40)
    args = ap.parse_args()
    theories = [t for f in TRAIN_FILES for t in load_ruletaker(DATA / "ruletaker" / f)]
    texts = sorted({s for th in theories for s in th.sentences + [q.text for q in th.questions]})
    lemmatizer = Lemmatizer()
    lemmatizer.fit(texts)
    classes = {w: f"c{i}" for i, ws in enumerate(word_classes([split_words(t) for t in texts])) for w in ws}
    sample = random.Random(0).sample(random.Random(0).sample(range(len(theories)), 150), args.screen)
    lexicon = Lexicon(dict(classes))
    corpus = LexiconCorpus([theories[i] for i in sample], ["closed"] * len(sample), lexicon, lemmatizer)
    keys = _keys(corpus)
    value = lambda total: total[0] + 0.3 * total[1]  # noqa: E731 - the search's read_weight
    starts = []
    for seed in range(args.starts):
        rng = random.Random(seed)
        for _ in range(100):  # as the search: a start that reads under a fifth of the sentences is drawn again
            lexicon.roles = {k: rng.randrange(len(TAGS)) for k in keys["classes"]}
            if sum(corpus.score(t)[1] for t in range(len(corpus.theories))) >= 0.2 * corpus.sizes[1]:
                break
        t0 = time.perf_counter()
        scores = [corpus.score(t) for t in range(len(corpus.theories))]
        _climb(corpus, keys["classes"], scores, rng, 0.3, passes=8, optional=False)
        total = (sum(s[0] for s in scores), sum(s[1] for s in scores))
        starts.append((value(total), seed, total, time.perf_counter() - t0, dict(lexicon.roles)))
    starts.sort(key=lambda s: (-s[0], s[1]))
    print(f"screen: {corpus.sizes[0]} questions, {corpus.sizes[1]} sentences; {args.starts} class climbs, "
          f"{sum(s[3] for s in starts) / len(starts):.1f} s each; top value {starts[0][0]:.1f} reached by "
          f"{sum(s[0] == starts[0][0] for s in starts)}")
    print("| rank | seed | class climb (answers, read) | every level (answers, read) | solves the screen | s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for rank, (_, seed, total, _, roles) in enumerate(starts[: args.climb]):
        lexicon.roles = dict(roles)
        rng = random.Random(seed + 10 ** 6)
        t0 = time.perf_counter()
        for _ in range(2):
            full = _climb_levels(corpus, keys, rng, 0.3, pairs=False)
        print(f"| {rank} | {seed} | {total} | {full} | {full == corpus.sizes} | {time.perf_counter() - t0:.1f} |",
              flush=True)


if __name__ == "__main__":
    main()
