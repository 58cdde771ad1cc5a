"""Rules and an embedding in one program: the engine's probability of link(h, r, t) is the module's score,
and the explanation says which parts predict a link."""

from __future__ import annotations

import math

import pytest
import torch

from greybox.learn.path_mining import BodyMatrices, GraphIndex, learn_path_rules
from tasks.kg.combined import (NEURAL_MODEL, CalibrationRows, HeldOutRuleRows, calibrated_logit, fit_calibration,
                               link_logit, link_probability, rows_mrr)
from tasks.kg.completion import PathRuleCompletion
from tasks.kg.data import read_benchmark
from tasks.kg.explain import explain_link
from tests.helpers.kg_tiny import write_tiny_kg


@pytest.fixture
def toy(tmp_path):
    """A combined model (3 rules per relation at most, a seeded ComplEx of rank 4) on the tiny graph, exported."""
    kg = read_benchmark(write_tiny_kg(tmp_path / "data"))
    learned = learn_path_rules(kg.facts(), entities=kg.entities, relations=kg.relations, min_support=1, max_rules=3)
    torch.manual_seed(0)
    model = PathRuleCompletion(aggregation="noisy_or", embedding="complex", rank=4)
    model.build(kg.entities, kg.relations, list(learned.rules))
    with torch.no_grad():
        model.kge.entity.weight.normal_(0, 0.8)
        model.kge.relation.weight.normal_(0, 0.8)
        model.rule_logits.uniform_(-2.0, 1.0)  # weights other than the confidences
    files = model.export(tmp_path / "rules.dl", kg)
    return kg, model, files


def _engine_link_probabilities(kg, model, files, relation):
    """The tensor engine's probability of every link(x, relation, z): the exported rules + link.dl + the facts,
    the embedding's facts given to its nn(kge, ...) declaration, exact (top-k with k above every proof count)."""
    from greybox.neural.module import ReasoningModule
    from greybox.neural.predicate import NeuralOutput

    rules_file, _, program_file = files
    facts = "".join(f"{r}({h}, {t}).\n" for h, r, t in kg.facts())
    program = rules_file.read_text() + program_file.read_text() + facts
    k = 1 + sum(r.head == relation for r in model.rules)
    reasoner = ReasoningModule(program, {NEURAL_MODEL: torch.nn.Identity()}, query=f"link(X, {relation}, Z)",
                               semiring="top-k", k=k)
    symbols = reasoner.engine.symbols
    phi = model.embedding_scores(relation, kg.entities)
    rows, probs = [], []
    for i, x in enumerate(kg.entities):
        for j, z in enumerate(kg.entities):
            rows.append([0, symbols.encode(x), symbols.encode(relation), symbols.encode(z)])
            probs.append([float(torch.sigmoid(phi[i, j]))])
    out = reasoner({NEURAL_MODEL: NeuralOutput(torch.tensor(rows), torch.tensor(probs, dtype=torch.float64))},
                   batch_size=1)
    return {(x, z): p for (x, z), p in out.ranked(0)}  # the answer: the free variables X, Z


def _calibrate_by_hand(model, kg, tmp_path):
    """Give ``model`` a calibration other than the identity (as the second stage would) and export it again."""
    with torch.no_grad():
        model.kge_scale.copy_(torch.linspace(0.5, 2.0, len(kg.relations), dtype=torch.float64))
        model.kge_bias.copy_(torch.linspace(-1.5, 0.5, len(kg.relations), dtype=torch.float64))
        model.rule_power.copy_(torch.linspace(0.3, 1.7, len(kg.relations), dtype=torch.float64))
    return model.export(tmp_path / "calibrated.dl", kg)


