"""CLUTRR parsing, candidate pairs, batches and the data module's errors."""

from __future__ import annotations

import ast
import csv
from pathlib import Path

import pytest

from greybox.errors import ConfigError
from greybox.neural.items import ItemLists
from tasks.kinship.data import (RELATIONS, ClutrrDataModule, PairText, collate_stories, pair_texts, parse_story,
                                read_clutrr, sentence_templates)

ROOT = Path(__file__).resolve().parents[3]
CLUTRR = ROOT.parent / "shared/data/clutrr/data_089907f8"
needs_data = pytest.mark.skipif(not CLUTRR.is_dir(), reason=f"CLUTRR data not found at {CLUTRR}")

STORY = "[Dorothy]'s brother [Michael] and her went to get ice cream. [Michael] is the proud father of the lovely [Donald]"


def test_parse_story_people_pairs_query_label() -> None:
    s = parse_story(STORY, ("Donald", "Dorothy"), "aunt", "Donald:male,Michael:male,Dorothy:female", window=1)
    assert s.people == ("Donald", "Michael", "Dorothy")
    assert s.genders == (1, 1, 0)
    assert s.query == (0, 2)
    assert RELATIONS[s.label] == "aunt"
    assert s.sentences[0].startswith("Dorothy's brother Michael")
    assert "[" not in "".join(s.sentences)
    # one-sentence windows: ordered pairs of people named in the same sentence, never across sentences
    assert s.texts == s.sentences and s.text_sentences == ((0,), (1,))
    assert [(p.text, p.first, p.second) for p in s.pairs] == [(0, 2, 1), (0, 1, 2), (1, 1, 0), (1, 0, 1)]
    first = s.pairs[0]
    assert s.texts[0][slice(*first.first_span)] == "Dorothy"
    assert s.texts[0][slice(*first.second_span)] == "Michael"


def test_two_sentence_windows_pair_people_across_the_boundary_once() -> None:
    story = "[Asia] took her father [Michael] out. [Michael] is proud of his son. [Donald] is the son's name."
    s = parse_story(story, ("Asia", "Donald"), "brother", "Asia:female,Michael:male,Donald:male")
    assert s.text_sentences == ((0, 1), (1, 2))
    assert s.texts[1] == "Michael is proud of his son. Donald is the son's name."
    pairs = [(p.text, s.people[p.first], s.people[p.second]) for p in s.pairs]
    # every ordered pair once, from the first window naming both; Asia and Donald never share one
    assert pairs == [(0, "Asia", "Michael"), (0, "Michael", "Asia"), (1, "Michael", "Donald"), (1, "Donald", "Michael")]
    donald = s.pairs[3]
    assert s.texts[1][slice(*donald.first_span)] == "Donald"
    assert s.texts[1][slice(*donald.second_span)] == "Michael"  # first mention in the window
    # the queried pair itself is never read
    s3 = parse_story(story, ("Asia", "Michael"), "father", "Asia:female,Michael:male,Donald:male")
    assert {(p.first, p.second) for p in s3.pairs} == {(1, 2), (2, 1)}
    with pytest.raises(ConfigError, match="window must be >= 1"):
        parse_story(story, ("Asia", "Donald"), "brother", window=0)


def test_hyphenated_targets_map_to_underscored_relations() -> None:
    s = parse_story("[A] and [B] ate.", ("A", "B"), "son-in-law", "A:male,B:male")
    assert RELATIONS[s.label] == "son_in_law"


def test_unknown_target_and_unnamed_query_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown CLUTRR relation 'cousin'"):
        parse_story("[A] and [B] ate.", ("A", "B"), "cousin", "A:male,B:male")
    with pytest.raises(ConfigError, match="queried person 'Zed' is not named"):
        parse_story("[A] and [B] ate.", ("A", "Zed"), "son", "A:male,B:male")


