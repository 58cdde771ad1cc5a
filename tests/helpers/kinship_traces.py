"""A kinship story and a fixed extractor for trace tests, and the trace ``greybox explain`` makes of it.

The story (three sentences, read in windows of two):

    [1] Michael is the proud father of the lovely Donald.
    [2] Donald loves pizza.
    [3] Dorothy's brother Michael and her went to get ice cream.

The extractor is a fixed table: it reads the pair (Donald, Michael), from window [1-2],
as father (0.9) or son (0.05), and the pair (Dorothy, Michael), from window [2-3], as
brother (0.8); every other pair as none. So Dorothy is Donald's aunt with p = 0.9 * 0.8
(father, then the sister that the brother reading and Dorothy's gender give: the chain
walks the brother reading backwards), and his daughter with p = 0.05 * 0.8 (a son whose
sister she is).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from greybox.trace.schema import DecisionTrace
from greybox.training.module import ReasoningTask
from tasks.kinship.data import NONE, RELATIONS, PairText, collate_stories, parse_story

__all__ = ["STORY", "READINGS", "KINSHIP", "READ", "GLUE", "StatedRelations", "kinship_task", "named_kinship_trace"]

ROOT = Path(__file__).resolve().parents[2]
KINSHIP = ROOT / "knowledge/kinship.dl"
READ = ROOT / "knowledge/kinship_read.dl"
GLUE = ROOT / "knowledge/kinship_task.dl"
FACTS = {"pair_first": "pair_first", "pair_second": "pair_second", "query_person": "query", "person_gender": "genders"}
STORY = parse_story(
    "[Michael] is the proud father of the lovely [Donald]. [Donald] loves pizza. "
    "[Dorothy]'s brother [Michael] and her went to get ice cream.",
    ("Donald", "Dorothy"), "aunt", "Dorothy:female,Michael:male,Donald:male", k=3,
)
READINGS = {("Donald", "Michael"): {"father": 0.9, "son": 0.05, NONE: 0.05},
            ("Dorothy", "Michael"): {"brother": 0.8, NONE: 0.2}}


class StatedRelations(nn.Module):
    """Reads each pair's two names and returns the table's distribution for them (else ``none``)."""

    def __init__(self, readings: dict[tuple[str, str], dict[str, float]]) -> None:
        super().__init__()
        self.readings = readings
        self.classes = (*RELATIONS, NONE)

    def forward(self, x: list[PairText | None]) -> torch.Tensor:
        out = torch.zeros(len(x), len(self.classes))
        for i, pair in enumerate(x):
            if pair is None:
                continue  # padding
            for cls, p in self.readings.get(pair.names, {NONE: 1.0}).items():
                out[i, self.classes.index(cls)] = p
        return out

def kinship_task(readings: dict[tuple[str, str], dict[str, float]] | None = None) -> ReasoningTask:
    """The kinship program (max-mult, as in ``experiments/kinship/clutrr.yaml``) over the fixed extractor."""
    return ReasoningTask([str(KINSHIP), str(READ), str(GLUE)], {"relation_net": StatedRelations(readings or READINGS)},
                         train_query="answer(R)", inputs={"relation_net": "pairs"}, sequence_facts=FACTS,
                         semiring="max-mult")


def named_kinship_trace(index: int = 12, why_not: str | None = "daughter") -> DecisionTrace:
    """The trace of the story, described by ``tasks.kinship.describe`` (subset ``k=3``)."""
    from greybox.training.traces import build_trace
    from tasks.kinship.describe import describe_story

    return build_trace(kinship_task(), collate_stories([STORY]), task_name="kinship", split="test", index=index,
                       description=describe_story(STORY, subset="k=3"), why_not_answer=why_not)
