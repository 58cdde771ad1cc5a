"""The neural baselines of RuleTaker and ProofWriter run through ``greybox fit`` and ``greybox test`` on a tiny data folder.

Each config trains one step on a few theories written here, then ``greybox test`` scores a
checkpoint and reports the accuracies the task's configs report: per proof depth for
RuleTaker, per answer class for ProofWriter.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from greybox.training.cli import lightning_main

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "experiments/rules_in_language"

THEORIES = [
    ("Bob is big. If something is big then it is red.", [("Bob is red.", True, 1), ("Bob is big.", True, 0),
                                                         ("Bob is not red.", False, 1)]),
    ("Ann is cold. Cold people are kind. Kind people are nice.", [("Ann is nice.", True, 2), ("Ann is kind.", True, 1),
                                                                  ("Ann is not cold.", False, 0)]),
    ("The cat is round. The dog is not round.", [("The dog is round.", False, 0), ("The cat is round.", True, 0)]),
]


def _ruletaker_folder(root: Path) -> Path:
    """``root/ruletaker`` with ``depth-3/dev``, ``depth-3/test`` and ``depth-5/dev`` (the config's files), and ``tiny``."""
    folder = root / "ruletaker"
    for name in ("depth-3/dev", "depth-3/test", "depth-5/dev", "tiny"):
        lines = []
        for t, (context, questions) in enumerate(THEORIES):
            qs = [{"id": f"{name}-T{t}-Q{i}", "text": text, "label": label, "meta": {"QDep": depth}}
                  for i, (text, label, depth) in enumerate(questions)]
            lines.append(json.dumps({"id": f"{name}-T{t}", "context": context, "questions": qs}))
        path = folder / f"{name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _proofwriter_file(path: Path, unknown: bool = True) -> Path:
    """A ProofWriter file: every theory asked a True, a False and (with ``unknown``) an Unknown question."""
    items = []
    options = ["A) True", "B) False", "C) Unknown"] if unknown else ["A) True", "B) False"]
    for t, (context, questions) in enumerate(THEORIES * 4):
        asked = [(questions[0][0], "A"), (questions[-1][0], "B")] + ([("The moon is green.", "C")] if unknown else [])
        for i, (text, answer) in enumerate(asked):
            items.append({"id": f"Tiny_T{t}_Q{i}", "context": context, "options": options, "answer": answer,
                          "question": f"Based on the above information, is the following statement true, false, "
                                      f"or unknown? {text}"})
    path.write_text(json.dumps(items, indent=1), encoding="utf-8")
    return path


def _summary(out: str) -> dict[str, float]:
    """The compact lines ``greybox test`` prints after Lightning's table: ``{group: accuracy}``."""
    lines = out.splitlines()
    start = max(i for i, line in enumerate(lines) if re.match(r"test\s+acc\b", line))
    return {line.split()[0]: float(line.split()[1]) for line in lines[start + 1:] if line.strip()}


def _fit_then_test(config: Path, root: Path, data: list[str], test_data: list[str], capsys) -> str:
    common = ["--trainer.logger=false", "--trainer.enable_progress_bar=false", f"--trainer.default_root_dir={root}"]
    callbacks = ('--trainer.callbacks=[{"class_path": "pytorch_lightning.callbacks.ModelCheckpoint", '
                 f'"init_args": {{"dirpath": "{root}", "save_last": true}}}}, '
                 '{"class_path": "greybox.training.finetuning.Finetuning", '
                 '"init_args": {"module": "encoder", "unfreeze_at_epoch": null}}]')
    assert lightning_main(["fit", "--config", str(config), "--trainer.max_steps=1", "--trainer.limit_val_batches=1",
                           callbacks, *common, *data]) == 0
    capsys.readouterr()
    assert lightning_main(["test", "--config", str(config), "--ckpt_path", str(root / "last.ckpt"), *common,
                           *data, *test_data]) == 0
    return capsys.readouterr().out


def test_ruletaker_baseline_reports_accuracy_per_depth(tmp_path: Path, monkeypatch, capsys) -> None:
    folder = _ruletaker_folder(tmp_path)
    monkeypatch.chdir(ROOT)
    out = _fit_then_test(CONFIGS / "ruletaker_baseline.yaml", tmp_path,
                         [f"--data.init_args.data_dir={folder}", "--data.init_args.val_fraction=0.34",
                          "--data.init_args.batch_size=4"],
                         ["--data.init_args.test_split=tiny"], capsys)
    rows = _summary(out)
    # the tiny file asks depths 0, 1 and 2 and has True and False answers; no depth 3, no Unknown
    assert {"depth0", "depth1", "depth2", "true", "false"} <= set(rows) and "depth3" not in rows and "unknown" not in rows
    assert all(0.0 <= v <= 1.0 for v in rows.values())


def test_proofwriter_baseline_reports_accuracy_per_answer_and_reads_two_option_files(tmp_path: Path, monkeypatch,
                                                                                     capsys) -> None:
    train = _proofwriter_file(tmp_path / "train.json")
    two = _proofwriter_file(tmp_path / "two.json", unknown=False)
    monkeypatch.chdir(ROOT)
    data = [f"--data.init_args.train_file={train}", "--data.init_args.batch_size=4"]
    out = _fit_then_test(CONFIGS / "proofwriter_baseline.yaml", tmp_path, data, [], capsys)
    rows = _summary(out)
    assert {"true", "false", "unknown"} <= set(rows) and not any(k.startswith("depth") for k in rows)
    capsys.readouterr()
    # a file whose questions allow only True and False reads, and is scored over those two classes
    assert lightning_main(["test", "--config", str(CONFIGS / "proofwriter_baseline.yaml"), "--ckpt_path",
                           str(tmp_path / "last.ckpt"), "--trainer.logger=false", "--trainer.enable_progress_bar=false",
                           f"--trainer.default_root_dir={tmp_path}", *data, f"--data.init_args.test_file={two}"]) == 0
    assert set(_summary(capsys.readouterr().out)) == {"true", "false"}


@pytest.mark.parametrize("name", ["ruletaker_baseline", "proofwriter_baseline"])
def test_baseline_configs_write_their_runs_under_runs_rules_in_language(name: str) -> None:
    import yaml

    config = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    assert config["trainer"]["default_root_dir"] == f"runs/rules_in_language/{name}"
    assert config["model"]["class_path"] == "tasks.rules_in_language.baseline.TheoryClassifier"
