"""Countries: pooled AUC-PR compares scores of different countries; exclusive answers make them comparable."""

import pytest

from greybox.errors import ConfigError
from greybox.learn.path_mining import BodyMatrices, GraphIndex
from greybox.learn.path_rules import PathRule
from greybox.learn.ranking import auc_pr
from tasks.kg.completion import PathRuleCompletion

# x borders a (eu) and b (as): strong evidence for eu, some for as; y borders b only: weak evidence for as
FACTS = [("x", "near", "a"), ("x", "near", "b"), ("a", "in", "eu"), ("b", "in", "as"), ("y", "near", "b")]
RULES = [PathRule("in", (("near", False), ("in", False)), 0.5),
         PathRule("in", (("near", False),), 0.75, anchor="a", answer="eu"),
         PathRule("in", (("near", False),), 0.4, anchor="b", answer="as")]
QUERIES = [("x", "eu"), ("y", "as")]


def _pooled_auc(model):
    matrices = BodyMatrices(GraphIndex(FACTS))
    scores = model.rule_scores(matrices, RULES, ["eu", "as"])
    ids = matrices.index.entity_id
    values = [float(scores[ids[q], ids[c]]) for q, _ in QUERIES for c in ("eu", "as")]
    labels = [c == t for q, t in QUERIES for c in ("eu", "as")]
    return auc_pr(values, labels)


def test_a_countrys_wrong_region_no_longer_outranks_anothers_right_region():
    # noisy-or: x's wrong region (0.7) scores above y's right one (0.5)
    assert _pooled_auc(PathRuleCompletion(aggregation="noisy_or")) == pytest.approx(1 / 2 + 1 / 2 * 2 / 3)
    assert _pooled_auc(PathRuleCompletion(aggregation="noisy_or", exclusive_answers=True)) == 1.0


@pytest.mark.parametrize("options", [{"aggregation": "max"}, {"aggregation": "noisy_or", "embedding": "complex"}])
def test_exclusive_answers_needs_the_rules_noisy_or(options):
    with pytest.raises(ConfigError, match="exclusive_answers conditions the rules' noisy-or probability"):
        PathRuleCompletion(exclusive_answers=True, **options)
