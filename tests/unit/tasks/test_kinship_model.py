"""The relation extractor, the task program, and training through the kinship rules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from greybox.errors import ConfigError
from greybox.neural.predicate import NeuralOutput
from greybox.training.finetuning import Finetuning
from greybox.training.module import ReasoningTask
from tasks.kinship.data import RELATIONS, PairText, collate_stories, parse_story
from tasks.kinship.model import (KINSHIP_READ_RULES, KINSHIP_RULES, KINSHIP_TASK_RULES, RelationExtractor, kinship_program,
                                 minilm_path)

ROOT = Path(__file__).resolve().parents[3]
FACTS = {"pair_first": "pair_first", "pair_second": "pair_second", "query_person": "query", "person_gender": "genders"}
# Dan's father is Bob, Bob's father is Cid: Cid is Dan's grandfather
STORY = parse_story("[Bob] is the father of [Dan]. [Cid] is the father of [Bob].", ("Dan", "Cid"), "grandfather",
                    "Dan:male,Bob:male,Cid:male", window=1)


class NamedSecondIsFather(nn.Module):
    """Says `father` when the pair's second person is named first in the sentence, else `none`.

    For "[Bob] is the father of [Dan]" that is the pair (Dan, Bob): father(dan, bob).
    A learnable sharpness lets gradients be checked.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sharpness = nn.Parameter(torch.tensor(4.0))

    def forward(self, x: list[PairText | None]) -> torch.Tensor:
        logits = torch.zeros(len(x), len(RELATIONS) + 1)
        says_father = torch.tensor([float(p is not None and p.second_span[0] < p.first_span[0]) for p in x])
        logits[:, RELATIONS.index("father")] = self.sharpness * says_father
        logits[:, -1] = self.sharpness * (1 - says_father)
        return torch.softmax(logits, -1) * _real(x)


def _real(x: list[PairText | None]) -> torch.Tensor:
    """``(N, 1)``: 1 for a pair, 0 for padding."""
    return torch.tensor([[p is not None] for p in x])


def _task(net: nn.Module, semiring: str = "max-mult") -> ReasoningTask:
    return ReasoningTask(kinship_program(ROOT), {"relation_net": net}, train_query="answer(R)",
                         inputs={"relation_net": "pairs"}, sequence_facts=FACTS, semiring=semiring)


def _frozen(net: RelationExtractor) -> RelationExtractor:
    """``net`` with its encoder frozen, as the frozen variants' ``Finetuning`` callback leaves it."""
    Finetuning(module="encoder", unfreeze_at_epoch=None).freeze_before_training(net)
    return net


def _config_finetuning(path: Path) -> Finetuning:
    """The ``Finetuning`` callback that a config's ``trainer.callbacks`` lists."""
    config = yaml.safe_load(path.read_text())
    found = [c for c in config["trainer"]["callbacks"] if c["class_path"] == "greybox.training.finetuning.Finetuning"]
    assert len(found) == 1, f"{path} lists {len(found)} Finetuning callbacks"
    return Finetuning(**found[0]["init_args"])


@pytest.fixture(scope="module")
def extractor() -> RelationExtractor:
    return _frozen(RelationExtractor())


def test_encoder_loads_offline_from_the_package(extractor: RelationExtractor) -> None:
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert (minilm_path() / "model.safetensors").is_file()
    assert extractor.encoder.config.hidden_size == 384
    assert not any(p.requires_grad for p in extractor.encoder.parameters())
    assert all(p.requires_grad for p in extractor.head.parameters())


def test_extractor_gives_a_distribution_per_valid_pair_and_zeros_for_padding(extractor: RelationExtractor) -> None:
    # Kim is not named, so the queried pair is not among the story's pairs: all 6 are read
    other = parse_story("[Ann] and her son [Tom] and his wife [Eve] ate.", ("Ann", "Kim"), "daughter",
                        "Ann:female,Tom:male,Eve:female,Kim:female", window=1)
    batch = collate_stories([STORY, other])
    x = batch["pairs"].flat()  # B*M pairs, None for padding
    p = extractor(x)
    assert p.shape == (2 * 6, 21)
    valid = _real(x)[:, 0]
    assert int(valid.sum()) == 4 + 6
    assert torch.allclose(p[valid].sum(1), torch.ones(int(valid.sum())))
    assert p[~valid].abs().sum() == 0
    # each distinct sentence was encoded once
    assert len(extractor._cache) == 3