@pytest.mark.parametrize("calibrated", [False, True])
@pytest.mark.parametrize("relation", ["grandparent", "knows"])
def test_the_engines_probability_of_every_link_is_the_modules_score(toy, relation, calibrated, tmp_path):
    kg, model, files = toy
    if calibrated:  # the program's neural fact is sigmoid(a_r phi + b_r), its rules' weights 1 - (1 - w) ** c_r
        files = _calibrate_by_hand(model, kg, tmp_path)
        raw = model.kge.scores(relation).double()
        k = kg.relations.index(relation)
        assert torch.allclose(model.embedding_scores(relation, kg.entities),
                              raw * model.kge_scale[k] + model.kge_bias[k])
    engine = _engine_link_probabilities(kg, model, files, relation)
    matrices = BodyMatrices(GraphIndex(kg.facts(), kg.entities, kg.relations))
    module = torch.sigmoid(model.link_logits(relation, matrices, kg.entities))  # (E, E)
    assert len(engine) == len(kg.entities) ** 2  # the embedding gives every pair a proof
    for (x, z), p in engine.items():
        i, j = kg.entities.index(x), kg.entities.index(z)
        assert math.isclose(p, float(module[i, j]), rel_tol=1e-9, abs_tol=1e-12), (x, z)
    if relation == "grandparent":  # some links have rule proofs too, and score above the embedding alone
        phi = model.embedding_scores(relation, kg.entities)
        assert (module > torch.sigmoid(phi) + 1e-6).any()


def test_the_reference_evaluators_probability_is_the_modules_score(toy):
    from greybox.engine.reference import query
    from greybox.lang.analysis import analyze
    from greybox.lang.facts import InputFact
    from greybox.lang.parser import parse_program, parse_query

    kg, model, (rules_file, _, program_file) = toy
    facts = "".join(f"{r}({h}, {t}).\n" for h, r, t in kg.facts())
    info = analyze(parse_program(rules_file.read_text() + program_file.read_text() + facts))
    phi = model.embedding_scores("grandparent", kg.entities)
    i = kg.entities.index("p0")
    neural = [InputFact(id=0, relation="kge_link", args=("p0", "grandparent", z, "yes"),
                        probability=float(torch.sigmoid(phi[i, j])), group=("kge", j))
              for j, z in enumerate(kg.entities)]
    answers = query(info, parse_query("?- link(p0, grandparent, X)."), neural, k=1)
    matrices = BodyMatrices(GraphIndex(kg.facts(), kg.entities, kg.relations))
    module = torch.sigmoid(model.link_logits("grandparent", matrices, kg.entities))[i]
    got = {a.values[0]: a.probability for a in answers}
    assert len(got) == len(kg.entities)
    assert all(math.isclose(p, float(module[kg.entities.index(z)]), rel_tol=1e-9) for z, p in got.items())


def test_link_logit_orders_links_as_their_probability_even_when_it_rounds_to_one():
    phi = torch.tensor([0.0, 0.0, 5.0], dtype=torch.float64)
    log_not = torch.tensor([-60.0, -50.0, -50.0], dtype=torch.float64)  # 60 / 50 rules of weight 1 - 1/e fire
    assert link_probability(phi, log_not).tolist() == [1.0, 1.0, 1.0]  # 1 - tiny is 1.0 in float64
    logits = link_logit(phi, log_not)
    assert logits[0] > logits[2] > logits[1]


def test_training_sees_the_rules_on_the_graph_without_the_facts_fold():
    facts = [("a", "p", "b"), ("b", "p", "c"), ("a", "g", "c"), ("d", "p", "e"), ("e", "p", "f"), ("d", "g", "f")]
    from greybox.learn.path_rules import PathRule

    rule = PathRule("g", (("p", False), ("p", False)), 0.5)
    w = torch.tensor([-1.0], dtype=torch.float64, requires_grad=True)
    # seed 4: every fact in one fold: without it the graph is empty of paths; seed 5: g(a, c) apart from a-p-b-p-c
    alone = HeldOutRuleRows(facts, "abcdef", ["g", "p"], [rule], folds=2, seed=5)
    tail, head = alone.features([("a", "g", "c")], w)
    assert tail[0].tolist() == [0, 0, -1, 0, 0, 0] and head[0].tolist() == [-1, 0, 0, 0, 0, 0]
    tail.sum().backward()
    assert w.grad.tolist() == [1.0]  # the weights learn through the rows
    together = HeldOutRuleRows(facts, "abcdef", ["g", "p"], [rule], folds=2, seed=4)
    assert together.features([("a", "g", "c")], w.detach())[0].abs().sum() == 0


