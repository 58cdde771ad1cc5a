"""Logical forms: what a text reader reads a sentence as.

A sentence of a theory in English reads as a fact (a literal) or a rule (a conjunction of
literals implying a literal). Predicates and constants are named by the words of the text
(lower-case lemmas joined by ``_``: "the bald eagle" -> ``bald_eagle``, "chases" -> ``chase``),
so a theory written in words never seen in training still reads. Variables are upper-case
(``X``, ``Y``). A reading carries the probability the reader gives it.

Example:
    >>> big = Literal("big", ("X",))
    >>> red = Literal("red", ("X",))
    >>> rule = Reading(head=red, body=(big,), probability=0.98)
    >>> print(rule)
    red(X) :- big(X).
    >>> print(Reading(head=Literal("chase", ("cow", "dog"), negated=True)))
    not chase(cow, dog).
    >>> rule.is_fact, rule.variables()
    (False, ('X',))
    >>> both = Reading(Literal("big", ("bob",)), also=(Literal("red", ("bob",)),))  # "Bob is big and red."
    >>> print(both)
    big(bob). red(bob).
    >>> [str(p) for p in both.parts()]
    ['big(bob).', 'red(bob).']
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

__all__ = ["Literal", "Reading", "is_variable"]


def is_variable(term: str) -> bool:
    """A term is a variable when it starts with an upper-case letter (``X``, ``Y1``).

    Example:
        >>> is_variable("X"), is_variable("bob")
        (True, False)
    """
    return term[:1].isupper()


@dataclass(frozen=True)
class Literal:
    """``predicate(arguments...)``, or its negation ("not" in the sentence).

    Args:
        predicate: the predicate's name, from the words of the text (``big``, ``chase``).
        arguments: constants (lower-case words) or variables (upper-case); 1 for a property, 2 for a relation.
        negated: the sentence says "not".
    """

    predicate: str
    arguments: tuple[str, ...]
    negated: bool = False

    def bound(self, binding: dict[str, str]) -> "Literal":
        """The literal with each variable that ``binding`` names replaced by its value.

        >>> print(Literal("chase", ("X", "cat"), negated=True).bound({"X": "dog"}))
        not chase(dog, cat)
        """
        return Literal(self.predicate, tuple(binding.get(t, t) for t in self.arguments), self.negated)

    def __str__(self) -> str:
        atom = f"{self.predicate}({', '.join(self.arguments)})"
        return f"not {atom}" if self.negated else atom


@dataclass(frozen=True)
class Reading:
    """One sentence read as ``head :- body.`` (a fact when ``body`` is empty), or as several facts.

    Args:
        head: the literal the sentence concludes (or states, for a fact).
        body: the literals the conclusion needs, all of them.
        probability: how sure the reader is of this reading.
        also: further facts the same sentence states (a fact reading only): "Bob is big and red."
            reads as ``big(bob)`` with ``also=(red(bob),)``; they stand or fall together.
    """

    head: Literal
    body: tuple[Literal, ...] = ()
    probability: float = field(default=1.0, compare=False)
    also: tuple[Literal, ...] = ()

    def __post_init__(self) -> None:
        if self.also and self.body:
            raise ValueError("a rule states one conclusion: `also` is for readings of several facts")

    def parts(self) -> tuple["Reading", ...]:
        """The single facts or the rule this reading states, each with its probability."""
        if not self.also:
            return (self,)
        return tuple(Reading(lit, probability=self.probability) for lit in (self.head, *self.also))

    def with_probability(self, probability: float) -> "Reading":
        """The same reading with ``probability``."""
        return replace(self, probability=probability)

    @property
    def is_fact(self) -> bool:
        """True when the sentence states a literal with no condition."""
        return not self.body

    def variables(self) -> tuple[str, ...]:
        """The reading's variables, in order of first appearance (body first)."""
        seen: dict[str, None] = {}
        for lit in (*self.body, self.head, *self.also):
            for term in lit.arguments:
                if is_variable(term):
                    seen.setdefault(term)
        return tuple(seen)

    def __str__(self) -> str:
        if self.is_fact:
            return " ".join(f"{lit}." for lit in (self.head, *self.also))
        return f"{self.head} :- {', '.join(str(b) for b in self.body)}."
