"""``greybox learn-rules`` and ``greybox.learn``: parser, dense chainer vs engine, learning, export, config, CLI."""

from __future__ import annotations

import ast
import csv
import json
import random
from pathlib import Path

import pytest
import torch

from greybox.cli import main as greybox_main
from greybox.engine import Engine, InputFacts
from greybox.errors import ConfigError, ResourceLimitError
from greybox.kb.edit import add_rule
from greybox.kb.knowledge_base import KnowledgeBase
from greybox.lang.ast import Clause
from greybox.lang.parser import parse_program
from greybox.lang.printer import format_program
from greybox.learn.batch import batches_by_size, encode_graphs
from greybox.learn.chain_rules import ChainRule, as_chain_rule, split_chain_rules
from greybox.learn.config import load_config
from greybox.learn.dense import ChainRuleScorer, answer_chain, forward_chain
from greybox.learn.evaluate import engine_accuracy, score_rules
from greybox.learn.export import read_chain_rules, write_rule_file
from greybox.learn.graphs import GraphExample, count_distinct
from greybox.learn.learner import learn_chain_rules, rules_above
from greybox.semirings import MaxMult
from greybox.training.learn_rules import main
from tasks.kinship.graphs import read_clutrr_graphs

ROOT = Path(__file__).resolve().parents[3]
KINSHIP = ROOT / "knowledge" / "kinship.dl"
CLUTRR = ROOT.parent / "shared" / "data" / "clutrr" / "data_089907f8"
needs_clutrr = pytest.mark.skipif(not (CLUTRR / "1.2,1.3_train.csv").is_file(), reason="CLUTRR data not available")


def _kinship():
    program = parse_program(KINSHIP.read_text(), file=str(KINSHIP))
    background, rules = split_chain_rules(program)
    return program, background, rules


# ---------------------------------------------------------------- graphs in the csv layout of CLUTRR


def _write_csv(path: Path, rows: list[dict]) -> Path:
    columns = ["story_edges", "edge_types", "query", "query_edge", "target", "genders"]
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})
    return path


def test_distinct_graphs_keep_counts() -> None:
    a = GraphExample(("a", "b", "c"), ((0, "f", 1), (1, "f", 2)), (), (0, 2), "g", 2)
    b = GraphExample(("x", "y", "z"), ((1, "f", 2), (0, "f", 1)), (), (0, 2), "g", 2)  # same graph, other names
    c = GraphExample(("x", "y", "z"), ((0, "f", 1), (1, "f", 2)), (), (0, 2), "h", 2)  # another target
    assert [(ex.target, n) for ex, n in count_distinct([a, b, c])] == [("g", 2), ("h", 1)]


# ---------------------------------------------------------------- the background


def test_kinship_chain_rules_are_removed_and_the_rest_kept() -> None:
    program, background, rules = _kinship()
    assert len(rules) == 62 and len({r.triple for r in rules}) == 62
    assert ("father", "father", "grandfather") in {r.triple for r in rules}
    assert {r.head for r in rules if r.distinct} == {"brother", "sister"}
    assert all(r.distinct for r in rules if r.head in ("brother", "sister"))
    clauses = [s for s in background.statements if isinstance(s, Clause)]
    assert len(clauses) == 20 + 40  # gender rules and inverse rules
    assert not any(as_chain_rule(c) for c in clauses)
    assert len(background) + len(rules) == len(program)


def test_a_background_statement_the_dense_learner_cannot_evaluate_is_a_config_error() -> None:
    program = parse_program("type f(symbol, symbol). type g(symbol, symbol).\nf(a, b).\n", file="bg.dl")
    with pytest.raises(ConfigError, match="the dense learner can evaluate: f\\(a, b\\)") as err:
        ChainRuleScorer.compile(program)
    assert (err.value.file, err.value.line) == ("bg.dl", 2)


# ---------------------------------------------------------------- dense chaining = the engine


