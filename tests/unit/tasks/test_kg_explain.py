"""A predicted link's proof: the rule with its weight and file:line, the facts with theirs; the same proof
``greybox query --proofs`` finds with the reference evaluator."""

from greybox.learn.path_mining import learn_path_rules
from greybox.learn.path_rules import write_path_rule_file
from greybox.query_cli import run_query
from tasks.kg.data import read_benchmark
from tasks.kg.explain import format_proofs, link_proofs
from tasks.kg.model import KGData, PathRuleCompletion, run, write_facts

ROWS = ["a\tparent\tb", "b\tparent\tc", "a\tgrandparent\tc", "d\tparent\te", "e\tparent\tf",
        "d\tgrandparent\tf", "g\tparent\th", "h\tparent\ti"]


def _folder(tmp_path):
    (tmp_path / "train.tsv").write_text("\n".join(ROWS) + "\n")
    (tmp_path / "dev.tsv").write_text("")
    (tmp_path / "test.tsv").write_text("g\tgrandparent\ti\n")
    return tmp_path


def test_proof_of_a_predicted_link(tmp_path):
    kg = read_benchmark(_folder(tmp_path))
    learned = learn_path_rules(kg.facts(), min_support=2, smoothing=0.0)
    rules = write_path_rule_file(tmp_path / "rules.dl", learned.rules)
    proofs = link_proofs(kg.graph, rules, ("g", "grandparent", "i"))
    assert len(proofs) == 1
    [proof] = proofs
    # three body pairs (a, c), (d, f), (g, i), two of them facts: confidence 2 / 3
    assert proof.rule.text() == "0.6667 :: inferred_grandparent(X, Z) :- parent(X, Y1), parent(Y1, Z)."
    assert [f[:3] for f in proof.facts] == [("g", "parent", "h"), ("h", "parent", "i")]
    assert [f[3] for f in proof.facts] == [f"{tmp_path / 'train.tsv'}:7", f"{tmp_path / 'train.tsv'}:8"]
    text = format_proofs(proofs, ("g", "grandparent", "i"), "rules.dl")
    lines = (tmp_path / "rules.dl").read_text().splitlines()
    assert lines[proof.rule.line - 1] == proof.rule.text()
    assert f"rules.dl:{proof.rule.line}" in text and "parent(g, h)" in text

    # the reference evaluator, on the exported rules and the facts, proves it with the same facts
    facts_file = tmp_path / "facts.tsv"
    write_facts(facts_file, kg)
    result = run_query([tmp_path / "rules.dl", facts_file], "?- inferred_grandparent(g, i).", proofs=True)
    [answer] = result["answers"]
    assert answer["probability"] == 0.6667
    facts = answer["proofs"][0]["facts"]
    found = {(f["args"][0], f["relation"], f["args"][1]) for f in facts if f["relation"]}
    assert found == {("g", "parent", "h"), ("h", "parent", "i")}
    # the rule's weight is the proof's one probabilistic choice, at the rule's line
    assert [f["origin"] for f in facts if not f["relation"]] == [f"{tmp_path / 'rules.dl'}:{proof.rule.line}"]


def test_no_proof_for_a_link_no_rule_derives(tmp_path):
    kg = read_benchmark(_folder(tmp_path))
    learned = learn_path_rules(kg.facts(), min_support=2, smoothing=0.0)
    assert link_proofs(kg.graph, learned.rules, ("i", "grandparent", "g")) == []


def test_run_reports_and_the_file_passes_kb_check(tmp_path):
    report = run(KGData(str(_folder(tmp_path))), PathRuleCompletion(min_support=2, smoothing=0.0),
                 str(tmp_path / "rules.dl"))
    assert report["test_mrr"] == 1.0 and report["test_hits@1"] == 1.0
    assert (tmp_path / "rules.facts.tsv").is_file()