def test_the_explanation_says_which_parts_predict_a_link(toy, tmp_path):
    kg, model, files = toy
    rules_file, _, program_file = map(str, files)
    matrices = BodyMatrices(GraphIndex(kg.facts(), kg.entities, kg.relations))
    both = explain_link(model, kg.graph, ("p0", "grandparent", "p2"), rules_file, program_file)
    assert "predicted by rules and the embedding" in both
    assert f"kge_link(p0, grandparent, p2, yes)  {program_file}:3" in both
    assert f"{rules_file}:" in both and "parent(p0, p1)" in both
    i, j = kg.entities.index("p0"), kg.entities.index("p2")
    p = float(torch.sigmoid(model.link_logits("grandparent", matrices, kg.entities))[i, j])
    assert f"p = {p:.4f}" in both.splitlines()[0]
    alone = explain_link(model, kg.graph, ("p0", "knows", "p6"), rules_file, program_file)
    assert "predicted by the embedding alone" in alone and "rules: none fires" in alone
    rules_only = PathRuleCompletion(aggregation="noisy_or")
    rules_only.build(kg.entities, kg.relations, model.weighted_rules())
    rules_only.export(tmp_path / "alone.dl", kg)
    text = explain_link(rules_only, kg.graph, ("p0", "grandparent", "p2"), str(tmp_path / "alone.dl"))
    assert "predicted by rules alone" in text and "embedding" not in text.split("\n", 1)[1]


def _rows(phi, log_not, answer):
    phi = torch.tensor(phi, dtype=torch.float64)
    return CalibrationRows(phi, torch.tensor(log_not, dtype=torch.float64), torch.zeros(len(phi), dtype=torch.long),
                           torch.tensor(answer), torch.zeros(phi.shape, dtype=torch.bool))


def test_the_calibration_turns_down_rules_that_lift_wrong_answers():
    # the embedding ranks every answer first; the rules fire strongly for a wrong candidate, weakly for the answer
    rows = _rows([[2.0, 0.0, -1.0]] * 6, [[-0.5, -3.0, 0.0]] * 6, [0] * 6)
    one, zero = torch.ones(1, dtype=torch.float64), torch.zeros(1, dtype=torch.float64)
    assert rows_mrr(calibrated_logit(rows, one, zero, one), rows.answer) == 0.5  # uncalibrated: the wrong one first
    scale, bias, power = fit_calibration(rows, 1, per_relation=False)
    assert float(power[0]) < 0.5  # the rules' weights are scaled down
    assert rows_mrr(calibrated_logit(rows, scale, bias, power), rows.answer) == 1.0


def test_the_calibration_keeps_rules_that_find_what_the_embedding_misses():
    # the embedding is unsure (the answer ties with a wrong candidate); the rules fire for the answer only
    rows = _rows([[0.0, 0.0, -1.0]] * 6, [[-2.0, 0.0, 0.0]] * 6, [0] * 6)
    scale, bias, power = fit_calibration(rows, 1, per_relation=False)
    assert float(power[0]) > 1.0  # the rules are trusted more than their weights said
    assert rows_mrr(calibrated_logit(rows, scale, bias, power), rows.answer) == 1.0


def test_the_second_stage_fits_on_dev_with_the_embedding_and_weights_frozen(toy):
    kg, model, _ = toy
    kge_before = {k: v.clone() for k, v in model.kge.state_dict().items()}
    logits_before = model.rule_logits.detach().clone()
    report = model.fit_calibration(kg)
    assert report["dev_rows"] == 2 * len(kg.valid)
    assert report["dev_mrr_fitted"] >= report["dev_mrr_uncalibrated"] - 1e-12
    assert not torch.equal(model.kge_scale, torch.ones_like(model.kge_scale))  # it moved
    assert all(torch.equal(v, model.kge.state_dict()[k]) for k, v in kge_before.items())
    assert torch.equal(model.rule_logits.detach(), logits_before)
    # the rules' weights in the program (and the file) are the calibrated ones
    k = kg.relations.index("grandparent")
    raw = torch.sigmoid(logits_before)
    want = 1 - (1 - raw) ** model.rule_power[k]
    pick = [i for i, r in enumerate(model.rules) if r.head == "grandparent"]
    assert torch.allclose(model.weights()[pick], want[pick])


