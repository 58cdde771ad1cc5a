"""Decision traces of a kinship story, with people, answers and pairs named by the data's description.

The story and the fixed extractor are in ``tests/helpers/kinship_traces.py``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import torch

from greybox.errors import ConfigError
from greybox.trace.describe import ExampleDescription, InputDescription
from greybox.trace.render_dot import render_dot
from greybox.trace.render_html import render_html
from greybox.trace.render_text import render_text
from greybox.trace.schema import DecisionTrace, NeuralSource, validate_trace_json
from greybox.training.traces import build_trace
from tasks.kinship.data import NONE, RELATIONS, collate_stories
from tasks.kinship.describe import describe_story
from tests.helpers.kinship_traces import GLUE, KINSHIP, READ, STORY, kinship_task, named_kinship_trace


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(text))


def _pair_index(first: str, second: str) -> int:
    return next(i for i, p in enumerate(STORY.pairs)
                if (STORY.people[p.first], STORY.people[p.second]) == (first, second))


@pytest.fixture(scope="module")
def trace() -> DecisionTrace:
    return named_kinship_trace(index=12, why_not="daughter")


def test_trace_carries_the_story_and_the_question(trace: DecisionTrace) -> None:
    assert [(p.number, p.text) for p in trace.passages] == [
        (1, "Michael is the proud father of the lovely Donald."), (2, "Donald loves pizza."),
        (3, "Dorothy's brother Michael and her went to get ice cream.")]
    assert (trace.question, trace.subset, trace.index) == ("what is Dorothy to Donald?", "k=3", 12)
    assert isinstance(validate_trace_json(trace.model_dump_json()), DecisionTrace)


def test_answers_are_named(trace: DecisionTrace) -> None:
    assert (trace.predicted, trace.label, trace.correct) == ("aunt", "aunt", True)
    assert trace.probability == pytest.approx(0.9 * 0.8, abs=1e-6)
    assert [(a.answer, round(a.probability, 6)) for a in trace.alternatives] == [("daughter", round(0.05 * 0.8, 6))]


def test_readings_name_the_pair_and_the_window_they_were_read_from(trace: DecisionTrace) -> None:
    stated = [(i.index, i.statement, i.passages, round(i.probability, 6)) for i in trace.inputs if i.statement]
    assert stated == [(_pair_index("Donald", "Michael"), "father(Donald, Michael)", [1, 2], 0.9),
                      (_pair_index("Dorothy", "Michael"), "brother(Dorothy, Michael)", [2, 3], 0.8)]
    quiet = [i for i in trace.inputs if i.statement is None]
    assert len(quiet) == len(STORY.pairs) - 2 and {i.read_as for i in quiet} == {NONE}
    brother = trace.input(_pair_index("Dorothy", "Michael"))
    assert (brother.kind, brother.label) == ("text", "pair (Dorothy, Michael)")
    assert brother.text == "Donald loves pizza. Dorothy's brother Michael and her went to get ice cream."


def test_the_proof_reads_as_a_chain_of_people_with_the_sentences_of_each_link(trace: DecisionTrace) -> None:
    assert len(trace.proofs) == 1 and not trace.notes  # the only proof of aunt, found exactly
    chain = trace.proofs[0].chain
    assert chain is not None
    assert chain.path() == "Donald --father--> Michael <--brother-- Dorothy"
    assert chain.conclusion == "aunt(Donald, Dorothy)"
    assert chain.rule.file.endswith("knowledge/kinship.dl")
    assert chain.rule.line == _line_of(KINSHIP, "aunt(X, Z) :- father(X, Y), sister(Y, Z).")
    father, brother = chain.links
    assert (father.atom, father.reverse, father.rule.line) == \
        ("father(Donald, Michael)", False, _line_of(READ, "father(A, B) :- extracted(P, father)"))
    # Michael's sister is Dorothy because Dorothy's brother is Michael: the reading, walked backwards
    assert (brother.start, brother.end, brother.atom, brother.reverse, brother.rule.line) == \
        ("Michael", "Dorothy", "brother(Dorothy, Michael)", True, _line_of(READ, "brother(A, B) :- extracted(P, brother)"))
    readings = [(r.atom, r.source.input_label, r.source.cls, round(r.probability, 6)) for link in chain.links for r in link.readings]
    assert readings == [
        (f"extracted({_pair_index('Donald', 'Michael')}, father)", "pair (Donald, Michael) in [1-2]", "father", 0.9),
        (f"extracted({_pair_index('Dorothy', 'Michael')}, brother)", "pair (Dorothy, Michael) in [2-3]", "brother", 0.8),
    ]
    # the sister atom the composition used is in the derivation tree, with the inverse rule
    sister = next(n for n in trace.proofs[0].root.walk() if n.atom == "sister(Michael, Dorothy)")
    assert sister.rule.line == _line_of(KINSHIP, "sister(Y, X) :- brother(X, Y), female(X).")


def test_the_derivation_tree_shows_people_by_name(trace: DecisionTrace) -> None:
    root = trace.proofs[0].root
    assert root.atom == "answer(aunt)"
    assert root.rule.line == _line_of(GLUE, "answer(13) :-")
    atoms = [n.atom for n in root.walk()]
    assert {"query_person(0, Donald)", "query_person(1, Dorothy)", "aunt(Donald, Dorothy)", "female(Dorothy)",
            "person_gender(Dorothy, 0)", "brother(Dorothy, Michael)"} <= set(atoms)
    person_atoms = [a for a in atoms if re.match(r"(father|sister|brother|aunt|pair_first|pair_second)\(", a)]
    assert person_atoms and not [a for a in person_atoms if re.search(r", \d+\)$", a)]  # no numbered person


def test_why_not_is_asked_by_name_and_names_the_pair(trace: DecisionTrace) -> None:
    wn = trace.why_not
    assert wn is not None and wn.target == "daughter" and wn.achievable
    change = wn.changes[0]
    assert change.atom == f"extracted({_pair_index('Donald', 'Michael')}, son)"
    assert isinstance(change.source, NeuralSource) and change.source.input_label == "pair (Donald, Michael) in [1-2]"


def test_a_wrong_answer_blames_the_pair_read_differently() -> None:
    example = collate_stories([STORY])
    example["label"] = torch.tensor([RELATIONS.index("daughter")])
    trace = build_trace(kinship_task(), example, task_name="kinship", split="test", index=0,
                        description=describe_story(STORY))
    assert (trace.predicted, trace.label, trace.correct) == ("aunt", "daughter", False)
    assert trace.culprit_inputs == [_pair_index("Donald", "Michael")]  # father in the best proof of aunt, son in daughter's


def test_text_shows_sentences_readings_and_the_chain(trace: DecisionTrace) -> None:
    text = render_text(trace, plain=True, trees=False)
    rule = f"{KINSHIP}:{_line_of(KINSHIP, 'aunt(X, Z)')}"
    for expected in [
        "kinship test #12 (k=3)  query: answer(R)",
        "question: what is Dorothy to Donald?",
        "predicted: aunt  p=0.720  right",
        "[1] Michael is the proud father of the lovely Donald.",
        "[3] Dorothy's brother Michael and her went to get ice cream.",
        f"father(Donald, Michael)  p=0.900  from [1-2]  (input {_pair_index('Donald', 'Michael')})",
        f"{len(STORY.pairs) - 2} more read as: none x{len(STORY.pairs) - 2}",
        f"Donald --father--> Michael <--brother-- Dorothy  =>  aunt(Donald, Dorothy)  p=0.720  [rule {rule}]",
        "<- relation_net read pair (Dorothy, Michael) in [2-3] as brother (p=0.800)",
        "why not daughter?  achievable",
    ]:
        assert expected in text, expected
    assert "answer(aunt)" not in text  # the derivation tree is drawn only when asked
    assert "answer(aunt)  p=0.720" in render_text(trace, plain=True, trees=True)


def test_dot_and_html_carry_the_story_and_the_chain(trace: DecisionTrace) -> None:
    dot = render_dot(trace)
    assert "[1] Michael is the proud father of the lovely Donald.\\l" in dot
    assert "Donald --father--> Michael <--brother-- Dorothy  =>  aunt(Donald, Dorothy)" in dot
    assert "what is Dorothy to Donald?" in dot
    page = render_html([trace])
    data = json.loads(re.search(r'id="trace-data">(.*?)</script>', page, re.S).group(1))
    assert data["traces"][0]["proofs"][0]["chain"]["links"][1]["atom"] == "brother(Dorothy, Michael)"
    assert data["traces"][0]["passages"][2]["number"] == 3


def test_without_a_description_people_stay_numbered() -> None:
    trace = build_trace(kinship_task(), collate_stories([STORY]), task_name="kinship", split="test", index=0)
    assert (trace.predicted, trace.question, trace.passages) == (str(RELATIONS.index("aunt")), None, [])
    assert trace.proofs[0].chain is None
    donald, dorothy = STORY.query
    atoms = {n.atom for n in trace.proofs[0].root.walk()}
    assert f"aunt({donald}, {dorothy})" in atoms and f"query_person(0, {donald})" in atoms


def test_a_description_must_number_passages_it_has() -> None:
    with pytest.raises(ConfigError, match=r"input 0 of 'pairs' names passages \[3\], but the example has 2 passage"):
        ExampleDescription(passages=("a.", "b."), inputs={"pairs": (InputDescription("x", passages=(1, 3)),)})
