"""``ReasoningTask``: the loss through the rules, conditioned queries, decoding, config errors."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from greybox.errors import ConfigError
from greybox.training.module import ReasoningTask
from tasks.digit_sum.data import load_sklearn_digits
from tasks.digit_sum.model import DigitNet

ROOT = Path(__file__).resolve().parents[3]
DIGIT_SUM = str(ROOT / "knowledge/digit_sum.dl")
DIGIT_ADD = str(ROOT / "knowledge/digit_add.dl")


class TableNet(nn.Module):
    """Returns row ``id`` of a fixed probability table for an input whose first value is ``id``."""

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("table", table.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.table[x.reshape(x.shape[0], -1)[:, 0].round().long()]  # (X, C)


def _table(n_ids: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.softmax(2.0 * torch.randn(n_ids, 10, generator=gen), dim=1)


def _sum2_task(**kw) -> ReasoningTask:
    torch.manual_seed(0)
    return ReasoningTask(DIGIT_SUM, {"digit_net": DigitNet(image_size=8)}, train_query="sum(S)",
                         extra_facts="num_digits(2).", **kw)


@pytest.fixture(scope="module")
def digit_pairs() -> dict[str, torch.Tensor]:
    """32 sum-2 examples of real 8x8 digits."""
    images, digits = load_sklearn_digits()
    gen = torch.Generator().manual_seed(1)
    idx = torch.randint(0, len(images), (32, 2), generator=gen)
    return {"images": images[idx], "label": digits[idx].sum(1), "digits": digits[idx]}


def test_loss_decreases_on_a_fixed_batch(digit_pairs) -> None:
    task = _sum2_task(lr=3e-3)
    opt = task.configure_optimizers()
    losses = []
    for _ in range(30):
        loss, _ = task.loss(digit_pairs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert all(math.isfinite(v) for v in losses)
    # ~log(19 sums) at the start; the labels alone must pull it down
    assert losses[0] > 2.0
    assert losses[-1] < 0.8 * losses[0], losses


def test_loss_is_the_mean_negative_log_probability_of_the_labels(digit_pairs) -> None:
    task = _sum2_task()
    batch = {k: v[:4] for k, v in digit_pairs.items()}
    loss, out = task.loss(batch)
    p = out.probability_of(batch["label"][:, None])
    assert float(loss) == pytest.approx(float(-torch.log(p).mean()), rel=1e-5)


def test_loss_is_finite_for_a_label_that_is_never_derived(digit_pairs) -> None:
    task = _sum2_task()
    batch = {k: v[:2].clone() for k, v in digit_pairs.items()}
    batch["label"][1] = 99  # no two digits sum to 99
    loss, out = task.loss(batch)
    assert float(out.probability_of(batch["label"][:, None])[1]) == 0.0
    assert math.isfinite(float(loss))
    floor_loss = -math.log(torch.finfo(torch.float32).tiny)  # ~87.3
    p0 = float(out.probability_of(batch["label"][:, None])[0])
    assert float(loss) == pytest.approx((-math.log(p0) + floor_loss) / 2, rel=1e-5)
    loss.backward()
    grads = [p.grad for p in task.parameters() if p.grad is not None]
    assert grads and all(bool(torch.isfinite(g).all()) for g in grads)


def _add1_task(table: torch.Tensor, **kw) -> ReasoningTask:
    return ReasoningTask(DIGIT_ADD, {"digit_net": TableNet(table)}, train_query="correct", eval_query="sum(S)",
                         label_key=None, answer_key="label", sequence_facts={"target": "label_digits"},
                         extra_facts="num_digits(1).", **kw)


def _add1_batch(pairs: list[tuple[int, int]], labels: list[int]) -> dict[str, torch.Tensor]:
    """Items ``(a, b)`` per example (ids into the table), the label and its digits (least significant first)."""
    labels_t = torch.tensor(labels)
    return {
        "images": torch.tensor(pairs, dtype=torch.float32)[:, :, None],  # (B, 2, 1)
        "label": labels_t,
        "label_digits": torch.stack([labels_t % 10, labels_t // 10], dim=1),  # (B, 2)
    }


def test_conditioned_query_gives_the_probability_of_the_label() -> None:
    table = _table(6, seed=3)
    task = _add1_task(table)
    pairs, labels = [(0, 1), (2, 3), (4, 5)], [7, 12, 0]
    batch = _add1_batch(pairs, labels)
    loss, out = task.loss(batch)
    p = out.probability_of(torch.zeros(3, 0, dtype=torch.int64))
    for b, ((i, j), label) in enumerate(zip(pairs, labels)):
        readings = itertools.product(range(10), repeat=2)
        brute = sum(float(table[i, a] * table[j, c]) for a, c in readings if a + c == label)
        assert float(p[b]) == pytest.approx(brute, rel=1e-5)
    assert float(loss) == pytest.approx(float(-torch.log(p).mean()), rel=1e-5)


def test_most_probable_world_decodes_the_sum_of_the_argmax_digits() -> None:
    table = _table(6, seed=4)
    task = _add1_task(table, decode="most_probable_world")
    pairs = [(0, 1), (2, 3), (4, 5)]
    codes, prob = task.predict_answers(_add1_batch(pairs, [0, 0, 0]))
    best = table.argmax(1)
    assert codes[:, 0].tolist() == [int(best[i] + best[j]) for i, j in pairs]
    assert prob.tolist() == pytest.approx([float(table[i].max() * table[j].max()) for i, j in pairs])


@pytest.mark.parametrize("decode, answer, probability", [("exact", 2, 0.33), ("most_probable_world", 0, 0.16)])
def test_exact_decode_differs_from_the_most_probable_world(decode: str, answer: int, probability: float) -> None:
    # both items read 0 (0.4), 1 (0.3) or 2 (0.3): the most probable world is 0 + 0 (0.16),
    # the most probable sum is 2 (0.3 * 0.3 + 2 * 0.4 * 0.3 = 0.33)
    table = torch.zeros(1, 10)
    table[0, :3] = torch.tensor([0.4, 0.3, 0.3])
    task = ReasoningTask(DIGIT_SUM, {"digit_net": TableNet(table)}, train_query="sum(S)", extra_facts="num_digits(2).",
                         decode=decode)
    codes, prob = task.predict_answers({"images": torch.zeros(1, 2, 1), "label": torch.tensor([2])})
    assert int(codes[0, 0]) == answer
    assert float(prob[0]) == pytest.approx(probability)


def test_unknown_sequence_facts_relation_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"sequence_facts names 'goal', which the program does not have"):
        ReasoningTask(DIGIT_ADD, {"digit_net": TableNet(_table(2, 0))}, train_query="correct", label_key=None,
                      sequence_facts={"goal": "label_digits"}, extra_facts="num_digits(1).")


def test_batch_without_the_networks_input_is_a_config_error() -> None:
    task = _sum2_task()
    with pytest.raises(ConfigError, match=r"batch has no key 'images' for network 'digit_net'"):
        task.loss({"pixels": torch.zeros(1, 2, 1, 8, 8), "label": torch.tensor([3])})


def test_bce_loss_pushes_down_every_derived_wrong_answer() -> None:
    """max-mult: P(sum=s) is the best reading pair; bce adds -log(1 - P(a)) for each wrong a."""
    table = _table(4, seed=3)
    batch = {"images": torch.tensor([[0.0, 1.0], [2.0, 3.0]]).reshape(2, 2, 1), "label": torch.tensor([5, 7])}
    kw = dict(train_query="sum(S)", extra_facts="num_digits(2).", semiring="max-mult")
    nll = ReasoningTask(DIGIT_SUM, {"digit_net": TableNet(table)}, **kw).loss(batch)[0]
    bce = ReasoningTask(DIGIT_SUM, {"digit_net": TableNet(table)}, loss="bce", **kw).loss(batch)[0]
    expected_nll, expected_bce = [], []
    for (a, b), label in zip([(0, 1), (2, 3)], [5, 7]):
        best = {s: max(float(table[a, i] * table[b, s - i]) for i in range(10) if 0 <= s - i <= 9) for s in range(19)}
        expected_nll.append(-math.log(best[label]))
        expected_bce.append(expected_nll[-1] - sum(math.log(1 - p) for s, p in best.items() if s != label))
    assert float(nll) == pytest.approx(sum(expected_nll) / 2, rel=1e-5)
    assert float(bce) == pytest.approx(sum(expected_bce) / 2, rel=1e-5)
    with pytest.raises(ConfigError, match="unknown loss 'hinge'"):
        ReasoningTask(DIGIT_SUM, {"digit_net": TableNet(table)}, loss="hinge", **kw)


def test_perception_accuracy_is_the_share_of_items_read_as_their_true_class() -> None:
    table = _table(6, seed=3)  # (6 ids, 10 digits)
    task = ReasoningTask(DIGIT_SUM, {"digit_net": TableNet(table)}, train_query="sum(S)", extra_facts="num_digits(2).",
                         perception_targets={"digit_net": "digits"})
    ids = torch.tensor([[0, 1], [2, 3], [4, 5]])  # (B, M) the row of the table each image reads
    read = table.argmax(1)  # (6,) what each id is read as
    digits = read[ids].clone()
    digits[0, 0] = (digits[0, 0] + 1) % 10  # two of the six items are misread
    digits[2, 1] = (digits[2, 1] + 1) % 10
    batch = {"images": ids.float()[:, :, None, None, None].expand(3, 2, 1, 8, 8), "label": digits.sum(1), "digits": digits}
    _, out = task.loss(batch)
    assert float(task.perception_accuracy(batch, out)["digit_net"]) == pytest.approx(4 / 6)
    # without this pass's readings the networks are run again, with the same result
    assert float(task.perception_accuracy(batch)["digit_net"]) == pytest.approx(4 / 6)
    # a batch without the targets reports nothing
    assert task.perception_accuracy({k: v for k, v in batch.items() if k != "digits"}, out) == {}


def test_each_networks_accuracy_is_logged_per_epoch_in_training_and_validation(tmp_path: Path) -> None:
    import csv

    import pytorch_lightning as pl

    from tasks.digit_sum.data import DigitSumDataModule

    pl.seed_everything(0, verbose=False)
    task = _sum2_task(perception_targets={"digit_net": "digits"}, lr=3e-3)
    data = DigitSumDataModule(n=2, train_examples=32, val_examples=8, test_examples=0, batch_size=8)
    trainer = pl.Trainer(max_epochs=2, logger=pl.loggers.CSVLogger(tmp_path, name="csv"), log_every_n_steps=1,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         num_sanity_val_steps=0, accelerator="cpu", devices=1)
    trainer.fit(task, datamodule=data)
    with open(Path(trainer.log_dir) / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert "train_digit_net_acc_step" not in rows[0]
    for metric in ("train_digit_net_acc", "val_digit_net_acc"):
        values = [(int(r["epoch"]), float(r[metric])) for r in rows if r.get(metric)]
        assert [e for e, _ in values] == [0, 1], metric
        assert all(0.0 <= v <= 1.0 for _, v in values)
    # the value logged for the validation epoch is the network's accuracy on the validation digits
    batches = list(data.val_dataloader())
    task.eval()
    with torch.no_grad():
        right = sum(float(task.perception_accuracy(b)["digit_net"]) * b["digits"].numel() for b in batches)
    last = [float(r["val_digit_net_acc"]) for r in rows if r.get("val_digit_net_acc")][-1]
    assert last == pytest.approx(right / sum(b["digits"].numel() for b in batches), abs=1e-6)
