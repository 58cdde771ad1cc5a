"""CLUTRR's story graphs for ``greybox learn-rules``: ``tasks.kinship.graphs`` on real and malformed rows."""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import pytest

from greybox.errors import ConfigError
from tasks.kinship.graphs import read_clutrr_graphs
from tests.unit.learn.test_learn_rules import CLUTRR, _write_csv, needs_clutrr


@needs_clutrr
def test_story_edges_are_numbered_in_the_order_of_genders_on_real_rows() -> None:
    """CLUTRR's own proofs name, for every row, exactly the edges the parser reads."""
    path = CLUTRR / "1.2,1.3_train.csv"
    examples = read_clutrr_graphs(path, limit=300)
    with path.open(newline="") as handle:
        rows = [row for _, row in zip(range(300), csv.DictReader(handle))]
    assert len(examples) == len(rows) == 300
    for ex, row in zip(examples, rows):
        heads, body = set(), set()
        for step in ast.literal_eval(row["proof_state"]):
            for head, parts in step.items():
                heads.add(head)
                body.update(parts)
        leaves = {(a, r.replace("-", "_"), b) for a, r, b in body - heads}  # the facts the proof starts from
        assert leaves == {(ex.people[i], r, ex.people[j]) for i, r, j in ex.edges}
        assert (ex.people[ex.query[0]], ex.people[ex.query[1]]) == ast.literal_eval(row["query"])
        assert ex.target == row["target"].replace("-", "_") and ex.k == len(ex.edges) in (2, 3)
        assert {label for _, label in ex.labels} <= {"male", "female"} and len(ex.labels) == ex.size


def test_parser_reports_bad_rows_with_their_line(tmp_path: Path) -> None:
    good = {"story_edges": "[(0, 1), (1, 2)]", "edge_types": "['father', 'son-in-law']", "query": "('A', 'C')",
            "query_edge": "(0, 2)", "target": "brother", "genders": "A:male,B:male,C:male"}
    [ex] = read_clutrr_graphs(_write_csv(tmp_path / "ok.csv", [good]))
    assert ex.edges == ((0, "father", 1), (1, "son_in_law", 2)) and ex.query == (0, 2)
    bad = {**good, "edge_types": "['father', 'cousin']"}
    with pytest.raises(ConfigError, match="unknown relation 'cousin'") as err:
        read_clutrr_graphs(_write_csv(tmp_path / "bad.csv", [good, bad]), relations={"father", "son_in_law", "brother"})
    assert err.value.line == 3 and err.value.file.endswith("bad.csv")
    mismatch = {**good, "query": "('A', 'B')"}
    with pytest.raises(ConfigError, match="query_edge"):
        read_clutrr_graphs(_write_csv(tmp_path / "q.csv", [mismatch]))
    (tmp_path / "cols.csv").write_text("story,target\nx,son\n")
    with pytest.raises(ConfigError, match="lacks the columns"):
        read_clutrr_graphs(tmp_path / "cols.csv")
