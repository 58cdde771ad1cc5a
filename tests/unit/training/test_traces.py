"""Decision traces of a deliberately wrong digit-sum prediction.

The images show a 3 and a 4 (label 7). The network is a fixed table: it reads image 0
as 3 (p=0.98) and misreads image 1 as 5 (p=0.9; 4 only 0.05), so the model predicts 8.
The trace must say so, blame image 1, and `--why-not 7` must name a change of
image 1's reading.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader

from greybox.trace.schema import DecisionTrace, NeuralSource, validate_trace_json
from greybox.training.module import ReasoningTask
from greybox.training.traces import build_trace

ROOT = Path(__file__).resolve().parents[3]
DIGIT_SUM = ROOT / "knowledge/digit_sum.dl"


def misreading_table() -> list[list[float]]:
    """Row 0: image 0 read as 3 (0.98); row 1: image 1 read as 5 (0.9) or 4 (0.05)."""
    first = [0.02 / 9] * 10
    first[3] = 0.98
    second = [0.05 / 8] * 10
    second[5], second[4] = 0.9, 0.05
    return [first, second]


class FixedDigitNet(nn.Module):
    """Ignores pixels: an image whose first pixel is ``i`` is read as row ``i`` of ``readings``.

    Args:
        readings: class probabilities per image id (kept as a buffer, so checkpoints carry it).
    """

    def __init__(self, readings: list[list[float]]) -> None:
        super().__init__()
        self.register_buffer("readings", torch.tensor(readings))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.readings[x.reshape(x.shape[0], -1)[:, 0].round().long()]  # (X, 10)


def _images() -> torch.Tensor:
    """Two 8x8 images: all zeros (id 0), all ones (id 1); ``(2, 1, 8, 8)``."""
    return torch.stack([torch.zeros(1, 8, 8), torch.ones(1, 8, 8)])


def _task(**kw) -> ReasoningTask:
    return ReasoningTask(str(DIGIT_SUM), {"digit_net": FixedDigitNet(misreading_table())}, train_query="sum(S)",
                         extra_facts="num_digits(2).", **kw)


def _line_of(path: Path, prefix: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line.startswith(prefix))


@pytest.fixture(scope="module")
def wrong_trace() -> DecisionTrace:
    task = _task(perception_targets={"digit_net": "digits"})
    example = {"images": _images()[None], "label": torch.tensor([7]), "digits": torch.tensor([[3, 4]])}
    return build_trace(task, example, task_name="digit_sum", split="test", index=5, why_not_answer="7")


def test_trace_of_a_wrong_prediction_validates(wrong_trace: DecisionTrace) -> None:
    again = validate_trace_json(wrong_trace.model_dump_json())
    assert isinstance(again, DecisionTrace) and again == wrong_trace
    t = wrong_trace
    assert (t.task, t.split, t.index, t.query) == ("digit_sum", "test", 5, "sum(S)")


def test_trace_says_what_was_predicted_and_that_it_is_wrong(wrong_trace: DecisionTrace) -> None:
    t = wrong_trace
    assert (t.predicted, t.correct, t.label) == ("8", False, "7")
    # P(8) = 0.98 * 0.9 + the small readings' share
    assert t.probability == pytest.approx(0.882, abs=1e-3)
    assert t.alternatives[0].answer == "7"
    assert t.alternatives[0].probability == pytest.approx(0.98 * 0.05 + (0.02 / 9) * 0.9, abs=1e-4)
    assert [(i.index, i.read_as, i.true_label) for i in t.inputs] == [(0, "3", "3"), (1, "5", "4")]
    assert all(i.data_uri and i.data_uri.startswith("data:image/png;base64,") for i in t.inputs)


def test_trace_blames_the_misread_image(wrong_trace: DecisionTrace) -> None:
    assert wrong_trace.culprit_inputs == [1]


def test_proofs_point_at_the_rules_by_file_and_line(wrong_trace: DecisionTrace) -> None:
    best = wrong_trace.proofs[0]
    assert best.probability == pytest.approx(0.98 * 0.9, abs=1e-5)
    rule = best.root.rule
    assert rule is not None and rule.file.endswith("knowledge/digit_sum.dl")
    assert rule.line == _line_of(DIGIT_SUM, "sum(S) :-")
    neural = {n.source.input_index: n.source.cls for n in best.root.walk() if isinstance(n.source, NeuralSource)}
    assert neural == {0: 3, 1: 5}
    assert any(r.line == _line_of(DIGIT_SUM, "prefix(J, S) :-") for r in wrong_trace.rules_used)


def test_attributions_are_gradients_of_neural_facts(wrong_trace: DecisionTrace) -> None:
    attributions = wrong_trace.attributions
    assert attributions and all(a.source.kind == "neural" for a in attributions)
    by_atom = {a.atom: a.gradient for a in attributions}
    # d P(8) / d p(digit(1, 5)) = p(digit(0, 3)) = 0.98, the largest of all
    assert attributions[0].atom == "digit(1, 5)"
    assert by_atom["digit(1, 5)"] == pytest.approx(0.98, abs=1e-5)
    assert by_atom["digit(0, 3)"] == pytest.approx(0.9, abs=1e-5)


def test_why_not_the_label_changes_the_reading_of_the_misread_image(wrong_trace: DecisionTrace) -> None:
    wn = wrong_trace.why_not
    assert wn is not None and wn.target == "7" and wn.achievable
    assert wn.changes
    for change in wn.changes:
        assert isinstance(change.source, NeuralSource)
        assert change.source.input_index == 1
    change = wn.changes[0]
    assert change.atom == "digit(1, 4)" and change.to_probability > wrong_trace.probability


def test_culprits_come_from_the_proofs_when_true_digits_are_unknown() -> None:
    example = {"images": _images()[None], "label": torch.tensor([7])}
    trace = build_trace(_task(), example, task_name="digit_sum", split="test", index=0)
    assert [i.true_label for i in trace.inputs] == [None, None]
    assert trace.correct is False
    assert trace.culprit_inputs == [1]  # best proof of 8 reads 3 + 5, best proof of 7 reads 3 + 4
    # a wrong prediction asks "why not the label?" without being told to
    assert trace.why_not is not None and trace.why_not.target == "7" and trace.why_not.achievable
    assert [c.atom for c in trace.why_not.changes] == ["digit(1, 4)"]


def test_a_wrong_prediction_shows_the_proofs_of_the_label(wrong_trace: DecisionTrace) -> None:
    assert wrong_trace.label_proofs, wrong_trace.notes
    best = wrong_trace.label_proofs[0]
    assert best.probability == pytest.approx(0.98 * 0.05, abs=1e-5)
    assert best.root.atom == "sum(7)"
    readings = {n.source.input_index: n.source.cls for n in best.root.walk() if isinstance(n.source, NeuralSource)}
    assert readings == {0: 3, 1: 4}
    assert [p.root.atom for p in wrong_trace.proofs] and all(p.root.atom == "sum(8)" for p in wrong_trace.proofs)


def test_a_named_why_not_replaces_the_label_for_a_wrong_prediction() -> None:
    example = {"images": _images()[None], "label": torch.tensor([7])}
    trace = build_trace(_task(), example, task_name="digit_sum", split="test", index=0, why_not_answer="9")
    assert trace.why_not is not None and trace.why_not.target == "9"
    assert trace.label_proofs and trace.label_proofs[0].root.atom == "sum(7)"


def test_correct_prediction_has_no_culprits() -> None:
    example = {"images": _images()[None], "label": torch.tensor([8]), "digits": torch.tensor([[3, 5]])}
    trace = build_trace(_task(perception_targets={"digit_net": "digits"}), example, task_name="digit_sum",
                        split="test", index=0)
    assert (trace.predicted, trace.correct, trace.culprit_inputs) == ("8", True, [])
    assert trace.label_proofs == [] and trace.why_not is None


# ---------------------------------------------------------------------------- greybox explain, end to end


class OneExampleData(pl.LightningDataModule):
    """The wrong example above as a one-example test split."""

    def test_dataloader(self) -> DataLoader:
        example = {"images": _images(), "label": torch.tensor(7), "digits": torch.tensor([3, 4])}
        return DataLoader([example], batch_size=1)


def test_explain_why_not_names_the_misread_image(tmp_path: Path, capsys) -> None:
    from greybox.training.explain import main

    # the config builds an untrained (uniform) network; the checkpoint brings the readings
    config = tmp_path / "fixed.yaml"
    config.write_text(json.dumps({
        "trainer": {"logger": False, "default_root_dir": str(tmp_path), "enable_progress_bar": False},
        "model": {
            "program": str(DIGIT_SUM),
            "extra_facts": "num_digits(2).",
            "networks": {"digit_net": {"class_path": f"{__name__}.FixedDigitNet",
                                       "init_args": {"readings": [[0.1] * 10, [0.1] * 10]}}},
            "train_query": "sum(S)",
            "perception_targets": {"digit_net": "digits"},
        },
        "data": {"class_path": f"{__name__}.OneExampleData"},
    }))
    ckpt = tmp_path / "fixed.ckpt"
    torch.save({"state_dict": _task(perception_targets={"digit_net": "digits"}).state_dict()}, ckpt)
    assert main(["--config", str(config), "--ckpt_path", str(ckpt), "--format", "json", "--why-not", "7"]) == 0
    trace = validate_trace_json(capsys.readouterr().out)
    assert isinstance(trace, DecisionTrace)
    assert (trace.predicted, trace.label, trace.correct, trace.culprit_inputs) == ("8", "7", False, [1])
    assert trace.why_not is not None and trace.why_not.achievable
    assert {c.source.input_index for c in trace.why_not.changes} == {1}


# ---------------------------------------------------------------------------- examples, loaders, versions


class TwoLoaders(pl.LightningDataModule):
    """A test split of two loaders; the second collates its items itself (they are not tensors)."""

    def test_dataloader(self) -> list[DataLoader]:
        plain = DataLoader([{"x": torch.tensor(1)}], batch_size=1)
        stories = DataLoader(["ab", "cde"], batch_size=1, collate_fn=lambda items: {"lengths": torch.tensor([len(s) for s in items])})
        return [plain, stories]

    def describe(self, split: str, index: int, dataloader: int = 0):
        from greybox.trace.describe import ExampleDescription

        return ExampleDescription(passages=(f"{split} {index} of loader {dataloader}",))


def test_an_example_comes_from_the_chosen_loader_collated_its_own_way() -> None:
    from greybox.errors import ConfigError
    from greybox.training.explain import describe_example, example_batch

    dm = TwoLoaders()
    batch, n = example_batch(dm, "test", 1, dataloader=1)
    assert (batch["lengths"].tolist(), n) == ([3], 2)
    assert example_batch(dm, "test", 0)[0]["x"].tolist() == [1]
    assert describe_example(dm, "test", 1, 1).passages == ("test 1 of loader 1",)
    assert describe_example(OneExampleData(), "test", 0) is None
    with pytest.raises(ConfigError, match=r"--dataloader 2: the test split has 2 loader\(s\)"):
        example_batch(dm, "test", 0, dataloader=2)
    with pytest.raises(ConfigError, match=r"--index 5 is outside the test split \(0\.\.1\)"):
        example_batch(dm, "test", 5, dataloader=1)


def test_a_trace_written_with_schema_1_0_still_reads(wrong_trace: DecisionTrace) -> None:
    data = json.loads(wrong_trace.model_dump_json())
    for field in ("passages", "question", "subset", "notes"):
        del data[field]
    for proof in data["proofs"]:
        del proof["chain"]
    for inp in data["inputs"]:
        del inp["label"], inp["passages"], inp["statement"]
    data["schema_version"] = "1.0"
    again = validate_trace_json(json.dumps({"schema_version": "1.0", "traces": [data]}))
    assert again.schema_version == "1.4" and again.traces[0] == wrong_trace.model_copy(update={"notes": []})
