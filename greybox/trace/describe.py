"""How a data module describes one example to the trace builder.

The engine numbers the constants of an example (the people of a story are ``0 .. P-1``)
and a network reads numbered items (candidate pair 5). A trace that shows those
numbers cannot be read. A data module that knows what the numbers stand for offers

    def describe(self, split: str, index: int, dataloader: int = 0) -> ExampleDescription

and ``greybox explain`` (``training.traces.build_trace``) then shows

* the example's raw text as numbered *passages* (the sentences of a story);
* the display name of every constant it names (person 3 -> ``Michael``), in every atom;
* for every item a network read, what it is (``pair (Donald, Michael)``), the text it read
  and the passages that text spans, and what a reading of it says (``father(Donald, Michael)``);
* a *question* in words and the *subset* of the split the example is in (``k=4``).

Everything is optional: a data module without ``describe`` gets today's numbered trace.

Names are looked up per argument: a key ``"relation.i"`` (argument ``i``, from 0, of one
relation, e.g. ``"answer.0"``) wins over a key naming the argument's declared type
(``"person"``: every argument of that type). A value is named when it is an integer
``0 <= v < len(names)``.

Example:
    >>> d = ExampleDescription(
    ...     passages=("Ann met her son Bob.",), question="what is Bob to Ann?",
    ...     names={"person": ("Ann", "Bob"), "answer.0": ("father", "son")},
    ...     inputs={"pairs": (InputDescription("pair (Ann, Bob)", text="Ann met her son Bob.",
    ...                                        passages=(1,), reading="{cls}(Ann, Bob)"),)})
    >>> d.name("father", 1, "person", 1), d.name("answer", 0, "int", 1), d.name("answer", 0, "int", 7)
    ('Bob', 'son', None)
    >>> d.input("pairs", 0).statement("son"), d.input("pairs", 3) is None
    ('son(Ann, Bob)', True)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Protocol, Sequence, runtime_checkable

from greybox.errors import ConfigError
from greybox.lang.ast import Const
from greybox.lang.printer import format_expr

__all__ = ["InputDescription", "ExampleDescription", "DescribesExamples", "Namer", "passage_span"]


@dataclass(frozen=True)
class InputDescription:
    """One item a network reads, in words.

    Attributes:
        label: what the item is, e.g. ``'pair (Donald, Michael)'`` or ``'image 2'``.
        text: the text the network read, when it reads text.
        passages: 1-based numbers of the example's passages that ``text`` spans.
        reading: how a reading of the item is said, with ``{cls}`` for the class read,
            e.g. ``'{cls}(Donald, Michael)'``; ``None``: readings are not restated.
    """

    label: str
    text: Optional[str] = None
    passages: tuple[int, ...] = ()
    reading: Optional[str] = None

    def statement(self, cls: Any) -> Optional[str]:
        """What reading the item as ``cls`` says, or ``None`` without a ``reading`` template.

        Example:
            >>> InputDescription("A → B", reading="{cls}(A, B)").statement("aunt")
            'aunt(A, B)'
        """
        return None if self.reading is None else self.reading.replace("{cls}", str(cls))


@dataclass(frozen=True)
class ExampleDescription:
    """What the numbers of one example stand for; see the module docstring.

    Attributes:
        passages: the example's raw text, one passage (e.g. a sentence) each; shown
            numbered from 1, in this order.
        question: the query in words, e.g. ``'what is Dorothy to Donald?'``.
        subset: which part of the split the example is in, e.g. ``'k=4'``.
        names: display names of constants, by ``"relation.i"`` or by type name.
        inputs: per batch key of a network's input (``ReasoningTask.inputs``, e.g. ``'pairs'``),
            one description per item of it.
        silent_classes: classes whose reading states nothing (e.g. ``'none'``): such a
            reading gets no statement and is summarised rather than listed.

    Raises:
        ConfigError: an input names a passage number outside ``1 .. len(passages)``.
    """

    passages: tuple[str, ...] = ()
    question: Optional[str] = None
    subset: Optional[str] = None
    names: Mapping[str, Sequence[str]] = field(default_factory=dict)
    inputs: Mapping[str, Sequence[InputDescription]] = field(default_factory=dict)
    silent_classes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for key, items in self.inputs.items():
            for i, item in enumerate(items):
                bad = [n for n in item.passages if not 1 <= n <= len(self.passages)]
                if bad:
                    raise ConfigError(
                        f"input {i} of '{key}' names passages {bad}, but the example has "
                        f"{len(self.passages)} passage(s)",
                        hint="number passages from 1, in the order of ExampleDescription.passages",
                    )

    def names_for(self, relation: str, position: int, type_name: Optional[str]) -> Optional[Sequence[str]]:
        """The names of the values of one argument, or ``None`` when they have none.

        Args:
            relation: the relation.
            position: the argument, from 0.
            type_name: the argument's declared type (e.g. ``'person'``), if known.
        """
        names = self.names.get(f"{relation}.{position}")
        if names is None and type_name is not None:
            names = self.names.get(type_name)
        return names

    def name(self, relation: str, position: int, type_name: Optional[str], value: Any) -> Optional[str]:
        """The display name of ``value`` as argument ``position`` of ``relation``, or ``None``."""
        names = self.names_for(relation, position, type_name)
        if names is None or isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < len(names):
            return None
        return str(names[value])

    def input(self, key: str, item: int) -> Optional[InputDescription]:
        """The description of item ``item`` of the batch's input ``key``, or ``None``."""
        items = self.inputs.get(key)
        if items is None or not 0 <= item < len(items):
            return None
        return items[item]


