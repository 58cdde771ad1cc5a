"""A small demonstration: kinship rules, a family with uncertain facts, an answer with its proof.

Run it with ``python -m greybox.demo``. It loads ``knowledge/kinship.dl`` together
with a few facts about one family (some of them uncertain, as if read from text by
a neural network), asks who Alice's aunt is, and prints every answer with its
probability and the derivation of each of its best proofs.

Example:
    >>> text = kinship_demo(print_output=False)
    >>> print(text.splitlines()[0])
    ?- aunt(alice, Who).
    >>> "p = 0.862" in text  # two proofs: 1 - (1 - 0.7) * (1 - 0.9 * 0.6)
    True
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["kinship_demo", "KINSHIP_RULES", "FAMILY_FACTS", "main"]

#: The kinship rule base shipped with greybox.
KINSHIP_RULES = Path(__file__).resolve().parents[1] / "knowledge" / "kinship.dl"

#: A family, some facts uncertain (as if read from text by a network): Bob is Alice's
#: father; Carl is probably Bob's father; Erin is probably Bob's sister, and probably
#: Carl's daughter (which would make her Bob's sister too).
FAMILY_FACTS = """\
% r(X, Y): Y is the r of X
father(alice, bob).
0.9 :: father(bob, carl).
0.7 :: sister(bob, erin).
0.6 :: daughter(carl, erin).
female(alice).
"""


def kinship_demo(query: str = "?- aunt(alice, Who).", *, print_output: bool = True) -> str:
    """Answer ``query`` over the kinship rules and ``FAMILY_FACTS``, with proof trees.

    Args:
        query: the query to answer.
        print_output: print the text as well as returning it.

    Returns:
        The answers and their proofs, as printed.

    Raises:
        GreyboxError: the query does not parse or uses an unknown relation.
    """
    from greybox.kb.knowledge_base import KnowledgeBase, Origin
    from greybox.lang.parser import parse_program
    from greybox.query_cli import answer_query, format_text

    relative = os.path.relpath(KINSHIP_RULES)  # shorter file names in the proof trees
    rules = KnowledgeBase.load(KINSHIP_RULES if relative.startswith("..") else relative)
    family = parse_program(FAMILY_FACTS, file="family.dl")
    origins = [Origin("fact", "family.dl", s.span.line) for s in family.statements]
    kb = KnowledgeBase(rules.program + family, rules.origins + tuple(origins), rules.graph,
                       files=rules.files + ("family.dl",), sources={**rules.sources, "family.dl": FAMILY_FACTS})
    text = format_text(answer_query(kb, query, k=2, proofs=True), proofs=True)
    if print_output:
        print(text)
    return text


def digit_demo(*, epochs: int = 10) -> int:
    """Train ``experiments/digit_sum/sum2_digits.yaml`` briefly, test it, and explain a mistake.

    Only the sums are labelled; the network learns to read digits through the rules.
    Returns the index of the explained test example.
    """
    import shutil
    import time
    from pathlib import Path

    import torch

    from greybox.training.cli import lightning_main
    from greybox.training.explain import example_batch, load_task, main as explain_main

    root = Path(__file__).resolve().parents[1]
    config = str(root / "experiments/digit_sum/sum2_digits.yaml")
    out = root / "runs/demo"
    common = ["--config", config, f"--trainer.default_root_dir={out}", "--trainer.logger=false",
              "--trainer.enable_model_summary=false"]
    print(f"== training on sums of two digits ({epochs} epochs; digit labels are never used) ==", flush=True)
    started = time.monotonic()
    # the demo's own folder: a checkpoint left by an earlier run would be tested instead of this one
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    callbacks = ('--trainer.callbacks=[{"class_path": "pytorch_lightning.callbacks.ModelCheckpoint", '
                 f'"init_args": {{"dirpath": "{out}/checkpoints", "save_last": true, "enable_version_counter": false}}}}]')
    status = lightning_main(["fit", *common, f"--trainer.max_epochs={epochs}", callbacks])
    if status:
        return -1
    print(f"trained in {time.monotonic() - started:.0f} s", flush=True)
    ckpt = str(out / "checkpoints/last.ckpt")
    print("== test set ==", flush=True)
    lightning_main(["test", *common, f"--ckpt_path={ckpt}"])
    # explain the first test example the model gets wrong (or the first one)
    task, dm = load_task(config, ckpt, [])
    index = 0
    with torch.no_grad():
        for i in range(200):
            example, n = example_batch(dm, "test", i)
            codes, _ = task.predict_answers(example)
            if int(codes[0, 0]) != int(example["label"][0]):
                index = i
                break
    print(f"== why the model answered as it did on test example {index} ==", flush=True)
    explain_main(["--config", config, "--ckpt_path", ckpt, "--index", str(index)])
    return index


def main(argv: list[str] | None = None) -> int:
    """``python -m greybox.demo`` trains and explains; ``python -m greybox.demo kinship ["?- query."]`` queries rules."""
    from greybox.errors import GreyboxError

    args = sys.argv[1:] if argv is None else argv
    try:
        if args[:1] == ["kinship"]:
            kinship_demo(*args[1:2])
        else:
            return 0 if digit_demo() >= 0 else 2
    except GreyboxError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