def _random_case(seed: int, dense: ChainRuleScorer, n_rules: int = 50, graphs: int = 4, people: int = 4):
    rng = random.Random(seed)
    n_r, n_u = len(dense.relations), len(dense.unaries)
    weights = torch.zeros(n_r, n_r, n_r, dtype=torch.float64)
    rules = []
    for _ in range(n_rules):
        a, b, c = rng.randrange(n_r), rng.randrange(n_r), rng.randrange(n_r)
        w = round(rng.uniform(0.2, 1.0), 2)
        if w > weights[a, b, c]:
            weights[a, b, c] = w
        rules.append(ChainRule(dense.relations[a], dense.relations[b], dense.relations[c],
                               distinct=bool(dense.distinct_heads[c]), weight=w))
    facts = torch.zeros(graphs, people, people, n_r, dtype=torch.float64)
    labels = torch.zeros(graphs, people, n_u + 1, dtype=torch.float64)
    labels[..., -1] = 1.0
    for g in range(graphs):
        for _ in range(5):
            x, y = rng.sample(range(people), 2)
            facts[g, x, y, rng.randrange(n_r)] = round(rng.uniform(0.3, 1.0), 2)
        for p in range(people):
            if rng.random() < 0.7:
                labels[g, p, rng.randrange(n_u)] = round(rng.uniform(0.5, 1.0), 2)
    return rules, weights, facts, labels


def _engine_tensors(text: str, dense: ChainRuleScorer, facts: torch.Tensor, labels: torch.Tensor):
    """The engine's max-mult answers for every relation, as dense tensors."""
    engine = Engine(text)
    people = facts.shape[1]
    symbol = [engine.symbols.encode(f"p{i}") for i in range(people)]
    inputs = {}
    for i, r in enumerate(dense.relations):
        at = facts[..., i].nonzero().tolist()
        if at:
            inputs[r] = InputFacts(torch.tensor([[b, symbol[x], symbol[y]] for b, x, y in at]),
                                   torch.stack([facts[b, x, y, i] for b, x, y in at]))
    for i, u in enumerate(dense.unaries):
        at = labels[..., i].nonzero().tolist()
        if at:
            inputs[u] = InputFacts(torch.tensor([[b, symbol[x]] for b, x in at]), torch.stack([labels[b, x, i] for b, x in at]))
    result = engine.run(semiring=MaxMult(), batch_size=facts.shape[0], inputs=inputs, dtype=torch.float64)
    person = {s: i for i, s in enumerate(symbol)}
    out_f, out_u = torch.zeros_like(facts), torch.zeros_like(labels[..., :-1])
    for i, r in enumerate(dense.relations):
        cols, probs = result.probabilities(r)
        for (b, x, y), p in zip(cols.tolist(), probs.tolist()):
            out_f[b, person[x], person[y], i] = p
    for i, u in enumerate(dense.unaries):
        cols, probs = result.probabilities(u)
        for (b, x), p in zip(cols.tolist(), probs.tolist()):
            out_u[b, person[x], i] = p
    return out_f, out_u


