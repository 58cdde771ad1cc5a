"""``greybox learn-rules`` with a config of data and model sections: the knowledge-graph learner runs through it."""

import json

import pytest

from greybox.errors import ConfigError
from greybox.learn.sections import build_sections
from greybox.training.learn_rules import main

ROWS = ["a\tparent\tb", "b\tparent\tc", "a\tgrandparent\tc", "d\tparent\te", "e\tparent\tf",
        "d\tgrandparent\tf", "g\tparent\th", "h\tparent\ti"]


def _config(tmp_path, model_args="min_support: 2"):
    (tmp_path / "train.tsv").write_text("\n".join(ROWS) + "\n")
    (tmp_path / "dev.tsv").write_text("")
    (tmp_path / "test.tsv").write_text("g\tgrandparent\ti\n")
    config = tmp_path / "kg.yaml"
    config.write_text(f"data:\n  class_path: tasks.kg.model.KGData\n  init_args:\n    data_dir: {tmp_path}\n"
                      f"model:\n  class_path: tasks.kg.model.PathRuleCompletion\n  init_args:\n    {model_args}\n")
    return config


def test_learn_rules_runs_a_sectioned_config(tmp_path, capsys):
    config = _config(tmp_path)
    assert main(["--config", str(config), "-o", str(tmp_path / "rules.dl"), "-q"]) == 0
    report = json.loads((tmp_path / "rules.dl.json").read_text())
    assert report["test_mrr"] == 1.0
    assert "inferred_grandparent(X, Z) :- parent(X, Y1), parent(Y1, Z)." in (tmp_path / "rules.dl").read_text()


def test_options_of_the_story_learner_are_refused(tmp_path, capsys):
    config = _config(tmp_path)
    assert main(["--config", str(config), "-o", str(tmp_path / "rules.dl"), "--epochs", "3"]) == 2
    assert "--epochs does not apply" in capsys.readouterr().err


def test_bad_sections(tmp_path):
    config = _config(tmp_path, model_args="min_suport: 2")
    with pytest.raises(ConfigError, match="model.init_args do not fit"):
        build_sections(config)
    config.write_text(config.read_text().replace("tasks.kg.model.KGData", "tasks.kg.model.Nothing"))
    with pytest.raises(ConfigError, match="data.class_path 'tasks.kg.model.Nothing' cannot be imported"):
        build_sections(config)