def test_pair_texts_hold_the_window_and_both_names_spans() -> None:
    s = parse_story(STORY, ("Donald", "Dorothy"), "aunt", "Donald:male,Michael:male,Dorothy:female", window=1)
    pairs = pair_texts(s)
    assert len(pairs) == len(s.pairs)
    assert isinstance(pairs[2], PairText)
    assert pairs[2].text == s.texts[1] == s.sentences[1]
    assert pairs[2].names == ("Michael", "Donald")


def test_collate_pads_pairs_and_people() -> None:
    big = parse_story(STORY, ("Donald", "Dorothy"), "aunt", "Donald:male,Michael:male,Dorothy:female", window=1)
    small = parse_story("[A] is [B]'s son.", ("B", "C"), "son", "A:male,B:female,C:male")
    b = collate_stories([big, small])
    assert isinstance(b["pairs"], ItemLists) and b["pairs"].shape == (2, 4)
    assert b["pair_first"].tolist() == [[2, 1, 1, 0], [0, 1, -1, -1]]
    assert b["pairs"].flat()[4:] == [*pair_texts(small), None, None]  # the small story padded with None
    assert b["genders"].tolist() == [[1, 1, 0], [1, 0, 1]]
    assert b["query"].tolist() == [[0, 2], [1, 2]]
    assert b["label"].tolist() == [RELATIONS.index("aunt"), RELATIONS.index("son")]


def test_missing_folder_is_a_config_error_naming_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ConfigError, match="CLUTRR folder not found") as info:
        ClutrrDataModule(data_dir=str(missing))
    assert "--data.init_args.data_dir" in info.value.hint
    assert str(missing) in str(info.value)


def test_missing_test_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "1.2,1.3_train.csv").write_text("story,query,target,genders\n")
    with pytest.raises(ConfigError, match=r"'1.2_test.csv' not found"):
        ClutrrDataModule(data_dir=str(tmp_path), test_ks=[2])


def test_file_without_columns_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="lacks the columns"):
        read_clutrr(path)


@needs_data
def test_real_train_file_parses() -> None:
    stories = read_clutrr(CLUTRR / "1.2,1.3_train.csv", limit=500)
    assert len(stories) == 500
    assert all(0 <= s.label < len(RELATIONS) for s in stories)
    assert all(s.pairs for s in stories)


def _chain_edges(row: dict[str, str]) -> set[tuple[str, str]]:
    """The story's own edges (A, B): the leaves of CLUTRR's proof_state."""
    proofs = ast.literal_eval(row["proof_state"])
    derived = {head for step in proofs for head in step}
    return {(a, b) for step in proofs for body in step.values() for (a, _, b) in body if (a, _, b) not in derived}


