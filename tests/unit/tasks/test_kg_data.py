"""Knowledge-graph benchmark readers: the three layouts, and bad input named by file and line."""

import pytest

from greybox.errors import ConfigError, UnknownRelationError
from tasks.kg.data import Triple, read_benchmark


def _ntp(d, train="a\tp\tb\nb\tq\tc\n", dev="", test="a\tq\tc\n"):
    (d / "train.tsv").write_text(train)
    (d / "dev.tsv").write_text(dev)
    (d / "test.tsv").write_text(test)
    return d


def test_ntp_layout(tmp_path):
    kg = read_benchmark(_ntp(tmp_path, train="a\tco-occurs_with\tb\n\nb\tq\tc\n", test="a\tq\tc\n"))
    assert kg.relations == ("co_occurs_with", "q")
    assert kg.test == (Triple("a", "q", "c"),)
    assert kg.graph.number_of_edges() == 2
    assert kg.graph.edges["b", "c", "q"]["origin"].line == 3
    assert Triple("a", "q", "c") in kg.known()


def test_malformed_line_names_file_and_line(tmp_path):
    _ntp(tmp_path, train="a\tp\tb\nb q c\n")
    with pytest.raises(ConfigError, match=r"train.tsv:2: expected three tab-separated columns"):
        read_benchmark(tmp_path)


def test_unknown_relation_in_test(tmp_path):
    _ntp(tmp_path, test="a\tp\tb\na\tzz\tc\n")
    with pytest.raises(UnknownRelationError, match=r"test.tsv:2: unknown relation 'zz'"):
        read_benchmark(tmp_path)


def test_unknown_entity_in_test(tmp_path):
    _ntp(tmp_path, test="a\tp\tnobody\n")
    with pytest.raises(ConfigError, match=r"test.tsv:1: unknown entity 'nobody'"):
        read_benchmark(tmp_path)


def test_empty_graph(tmp_path):
    _ntp(tmp_path, train="\n\n")
    with pytest.raises(ConfigError, match="the graph is empty"):
        read_benchmark(tmp_path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ConfigError, match="data folder not found"):
        read_benchmark(tmp_path / "nope")
    with pytest.raises(ConfigError, match="file not found: .*train.tsv"):
        read_benchmark(tmp_path)


def test_neural_lp_layout(tmp_path):
    (tmp_path / "facts.txt").write_text("1\tson\t2\n")
    (tmp_path / "train.txt").write_text("2\tfather\t1\n")
    (tmp_path / "valid.txt").write_text("")
    (tmp_path / "test.txt").write_text("3\tson\t2\n")
    (tmp_path / "entities.txt").write_text("1\n2\n3\n")
    (tmp_path / "relations.txt").write_text("son\nfather\n")
    kg = read_benchmark(tmp_path, layout="neural_lp")
    assert kg.entities == ("1", "2", "3") and kg.graph.number_of_edges() == 2
    assert kg.train == (Triple("2", "father", "1"),)
    (tmp_path / "test.txt").write_text("3\tson\t2\n3\tuncle\t1\n")
    with pytest.raises(UnknownRelationError, match=r"test.txt:2: unknown relation 'uncle'"):
        read_benchmark(tmp_path, layout="neural_lp")


def test_countries_layout(tmp_path):
    (tmp_path / "countries_S1.tsv").write_text("x\tlocatedIn\tw_europe\nx\tneighborOf\ty\ny\tlocatedIn\teurope\n")
    (tmp_path / "regions.txt").write_text("europe\nasia\n")
    (tmp_path / "countries.nl").write_text("locatedIn(x,w_europe).\nlocatedIn(x,europe).\nlocatedIn(y,europe).\n")
    (tmp_path / "dev.txt").write_text("")
    (tmp_path / "test.txt").write_text("x\n")
    kg = read_benchmark(tmp_path, layout="countries", task=1)
    assert kg.test == (Triple("x", "locatedin", "europe"),)
    assert kg.candidates == ("asia", "europe")
    (tmp_path / "test.txt").write_text("x\nzz\n")
    with pytest.raises(ConfigError, match=r"test.txt:2: country 'zz' has no region"):
        read_benchmark(tmp_path, layout="countries", task=1)


def test_countries_dev_queries_are_the_other_hidden_countries(tmp_path):
    # S1 hides the region of x (test) and z (dev); y keeps it; S2 also hides their subregions
    nl = "".join(f"locatedIn({c},w_europe).\nlocatedIn({c},europe).\n" for c in "xyz")
    (tmp_path / "countries.nl").write_text(nl)
    (tmp_path / "countries_S1.tsv").write_text(
        "x\tlocatedIn\tw_europe\ny\tlocatedIn\tw_europe\ny\tlocatedIn\teurope\nz\tlocatedIn\tw_europe\n"
        "x\tneighborOf\ty\nz\tneighborOf\ty\nw_europe\tlocatedIn\teurope\n")
    (tmp_path / "countries_S2.tsv").write_text(
        "y\tlocatedIn\tw_europe\ny\tlocatedIn\teurope\nx\tneighborOf\ty\nz\tneighborOf\ty\n"
        "w_europe\tlocatedIn\teurope\n")
    (tmp_path / "regions.txt").write_text("europe\nasia\n")
    (tmp_path / "dev.txt").write_text("y\n")  # NTP's list: not what the graph hides; not read
    (tmp_path / "test.txt").write_text("x\n")
    for task in (1, 2):
        kg = read_benchmark(tmp_path, layout="countries", task=task)
        assert kg.test == (Triple("x", "locatedin", "europe"),)
        assert kg.valid == (Triple("z", "locatedin", "europe"),)


def test_countries_dev_of_the_shipped_data_is_hidden_like_test():
    from pathlib import Path

    d = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "kg" / "countries"
    if not d.is_dir():
        pytest.skip("no Countries data")
    for task in (1, 2, 3):
        kg = read_benchmark(d, layout="countries", task=task)
        assert len(kg.valid) == 24 and len(kg.test) == 24
        assert not {q.head for q in kg.valid} & {q.head for q in kg.test}
