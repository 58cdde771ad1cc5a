"""The reasoning ceiling: questions answered from the gold logical forms of a ``meta-*.jsonl`` file.

    python experiments/rules_in_language/gold_ceiling.py ../shared/data/ruletaker/NatLang/dev.jsonl
    python experiments/rules_in_language/gold_ceiling.py ../shared/data/ruletaker/depth-5/dev.jsonl --reader templates
    python experiments/rules_in_language/gold_ceiling.py ../shared/data/proofwriter/train.json --reader templates
    python experiments/rules_in_language/gold_ceiling.py "../shared/data/ruletaker/NatLang/dev.jsonl#test" --proofs --reader-weights HEAD

``--reader-weights HEAD`` reads with a trained ``TextReader`` (``--proofs``: its proofs against the
gold ones). ``--reader templates`` reads the synthetic sentences with the hand-written template double of
the tests (``tests/helpers/rule_templates.py``), for files without a meta file; it measures
the reasoning, not a reader. ProofWriter files (``.json``) are answered in the open world.
``FILE#train`` / ``FILE#test`` reads the half of the file's theories the data module's split of the same name holds
(``NatLang/dev#test``: the paraphrased theories a reader trained on ``NatLang/dev#train`` never saw).

Reads every theory's sentences as their gold forms (``GoldReader``), builds the program
(``theory_program``), answers every question with the reference evaluator (``solve``) and
prints the accuracy per depth, the proof accuracy against the meta file's gold proofs
(``proof_accuracy``) and the questions per second.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from greybox.neural.reading_program import theory_program  # noqa: E402
from tasks.rules_in_language.files import ANSWERS, read_questions  # noqa: E402
from tasks.rules_in_language.gold import GoldReader  # noqa: E402
from tasks.rules_in_language.reasoning import solve  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", help="NAME.jsonl (or NAME.jsonl#train / #test: a half by theory); meta-NAME.jsonl beside it")
    ap.add_argument("--limit", type=int, default=None, help="theories to read (default: all)")
    ap.add_argument("--show-wrong", type=int, default=3)
    ap.add_argument("--reader", choices=("gold", "templates"), default="gold")
    ap.add_argument("--proofs", action="store_true",
                    help="proof accuracy against the meta file's gold proofs (the gold reader, or --reader-weights)")
    ap.add_argument("--reader-weights", default=None,
                    help="read with a trained TextReader (its saved head, reader_head.pt) instead: answers and proofs")
    args = ap.parse_args(argv)
    name, _, part = args.file.partition("#")
    path = Path(name)
    gold = None
    if args.reader == "gold" or args.reader_weights:
        reader = gold = GoldReader([str(path.with_name(f"meta-{path.name}"))])
    if args.reader_weights:
        from greybox.neural.reader import TextReader

        reader = TextReader(k=4, weights=args.reader_weights).eval()
    elif args.reader != "gold":
        from tests.helpers.rule_templates import TemplateReader

        reader = TemplateReader()
    questions = read_questions(path, limit=args.limit)
    if part:  # the data module's halves of NAME#train / NAME#test (its default seed)
        from tasks.rules_in_language.data import theory_half

        questions = theory_half(questions, part, seed=0, split=args.file)
    theory_ids = {q.theory_id for q in questions}
    world = "open" if path.suffix == ".json" else "closed"
    right, total = Counter(), Counter()
    shown = 0
    started = time.perf_counter()
    programs: dict = {}  # one program per theory: its questions share it
    for q in questions:
        program = programs.get(q.sentences)
        if program is None:
            program = programs[q.sentences] = theory_program(q.sentences, reader.read(list(q.sentences)),
                                                             world=world, weights="none")
        (question,) = reader.read([q.question])[0] or [None]
        answer = solve(program, question)
        ok = answer.verdict == ANSWERS[q.label]
        group = q.depth if q.depth is not None else ANSWERS[q.label]
        right[group] += ok
        total[group] += 1
        if not ok and shown < args.show_wrong:
            shown += 1
            print(f"WRONG {q.id}: {q.question} gold={q.label} got={answer.verdict} undefined={program.undefined}", file=sys.stderr)
    seconds = time.perf_counter() - started
    n = sum(total.values())
    print(f"accuracy {sum(right.values()) / n:.4f} ({sum(right.values())}/{n}); "
          f"{n / seconds:.0f} questions/s ({seconds:.1f} s)")
    for d in sorted(total, key=str):
        print(f"  {'depth ' if isinstance(d, int) else ''}{d}: {right[d] / total[d]:.4f} ({right[d]}/{total[d]})")
    if args.proofs and gold is not None:
        proof_accuracy(gold, args.limit, reader=None if reader is gold else reader, theory_ids=theory_ids,
                       show_wrong=args.show_wrong)
    return 0


def proof_accuracy(gold, limit=None, reader=None, theory_ids=None, show_wrong: int = 0) -> None:
    """Of the questions with a gold proof (strategy proof / inv-proof): the share whose best proof cites exactly
    the sentences of one of the gold proofs, and the share for which one of the top 3 does; also the first
    share among the questions the reader answers right.

    ``reader`` (default: the gold forms) reads the theory's sentences and the question; ``theory_ids``: only these;
    ``show_wrong``: questions answered right whose best proof is not a gold one, printed (to stderr)."""
    import re

    from greybox.neural.logical_forms import Literal
    from tasks.rules_in_language.explain import sentence_proofs
    from tasks.rules_in_language.reasoning import question_atom

    first = any3 = n = right = first_right = 0
    started = time.perf_counter()
    for theory in gold.theories[:limit]:
        if theory_ids is not None and theory.id not in theory_ids:
            continue
        readings = [list(r) for r in theory.readings] if reader is None else reader.read(list(theory.sentences))
        program = theory_program(theory.sentences, readings, weights="none")
        where = {name: s + 1 for s, names in enumerate(theory.names) for name in names}
        for text, reading, answer, proofs in theory.questions.values():
            if "CWA" in proofs or not proofs.strip("[]"):
                continue
            if reader is not None:
                (reading,) = reader.read([text])[0] or [None]
                if reading is None:  # the question is not read: no proof
                    n += 1
                    continue
            gold_proofs = [{where[m] for m in re.findall(r"(?:triple|rule)\d+", alt)} for alt in proofs.split(" OR ")]
            positive = Literal(reading.head.predicate, reading.head.arguments)
            found = sentence_proofs(program, theory.sentences, question_atom(positive, program), None, k=3)
            n += 1
            best = bool(found) and set(found[0].sentences) in gold_proofs
            first += best
            any3 += any(set(p.sentences) in gold_proofs for p in found)
            if solve(program, reading).verdict == ("true" if answer else "false"):
                right += 1
                first_right += best
                if not best and show_wrong > 0:
                    show_wrong -= 1
                    cited = sorted(found[0].sentences) if found else []
                    print(f"PROOF {theory.id}: {text} cites {cited}, gold {[sorted(g) for g in gold_proofs]}; "
                          f"{' | '.join(f'[s{i}] {theory.sentences[i - 1]} -> {[str(r) for r in readings[i - 1]]}' for i in cited)}",
                          file=sys.stderr)
    seconds = time.perf_counter() - started
    print(f"proof accuracy (best proof's sentences = a gold proof's): {first / n:.4f} ({first}/{n}); "
          f"one of the top 3: {any3 / n:.4f} ({any3}/{n}); of the questions answered right: "
          f"{first_right / max(right, 1):.4f} ({first_right}/{right}); {seconds:.1f} s")


if __name__ == "__main__":
    raise SystemExit(main())