def test_a_checkpoint_without_a_calibration_loads_as_the_identity(toy):
    kg, model, _ = toy
    checkpoint = {"state_dict": {k: v for k, v in model.state_dict().items()
                                 if k not in ("kge_scale", "kge_bias", "rule_power")}}
    model.on_save_checkpoint(checkpoint)
    other = PathRuleCompletion(aggregation="noisy_or", embedding="complex", rank=4)
    other.on_load_checkpoint(checkpoint)
    other.load_state_dict(checkpoint["state_dict"])  # strict: the missing keys were filled in
    assert other.rule_power.tolist() == [1.0] * len(kg.relations) and other.kge_bias.abs().sum() == 0
    assert torch.allclose(other.weights(), model.weights())


def test_fit_calibrates_after_training_and_from_trained_checkpoints(tmp_path, capsys):
    from pathlib import Path

    from greybox.training.checkpoints import load_checkpoint
    from greybox.training.cli import lightning_main

    config = str(Path(__file__).resolve().parents[3] / "experiments/kg/kinship_kge.yaml")
    data = write_tiny_kg(tmp_path / "data")
    common = [f"--data.init_args.data_dir={data}", "--trainer.enable_progress_bar=false",
              "--trainer.enable_model_summary=false", "--model.init_args.min_support=1",
              "--model.init_args.learn_weights=false", "--trainer.check_val_every_n_epoch=1",
              "--model.init_args.rank=4", "--data.init_args.batch_size=16", "--model.init_args.calibrate=auto",
              "--model.init_args.stack_folds=0"]
    # one fit: the embedding trains alone for 2 epochs, the rules' weights stay; then the calibration on dev
    assert lightning_main(["fit", "--config", config, *common, "--trainer.max_epochs=2",
                           f"--trainer.default_root_dir={tmp_path / 'a'}"]) == 0
    assert "calibration on dev: dev_rows 4," in capsys.readouterr().out
    (first,) = (tmp_path / "a").rglob("last.ckpt")
    state = load_checkpoint(first)["state_dict"]
    assert not torch.equal(state["rule_power"], torch.ones_like(state["rule_power"]))
    # from that checkpoint's embedding and rules: nothing trains, the same calibration
    assert lightning_main(["fit", "--config", config, *common, "--trainer.max_epochs=1",
                           f"--model.init_args.kge_ckpt={first}", f"--model.init_args.rules_ckpt={first}",
                           f"--trainer.default_root_dir={tmp_path / 'b'}"]) == 0
    (second,) = (tmp_path / "b").rglob("last.ckpt")
    again = load_checkpoint(second)["state_dict"]
    for key in ("kge.entity.weight", "rule_logits", "rule_power", "kge_scale", "kge_bias"):
        assert torch.allclose(again[key], state[key]), key
    assert (second.parent.parent / "link.dl").exists()


def test_an_embedding_of_another_graph_is_refused(toy, tmp_path):
    from greybox.errors import CheckpointError

    kg, model, _ = toy
    checkpoint = {"state_dict": model.state_dict()}
    model.on_save_checkpoint(checkpoint)
    checkpoint["kg_rules"]["entities"] = list(reversed(checkpoint["kg_rules"]["entities"]))
    torch.save(checkpoint, tmp_path / "other.ckpt")
    other = PathRuleCompletion(aggregation="noisy_or", embedding="complex", rank=4)
    other.build(kg.entities, kg.relations, [])
    with pytest.raises(CheckpointError, match="other.ckpt: the embedding was trained on other entities"):
        other._load_embedding(str(tmp_path / "other.ckpt"))


# ---------------------------------------------------------------------- rule weights refitted out of fold

