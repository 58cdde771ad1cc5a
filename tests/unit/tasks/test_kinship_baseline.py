"""The pure neural CLUTRR baseline: story + question -> relation, no rules."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml

from greybox.errors import ConfigError, ShapeError
from greybox.training.finetuning import Finetuning
from tasks.kinship.baseline import StoryClassifier, StoryDataModule, collate_story_texts, question
from tasks.kinship.data import RELATIONS, parse_story

ROOT = Path(__file__).resolve().parents[3]
CLUTRR = ROOT.parent / "shared/data/clutrr/data_089907f8"

# eight stories, eight different answers
STORIES = [
    parse_story("[Ann] is the mother of [Bob].", ("Bob", "Ann"), "mother", "Ann:female,Bob:male"),
    parse_story("[Cid] is the father of [Dee].", ("Dee", "Cid"), "father", "Cid:male,Dee:female"),
    parse_story("[Eve] has a son called [Fay].", ("Eve", "Fay"), "son", "Eve:female,Fay:male"),
    parse_story("[Gus] went out with his daughter [Hal].", ("Gus", "Hal"), "daughter", "Gus:male,Hal:female"),
    parse_story("[Ivy] and her husband [Jon] cooked.", ("Ivy", "Jon"), "husband", "Ivy:female,Jon:male"),
    parse_story("[Kim] called his wife [Lea].", ("Kim", "Lea"), "wife", "Kim:male,Lea:female"),
    parse_story("[Max] played with his brother [Ned].", ("Max", "Ned"), "brother", "Max:male,Ned:male"),
    parse_story("[Oli] met her sister [Pam]. [Pam] was late.", ("Oli", "Pam"), "sister", "Oli:female,Pam:female"),
]


def _frozen(net: StoryClassifier) -> StoryClassifier:
    """``net`` with its encoder frozen, as the config's ``Finetuning`` callback leaves it."""
    Finetuning(module="encoder", unfreeze_at_epoch=None).freeze_before_training(net)
    return net


@pytest.fixture(scope="module")
def model() -> StoryClassifier:
    torch.manual_seed(0)
    return _frozen(StoryClassifier(hidden=64))


def test_batches_carry_the_story_the_query_and_the_label() -> None:
    batch = collate_story_texts(STORIES[7:])
    assert batch["story"] == ["Oli met her sister Pam. Pam was late."]
    assert (batch["first"], batch["second"]) == (["Oli"], ["Pam"])
    assert batch["label"].tolist() == [RELATIONS.index("sister")]
    assert question(STORIES[7]) == "How is Pam related to Oli?"


def test_logits_per_story_and_a_bounded_float16_cache(model: StoryClassifier) -> None:
    model.eval()
    model._cache.clear()
    batch = collate_story_texts(STORIES)
    logits = model(batch["story"], batch["first"], batch["second"])
    assert logits.shape == (8, len(RELATIONS)) and bool(torch.isfinite(logits).all())
    assert len(model._cache) == 8
    assert all(s.dtype == torch.float16 and s.shape[1] == 384 for s, _ in model._cache.values())
    again = model(batch["story"], batch["first"], batch["second"])  # read from the cache
    assert len(model._cache) == 8 and torch.allclose(logits, again)
    small = _frozen(StoryClassifier(hidden=16, max_cache=3))
    small(batch["story"], batch["first"], batch["second"])
    assert len(small._cache) == 3


def test_the_answer_depends_on_who_is_queried(model: StoryClassifier) -> None:
    model.eval()
    story = "Ann is the mother of Bob. Bob has a sister Cat."
    forward = model([story, story], ["Bob", "Bob"], ["Ann", "Cat"])
    backward = model([story, story], ["Ann", "Cat"], ["Bob", "Bob"])
    assert not torch.allclose(forward[0], forward[1], atol=1e-4)  # another person asked about
    assert not torch.allclose(forward, backward, atol=1e-4)  # the same two people, the other way round


def test_gradients_reach_the_trainable_layers_and_not_the_frozen_encoder(model: StoryClassifier) -> None:
    model.train()
    model.zero_grad()
    batch = collate_story_texts(STORIES)
    F.cross_entropy(model(batch["story"], batch["first"], batch["second"]), batch["label"]).backward()
    assert not model.encoder.training
    assert not any(p.requires_grad for p in model.encoder.parameters())
    assert all(p.grad is None for p in model.encoder.parameters())
    for part in (model.head, model.reader):
        assert all(p.grad is not None for p in part.parameters())
        assert sum(float(p.grad.abs().sum()) for p in part.parameters()) > 0
    optimised = {id(p) for group in model.configure_optimizers().param_groups for p in group["params"]}
    assert not optimised & {id(p) for p in model.encoder.parameters()}
    assert optimised == {id(p) for p in model.parameters() if p.requires_grad}


