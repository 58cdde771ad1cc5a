"""`greybox query`: semirings, queries in files, whole relations, evidence, MPE, unknown
relations, limits and query-directed evaluation, the REPL.

Expected probabilities are computed here independently of the query code: by hand on
tiny programs, or by enumerating every possible world and evaluating the program in
each one as a deterministic program.
"""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path

import pytest

from greybox.cli import main
from greybox.engine.reference import evaluate
from greybox.lang.analysis import analyze
from greybox.lang.parser import parse_program

ROOT = Path(__file__).resolve().parents[2]
KINSHIP = ROOT / "knowledge" / "kinship.dl"

# ---------------------------------------------------------------- brute force over worlds

#: independent probabilistic facts, one annotated disjunction, rules with recursion and negation
FACTS = [(0.3, "e(a, b)"), (0.6, "e(b, c)"), (0.5, "e(a, c)"), (0.7, "e(c, d)")]
DISJUNCTION = [(0.2, "col(a, red)"), (0.5, "col(a, blue)")]  # none of them: 0.3
DECLARATIONS = "type e(symbol, symbol).\ntype col(symbol, symbol).\n"
RULES = """path(X, Y) :- e(X, Y).
path(X, Z) :- e(X, Y), path(Y, Z).
good(X) :- path(a, X), \\+ col(a, red).
"""


def _program_text() -> str:
    facts = "".join(f"{p} :: {a}.\n" for p, a in FACTS)
    ad = " ; ".join(f"{p} :: {a}" for p, a in DISJUNCTION) + ".\n"
    return DECLARATIONS + facts + ad + RULES


def _worlds():
    """Every world: (probability, the true probabilistic atoms, the derived model)."""
    ad_choices = [(p, [a]) for p, a in DISJUNCTION] + [(1 - sum(p for p, _ in DISJUNCTION), [])]
    for bits in itertools.product([True, False], repeat=len(FACTS)):
        for p_ad, ad_atoms in ad_choices:
            p = p_ad
            true = list(ad_atoms)
            for (q, atom), bit in zip(FACTS, bits):
                p *= q if bit else 1 - q
                if bit:
                    true.append(atom)
            text = DECLARATIONS + "".join(f"{a}.\n" for a in true) + RULES
            model = evaluate(analyze(parse_program(text)), semiring="boolean")
            yield p, true, model


def _holds(model, relation: str, args: tuple) -> bool:
    return tuple(args) in set(model.tuples(relation))


def _brute_conditional(relation: str, args: tuple, evidence: list[tuple[str, tuple, bool]]) -> float:
    p_e = p_qe = 0.0
    for p, _, model in _worlds():
        if all(_holds(model, r, a) == v for r, a, v in evidence):
            p_e += p
            if _holds(model, relation, args):
                p_qe += p
    return p_qe / p_e


@pytest.fixture
def prob_file(tmp_path: Path) -> Path:
    f = tmp_path / "graph.dl"
    f.write_text(_program_text())
    return f


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


# ---------------------------------------------------------------- semirings


CHAIN = """0.9 :: e(a, b).
0.5 :: e(b, c).
0.6 :: e(a, c).
r(X, Y) :- e(X, Y).
r(X, Z) :- e(X, Y), r(Y, Z).
"""


@pytest.mark.parametrize(
    "semiring, expected",
    [
        # two derivations of r(a, c): e(a,c) (0.6) and e(a,b), e(b,c) (0.9 * 0.5 = 0.45)
        ("max-mult", max(0.6, 0.9 * 0.5)),
        ("add-mult", 0.6 + 0.9 * 0.5),
        ("max-min", max(0.6, min(0.9, 0.5))),
        ("boolean", 1.0),
        ("exact", 1 - (1 - 0.6) * (1 - 0.9 * 0.5)),
        ("top-k", 1 - (1 - 0.6) * (1 - 0.9 * 0.5)),  # k = 3 keeps both proofs
    ],
)
def test_semiring_probability_by_hand(tmp_path: Path, capsys, semiring: str, expected: float) -> None:
    f = tmp_path / "chain.dl"
    f.write_text(CHAIN)
    assert main(["query", str(f), "?- r(a, c).", "--semiring", semiring, "--format", "json"]) == 0
    result = _json(capsys)
    assert result["semiring"] == semiring
    assert [a["probability"] for a in result["answers"]] == [pytest.approx(expected)]


