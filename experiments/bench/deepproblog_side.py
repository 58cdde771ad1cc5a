"""DeepProbLog's side of the sum-N benchmark (runs inside DeepProbLog's own virtual env).

Started by ``vs_deepproblog.py`` with a ``.npz`` file that holds the images and the
examples greybox also trains on. Trains DeepProbLog's ``MNIST_Net`` through the exact
engine (``ExactEngine``, compiled circuits cached per query) on the sum-N program, then
measures test accuracy of the sum, and writes a JSON result.

The program generalises DeepProbLog's MNIST ``addition.pl`` to N digits:

    nn(mnist_net,[X],Y,[0,1,2,3,4,5,6,7,8,9]) :: digit(X,Y).
    sum_n(X0,X1,X2,Z) :- digit(X0,D0), digit(X1,D1), digit(X2,D2), Z is D0+D1+D2.

(``--program recursive`` uses a running sum over a list instead.)

Usage (normally only through vs_deepproblog.py):
    python deepproblog_side.py --data sum3.npz --n 3 --out result.json
"""

import argparse
import json
import resource
import sys
import time

import numpy as np
import torch
from problog.logic import Constant, Term

from deepproblog.dataset import DataLoader, Dataset
from deepproblog.engines import ExactEngine
from deepproblog.evaluate import get_confusion_matrix
from deepproblog.examples.MNIST.network import MNIST_Net
from deepproblog.model import Model
from deepproblog.network import Network
from deepproblog.query import Query
from deepproblog.train import train_model

__all__ = ["program", "SumN", "ImageSource", "main"]

_NEURAL = "nn(mnist_net,[X],Y,[0,1,2,3,4,5,6,7,8,9]) :: digit(X,Y).\n"


def program(n: int, form: str = "flat") -> str:
    """The sum-N program: ``sum_n(X0, ..., X{n-1}, Z)`` holds when the digits add up to Z.

    Args:
        n: number of digit images.
        form: ``'flat'`` (one clause, as DeepProbLog's addition example) or ``'recursive'``
            (a running sum over a list of images).

    Returns:
        The program text.
    """
    xs = ",".join(f"X{i}" for i in range(n))
    if form == "flat":
        body = ", ".join(f"digit(X{i},D{i})" for i in range(n))
        total = "+".join(f"D{i}" for i in range(n))
        return _NEURAL + f"sum_n({xs},Z) :- {body}, Z is {total}.\n"
    return _NEURAL + (
        "digit_sum([],0).\n"
        "digit_sum([H|T],S) :- digit(H,D), digit_sum(T,S2), S is D+S2.\n"
        f"sum_n({xs},Z) :- digit_sum([{xs}],Z).\n"
    )


class ImageSource:
    """A DeepProbLog tensor source: ``tensor(NAME(I))`` is image I of ``images``."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images  # (P, 1, 28, 28)

    def __getitem__(self, item):
        return self.images[int(item[0])]  # (1, 28, 28)


class SumN(Dataset):
    """sum-N queries ``sum_n(tensor(src(i0)), ..., tensor(src(iN-1)), label)``.

    The image terms enter through a substitution, so the compiled circuit of a query is
    cached per label and reused for every example with that label (as in DeepProbLog's
    MNIST examples).
    """

    def __init__(self, source: str, indices: np.ndarray, labels: np.ndarray) -> None:
        self.source = source
        self.indices = indices  # (E, N)
        self.labels = labels  # (E,)

    def __len__(self) -> int:
        return len(self.labels)

    def to_query(self, i: int) -> Query:
        names = [Term(f"p{j}") for j in range(self.indices.shape[1])]
        subs = {name: Term("tensor", Term(self.source, Constant(int(idx))))
                for name, idx in zip(names, self.indices[i])}
        return Query(Term("sum_n", *names, Constant(int(self.labels[i]))), subs)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def _write(path: str, result: dict) -> None:
    with open(path, "w") as f:
        json.dump(result, f, indent=2)


def run(args: argparse.Namespace) -> dict:
    data = np.load(args.data)
    images = torch.from_numpy(data["images"])  # (P, 1, 28, 28)
    train_set = SumN("train", data["train_indices"], data["train_labels"])
    test_set = SumN("test", data["test_indices"], data["test_labels"])

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    network = MNIST_Net()
    net = Network(network, "mnist_net", batching=True)
    net.optimizer = torch.optim.Adam(network.parameters(), lr=args.lr)
    model = Model(program(args.n, args.program), [net], load=False)
    model.set_engine(ExactEngine(model), cache=True)
    model.add_tensor_source("train", ImageSource(images))
    model.add_tensor_source("test", ImageSource(images))

    loader = DataLoader(train_set, args.batch_size, False)
    start, start_cpu = time.perf_counter(), time.process_time()
    train_model(model, loader, args.epochs, log_iter=args.log_iter, profile=0)
    train_seconds = time.perf_counter() - start
    train_cpu_seconds = time.process_time() - start_cpu  # less sensitive to other work
    circuits = list(model.solver.cache.cache_dict.values())  # one per distinct query (label)
    compile_seconds = sum(ac.ground_time + ac.compile_time for ac in circuits)
    print(f"trained in {train_seconds:.1f} s, {compile_seconds:.1f} s of it grounding and "
          f"compiling {len(circuits)} circuits", flush=True)

    n_train = len(train_set) * args.epochs
    result = {
        "status": "trained",  # until the test below finishes
        "n": args.n,
        "program": args.program,
        "train_examples": n_train,
        "train_seconds": train_seconds,
        "seconds_per_1000": train_seconds / n_train * 1000.0,
        "cpu_seconds_per_1000": train_cpu_seconds / n_train * 1000.0,
        "compile_seconds": compile_seconds,
        "circuits": len(circuits),
        "seconds_per_1000_without_compiling": (train_seconds - compile_seconds) / n_train * 1000.0,
        "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
    }
    _write(args.out, result)  # a run killed while testing still reports its training time

    start = time.perf_counter()
    accuracy = get_confusion_matrix(model, test_set, verbose=0).accuracy()
    test_seconds = time.perf_counter() - start

    test_ids = torch.from_numpy(data["test_indices"].reshape(-1))
    network.eval()
    with torch.no_grad():
        predicted = network(images[test_ids]).argmax(dim=1)  # (E*N,)
    digit_accuracy = float((predicted == torch.from_numpy(data["test_digits"].reshape(-1))).float().mean())

    result.update(status="ok", test_examples=len(test_set), test_seconds=test_seconds,
                  accuracy=float(accuracy), digit_accuracy=digit_accuracy,
                  peak_rss_mb=_peak_rss_mb())
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help=".npz written by vs_deepproblog.py")
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--out", required=True, help="JSON result file")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log-iter", type=int, default=100)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--program", choices=["flat", "recursive"], default="flat")
    args = parser.parse_args(argv)
    try:
        result = run(args)
        code = 0
    except MemoryError:
        result = {"status": "out of memory", "peak_rss_mb": _peak_rss_mb()}
        code = 3
    _write(args.out, result)
    print(json.dumps(result), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
