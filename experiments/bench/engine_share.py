"""Where a training step's time goes: perception net vs reasoning engine, on sum-2, sum-15 and add-15.

    .venv/bin/python experiments/bench/engine_share.py [--tasks sum-2 sum-15 add-15] [--batch 64] \
        [--steps 7] [--threads 1] [--data ../shared/data/mnist10k] [--cprofile sum-15 add-15] \
        [--representation auto|sparse|dense]

One training step, as ``ReasoningTask`` takes it, at batch 64 with the real perception
net (``DigitNet(image_size=28)``, DeepProbLog's MNIST_Net): perception forward over the
batch's images, engine forward (add-mult), loss ``-log P(label)``, backward through the
engine and the network, Adam step. Tasks:

  * sum-N (N = 2, 15): ``knowledge/digit_sum.dl`` + ``num_digits(N).``, query ``sum(S)``,
    loss on the labelled sum;
  * add-15: ``knowledge/digit_add.dl`` + ``num_digits(15).``, conditioned on the label's
    digits (``target`` facts from ``greybox.training.module.sequence_facts``), query
    ``correct`` (30 images per example).

Images are MNIST test digits drawn by ``tasks.digit_sum.data.DigitSumDataModule`` when
``--data`` holds the IDX files, random 28x28 inputs otherwise. The step is split in six
parts; the backward is split by running it from the loss to the answers' probabilities
``p`` first (the loss's backward), then from ``p`` to the network's output probabilities
(``torch.autograd.grad(p, probs, grad_p)``: the engine's backward), then
``probs.backward(grad)`` (the network's backward):

    perception = network forward + network backward
    engine     = engine forward (the labelled answers' probabilities) + engine backward
    loss       = -log p, averaged, and its backward (printed apart, and added to the
                 engine in the "with the loss" share)
    optimizer  = Adam step

The target is the reasoning part, the engine; the share with the loss counted in is
printed beside it.

Three measurements: wall-clock timers and this process's CPU time per part (median over
``--steps`` steps after one warm-up step; with one thread the CPU time is the steadier
figure on a shared machine, with two it adds up both threads), and ``torch.profiler``
with ``record_function`` regions around the same parts (its per-op overhead inflates the
op-heavy engine). The unsplit step (one ``loss.backward()``), alternating with the split
one so that both see the same load, is timed too: it is the step quoted per 1,000
examples, and split/unsplit near 1 shows that splitting the backward changes nothing.

``--cprofile TASK ...`` adds, per task, cProfile's 15 most expensive functions (own CPU
time) over the engine's forward + backward, greybox's functions by cumulative time, and
the torch ops of the engine by self time. cProfile charges a tensor operator such as
``a[idx]`` or ``a - b`` to the Python function that applies it; ``torch.sort`` and the
like, and autograd's whole backward (``run_backward``), appear on their own.

``--representation`` sets how the engine holds relations (``Engine.representation``):
``auto`` (the default, as in training: dense tensors when the evaluation qualifies),
``sparse`` (tuple columns) or ``dense``.

Targets (printed with the figures): engine <= 10% of the step; sum-15 and add-15 under
10 s per 1,000 training examples on 2 CPU cores.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script: make `tasks` importable
    sys.path.insert(0, str(ROOT))

from greybox.neural.module import ReasoningModule  # noqa: E402
from greybox.training.module import sequence_facts  # noqa: E402
from tasks.digit_sum.data import MNIST_IMAGES, MNIST_LABELS, DigitSumDataModule  # noqa: E402
from tasks.digit_sum.model import DigitNet  # noqa: E402

TASKS = {
    "sum-2": ("sum", 2),
    "sum-15": ("sum", 15),
    "add-15": ("add", 15),
}
PARTS = ("perception_forward", "engine_forward", "loss", "engine_backward", "perception_backward", "optimizer")
ENGINE_SHARE_TARGET = 0.10
PER_1000_TARGET_S = 10.0


class Setup:
    """The reasoner, network, optimizer and batches of one task."""

    def __init__(self, name: str, batch: int, steps: int, data: Path, seed: int, representation: str = "auto") -> None:
        kind, n = TASKS[name]
        self.name, self.kind, self.n, self.batch = name, kind, n, batch
        torch.manual_seed(seed)
        self.net = DigitNet(image_size=28)
        if kind == "sum":
            self.reasoner = ReasoningModule(ROOT / "knowledge/digit_sum.dl", {"digit_net": self.net},
                                            query="sum(S)", extra_facts=f"num_digits({n}).")
        else:
            self.reasoner = ReasoningModule(ROOT / "knowledge/digit_add.dl", {"digit_net": self.net},
                                            query="correct", extra_facts=f"num_digits({n}).")
        self.reasoner.engine.representation = representation
        self.opt = torch.optim.Adam(self.reasoner.parameters(), lr=1e-3)
        self.batches, self.source = self._batches(batch, steps + 1, data, seed)

    def _batches(self, batch: int, count: int, data: Path, seed: int) -> tuple[list[dict], str]:
        m = self.n if self.kind == "sum" else 2 * self.n
        if (data / MNIST_IMAGES).is_file() and (data / MNIST_LABELS).is_file():
            dm = DigitSumDataModule(source="mnist", data_dir=str(data), task=self.kind, n=self.n,
                                    train_examples=batch * count, val_examples=0, test_examples=0,
                                    batch_size=batch, seed=seed)
            return list(dm.train_dataloader())[:count], f"MNIST ({data})"
        gen = torch.Generator().manual_seed(seed)
        out = []
        for _ in range(count):
            digits = torch.randint(0, 10, (batch, m), generator=gen)
            item = {"images": torch.randn(batch, m, 1, 28, 28, generator=gen), "digits": digits}
            if self.kind == "sum":
                item["label"] = digits.sum(1)
            else:
                w = 10 ** torch.arange(self.n - 1, -1, -1)
                label = (digits[:, : self.n] * w).sum(1) + (digits[:, self.n:] * w).sum(1)
                item["label"] = label
                item["label_digits"] = (label[:, None] // 10 ** torch.arange(self.n + 1)) % 10
            out.append(item)
        return out, "random 28x28 inputs (MNIST files not found)"

    # ------------------------------------------------------------------ the parts of a step

    def perceive(self, batch: dict):
        """Network forward: ``NeuralOutput`` per network and the probabilities tensor ``(B*M, 10)``."""
        neural = self.reasoner.perceive({"digit_net": batch["images"]})
        return neural, neural["digit_net"].probs

    def answer_probability(self, batch: dict, neural: dict) -> torch.Tensor:
        """Engine forward: ``(B,)`` the probability of each example's labelled answer."""
        b = batch["images"].shape[0]
        if self.kind == "sum":
            out = self.reasoner({}, neural=neural, batch_size=b)
            return out.probability_of(batch["label"].reshape(b, 1))
        facts = {"target": sequence_facts(batch["label_digits"])}
        out = self.reasoner({}, facts, neural=neural, batch_size=b)
        return out.probability_of(torch.zeros(b, 0, dtype=torch.int64))

    @staticmethod
    def loss(p: torch.Tensor) -> torch.Tensor:
        """The loss of ``ReasoningTask.loss`` (eps = 0): ``-log P(label)``, averaged."""
        return -torch.log(p.clamp_min(torch.finfo(p.dtype).tiny)).mean()

    def engine_loss(self, batch: dict, neural: dict) -> torch.Tensor:
        """Engine forward and the loss."""
        return self.loss(self.answer_probability(batch, neural))


