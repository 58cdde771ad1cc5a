"""Data for sum-N and add-N over handwritten digit images.

sum-N: N images, the label is the sum of their digits. add-N: 2N images that spell two
N-digit numbers (most significant digit first), the label is the sum of the two numbers.
The image pool (scikit-learn's 1,797 8x8 digits, or the 10,000 MNIST test images read
from IDX files) is split once, with the seed, into disjoint train/val/test pools; each
split draws its examples from its own pool only, so no test image is ever seen in training.

Example:
    >>> dm = DigitSumDataModule(n=3, train_examples=8, val_examples=4, test_examples=4,
    ...                         batch_size=4)
    >>> dm.setup()
    >>> batch = next(iter(dm.train_dataloader()))
    >>> batch["images"].shape            # (B, M, 1, H, W)
    torch.Size([4, 3, 1, 8, 8])
    >>> bool((batch["label"] == batch["digits"].sum(1)).all())
    True
"""

import gzip
import zlib
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from greybox.errors import ConfigError
from greybox.training.data import SeededDataModule

__all__ = [
    "DigitSumDataModule",
    "DigitSumDataset",
    "MNIST_IMAGES",
    "MNIST_LABELS",
    "load_mnist",
    "load_sklearn_digits",
]

MNIST_IMAGES = "t10k-images-idx3-ubyte.gz"
MNIST_LABELS = "t10k-labels-idx1-ubyte.gz"

_IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
_IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
_DATA_DIR_HINT = (
    "pass the folder that holds {images} and {labels} with --data.data_dir "
    "(from the project root: ../shared/data/mnist10k), or use --data.source sklearn"
)


def _read_idx(path: Path, magic: int, ndim: int) -> np.ndarray:
    """Read one gzip-compressed IDX file of unsigned bytes.

    Args:
        path: the ``.gz`` file.
        magic: the expected magic number (``0x803`` for images, ``0x801`` for labels).
        ndim: the number of dimensions that magic number announces.

    Returns:
        A uint8 array of the shape the header gives.

    Raises:
        ConfigError: the file is missing, not gzip, or its header does not match its size.
    """
    hint = _DATA_DIR_HINT.format(images=MNIST_IMAGES, labels=MNIST_LABELS)
    if not path.is_file():
        raise ConfigError("MNIST file not found", file=str(path), hint=hint)
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise ConfigError(f"cannot read this MNIST file: {exc}", file=str(path),
                          hint="the file is not a valid gzip file; copy it again; " + hint) from exc
    header_len = 4 * (1 + ndim)
    if len(raw) < header_len:
        raise ConfigError(f"MNIST file truncated ({len(raw)} bytes)", file=str(path),
                          hint="copy the file again; " + hint)
    header = np.frombuffer(raw[:header_len], dtype=">u4")
    if int(header[0]) != magic:
        raise ConfigError(
            f"MNIST file has magic number {int(header[0]):#010x}, expected {magic:#010x}",
            file=str(path), hint="is it the right file (images vs labels)? " + hint)
    shape = tuple(int(d) for d in header[1:])
    body = np.frombuffer(raw[header_len:], dtype=np.uint8)
    if body.size != int(np.prod(shape)):
        raise ConfigError(
            f"MNIST file holds {body.size} bytes of data, its header announces {shape}",
            file=str(path), hint="the file is corrupt or truncated; copy it again; " + hint)
    return body.reshape(shape)


