"""What one fine-tuning step of a text encoder costs, beside the bundled all-MiniLM-L6-v2.

    OMP_NUM_THREADS=1 .venv/bin/python experiments/bench/encoder_step_cost.py PATH [PATH ...] [--batch 32] [--tokens 64]

Each encoder (a Hugging Face model folder; the bundled MiniLM is always the first) runs a
forward and a backward pass over the same batch of windows, padded to ``--tokens`` word
pieces, in train mode, as :class:`tasks.kinship.model.RelationExtractor` fine-tunes it. The
encoders take turns, ``--repeats`` rounds, so a busy machine slows them alike; the first round
is a warm-up. Prints each one's parameters, its best step time and its ratio to MiniLM: the
factor by which a CLUTRR fit with that reader (``--model.networks.relation_net.init_args.encoder_path
PATH``) would take longer, its encoder being most of a step. Runs on the device of ``--device``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from greybox.neural.text_encoder import load_encoder, minilm_path  # noqa: E402

WINDOW = "X took his favorite son Y out for ice cream, and Z came along because she was hungry too."


def step_seconds(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> float:
    """Wall seconds of one forward + backward pass of ``model`` on ``batch``."""
    start = time.perf_counter()
    hidden = model(**batch).last_hidden_state  # (B, T, D)
    hidden.mean().backward()
    model.zero_grad(set_to_none=True)
    if hidden.device.type == "cuda":
        torch.cuda.synchronize(hidden.device)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="Hugging Face model folders to time beside MiniLM")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    runs = []
    for name, path in [("all-MiniLM-L6-v2 (bundled)", str(minilm_path())), *((Path(p).name, p) for p in args.paths)]:
        tokenizer, model = load_encoder(path)
        model.to(args.device).train()
        batch = tokenizer([WINDOW] * args.batch, return_tensors="pt", padding="max_length", truncation=True,
                          max_length=args.tokens)
        runs.append((name, model, {k: v.to(args.device) for k, v in batch.items()}, []))
    for _ in range(args.repeats):
        for _, model, batch, times in runs:
            times.append(step_seconds(model, batch))
    base = min(runs[0][3][1:] or runs[0][3])
    for name, model, _, times in runs:
        best = min(times[1:] or times)
        params = sum(p.numel() for p in model.parameters()) / 1e6
        print(f"{name}: {params:.1f} M parameters, {best:.2f} s a step ({args.batch} x {args.tokens} word pieces), "
              f"{best / base:.1f}x MiniLM")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
