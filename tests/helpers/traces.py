"""Realistic sample traces for the trace tests.

``digit_sum_trace()``: two handwritten digits, a 3 and a 4 (label 7); the net misread
the 4 as a 5, so the prediction is 8 (wrong) and image 1 is the culprit. The
numbers are consistent: P(8) = 0.91 * 0.62, P(7) = 0.91 * 0.30 + 0.05 * 0.62, ...

``kinship_trace()``: a three-sentence story; the relation of Ann to Dan is derived
through a 3-link chain son -> daughter -> brother (right), using a knowledge-graph
fact and a negation.
"""

from __future__ import annotations

from greybox.trace.render_html import png_data_uri
from greybox.trace.schema import (
    Alternative,
    Attribution,
    DecisionTrace,
    InputSource,
    KGSource,
    NeuralSource,
    PerceivedInput,
    ProgramSource,
    Proof,
    ProofNode,
    TraceBatch,
)
from greybox.trace.why_not import LeafFact, why_not

__all__ = ["digit_sum_trace", "kinship_trace", "sample_batch", "DIGIT_GLYPHS", "DIGIT_RULE", "digit_image"]

# 8x8 glyphs, '#' ink, '+' half ink, '.' paper
DIGIT_GLYPHS = {
    3: ["..####..", ".#+..##.", "......#.", "...###..", ".....+#.", "......#.", ".#+..##.", "..####.."],
    4: ["....##..", "...+##..", "..#.##..", ".#..##..", "########", "....##..", "....##..", "....##.."],
}

DIGITS_FILE = "knowledge/digits.dl"
DIGIT_RULE = ProgramSource(file=DIGITS_FILE, line=4, text="addition(X, Y, Z) :- digit(X, N1), digit(Y, N2), Z is N1 + N2.")


def digit_image(digit: int) -> str:
    """A PNG data URI of a small hand-drawn digit (dark ink on white)."""
    level = {"#": 0.05, "+": 0.55, ".": 1.0}
    return png_data_uri([[level[c] for c in row] for row in DIGIT_GLYPHS[digit]])


def _reading(sample: int, image: int, cls: int, p: float, fact_id: int) -> tuple[ProofNode, LeafFact]:
    src = NeuralSource(predicate="digit", model="digit_net", sample=sample, input_index=image,
                       input_label=f"image {image}", cls=cls, probability=p)
    atom = f"digit(img{image}, {cls})"
    return ProofNode(atom=atom, probability=p, source=src, fact_id=fact_id), LeafFact(fact_id, atom, p, source=src)


def digit_sum_trace(index: int = 17) -> DecisionTrace:
    """3 + 4 = 7, but image 1 (the 4) was read as 5 (p=0.62): predicted 8, wrong."""
    # fact ids: image 0 readings 0..9, image 1 readings 10..19 (one AD group per image)
    d0_3, l0_3 = _reading(index, 0, 3, 0.91, 3)
    _, l0_2 = _reading(index, 0, 2, 0.05, 2)
    d1_5, l1_5 = _reading(index, 1, 5, 0.62, 15)
    _, l1_4 = _reading(index, 1, 4, 0.30, 14)
    p8 = 0.91 * 0.62
    p7 = 0.91 * 0.30 + 0.05 * 0.62
    root = ProofNode(atom="addition(img0, img1, 8)", probability=p8, rule=DIGIT_RULE, children=[d0_3, d1_5])
    wn = why_not("7", [[l0_3, l1_4], [l0_2, l1_5]], winner_probability=p8)
    return DecisionTrace(
        task="digit_sum", split="test", index=index,
        query="addition(img0, img1, S)", predicted="8", probability=p8, correct=False, label="7",
        alternatives=[Alternative(answer="7", probability=p7),
                      Alternative(answer="12", probability=0.91 * 0.08),
                      Alternative(answer="13", probability=0.04 * 0.62)],
        proofs=[Proof(probability=p8, root=root)],
        attributions=[
            Attribution(fact_id=3, atom=d0_3.atom, probability=0.91, gradient=0.62, source=d0_3.source),
            Attribution(fact_id=15, atom=d1_5.atom, probability=0.62, gradient=0.91, source=d1_5.source),
            Attribution(fact_id=14, atom=l1_4.atom, probability=0.30, gradient=-0.12, source=l1_4.source),
        ],
        inputs=[
            PerceivedInput(index=0, kind="image", data_uri=digit_image(3), true_label="3", read_as="3", probability=0.91),
            PerceivedInput(index=1, kind="image", data_uri=digit_image(4), true_label="4", read_as="5", probability=0.62),
        ],
        rules_used=[DIGIT_RULE],
        why_not=wn,
        culprit_inputs=[1],
    )


