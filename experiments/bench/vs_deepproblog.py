"""sum-N on MNIST: DeepProbLog's exact engine against greybox, same data, same network.

Both sides train the same perception net (DeepProbLog's ``MNIST_Net``, which is greybox's
``DigitNet(28)`` layer for layer, from the same initial weights) on the same training
examples drawn by ``DigitSumDataModule(source='mnist', seed=...)``, in the same order (as
DeepProbLog's loader reads them: unshuffled), for the same number of passes and batch size,
with Adam; then both are scored on the same test examples. After one pass over 1,000
examples the accuracy still moves fast with the order of the examples (shuffled, greybox
scored 0.20 where the unshuffled order gives 0.35 at N = 2, seed 0), so the order is shared.

The greybox side also times the perception network alone (``network alone``): the same
network, batches and Adam steps with a loss on the digit labels instead of the engine. It
is the time of a system whose reasoning costs nothing, so ``DeepProbLog s / network alone
s`` bounds the speed-up any engine can reach at this batch size.

DeepProbLog runs in its own virtual env (built on first use, see ``build_venv``), as a
subprocess limited in time (``--timeout``) and address space (``--memory-gb``).

Usage, from the project root, with the project's Python:

    .venv/bin/python experiments/bench/vs_deepproblog.py            # N = 1, 2, 3, 4
    .venv/bin/python experiments/bench/vs_deepproblog.py --n 1 2 --results out.md
    # both systems at batch 32 over 3,000 examples (the speed-up where the network is not the floor)
    .venv/bin/python experiments/bench/vs_deepproblog.py --n 2 --batch-size 32 --lr 3e-3 --train-examples 3000

If the DeepProbLog env cannot be built (no network, a wheel missing), the script prints
``SKIP: ...`` and exits 0.
"""

import argparse
import json
import os
import resource
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: make `tasks` importable
    sys.path.insert(0, str(ROOT))

from tasks.digit_sum.data import DigitSumDataModule, DigitSumDataset  # noqa: E402

__all__ = ["build_venv", "run_deepproblog", "run_greybox", "write_examples", "main"]

DEFAULT_VENV = ROOT / "experiments/bench/.deepproblog-venv"
DEFAULT_DATA = ROOT.parent / "shared/data/mnist10k"
SIDE = Path(__file__).resolve().parent / "deepproblog_side.py"

# Order matters: CPU torch first; deepproblog without its dependencies, or pip replaces
# the CPU torch with the CUDA build (several GB) to satisfy its torchvision requirement.
# numpy is imported by deepproblog's exact engine but not declared by it.
VENV_STEPS = (
    ["pip", "install", "torch==2.13.0"],
    ["pip", "install", "problog", "pysdd"],
    ["pip", "install", "--no-deps", "deepproblog==2.1.0"],
    ["pip", "install", "pillow", "numpy"],
)


def build_venv(venv: Path) -> str | None:
    """Create DeepProbLog's virtual env once (a ``.installed`` stamp marks a finished one).

    Args:
        venv: where the env goes.

    Returns:
        None when the env is ready, else why it could not be built (one line).
    """
    python = venv / "bin/python"
    stamp = venv / ".installed"
    if stamp.is_file() and python.is_file():
        return None
    try:
        venv.mkdir(parents=True, exist_ok=True)
        (venv / ".gitignore").write_text("*\n")  # as Python 3.13's venv does: git never sees it
    except OSError as exc:
        return f"cannot create {venv}: {exc}"
    log = venv / "build.log"
    print(f"building DeepProbLog's env in {venv} (log: {log})", flush=True)
    steps = [[sys.executable, "-m", "venv", str(venv)]]
    steps += [[str(python), "-m", *step] for step in VENV_STEPS]
    steps.append([str(python), "-c", "import deepproblog.engines, deepproblog.model"])
    with open(log, "a") as out:
        for step in steps:
            print("  $ " + shlex.join(step), flush=True)
            out.write("$ " + shlex.join(step) + "\n")
            out.flush()
            try:
                done = subprocess.run(step, stdout=out, stderr=subprocess.STDOUT)
            except OSError as exc:
                return f"`{shlex.join(step)}` could not start: {exc}"
            if done.returncode != 0:
                return f"`{shlex.join(step)}` failed with exit code {done.returncode} (see {log})"
    stamp.write_text("ok\n")
    return None


