"""Proofs read as chains of named constants (``greybox.trace.chain``)."""

from __future__ import annotations

from greybox.engine.proof_tree import ProofNode as Node
from greybox.lang.parser import parse_program
from greybox.trace.chain import proof_chain
from greybox.trace.describe import ExampleDescription, Namer
from greybox.trace.schema import NeuralSource, ProofNode

PEOPLE = ("Ann", "Bob", "Cid", "Dan")
TYPES = {r: ("person", "person") for r in ("father", "son", "grandfather", "great", "knows")}
NAMER = Namer({**TYPES, "read": ("int", "rel"), "male": ("person",)}, ExampleDescription(names={"person": PEOPLE}))
RULE = parse_program("great(X, W) :- father(X, Y), father(Y, Z), father(Z, W).", file="k.dl").statements[0]


def _leaf(node: Node) -> ProofNode:
    src = NeuralSource(predicate="read", model="net", sample=0, input_index=node.fact_id, cls="father", probability=0.9)
    return ProofNode(atom=f"read({node.fact_id})", probability=0.9, fact_id=node.fact_id, source=src)


def test_a_composition_of_three_becomes_three_links_in_path_order() -> None:
    reads = [Node("read", (i, "father"), "fact", i) for i in range(3)]
    links = [Node("father", (1, 2), "rule", children=(reads[1],)),
             Node("father", (0, 1), "rule", children=(reads[0],)),
             Node("father", (2, 3), "rule", children=(reads[2],))]
    root = Node("great", (0, 3), "rule", clause=RULE, children=tuple(links))
    chain = proof_chain(root, NAMER, _leaf)
    assert chain.path() == "Ann --father--> Bob --father--> Cid --father--> Dan"
    assert (chain.conclusion, chain.rule.location) == ("great(Ann, Dan)", "k.dl:1")
    assert [[r.fact_id for r in link.readings] for link in chain.links] == [[0], [1], [2]]


def test_an_inverse_is_its_reading_walked_backwards() -> None:
    read = Node("read", (0, "son"), "fact", 0)
    son = Node("son", (1, 0), "rule", children=(read,))
    father = Node("father", (0, 1), "rule", children=(son, Node("male", (1,), "fact", 5)))
    chain = proof_chain(father, NAMER, lambda n: _leaf(n) if n.fact_id == 0 else None)
    # father(Ann, Bob) because son(Bob, Ann) and Bob is a man: the son reading, from Ann back to Bob
    assert (chain.path(), chain.conclusion) == ("Ann <--son-- Bob", "father(Ann, Bob)")
    link = chain.links[0]
    assert (link.atom, link.reverse, [r.fact_id for r in link.readings]) == ("son(Bob, Ann)", True, [0])


def test_atoms_that_do_not_form_a_path_are_not_split() -> None:
    # knows(Ann, Dan) from father(Ann, Bob) and father(Cid, Dan): no path from Ann to Dan
    parts = (Node("father", (0, 1), "fact", 0), Node("father", (2, 3), "fact", 1))
    chain = proof_chain(Node("knows", (0, 3), "rule", children=parts), NAMER, _leaf)
    assert chain.path() == "Ann --knows--> Dan"
    assert [r.fact_id for r in chain.links[0].readings] == [0, 1]


def test_no_chain_without_names() -> None:
    root = Node("father", (0, 1), "fact", 0)
    assert proof_chain(root, Namer(TYPES), _leaf) is None
    assert proof_chain(root, NAMER, _leaf).path() == "Ann --father--> Bob"
