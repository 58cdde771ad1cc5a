"""Bad cases of ranking by learned path rules alone: a link that many paths of a rule vouch for tied with a
link that one path reaches, because the noisy-or counts each rule once."""

from tasks.kg.model import KGData, PathRuleCompletion, run
from tests.helpers.kg_tiny import path_count_folder


def test_a_link_with_more_paths_ranks_first_with_fitted_weights(tmp_path):
    report = run(KGData(str(path_count_folder(tmp_path, "x10\tr\tz10\n"))),
                 PathRuleCompletion(min_support=2, smoothing=0.0, max_length=2, aggregation="log_count",
                                    learn_weights=True),
                 str(tmp_path / "rules.dl"))
    # tail: z11 (two paths) before y11 (one); head: x11 alone reaches z11
    assert report["test_mrr"] == 1.0
    assert "v_k * log(1 + n_k(x, z))" in (tmp_path / "rules.dl").read_text()


def test_the_kinship_config_ranks_by_path_counts(monkeypatch):
    from pathlib import Path

    from greybox.learn.sections import build_sections

    root = Path(__file__).resolve().parents[2]
    monkeypatch.chdir(root)
    _, model = build_sections(root / "experiments/kg/kinship.yaml")
    assert model.aggregation == "log_count" and model.learn_weights
