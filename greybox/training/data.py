"""``SeededDataModule``: the data-module base whose training order is a function of (seed, epoch).

A run resumed from a checkpoint must see the data in the order the uninterrupted run
would have: epoch ``e`` of the resumed run is epoch ``e`` of the run, not a replay of
epoch 0. A loader whose ``torch.Generator`` is seeded when the loader is built cannot
give that, since a resumed run builds its loader afresh. Here the order of an epoch is
drawn from ``(seed, epoch)`` alone (:class:`EpochRandomSampler`), and Lightning tells the
sampler the epoch: at the start of every training epoch it calls ``set_epoch`` with the
number of epochs done, which a resumed run reads back from its checkpoint.

With several processes (DDP) and Lightning's ``use_distributed_sampler`` (the default),
Lightning swaps the sampler for its ``DistributedSampler(shuffle=True,
seed=<seed_everything's seed>)``, whose order is also a function of (seed, epoch): a
resumed distributed run keeps its order too, the order of ``seed_everything`` rather than
of the data module's ``seed``.

Example:
    >>> s = EpochRandomSampler(range(6), seed=0)
    >>> s.set_epoch(1); one = list(s)
    >>> s.set_epoch(0); zero = list(s)
    >>> s.set_epoch(1); one == list(s) and sorted(one) == list(range(6)) and one != zero
    True
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Sized

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler

__all__ = ["EpochRandomSampler", "SeededDataModule"]


class EpochRandomSampler(RandomSampler):
    """A random order of ``range(len(data))`` for each epoch, a function of ``(seed, epoch)`` only.

    A subclass of ``RandomSampler`` so that Lightning sees a shuffled loader (and, under DDP,
    replaces it by a shuffling ``DistributedSampler``).

    Args:
        data: the data set (only its length is read).
        seed: seeds every epoch's order, with the epoch.

    Attributes:
        epoch: the epoch of the next pass. ``set_epoch`` sets it (Lightning calls it before
            every training epoch); each pass advances it, so that a plain loop without
            ``set_epoch`` still gets a new order each time.
    """

    def __init__(self, data: Sized, seed: int) -> None:
        super().__init__(data)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Make the next pass the order of ``epoch``."""
        self.epoch = int(epoch)

    def order(self, epoch: int) -> list[int]:
        """The order of ``epoch``: a permutation of ``range(len(data))``.

        >>> EpochRandomSampler(range(4), seed=3).order(2) == EpochRandomSampler(range(4), seed=3).order(2)
        True
        """
        # SeedSequence mixes the pair: (seed, epoch) and (seed + 1, epoch - 1) give unrelated orders
        return np.random.default_rng((self.seed, int(epoch))).permutation(len(self.data_source)).tolist()

    def __iter__(self) -> Iterator[int]:
        order = self.order(self.epoch)
        self.epoch += 1
        return iter(order)

    def __len__(self) -> int:
        return len(self.data_source)


class SeededDataModule(pl.LightningDataModule):
    """A ``LightningDataModule`` whose loaders are built by :meth:`loader`.

    The training loader draws each epoch's order from ``(seed, epoch)``; the others keep
    their data set's order.

    Args:
        batch_size: examples per batch.
        seed: seeds the training order (with the epoch).
        num_workers: DataLoader worker processes.
    """

    def __init__(self, batch_size: int, seed: int, num_workers: int = 0) -> None:
        super().__init__()
        self.batch_size = batch_size
        self.seed = seed
        self.num_workers = num_workers

    def loader(self, data: Dataset | list[Any], shuffle: bool,
               collate_fn: Callable[[list[Any]], Any] | None = None) -> DataLoader:
        """A loader of ``data`` in batches of ``batch_size``.

        Args:
            data: a map-style data set, or a list of items.
            shuffle: draw each epoch's order from ``(seed, epoch)`` (the training loader);
                otherwise the data's own order.
            collate_fn: how items become a batch (default: PyTorch's).

        Returns:
            The DataLoader.
        """
        sampler = EpochRandomSampler(data, self.seed) if shuffle else None
        # the loader draws a base seed for its workers on every pass: from its own generator,
        # so that loading never advances torch's global generator (dropout's)
        generator = torch.Generator().manual_seed(self.seed)
        return DataLoader(data, batch_size=self.batch_size, sampler=sampler, collate_fn=collate_fn,
                          num_workers=self.num_workers, generator=generator,
                          persistent_workers=self.num_workers > 0)