@contextmanager
def region(name: str, times: dict[str, float], cpu: dict[str, float], profiling: bool):
    """Time a part of the step: wall-clock into ``times``, this process's CPU time into ``cpu``."""
    ctx = torch.profiler.record_function(name) if profiling else None
    if ctx is not None:
        ctx.__enter__()
    t, c = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        times[name] = time.perf_counter() - t
        cpu[name] = time.process_time() - c
        if ctx is not None:
            ctx.__exit__(None, None, None)


def split_step(s: Setup, batch: dict, profiling: bool = False) -> tuple[dict[str, float], dict[str, float]]:
    """One training step in five timed parts; returns wall-clock and CPU seconds per part."""
    times: dict[str, float] = {}
    cpu: dict[str, float] = {}
    s.opt.zero_grad(set_to_none=True)
    with region("perception_forward", times, cpu, profiling):
        neural, probs = s.perceive(batch)
    with region("engine_forward", times, cpu, profiling):
        p = s.answer_probability(batch, neural)
    with region("loss", times, cpu, profiling):
        (grad_p,) = torch.autograd.grad(s.loss(p), p)
    with region("engine_backward", times, cpu, profiling):
        (grad,) = torch.autograd.grad(p, probs, grad_p)
    with region("perception_backward", times, cpu, profiling):
        probs.backward(grad)
    with region("optimizer", times, cpu, profiling):
        s.opt.step()
    return times, cpu


