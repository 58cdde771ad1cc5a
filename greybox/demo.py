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


def main(argv: list[str] | None = None) -> int:
    """``python -m greybox.demo ["?- query."]``: run the demo; returns the exit status."""
    from greybox.errors import GreyboxError

    args = sys.argv[1:] if argv is None else argv
    try:
        kinship_demo(*args[:1])
    except GreyboxError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