@needs_data
def test_two_sentence_windows_cover_the_chains_edges() -> None:
    with (CLUTRR / "1.10_test.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    covered = {}
    for window in (1, 2):
        hits = 0
        for row in rows:
            s = parse_story(row["story"], tuple(ast.literal_eval(row["query"])), row["target"], row["genders"],
                            window=window)
            pairs = {(s.people[p.first], s.people[p.second]) for p in s.pairs}
            hits += _chain_edges(row) <= pairs
        covered[window] = hits / len(rows)
    # a 10-edge chain is complete in the candidate pairs for 65% of the stories with one sentence, ~all with two
    assert covered[1] < 0.75 and covered[2] > 0.99


@needs_data
def test_data_module_splits_and_one_test_loader_per_k() -> None:
    dm = ClutrrDataModule(data_dir=str(CLUTRR), test_ks=[2, 10], max_train=64, max_test_per_k=5, batch_size=8)
    dm.setup()
    assert len(dm.splits["train"]) == 64 and len(dm.splits["val"]) == 6
    loaders = dm.test_dataloader()
    assert len(loaders) == 2
    batch = next(iter(loaders[1]))
    assert batch["k"].tolist() == [10] * 5
    assert isinstance(batch["pairs"], ItemLists) and batch["pairs"].shape[0] == 5
    train_ids = {id(s) for s in dm.splits["train"]}
    assert not train_ids & {id(s) for s in dm.splits["val"]}


@needs_data
def test_story_loaders_resume_in_the_order_of_their_epoch() -> None:
    from tasks.kinship.baseline import StoryDataModule

    for cls, key in ((ClutrrDataModule, "label"), (StoryDataModule, "first")):
        dm = cls(data_dir=str(CLUTRR), test_ks=[2], max_train=40, max_test_per_k=2, batch_size=8)

        def epoch(e: int, dm=dm, key=key) -> list:
            loader = dm.train_dataloader()  # a new loader each time, as a resumed run builds one
            loader.sampler.set_epoch(e)
            return [b[key] if isinstance(b[key], list) else b[key].tolist() for b in loader]

        assert epoch(1) == epoch(1) != epoch(0)


@needs_data
def test_distractors_tell_unrelated_stories_together_in_training_only() -> None:
    plain = ClutrrDataModule(data_dir=str(CLUTRR), test_ks=[2], max_train=200, max_test_per_k=5)
    mixed = ClutrrDataModule(data_dir=str(CLUTRR), test_ks=[2], max_train=200, max_test_per_k=5, distractors=0.5)
    plain.setup()
    mixed.setup()
    changed = [(a, b) for a, b in zip(plain.splits["train"], mixed.splits["train"]) if a != b]
    assert 50 < len(changed) < 150  # about half, less the pairs of stories that share a name
    for a, b in changed:
        # the same question and answer, with more people, sentences and candidate pairs
        assert b.label == a.label and (b.people[b.query[0]], b.people[b.query[1]]) == (a.people[a.query[0]], a.people[a.query[1]])
        assert set(a.people) < set(b.people) and len(b.pairs) > len(a.pairs)
    assert mixed.splits["val"] == plain.splits["val"] and mixed.tests == plain.tests
    with pytest.raises(ConfigError, match=r"distractors must be in \[0, 1\]"):
        ClutrrDataModule(data_dir=str(CLUTRR), distractors=1.5)


def test_one_direction_reads_each_pair_of_people_once_in_mention_order() -> None:
    both = parse_story(STORY, ("Donald", "Dorothy"), "aunt", "Dorothy:female,Michael:male,Donald:male")
    once = parse_story(STORY, ("Donald", "Dorothy"), "aunt", "Dorothy:female,Michael:male,Donald:male",
                       one_direction=True)
    as_names = lambda s: [(s.people[p.first], s.people[p.second]) for p in s.pairs]  # noqa: E731
    assert as_names(both) == [("Dorothy", "Michael"), ("Michael", "Dorothy"), ("Michael", "Donald"),
                              ("Donald", "Michael")]
    assert as_names(once) == [("Dorothy", "Michael"), ("Michael", "Donald")]
    # a pair named again in a later window, in the other order, is not read a second time
    again = parse_story("[Ann] saw [Bob]. [Cid] came. [Bob] hugged [Ann].", ("Ann", "Cid"), "son", window=1,
                        one_direction=True)
    assert as_names(again) == [("Ann", "Bob")]


def test_same_sentence_first_reads_a_pair_where_one_sentence_names_both() -> None:
    story = "[Ann] sang with [Cid]. [Bob] ate. [Bob]'s mother [Ann] came. [Dan] left."
    kwargs = dict(genders="Ann:female,Bob:male,Cid:male,Dan:male", one_direction=True)
    first = parse_story(story, ("Ann", "Dan"), "son", **kwargs)
    stated = parse_story(story, ("Ann", "Dan"), "son", same_sentence_first=True, **kwargs)
    read = lambda s: {frozenset((s.people[p.first], s.people[p.second])): (s.text_sentences[p.text],  # noqa: E731
                                                                          s.people[p.first]) for p in s.pairs}
    # Ann and Bob: first named together across sentences 0-1; sentence 2 names both
    assert read(first)[frozenset(("Ann", "Bob"))] == ((0, 1), "Ann")
    assert read(stated)[frozenset(("Ann", "Bob"))] == ((1, 2), "Bob")  # first in mention order of that window
    # pairs no sentence names together keep the first window that names both; the set of pairs is unchanged
    assert read(stated)[frozenset(("Cid", "Bob"))] == read(first)[frozenset(("Cid", "Bob"))] == ((0, 1), "Cid")
    assert read(stated).keys() == read(first).keys()
    # the marked pair's spans point at its names in the chosen window
    pair = next(p for p in stated.pairs if {stated.people[p.first], stated.people[p.second]} == {"Ann", "Bob"})
    text = stated.texts[pair.text]
    assert (text[slice(*pair.first_span)], text[slice(*pair.second_span)]) == ("Bob", "Ann")
    # both orders are read from the same window
    both = parse_story(story, ("Ann", "Dan"), "son", genders=kwargs["genders"], same_sentence_first=True)
    windows = {(p.first, p.second): p.text for p in both.pairs}
    assert all(windows[(a, b)] == windows[(b, a)] for a, b in windows)


def test_every_relation_has_one_kind_and_each_kind_one_relation_per_gender() -> None:
    from tasks.kinship.data import KINDS, kind_of

    assert sorted(r for pair in KINDS.values() for r in pair) == sorted(RELATIONS)
    assert {kind_of(m) for m, _ in KINDS.values()} == set(KINDS)
    assert kind_of("mother-in-law") == "parent_in_law"
    with pytest.raises(ConfigError, match="'cousin' is not a CLUTRR relation"):
        kind_of("cousin")


def test_kinship_modules_import_one_way() -> None:
    """``stories`` <- ``describe`` <- ``data``: neither the story readers nor the descriptions import the data module."""
    def imported(name: str) -> set[str]:
        tree = ast.parse((ROOT / "tasks/kinship" / f"{name}.py").read_text())
        found = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        return found | {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}

    assert "tasks.kinship.data" not in imported("stories") | imported("describe")
    assert "tasks.kinship.describe" not in imported("stories")
    assert {"tasks.kinship.stories", "tasks.kinship.describe"} <= imported("data")


@needs_data
def test_unseen_templates_validation_tells_sentences_no_training_story_uses() -> None:
    dm = ClutrrDataModule(data_dir=str(CLUTRR), test_ks=[2], val_split="unseen_templates", val_fraction=0.1, seed=3)
    dm.setup("fit")
    train, val = dm.splits["train"], dm.splits["val"]
    assert len(train) + len(val) == len(read_clutrr(CLUTRR / "1.2,1.3_train.csv"))
    assert 0.1 <= len(val) / (len(train) + len(val)) < 0.12  # whole templates are held out, the last one may overshoot
    seen = {t for s in train for t in sentence_templates(s.source)}
    # every validation story tells at least one sentence in words no training story uses
    assert all(set(sentence_templates(s.source)) - seen for s in val)
    # a random split shares almost every validation sentence with training
    random_dm = ClutrrDataModule(data_dir=str(CLUTRR), test_ks=[2], val_fraction=0.1, seed=3)
    random_dm.setup("fit")
    random_seen = {t for s in random_dm.splits["train"] for t in sentence_templates(s.source)}
    assert sum(bool(set(sentence_templates(s.source)) - random_seen) for s in random_dm.splits["val"]) < len(val) / 2
    # seeded: the same split again, another with another seed
    again = ClutrrDataModule(data_dir=str(CLUTRR), test_ks=[2], val_split="unseen_templates", val_fraction=0.1, seed=3)
    again.setup("fit")
    assert [s.source for s in again.splits["val"]] == [s.source for s in val]
    other = ClutrrDataModule(data_dir=str(CLUTRR), test_ks=[2], val_split="unseen_templates", val_fraction=0.1, seed=4)
    other.setup("fit")
    assert [s.source for s in other.splits["val"]] != [s.source for s in val]


def test_unknown_val_split_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "1.2_test.csv").write_text("story,query,target,genders\n")
    with pytest.raises(ConfigError, match="val_split must be 'random' or 'unseen_templates'"):
        ClutrrDataModule(data_dir=str(tmp_path), val_split="templates")  # type: ignore[arg-type]
