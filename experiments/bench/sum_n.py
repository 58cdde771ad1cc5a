"""sum-N with the add-mult semiring: time and exactness of the probability of every sum, as N grows.

    .venv/bin/python experiments/bench/sum_n.py [--ns 1 2 4 8 15 32] [--batch 64] [--repeat 5] [--threads 1] \
        [--representation auto|sparse|dense]

For each N, ``ReasoningModule`` runs ``knowledge/digit_sum.dl`` with the extra fact
``num_digits(N).`` on a batch of random digit distributions (softmax of Gaussian
logits; the network is a stub: the distributions go in as ``NeuralOutput``), and
reads back ``sum(S)``: ``9N + 1`` answer tuples per sample. Reported per N:

  * forward: engine evaluation of the batch (under ``torch.no_grad()``);
  * forward+backward: the same with autograd on, plus ``-log P(sum = label)``
    averaged over the batch and its backward to the logits;
  * both as wall-clock and as this process's CPU time (with one thread the CPU time
    is the steadier of the two on a shared machine), best of ``--repeat`` after one
    warm-up, the two measurements taking turns;
  * answer tuples (sum) and intermediate tuples (prefix) over the batch;
  * growth: ``t(N2)/t(N1)`` for consecutive Ns with the local exponent
    ``log(t2/t1) / log(N2/N1)``, and the least-squares exponent of log t against
    log N over the Ns >= ``--fit-from`` (polynomial growth: a constant exponent);
  * exactness (N <= ``--exact-upto``, in float64): every sum's probability against
    brute-force enumeration of the 10^N digit combinations of every sample; the
    largest absolute error must be below 1e-9.

``--representation`` sets how the engine holds relations (``auto``, the default, is dense
for this program; ``sparse`` is the tuple-column engine).

Timings run in ``--dtype`` (float32, as in training); the exactness check always
runs in float64. The machine may be shared: quote the ratios and the load average
printed with them, not the absolute times.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[2]

from greybox.neural.module import ReasoningModule  # noqa: E402

PROGRAM = ROOT / "knowledge/digit_sum.dl"
TOLERANCE = 1e-9


def build(n: int, representation: str = "auto") -> ReasoningModule:
    """The sum-N reasoner; the network is never called (its output comes in as ``neural=``)."""
    model = ReasoningModule(PROGRAM, {"digit_net": nn.Identity()}, query="sum(S)", extra_facts=f"num_digits({n}).")
    model.engine.representation = representation
    return model


def evaluate(model: ReasoningModule, probs: torch.Tensor, labels: torch.Tensor | None = None):
    """Answer ``sum(S)`` for ``probs`` (B, N, 10); with ``labels`` also the loss ``-log P(sum = label)``."""
    neural = {"digit_net": model.predicates[0].items(probs)}
    out = model({}, neural=neural, batch_size=probs.shape[0])
    if labels is None:
        return out, None
    p = out.probability_of(labels[:, None])  # (B,)
    return out, -torch.log(p.clamp_min(torch.finfo(p.dtype).tiny)).mean()


def best_of(repeat: int, *fns) -> list[tuple[float, float]]:
    """``(wall s, CPU s)`` of each function, best of ``repeat``; the functions take turns, so they share the load."""
    best = [[float("inf"), float("inf")] for _ in fns]
    for _ in range(repeat):
        for b, fn in zip(best, fns):
            w, c = time.perf_counter(), time.process_time()
            fn()
            b[0] = min(b[0], time.perf_counter() - w)
            b[1] = min(b[1], time.process_time() - c)
    return [tuple(b) for b in best]


def brute_force(probs: torch.Tensor) -> torch.Tensor:
    """``(B, 9N + 1)``: P(sum = s) of every sample, enumerating all 10^N digit combinations."""
    b, n, c = probs.shape
    grid = torch.cartesian_prod(*[torch.arange(c)] * n).reshape(-1, n)  # (10^N, N)
    # p(combination) = prod_i probs[b, i, d_i]
    picked = probs[:, torch.arange(n)[None, :], grid]  # (B, 10^N, N)
    joint = picked.prod(dim=2)  # (B, 10^N)
    sums = grid.sum(dim=1)  # (10^N,)
    return torch.zeros(b, 9 * n + 1, dtype=probs.dtype).index_add(1, sums, joint)


def exactness(model: ReasoningModule, n: int, batch: int, gen: torch.Generator) -> tuple[float, int]:
    """Largest |engine - brute force| over every (sample, sum) in float64, and the number of pairs compared."""
    probs = torch.randn(batch, n, 10, generator=gen, dtype=torch.float64).softmax(-1)
    with torch.no_grad():
        out, _ = evaluate(model, probs)
    cols, p = out.result.probabilities("sum")
    want = brute_force(probs)  # (B, 9N + 1)
    engine = torch.zeros_like(want)
    engine[cols[:, 0], cols[:, 1]] = p
    derived = torch.zeros_like(want, dtype=torch.bool)
    derived[cols[:, 0], cols[:, 1]] = True
    if len(cols) != want.numel() or not bool(derived.all()):
        raise SystemExit(f"N={n}: the engine derived {len(cols)} sums, brute force has {want.numel()}")
    return float((engine - want).abs().max()), want.numel()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ns", type=int, nargs="+", default=[1, 2, 4, 8, 15, 32])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    ap.add_argument("--exact-upto", type=int, default=4, help="check against brute force for N up to this")
    ap.add_argument("--fit-from", type=int, default=8, help="fit the exponent over the Ns from this one")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--representation", choices=["auto", "sparse", "dense"], default="auto",
                    help="how the engine holds relations (auto: dense when the evaluation qualifies)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    gen = torch.Generator().manual_seed(args.seed)

    env = " ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY") if k in os.environ)
    print(f"command: {' '.join(filter(None, [env, Path(sys.executable).name, *sys.argv]))}")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, batch {args.batch}, dtype {args.dtype}, "
          f"representation {args.representation}, "
          f"best of {args.repeat}, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'':31s} {'--- wall-clock ---':>21s} {'--- CPU time ---':>21s}")
    print(f"{'N':>4s} {'sum tuples':>11s} {'prefix tuples':>14s} {'forward s':>10s} {'fwd+bwd s':>10s} "
          f"{'forward s':>10s} {'fwd+bwd s':>10s} {'max |err|':>10s}")
    rows = []
    for n in args.ns:
        model = build(n, args.representation)
        logits = torch.randn(args.batch, n, 10, generator=gen, dtype=dtype).requires_grad_(True)
        labels = torch.multinomial(logits.detach().double().softmax(-1).reshape(-1, 10), 1, generator=gen)
        labels = labels.reshape(args.batch, n).sum(dim=1)  # (B,) a sum each sample can have

        def forward() -> None:
            with torch.no_grad():
                evaluate(model, logits.softmax(-1))

        def forward_backward() -> None:
            logits.grad = None
            _, loss = evaluate(model, logits.softmax(-1), labels)
            loss.backward()

        forward()  # warm-up
        (t_f, c_f), (t_fb, c_fb) = best_of(args.repeat, forward, forward_backward)
        with torch.no_grad():
            out, _ = evaluate(model, logits.softmax(-1))
        n_sum, n_prefix = len(out.result["sum"]), len(out.result["prefix"])
        if n_sum != args.batch * (9 * n + 1):
            raise SystemExit(f"N={n}: {n_sum} sum tuples, expected {args.batch * (9 * n + 1)}")
        err = ""
        if n <= args.exact_upto:
            e, pairs = exactness(model, n, args.batch, gen)
            if e >= TOLERANCE:
                raise SystemExit(f"N={n}: max abs error {e:.3g} >= {TOLERANCE:g} over {pairs} (sample, sum) pairs")
            err = f"{e:.1e}"
        rows.append((n, t_f, t_fb, c_f, c_fb))
        print(f"{n:>4d} {n_sum:>11,d} {n_prefix:>14,d} {t_f:>10.4f} {t_fb:>10.4f} {c_f:>10.4f} {c_fb:>10.4f} "
              f"{err:>10s}", flush=True)

    for label, f_at, b_at in (("wall-clock", 1, 2), ("CPU time", 3, 4)):
        print(f"\ngrowth between consecutive Ns, {label} (local exponent = log(t2/t1) / log(N2/N1)):")
        print(f"{'N1->N2':>8s} {'N2/N1':>6s} {'fwd t2/t1':>10s} {'exp':>5s} {'f+b t2/t1':>10s} {'exp':>5s}")
        for r1, r2 in zip(rows, rows[1:]):
            n1, n2, r = r1[0], r2[0], math.log(r2[0] / r1[0])
            f, b = r2[f_at] / r1[f_at], r2[b_at] / r1[b_at]
            print(f"{f'{n1}->{n2}':>8s} {n2 / n1:>6.2f} {f:>10.2f} {math.log(f) / r:>5.2f} {b:>10.2f} {math.log(b) / r:>5.2f}")
        fit = [row for row in rows if row[0] >= args.fit_from]
        if len(fit) >= 2:
            xs = [math.log(row[0]) for row in fit]

            def slope(ys: list[float]) -> float:
                mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
                return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)

            ns = ", ".join(str(row[0]) for row in fit)
            print(f"fitted exponent of log t vs log N over N = {ns} ({label}): "
                  f"forward {slope([math.log(row[f_at]) for row in fit]):.2f}, "
                  f"forward+backward {slope([math.log(row[b_at]) for row in fit]):.2f}")
    checked = [row[0] for row in rows if row[0] <= args.exact_upto]
    if checked:
        print(f"exact: N = {', '.join(map(str, checked))} agree with brute force to < {TOLERANCE:g} (float64)")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