def test_overfits_eight_stories() -> None:
    torch.manual_seed(0)
    net = _frozen(StoryClassifier(hidden=64, dropout=0.0, lr=2e-3))
    batch = collate_story_texts(STORIES)
    args = (batch["story"], batch["first"], batch["second"])
    opt = net.configure_optimizers()
    with torch.no_grad():
        before = net.eval()(*args).argmax(-1)
    assert before.tolist() != batch["label"].tolist()
    net.train()
    for _ in range(30):
        opt.zero_grad()
        loss = F.cross_entropy(net(*args), batch["label"])
        loss.backward()
        opt.step()
    with torch.no_grad():
        logits = net.eval()(*args)
    assert logits.argmax(-1).tolist() == batch["label"].tolist()
    assert float(F.cross_entropy(logits, batch["label"])) < 0.05


def test_config_keeps_the_encoder_frozen() -> None:
    config = yaml.safe_load((ROOT / "experiments/kinship/clutrr_baseline.yaml").read_text())
    [found] = [c for c in config["trainer"]["callbacks"] if c["class_path"] == "greybox.training.finetuning.Finetuning"]
    callback = Finetuning(**found["init_args"])
    net = StoryClassifier(layers=0, hidden=16)
    callback.freeze_before_training(net)
    opt = net.configure_optimizers()
    for epoch in range(3):
        callback.finetune_function(net, epoch, opt)
    assert net.encoder_frozen and not net.train().encoder.training
    assert {id(p) for g in opt.param_groups for p in g["params"]} == {id(p) for p in net.head.parameters()}


def test_no_transformer_layer_still_reads_the_names() -> None:
    net = StoryClassifier(layers=0, hidden=16).eval()
    out = net(["Ann is the mother of Bob."] * 2, ["Bob", "Ann"], ["Ann", "Bob"])
    assert out.shape == (2, len(RELATIONS)) and not torch.allclose(out[0], out[1], atol=1e-4)


def test_mismatched_inputs_and_bad_sizes_are_typed_errors(model: StoryClassifier) -> None:
    with pytest.raises(ShapeError, match="as many stories as queried pairs"):
        model(["Ann is the mother of Bob."], ["Bob"], [])
    with pytest.raises(ConfigError, match="heads dividing the encoder width 384"):
        StoryClassifier(heads=5)


@pytest.fixture(scope="module")
def clutrr() -> StoryDataModule:
    if not CLUTRR.is_dir():
        pytest.skip(f"CLUTRR data not found at {CLUTRR}")
    dm = StoryDataModule(data_dir=str(CLUTRR), max_train=8, max_test_per_k=3, test_ks=[2, 10], batch_size=4)
    dm.setup()
    return dm


def test_data_module_gives_text_batches_and_one_test_loader_per_k(clutrr: StoryDataModule) -> None:
    batch = next(iter(clutrr.train_dataloader()))
    assert set(batch) == {"story", "first", "second", "label", "k"}
    assert len(batch["story"]) == 4 and all("[" not in s for s in batch["story"])
    assert all(f in s and t in s for s, f, t in zip(batch["story"], batch["first"], batch["second"]))
    assert [next(iter(t))["k"].tolist() for t in clutrr.test_dataloader()] == [[2, 2, 2], [10, 10, 10]]


def test_test_accuracy_is_logged_per_k(model: StoryClassifier, clutrr: StoryDataModule, tmp_path: Path) -> None:
    import pytorch_lightning as pl

    trainer = pl.Trainer(logger=False, enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=tmp_path)
    results = trainer.test(model, datamodule=clutrr, verbose=False)
    assert [sorted(r) for r in results] == [["test_acc/k2", "test_loss/k2"], ["test_acc/k10", "test_loss/k10"]]
    assert all(0.0 <= r[f"test_acc/k{k}"] <= 1.0 for r, k in zip(results, (2, 10)))


def test_checkpoints_keep_the_generators_for_a_resumed_run(model: StoryClassifier) -> None:
    from greybox.training.random_state import RandomStateCheckpoint

    callbacks = model.configure_callbacks()
    assert any(isinstance(c, RandomStateCheckpoint) for c in callbacks)
    state = next(c for c in callbacks if isinstance(c, RandomStateCheckpoint)).state_dict()
    assert torch.equal(state["random_states"]["torch"], torch.get_rng_state())
