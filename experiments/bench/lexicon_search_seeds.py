"""How reliably the lexicon search of a config finds the reading: the search alone, several seeds.

    OMP_NUM_THREADS=1 .venv/bin/python experiments/bench/lexicon_search_seeds.py \\
        --config experiments/rules_in_language/ruletaker.yaml --seeds 0 1 2

``greybox fit`` on the RuleTaker and ProofWriter configs starts with
``tasks.rules_in_language.teach.ReadFromAnswers``: a randomised search for one lexicon of
roles that answers the training questions right (``greybox.neural.lexicon_search``). This
runs that search, with the config's own arguments and training split, once per seed (no
network is trained), and prints per seed: the wall time, the training theories the lexicon
answers right in full (every question right, every sentence read), and the lexicon used as
the reader on RuleTaker's depth-5 dev (closed world; depths never trained on).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from greybox.neural.lexicon_search import LexiconCorpus, learn_lexicon  # noqa: E402
from greybox.neural.reader_tags import Lemmatizer  # noqa: E402
from tasks.rules_in_language.data import ProofWriterDataModule, RuleTakerDataModule  # noqa: E402
from tasks.rules_in_language.files import read_questions  # noqa: E402
from tasks.rules_in_language.teach import ReadFromAnswers, theories_of  # noqa: E402


def _training_theories(config: dict) -> tuple[list, list[str], ReadFromAnswers]:
    """The config's training theories and worlds, as its ``ReadFromAnswers`` sees them, and that callback."""
    teach = ReadFromAnswers(**next(c["init_args"] for c in config["trainer"]["callbacks"]
                                   if c["class_path"].endswith("ReadFromAnswers")))
    data = config["data"]
    module = {"RuleTakerDataModule": RuleTakerDataModule, "ProofWriterDataModule": ProofWriterDataModule}[
        data["class_path"].rsplit(".", 1)[1]]
    theories, worlds = teach.training_theories(module(**data["init_args"]), config["model"]["init_args"]["world"])
    return theories, worlds, teach


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--depth5", default=str(ROOT / "../shared/data/ruletaker/depth-5/dev.jsonl"))
    args = ap.parse_args()
    config = yaml.safe_load(Path(args.config).read_text())
    theories, worlds, teach = _training_theories(config)
    search = {k: getattr(teach, k) for k in ("search_theories", "restarts", "finalists", "screen", "pairs", "kicks",
                                             "polish")}
    lemmatizer = Lemmatizer()
    lemmatizer.fit(s for th in theories for s in th.sentences + [q.text for q in th.questions])
    depth5 = theories_of(read_questions(args.depth5))
    print(f"{args.config}: {len(theories)} training theories; search {search}", flush=True)
    print("| seed | wall | training theories answered in full | depth-5 dev, the lexicon as the reader |")
    print("| --- | --- | --- | --- |", flush=True)
    for seed in args.seeds:
        t0 = time.time()
        lexicon, corpus = learn_lexicon(theories, worlds, lemmatizer, seed=seed, **search)  # as the fit's search
        wall = time.time() - t0
        solved = sum(corpus.solved(t) for t in range(len(corpus.theories)))
        test = LexiconCorpus(depth5, ["closed"] * len(depth5), lexicon, lemmatizer)
        right = sum(test.score(t)[0] for t in range(len(depth5)))
        print(f"| {seed} | {wall / 60:.1f} min | {solved} / {len(theories)} | {right / test.sizes[0]:.4f} "
              f"({right} / {test.sizes[0]}) |", flush=True)


if __name__ == "__main__":
    main()
