"""``aggregation: log_count`` end to end: the rules rank a link by how many paths vouch for it, the exported file
passes ``kb check`` and says how scores are made, and the explanation gives each rule's weight and paths."""

import pytest

from greybox.errors import ConfigError
from tasks.kg.data import read_benchmark
from tasks.kg.explain import explain_link
from tasks.kg.model import KGData, PathRuleCompletion, run
from tests.helpers.kg_tiny import path_count_folder


@pytest.mark.parametrize("aggregation, mrr", [("noisy_or", (1 + 1 / 1.5) / 2), ("log_count", 1.0)])
def test_the_path_count_score_breaks_the_noisy_ors_tie(tmp_path, aggregation, mrr):
    report = run(KGData(str(path_count_folder(tmp_path))),
                 PathRuleCompletion(min_support=2, smoothing=0.0, max_length=2, aggregation=aggregation),
                 str(tmp_path / "rules.dl"))
    assert report["test_mrr"] == pytest.approx(mrr)
    header = (tmp_path / "rules.dl").read_text()
    assert ("v_k * log(1 + n_k(x, z))" in header) == (aggregation == "log_count")


def test_the_explanation_gives_each_rules_weight_and_paths(tmp_path):
    from greybox.learn.path_rules import PathRule

    kg = read_benchmark(path_count_folder(tmp_path))
    model = PathRuleCompletion(aggregation="log_count")
    model.build(kg.entities, kg.relations, [PathRule("r", (("p", False), ("q", False)), 0.75, line=7)])
    text = explain_link(model, kg.graph, ("x11", "r", "z11"), "rules.dl")
    assert "ranked by score = 1.5230" in text  # -log(1 - 0.75) * log(1 + 2)
    assert "1.3863 * log(1 + 2)  rules.dl:7" in text
    assert "ranked by score = 0.9609" in explain_link(model, kg.graph, ("x11", "r", "y11"), "rules.dl")


def test_log_count_is_for_the_rules_alone():
    with pytest.raises(ConfigError, match="combined with the rules by noisy-or"):
        PathRuleCompletion(aggregation="log_count", embedding="complex")
    with pytest.raises(ConfigError, match="exclusive_answers conditions the rules' noisy-or"):
        PathRuleCompletion(aggregation="log_count", exclusive_answers=True)