def test_extractor_reads_both_names_so_direction_matters(extractor: RelationExtractor) -> None:
    x = collate_stories([STORY])["pairs"].flat()  # pairs (Dan, Bob) then (Bob, Dan) of one sentence
    p = extractor.eval()(x[:2])
    assert not torch.allclose(p[0], p[1])


def test_extractor_rejects_what_is_not_a_list_of_pairs(extractor: RelationExtractor) -> None:
    from greybox.errors import ShapeError

    with pytest.raises(ShapeError, match=r"expects a list of PairText \(None for padding\), got Tensor"):
        extractor(torch.zeros(3, 4, dtype=torch.int64))
    with pytest.raises(ShapeError, match=r"expects a list of PairText"):
        extractor(["Bob is the father of Dan."])


def test_perception_gives_one_neural_output_row_per_candidate_pair() -> None:
    task = _task(NamedSecondIsFather())
    batch = collate_stories([STORY, STORY])
    out = task.reasoner.perceive({"relation_net": batch["pairs"]})["relation_net"]
    assert isinstance(out, NeuralOutput)
    assert out.args.shape == (8, 2) and out.probs.shape == (8, 21)
    assert out.args[:, 0].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_father_of_father_is_grandfather_and_gradients_flow() -> None:
    net = NamedSecondIsFather()
    task = _task(net, "max-mult")
    batch = collate_stories([STORY])
    loss, out = task.loss(batch)
    codes, prob = out.predict()
    assert RELATIONS[int(codes[0, 0])] == "grandfather"
    reading = torch.exp(torch.tensor(4.0)) / (torch.exp(torch.tensor(4.0)) + 20)  # p(father) of one pair
    assert float(prob[0]) == pytest.approx(float(reading) ** 2, rel=1e-5)  # best proof: both readings
    loss.backward()
    assert net.sharpness.grad is not None and float(net.sharpness.grad) < 0  # sharper readings, likelier answer


def test_add_mult_diverges_on_the_cyclic_kinship_rules() -> None:
    from greybox.errors import ResourceLimitError

    task = _task(NamedSecondIsFather(), "add-mult")
    with pytest.raises(ResourceLimitError, match="grew without bound"):
        task.loss(collate_stories([STORY]))


def test_real_extractor_trains_through_the_rules(extractor: RelationExtractor) -> None:
    task = _task(extractor.train())
    batch = collate_stories([STORY])
    loss, _ = task.loss(batch)
    assert torch.isfinite(loss)
    loss.backward()
    grads = [p.grad for p in extractor.head.parameters()]
    assert all(g is not None for g in grads) and any(float(g.abs().sum()) > 0 for g in grads)


def test_config_evaluates_both_rule_files_and_proofs_name_each_file() -> None:
    config = yaml.safe_load((ROOT / "experiments/kinship/clutrr.yaml").read_text())
    assert config["model"]["program"] == [KINSHIP_RULES, KINSHIP_READ_RULES["kinds"], KINSHIP_TASK_RULES]
    task = _task(NamedSecondIsFather())
    files = {str(s.span.file) for s in task.reasoner.engine.info.program.statements}
    assert files == set(kinship_program(ROOT))
    with pytest.raises(ConfigError, match="rule file .*nope.dl' does not exist"):
        ReasoningTask([KINSHIP_RULES, "nope.dl"], {"relation_net": NamedSecondIsFather()}, train_query="answer(R)")


def test_fine_tuned_encoder_gets_its_own_smaller_learning_rate() -> None:
    net = RelationExtractor(hidden=8)
    task = _task(net)
    task.lr = 1e-3
    callback = Finetuning(module="reasoner.networks.relation_net.encoder", unfreeze_at_epoch=0, lr_scale=0.1)
    callback.freeze_before_training(task)
    opt = task.configure_optimizers()
    assert [g["lr"] for g in opt.param_groups] == [1e-3]  # the frozen encoder is not optimised
    callback.finetune_function(task, 0, opt)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([1e-3, 1e-4])
    grouped = [id(p) for g in opt.param_groups for p in g["params"]]
    assert len(grouped) == len(set(grouped)) == len(list(task.parameters()))
    assert {id(p) for p in opt.param_groups[1]["params"]} == {id(p) for p in net.encoder.parameters()}
    assert all(p.requires_grad for p in net.encoder.parameters())