def _oof_rows(phi, fires, answer):
    """Out-of-fold rows of one relation from plain lists: ``fires`` as ``(row, rule, candidate)`` triples."""
    from tasks.kg.stacking import OutOfFoldRows

    phi = torch.tensor(phi, dtype=torch.float64)
    return OutOfFoldRows(phi, torch.tensor(answer), torch.zeros(len(answer), dtype=torch.long),
                         torch.zeros(phi.shape, dtype=torch.bool), torch.tensor(fires, dtype=torch.long).t())


def test_refitted_weights_raise_a_rule_that_finds_what_the_embedding_misses_and_lower_one_that_misleads():
    from tasks.kg.stacking import fit_rule_weights

    # the embedding ties the answer (0) with a wrong candidate (1); rule 0 fires on the answer, rule 1 on the
    # wrong candidate, rule 2 never fires
    rows = _oof_rows([[0.0, 0.0, -2.0]] * 8, [(i, 0, 0) for i in range(8)] + [(i, 1, 1) for i in range(8)], [0] * 8)
    start = torch.zeros(3, dtype=torch.float64)  # every weight 0.5
    theta = fit_rule_weights(rows, start, l2=0.1)
    assert theta[0] > 1.0 and theta[1] < -1.0 and theta[2] == 0.0
    # a stronger pull toward the learned values moves them less
    assert 0 < fit_rule_weights(rows, start, l2=10.0)[0] < theta[0]


def test_out_of_fold_rows_use_parts_that_never_saw_the_fact(tmp_path):
    import numpy as np

    from greybox.learn.path_rules import PathRule
    from tasks.kg.stacking import OutOfFoldRows, train_forward_complex

    kg = read_benchmark(write_tiny_kg(tmp_path / "data"))
    facts = [tuple(f) for f in kg.facts()]
    rules = [PathRule("grandparent", (("parent", False), ("parent", False)), 0.5),
             PathRule("knows", (("knows", False),), 0.5)]  # fires on a fact's own answer only if the fact is seen
    options = dict(rank=4, epochs=3, batch_size=16)
    rows = OutOfFoldRows.build(facts, kg.entities, kg.relations, rules, folds=3, seed=1, **options)
    assert len(rows) == 2 * len(facts)
    fold_of = np.random.default_rng(1).integers(3, size=len(facts))
    order = [f for k in range(3) for f, j in zip(facts, fold_of) if j == k]  # rows: fold by fold, tail then head
    fired = {(int(i), int(n), int(c)) for i, n, c in rows.fires.t()}
    ids = {e: i for i, e in enumerate(kg.entities)}
    for b, (h, r, t) in enumerate(order):
        rest = {f for f, j in zip(facts, fold_of) if j != fold_of[facts.index((h, r, t))]}
        assert (2 * b, 1, ids[t]) not in fired  # knows(X, Z) :- knows(X, Z) never sees its own fact
        if r == "grandparent":
            joined = {z for (x, p, y) in rest if p == "parent" and x == h for (y2, p2, z) in rest
                      if p2 == "parent" and y2 == y}
            assert {c for i, n, c in fired if i == 2 * b} == {ids[z] for z in joined}
    # the rows of fold 0 are scored by an embedding trained without fold 0 (seed + fold)
    kge = train_forward_complex([f for f, j in zip(facts, fold_of) if j != 0], kg.entities, kg.relations,
                                seed=1, **options)
    h, r, t = order[0]
    want = kge(torch.tensor([ids[h]]), torch.tensor([kg.relations.index(r)]))[0][0].double()
    assert torch.allclose(rows.phi[0], want)


