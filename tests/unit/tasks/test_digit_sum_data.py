"""DigitSumDataModule: shapes, labels, disjoint pools, determinism, MNIST files, errors."""

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from greybox.errors import ConfigError, ShapeError
from tasks.digit_sum.data import MNIST_IMAGES, MNIST_LABELS, DigitSumDataModule, load_mnist
from tasks.digit_sum.model import DigitNet

MNIST_DIR = Path(__file__).parents[3].parent / "shared/data/mnist10k"
needs_mnist = pytest.mark.skipif(
    not (MNIST_DIR / MNIST_IMAGES).is_file(),
    reason=f"the MNIST copy is not at {MNIST_DIR} (it lives in shared/data beside the repository)",
)

SMALL = dict(train_examples=40, val_examples=10, test_examples=20, batch_size=8)


def _all(dm: DigitSumDataModule, split: str) -> dict[str, torch.Tensor]:
    """Every batch of a split, concatenated."""
    loader = {"train": dm.train_dataloader, "val": dm.val_dataloader,
              "test": dm.test_dataloader}[split]()
    batches = list(loader)
    return {k: torch.cat([b[k] for b in batches]) for k in batches[0]}


def _write_idx(folder: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """Write a tiny MNIST-format pair of files."""
    n, h, w = images.shape
    with gzip.open(folder / MNIST_IMAGES, "wb") as f:
        f.write(np.array([0x803, n, h, w], dtype=">u4").tobytes() + images.astype(np.uint8).tobytes())
    with gzip.open(folder / MNIST_LABELS, "wb") as f:
        f.write(np.array([0x801, n], dtype=">u4").tobytes() + labels.astype(np.uint8).tobytes())


@pytest.mark.parametrize("n", [1, 2, 4])
def test_sum_shapes_and_labels(n):
    dm = DigitSumDataModule(task="sum", n=n, **SMALL)
    assert dm.n_images == n and dm.image_size == 8
    dm.setup()
    batch = next(iter(dm.train_dataloader()))
    assert batch["images"].shape == (8, n, 1, 8, 8)
    assert batch["images"].dtype == torch.float32
    assert 0.0 <= float(batch["images"].min()) and float(batch["images"].max()) <= 1.0
    assert batch["label"].dtype == torch.int64 and batch["label"].shape == (8,)
    assert batch["digits"].dtype == torch.int64 and batch["digits"].shape == (8, n)
    assert "label_digits" not in batch
    for split in ("train", "val", "test"):
        data = _all(dm, split)
        assert len(data["label"]) == SMALL[f"{split}_examples"]
        assert torch.equal(data["label"], data["digits"].sum(dim=1))


@pytest.mark.parametrize("n", [1, 3])
def test_add_shapes_and_labels(n):
    dm = DigitSumDataModule(task="add", n=n, **SMALL)
    assert dm.n_images == 2 * n
    data = _all(dm, "test")
    assert data["images"].shape == (20, 2 * n, 1, 8, 8)
    assert data["label_digits"].shape == (20, n + 1)
    for digits, label, label_digits in zip(data["digits"].tolist(), data["label"].tolist(),
                                           data["label_digits"].tolist()):
        first = int("".join(map(str, digits[:n])))  # most significant digit first
        second = int("".join(map(str, digits[n:])))
        assert label == first + second
        assert label_digits == [int(c) for c in reversed(str(label).zfill(n + 1))]


def test_digits_are_the_true_labels_of_the_images():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    dm = DigitSumDataModule(n=3, **SMALL)
    ds = dm.dataset("train")
    assert torch.equal(ds.digits, torch.from_numpy(bunch.target)[ds.indices])
    expected = torch.from_numpy(bunch.images[ds.indices[0].numpy()] / 16.0).float()  # (M, 8, 8)
    assert torch.allclose(ds[0]["images"][:, 0], expected)


def test_pools_are_disjoint_and_each_split_uses_only_its_pool():
    dm = DigitSumDataModule(n=2, train_examples=2000, val_examples=300, test_examples=600)
    dm.setup()
    pools = {k: set(v.tolist()) for k, v in dm.pools.items()}
    assert not pools["train"] & pools["val"]
    assert not pools["train"] & pools["test"]
    assert not pools["val"] & pools["test"]
    assert len(pools["train"]) + len(pools["val"]) + len(pools["test"]) == 1797
    assert abs(len(pools["train"]) - 0.7 * 1797) <= 1
    for split in ("train", "val", "test"):
        used = set(dm.dataset(split).indices.flatten().tolist())
        assert used <= pools[split]
    # 4,000 draws from a ~1,258-image pool: every train image is used, none more than 4 times
    counts = np.bincount(dm.dataset("train").indices.flatten().numpy())
    assert set(np.flatnonzero(counts)) == pools["train"]
    assert counts.max() <= 4


def test_same_seed_same_examples_other_seed_other_examples():
    a = _all(DigitSumDataModule(n=3, seed=7, **SMALL), "train")
    b = _all(DigitSumDataModule(n=3, seed=7, **SMALL), "train")
    c = _all(DigitSumDataModule(n=3, seed=8, **SMALL), "train")
    for key in a:
        assert torch.equal(a[key], b[key])
    assert not torch.equal(a["digits"], c["digits"])


def test_test_examples_do_not_depend_on_the_train_count():
    a = DigitSumDataModule(n=2, seed=3, train_examples=10, test_examples=30).dataset("test")
    b = DigitSumDataModule(n=2, seed=3, train_examples=500, test_examples=30).dataset("test")
    assert torch.equal(a.indices, b.indices)


def test_mnist_folder_missing_is_a_config_error(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError, match="MNIST folder not found") as info:
        DigitSumDataModule(source="mnist", data_dir=str(missing))
    assert str(missing) in str(info.value)
    assert "--data.data_dir" in str(info.value)
    with pytest.raises(ConfigError, match="needs data_dir"):
        DigitSumDataModule(source="mnist")


def test_mnist_file_missing_or_corrupt_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="MNIST file not found") as info:
        DigitSumDataModule(source="mnist", data_dir=str(tmp_path)).setup()
    assert MNIST_IMAGES in str(info.value) and "--data.data_dir" in str(info.value)
    (tmp_path / MNIST_IMAGES).write_bytes(b"not gzip at all")
    (tmp_path / MNIST_LABELS).write_bytes(b"not gzip at all")
    with pytest.raises(ConfigError, match="cannot read this MNIST file"):
        load_mnist(tmp_path)
    images = np.arange(4 * 28 * 28).reshape(4, 28, 28) % 256
    _write_idx(tmp_path, images, np.array([1, 2, 3, 4]))
    with gzip.open(tmp_path / MNIST_IMAGES, "rb") as f:
        whole = f.read()
    with gzip.open(tmp_path / MNIST_IMAGES, "wb") as f:
        f.write(whole[:-10])
    with pytest.raises(ConfigError, match="header announces"):
        load_mnist(tmp_path)


