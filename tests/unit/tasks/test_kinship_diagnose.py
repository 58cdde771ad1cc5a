"""The chain edges and pair relations that ``experiments/bench/kinship_diagnose.py`` scores a reader against."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tasks.kinship.data import kind_of, parse_story

ROOT = Path(__file__).resolve().parents[3]


def _diagnose():
    spec = importlib.util.spec_from_file_location("kinship_diagnose", ROOT / "experiments/bench/kinship_diagnose.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ROW = {  # a CLUTRR row: C is A's grandson because B is A's son and C is B's son
    "story": "[Bob] is the son of [Ann]. [Bob]'s son [Cid] came too.",
    "proof_state": "[{('Ann', 'grandson', 'Cid'): [('Ann', 'son', 'Bob'), ('Bob', 'son', 'Cid')]}]",
}


def test_chain_edges_are_the_leaves_of_the_proof() -> None:
    assert _diagnose().chain_edges(ROW) == {("Ann", "Bob"): "son", ("Bob", "Cid"): "son"}
    nested = {"proof_state": "[{('A', 'aunt', 'D'): [('A', 'father', 'B'), ('B', 'sister', 'D')]}, "
                             "{('A', 'father', 'B'): [('A', 'sister', 'C'), ('C', 'father', 'B')]}]"}
    # a derived edge (A father B) is proved by deeper leaves, so it is not a leaf itself
    assert _diagnose().chain_edges(nested) == {("B", "D"): "sister", ("A", "C"): "sister", ("C", "B"): "father"}


def test_pair_relation_reads_a_reversed_pair_as_the_inverse_for_its_gender() -> None:
    diagnose = _diagnose()
    story = parse_story(ROW["story"], ("Ann", "Cid"), "grandson", "Ann:female,Bob:male,Cid:male", one_direction=True)
    edges = diagnose.chain_edges(ROW)
    found = {(story.people[p.first], story.people[p.second]): diagnose.pair_relation(edges, story, p)
             for p in story.pairs}
    # (Bob, Ann) is named first: what Ann is to Bob is the inverse of "Bob is Ann's son", for a woman
    assert found == {("Bob", "Ann"): ("reverse", "mother"), ("Bob", "Cid"): ("forward", "son")}
    assert kind_of(found[("Bob", "Ann")][1]) == "parent"
