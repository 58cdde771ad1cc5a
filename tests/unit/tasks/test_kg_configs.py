"""The KG configs: every one builds its sections; Countries S1 runs end to end on the shared data."""

import json
from pathlib import Path

import pytest

from greybox.learn.sections import build_sections
from tasks.kg.__main__ import main

ROOT = Path(__file__).resolve().parents[3]
CONFIGS = sorted((ROOT / "experiments/kg").glob("*.yaml"))
COUNTRIES = ROOT.parent / "shared/data/kg/countries"


def test_there_is_a_config_per_benchmark():
    assert {c.stem for c in CONFIGS} == {"family", "kinship", "umls", "nations", "countries_s1", "countries_s2",
                                         "countries_s3", "kinship_kge", "umls_kge", "nations_kge"}


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_config_builds(config, monkeypatch):
    monkeypatch.chdir(ROOT)
    data, model = build_sections(config)
    assert Path(data.data_dir).name in config.stem or data.layout == "countries"
    assert model.aggregation in ("max", "noisy_or", "log_count")
    assert (model.embedding == "complex") == config.stem.endswith("_kge")


def test_countries_s1_end_to_end_with_another_data_dir(tmp_path, monkeypatch, capsys):
    if not COUNTRIES.is_dir():
        pytest.skip(f"Countries data not found at {COUNTRIES}")
    monkeypatch.chdir(ROOT)
    out = tmp_path / "c1.dl"
    assert main(["--config", "experiments/kg/countries_s1.yaml", "--data.init_args.data_dir", str(COUNTRIES),
                 "-o", str(out), "-q"]) == 0
    report = json.loads(out.with_suffix(".dl.json").read_text())
    assert set(report) >= {"test_mrr", "test_hits@1", "test_hits@3", "test_hits@10", "test_auc_pr"}
    assert report["test_auc_pr"] > 0.9  # S1 keeps each test country's subregion: locatedIn is transitive


def test_a_missing_data_dir_is_reported(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    assert main(["--config", "experiments/kg/kinship.yaml", "--data.init_args.data_dir", str(tmp_path / "nope"),
                 "-o", str(tmp_path / "k.dl")]) == 2
    assert "data folder not found" in capsys.readouterr().err


def test_learn_rules_reads_the_config_paths_from_the_project_root_wherever_it_runs(tmp_path, monkeypatch, capsys):
    if not COUNTRIES.is_dir():
        pytest.skip(f"no shared data at {COUNTRIES}")
    from greybox.training.learn_rules import main as learn_rules

    monkeypatch.chdir(tmp_path)                      # not the project root: ../shared is not here
    out = tmp_path / "c1.dl"
    assert learn_rules(["--config", str(ROOT / "experiments/kg/countries_s1.yaml"), "-o", str(out), "--quiet"]) == 0
    assert json.loads(out.with_suffix(".dl.json").read_text())["test_auc_pr"] > 0.5
    assert learn_rules(["--config", str(ROOT / "experiments/kg/countries_s1.yaml"),
                        "--config", str(ROOT / "experiments/kg/countries_s2.yaml"), "-o", str(out)]) == 2
    assert "is given alone" in capsys.readouterr().err