def write_examples(dm: DigitSumDataModule, path: Path) -> None:
    """Write the images and the train/test examples of ``dm`` to an ``.npz`` file."""
    train, test = dm.dataset("train"), dm.dataset("test")
    np.savez(path, images=dm.images.numpy(),
             train_indices=train.indices.numpy(), train_labels=train.labels.numpy(),
             test_indices=test.indices.numpy(), test_labels=test.labels.numpy(),
             test_digits=test.digits.numpy())


def _limit_memory(limit_bytes: int):
    def apply() -> None:  # runs in the child, before exec
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    return apply


def _progress(log_text: str, total: int, log_iter: int = 100) -> str:
    """How far a killed run got, from the 'Iteration: K' lines DeepProbLog prints."""
    lines = [ln for ln in log_text.splitlines() if ln.startswith("Iteration:")]
    if lines:
        return f"after training iteration {lines[-1].split()[1]} of {total}"
    if total < log_iter:
        return f"during its {total} training iterations"
    return f"before training iteration {log_iter} of {total} (DeepProbLog logs every {log_iter})"


def run_deepproblog(python: Path, data: Path, n: int, args: argparse.Namespace,
                    timeout: float, work: Path) -> dict:
    """Run ``deepproblog_side.py`` for one N under the time and memory limits.

    Returns:
        The side's JSON result, or ``{"status": "timeout" | "out of memory" | "failed", ...}``.
    """
    out = work / f"dpl_sum{n}.json"
    log = work / f"dpl_sum{n}.log"
    cmd = [str(python), str(SIDE), "--data", str(data), "--n", str(n), "--out", str(out),
           "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
           "--lr", str(args.lr), "--seed", str(args.seed), "--program", args.program,
           "--threads", str(args.threads)]
    limit = int(args.memory_gb * 1024**3)
    start = time.perf_counter()
    with open(log, "w") as log_file:
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT,
                                preexec_fn=_limit_memory(limit), start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = None
    wall = time.perf_counter() - start
    text = log.read_text(errors="replace")
    if code is None:
        if out.is_file():  # training finished, the test did not: keep the training figures
            result = json.loads(out.read_text())
            result.update(status="timeout", wall_seconds=wall, log=str(log),
                          detail=f"killed after {timeout:.0f} s while testing (training done)")
            return result
        return {"status": "timeout", "wall_seconds": wall, "log": str(log),
                "detail": f"killed after {timeout:.0f} s, "
                          f"{_progress(text, -(-args.train_examples // args.batch_size))} "
                          f"(batches of {args.batch_size})"}
    result = json.loads(out.read_text()) if out.is_file() else {}
    result.update(wall_seconds=wall, log=str(log))
    if result.get("status") == "ok" or code == 3:  # 3: the side caught a MemoryError
        return result
    # a crash (training figures kept if it got past training): MemoryError outside the
    # side's handler, or a C++ allocation failure in the knowledge compiler
    memory_words = ("MemoryError", "bad_alloc", "Cannot allocate memory", "out of memory",
                    "calloc failed", "malloc failed")
    status = "out of memory" if any(w in text for w in memory_words) else "failed"
    tail = [ln for ln in text.splitlines() if ln.strip()][-1:] or [""]
    stage = "while testing" if result.get("status") == "trained" else "while training"
    result.update(status=status, detail=f"exit code {code} {stage}: {tail[0][:200]}")
    return result


