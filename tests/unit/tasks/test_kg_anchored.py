"""Anchored rules ``r(X, answer) :- ..., rn(Yn-1, anchor)`` in the Lightning model and in explanations."""

import networkx as nx
import torch

from greybox.learn.path_rules import PathRule
from tasks.kg.completion import PathRuleCompletion
from tasks.kg.explain import link_proofs

ANCHORED = PathRule("locatedin", (("neighborof", False), ("neighborof", False)), 0.375, 4, 9,
                    anchor="chad", answer="africa")
CHAIN = PathRule("locatedin", (("neighborof", False), ("locatedin", False)), 0.5, 3, 6)


def _graph():
    g = nx.MultiDiGraph()
    for h, t, r, line in [("eritrea", "sudan", "neighborof", 1), ("sudan", "chad", "neighborof", 2),
                          ("sudan", "africa", "locatedin", 3), ("eritrea", "yemen", "neighborof", 4)]:
        g.add_edge(h, t, key=r, origin=f"g.tsv:{line}")
    return g


def test_an_anchored_rule_proves_its_answer_by_a_path_to_its_anchor():
    g = _graph()
    proofs = link_proofs(g, [ANCHORED, CHAIN], ("eritrea", "locatedin", "africa"))
    assert [p.rule for p in proofs] == [CHAIN, ANCHORED]
    assert [f[:3] for f in proofs[1].facts] == [("eritrea", "neighborof", "sudan"), ("sudan", "neighborof", "chad")]
    # the anchored rule concludes africa only: no proof of another region, even with a path to chad
    assert link_proofs(g, [ANCHORED], ("eritrea", "locatedin", "asia")) == []
    # no path to the anchor: no proof
    assert link_proofs(g, [ANCHORED], ("yemen", "locatedin", "africa")) == []


def test_a_checkpoint_keeps_the_anchor_and_answer_of_each_rule():
    model = PathRuleCompletion()
    model.build(["eritrea", "sudan", "chad", "africa"], ["neighborof", "locatedin"], [CHAIN, ANCHORED])
    checkpoint: dict = {}
    model.on_save_checkpoint(checkpoint)
    loaded = PathRuleCompletion()
    loaded.on_load_checkpoint(checkpoint)
    assert [(r.head, r.body, r.anchor, r.answer) for r in loaded.rules] == \
        [(r.head, r.body, r.anchor, r.answer) for r in (CHAIN, ANCHORED)]
    loaded.rule_logits = torch.nn.Parameter(model.rule_logits.detach().clone(), requires_grad=False)
    assert [r.text() for r in loaded.weighted_rules()] == [r.text() for r in model.weighted_rules()]


def test_an_explanation_shows_the_score_ranked_given_one_answer(tmp_path):
    from greybox.learn.path_rules import write_path_rule_file
    from tasks.kg.explain import explain_link

    model = PathRuleCompletion(aggregation="noisy_or", exclusive_answers=True)
    rules = write_path_rule_file(tmp_path / "rules.dl", [CHAIN, ANCHORED], ["toy"])
    model.build(["eritrea", "sudan", "chad", "yemen", "africa"], ["neighborof", "locatedin"], rules)
    text = explain_link(model, _graph(), ("eritrea", "locatedin", "africa"), str(tmp_path / "rules.dl"), ranked=0.8)
    assert text.splitlines()[0].startswith("link(eritrea, locatedin, africa): p = 0.6875")  # 1 - 0.5 * 0.625
    assert text.splitlines()[1] == "  ranked by p = 0.8000 given exactly one candidate answer (exclusive_answers)"
