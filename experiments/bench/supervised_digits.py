"""The perception network trained directly on digit labels: the reference for digit accuracy.

    .venv/bin/python experiments/bench/supervised_digits.py [--epochs 10] [--images-per-epoch 32000]

Same network (``DigitNet(28)``), same image pools (``DigitSumDataModule(source='mnist')``
train/test split, seed 0), Adam lr 2e-3, batch 64, the same number of image presentations
per epoch as ``sum4_mnist.yaml`` (8,000 examples x 4 images). A model trained from sums
alone should come within 2 points of the digit accuracy printed here.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

from tasks.digit_sum.data import DigitSumDataModule
from tasks.digit_sum.model import DigitNet


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--images-per-epoch", type=int, default=32_000)
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[3] / "shared/data/mnist10k"))
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dm = DigitSumDataModule(source="mnist", data_dir=args.data_dir, task="sum", n=1)
    dm.setup("fit")
    # the disjoint pools of images behind the train and test examples
    tr, te = torch.as_tensor(dm.pools["train"]), torch.as_tensor(dm.pools["test"])
    x_tr, y_tr = dm.images[tr], dm.image_digits[tr]
    x_te, y_te = dm.images[te], dm.image_digits[te]
    net = DigitNet(28)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    nll = nn.NLLLoss()
    g = torch.Generator().manual_seed(0)
    started = time.perf_counter()
    for epoch in range(args.epochs):
        net.train()
        order = torch.randint(len(x_tr), (args.images_per_epoch,), generator=g)
        for i in range(0, len(order), 64):
            idx = order[i : i + 64]
            opt.zero_grad()
            loss = nll(torch.log(net(x_tr[idx]).clamp_min(1e-12)), y_tr[idx])
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            acc = (net(x_te).argmax(1) == y_te).float().mean().item()
        print(f"epoch {epoch}: test digit accuracy {acc:.4f}", flush=True)
    print(f"supervised digit accuracy: {acc:.4f}  ({len(x_tr)} training images, {len(x_te)} test images, "
          f"{time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