@runtime_checkable
class DescribesExamples(Protocol):
    """A data module that can describe its examples (see the module docstring)."""

    def describe(self, split: str, index: int, dataloader: int = 0) -> ExampleDescription:
        """The description of example ``index`` of loader ``dataloader`` of ``split``."""
        ...  # pragma: no cover - a protocol


class Namer:
    """Display text of the constants and atoms of one example.

    A constant with a display name (see :class:`ExampleDescription`) is shown by its name,
    as written; any other as the program would print it.

    Args:
        types: the declared type of each argument, per relation (``ProgramInfo.relations[r].types``).
        description: the example's description; ``None``: no names.

    Example:
        >>> d = ExampleDescription(names={"person": ("Ann", "Bob Jr")})
        >>> namer = Namer({"father": ("person", "person"), "age": ("person", "int")}, d)
        >>> namer.atom("father", (0, 1)), namer.atom("age", (1, 40)), namer.atom("age", (9, 40))
        ('father(Ann, Bob Jr)', 'age(Bob Jr, 40)', 'age(9, 40)')
        >>> Namer({}).atom("parent", ("ann", "Bob Jr"))
        "parent(ann, 'Bob Jr')"
    """

    def __init__(self, types: Mapping[str, Sequence[str]], description: Optional[ExampleDescription] = None) -> None:
        self.types = types
        self.description = description

    def _type(self, relation: str, position: int) -> Optional[str]:
        types = self.types.get(relation)
        return types[position] if types is not None and 0 <= position < len(types) else None

    def name(self, relation: str, position: int, value: Any) -> Optional[str]:
        """The display name of ``value`` as argument ``position`` of ``relation``, or ``None``."""
        if self.description is None:
            return None
        return self.description.name(relation, position, self._type(relation, position), value)

    def named(self, relation: str, position: int) -> bool:
        """Whether the values of this argument have display names."""
        return self.description is not None and \
            self.description.names_for(relation, position, self._type(relation, position)) is not None

    def value(self, relation: str, position: int, value: Any) -> str:
        """``value`` as shown in argument ``position`` of ``relation``."""
        name = self.name(relation, position, value)
        return name if name is not None else format_expr(Const(value))

    def atom(self, relation: str, args: Sequence[Any]) -> str:
        """``relation(args...)`` as shown; a zero-arity atom is its name."""
        if not args:
            return relation
        return f"{relation}({', '.join(self.value(relation, i, a) for i, a in enumerate(args))})"


def passage_span(numbers: Sequence[int]) -> str:
    """Passage numbers as shown: ``[2]``, ``[1-2]``, ``[1, 3]``; ``''`` for none.

    Example:
        >>> passage_span([2]), passage_span([1, 2]), passage_span([1, 3]), passage_span([])
        ('[2]', '[1-2]', '[1, 3]', '')
    """
    nums = sorted(set(numbers))
    if not nums:
        return ""
    if len(nums) > 1 and nums == list(range(nums[0], nums[-1] + 1)):
        return f"[{nums[0]}-{nums[-1]}]"
    return "[" + ", ".join(str(n) for n in nums) + "]"