def run_greybox(n: int, train: DigitSumDataset, test: DigitSumDataset, epochs: int,
                batch_size: int, seed: int, lr: float = 1e-3, shuffle: bool = False) -> dict:
    """Train greybox on the same examples and net; the counterpart of deepproblog_side.py.

    Args:
        n: N of sum-N.
        train: the training examples (the same DeepProbLog trains on).
        test: the test examples.
        epochs: passes over ``train``.
        batch_size: examples per optimiser step.
        seed: ``torch.manual_seed`` before building ``DigitNet(28)`` (same initial weights
            as DeepProbLog's MNIST_Net under the same seed).
        lr: Adam's learning rate.
        shuffle: shuffle the examples each pass (seeded); off: DeepProbLog's order.

    Returns:
        ``{"seconds_per_1000": float, "accuracy": float, "network_seconds_per_1000": float}``;
        the last is the perception network alone (see the module's docstring).

    Raises:
        ImportError: greybox's training package is not there (yet).
    """
    import time

    import torch
    from torch.utils.data import DataLoader

    from greybox.training.module import ReasoningTask
    from tasks.digit_sum.model import DigitNet

    root = Path(__file__).resolve().parents[2]
    torch.manual_seed(seed)
    task = ReasoningTask(str(root / "knowledge/digit_sum.dl"), {"digit_net": DigitNet(28)}, train_query="sum(S)",
                         extra_facts=f"num_digits({n}).", perception_targets={"digit_net": "digits"}, lr=lr)
    opt = task.configure_optimizers()
    loader = DataLoader(train, batch_size=batch_size, shuffle=shuffle, generator=torch.Generator().manual_seed(seed))
    task.train()
    started = time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            opt.zero_grad()
            loss, _ = task.loss(batch)
            loss.backward()
            opt.step()
    seconds = time.perf_counter() - started
    task.eval()
    right = total = 0
    with torch.no_grad():
        for batch in DataLoader(test, batch_size=256):
            codes, _ = task.predict_answers(batch)
            right += int((codes[:, 0] == batch["label"]).sum())
            total += len(batch["label"])
    per_1000 = 1000 / (len(train) * epochs)
    return {"seconds_per_1000": seconds * per_1000, "accuracy": right / total,
            "network_seconds_per_1000": _network_alone(loader, epochs, seed, lr) * per_1000}


def _network_alone(loader, epochs: int, seed: int, lr: float) -> float:
    """Seconds to train the perception net alone over the same batches: digit labels, no engine."""
    import time

    import torch

    from tasks.digit_sum.model import DigitNet

    torch.manual_seed(seed)
    net = DigitNet(28)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    started = time.perf_counter()
    for _ in range(epochs):
        for batch in loader:
            opt.zero_grad()
            probs = net(batch["images"].flatten(0, 1))  # (B * N, 10)
            digits = batch["digits"].reshape(-1)  # (B * N,)
            loss = -torch.log(probs[torch.arange(len(digits)), digits].clamp_min(1e-12)).mean()
            loss.backward()
            opt.step()
    return time.perf_counter() - started


def _cell(result: dict, key: str, fmt: str) -> str:
    if result.get(key) is not None:
        return format(result[key], fmt)
    return result.get("status", "?")


def _speed_up(dpl: dict, gb: dict) -> str:
    """DeepProbLog's training time per example over greybox's, when both have one."""
    if "seconds_per_1000" not in dpl or "seconds_per_1000" not in gb:
        return "—"
    return f"{dpl['seconds_per_1000'] / gb['seconds_per_1000']:.1f}x"


