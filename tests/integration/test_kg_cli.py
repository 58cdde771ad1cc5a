"""``greybox fit`` and ``greybox test`` on a knowledge graph: a tiny folder, then another one."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from greybox.training.cli import lightning_main
from tests.helpers.kg_tiny import write_tiny_kg

ROOT = Path(__file__).resolve().parents[2]
QUIET = ["--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]
# the tiny graph's rules have the support of a few families; weights are the confidences
SMALL = ["--model.init_args.min_support=1", "--model.init_args.learn_weights=false"]


def _metrics(folder: Path) -> dict[str, float]:
    """The last row of the test's metrics.csv under ``folder``."""
    (path,) = sorted(folder.rglob("test/version_*/metrics.csv"))[-1:]
    rows = list(csv.DictReader(path.open()))
    return {k: float(v) for k, v in rows[-1].items() if v not in ("", None) and k.startswith("test_")}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A fit of the kinship config on the tiny graph: its data folder and ``last.ckpt``."""
    tmp = tmp_path_factory.mktemp("kgfit")
    data = write_tiny_kg(tmp / "data")
    status = lightning_main(["fit", "--config", str(ROOT / "experiments/kg/kinship.yaml"),
                             f"--data.init_args.data_dir={data}", f"--trainer.default_root_dir={tmp / 'runs'}",
                             *QUIET, *SMALL])
    assert status == 0
    (ckpt,) = (tmp / "runs").rglob("last.ckpt")
    return data, ckpt


def test_fit_writes_a_checkpoint_and_the_checked_rule_file_in_the_run_folder(fitted):
    from greybox.kb.knowledge_base import KnowledgeBase
    from greybox.training.checkpoints import load_checkpoint

    _, ckpt = fitted
    run = ckpt.parent.parent
    state = load_checkpoint(ckpt)  # weights_only=True and greybox's allow-list
    rules = state["kg_rules"]
    assert "grandparent" in rules["heads"] and rules["relations"] == ["child", "grandparent", "knows", "parent"]
    assert state["state_dict"]["rule_logits"].shape == (len(rules["heads"]),)
    assert KnowledgeBase.load([run / "rules.dl", run / "rules.facts.tsv"]).check() == []
    assert "inferred_grandparent(X, Z) :- parent(X, Y1), parent(Y1, Z)." in (run / "rules.dl").read_text()


def test_test_reports_the_ranking_metrics(fitted, tmp_path, capsys):
    data, ckpt = fitted
    assert lightning_main(["test", "--config", str(ROOT / "experiments/kg/kinship.yaml"), "--ckpt_path", str(ckpt),
                           f"--data.init_args.data_dir={data}", *QUIET]) == 0
    out = capsys.readouterr().out
    assert all(k in out for k in ("test_mrr", "test_hits@1", "test_hits@3", "test_hits@10"))
    metrics = _metrics(ckpt.parent.parent)
    # the grandparent rules rank every held-out grandparent first, at both ends
    assert metrics["test_mrr"] == 1.0 and metrics["test_hits@1"] == 1.0


def test_test_scores_another_folder_with_the_checkpoints_rules(fitted, tmp_path):
    _, ckpt = fitted
    other = write_tiny_kg(tmp_path / "other", prefix="q")  # other people, the same relations
    (other / "test.tsv").write_text("q0\tgrandparent\tq2\nq3\tknows\tq6\n")
    assert lightning_main(["test", "--config", str(ROOT / "experiments/kg/kinship.yaml"), "--ckpt_path", str(ckpt),
                           f"--data.init_args.data_dir={other}", f"--trainer.default_root_dir={tmp_path / 'r'}",
                           *QUIET]) == 0
    metrics = _metrics(ckpt.parent.parent)
    # grandparent(q0, q2) ranks first at both ends; no rule derives knows: its answer ties with every
    # other candidate at 0 (mean rank), so the MRR is below 1 and above 1/2
    assert metrics["test_hits@1"] == 0.5
    assert 0.5 < metrics["test_mrr"] < 1.0


def test_the_embedding_trains_with_the_rules_through_the_cli(tmp_path, capsys):
    data = write_tiny_kg(tmp_path / "data")
    config = str(ROOT / "experiments/kg/kinship_kge.yaml")
    args = [f"--data.init_args.data_dir={data}", f"--trainer.default_root_dir={tmp_path / 'runs'}", *QUIET, *SMALL,
            "--trainer.max_epochs=2", "--trainer.check_val_every_n_epoch=1", "--model.init_args.rank=4",
            "--data.init_args.batch_size=16"]
    assert lightning_main(["fit", "--config", config, *args]) == 0
    (ckpt,) = (tmp_path / "runs").rglob("last.ckpt")
    program = (ckpt.parent.parent / "link.dl").read_text()
    assert "nn(kge, [X, R, Y], C, [yes]) :: kge_link(X, R, Y, C)." in program
    assert "link(X, grandparent, Z) :- inferred_grandparent(X, Z)." in program
    capsys.readouterr()
    assert lightning_main(["test", "--config", config, "--ckpt_path", str(ckpt), *args]) == 0
    assert "test_mrr" in capsys.readouterr().out
    assert 0.0 < _metrics(ckpt.parent.parent)["test_mrr"] <= 1.0
    # another folder: people the embedding never saw have no embedding fact; the rules still rank them
    other = write_tiny_kg(tmp_path / "other", prefix="q")
    assert lightning_main(["test", "--config", config, "--ckpt_path", str(ckpt), *args,
                           f"--data.init_args.data_dir={other}"]) == 0
    assert _metrics(ckpt.parent.parent)["test_mrr"] == 1.0
