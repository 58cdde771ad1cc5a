"""Bad cases of checkpoints, ``greybox explain`` and ``greybox predict``, each through ``greybox.cli.main``.

A checkpoint is a pickle: one that names ``os.system`` must be refused (exit status 2,
one ``error:`` line naming the file) before anything of it runs, by ``explain`` and by
every Lightning sub-command that takes ``--ckpt_path``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from greybox.cli import main

ROOT = Path(__file__).resolve().parents[2]
CONFIG = str(ROOT / "experiments/digit_sum/sum2_digits.yaml")
SMALL = ["--data.init_args.train_examples=64", "--data.init_args.val_examples=32", "--data.init_args.test_examples=16",
         "--data.init_args.batch_size=16"]
QUIET = ["--trainer.logger=false", "--trainer.enable_progress_bar=false", "--trainer.enable_model_summary=false"]


class _Payload:
    """Unpickles as ``os.system(command)``."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A real checkpoint of sum2_digits.yaml: one epoch of two batches."""
    out = tmp_path_factory.mktemp("sum2")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        status = main(["fit", "--config", CONFIG, *SMALL, *QUIET, "--trainer.max_epochs=1", "--trainer.limit_train_batches=2",
                       "--trainer.limit_val_batches=1", f"--trainer.default_root_dir={out}"])
    assert status == 0
    return next(out.glob("**/last.ckpt"))


