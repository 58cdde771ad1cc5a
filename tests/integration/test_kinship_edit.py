"""Editing without retraining: a kinship rule taken out and put back, the trained weights untouched.

A tiny relation extractor (``tests/helpers/kinship_tiny.py``) is trained through the
rules with ``greybox fit`` on a few hundred CLUTRR stories, only the queried relation
labelled. Its checkpoint is then read with copies of ``knowledge/kinship.dl``,
``knowledge/kinship_read.dl`` and ``knowledge/kinship_task.dl`` given as ``--model.program``, the way a user points a
trained model at edited rules. On stories with long chains (k = 4..6) the test searches
for one the model answers right and a composition rule of ``kinship.dl`` without which
the answer turns wrong (the rules of the stories' best proofs first); the rule must
show in that story's trace. ``greybox kb remove-rule`` takes the rule out of the copy
(wrong answer), ``greybox kb add-rule`` puts it back (right again, same probability,
every other story unchanged), and the checkpoint's bytes never change.

Most long chains have several derivations, so most single rules can go without
changing an answer; the search is over every right story and every composition rule.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml

from greybox.cli import main as greybox
from greybox.kb.edit import list_rules, remove_rule
from greybox.lang.ast import Atom, Clause, Comparison, Var
from greybox.lang.parser import parse_statement
from greybox.training.explain import load_task
from greybox.training.module import ReasoningTask
from greybox.training.traces import build_trace
from greybox.trace import schema as ts
from tasks.kinship.data import RELATIONS, collate_stories

ROOT = Path(__file__).resolve().parents[2]
CLUTRR = ROOT.parent / "shared/data/clutrr/data_089907f8"
pytestmark = [pytest.mark.skipif(not CLUTRR.is_dir(), reason=f"CLUTRR data not found at {CLUTRR}"), pytest.mark.slow]

RULES, TASK_RULES = "kinship.dl", ("kinship_read.dl", "kinship_task.dl")
TEST_KS = [4, 5, 6]  # long chains: at least four relations composed
PER_K = 40
TRAIN_STORIES = 320


@dataclass(frozen=True)
class Trained:
    config: Path
    ckpt: Path
    sha256: str


@dataclass(frozen=True)
class Prediction:
    answer: int  # index in RELATIONS, -1: nothing derived
    probability: float
    label: int

    @property
    def right(self) -> bool:
        return self.answer == self.label


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _config(out: Path) -> dict:
    """The project's CLUTRR config with the tiny extractor, small data and a short run."""
    base = yaml.safe_load((ROOT / "experiments/kinship/clutrr.yaml").read_text())
    model = copy.deepcopy(base["model"])
    args = model.get("init_args", model)  # ReasoningTask's arguments, with or without a class_path
    # the tiny extractor names the 20 relations: the program reads them with kinship_read.dl
    args["program"] = [str(ROOT / "knowledge" / name) for name in (RULES, *TASK_RULES)]
    args["networks"] = {"relation_net": {"class_path": "tests.helpers.kinship_tiny.TinyRelationExtractor"}}
    args.pop("sparsity", None)
    args["lr"] = 0.05  # a linear layer over sparse features learns faster than the MiniLM head
    data = {"class_path": base["data"]["class_path"], "init_args": {
        "data_dir": str(CLUTRR), "batch_size": 32, "seed": 0, "max_train": TRAIN_STORIES,
        "window": 1,  # bag-of-words features cannot tell relations across a sentence boundary
        "test_ks": TEST_KS, "max_test_per_k": PER_K,
    }}
    trainer = {
        "max_epochs": 2, "accelerator": "cpu", "devices": 1, "logger": False, "limit_val_batches": 0,
        "num_sanity_val_steps": 0, "enable_progress_bar": False, "enable_model_summary": False,
        "default_root_dir": str(out),
        "callbacks": [{"class_path": "pytorch_lightning.callbacks.ModelCheckpoint",
                       "init_args": {"dirpath": str(out / "checkpoints"), "save_last": True}}],
    }
    return {"seed_everything": 0, "trainer": trainer, "model": model, "data": data}


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Trained:
    """``greybox fit`` of the tiny extractor through the kinship rules; the checkpoint and its hash."""
    out = tmp_path_factory.mktemp("kinship_tiny")
    config = out / "tiny.yaml"
    config.write_text(yaml.safe_dump(_config(out)))
    assert greybox(["fit", "--config", str(config)]) == 0
    ckpt = out / "checkpoints" / "last.ckpt"
    assert ckpt.is_file()
    return Trained(config, ckpt, _sha256(ckpt))


def _load(trained: Trained, program: list[Path]):
    """The trained task reading ``program`` (the user's way: config + checkpoint + ``--model.program``)."""
    task, dm = load_task(str(trained.config), str(trained.ckpt), [f"--model.program={json.dumps([str(p) for p in program])}"])
    task.eval()
    dm.setup("test")
    return task, dm


def _predict(task: ReasoningTask, stories) -> list[Prediction]:
    batch = collate_stories(list(stories))
    with torch.no_grad():
        codes, probs = task.predict_answers(batch)
    return [Prediction(int(c), float(p), int(y)) for c, p, y in zip(codes[:, 0], probs, batch["label"])]


def _predict_all(task: ReasoningTask, dm) -> dict[tuple[int, int], Prediction]:
    """(k, index) -> prediction, for every test story."""
    return {(k, i): p for k in dm.test_ks for i, p in enumerate(_predict(task, dm.tests[k]))}