KINSHIP_FILE = "knowledge/kinship.dl"
STORY = [
    "[Ann] took her son [Bob] to the park on Sunday.",
    "[Bob] and his daughter [Cid] baked a cake together.",
    "[Cid] called her brother [Dan] to ask about the game.",
]


def kinship_trace(index: int = 3) -> DecisionTrace:
    """Ann -son-> Bob -daughter-> Cid -brother-> Dan, so Dan is Ann's grandson (right)."""
    rules = {
        "relation": ProgramSource(file=KINSHIP_FILE, line=41,
                                  text="relation(X, Z, grandson) :- grandchild(X, Z), male(Z)."),
        "grandchild": ProgramSource(file=KINSHIP_FILE, line=33,
                                    text="grandchild(X, Z) :- child(X, Y), child(Y, Z)."),
        "child_son": ProgramSource(file=KINSHIP_FILE, line=12, text="child(X, Y) :- son(X, Y)."),
        "child_sib": ProgramSource(
            file=KINSHIP_FILE, line=20,
            text="child(X, Z) :- daughter(X, Y), brother(Y, Z), \\+ half_sibling(Y, Z)."),
    }

    def read(sentence: int, rel: str, a: str, b: str, p: float, fact_id: int) -> ProofNode:
        src = NeuralSource(predicate="says", model="relation_net", sample=index, input_index=sentence,
                           input_label=f"sentence {sentence}", cls=rel, probability=p)
        return ProofNode(atom=f"{rel}({a}, {b})", probability=p, source=src, fact_id=fact_id)

    son = read(0, "son", "ann", "bob", 0.95, 0)
    daughter = read(1, "daughter", "bob", "cid", 0.93, 5)
    brother = read(2, "brother", "cid", "dan", 0.88, 11)
    half = ProofNode(atom="half_sibling(cid, dan)", probability=1.0, negated=True)
    male = ProofNode(atom="male(dan)", probability=1.0, fact_id=30, source=KGSource(file="knowledge/people.csv", row=4))
    person = ProofNode(atom="person(ann)", probability=1.0, fact_id=40,
                       source=InputSource(description="entity [Ann] of the story"))
    p = 0.95 * 0.93 * 0.88
    child_ab = ProofNode(atom="child(ann, bob)", probability=0.95, rule=rules["child_son"], children=[son])
    child_bd = ProofNode(atom="child(bob, dan)", probability=0.93 * 0.88, rule=rules["child_sib"],
                         children=[daughter, brother, half])
    grand = ProofNode(atom="grandchild(ann, dan)", probability=p, rule=rules["grandchild"], children=[child_ab, child_bd])
    root = ProofNode(atom="relation(ann, dan, grandson)", probability=p, rule=rules["relation"],
                     children=[grand, male, person])
    truths = [("son", 0.95), ("daughter", 0.93), ("brother", 0.88)]
    return DecisionTrace(
        task="clutrr_kinship", split="test", index=index,
        query="relation(ann, dan, R)", predicted="grandson", probability=p, correct=True, label="grandson",
        alternatives=[Alternative(answer="nephew", probability=0.081), Alternative(answer="son", probability=0.034)],
        proofs=[Proof(probability=p, root=root)],
        attributions=[
            Attribution(fact_id=n.fact_id, atom=n.atom, probability=n.probability, gradient=p / n.probability,
                        source=n.source)
            for n in (son, daughter, brother)
        ],
        inputs=[PerceivedInput(index=i, kind="text", text=s, read_as=truths[i][0], true_label=truths[i][0],
                               probability=truths[i][1]) for i, s in enumerate(STORY)],
        rules_used=[rules["relation"], rules["grandchild"], rules["child_son"], rules["child_sib"]],
    )


def sample_batch() -> TraceBatch:
    """The kinship trace (right) first, then the digit-sum trace (wrong)."""
    return TraceBatch(traces=[kinship_trace(), digit_sum_trace()])
