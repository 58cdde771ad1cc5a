"""CLUTRR stories in words, for ``greybox explain``: names, sentences, what each pair was read from.

The engine numbers the people of a story ``0 .. P-1`` and the answer is an index into
:data:`~tasks.kinship.data.RELATIONS`; the extractor reads candidate pairs. The
description names all of them: people by their names, answers by their relations,
each pair by its two people, the window of sentences it was read from, and what a
reading of it says (``father(Donald, Michael)``: Michael is Donald's father).

Example:
    >>> from tasks.kinship.stories import parse_story
    >>> s = parse_story("[Dorothy]'s brother [Michael] and her went to get ice cream. "
    ...                 "[Michael] is the proud father of the lovely [Donald].",
    ...                 ("Donald", "Dorothy"), "aunt", "Dorothy:female,Michael:male,Donald:male", k=2)
    >>> d = describe_story(s, subset="k=2")
    >>> d.question, d.passages[1]
    ('what is Dorothy to Donald?', 'Michael is the proud father of the lovely Donald.')
    >>> d.name("answer", 0, "int", 13), d.name("father", 0, "person", 2)
    ('aunt', 'Donald')
    >>> pair = s.pairs.index(next(p for p in s.pairs if (p.first, p.second) == (2, 1)))
    >>> about = d.input("pairs", pair)
    >>> about.label, about.passages, about.statement("father")
    ('pair (Donald, Michael)', (1, 2), 'father(Donald, Michael)')
"""

from __future__ import annotations

from greybox.errors import ConfigError
from greybox.trace.describe import ExampleDescription, InputDescription
from tasks.kinship.stories import NONE, RELATIONS, Story

__all__ = ["describe_story", "describe_split", "PAIRS_KEY"]

#: the batch key of the extractor's input (``collate_stories``), which the descriptions of pairs are for
PAIRS_KEY = "pairs"


def describe_story(story: Story, subset: str | None = None) -> ExampleDescription:
    """The description of one story.

    Args:
        story: the parsed story.
        subset: the part of the split it is in, e.g. ``'k=4'``.

    Returns:
        Sentences as passages, the query as a question, names of people (type ``person``)
        and of answers (``answer``'s argument), and one description per candidate pair.
    """
    people = story.people
    a, b = story.query
    pairs = []
    for p in story.pairs:
        first, second = people[p.first], people[p.second]
        pairs.append(InputDescription(
            label=f"pair ({first}, {second})", text=story.texts[p.text],
            passages=tuple(i + 1 for i in story.text_sentences[p.text]), reading=f"{{cls}}({first}, {second})",
        ))
    return ExampleDescription(
        passages=story.sentences, question=f"what is {people[b]} to {people[a]}?", subset=subset,
        names={"person": people, "answer.0": RELATIONS}, inputs={PAIRS_KEY: tuple(pairs)}, silent_classes=(NONE,),
    )


def describe_split(dm, split: str, index: int, dataloader: int = 0) -> ExampleDescription:
    """The description of example ``index`` of a :class:`~tasks.kinship.data.ClutrrDataModule` split.

    Args:
        dm: the data module.
        split: ``train``, ``val`` or ``test``.
        index: the story's position in its loader.
        dataloader: for ``test``, which loader (its position in the data module's ``test_loader_names``).

    Raises:
        ConfigError: the split, the loader or the index does not exist.
    """
    dm.setup("test" if split == "test" else None)
    if split == "test":
        if not 0 <= dataloader < len(dm.test_keys):
            raise ConfigError(f"the test split has {len(dm.test_keys)} loaders ({', '.join(dm.test_loader_names)}); "
                              f"there is no loader {dataloader}", hint="pick a loader 0 .. number of test files - 1")
        key = dm.test_keys[dataloader]
        stories, subset = dm.tests[key], f"k={key}" if isinstance(key, int) else key
    elif split in dm.splits:
        stories, subset = dm.splits[split], None
    else:
        raise ConfigError(f"unknown split '{split}'", hint="use train, val or test")
    if not 0 <= index < len(stories):
        raise ConfigError(f"index {index} is outside the {split} split (0..{len(stories) - 1})", hint="pick an index in range")
    return describe_story(stories[index], subset=subset)