def _is_composition(text: str) -> bool:
    """``r3(X, Z) :- r1(X, Y), r2(Y, Z)`` (and maybe ``X \\= Z``): part 3 of kinship.dl."""
    clause = parse_statement(text)
    if not isinstance(clause, Clause) or len(clause.head.args) != 2:
        return False
    atoms = [lit for lit in clause.body if isinstance(lit, Atom)]
    if len(atoms) != 2 or len(atoms) + sum(isinstance(lit, Comparison) for lit in clause.body) != len(clause.body):
        return False
    terms = [*clause.head.args, *atoms[0].args, *atoms[1].args]
    if len(terms) != 6 or not all(isinstance(t, Var) for t in terms):
        return False
    (x, z), (x1, y1), (y2, z2) = [[t.name for t in a.args] for a in (clause.head, *atoms)]
    return x == x1 and y1 == y2 and z == z2 and len({x, y1, z}) == 3


def _proof_rules(task: ReasoningTask, story, rules_file: Path) -> list[str]:
    """The rules of ``rules_file`` applied in the best proof of the story's predicted answer (its trace)."""
    trace = build_trace(task, collate_stories([story]), task_name="kinship", split="test", index=0, k=1)
    found: list[str] = []

    def walk(node: ts.ProofNode) -> None:
        rule = node.rule
        if rule is not None and rule.file and Path(rule.file).resolve() == rules_file.resolve() \
                and rule.text and rule.text not in found:
            found.append(rule.text)
        for child in node.children:
            walk(child)

    for proof in trace.proofs[:1]:
        walk(proof.root)
    return found


def _breaking_edit(task: ReasoningTask, dm, right: list[tuple[int, int]], kb: Path,
                   scratch: Path) -> tuple[tuple[int, int], str] | None:
    """A right story and a composition rule without which it turns wrong, or None.

    The composition rules are tried one at a time, those in the best proofs of the most
    right stories first, then the others in file order; each trial removes the rule from
    a scratch copy and runs the same network on every right story.
    """
    net = task.reasoner.networks["relation_net"]
    accepted = set(inspect.signature(ReasoningTask).parameters) - {"program", "networks"}
    hparams = {key: value for key, value in task.hparams.items() if key in accepted}
    stories = [dm.tests[k][i] for k, i in right]
    in_proofs: dict[str, int] = {}
    for story in stories:
        for rule in _proof_rules(task, story, kb / RULES):
            in_proofs[rule] = in_proofs.get(rule, 0) + 1
    order = {s.text: s.number for s in list_rules(kb / RULES)}
    compositions = sorted((text for text in order if _is_composition(text)),
                          key=lambda text: (-in_proofs.get(text, 0), order[text]))
    for rule in compositions:
        shutil.copytree(kb, scratch, dirs_exist_ok=True)
        remove_rule(scratch / RULES, rule)
        trial = ReasoningTask(program=[str(scratch / RULES), *(str(scratch / name) for name in TASK_RULES)],
                              networks={"relation_net": net}, **hparams)
        for key, p in zip(right, _predict(trial.eval(), stories)):
            if not p.right:
                return key, rule
    return None


def test_removing_a_rule_breaks_a_long_chain_and_adding_it_back_repairs_it(trained: Trained, tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    for name in (RULES, *TASK_RULES):
        shutil.copy(ROOT / "knowledge" / name, kb / name)
    program = [kb / RULES, *(kb / name for name in TASK_RULES)]
    original_statements = sorted(s.text for s in list_rules(kb / RULES))

    task, dm = _load(trained, program)
    baseline = _predict_all(task, dm)
    right = [key for key, p in baseline.items() if p.right]
    assert right, "the tiny model answers no long-chain story right"

    found = _breaking_edit(task, dm, right, kb, tmp_path / "scratch")
    assert found is not None, f"none of the {len(right)} right stories needs any one composition rule"
    (k, index), rule = found
    before = baseline[(k, index)]
    relation = RELATIONS[before.label]
    # the answer lost a probability no other derivation makes up for: its trace shows the rule
    assert rule in _proof_rules(task, dm.tests[k][index], kb / RULES)

    # take the rule out, with the command a user runs; the trained weights are read again as they are
    assert greybox(["kb", "remove-rule", str(kb / RULES), rule]) == 0
    assert rule not in {s.text for s in list_rules(kb / RULES)}
    task, dm = _load(trained, program)
    after_removal = _predict(task, [dm.tests[k][index]])[0]
    assert after_removal.answer != after_removal.label, f"k={k} story {index} ({relation}) is still right without {rule}"
    assert _sha256(trained.ckpt) == trained.sha256

    # put it back: right again, with the same probability, and no other story changes
    assert greybox(["kb", "add-rule", str(kb / RULES), rule]) == 0
    assert sorted(s.text for s in list_rules(kb / RULES)) == original_statements
    task, dm = _load(trained, program)
    restored = _predict_all(task, dm)
    again = restored[(k, index)]
    assert again.right, f"k={k} story {index} ({relation}) is not right again after adding back {rule}"
    assert again.probability == pytest.approx(before.probability, abs=1e-6)
    assert {key: p.answer for key, p in restored.items()} == {key: p.answer for key, p in baseline.items()}
    for key, p in restored.items():
        assert p.probability == pytest.approx(baseline[key].probability, abs=1e-6), key
    assert _sha256(trained.ckpt) == trained.sha256