def test_top_k_with_one_proof_is_a_lower_bound(tmp_path: Path, capsys) -> None:
    f = tmp_path / "chain.dl"
    f.write_text(CHAIN)
    assert main(["query", str(f), "?- r(a, c).", "--semiring", "top-k", "-k", "1", "--format", "json"]) == 0
    (answer,) = _json(capsys)["answers"]
    assert answer["probability"] == pytest.approx(0.6)  # the best proof alone
    assert [[x["args"] for x in p["facts"]] for p in answer["proofs"]] == [[["a", "c"]]]


def test_query_may_follow_options(tmp_path: Path, capsys) -> None:
    f = tmp_path / "chain.dl"
    f.write_text(CHAIN)
    assert main(["query", str(f), "--semiring", "max-min", "?- r(a, c).", "-k", "2"]) == 0
    assert capsys.readouterr().out.splitlines() == ["?- r(a, c).    (max-min)", "1. yes    p = 0.6"]


def test_proofs_need_a_semiring_with_proofs(tmp_path: Path, capsys) -> None:
    f = tmp_path / "chain.dl"
    f.write_text(CHAIN)
    assert main(["query", str(f), "?- r(a, c).", "--semiring", "max-mult", "--proofs"]) == 2
    assert "gives no proofs" in capsys.readouterr().err
    assert main(["query", str(f), "?- r(a, c).", "--semiring", "top-k", "--proofs"]) == 0
    assert "proof 1" in capsys.readouterr().out


# ---------------------------------------------------------------- queries written in the files


def test_file_queries_answered_in_order(tmp_path: Path, capsys) -> None:
    f = tmp_path / "q.dl"
    f.write_text(CHAIN + "?- r(b, X).\n?- r(a, c).\n?- e(X, c).\n")
    assert main(["query", str(f)]) == 0
    blocks = capsys.readouterr().out.strip().split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == ["?- r(b, X).", "?- r(a, c).", "?- e(X, c)."]
    assert blocks[0].splitlines()[1] == "1. X = c    p = 0.5"
    assert main(["query", str(f), "--format", "json"]) == 0
    queries = _json(capsys)["queries"]
    assert [len(q["answers"]) for q in queries] == [1, 1, 2]


def test_problog_query_statements_are_queries_too(tmp_path: Path, capsys) -> None:
    f = tmp_path / "q.dl"
    f.write_text(CHAIN + "query(r(b, X)).\n?- e(a, b).\nquery( r(a, c) ).\n")
    assert main(["query", str(f)]) == 0
    blocks = capsys.readouterr().out.strip().split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == ["?- r(b, X).", "?- e(a, b).", "?- r(a, c)."]
    assert blocks[1].splitlines()[1] == "1. yes    p = 0.9"


def test_no_query_anywhere_is_an_error(tmp_path: Path, capsys) -> None:
    f = tmp_path / "q.dl"
    f.write_text(CHAIN)
    assert main(["query", str(f)]) == 2
    assert "nothing to answer" in capsys.readouterr().err


# ---------------------------------------------------------------- whole relations


def test_all_relations_match_brute_force(prob_file: Path, capsys) -> None:
    assert main(["query", str(prob_file), "--all", "--format", "json"]) == 0
    relations = {r["relation"]: r for r in _json(capsys)["relations"]}
    assert sorted(relations) == ["good", "path"]  # the derived ones
    worlds = list(_worlds())
    for name, rel in relations.items():
        got = {tuple(t["args"]): t["probability"] for t in rel["tuples"]}
        expected: dict[tuple, float] = {}
        for p, _, model in worlds:
            for t in model.tuples(name):
                expected[t] = expected.get(t, 0.0) + p
        assert got == pytest.approx(expected)
        assert list(got) == sorted(got)  # sorted, one tuple per entry