def test_config_fine_tunes_the_encoder_as_measured() -> None:
    """``clutrr.yaml``: the extractor's head (and anchor) at ``lr``, the encoder from the first epoch
    at 0.02 x ``lr`` in train mode without dropout (how every figure in RESULTS.md was measured)."""
    config = yaml.safe_load((ROOT / "experiments/kinship/clutrr.yaml").read_text())
    args = config["model"]["networks"]["relation_net"]["init_args"]
    net = RelationExtractor(**{**args, "hidden": 8})
    task = _task(net)
    task.lr = config["model"]["lr"]
    callback = _config_finetuning(ROOT / "experiments/kinship/clutrr.yaml")
    callback.freeze_before_training(task)
    opt = task.configure_optimizers()
    callback.finetune_function(task, 0, opt)
    head = {id(p) for p in [*net.head.parameters(), *net.word_head.parameters()]}
    assert [{id(p) for p in g["params"]} for g in opt.param_groups] == [head, {id(p) for p in net.encoder.parameters()}]
    assert [g["lr"] for g in opt.param_groups] == [task.lr, task.lr * 0.02]
    assert net.encoder.training and not net.encoder_frozen
    assert {m.p for m in net.encoder.modules() if isinstance(m, nn.Dropout)} == {0.0}


@pytest.mark.parametrize("variant", ["frozen_kinds", "frozen_relations"])
def test_frozen_variants_keep_the_encoder_fixed(variant: str) -> None:
    callback = _config_finetuning(ROOT / f"experiments/kinship/variants/{variant}.yaml")
    net = RelationExtractor(hidden=8)
    task = _task(net)
    callback.freeze_before_training(task)
    opt = task.configure_optimizers()
    for epoch in range(3):
        callback.finetune_function(task, epoch, opt)
    assert net.encoder_frozen and len(opt.param_groups) == 1
    assert {id(p) for p in opt.param_groups[0]["params"]} == {id(p) for p in net.head.parameters()}


def test_extractor_takes_its_class_list_and_a_prior_on_none() -> None:
    kinds = ["parent", "child", "spouse", "none"]
    net = RelationExtractor(hidden=8, classes=kinds, none_prior=0.6, dropout=0.0).eval()
    assert net.classes == tuple(kinds) and net.n_classes == 4
    with torch.no_grad():
        p = net(collate_stories([STORY])["pairs"].flat())  # (M, 4): both orders of two pairs
    assert p.shape == (4, 4)
    # the bias alone gives none 0.6; the random first layer moves it a little
    assert 0.4 < float(p[:, -1].mean()) < 0.8
    with pytest.raises(ConfigError, match="end with 'none'"):
        RelationExtractor(hidden=8, classes=["none", "parent"])
    with pytest.raises(ConfigError, match=r"none_prior must be in \[0, 1\)"):
        RelationExtractor(hidden=8, none_prior=1.0)


class NamedSecondIsParent(nn.Module):
    """The kinds reading of ``NamedSecondIsFather``: `parent` when the second person is named first."""

    def forward(self, x: list[PairText | None]) -> torch.Tensor:
        from tasks.kinship.data import KINDS

        probs = torch.zeros(len(x), len(KINDS) + 1)
        says_parent = torch.tensor([p is not None and p.second_span[0] < p.first_span[0] for p in x])
        probs[says_parent, list(KINDS).index("parent")] = 0.9
        probs[:, -1] = 1.0 - probs[:, :-1].sum(1)
        return probs * _real(x)


@pytest.mark.parametrize(("cid", "answer"), [("male", "grandfather"), ("female", "grandmother")])
def test_kinds_reading_takes_the_gender_from_the_story(cid: str, answer: str) -> None:
    story = parse_story("[Bob] is the father of [Dan]. [Cid] is the parent of [Bob].", ("Dan", "Cid"), answer,
                        f"Dan:male,Bob:male,Cid:{cid}", window=1)
    task = ReasoningTask(kinship_program(ROOT, reading="kinds"), {"relation_net": NamedSecondIsParent()},
                         train_query="answer(R)", inputs={"relation_net": "pairs"}, sequence_facts=FACTS,
                         semiring="max-mult")
    codes, prob = task.reason(collate_stories([story])).predict()
    assert RELATIONS[int(codes[0, 0])] == answer
    assert float(prob[0]) == pytest.approx(0.81)  # the two readings of the best proof
    with pytest.raises(ConfigError, match="unknown reading 'genders'"):
        kinship_program(ROOT, reading="genders")


