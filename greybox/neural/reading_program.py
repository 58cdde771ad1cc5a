"""A theory read from English -> a greybox rule program, each statement under the sentence it came from.

A text reader reads each sentence of a theory as zero or more ``Reading``s (facts and rules
over the text's words, see :mod:`greybox.neural.logical_forms`); :func:`theory_program` turns
them into ``.dl`` source that ``greybox kb check`` accepts, ``greybox query`` answers and the
tensor engine trains through. It lives beside the logical forms because it is what every
language task that reads rules shares; it knows no data set.

Two readings of "not" (``world``):

* ``"closed"`` (negation as failure, stratified): ``not p(X)`` in a body is ``\\+ p(X)``, true
  when ``p(X)`` is not derived. A negated fact or conclusion derives nothing: under the closed
  world a literal is false unless derived, so it is written as a comment only.
* ``"open"`` (classical negation): ``not p`` is a literal of its own, the relation ``neg_p``;
  a statement is True when derived, False when its negation is, Unknown otherwise.

Negation through recursion (``blue`` needs ``\\+ smart``, which needs ``blue``) is common in
generated theories. Such a theory is written ground (``ground=None`` decides; ``True`` forces it):
one statement per instance of a rule over the theory's constants, each ground atom a relation
of its own (``blue__bob`` for ``blue(bob)``), simplified by the theory's well-founded model
(negated literals on atoms it makes false are dropped, instances it blocks are left out), which
is the perfect model whenever the ground program is stratified.

Variables that a rule's positive body does not bind (in its head or under ``\\+``) range over
the theory's constants, the relation ``entity``. How a reading's probability enters (``weights``):

* ``"probability"``: ``0.93 :: big(bob).``, a weighted statement (what ``greybox read`` writes);
* ``"gate"``: ``big(bob) :- read(0, 0).``, gated by the run-time input fact ``read(Sentence,
  Candidate)`` whose probability is the reader's output, so gradients reach the reader;
* ``"none"``: every kept reading is certain.

Example:
    >>> from greybox.neural.logical_forms import Literal, Reading
    >>> big, red = Literal("big", ("X",)), Literal("red", ("X",))
    >>> program = theory_program(
    ...     ["Bob is big.", "If something is big and not red then it is kind.", "Blah."],
    ...     [[Reading(Literal("big", ("bob",)), probability=0.9)],
    ...      [Reading(Literal("kind", ("X",)), (big, Literal("red", ("X",), negated=True)))], []])
    >>> print(program.text)  # doctest: +NORMALIZE_WHITESPACE
    % a theory read from English (closed world: "not" is negation as failure)
    type big(symbol).
    type kind(symbol).
    type red(symbol).
    entity(bob).
    <BLANKLINE>
    % [s1] Bob is big.  (p=0.900)
    0.9 :: big(bob).
    % [s2] If something is big and not red then it is kind.  (p=1.000)
    kind(X) :- big(X), \\+ red(X).
    % [s3] Blah.  (unreadable: no logical form)
    >>> program.sentence_at(program.statements[1].line), program.unreadable
    (1, (2,))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal as Choice, Sequence

from ..errors import ConfigError
from ..lang.ast import Const
from ..lang.printer import format_constant
from .logical_forms import Literal, Reading, is_variable

__all__ = ["World", "Weights", "Statement", "TheoryProgram", "theory_program", "relation_name", "constant_text",
           "ground_name", "GATE", "DOMAIN"]

World = Choice["closed", "open"]
Weights = Choice["probability", "gate", "none"]

#: the run-time relation ``read(Sentence, Candidate)`` that gates each reading (``weights="gate"``)
GATE = "read"
#: the relation of the theory's constants, over which unbound variables range
DOMAIN = "entity"

_NOT_NAME = re.compile(r"[^a-z0-9_]+")
_RESERVED = {GATE, DOMAIN, "type", "not", "is", "mod"}


def relation_name(literal: Literal, world: World = "closed") -> str:
    """The relation a literal is about: its predicate as a plain name; ``neg_p`` for ``not p`` in the open world.

    >>> relation_name(Literal("bald eagle!", ("X",))), relation_name(Literal("big", ("X",), negated=True), "open")
    ('bald_eagle', 'neg_big')
    """
    name = _NOT_NAME.sub("_", literal.predicate.lower()).strip("_") or "p"
    if name[0].isdigit() or name in _RESERVED:
        name = f"p_{name}"
    return f"neg_{name}" if world == "open" and literal.negated else name


def ground_name(relation: str, args: Sequence[str]) -> str:
    """The relation of one ground atom in a ground program.

    >>> ground_name("chase", ("bald_eagle", "Bob"))
    'chase__bald_eagle__bob'
    """
    parts = [relation, *(_NOT_NAME.sub("_", a.lower()).strip("_") or "c" for a in args)]
    return "__".join(parts)


def constant_text(term: str) -> str:
    """A constant as the program writes it (quoted when it is not a plain lower-case name).

    >>> constant_text("bald_eagle"), constant_text("Bob")
    ('bald_eagle', "'Bob'")
    """
    return format_constant(Const(term))


@dataclass(frozen=True)
class Statement:
    """One statement of the program and the reading it came from.

    Args:
        sentence: index of the sentence (0-based; shown as ``[s1]`` for 0).
        candidate: index of the reading among the sentence's candidates.
        reading: the reading.
        text: the statement as written (one line).
        line: 1-based line of the statement in ``TheoryProgram.text``.
    """

    sentence: int
    candidate: int
    reading: Reading
    text: str
    line: int


@dataclass(frozen=True)
class TheoryProgram:
    """A theory's program: its text, its statements by sentence, what it names.

    Attributes:
        text: the ``.dl`` source.
        world: ``"closed"`` or ``"open"``.
        statements: one per kept reading that derives something, in sentence order.
        arities: relation -> arity, for every relation the program declares.
        constants: the theory's constants (the ``entity`` relation), sorted.
        unreadable: indices of the sentences read as nothing.
        inert: indices of the sentences whose readings derive nothing (a negated fact under the closed world).
        ground: the program is written ground; ``atoms`` maps each ground relation to its atom.
        undefined: atoms neither true nor false in the well-founded model (a paradox such as
            "p if not p"); the statements that need them are left out, so they read as not derived.
    """

    text: str
    world: str
    statements: tuple[Statement, ...]
    arities: dict[str, int] = field(default_factory=dict)
    constants: tuple[str, ...] = ()
    unreadable: tuple[int, ...] = ()
    inert: tuple[int, ...] = ()
    ground: bool = False
    atoms: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    undefined: tuple[str, ...] = ()

    def relation_of(self, relation: str, args: Sequence[str]) -> tuple[str, tuple[str, ...]]:
        """``(relation, args)`` as this program holds the atom: ``("blue__bob", ())`` when ground."""
        return (ground_name(relation, args), ()) if self.ground else (relation, tuple(args))

    def atom_text(self, relation: str, args: Sequence = ()) -> str:
        """An atom of the program as people read it: ``blue(bob)`` also for the ground ``blue__bob``."""
        if relation in self.atoms:
            relation, args = self.atoms[relation]
        return f"{relation}({', '.join(map(str, args))})" if args else relation

    def sentence_at(self, line: int) -> int | None:
        """The sentence a statement at ``line`` came from (None: a declaration or the domain)."""
        return next((s.sentence for s in self.statements if s.line == line), None)

    def statement_at(self, line: int) -> Statement | None:
        """The statement at ``line`` (None: a declaration or the domain)."""
        return next((s for s in self.statements if s.line == line), None)


def _literal_text(lit: Literal, world: World, rename: dict[tuple[str, int], str]) -> str:
    name = rename[(relation_name(lit, world), len(lit.arguments))]
    args = ", ".join(t if is_variable(t) else constant_text(t) for t in lit.arguments)
    atom = f"{name}({args})" if lit.arguments else name
    return f"\\+ {atom}" if world == "closed" and lit.negated else atom


def _weight_text(p: float) -> str:
    # four decimals: what a person reads and edits; the model answers from this very text
    return repr(round(min(1.0, max(0.0, float(p))), 4) + 0.0)


def theory_program(
    sentences: Sequence[str],
    readings: Sequence[Sequence[Reading]],
    *,
    world: World = "closed",
    weights: Weights = "probability",
    extra_relations: Sequence[Literal] = (),
    ground: bool | None = None,
) -> TheoryProgram:
    """The program of a theory read sentence by sentence.

    Args:
        sentences: the theory's sentences (for the comments).
        readings: per sentence, the readings kept (all hold; ``[]``: the sentence is unreadable).
        world: ``"closed"`` (negation as failure) or ``"open"`` (classical negation, ``neg_p``).
        weights: how each reading's probability enters (see the module).
        extra_relations: literals whose relations are declared too (e.g. the question's), so that
            asking about a relation the theory never names is a question, not an error.
        ground: write the program ground (None: only when negation goes through recursion).

    Returns:
        The ``TheoryProgram``.

    Raises:
        ConfigError: ``readings`` and ``sentences`` differ in length, or ``world``/``weights`` is unknown.
    """
    if ground is None:
        from ..errors import StratificationError
        from ..lang.analysis import analyze
        from ..lang.parser import parse_program

        lifted = theory_program(sentences, readings, world=world, weights=weights, extra_relations=extra_relations,
                                ground=False)
        try:
            analyze(parse_program(lifted.text))
        except StratificationError:
            return theory_program(sentences, readings, world=world, weights=weights, extra_relations=extra_relations,
                                  ground=True)
        return lifted
    if len(readings) != len(sentences):
        raise ConfigError(f"{len(readings)} lists of readings for {len(sentences)} sentences",
                          hint="give one list of readings per sentence ([] for a sentence read as nothing)")
    if world not in ("closed", "open") or weights not in ("probability", "gate", "none"):
        raise ConfigError(f"unknown world {world!r} or weights {weights!r}",
                          hint="world: closed or open; weights: probability, gate or none")
    # relations by (name, arity): a word used with two arities names two relations (big/1, big_2/2)
    used: list[tuple[str, int]] = []
    constants: set[str] = set()
    for lit in [*(lit for rs in readings for r in rs for lit in (r.head, *r.body, *r.also)), *extra_relations]:
        key = (relation_name(lit, world), len(lit.arguments))
        if key not in used:
            used.append(key)
        if not any(lit is x for x in extra_relations):
            constants.update(t for t in lit.arguments if not is_variable(t))
    if world == "open":  # both polarities of every relation, so that either may be asked
        for name, arity in list(used):
            twin = name[4:] if name.startswith("neg_") else f"neg_{name}"
            if (twin, arity) not in used:
                used.append((twin, arity))
    arities_of: dict[str, list[int]] = {}
    for name, arity in used:
        arities_of.setdefault(name, []).append(arity)
    rename = {(n, a): n if len(arities_of[n]) == 1 or a == min(arities_of[n]) else f"{n}_{a}" for n, a in used}

    lines = [f'% a theory read from English ({world} world: "not" is '
             f'{"negation as failure" if world == "closed" else "classical negation, relation neg_<name>"})']
    if weights == "gate":
        lines.append(f"type {GATE}(int, int).")
    arities = {}
    for key in sorted(rename.values()):
        arities[key] = next(a for (n, a), v in rename.items() if v == key)
    atoms: dict[str, tuple[str, tuple[str, ...]]] = {}
    kept_instances: dict[tuple[int, int], list[Reading]] = {}
    undefined: tuple = ()
    if ground:
        lines[0] += ("; written ground, one statement per instance (negation goes through recursion), simplified by "
                     "its well-founded model: after an edit, read the theory again")
        kept_instances, undefined = _relevant_instances(readings, sorted(constants), world)
        for insts in kept_instances.values():
            for inst in insts:
                for lit in (inst.head, *inst.body):
                    key = rename[(relation_name(lit, world), len(lit.arguments))]
                    atoms[ground_name(key, lit.arguments)] = (key, lit.arguments)
        for lit in extra_relations:  # the question's atom (and its negation's), so that it can be asked
            if not any(is_variable(t) for t in lit.arguments):
                for polarity in ((False, True) if world == "open" else (False,)):
                    key = rename[(relation_name(Literal(lit.predicate, lit.arguments, polarity), world),
                                  len(lit.arguments))]
                    atoms[ground_name(key, lit.arguments)] = (key, lit.arguments)
        lines.extend(f"type {name}." for name in sorted(atoms))
    else:
        for key, arity in arities.items():
            lines.append(f"type {key}({', '.join(['symbol'] * arity)}).")
        if constants:
            lines.append(" ".join(f"{DOMAIN}({constant_text(c)})." for c in sorted(constants)))
        else:
            lines.append(f"type {DOMAIN}(symbol).")
    lines.append("")
    statements: list[Statement] = []
    unreadable, inert = [], []
    for s, (sentence, kept) in enumerate(zip(sentences, readings)):
        if not kept:
            unreadable.append(s)
            lines.append(f"% [s{s + 1}] {sentence}  (unreadable: no logical form)")
            continue
        p = max(r.probability for r in kept)
        lines.append(f"% [s{s + 1}] {sentence}  (p={p:.3f})")
        wrote = False
        for k, r in enumerate(kept):
            parts = []  # a reading of several facts writes one statement each, under the same gate
            for part in r.parts():
                if world == "closed" and part.head.negated:
                    lines.append(f"%   read as {part}: a negated conclusion derives nothing under the closed world")
                else:
                    parts.append(part)
            instances = kept_instances.get((s, k), []) if ground else parts
            for inst in instances:
                text = _statement_text(inst, world, weights, rename, s, k, ground=bool(ground))
                lines.append(text)
                statements.append(Statement(sentence=s, candidate=k, reading=inst if r.also else r, text=text,
                                            line=len(lines)))
            wrote = wrote or bool(instances)
        if not wrote:
            inert.append(s)
    return TheoryProgram(text="\n".join(lines), world=world, statements=tuple(statements), arities=arities,
                         constants=tuple(sorted(constants)), unreadable=tuple(unreadable), inert=tuple(inert),
                         ground=bool(ground), atoms=atoms,
                         undefined=tuple(f"{r}({', '.join(a)})" for r, a in undefined))


def _tuples(values: list[str], n: int) -> list[tuple[str, ...]]:
    from itertools import product

    return list(product(values, repeat=n))


def _relevant_instances(readings: Sequence[Sequence[Reading]], constants: list[str],
                        world: World) -> tuple[dict[tuple[int, int], list[Reading]], tuple]:
    """Per (sentence, candidate), the ground instances that matter, simplified by the well-founded model.

    The well-founded model (the alternating fixpoint) says of every ground atom whether it is
    true, false or undefined; for a stratified program it is the usual answer, and it still
    answers when negation goes through recursion. An instance with a positive body atom that is
    false, or a negated literal on a true atom, never fires and is left out; a negated literal
    on a false atom always holds and is dropped. What is left has no negation but on undefined
    atoms, whose instances are left out too (and returned, so that a trace can say so).

    Returns:
        ``(instances, undefined atoms as (relation, args))``.
    """
    def key(lit: Literal) -> tuple:
        return (relation_name(lit, world), lit.arguments)

    closed = world == "closed"
    every = {(s, k): [i for part in r.parts() for i in _instances(part, constants) if not (closed and i.head.negated)]
             for s, rs in enumerate(readings) for k, r in enumerate(rs)}
    flat = [(key(i.head), [key(b) for b in i.body if not (closed and b.negated)],
             [key(b) for b in i.body if closed and b.negated]) for insts in every.values() for i in insts]

    def least(blocked: set) -> set:  # the least model of the rules whose negated atoms are not in `blocked`
        model: set = set()
        changed = True
        while changed:
            changed = False
            for head, pos, neg in flat:
                if head not in model and all(p in model for p in pos) and not any(n in blocked for n in neg):
                    model.add(head)
                    changed = True
        return model

    true: set = set()
    while True:
        possible = least(true)
        again = least(possible)
        if again == true:
            break
        true = again
    undefined = possible - true
    out = {}
    for where, insts in every.items():
        kept = []
        for i in insts:
            pos = [key(b) for b in i.body if not (closed and b.negated)]
            neg = [key(b) for b in i.body if closed and b.negated]
            if not all(p in possible for p in pos) or any(n in true for n in neg) or any(n in undefined for n in neg):
                continue
            kept.append(Reading(i.head, tuple(b for b in i.body if not (closed and b.negated)), i.probability))
        out[where] = kept
    return out, tuple(sorted(undefined))


def _instances(r: Reading, constants: list[str]) -> list[Reading]:
    """Every instance of a reading with its variables replaced by constants."""
    names = r.variables()
    out = []
    for values in _tuples(constants, len(names)):
        sub = dict(zip(names, values))
        out.append(Reading(r.head.bound(sub), tuple(b.bound(sub) for b in r.body), r.probability))
    return out


def _statement_text(r: Reading, world: World, weights: Weights, rename, s: int, k: int, ground: bool = False) -> str:
    if ground:
        def lit_text(lit: Literal) -> str:
            name = ground_name(rename[(relation_name(lit, world), len(lit.arguments))], lit.arguments)
            return f"\\+ {name}" if world == "closed" and lit.negated else name

        head, body = lit_text(r.head), [lit_text(b) for b in r.body]
    else:
        head = _literal_text(r.head, world, rename)
        body = [_literal_text(b, world, rename) for b in r.body]
        bound = {t for b in r.body if not (world == "closed" and b.negated) for t in b.arguments if is_variable(t)}
        free = [v for v in r.variables() if v not in bound]
        body = [f"{DOMAIN}({v})" for v in free] + body
    if weights == "gate":
        body.append(f"{GATE}({s}, {k})")
    weight = _weight_text(r.probability)
    prefix = f"{weight} :: " if weights == "probability" and float(weight) < 1.0 else ""
    return f"{prefix}{head} :- {', '.join(body)}." if body else f"{prefix}{head}."