def plain_step(s: Setup, batch: dict) -> float:
    """One training step with a single ``loss.backward()``; returns seconds."""
    t = time.perf_counter()
    s.opt.zero_grad(set_to_none=True)
    neural, _ = s.perceive(batch)
    loss = s.engine_loss(batch, neural)
    loss.backward()
    s.opt.step()
    return time.perf_counter() - t


def profiled_split(s: Setup, steps: int) -> dict[str, float]:
    """Seconds per part per step, from ``torch.profiler``'s record_function regions."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(steps):
            split_step(s, s.batches[1 + i % (len(s.batches) - 1)], profiling=True)
    totals = {e.key: e.cpu_time_total for e in prof.key_averages() if e.key in PARTS}
    return {k: totals.get(k, 0.0) / 1e6 / steps for k in PARTS}


def report_split(label: str, parts: dict[str, float], batch: int) -> tuple[float, float]:
    step = sum(parts.values())
    engine = parts["engine_forward"] + parts["engine_backward"]
    perception = parts["perception_forward"] + parts["perception_backward"]
    print(f"  {label:<22s} step {step * 1e3:8.1f} ms | perception {perception * 1e3:7.1f} ms "
          f"(fwd {parts['perception_forward'] * 1e3:.1f}, bwd {parts['perception_backward'] * 1e3:.1f}) | "
          f"engine {engine * 1e3:8.1f} ms (fwd {parts['engine_forward'] * 1e3:.1f}, "
          f"bwd {parts['engine_backward'] * 1e3:.1f}) | loss {parts['loss'] * 1e3:.2f} ms | "
          f"adam {parts['optimizer'] * 1e3:.1f} ms | engine share {100 * engine / step:5.1f}% "
          f"(with the loss {100 * (engine + parts['loss']) / step:4.1f}%) | {step / batch * 1000:6.2f} s / 1,000 examples")
    return step, engine / step, (engine + parts["loss"]) / step


def cprofile_engine(s: Setup, steps: int, top: int = 15) -> None:
    """cProfile (and the torch ops) of the engine's forward + backward, the network run outside it."""
    batches = [s.batches[1 + i % (len(s.batches) - 1)] for i in range(steps)]
    inputs = []
    for b in batches:
        neural, probs = s.perceive(b)
        inputs.append((b, neural, probs))

    def engine(b, neural, probs):
        loss = s.engine_loss(b, neural)
        torch.autograd.grad(loss, probs)

    engine(*inputs[0])  # warm-up
    prof = cProfile.Profile(time.process_time)  # CPU time: steadier than wall-clock on a shared machine
    t, c = time.perf_counter(), time.process_time()
    prof.enable()
    for args in inputs:
        engine(*args)
    prof.disable()
    wall, cpu = (time.perf_counter() - t) / steps, (time.process_time() - c) / steps
    stats = pstats.Stats(prof)
    entries = stats.stats  # {(file, line, func): (cc, nc, tt, ct, callers)}

    def name(key) -> str:
        file, line, func = key
        if file == "~":
            return func
        if "site-packages/" in file:
            file = file.split("site-packages/")[-1]
        elif file.startswith(str(ROOT) + "/"):
            file = file[len(str(ROOT)) + 1:]
        return f"{file}:{line}({func})"

    total_tt = sum(v[2] for v in entries.values())
    print(f"\n  cProfile of the engine forward + backward, {s.name}, {steps} steps: "
          f"{wall * 1e3:.1f} ms wall-clock, {cpu * 1e3:.1f} ms CPU per step under the profiler; "
          f"per-step CPU times below")
    print(f"  {'calls/step':>10s} {'own ms':>8s} {'own %':>6s} {'cum ms':>8s}  function")
    for key, (cc, nc, tt, ct, _) in sorted(entries.items(), key=lambda kv: -kv[1][2])[:top]:
        print(f"  {nc / steps:>10.0f} {tt / steps * 1e3:>8.1f} {100 * tt / total_tt:>6.1f} {ct / steps * 1e3:>8.1f}  {name(key)}")
    print(f"  greybox functions by cumulative time:")
    print(f"  {'calls/step':>10s} {'own ms':>8s} {'cum ms':>8s}  function")
    ours = [(k, v) for k, v in entries.items() if "/greybox/" in k[0]]
    for key, (cc, nc, tt, ct, _) in sorted(ours, key=lambda kv: -kv[1][3])[:top]:
        print(f"  {nc / steps:>10.0f} {tt / steps * 1e3:>8.1f} {ct / steps * 1e3:>8.1f}  {name(key)}")

    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as tprof:
        for b, neural, probs in inputs:
            with torch.profiler.record_function("engine_forward"):
                loss = s.engine_loss(b, neural)
            with torch.profiler.record_function("engine_backward"):
                torch.autograd.grad(loss, probs)
    events = [e for e in tprof.key_averages() if e.key not in PARTS]
    total_self = sum(e.self_cpu_time_total for e in events)
    print(f"  torch ops of the engine forward + backward by self CPU time (torch.profiler, per step; "
          f"{total_self / 1e3 / steps:.1f} ms of op self time per step):")
    print(f"  {'calls/step':>10s} {'self ms':>8s} {'self %':>6s}  op")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:top]:
        print(f"  {e.count / steps:>10.0f} {e.self_cpu_time_total / 1e3 / steps:>8.2f} "
              f"{100 * e.self_cpu_time_total / total_self:>6.1f}  {e.key}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--steps", type=int, default=7, help="measured steps per task (after one warm-up step)")
    ap.add_argument("--profile-steps", type=int, default=3, help="steps under torch.profiler")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared/data/mnist10k")
    ap.add_argument("--cprofile", nargs="*", choices=list(TASKS), default=[],
                    help="tasks whose engine forward + backward to profile with cProfile")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--representation", choices=["auto", "sparse", "dense"], default="auto",
                    help="how the engine holds relations (auto: dense when the evaluation qualifies)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    env = " ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY") if k in os.environ)
    print(f"command: {' '.join(filter(None, [env, Path(sys.executable).name, *sys.argv]))}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, "
          f"representation {args.representation}, "
          f"{args.steps} steps (median) after 1 warm-up, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"targets: engine <= {ENGINE_SHARE_TARGET:.0%} of the step; sum-15 and add-15 < "
          f"{PER_1000_TARGET_S:g} s per 1,000 examples on 2 CPU cores")
    summary = []
    for name in args.tasks:
        s = Setup(name, args.batch, args.steps, args.data, args.seed, args.representation)
        m = s.batches[0]["images"].shape[1]
        print(f"\n{name}: {m} images per example, data: {s.source}")
        split_step(s, s.batches[0])  # warm-up
        runs, plains = [], []
        for i in range(args.steps):  # split and unsplit steps alternate, so that both see the same load
            b = s.batches[1 + i % (len(s.batches) - 1)]
            runs.append(split_step(s, b))
            plains.append(plain_step(s, b))
        wall = {k: statistics.median(r[0][k] for r in runs) for k in PARTS}
        cpu = {k: statistics.median(r[1][k] for r in runs) for k in PARTS}
        plain = statistics.median(plains)
        step, share, lshare = report_split("wall-clock (median)", wall, args.batch)
        cstep, cshare, _ = report_split("CPU time (median)", cpu, args.batch)
        prof = profiled_split(s, args.profile_steps)
        _, pshare, _ = report_split("torch.profiler (mean)", prof, args.batch)
        print(f"  unsplit step (one loss.backward(), median): {plain * 1e3:.1f} ms = "
              f"{plain / args.batch * 1000:.2f} s / 1,000 examples; split/unsplit {step / plain:.2f}")
        summary.append((name, plain, cstep, share, cshare, pshare, lshare))
        if name in args.cprofile:
            cprofile_engine(s, args.profile_steps)

    print(f"\nsummary (threads {torch.get_num_threads()}, batch {args.batch}):")
    print(f"{'task':>7s} {'step ms':>8s} {'s/1000 ex':>10s} {'s/1000 CPU':>11s} {'engine % wall':>14s} "
          f"{'engine % CPU':>13s} {'engine % prof':>14s} {'+ loss % wall':>14s} {'share <= 10%':>13s} "
          f"{'< 10 s/1000':>12s}")
    for name, plain, cstep, share, cshare, pshare, lshare in summary:
        per_1000 = plain / args.batch * 1000
        speed = ("yes" if per_1000 < PER_1000_TARGET_S else "no") if name != "sum-2" else "-"
        print(f"{name:>7s} {plain * 1e3:>8.1f} {per_1000:>10.2f} {cstep / args.batch * 1000:>11.2f} "
              f"{100 * share:>13.1f}% {100 * cshare:>12.1f}% {100 * pshare:>13.1f}% {100 * lshare:>13.1f}% "
              f"{'yes' if share <= ENGINE_SHARE_TARGET else 'no':>13s} {speed:>12s}")
    print("step ms, s/1000 ex: the unsplit step, wall-clock (median); s/1000 CPU: the split step's CPU time "
          "(all threads); the targets are judged on wall-clock")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