def test_relation_text_one_tuple_per_line(tmp_path: Path, capsys) -> None:
    f = tmp_path / "chain.dl"
    f.write_text(CHAIN)
    assert main(["query", str(f), "--relation", "r", "--semiring", "max-mult"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == ["r(a, b)    0.9", "r(a, c)    0.6", "r(b, c)    0.5"]


def test_unknown_relation_for_relation_option(tmp_path: Path, capsys) -> None:
    f = tmp_path / "chain.dl"
    f.write_text(CHAIN)
    assert main(["query", str(f), "--relation", "rr"]) == 2
    assert "did you mean r/2?" in capsys.readouterr().err


# ---------------------------------------------------------------- evidence


EVIDENCE_CASES = [
    [("path", ("a", "d"), True)],
    [("path", ("a", "d"), True), ("col", ("a", "blue"), False)],
    [("e", ("a", "b"), False), ("good", ("c",), True)],
]


@pytest.mark.parametrize("evidence", EVIDENCE_CASES)
def test_evidence_in_file_matches_brute_force(prob_file: Path, capsys, evidence) -> None:
    lines = "".join(f"evidence({r}({', '.join(a)}), {'true' if v else 'false'}).\n" for r, a, v in evidence)
    prob_file.write_text(prob_file.read_text() + lines + "?- good(X).\n?- path(a, X).\n")
    assert main(["query", str(prob_file), "--format", "json"]) == 0
    for result in _json(capsys)["queries"]:
        relation = result["query"][3:].split("(")[0]
        got = {a["bindings"]["X"]: a["probability"] for a in result["answers"]}
        expected = {x: _brute_conditional(relation, ("a", x) if relation == "path" else (x,), evidence) for x in got}
        assert got == pytest.approx(expected)
        assert len(got) >= 1


def test_evidence_option_and_reserved_statement_agree(prob_file: Path, capsys) -> None:
    assert main(["query", str(prob_file), "?- good(d).", "--evidence", "path(a, d)=true",
                 "--evidence", "col(a, blue)=false", "--format", "json"]) == 0
    from_option = _json(capsys)["answers"][0]["probability"]
    prob_file.write_text(prob_file.read_text() + "evidence(path(a, d), true).\nevidence(col(a, blue), false).\n")
    assert main(["query", str(prob_file), "?- good(d).", "--format", "json"]) == 0
    from_file = _json(capsys)["answers"][0]["probability"]
    expected = _brute_conditional("good", ("d",), [("path", ("a", "d"), True), ("col", ("a", "blue"), False)])
    assert from_option == pytest.approx(expected) and from_file == pytest.approx(expected)


def test_evidence_by_hand(tmp_path: Path, capsys) -> None:
    f = tmp_path / "alarm.dl"
    f.write_text("0.1 :: burglary.\n0.2 :: earthquake.\nalarm :- burglary.\nalarm :- earthquake.\n"
                 "evidence(alarm, true).\n?- burglary.\n")
    assert main(["query", str(f), "--format", "json"]) == 0
    (result,) = _json(capsys)["queries"]
    assert result["evidence"] == ["alarm=true"]
    # P(b | alarm) = P(b) / P(b or e) = 0.1 / (1 - 0.9 * 0.8)
    assert result["answers"][0]["probability"] == pytest.approx(0.1 / (1 - 0.9 * 0.8))


def test_impossible_evidence_is_an_error(tmp_path: Path, capsys) -> None:
    f = tmp_path / "e.dl"
    f.write_text("0.4 :: a.\nb :- a.\nevidence(a, true).\nevidence(b, false).\n?- a.\n")
    assert main(["query", str(f)]) == 2
    err = capsys.readouterr().err
    assert "the evidence has probability 0" in err and f"{f}:3" in err


def test_evidence_needs_exact(tmp_path: Path, capsys) -> None:
    f = tmp_path / "chain.dl"
    f.write_text(CHAIN)
    assert main(["query", str(f), "?- r(a, c).", "--evidence", "e(a, b)", "--semiring", "max-mult"]) == 2
    assert "evidence needs exact probabilities" in capsys.readouterr().err


def test_malformed_evidence_names_its_line(tmp_path: Path, capsys) -> None:
    f = tmp_path / "e.dl"
    f.write_text("0.4 :: a(x).\n\nevidence(a(X), true).\n?- a(x).\n")
    assert main(["query", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f}:3:" in err and "ground atom" in err


# ---------------------------------------------------------------- MPE


@pytest.mark.parametrize("evidence", [[]] + EVIDENCE_CASES)
def test_mpe_matches_brute_force(prob_file: Path, capsys, evidence) -> None:
    args = [f"{r}({', '.join(a)})={'true' if v else 'false'}" for r, a, v in evidence]
    assert main(["query", str(prob_file), "--mpe", "--format", "json",
                 *itertools.chain.from_iterable(("--evidence", e) for e in args)]) == 0
    mpe = _json(capsys)["mpe"]
    best_p, best_true = max(
        ((p, sorted(true)) for p, true, model in _worlds()
         if all(_holds(model, r, a) == v for r, a, v in evidence)),
        key=lambda x: x[0],
    )
    assert mpe["probability"] == pytest.approx(best_p)
    assert sorted(f["fact"] for f in mpe["true"]) == best_true
    every = {a for _, a in FACTS} | {a for _, a in DISJUNCTION}
    assert sorted(f["fact"] for f in mpe["false"]) == sorted(every - set(best_true))


def test_mpe_text_lists_true_then_false_facts(tmp_path: Path, capsys) -> None:
    f = tmp_path / "alarm.dl"
    f.write_text("0.1 :: burglary.\n0.2 :: earthquake.\nalarm :- burglary.\nalarm :- earthquake.\n"
                 "evidence(alarm, true).\n")
    assert main(["query", str(f), "--mpe", "--show-false"]) == 0
    lines = capsys.readouterr().out.splitlines()
    # alarm needs b or e: b alone 0.1 * 0.8 = 0.08, e alone 0.9 * 0.2 = 0.18, both 0.02
    assert lines[:2] == ["most probable explanation    given alarm=true", "p = 0.18"]
    assert lines[2] == f"earthquake    % p = 0.2, {f}:2"
    assert lines[3] == f"\\+ burglary    % p = 0.1, {f}:1"


def test_mpe_limit(tmp_path: Path, capsys) -> None:
    f = tmp_path / "many.dl"
    f.write_text("".join(f"0.5 :: c({i}).\n" for i in range(12)) + "any :- c(X).\nevidence(any, true).\n")
    assert main(["query", str(f), "--mpe", "--mpe-max-facts", "10"]) == 2
    err = capsys.readouterr().err
    assert "depends on 12 probabilistic fact groups" in err and "--mpe-max-facts" in err
    assert main(["query", str(f), "--mpe", "--format", "json"]) == 0
    mpe = _json(capsys)["mpe"]
    assert mpe["probability"] == pytest.approx(0.5 ** 12)  # every world with any c(i) is as likely


# ---------------------------------------------------------------- unknown relations


@pytest.fixture
def family(tmp_path: Path) -> Path:
    f = tmp_path / "family.tsv"
    f.write_text("head\trelation\ttail\nann\tfather\tbob\nbob\tsister\tcid\n")
    return f


def test_unknown_relation_suggests_the_closest(family: Path, capsys) -> None:
    assert main(["query", str(KINSHIP), str(family), "?- ant(ann, Who)."]) == 2
    err = capsys.readouterr().err
    assert "unknown relation ant/2" in err and "did you mean aunt/2?" in err
    assert main(["query", str(KINSHIP), str(family), "?- aunt(ann, Who)."]) == 0
    assert "1. Who = cid    p = 1" in capsys.readouterr().out


def test_wrong_arity_is_an_error(family: Path, capsys) -> None:
    assert main(["query", str(KINSHIP), str(family), "?- aunt(ann)."]) == 2
    assert "aunt has 2 arguments" in capsys.readouterr().err


def test_kb_check_flags_a_misspelt_tsv_relation(family: Path, capsys) -> None:
    family.write_text(family.read_text() + "ann\taunnt\tbob\n")
    assert main(["kb", "check", str(KINSHIP), str(family)]) == 0      # a warning: the rows are valid
    err = capsys.readouterr().err
    assert err.startswith("warning: ")
    assert f"{family}:4: relation aunnt/2 is used only in knowledge-graph rows" in err
    assert "did you mean aunt/2?" in err
    # the query still runs, with the same message as a warning
    assert main(["query", str(KINSHIP), str(family), "?- aunt(ann, Who)."]) == 0
    captured = capsys.readouterr()
    assert "warning:" in captured.err and "did you mean aunt/2?" in captured.err


def test_kb_check_leaves_unrelated_tsv_relations_alone(family: Path, capsys) -> None:
    family.write_text(family.read_text() + "ann\tlikes\ttea\n")
    assert main(["kb", "check", str(KINSHIP), str(family)]) == 0
    assert "warning" not in capsys.readouterr().err


# ---------------------------------------------------------------- limits and query-directed evaluation


RUNAWAY = "n(0).\nn(Y) :- n(X), Y is X + 1.\nedge(a, b). edge(b, c).\nreach(X, Y) :- edge(X, Y).\n" \
          "reach(X, Z) :- edge(X, Y), reach(Y, Z).\n"


def test_unrelated_runaway_relation_is_not_evaluated(tmp_path: Path, capsys) -> None:
    f = tmp_path / "runaway.dl"
    f.write_text(RUNAWAY)
    for semiring in ("exact", "max-mult", "top-k"):
        assert main(["query", str(f), "?- reach(a, X).", "--max-tuples", "50", "--semiring", semiring]) == 0
        assert capsys.readouterr().out.splitlines()[1:] == ["1. X = b    p = 1", "2. X = c    p = 1"]
    assert main(["query", str(f), "--relation", "reach", "--max-tuples", "50"]) == 0


def test_limit_hint_names_the_option(tmp_path: Path, capsys) -> None:
    f = tmp_path / "runaway.dl"
    f.write_text(RUNAWAY)
    assert main(["query", str(f), "?- n(X).", "--max-tuples", "50"]) == 2
    err = capsys.readouterr().err
    assert "grew past 50 tuples" in err and "--max-tuples (now 50)" in err
    assert main(["query", str(f), "?- n(X).", "--max-rounds", "20"]) == 2
    assert "--max-rounds (now 20)" in capsys.readouterr().err
    assert main(["query", str(f), "?- n(X).", "--timeout", "0.2", "--max-tuples", "100000000",
                 "--max-rounds", "100000000"]) == 2
    assert "--timeout (now 0.2 s)" in capsys.readouterr().err


def test_bound_query_uses_magic_sets(tmp_path: Path) -> None:
    from greybox.lang.parser import parse_query
    from greybox.query.directed import directed_program

    program = parse_program(RUNAWAY)
    rewritten, goal, magic = directed_program(program, parse_query("?- reach(a, X)."), "exact")
    assert magic and goal.body[0].predicate == "reach__bf"
    assert not any(getattr(s, "head", None) is not None and s.head.predicate == "n" for s in rewritten.statements)
    _, _, magic = directed_program(program, parse_query("?- reach(a, X)."), "max-mult")
    assert not magic  # max-mult tags would change: only sliced


def test_magic_answers_agree_with_the_whole_program(family: Path, capsys) -> None:
    family.write_text(family.read_text() + "cid\tson\tdan\nann\tmother\teve\neve\tbrother\tfred\n")
    for goal in ("?- uncle(ann, W).", "?- nephew(bob, W).", "?- aunt(ann, W)."):
        assert main(["query", str(KINSHIP), str(family), goal, "--format", "json"]) == 0  # sliced, with proofs
        whole = {tuple(a["bindings"].values()): a["probability"] for a in _json(capsys)["answers"]}
        assert main(["query", str(KINSHIP), str(family), goal]) == 0  # magic sets
        lines = capsys.readouterr().out.splitlines()[1:]
        directed = {tuple([line.split(" = ")[1].split()[0]]): float(line.split("p = ")[1]) for line in lines
                    if " = " in line}
        assert directed == whole


def test_magic_exact_probabilities_match_brute_force(prob_file: Path) -> None:
    from greybox.kb.knowledge_base import KnowledgeBase
    from greybox.lang.parser import parse_query
    from greybox.query.directed import directed_program
    from greybox.query.session import QuerySession

    session = QuerySession(KnowledgeBase.load([prob_file]))
    worlds = list(_worlds())
    for text, relation in (("?- path(a, X).", "path"), ("?- path(b, X).", "path"), ("?- good(X).", "good")):
        q = parse_query(text)
        assert directed_program(session.kb.program, q, "exact")[2] == (relation == "path")
        got = {tuple(a["bindings"].values()): a["probability"] for a in session.answer(q)["answers"]}
        bound = q.body[0].args[0].value if relation == "path" else None
        expected: dict[tuple, float] = {}
        for p, _, model in worlds:
            for t in model.tuples(relation):
                if bound is None or t[0] == bound:
                    key = t[1:] if bound is not None else t
                    expected[key] = expected.get(key, 0.0) + p
        assert got == pytest.approx(expected)


# ---------------------------------------------------------------- REPL


def test_repl_answers_queries_and_takes_rules(tmp_path: Path, capsys) -> None:
    from greybox.kb.knowledge_base import KnowledgeBase
    from greybox.query.session import QuerySession
    from greybox.query_cli import repl

    f = tmp_path / "chain.dl"
    f.write_text(CHAIN)
    stdin = io.StringIO("?- r(a, c).\nshort(X, Y) :-\n  e(X, Y).\n?- short(a, Y).\n?- nope(X).\n"
                        "evidence(e(a, b), true). ?- r(a, c).\n")
    out = io.StringIO()
    failures = repl(QuerySession(KnowledgeBase.load([f])), stdin, out)
    assert failures == 1
    blocks = out.getvalue().strip().split("\n")
    assert blocks[0] == "?- r(a, c)."
    assert blocks[1] == f"1. yes    p = {1 - (1 - 0.6) * (1 - 0.45):.4g}"
    assert blocks[2:5] == ["?- short(a, Y).", "1. Y = b    p = 0.9", "2. Y = c    p = 0.6"]
    assert blocks[5] == "?- r(a, c).    given e(a, b)=true"
    assert blocks[6] == f"1. yes    p = {1 - (1 - 0.6) * (1 - 0.5):.4g}"  # given e(a, b): 1 - 0.4 * 0.5
    assert "unknown relation nope/1" in capsys.readouterr().err


def test_repl_from_the_command_line(tmp_path: Path, monkeypatch, capsys) -> None:
    f = tmp_path / "chain.dl"
    f.write_text(CHAIN)
    monkeypatch.setattr("sys.stdin", io.StringIO("?- e(a, X).\n"))
    assert main(["query", str(f), "--repl"]) == 0
    assert capsys.readouterr().out.splitlines() == ["?- e(a, X).", "1. X = b    p = 0.9", "2. X = c    p = 0.6"]


def test_bindings_are_printed_as_the_rule_language_writes_constants(tmp_path: Path, capsys) -> None:
    f = tmp_path / "names.dl"
    f.write_text("name(a, 'is').\nname(a, 'Ann Lee').\nname(a, 'it\\'s').\nname(a, bob).\n")
    assert main(["query", str(f), "?- name(a, X)."]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    shown = [line.split("X = ", 1)[1].split("    p = ")[0] for line in lines]
    assert len(shown) == 4
    facts = parse_program("".join(f"name(a, {text}).\n" for text in shown)).statements
    assert sorted(str(s.head.args[1].value) for s in facts) == sorted(["is", "Ann Lee", "it's", "bob"])
