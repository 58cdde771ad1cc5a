"""``KGData``: a knowledge-graph benchmark folder as a LightningDataModule.

The folder is read by :func:`tasks.kg.data.read_benchmark` (its layout: ``ntp``,
``neural_lp`` or ``countries``). The loaders give lists of :class:`~tasks.kg.data.Triple`:

* ``train``: the graph's facts (what an embedding trains on; rules are mined from the
  whole graph before the first step), each epoch in an order drawn from ``(seed, epoch)``;
* ``val`` / ``test``: the dev / test queries, grouped by relation (a relation's scores
  are computed once per group; ranks do not depend on the order).

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "train.tsv").write_text("a\\tp\\tb\\nb\\tq\\tc\\n")
    >>> _ = (d / "dev.tsv").write_text("")
    >>> _ = (d / "test.tsv").write_text("b\\tq\\tc\\na\\tp\\tb\\n")
    >>> data = KGData(str(d), batch_size=8)
    >>> [list(batch) for batch in data.test_dataloader()]
    [[Triple(head='a', relation='p', tail='b'), Triple(head='b', relation='q', tail='c')]]
"""

from __future__ import annotations

from typing import Literal

from greybox.training.data import SeededDataModule
from tasks.kg.data import KGBenchmark, read_benchmark

__all__ = ["KGData"]


def _as_list(batch: list) -> list:
    return list(batch)


class KGData(SeededDataModule):
    """Which benchmark: a folder and its layout (see :mod:`tasks.kg.data`), and how it is batched.

    Args:
        data_dir: the folder.
        layout: ``ntp`` (Kinship, UMLS, Nations), ``neural_lp`` (Family) or ``countries``.
        task: for Countries, the task 1, 2 or 3.
        batch_size: training facts per step (an embedding's batch).
        eval_batch_size: queries ranked per validation / test step.
        seed: the training order's seed (with the epoch).
    """

    def __init__(self, data_dir: str, layout: Literal["ntp", "neural_lp", "countries"] = "ntp", task: int = 1,
                 batch_size: int = 512, eval_batch_size: int = 256, seed: int = 0) -> None:
        super().__init__(batch_size=batch_size, seed=seed)
        self.data_dir = data_dir
        self.layout = layout
        self.task = task
        self.eval_batch_size = eval_batch_size
        self._benchmark: KGBenchmark | None = None

    def load(self) -> KGBenchmark:
        """Read the benchmark (once)."""
        if self._benchmark is None:
            self._benchmark = read_benchmark(self.data_dir, layout=self.layout, task=self.task)
        return self._benchmark

    def setup(self, stage: str | None = None) -> None:
        self.load()

    def train_dataloader(self):
        return self.loader(self.load().facts(), shuffle=True, collate_fn=_as_list)

    def _queries(self, queries):
        from torch.utils.data import DataLoader

        ordered = sorted(queries, key=lambda q: q.relation)  # stable: file order within a relation
        return DataLoader(ordered, batch_size=self.eval_batch_size, shuffle=False, collate_fn=_as_list)

    def val_dataloader(self):
        return self._queries(self.load().valid)

    def test_dataloader(self):
        return self._queries(self.load().test)