def load_mnist(data_dir: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """Load the MNIST images and labels of a folder, normalised as DeepProbLog does.

    Args:
        data_dir: folder with ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz``.

    Returns:
        ``images`` float32 (P, 1, 28, 28) with values ``(x / 255 - 0.5) / 0.5`` in [-1, 1],
        and ``labels`` int64 (P,).

    Raises:
        ConfigError: the folder or a file is missing or corrupt, or the counts differ.
    """
    folder = Path(data_dir)
    hint = _DATA_DIR_HINT.format(images=MNIST_IMAGES, labels=MNIST_LABELS)
    if not folder.is_dir():
        raise ConfigError(f"MNIST folder not found (resolved: {folder.resolve()})",
                          file=str(folder), hint=hint)
    raw_images = _read_idx(folder / MNIST_IMAGES, _IDX_IMAGES_MAGIC, 3)  # (P, 28, 28)
    raw_labels = _read_idx(folder / MNIST_LABELS, _IDX_LABELS_MAGIC, 1)  # (P,)
    if raw_images.shape[0] != raw_labels.shape[0]:
        raise ConfigError(
            f"{raw_images.shape[0]} images but {raw_labels.shape[0]} labels",
            file=str(folder), hint="the two files come from different sets; " + hint)
    if raw_labels.size and int(raw_labels.max()) > 9:
        raise ConfigError("labels must be digits 0..9",
                          file=str(folder / MNIST_LABELS), hint=hint)
    images = torch.from_numpy(raw_images.astype(np.float32) / 255.0)
    images = ((images - 0.5) / 0.5).unsqueeze(1)  # (P, 1, 28, 28)
    return images, torch.from_numpy(raw_labels.astype(np.int64))


def load_sklearn_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """Load scikit-learn's bundled 8x8 digits.

    Returns:
        ``images`` float32 (1797, 1, 8, 8) scaled to [0, 1], and ``labels`` int64 (1797,).

    Raises:
        ConfigError: scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # the 'data' extra is optional
        raise ConfigError("source 'sklearn' needs scikit-learn, which is not installed",
                          hint="pip install 'greybox[data]', or use --data.source mnist") from exc
    bunch = load_digits()
    images = torch.from_numpy(bunch.images.astype(np.float32) / 16.0).unsqueeze(1)  # (P, 1, 8, 8)
    return images, torch.from_numpy(bunch.target.astype(np.int64))


def _split_pool(n_images: int, split: tuple[float, float, float],
                rng: np.random.Generator) -> list[np.ndarray]:
    """Cut a seeded permutation of ``range(n_images)`` into three disjoint, sorted pools."""
    order = rng.permutation(n_images)
    n_train = int(round(split[0] * n_images))
    n_val = int(round(split[1] * n_images))
    cuts = [0, n_train, min(n_train + n_val, n_images), n_images]
    return [np.sort(order[cuts[i]:cuts[i + 1]]) for i in range(3)]


def _draw(pool: np.ndarray, n_examples: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n_examples`` rows of ``m`` image ids from ``pool``.

    Walks through fresh seeded permutations of the pool, so each image is used about
    equally often and only reused once the whole pool has been used.
    """
    need = n_examples * m
    if need == 0:
        return np.zeros((n_examples, m), dtype=np.int64)
    rounds = -(-need // len(pool))
    flat = np.concatenate([rng.permutation(pool) for _ in range(rounds)])[:need]
    return flat.reshape(n_examples, m).astype(np.int64)


class DigitSumDataset(Dataset):
    """The examples of one split. Every item is a dict of tensors.

    Args:
        images: the whole image tensor (P, 1, H, W); the split's rows only are used.
        image_digits: the digit of every image (P,).
        indices: (E, M) image ids of each example.
        task: ``'sum'`` or ``'add'``.
        n: N of sum-N / add-N.

    Attributes:
        indices: (E, M) int64 image ids into ``images``.
        digits: (E, M) int64 true digits of each example.
        labels: (E,) int64 sums.
        label_digits: (E, N + 1) int64 digits of the label, least significant first (add only).
    """

    def __init__(self, images: torch.Tensor, image_digits: torch.Tensor, indices: np.ndarray,
                 task: Literal["sum", "add"], n: int) -> None:
        self.images = images
        self.task = task
        self.n = n
        self.indices = torch.from_numpy(indices)  # (E, M)
        self.digits = image_digits[self.indices]  # (E, M)
        if task == "sum":
            self.labels = self.digits.sum(dim=1)  # (E,)
            self.label_digits = None
        else:
            weights = 10 ** torch.arange(n - 1, -1, -1, dtype=torch.int64)  # (N,) most significant first
            first = (self.digits[:, :n] * weights).sum(dim=1)  # (E,)
            second = (self.digits[:, n:] * weights).sum(dim=1)  # (E,)
            self.labels = first + second  # (E,)
            powers = 10 ** torch.arange(n + 1, dtype=torch.int64)  # (N+1,) least significant first
            self.label_digits = (self.labels[:, None] // powers) % 10  # (E, N+1)

    def __len__(self) -> int:
        return int(self.indices.shape[0])

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        item = {
            "images": self.images[self.indices[i]],  # (M, 1, H, W)
            "label": self.labels[i],
            "digits": self.digits[i],  # (M,)
        }
        if self.label_digits is not None:
            item["label_digits"] = self.label_digits[i]  # (N+1,)
        return item


class DigitSumDataModule(SeededDataModule):
    """sum-N / add-N examples over scikit-learn digits or MNIST, as a LightningDataModule.

    A batch is a dict: ``images`` float (B, M, 1, H, W) with M = N (sum) or 2N (add: the
    first N images spell the first number, most significant digit first, the next N the
    second), ``label`` int64 (B,), ``digits`` int64 (B, M) (the true digits: for reporting
    digit accuracy only, never for training) and, for add, ``label_digits`` int64 (B, N+1),
    the digits of the label, least significant first.

    Args:
        source: ``'sklearn'`` (bundled 8x8 digits, no file needed) or ``'mnist'``.
        data_dir: folder with the MNIST IDX files (source ``'mnist'`` only), e.g.
            ``../shared/data/mnist10k`` from the project root.
        task: ``'sum'`` (label = sum of the N digits) or ``'add'`` (two N-digit numbers).
        n: N, the number of digits.
        train_examples: examples drawn from the train pool.
        val_examples: examples drawn from the validation pool.
        test_examples: examples drawn from the test pool (also used for prediction).
        batch_size: examples per batch.
        seed: seeds the pool split, the examples and, with the epoch, each epoch's training
            order (so a resumed run continues in the order of the uninterrupted one).
        num_workers: DataLoader worker processes.
        split: fractions of the image pool for train, validation and test.

    Raises:
        ConfigError: a value is out of range, data_dir is given with source 'sklearn' (which ignores it),
            or (at ``setup``) the MNIST files are missing.
    """

    def __init__(
        self,
        source: Literal["sklearn", "mnist"] = "sklearn",
        data_dir: str | None = None,
        task: Literal["sum", "add"] = "sum",
        n: int = 2,
        train_examples: int = 3000,
        val_examples: int = 500,
        test_examples: int = 1000,
        batch_size: int = 64,
        seed: int = 0,
        num_workers: int = 0,
        split: tuple[float, float, float] = (0.7, 0.1, 0.2),
    ) -> None:
        super().__init__(batch_size=batch_size, seed=seed, num_workers=num_workers)
        if source not in ("sklearn", "mnist"):
            raise ConfigError(f"unknown source {source!r}", hint="use --data.source sklearn or mnist")
        if task not in ("sum", "add"):
            raise ConfigError(f"unknown task {task!r}", hint="use --data.task sum or add")
        if n < 1 or (task == "add" and n > 17):
            raise ConfigError(f"n must be at least 1 (at most 17 for add), got {n}",
                              hint="set --data.n to the number of digits, e.g. 2")
        for name, value in (("train_examples", train_examples), ("val_examples", val_examples),
                            ("test_examples", test_examples), ("num_workers", num_workers)):
            if value < 0:
                raise ConfigError(f"{name} must be >= 0, got {value}",
                                  hint=f"set --data.{name} to 0 or more")
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}",
                              hint="set --data.batch_size to 1 or more")
        if len(split) != 3 or any(s < 0 for s in split) or abs(sum(split) - 1.0) > 1e-6:
            raise ConfigError(f"split must be three fractions >= 0 that add up to 1, got {split}",
                              hint="e.g. --data.split '[0.7, 0.1, 0.2]'")
        if source == "mnist" and data_dir is None:
            raise ConfigError(
                "source 'mnist' needs data_dir",
                hint=_DATA_DIR_HINT.format(images=MNIST_IMAGES, labels=MNIST_LABELS))
        if source == "sklearn" and data_dir is not None:
            raise ConfigError(f"data_dir {data_dir!r} is read only with source 'mnist', and source is 'sklearn' "
                              "(scikit-learn's bundled digits)",
                              hint="add --data.init_args.source mnist to read MNIST from it, or set data_dir to null")
        if source == "mnist" and not Path(data_dir).is_dir():
            raise ConfigError(
                f"MNIST folder not found (resolved: {Path(data_dir).resolve()})",
                file=data_dir, hint=_DATA_DIR_HINT.format(images=MNIST_IMAGES, labels=MNIST_LABELS))
        self.save_hyperparameters()
        self.source = source
        self.data_dir = data_dir
        self.task = task
        self.n = n
        self.counts = {"train": train_examples, "val": val_examples, "test": test_examples}
        self.split = tuple(float(s) for s in split)
        self.images: torch.Tensor | None = None  # (P, 1, H, W) after setup
        self.image_digits: torch.Tensor | None = None  # (P,) after setup
        self.pools: dict[str, np.ndarray] = {}
        self.datasets: dict[str, DigitSumDataset] = {}

    @property
    def image_size(self) -> int:
        """Height (= width) of the images: 8 for scikit-learn digits, 28 for MNIST."""
        return 8 if self.source == "sklearn" else 28

    @property
    def n_images(self) -> int:
        """M, the images per example: N for sum-N, 2N for add-N."""
        return self.n if self.task == "sum" else 2 * self.n

    def setup(self, stage: str | None = None) -> None:
        """Load the image pool, split it and draw every split's examples (once; idempotent).

        Raises:
            ConfigError: the MNIST files are missing or corrupt, or a pool is empty but
                examples are asked from it.
        """
        if self.datasets:
            return
        if self.source == "mnist":
            images, image_digits = load_mnist(self.data_dir)
        else:
            images, image_digits = load_sklearn_digits()
        # independent streams: changing one split's count leaves the other splits unchanged
        pool_rng, *split_rngs = (np.random.default_rng(s)
                                 for s in np.random.SeedSequence(self.seed).spawn(4))
        pools = _split_pool(len(images), self.split, pool_rng)
        datasets = {}
        for name, pool, rng in zip(("train", "val", "test"), pools, split_rngs):
            count = self.counts[name]
            if count > 0 and len(pool) == 0:
                raise ConfigError(
                    f"the {name} pool is empty ({len(images)} images, split {self.split}) "
                    f"but {count} {name} examples were asked for",
                    hint=f"give the {name} part of --data.split a larger fraction")
            indices = _draw(pool, count, self.n_images, rng)  # (E, M)
            datasets[name] = DigitSumDataset(images, image_digits, indices, self.task, self.n)
        self.images, self.image_digits = images, image_digits
        self.pools = dict(zip(("train", "val", "test"), pools))
        self.datasets = datasets

    def dataset(self, split: Literal["train", "val", "test"]) -> DigitSumDataset:
        """The examples of one split (runs ``setup`` first if needed)."""
        self.setup()
        return self.datasets[split]

    def _loader(self, split: Literal["train", "val", "test"], shuffle: bool) -> DataLoader:
        return self.loader(self.dataset(split), shuffle)

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)