@pytest.mark.parametrize("seed", [0, 1])
def test_dense_chaining_equals_the_engine_with_the_same_weighted_rules(seed: int) -> None:
    _, background, _ = _kinship()
    dense = ChainRuleScorer.compile(background, distinct_heads=["brother", "sister"])
    rules, weights, facts, labels = _random_case(seed, dense)
    # the same program as greybox text: background + `w :: r3(X, Z) :- r1(X, Y), r2(Y, Z)[, X \= Z].`
    text = format_program(background) + "".join(r.text(with_weight=True) + "\n" for r in rules)
    want_f, want_u = _engine_tensors(text, dense, facts, labels)
    got_f, got_u = forward_chain(dense, facts, labels, weights)
    assert int((want_f > 0).sum()) > 100  # the rules fired: not a comparison of empty relations
    torch.testing.assert_close(got_f, want_f, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(got_u[..., :-1], want_u, rtol=1e-9, atol=1e-12)
    # a fixed number of rounds gives a lower bound that grows to the fixpoint
    one, _ = forward_chain(dense, facts, labels, weights, steps=1)
    assert torch.all(one <= got_f + 1e-12) and not torch.equal(one, got_f)
    with pytest.raises(ResourceLimitError, match="no fixpoint"):
        forward_chain(dense, facts, labels, weights, max_rounds=1)
    # the training shortcut: the last round for the queried pair only gives the same values
    query = torch.tensor([[0, 1], [2, 2], [3, 0], [1, 3]])  # one pair per graph, one of them x == z
    for steps in (1, 2, 3):
        full, _ = forward_chain(dense, facts, labels, weights, steps=steps)
        want = full[torch.arange(4), query[:, 0], query[:, 1]]
        torch.testing.assert_close(answer_chain(dense, facts, labels, weights, query, steps=steps), want,
                                   rtol=0, atol=1e-15)


def test_gradient_reaches_the_rules_of_the_best_proof_only() -> None:
    prog = parse_program("domain p = symbol. type f(p, p). type g(p, p). type h(p, p).")
    dense = ChainRuleScorer.compile(prog)
    ex = GraphExample(("a", "b", "c"), ((0, "f", 1), (1, "g", 2)), (), (0, 2), "h", 2)
    batch = encode_graphs([ex], relations=dense.relations, unaries=dense.unaries, dtype=torch.float64)
    weights = torch.full((3, 3, 3), 0.5, dtype=torch.float64, requires_grad=True)
    facts, _ = forward_chain(dense, batch.facts, batch.labels, weights, steps=1)
    facts[0, 0, 2, 2].backward()  # h(a, c): only by h(X, Z) :- f(X, Y), g(Y, Z)
    assert weights.grad[0, 1, 2] == pytest.approx(1.0)
    assert int((weights.grad != 0).sum()) == 1


# ---------------------------------------------------------------- learning


SYNTHETIC_BACKGROUND = """domain person = symbol.
type f(person, person). type b(person, person). type g(person, person).
type h(person, person). type u(person, person).
type male(person).
male(Y) :- f(_, Y).
"""
#: the compositions the synthetic graphs are generated from
KNOWN = {("f", "f", "g"), ("g", "f", "h"), ("f", "b", "u"), ("b", "b", "b")}


def _synthetic_rows(n: int, seed: int) -> list[dict]:
    """Chains whose target follows from KNOWN: k = 2 for each rule, and f-f-f (-> h) of k = 3."""
    rng = random.Random(seed)
    chains = [(("f", "f"), "g"), (("g", "f"), "h"), (("f", "b"), "u"), (("b", "b"), "b"), (("f", "f", "f"), "h")]
    rows = []
    for i in range(n):
        edges, target = chains[i % len(chains)]
        names = [f"n{i}_{j}" for j in range(len(edges) + 1)]
        genders = ",".join(f"{name}:male" if rng.random() < 0.5 else name for name in names)
        rows.append({"story_edges": str([(j, j + 1) for j in range(len(edges))]), "edge_types": str(list(edges)),
                     "query": str((names[0], names[-1])), "query_edge": str((0, len(edges))), "target": target,
                     "genders": genders})
    return rows


def test_learning_recovers_exactly_the_generating_compositions(tmp_path: Path) -> None:
    dense = ChainRuleScorer.compile(parse_program(SYNTHETIC_BACKGROUND), distinct_heads=["b"])
    rows = _synthetic_rows(60, seed=0)
    examples = read_clutrr_graphs(_write_csv(tmp_path / "train.csv", rows), relations=dense.relations, unaries=("male",))
    batches = batches_by_size(count_distinct(examples), relations=dense.relations, unaries=dense.unaries, batch_size=64)
    learned = learn_chain_rules(dense, batches, parametrization="sigmoid", epochs=60, lr=0.1, steps=2,
                                sparsity=0.001, negative_weight=1.0)
    rules = rules_above(dense, learned.weights, 0.5)
    scores = score_rules([r.triple for r in rules], KNOWN)
    assert (scores.precision, scores.recall) == (1.0, 1.0), scores
    assert learned.history[-1]["loss"] < learned.history[0]["loss"] / 10
    assert [r.distinct for r in rules if r.head == "b"] == [True]


# ---------------------------------------------------------------- export


def test_export_reads_back_and_passes_the_checker(tmp_path: Path) -> None:
    program, background, gold = _kinship()
    rules = [ChainRule(r.first, r.second, r.head, r.distinct, weight=0.5 + i / 200) for i, r in enumerate(gold)]
    out = tmp_path / "learned.dl"
    write_rule_file(out, rules, ["learned for a test", "second line"])
    text = out.read_text()
    assert text.startswith("% learned for a test\n% second line\n")
    back = read_chain_rules(out)
    assert [r.triple for r in back] == [r.triple for r in rules]
    assert [r.weight for r in back] == pytest.approx([r.weight for r in rules], abs=5e-5)
    assert [r.distinct for r in back] == [r.distinct for r in rules]
    # checked with the file that declares the relations, as `greybox kb check knowledge/kinship.dl learned.dl`
    assert KnowledgeBase.load([str(KINSHIP), str(out)], strict=False).check() == []
    # a rule line goes through `greybox kb add-rule FILE "RULE"` as it is; `--from` merges the rest
    target = tmp_path / "background.dl"
    target.write_text(format_program(background))
    lines = [line for line in text.splitlines() if line and not line.startswith("%")]
    for line in lines[::20]:
        add_rule(target, line)
    assert greybox_main(["kb", "add-rule", str(target), "--from", str(out)]) == 0
    merged = split_chain_rules(parse_program(target.read_text()))[1]
    assert sorted(r.triple for r in merged) == sorted(r.triple for r in gold)  # each once
    assert target.read_text().count("% weight ") == len(gold) - len(lines[::20])  # comments come along


def test_engine_accuracy_reads_the_exported_rules(tmp_path: Path) -> None:
    dense = ChainRuleScorer.compile(parse_program(SYNTHETIC_BACKGROUND), distinct_heads=["b"])
    examples = read_clutrr_graphs(_write_csv(tmp_path / "t.csv", _synthetic_rows(10, seed=1)))
    out = tmp_path / "rules.dl"
    write_rule_file(out, [ChainRule(*t, distinct=t[2] == "b", weight=0.9) for t in sorted(KNOWN)])
    program = parse_program(SYNTHETIC_BACKGROUND) + parse_program(out.read_text(), file=str(out))
    assert engine_accuracy(program, examples, relations=dense.relations).accuracy == 1.0
    partial = parse_program(SYNTHETIC_BACKGROUND + "g(X, Z) :- f(X, Y), f(Y, Z).")
    acc = engine_accuracy(partial, examples, relations=dense.relations)
    assert acc.accuracy == acc.target_derived == 0.2 and acc.nothing_derived == 0.8  # only the f-f chains


# ---------------------------------------------------------------- config and command


def _synthetic_data(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    _write_csv(folder / "train.csv", _synthetic_rows(60, seed=0))
    for k in (2, 3):
        rows = [r for r in _synthetic_rows(40, seed=k) if len(ast.literal_eval(r["edge_types"])) == k]
        _write_csv(folder / f"test_{k}.csv", rows)
    (tmp_path / "reference.dl").write_text(SYNTHETIC_BACKGROUND + "".join(
        ChainRule(*t, distinct=t[2] == "b").text() + "\n" for t in sorted(KNOWN)))
    config = tmp_path / "learn.yaml"
    config.write_text(
        f"reader: tasks.kinship.graphs.ClutrrGraphs\ndata_dir: {folder}\ntrain_file: train.csv\ntest_file: test_{{k}}.csv\ntest_ks: [2, 3]\n"
        f"background: [{tmp_path / 'reference.dl'}]\nreference: {tmp_path / 'reference.dl'}\n"
        "distinct_heads: [b]\nparametrization: sigmoid\nepochs: 60\nsteps: 2\nsparsity: 0.001\nthreshold: 0.5\n")
    return config


def test_a_wrong_key_is_a_config_error_naming_the_line_and_the_fix(tmp_path: Path, capsys) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("epochs: 3\nepoch: 4\n")
    with pytest.raises(ConfigError, match="unknown option 'epoch'") as err:
        load_config(config)
    assert (err.value.file, err.value.line, err.value.column) == (str(config), 2, 1)
    assert "did you mean 'epochs'" in err.value.hint
    config.write_text("lr: -1\n")
    with pytest.raises(ConfigError, match="option 'lr': Input should be greater than 0"):
        load_config(config, check_paths=False)
    assert main(["--config", str(config), "-o", str(tmp_path / "x.dl")]) == 2
    captured = capsys.readouterr()
    assert "error:" in captured.err and "Traceback" not in captured.err


def test_a_missing_data_folder_is_a_config_error_with_exit_status_2(tmp_path: Path, capsys) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("epochs: 3\ndata_dir: /no/such/folder\n")
    with pytest.raises(ConfigError, match="data folder not found: /no/such/folder") as err:
        load_config(config)
    assert err.value.line == 2 and "data_dir" in err.value.hint
    assert greybox_main(["learn-rules", "--config", str(config), "-o", str(tmp_path / "x.dl")]) == 2
    captured = capsys.readouterr()
    assert "data folder not found" in captured.err and "Traceback" not in captured.err
    assert not (tmp_path / "x.dl").exists()


def test_the_command_writes_the_rules_and_the_report(tmp_path: Path, capsys) -> None:
    config = _synthetic_data(tmp_path)
    out = tmp_path / "learned.dl"
    code = greybox_main(["learn-rules", "--config", str(config), "-o", str(out), "--max-train", "50", "-q"])
    assert code == 0, capsys.readouterr().err
    assert {r.triple for r in read_chain_rules(out)} == KNOWN
    text = out.read_text()
    assert "% command:    greybox learn-rules --config" in text and "% weight " in text
    report = json.loads((tmp_path / "learned.dl.json").read_text())
    assert report["data"]["train_graphs"] == 50
    assert (report["scores"]["precision"], report["scores"]["recall"]) == (1.0, 1.0)
    assert report["background"]["chain_rules_removed"] == len(KNOWN)
    for row in ("learned", "reference"):
        assert report["accuracy"][row]["2"]["accuracy"] == 1.0 and report["accuracy"][row]["3"]["n"] > 0
    printed = capsys.readouterr().out
    assert "precision 1.000, recall 1.000" in printed and f"wrote {out}" in printed
    # the exported file merges into the background it was learned without
    stripped = tmp_path / "stripped.dl"
    stripped.write_text(SYNTHETIC_BACKGROUND)
    assert greybox_main(["kb", "add-rule", str(stripped), "--from", str(out)]) == 0
    assert {r.triple for r in split_chain_rules(parse_program(stripped.read_text()))[1]} == KNOWN


@needs_clutrr
def test_the_command_on_a_slice_of_clutrr(tmp_path: Path, capsys) -> None:
    out = tmp_path / "learned.dl"
    report = tmp_path / "report.json"
    code = main(["--config", str(ROOT / "experiments" / "kinship" / "learn_rules.yaml"), "-o", str(out),
                 "--report", str(report), "--max-train", "120", "--epochs", "2", "--max-test-per-k", "10",
                 "--test-ks", "2", "-q"])
    assert code == 0, capsys.readouterr().err
    data = json.loads(report.read_text())
    assert data["candidates"] == 8000 and data["background"]["chain_rules_removed"] == 62
    assert data["accuracy"]["reference"]["2"] == {"n": 10, "accuracy": 1.0, "target_derived": 1.0, "nothing_derived": 0.0}
    assert KnowledgeBase.load([str(KINSHIP), str(out)], strict=False).check() == []


def test_a_config_without_a_graph_reader_is_a_config_error(tmp_path: Path) -> None:
    config = _synthetic_data(tmp_path)
    config.write_text(config.read_text().replace("reader: tasks.kinship.graphs.ClutrrGraphs\n", ""))
    with pytest.raises(ConfigError, match="names no reader of the graph files") as err:
        load_config(config)
    assert "tasks.kinship.graphs.ClutrrGraphs" in err.value.hint
    config.write_text("reader: tasks.kinship.graphs.NoSuchReader\n" + config.read_text())
    with pytest.raises(ConfigError, match="reader 'tasks.kinship.graphs.NoSuchReader' cannot be built") as err:
        load_config(config)
    assert err.value.line == 1
