"""The kinship networks read the same stories to the same numbers as the recorded reference.

``tests/unit/tasks/data/kinship_text_reference.pt`` holds, for three small stories, the
outputs of a seeded ``RelationExtractor`` (the pretrained MiniLM, read offline), of a
seeded ``TinyRelationExtractor``, and the answer probabilities of the task built on each.
Whatever form the batch gives the extractor its text in, these must not move. Rewrite the
file (only when the models themselves are meant to change) with
``python tests/unit/tasks/test_kinship_text_equivalence.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[3]
if str(ROOT) not in sys.path:  # run as a script
    sys.path.insert(0, str(ROOT))

from greybox.training.finetuning import Finetuning  # noqa: E402
from greybox.training.module import ReasoningTask  # noqa: E402
from tasks.kinship.data import collate_stories, parse_story  # noqa: E402
from tasks.kinship.model import RelationExtractor, kinship_program  # noqa: E402
from tests.helpers.kinship_tiny import TinyRelationExtractor  # noqa: E402

REFERENCE = Path(__file__).parent / "data" / "kinship_text_reference.pt"
FACTS = {"pair_first": "pair_first", "pair_second": "pair_second", "query_person": "query", "person_gender": "genders"}
STORIES = [
    parse_story("[Bob] is the father of [Dan]. [Cid] is the father of [Bob].", ("Dan", "Cid"), "grandfather",
                "Dan:male,Bob:male,Cid:male", window=1),
    parse_story("[Ann] is the mother of [Bob]. [Cid] is his son.", ("Ann", "Cid"), "grandson",
                "Ann:female,Bob:male,Cid:male", window=1),
    parse_story("[Michael] is the proud father of the lovely [Donald]. [Donald] loves pizza. "
                "[Dorothy]'s brother [Michael] and her went to get ice cream.",
                ("Donald", "Dorothy"), "aunt", "Dorothy:female,Michael:male,Donald:male", k=3),
]


def _networks() -> dict[str, torch.nn.Module]:
    """The two extractors, their weights drawn from fixed seeds."""
    torch.manual_seed(0)
    minilm = RelationExtractor()
    Finetuning(module="encoder", unfreeze_at_epoch=None).freeze_before_training(minilm)
    torch.manual_seed(1)
    tiny = TinyRelationExtractor(buckets=256)
    with torch.no_grad():
        tiny.weights.weight.normal_(0.0, 1.0)
    return {"minilm": minilm.eval(), "tiny": tiny.eval()}


def outputs() -> dict[str, torch.Tensor]:
    """Per network: its per-pair probabilities ``(B*M, 21)`` and the answers' probabilities."""
    batch = collate_stories(STORIES)
    out: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for name, net in _networks().items():
            task = ReasoningTask(kinship_program(ROOT), {"relation_net": net}, train_query="answer(R)",
                                 inputs={"relation_net": "pairs"}, sequence_facts=FACTS, semiring="max-mult")
            result = task.reason(batch)
            out[f"{name}.pairs"] = result.neural["relation_net"].probs.detach().clone()
            codes, probs = result.all_answers()
            out[f"{name}.answers"] = codes.clone()
            out[f"{name}.answer_probs"] = probs.detach().clone()
    return out


@pytest.fixture(scope="module")
def current() -> dict[str, torch.Tensor]:
    return outputs()


@pytest.mark.parametrize("name", ["minilm", "tiny"])
def test_pair_probabilities_match_the_reference(current: dict[str, torch.Tensor], name: str) -> None:
    reference = torch.load(REFERENCE)
    got, want = current[f"{name}.pairs"], reference[f"{name}.pairs"]
    assert got.shape == want.shape
    assert (want.sum(1) > 0.99).sum() >= 10, "the reference reads real pairs"
    torch.testing.assert_close(got, want, rtol=0.0, atol=1e-6)


@pytest.mark.parametrize("name", ["minilm", "tiny"])
def test_answer_probabilities_match_the_reference(current: dict[str, torch.Tensor], name: str) -> None:
    reference = torch.load(REFERENCE)
    assert torch.equal(current[f"{name}.answers"], reference[f"{name}.answers"])
    torch.testing.assert_close(current[f"{name}.answer_probs"], reference[f"{name}.answer_probs"], rtol=0.0, atol=1e-6)


if __name__ == "__main__":
    REFERENCE.parent.mkdir(exist_ok=True)
    torch.save(outputs(), REFERENCE)
    print(f"wrote {REFERENCE}")
