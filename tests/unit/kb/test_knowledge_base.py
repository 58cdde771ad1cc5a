"""KnowledgeBase.load: rule files, knowledge-graph files, origins, the graph, check()."""

from __future__ import annotations

from pathlib import Path

import pytest

from greybox.errors import ConfigError, ParseError, UnknownRelationError, UnsafeRuleError
from greybox.kb.knowledge_base import KnowledgeBase, Origin, parse_rules_collecting
from greybox.lang.ast import Atom, Clause, Const, Probability


@pytest.fixture
def family(tmp_path: Path) -> dict[str, Path]:
    rules = tmp_path / "rules.dl"
    rules.write_text(
        "% grandparents\n"
        "parent(X, Y) :- father(X, Y).\n"
        "grandparent(X, Z) :- parent(X, Y), parent(Y, Z).\n"
        "father(zed, ann).\n"
    )
    kg = tmp_path / "family.tsv"
    kg.write_text("head\trelation\ttail\tprobability\nann\tfather\tbob\t\nbob\tfather\tcid\t0.9\n")
    extra = tmp_path / "more.jsonl"
    extra.write_text('{"head": "cid", "relation": "father", "tail": "dan", "probability": 0.5}\n')
    return {"rules": rules, "kg": kg, "extra": extra}


def test_load_reads_rules_and_kg_facts(family) -> None:
    kb = KnowledgeBase.load([family["rules"], family["kg"], family["extra"]])
    facts = kb.program.statements[3:]
    assert facts == (
        Clause(Atom("father", (Const("ann"), Const("bob")))),
        Clause(Atom("father", (Const("bob"), Const("cid"))), (), Probability(0.9)),
        Clause(Atom("father", (Const("cid"), Const("dan"))), (), Probability(0.5)),
    )
    assert kb.files == tuple(str(family[k]) for k in ("rules", "kg", "extra"))
    assert kb.check() == []
    assert set(kb.info.relations) >= {"parent", "grandparent", "father"}


def test_origins_name_kind_file_line_row(family) -> None:
    kb = KnowledgeBase.load([family["rules"], family["kg"]])
    rules, kg = str(family["rules"]), str(family["kg"])
    assert kb.origins == (
        Origin("rule", rules, 2),
        Origin("rule", rules, 3),
        Origin("fact", rules, 4),
        Origin("kg", kg, 2, 1),
        Origin("kg", kg, 3, 2),
    )
    # any node inside a statement leads to its origin
    body_atom = kb.program.statements[1].body[1]
    assert kb.origin_of(body_atom) == Origin("rule", rules, 3)
    assert kb.origin_of(kb.program.statements[4].head) == Origin("kg", kg, 3, 2)
    assert str(kb.origin_of(4)) == f"{kg}:3 (row 2)"


def test_graph_has_one_edge_per_kg_fact(family) -> None:
    kb = KnowledgeBase.load([family["rules"], family["kg"], family["extra"]])
    g = kb.graph
    assert sorted(g.nodes) == ["ann", "bob", "cid", "dan"]  # `zed` is in a rule file only
    assert sorted(g.edges(keys=True)) == [("ann", "bob", "father"), ("bob", "cid", "father"), ("cid", "dan", "father")]
    data = g.get_edge_data("bob", "cid", key="father")
    assert data["probability"] == 0.9
    assert data["origin"] == Origin("kg", str(family["kg"]), 3, 2)
    assert g.get_edge_data("ann", "bob", key="father")["probability"] is None


def test_folder_loads_its_files_sorted_and_skips_hidden(family, tmp_path: Path) -> None:
    (tmp_path / ".rules.dl.x1.tmp").write_text("broken(")
    (tmp_path / "notes.txt").write_text("ignored")
    kb = KnowledgeBase.load(tmp_path)
    assert [Path(f).name for f in kb.files] == ["family.tsv", "more.jsonl", "rules.dl"]


def test_missing_file_is_a_config_error_naming_it(family, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"file not found: .*nowhere\.dl"):
        KnowledgeBase.load([family["rules"], tmp_path / "nowhere.dl"])
    (tmp_path / "x.yaml").write_text("a: 1")
    with pytest.raises(ConfigError, match=r"unknown kind of file '\.yaml'"):
        KnowledgeBase.load(tmp_path / "x.yaml")


def test_strict_load_raises_first_parse_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.dl"
    f.write_text("p(a).\nq(X :- p(X).\n")
    with pytest.raises(ParseError) as info:
        KnowledgeBase.load(f)
    assert (info.value.file, info.value.line) == (str(f), 2)


def test_check_lists_every_problem_across_files(tmp_path: Path) -> None:
    a = tmp_path / "a.dl"
    a.write_text("p(a).\nq(X :- p(X).\nr(X) :- \\+ p(X).\ns(X) :- p(X), t(X).\nu(.\n")
    b = tmp_path / "b.csv"
    b.write_text("ann,parent,bob\nann,9lives,bob\nann,parent,bob,2\n")
    kb = KnowledgeBase.load([a, b], strict=False)
    problems = kb.check()
    where = [(type(p).__name__, Path(p.file).name, p.line) for p in problems]
    assert ("ParseError", "a.dl", 2) in where
    assert ("ParseError", "a.dl", 5) in where
    assert ("ConfigError", "b.csv", 2) in where
    assert ("ConfigError", "b.csv", 3) in where
    assert ("UnsafeRuleError", "a.dl", 3) in where
    assert ("UnknownRelationError", "a.dl", 4) in where
    assert len(kb.program) == 4  # the statements that could be read: p(a), r, s, and one kg fact
    unsafe = next(p for p in problems if isinstance(p, UnsafeRuleError))
    assert unsafe.source_line == "r(X) :- \\+ p(X)."
    with pytest.raises(ParseError):
        kb.info


def test_inputs_make_run_time_relations_known(tmp_path: Path) -> None:
    f = tmp_path / "a.dl"
    f.write_text("q(X) :- digit(X, 3).\n")
    assert any(isinstance(p, UnknownRelationError) for p in KnowledgeBase.load(f).check())
    assert KnowledgeBase.load(f, inputs={"digit": 2}).check() == []


def test_parse_rules_collecting_keeps_positions() -> None:
    text = "a(1).  b(X :- a(X).\n  c(2). d(\"x. y\").\ne(3) :- \n  a(3) f.\n"
    statements, errors = parse_rules_collecting(text, "k.dl")
    assert [s.head.predicate for s in statements] == ["a", "c", "d"]
    assert [(e.line, e.source_line) for e in errors] == [(1, "a(1).  b(X :- a(X)."), (4, "  a(3) f.")]
    assert statements[1].span.line == 2 and statements[1].span.column == 3