def test_marked_pairs_are_read_from_their_own_copy_of_the_window() -> None:
    net = _frozen(RelationExtractor(hidden=8, mark_pair=True, word_prior=True)).eval()
    x = collate_stories([STORY])["pairs"].flat()  # (Dan, Bob), (Bob, Dan), (Bob, Cid), (Cid, Bob)
    p = net(x)
    assert p.shape == (4, 21) and torch.allclose(p.sum(1), torch.ones(4))
    # one encoding per pair: the window with the pair's names as X and Y, the other names kept
    assert {"Y is the father of X.", "X is the father of Y."} <= set(net._cache)
    assert net.word_vectors.shape == (len(RELATIONS), 384)


def test_word_anchor_starts_the_reader_at_the_relation_words_meaning() -> None:
    kinds = ["parent", "child", "spouse", "sibling", "grandparent", "grandchild", "pibling", "nibling",
             "parent_in_law", "child_in_law", "none"]
    torch.manual_seed(0)
    net = RelationExtractor(hidden=8, mark_pair=True, word_prior=True, word_anchor=10.0, classes=kinds).eval()
    story = parse_story("[Ann] went out with her brother [Bob]. [Cid] is the grandfather of [Dan].", ("Ann", "Dan"),
                        "grandson", "Ann:female,Bob:male,Cid:male,Dan:male", window=1, one_direction=True)
    x = collate_stories([story])["pairs"].flat()  # 2 pairs
    with torch.no_grad():
        probs = net(x)  # (2, 11)
    read = [kinds[i] for i in probs.argmax(1).tolist()]
    # untrained head, anchored path: "brother" reads as a sibling, "grandfather" as a grand- kind
    assert read[0] == "sibling" and read[1] in {"grandparent", "grandchild"}
    assert float(probs[0].max()) > 0.5
    plain = RelationExtractor(hidden=8, mark_pair=True, word_prior=True, classes=kinds)
    assert plain.word_head is None and "word_head.weight" not in plain.state_dict()
    with pytest.raises(ConfigError, match="word_anchor needs word_prior"):
        RelationExtractor(hidden=8, word_anchor=1.0)


def test_fine_tuned_encoder_trains_with_its_dropout_and_a_frozen_one_without() -> None:
    x = collate_stories([STORY])["pairs"].flat()  # the story's pairs
    opt = lambda net: torch.optim.Adam([p for p in net.parameters() if p.requires_grad])  # noqa: E731
    tuned = RelationExtractor(hidden=8, dropout=0.0)
    callback = Finetuning(module="encoder", unfreeze_at_epoch=0)
    callback.freeze_before_training(tuned)
    callback.finetune_function(tuned, 0, opt(tuned))
    # from_pretrained hands back an encoder in eval mode; a fine-tuned one must train in train mode
    assert tuned.training and tuned.encoder.training
    torch.manual_seed(0)
    with torch.no_grad():
        assert not torch.equal(tuned(x), tuned(x))  # the encoder's dropout is on
        tuned.eval()
        assert torch.equal(tuned(x), tuned(x))
    quiet = RelationExtractor(hidden=8, dropout=0.0)
    callback = Finetuning(module="encoder", unfreeze_at_epoch=0, dropout=0.0)
    callback.freeze_before_training(quiet)
    callback.finetune_function(quiet, 0, opt(quiet))
    assert quiet.encoder.training and not quiet._cache
    assert {m.p for m in quiet.encoder.modules() if isinstance(m, nn.Dropout)} == {0.0}
    with torch.no_grad():
        assert torch.equal(quiet(x), quiet(x))
    assert not quiet._cache  # a training encoder's outputs are never cached
    frozen = _frozen(RelationExtractor(hidden=8)).train()
    assert not frozen.encoder.training  # its cached outputs stay valid
    with torch.no_grad():
        frozen(x)
    assert len(frozen._cache) == 2
    with pytest.raises(ConfigError, match=r"dropout must be in \[0, 1\)"):
        Finetuning(module="encoder", dropout=1.0)