def test_mnist_idx_parsing_and_normalisation(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(30, 28, 28))
    labels = rng.integers(0, 10, size=30)
    _write_idx(tmp_path, images, labels)
    x, y = load_mnist(tmp_path)
    assert x.shape == (30, 1, 28, 28) and x.dtype == torch.float32
    assert torch.equal(y, torch.from_numpy(labels))
    assert torch.allclose(x[:, 0], torch.from_numpy((images / 255.0 - 0.5) / 0.5).float(),
                          atol=1e-6)
    dm = DigitSumDataModule(source="mnist", data_dir=str(tmp_path), n=2, train_examples=5,
                            val_examples=2, test_examples=3, batch_size=5)
    assert dm.image_size == 28
    batch = next(iter(dm.train_dataloader()))
    assert batch["images"].shape == (5, 2, 1, 28, 28)
    assert torch.equal(batch["label"], batch["digits"].sum(dim=1))


@needs_mnist
def test_real_mnist_files():
    dm = DigitSumDataModule(source="mnist", data_dir=str(MNIST_DIR), task="add", n=2,
                            train_examples=50, val_examples=10, test_examples=20, batch_size=25)
    dm.setup()
    assert dm.images.shape == (10_000, 1, 28, 28)
    assert float(dm.images.min()) == -1.0 and float(dm.images.max()) == 1.0
    # the MNIST test set: 980 zeros ... 1,009 nines; labels start 7, 2, 1, 0, 4
    assert np.bincount(dm.image_digits.numpy()).tolist() == [
        980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert dm.image_digits[:5].tolist() == [7, 2, 1, 0, 4]
    assert sum(len(p) for p in dm.pools.values()) == 10_000
    batch = next(iter(dm.train_dataloader()))
    assert batch["images"].shape == (25, 4, 1, 28, 28)
    first = batch["digits"][:, 0] * 10 + batch["digits"][:, 1]
    second = batch["digits"][:, 2] * 10 + batch["digits"][:, 3]
    assert torch.equal(batch["label"], first + second)
    assert len(list(dm.predict_dataloader())) == 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [(dict(n=0), "n must be at least 1"),
     (dict(task="add", n=18), "at most 17"),
     (dict(train_examples=-1), "train_examples must be >= 0"),
     (dict(batch_size=0), "batch_size must be >= 1"),
     (dict(split=(0.5, 0.5, 0.5)), "add up to 1"),
     (dict(source="cifar"), "unknown source"),
     (dict(task="mul"), "unknown task")],
)
def test_bad_values_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        DigitSumDataModule(**kwargs)


def test_empty_pool_with_examples_is_a_config_error():
    dm = DigitSumDataModule(split=(1.0, 0.0, 0.0), val_examples=5)
    with pytest.raises(ConfigError, match="the val pool is empty"):
        dm.setup()


@pytest.mark.parametrize("size", [8, 28])
def test_digit_net_outputs_probabilities(size):
    torch.manual_seed(0)
    net = DigitNet(image_size=size)
    p = net(torch.randn(6, 1, size, size))
    assert p.shape == (6, 10)
    assert torch.allclose(p.sum(dim=1), torch.ones(6), atol=1e-6)
    assert bool((p > 0).all())
    with pytest.raises(ShapeError, match=r"expects images of shape \(X, 1"):
        net(torch.randn(2, 3, 1, size, size))


def test_digit_net_28_is_deepproblogs_mnist_net():
    net = DigitNet(28)
    shapes = [tuple(p.shape) for p in net.parameters()]
    assert shapes == [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 256), (120,),
                      (84, 120), (84,), (10, 84), (10,)]
    with pytest.raises(ConfigError, match="no architecture for 16x16"):
        DigitNet(16)
