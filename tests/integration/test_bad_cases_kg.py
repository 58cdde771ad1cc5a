"""Bad input to the knowledge-graph benchmarks: each raises a typed error naming the file and line."""

import pytest

from greybox.errors import ConfigError, UnknownRelationError
from tasks.kg.data import read_benchmark


def _folder(d, train="a\tp\tb\nb\tq\tc\n", test="a\tq\tc\n"):
    (d / "train.tsv").write_text(train)
    (d / "dev.tsv").write_text("")
    (d / "test.tsv").write_text(test)
    return d


def test_test_triple_with_an_unknown_relation(tmp_path):
    with pytest.raises(UnknownRelationError, match=r"test.tsv:2: unknown relation 'zz'"):
        read_benchmark(_folder(tmp_path, test="a\tp\tb\na\tzz\tc\n"))


def test_test_triple_with_an_unknown_entity(tmp_path):
    with pytest.raises(ConfigError, match=r"test.tsv:1: unknown entity 'nobody'"):
        read_benchmark(_folder(tmp_path, test="a\tp\tnobody\n"))


def test_malformed_line(tmp_path):
    with pytest.raises(ConfigError, match=r"train.tsv:2: expected three tab-separated columns"):
        read_benchmark(_folder(tmp_path, train="a\tp\tb\nb q c\n"))


def test_empty_graph(tmp_path):
    with pytest.raises(ConfigError, match=r"train.tsv: the graph is empty"):
        read_benchmark(_folder(tmp_path, train="\n"))