def format_table(rows: list[tuple[int, dict, dict]]) -> str:
    """The results as a Markdown table (one row per N)."""
    head = ("| N | DeepProbLog s / 1,000 train | DeepProbLog test acc | greybox s / 1,000 train "
            "| greybox test acc | speed-up | network alone s / 1,000 train | DeepProbLog CPU s / 1,000 train "
            "| DeepProbLog s / 1,000 train without grounding+compiling "
            "| DeepProbLog digit acc | DeepProbLog peak RSS (MB) |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for n, dpl, gb in rows:
        lines.append(
            f"| {n} | {_cell(dpl, 'seconds_per_1000', '.1f')} | {_cell(dpl, 'accuracy', '.3f')} "
            f"| {_cell(gb, 'seconds_per_1000', '.2f')} | {_cell(gb, 'accuracy', '.3f')} | {_speed_up(dpl, gb)} "
            f"| {_cell(gb, 'network_seconds_per_1000', '.2f')} | {_cell(dpl, 'cpu_seconds_per_1000', '.1f')} "
            f"| {_cell(dpl, 'seconds_per_1000_without_compiling', '.1f')} "
            f"| {_cell(dpl, 'digit_accuracy', '.3f')} | {_cell(dpl, 'peak_rss_mb', '.0f')} |")
    notes = [f"- N={n}: DeepProbLog {dpl['status']}: {dpl['detail']}"
             for n, dpl, _ in rows if dpl.get("status") != "ok" and "detail" in dpl]
    notes += [f"- N={n}: DeepProbLog grounded and compiled {dpl['circuits']} circuits in "
              f"{dpl['compile_seconds']:.1f} s while training; "
              + (f"testing took {dpl['test_seconds']:.1f} s; " if "test_seconds" in dpl
                 else "testing did not finish; ")
              + "1-minute load average before/after: "
              f"{dpl.get('load_1min')}"
              for n, dpl, _ in rows if "circuits" in dpl]
    return head + "\n".join(lines) + ("\n\n" + "\n".join(notes) if notes else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="sum-N on MNIST: DeepProbLog vs greybox")
    parser.add_argument("--n", type=int, nargs="+", default=[1, 2, 3, 4], help="values of N")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="DeepProbLog's env")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="MNIST IDX folder")
    parser.add_argument("--train-examples", type=int, default=1000)
    parser.add_argument("--test-examples", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--greybox-batch-size", type=int,
                        help="greybox's batch size (default: --batch-size, DeepProbLog's)")
    parser.add_argument("--greybox-lr", type=float, help="greybox's learning rate (default: --lr)")
    parser.add_argument("--greybox-shuffle", action="store_true",
                        help="greybox shuffles its examples each pass (default: DeepProbLog's order)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per DeepProbLog run")
    parser.add_argument("--total-timeout", type=float, default=3600.0,
                        help="seconds for all DeepProbLog runs together")
    parser.add_argument("--memory-gb", type=float, default=20.0,
                        help="address-space limit of a DeepProbLog run")
    parser.add_argument("--program", choices=["flat", "recursive"], default="flat",
                        help="flat: one clause as DeepProbLog's addition example; "
                             "recursive: a running sum over a list")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads on both sides (1: fair on a shared machine)")
    parser.add_argument("--skip-deepproblog", action="store_true")
    parser.add_argument("--skip-greybox", action="store_true")
    parser.add_argument("--results", type=Path, help="also write the table to this file")
    parser.add_argument("--log-dir", type=Path,
                        help="keep the examples, DeepProbLog's logs and results here "
                             "(default: a temporary folder, removed at the end)")
    args = parser.parse_args(argv)

    if not args.skip_deepproblog:
        why = build_venv(args.venv)
        if why is not None:
            print(f"SKIP: DeepProbLog's env could not be built: {why}")
            return 0
    torch.set_num_threads(args.threads)  # the greybox side runs in this process
    python = os.path.relpath(sys.executable, Path.cwd())
    command = shlex.join([python, *sys.argv] if argv is None else
                         [python, "experiments/bench/vs_deepproblog.py", *argv])
    deadline = time.monotonic() + args.total_timeout
    rows = []
    with tempfile.TemporaryDirectory(prefix="vs_deepproblog_") as tmp:
        work = Path(tmp) if args.log_dir is None else args.log_dir
        work.mkdir(parents=True, exist_ok=True)
        for n in args.n:
            dm = DigitSumDataModule(source="mnist", data_dir=str(args.data_dir), task="sum", n=n,
                                    train_examples=args.train_examples, val_examples=0,
                                    test_examples=args.test_examples, seed=args.seed)
            dm.setup()
            data = work / f"sum{n}.npz"
            write_examples(dm, data)
            if args.skip_deepproblog:
                dpl = {"status": "skipped"}
            elif (left := deadline - time.monotonic()) < 1:
                dpl = {"status": "not run", "detail": "the --total-timeout was used up"}
            else:
                print(f"DeepProbLog sum-{n} ...", flush=True)
                load_before = os.getloadavg()[0]
                dpl = run_deepproblog(args.venv / "bin/python", data, n, args,
                                      min(args.timeout, left), work)
                # the machine's other work competes for the same cores: record how busy it was
                dpl["load_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
            print(f"  DeepProbLog: {json.dumps(dpl)}", flush=True)
            if dpl.get("status") not in ("ok", "skipped", "not run") and "log" in dpl:
                tail = Path(dpl["log"]).read_text(errors="replace")[-1500:]
                print("  the end of its log:\n    " + tail.replace("\n", "\n    "), flush=True)
            if args.skip_greybox:
                gb = {"status": "skipped"}
            else:
                try:
                    gb = {"status": "ok", **run_greybox(n, dm.dataset("train"), dm.dataset("test"),
                                                        args.epochs, args.greybox_batch_size or args.batch_size,
                                                        args.seed, args.greybox_lr or args.lr,
                                                        shuffle=args.greybox_shuffle)}
                except ImportError as exc:
                    print(f"greybox side: not available yet ({exc})", flush=True)
                    gb = {"status": "not available yet"}
            rows.append((n, dpl, gb))
    table = format_table(rows)
    print(table)
    if args.results is not None:
        args.results.write_text(f"command: {command}\n\n{table}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
