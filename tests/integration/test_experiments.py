"""Every experiment config runs through the Lightning CLI (one batch), and traces validate.

MNIST configs read ``../shared/data/mnist10k`` (relative to the repository); they are
skipped with the reason when that folder is absent.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from greybox.training.cli import lightning_main
from greybox.trace.schema import DecisionTrace, json_schema, validate_trace_json

ROOT = Path(__file__).resolve().parents[2]
MNIST = ROOT.parent / "shared/data/mnist10k"
CLUTRR = ROOT.parent / "shared/data/clutrr/data_089907f8"
# the Lightning configs (a `trainer:` section); e.g. learn_rules.yaml is read by `greybox learn-rules`
CONFIGS = sorted(p for p in (ROOT / "experiments").glob("*/*.yaml")
                 if p.parent.name != "bench" and "\ntrainer:" in "\n" + p.read_text())


def _overrides(config: Path) -> list[str]:
    text = config.read_text()
    if "greybox.neural.reader.TextReader" in text:
        import importlib.util

        if importlib.util.find_spec("greybox.neural.reader") is None:
            pytest.skip("the text reader (greybox.neural.reader) is not in this tree")
    if "tasks.rules_in_language" in text:
        return ["--data.init_args.max_train=8", "--data.init_args.max_test=4", "--data.init_args.batch_size=2"]
    if "data/clutrr" in text:
        if not CLUTRR.is_dir():
            pytest.skip(f"CLUTRR data not found at {CLUTRR}")
        return [f"--data.init_args.data_dir={CLUTRR}", "--data.init_args.max_train=64",
                "--data.init_args.max_test_per_k=4", "--data.init_args.batch_size=4"]
    if "source: mnist" in text or "mnist10k" in text:
        if not MNIST.is_dir():
            pytest.skip(f"MNIST data not found at {MNIST}")
        return [f"--data.init_args.data_dir={MNIST}"]
    return []


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_config_runs_one_batch(config: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    args = ["fit", "--config", str(config), "--trainer.fast_dev_run=true", f"--trainer.default_root_dir={tmp_path}",
            "--trainer.enable_progress_bar=false", *_overrides(config)]
    assert lightning_main(args) == 0


VARIANTS = sorted((ROOT / "experiments/kinship/variants").glob("*.yaml"))


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.stem for v in VARIANTS])
def test_kinship_variant_runs_one_batch_after_the_config(variant: Path, tmp_path: Path, monkeypatch) -> None:
    config = ROOT / "experiments/kinship/clutrr.yaml"
    monkeypatch.chdir(ROOT)
    args = ["fit", "--config", str(config), "--config", str(variant), "--trainer.fast_dev_run=true",
            f"--trainer.default_root_dir={tmp_path}", "--trainer.enable_progress_bar=false", *_overrides(config)]
    assert lightning_main(args) == 0


@pytest.fixture(scope="module")
def digits_checkpoint(tmp_path_factory) -> Path:
    """A sum-2 model on the bundled digits after a few steps (enough to exercise traces)."""
    out = tmp_path_factory.mktemp("ckpt")
    callbacks = ('--trainer.callbacks=[{"class_path": "pytorch_lightning.callbacks.ModelCheckpoint", '
                 f'"init_args": {{"dirpath": "{out}", "save_last": true}}}}]')
    status = lightning_main(["fit", "--config", str(ROOT / "experiments/digit_sum/sum2_digits.yaml"),
                             "--trainer.max_steps=5", "--trainer.limit_val_batches=1", "--trainer.logger=false",
                             "--trainer.enable_progress_bar=false", f"--trainer.default_root_dir={out}", callbacks])
    assert status == 0
    ckpt = out / "last.ckpt"
    assert ckpt.is_file()
    return ckpt


def test_explain_json_validates_against_committed_schema(digits_checkpoint: Path, capsys) -> None:
    from greybox.training.explain import main

    assert main(["--config", str(ROOT / "experiments/digit_sum/sum2_digits.yaml"), "--ckpt_path", str(digits_checkpoint),
                 "--index", "3", "--format", "json"]) == 0
    text = capsys.readouterr().out
    trace = validate_trace_json(text)
    assert isinstance(trace, DecisionTrace)
    assert trace.task == "digit_sum" and trace.index == 3
    assert trace.proofs and trace.proofs[0].root.rule is not None
    assert trace.proofs[0].root.rule.file.endswith("digit_sum.dl")
    # every leaf that a network produced says which input it read
    leaves = [c for c in trace.proofs[0].root.children]
    assert trace.attributions and all(a.source.kind == "neural" for a in trace.attributions)
    committed = json.loads((ROOT / "greybox/trace/schema.json").read_text())
    assert committed == json_schema()
    assert leaves


def test_explain_html_is_self_contained(digits_checkpoint: Path, tmp_path: Path) -> None:
    from greybox.training.explain import main

    out = tmp_path / "traces.html"
    assert main(["--config", str(ROOT / "experiments/digit_sum/sum2_digits.yaml"), "--ckpt_path", str(digits_checkpoint),
                 "--limit", "5", "--format", "html", "-o", str(out)]) == 0
    html = out.read_text()
    assert html.count("data:image/png;base64,") >= 1
    assert "http://" not in html and "https://" not in html


def test_explain_missing_checkpoint_is_a_user_error(capsys) -> None:
    from greybox.training.explain import main

    assert main(["--config", str(ROOT / "experiments/digit_sum/sum2_digits.yaml"), "--ckpt_path", "nope.ckpt"]) == 2
    assert "checkpoint 'nope.ckpt' does not exist" in capsys.readouterr().err


def test_ddp_on_two_cpu_processes(tmp_path: Path) -> None:
    """``greybox fit ... --trainer.strategy=ddp --trainer.devices=2`` on the gloo backend."""
    greybox = Path(sys.executable).with_name("greybox")
    cmd = [str(greybox), "fit", "--config", "experiments/digit_sum/sum2_digits.yaml", "--trainer.accelerator=cpu",
           "--trainer.devices=2", "--trainer.strategy=ddp", "--trainer.max_steps=3", "--trainer.limit_val_batches=2",
           "--trainer.logger=false", "--trainer.callbacks=[]", "--trainer.enable_checkpointing=false",
           "--trainer.enable_progress_bar=false", f"--trainer.default_root_dir={tmp_path}"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "distributed_backend=gloo" in proc.stderr + proc.stdout
    assert "All distributed processes registered" in proc.stderr + proc.stdout


def test_clutrr_test_reports_accuracy_per_k(tmp_path: Path, monkeypatch, capsys) -> None:
    """``greybox test --ckpt_path ... --data.init_args.data_dir DIR`` prints one accuracy per chain length k."""
    config = ROOT / "experiments/kinship/clutrr.yaml"
    data = [*_overrides(config), "--data.init_args.test_ks=[2, 10]"]
    monkeypatch.chdir(ROOT)
    callbacks = ('--trainer.callbacks=[{"class_path": "pytorch_lightning.callbacks.ModelCheckpoint", '
                 f'"init_args": {{"dirpath": "{tmp_path}", "save_last": true}}}}]')
    assert lightning_main(["fit", "--config", str(config), "--trainer.max_steps=2", "--trainer.limit_val_batches=1",
                           "--trainer.logger=false", "--trainer.enable_progress_bar=false",
                           f"--trainer.default_root_dir={tmp_path}", callbacks, *data]) == 0
    capsys.readouterr()
    assert lightning_main(["test", "--config", str(config), "--ckpt_path", str(tmp_path / "last.ckpt"),
                           "--trainer.logger=false", "--trainer.enable_progress_bar=false",
                           f"--trainer.default_root_dir={tmp_path}", *data]) == 0
    out = capsys.readouterr().out
    assert "test_acc/k2" in out and "test_acc/k10" in out
    assert "dataloader_idx" not in out
    # and a compact line per k after Lightning's tables
    summary = out[out.index("test  acc"):].splitlines()
    assert [line.split()[0] for line in summary[:3]] == ["test", "k2", "k10"]
    assert all(0.0 <= float(line.split()[1]) <= 1.0 for line in summary[1:3])


def test_last_checkpoint_is_the_latest_epoch_and_the_best_is_kept_beside_it(tmp_path: Path) -> None:
    """The configs keep two checkpoints: ``best-*.ckpt`` by val_acc, and ``last.ckpt`` of the latest epoch
    (Lightning >= 2.6 writes a monitored callback's ``last.ckpt`` only when the metric improves)."""
    import torch

    status = lightning_main(["fit", "--config", str(ROOT / "experiments/digit_sum/sum2_digits.yaml"),
                             "--trainer.max_epochs=3", "--trainer.limit_train_batches=2", "--trainer.limit_val_batches=1",
                             "--trainer.logger=false", "--trainer.enable_progress_bar=false",
                             f"--trainer.default_root_dir={tmp_path}"])
    assert status == 0
    (last,) = tmp_path.rglob("last.ckpt")
    assert torch.load(last, weights_only=True)["epoch"] == 2
    assert len(list(tmp_path.rglob("best-epoch=*-val_acc=*.ckpt"))) == 1


def test_a_checkpoint_written_before_an_argument_was_removed_still_tests(digits_checkpoint: Path, tmp_path: Path,
                                                                          capsys) -> None:
    """A checkpoint keeps its model's arguments; one removed since (here ``sparsity``) is left out, with a warning."""
    import torch

    state = torch.load(digits_checkpoint, weights_only=True)
    state["hyper_parameters"]["sparsity"] = None
    old = tmp_path / "old.ckpt"
    torch.save(state, old)
    with pytest.warns(UserWarning, match=r"took sparsity; this one does not: left out"):
        status = lightning_main(["test", "--config", str(ROOT / "experiments/digit_sum/sum2_digits.yaml"),
                                 "--ckpt_path", str(old), "--trainer.logger=false", "--trainer.limit_test_batches=1",
                                 f"--trainer.default_root_dir={tmp_path}"])
    assert status == 0
    assert "test_acc" in capsys.readouterr().out


def test_a_rules_in_language_fit_writes_a_checkpoint_greybox_test_reads(tmp_path: Path, monkeypatch) -> None:
    # the user's path: `greybox fit`, then `greybox test --ckpt_path` on what it wrote (weights only, no code runs)
    monkeypatch.chdir(ROOT)
    config = ROOT / "experiments/rules_in_language/ruletaker.yaml"
    small = _overrides(config)
    assert lightning_main(["fit", "--config", str(config), "--trainer.max_steps=1", "--trainer.limit_val_batches=1",
                           "--trainer.logger=false", "--trainer.enable_progress_bar=false",
                           f"--trainer.default_root_dir={tmp_path}", *small]) == 0
    (last,) = tmp_path.rglob("last.ckpt")  # the config's own checkpoint callback
    assert lightning_main(["test", "--config", str(config), "--ckpt_path", str(last),
                           "--trainer.logger=false", "--trainer.enable_progress_bar=false", *small]) == 0