def test_the_second_stage_keeps_the_rule_weights_that_rank_dev_better_and_the_program_stays_exact(toy, tmp_path):
    kg, model, _ = toy
    model.stack_folds, model.calibrate = 2, "auto"
    learned = model.rule_logits.detach().clone()
    stacked = model.stacked_rule_logits(kg)
    assert not torch.allclose(stacked, learned)  # a second source of weights
    report = model.fit_calibration(kg)
    assert {"dev_mrr_stacked_global_crossfitted", "dev_mrr_stacked_relation_crossfitted"} <= set(report)
    key = {"learned": "dev_mrr_{}_crossfitted", "stacked": "dev_mrr_stacked_{}_crossfitted"}
    best = max(report[key[w].format(s)] for w in key for s in ("global", "relation"))
    assert report[key[report["weights"]].format(report["scope"])] == best
    assert torch.allclose(model.rule_logits.detach(), stacked if report["weights"] == "stacked" else learned)
    # whichever weights: the engine's value of every link is the module's score
    with torch.no_grad():
        model.rule_logits.copy_(stacked)
    files = model.export(tmp_path / "stacked.dl", kg)
    got = _engine_link_probabilities(kg, model, files, "grandparent")
    want = torch.sigmoid(model.link_logits("grandparent", BodyMatrices(GraphIndex(kg.facts(), kg.entities,
                                                                                  kg.relations)), kg.entities))
    for (x, z), p in got.items():
        assert p == pytest.approx(float(want[kg.entities.index(x), kg.entities.index(z)]), abs=1e-9)


@pytest.mark.parametrize("options, message", [
    (dict(stack_folds=1, calibrate="auto"), "stack_folds 1: the training facts are cut into at least 2 folds"),
    (dict(stack_folds=5, calibrate=None), "stack_folds refits the rules' weights before the calibration"),
])
def test_stack_folds_needs_folds_and_a_calibration(options, message):
    from greybox.errors import ConfigError

    with pytest.raises(ConfigError, match=message):
        PathRuleCompletion(aggregation="noisy_or", embedding="complex", **options)


def test_fit_refits_the_rule_weights_out_of_fold_inside_the_last_validation(tmp_path, capsys):
    from pathlib import Path

    from greybox.training.checkpoints import load_checkpoint
    from greybox.training.cli import lightning_main

    config = str(Path(__file__).resolve().parents[3] / "experiments/kg/kinship_kge.yaml")
    data = write_tiny_kg(tmp_path / "data")
    assert lightning_main(["fit", "--config", config, f"--data.init_args.data_dir={data}",
                           "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
                           "--model.init_args.min_support=1", "--model.init_args.learn_weights=false",
                           "--trainer.check_val_every_n_epoch=1", "--model.init_args.rank=4",
                           "--data.init_args.batch_size=16", "--model.init_args.stack_folds=2",
                           "--trainer.max_epochs=2", f"--trainer.default_root_dir={tmp_path / 'a'}"]) == 0
    out = capsys.readouterr().out
    assert "out-of-fold rows: fold 2/2" in out
    assert out.count("calibration on dev:") == 2  # at each validated epoch, for that epoch's embedding
    line = next(x for x in out.splitlines() if x.startswith("calibration on dev:"))
    assert "dev_mrr_stacked_relation_crossfitted" in line and (" weights learned" in line or " weights stacked" in line)
    (last,) = (tmp_path / "a").rglob("last.ckpt")
    assert "rule_logits" in load_checkpoint(last)["state_dict"]


def test_a_last_epoch_without_validation_is_calibrated_at_the_end_with_a_warning(tmp_path, capsys):
    from pathlib import Path

    from greybox.training.cli import lightning_main

    config = str(Path(__file__).resolve().parents[3] / "experiments/kg/kinship_kge.yaml")
    data = write_tiny_kg(tmp_path / "data")
    assert lightning_main(["fit", "--config", config, f"--data.init_args.data_dir={data}",
                           "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false",
                           "--model.init_args.min_support=1", "--model.init_args.learn_weights=false",
                           "--trainer.check_val_every_n_epoch=2", "--model.init_args.rank=4",
                           "--data.init_args.batch_size=16", "--model.init_args.stack_folds=0",
                           "--trainer.max_epochs=3", f"--trainer.default_root_dir={tmp_path / 'a'}"]) == 0
    out = capsys.readouterr().out
    assert out.count("calibration on dev:") == 2  # after epoch 2 (validated), then at the end for epoch 3
    assert "warning: the last epoch was not validated" in out
