"""Networks that read text: ``ItemLists`` as a neural predicate's input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from greybox.errors import ShapeError
from greybox.neural.items import ItemLists
from greybox.neural.module import ReasoningModule
from greybox.training.module import ReasoningTask

PROGRAM = """
    nn(mood_net, [X], M, [happy, sad]) :: mood(X, M).
    all_happy :- mood(0, happy), mood(1, happy).
"""


class SaysHappy(nn.Module):
    """``happy`` with probability 0.9 when the text says "glad", else 0.2; padding reads nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list = []
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, texts: list[str | None]) -> torch.Tensor:
        self.seen.append(list(texts))
        happy = torch.tensor([0.9 if t is not None and "glad" in t else 0.2 for t in texts]) * self.scale
        real = torch.tensor([t is not None for t in texts], dtype=happy.dtype)
        return torch.stack([happy, 1 - happy], dim=1) * real[:, None]


def test_item_lists_pad_short_samples_with_none() -> None:
    x = ItemLists([["a", "b", "c"], ["d"]])
    assert x.shape == (2, 3) and len(x) == 2
    assert x.flat() == ["a", "b", "c", "d", None, None]
    assert ItemLists([[], []]).shape == (2, 1)
    assert ItemLists([["a"]], width=3).flat() == ["a", None, None]
    with pytest.raises(ShapeError, match="width 1 is below the longest sample's 2 items"):
        ItemLists([["a", "b"]], width=1)


def test_a_network_reads_the_flat_texts_and_its_rows_become_items_per_sample() -> None:
    net = SaysHappy()
    model = ReasoningModule(PROGRAM, {"mood_net": net}, query="all_happy")
    out = model({"mood_net": ItemLists([["so glad", "glad too"], ["glad", "grim"], ["glad"]])})
    assert net.seen == [["so glad", "glad too", "glad", "grim", "glad", None]]
    assert out.neural["mood_net"].items == (3, 2)
    torch.testing.assert_close(out.probability_of([()] * 3), torch.tensor([0.81, 0.18, 0.0]))


def test_a_task_counts_samples_and_trains_through_text_inputs() -> None:
    net = SaysHappy()
    task = ReasoningTask(PROGRAM, {"mood_net": net}, train_query="all_happy", inputs={"mood_net": "texts"})
    batch = {"texts": ItemLists([["glad", "glad"], ["grim", "glad"]])}
    assert task._batch_size(batch) == 2
    loss, _ = task.loss(batch)
    loss.backward()
    assert net.scale.grad is not None and float(net.scale.grad) != 0.0


def test_device_transfer_leaves_text_as_it_is_and_moves_the_tensors() -> None:
    from lightning_fabric.utilities.apply_func import move_data_to_device

    texts = ItemLists([["glad"]])
    moved = move_data_to_device({"texts": texts, "label": torch.zeros(1)}, torch.device("cpu"))
    assert moved["texts"] is texts
    assert isinstance(moved["label"], torch.Tensor)