@pytest.fixture()
def evil(trained: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the real checkpoint with an ``os.system`` payload that creates a marker file."""
    marker = tmp_path / "MARKER"
    state = torch.load(trained, map_location="cpu", weights_only=True)
    state["extra"] = _Payload(f"touch {marker}")
    path = tmp_path / "evil.ckpt"
    torch.save(state, path)
    return path, marker


def test_explain_refuses_a_checkpoint_that_runs_code(evil, capsys, monkeypatch) -> None:
    path, marker = evil
    monkeypatch.chdir(ROOT)
    status = main(["explain", "--config", CONFIG, "--ckpt_path", str(path), "--index", "0", *SMALL])
    err = capsys.readouterr().err
    assert not marker.exists(), "the checkpoint's payload ran"
    assert status == 2
    assert f"error: {path}: refusing to load the checkpoint" in err and "posix.system" in err


@pytest.mark.parametrize("command", ["test", "validate", "predict", "fit"])
def test_lightning_commands_refuse_a_checkpoint_that_runs_code(command, evil, capsys, monkeypatch) -> None:
    path, marker = evil
    monkeypatch.chdir(ROOT)
    status = main([command, "--config", CONFIG, "--ckpt_path", str(path), *SMALL, *QUIET, "--trainer.max_epochs=1",
                   f"--trainer.default_root_dir={path.parent}"])
    err = capsys.readouterr().err
    assert not marker.exists(), "the checkpoint's payload ran"
    assert status == 2 and "refusing to load the checkpoint" in err and "Traceback" not in err


@pytest.mark.parametrize("content, reason", [
    (os.urandom(4096), "not a PyTorch checkpoint file"),
    (b"not a checkpoint", "not a PyTorch checkpoint file"),
    (None, "not a PyTorch checkpoint file"),  # the real checkpoint, cut short
    (b"", "not a PyTorch checkpoint file"),
])
def test_a_corrupt_checkpoint_is_a_one_line_error(content, reason, trained, tmp_path, capsys, monkeypatch) -> None:
    path = tmp_path / "bad.ckpt"
    path.write_bytes(trained.read_bytes()[:20000] if content is None else content)
    monkeypatch.chdir(ROOT)
    assert main(["test", "--config", CONFIG, "--ckpt_path", str(path), *SMALL, *QUIET,
                 f"--trainer.default_root_dir={tmp_path}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}: cannot read the checkpoint: it is {reason}") and "hint:" in err
    assert main(["explain", "--config", CONFIG, "--ckpt_path", str(path), *SMALL]) == 2
    assert f"error: {path}: cannot read the checkpoint" in capsys.readouterr().err


def test_a_file_that_is_not_a_checkpoint_is_named(tmp_path, capsys, monkeypatch) -> None:
    path = tmp_path / "list.ckpt"
    torch.save([1, 2, 3], path)
    monkeypatch.chdir(ROOT)
    assert main(["predict", "--config", CONFIG, "--ckpt_path", str(path), *SMALL, *QUIET,
                 f"--trainer.default_root_dir={tmp_path}"]) == 2
    assert f"error: {path}: not a greybox checkpoint: it holds list" in capsys.readouterr().err


def test_a_real_checkpoint_still_tests_and_explains(trained, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["test", "--config", CONFIG, "--ckpt_path", str(trained), *SMALL, *QUIET,
                 f"--trainer.default_root_dir={tmp_path}"]) == 0
    assert main(["explain", "--config", CONFIG, "--ckpt_path", str(trained), "--index", "0", *SMALL]) == 0
    assert "digit_sum test #0" in capsys.readouterr().out


def test_predict_output_writes_one_line_per_sample(trained, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "p.jsonl"
    assert main(["predict", "--config", CONFIG, "--ckpt_path", str(trained), *SMALL, *QUIET,
                 f"--trainer.default_root_dir={tmp_path}", "--output", str(out)]) == 0
    assert f"wrote 16 predictions to {out}" in capsys.readouterr().err
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == list(range(16))
    for r in rows:
        assert set(r) == {"id", "answer", "probability", "label"}
        assert 0 <= int(r["answer"]) <= 18 and 0 <= int(r["label"]) <= 18 and 0.0 <= r["probability"] <= 1.0
    csv_out = tmp_path / "p.csv"
    assert main(["predict", "--config", CONFIG, "--ckpt_path", str(trained), *SMALL, *QUIET,
                 f"--trainer.default_root_dir={tmp_path}", f"--output={csv_out}"]) == 0
    lines = csv_out.read_text().splitlines()
    assert lines[0] == "id,answer,probability,label" and len(lines) == 17
    assert [line.split(",")[1] for line in lines[1:]] == [r["answer"] for r in rows]


def test_predict_output_with_an_unknown_extension_fails_before_predicting(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["predict", "--config", CONFIG, *SMALL, *QUIET, f"--trainer.default_root_dir={tmp_path}",
                 "--output", "p.txt"]) == 2
    assert "unknown file type .txt" in capsys.readouterr().err


# ---------------------------------------------------------------------------- traces say what they explain


def _explain(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["explain", "--config", CONFIG, *SMALL, *args])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_an_untrained_model_is_named_in_every_format(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    status, text, err = _explain(capsys, "--index", "0")
    assert status == 0 and "warning: no --ckpt_path: explaining an UNTRAINED model" in err
    assert text.splitlines()[0].startswith("UNTRAINED MODEL: no checkpoint was loaded")
    status, out, _ = _explain(capsys, "--index", "0", "--format", "json")
    trace = json.loads(out)
    assert trace["provenance"]["untrained"] is True and trace["provenance"]["checkpoint"] is None
    page = tmp_path / "t.html"
    assert _explain(capsys, "--index", "0", "--format", "html", "-o", str(page))[0] == 0
    html = page.read_text()
    assert "<title>greybox traces: sum2_digits (UNTRAINED)</title>" in html and 'id="untrained-banner"' in html
    assert '"untrained":true' in html


def test_a_trace_records_its_configs_checkpoint_and_version(trained, tmp_path, capsys, monkeypatch) -> None:
    import hashlib

    import greybox

    monkeypatch.chdir(ROOT)
    extra = tmp_path / "fewer.yaml"
    extra.write_text("data:\n  init_args:\n    test_examples: 8\n")
    status = main(["explain", "--config", CONFIG, "--config", str(extra), *SMALL[:2], "--ckpt_path", str(trained),
                   "--index", "7", "--format", "json"])
    out = capsys.readouterr()
    assert status == 0, out.err
    trace = json.loads(out.out)
    assert trace["provenance"] == {"configs": [CONFIG, str(extra)], "checkpoint": str(trained),
                                   "checkpoint_sha256": hashlib.sha256(trained.read_bytes()).hexdigest(),
                                   "greybox_version": greybox.__version__, "untrained": False}
    # the second config is merged: the test split has 8 examples now
    assert main(["explain", "--config", CONFIG, "--config", str(extra), *SMALL[:2], "--ckpt_path", str(trained),
                 "--index", "8"]) == 2
    assert "--index 8 is outside the test split (0..7)" in capsys.readouterr().err


def test_a_checkpoint_that_does_not_fit_points_to_the_runs_config(trained, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    bigger = tmp_path / "bigger.yaml"
    bigger.write_text("model:\n  networks:\n    digit_net:\n      class_path: tasks.digit_sum.model.DigitNet\n"
                      "      init_args: {image_size: 28}\n")
    status = main(["explain", "--config", CONFIG, "--config", str(bigger), *SMALL, "--ckpt_path", str(trained)])
    err = capsys.readouterr().err
    saved = trained.parent.parent / "config.yaml"
    assert saved.is_file()
    assert status == 2 and f"the checkpoint does not fit the model built from {CONFIG}, {bigger}" in err
    assert "size mismatch" in err and f"hint: the run that wrote it saved its config: use --config {saved}" in err
    status = main(["explain", "--config", str(saved), *SMALL, "--ckpt_path", str(trained), "--format", "json"])
    assert status == 0 and json.loads(capsys.readouterr().out)["provenance"]["configs"] == [str(saved)]


# ---------------------------------------------------------------------------- wrong predictions


def _batch(capsys, trained, *args: str) -> dict:
    status, out, err = _explain(capsys, "--ckpt_path", str(trained), "--format", "json", "-k", "1", *args)
    assert status == 0, err
    data = json.loads(out)
    return data


def test_index_lists_and_wrong_only_in_every_format(trained, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    every = _batch(capsys, trained, "--index", "3", "7", "12")
    assert [t["index"] for t in every["traces"]] == [3, 7, 12] and every["selection"] == "examples 3, 7, 12"
    assert [t["index"] for t in _batch(capsys, trained, "--index", "3,7,12")["traces"]] == [3, 7, 12]
    wrong = [t["index"] for t in every["traces"] if t["correct"] is False]
    assert wrong, "a model trained for two steps gets some of these wrong"
    only = _batch(capsys, trained, "--index", "3,7,12", "--wrong-only")
    assert [t["index"] for t in only["traces"]] == wrong
    assert only["selection"] == f"wrong predictions only ({len(wrong)} of 3 examples looked at)"
    status, text, _ = _explain(capsys, "--ckpt_path", str(trained), "--index", "3,7,12", "--wrong-only", "-k", "1")
    headers = [line for line in text.splitlines() if line.startswith("digit_sum test #")]
    assert status == 0 and headers == [f"digit_sum test #{i}  query: sum(S)" for i in wrong]
    assert text.count("WRONG (label") == len(wrong)
    status, dot, _ = _explain(capsys, "--ckpt_path", str(trained), "--index", "3,7,12", "--wrong-only", "-k", "1",
                              "--format", "dot")
    assert status == 0 and dot.count("digraph trace {") == len(wrong)
    page = tmp_path / "wrong.html"
    assert _explain(capsys, "--ckpt_path", str(trained), "--index", "3,7,12", "--wrong-only", "-k", "1",
                    "--format", "html", "-o", str(page))[0] == 0
    html = page.read_text()
    assert html.count('"correct":false') == len(wrong) and '"correct":true' not in html
    assert "wrong predictions only" in html
    # from one index on, --limit counts wrong predictions
    first = _batch(capsys, trained, "--index", "0", "--limit", "2", "--wrong-only")
    assert len(first["traces"]) == 2 and all(t["correct"] is False for t in first["traces"])


def test_a_wrong_prediction_shows_the_labels_proof_and_why_not_the_label(trained, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    trace = _batch(capsys, trained, "--index", "0", "--limit", "1", "--wrong-only")["traces"][0]
    assert trace["correct"] is False and trace["label_proofs"]
    assert all(p["root"]["atom"] == f"sum({trace['label']})" for p in trace["label_proofs"])
    assert trace["why_not"]["target"] == trace["label"]
    assert all(abs(c["to_probability"] - c["from_probability"]) >= 0.01 for c in trace["why_not"]["changes"])
    status, text, _ = _explain(capsys, "--ckpt_path", str(trained), "--index", str(trace["index"]), "-k", "1")
    assert f"proofs of the label {trace['label']} (not predicted)" in text and f"why not {trace['label']}?" in text


def test_the_text_trace_draws_the_images(trained, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    status, text, _ = _explain(capsys, "--ckpt_path", str(trained), "--index", "0", "-k", "1")
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("|-- [0] image"))
    picture = lines[at + 1:at + 9]  # an 8x8 digit: 8 lines
    assert all(line.startswith("|       ") for line in picture)
    assert sum(bool(set(line) & set("░▒▓█")) for line in picture) >= 4


def test_explain_help_names_paths_that_exist(capsys) -> None:
    import re

    from greybox.training import checkpoints, explain, predictions, run_args

    assert main(["explain", "--help"]) == 0
    text = capsys.readouterr().out + "".join(m.__doc__ for m in (explain, checkpoints, predictions, run_args))
    paths = set(re.findall(r"(?<![\w<])((?:experiments|knowledge|greybox|tasks|runs|tests)/[\w./<>-]*\w)", text))
    assert "experiments/digit_sum/sum2_digits.yaml" in paths and "experiments/kinship/clutrr.yaml" in paths
    missing = [p for p in paths if "<" not in p and not (ROOT / p).exists()]
    assert missing == []
    modules = set(re.findall(r"``(greybox(?:\.\w+)+)``", text))
    assert "greybox.trace.describe" in modules
    import importlib

    for name in modules:  # a module, or a name in one
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            module, _, attr = name.rpartition(".")
            assert hasattr(importlib.import_module(module), attr), name


def test_a_page_of_one_example_has_no_accuracy_headline(trained, tmp_path, capsys, monkeypatch) -> None:
    import shutil
    import subprocess

    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed")
    monkeypatch.chdir(ROOT)
    page = tmp_path / "one.html"
    assert _explain(capsys, "--ckpt_path", str(trained), "--index", "0", "-k", "1", "--format", "html", "-o", str(page))[0] == 0
    out = subprocess.run([node, str(ROOT / "tests/helpers/trace_page.js"), str(page), "", "summary"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)["summary"]["text"]
    assert summary.startswith("1 example \u00b7 ") and "accuracy" not in summary
