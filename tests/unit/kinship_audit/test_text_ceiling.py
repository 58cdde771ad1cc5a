"""The template audit and the text ceiling on a hand-made CLUTRR test file."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

from greybox.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]


def _load(name: str, path: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


audit_mod = _load("template_audit", "experiments/kinship/template_audit.py")
ceiling_mod = _load("kinship_text_ceiling", "experiments/bench/kinship_text_ceiling.py")

# Lee is Kevin's grandson: Kenneth is Kevin's son and Lee is Kenneth's son. The first sentence
# says it the other way round: Kevin as Kenneth's son.
ROW = {
    "story": "[Kenneth] took his favorite son [Kevin] to a baseball game. [Kenneth]'s son [Lee] came too.",
    "query": "('Kevin', 'Lee')", "target": "grandson", "genders": "Kevin:male,Kenneth:male,Lee:male",
    "story_edges": "[(0, 1), (1, 2)]", "edge_types": "['son', 'son']", "query_edge": "(0, 2)",
}


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    with (tmp_path / "1.2_test.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(ROW))
        w.writeheader()
        w.writerow(ROW)
    return tmp_path


def _audit(folder: Path, verdict: str, states: str = "") -> Path:
    path = folder / "audit.tsv"
    assert audit_mod.main(["build", "--data-dir", str(folder), "--audit", str(path), "--ks", "2", "--sample", "0"]) == 0
    rows = audit_mod.read_audit(path)
    [swapped] = [r for r in rows.values() if r.template.startswith("[B] took his favorite son [A]")]
    swapped.verdict, swapped.states = verdict, states
    audit_mod.write_audit(path, list(rows.values()))
    return path


def test_each_chain_edge_gets_the_sentence_that_names_both_with_names_masked_by_role(folder: Path) -> None:
    [(_, edges)] = audit_mod.edges_by_story(folder, (2,))[2]
    assert [(e.relation, e.template) for e in edges] == [
        ("son", "[B] took his favorite son [A] to a baseball game."), ("son", "[A]'s son [B] came too.")]


def test_an_edge_stated_the_other_way_round_lowers_the_text_ceiling(folder: Path) -> None:
    [faithful] = ceiling_mod.text_ceiling(folder, _audit(folder, "graph"), ks=(2,))
    assert (faithful.graph.ceiling, faithful.text.ceiling, faithful.faithful, faithful.misstated) == (1.0, 1.0, (0,), 0)
    [swapped] = ceiling_mod.text_ceiling(folder, _audit(folder, "inverse"), ks=(2,))
    # Kevin and Lee are then both Kenneth's sons: the rules derive brother, not the label grandson
    assert (swapped.graph.ceiling, swapped.text.ceiling, swapped.text.missed, swapped.faithful, swapped.misstated) == (
        1.0, 0.0, 1, (), 1)


def test_a_dropped_or_other_edge_is_what_the_text_says(folder: Path) -> None:
    [dropped] = ceiling_mod.text_ceiling(folder, _audit(folder, "none"), ks=(2,))
    assert dropped.text.ceiling == 0.0
    # "Kenneth is Kevin's sibling": Lee is then Kevin's nephew
    [other] = ceiling_mod.text_ceiling(folder, _audit(folder, "other", "sibling"), ks=(2,))
    assert other.text.ceiling == 0.0 and other.text.missed == 1


def test_an_unknown_verdict_is_refused_with_its_line(folder: Path) -> None:
    path = _audit(folder, "graph")
    path.write_text(path.read_text().replace("\tgraph\t", "\tswapped\t", 1))
    with pytest.raises(ConfigError, match="unknown verdict 'swapped'"):
        audit_mod.read_audit(path)
    path.unlink()
    path = _audit(folder, "other", "")
    with pytest.raises(ConfigError, match="verdict 'other' states ''"):
        audit_mod.read_audit(path)


def test_the_audit_scripts_examples_run() -> None:
    import doctest

    assert doctest.testmod(audit_mod).failed == 0
