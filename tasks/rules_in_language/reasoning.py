"""Answering a question about a theory read from English, exactly, with the reference evaluator.

The read theory is a :class:`~greybox.neural.reading_program.TheoryProgram`; the question is
read the same way (one fact, possibly negated). The verdict is decided on the readings kept (a
boolean evaluation: each kept reading holds), at any depth; its probability is the best
derivation's (max-mult over the readings' probabilities).

* closed world (RuleTaker): a statement is True when derived; "not p" is True when ``p`` is not.
* open world (ProofWriter): True when derived, False when its negation (``neg_p``) is, Unknown
  otherwise. A theory that derives both some ``p`` and ``neg_p`` gets the verdict
  ``contradiction``, with the atoms that clash: it is never answered as if consistent.

Example:
    >>> from greybox.neural.logical_forms import Literal, Reading
    >>> from greybox.neural.reading_program import theory_program
    >>> fact = lambda p, a, neg=False: Reading(Literal(p, (a,), negated=neg))
    >>> rule = Reading(Literal("red", ("X",)), (Literal("big", ("X",)), Literal("cold", ("X",), negated=True)))
    >>> cwa = theory_program(["Bob is big.", "Big things that are not cold are red."], [[fact("big", "bob")], [rule]])
    >>> solve(cwa, fact("red", "bob")).verdict, solve(cwa, fact("red", "bob", True)).verdict
    ('true', 'false')
    >>> owa = theory_program(["Bob is big.", "Bob is not big."], [[fact("big", "bob")], [fact("big", "bob", True)]],
    ...                      world="open")
    >>> answer = solve(owa, fact("red", "bob"))
    >>> answer.verdict, answer.contradictions
    ('contradiction', ('big(bob)',))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from greybox.neural.logical_forms import Literal, Reading, is_variable
from greybox.neural.reading_program import TheoryProgram, relation_name

__all__ = ["Verdict", "VERDICTS", "Answer", "solve", "evaluated", "question_atom"]

Verdict = str
#: the verdicts: the three answers, and a theory that contradicts itself
VERDICTS = ("true", "false", "unknown", "contradiction")


@dataclass(frozen=True)
class Answer:
    """The answer to one question.

    Attributes:
        verdict: ``true``, ``false``, ``unknown`` (open world only) or ``contradiction``.
        probability: the verdict's probability (max-mult over the readings' probabilities).
        scores: probability of each answer class ``(true, false, unknown)``.
        atom: the atom asked about, as the program writes it (``red(bob)``; ``neg_red(bob)``).
        contradictions: atoms derived together with their negation (open world).
        notes: remarks, e.g. a constant the theory never names.
    """

    verdict: Verdict
    probability: float
    scores: tuple[float, float, float]
    atom: str
    contradictions: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


@lru_cache(maxsize=256)
def _models(text: str):
    from greybox.engine.reference import evaluate
    from greybox.lang.analysis import analyze
    from greybox.lang.parser import parse_program

    info = analyze(parse_program(text))
    exact = evaluate(info, semiring="boolean")
    weighted = " :: " in text
    return info, exact, evaluate(info, semiring="max-mult") if weighted else None


def evaluated(program: TheoryProgram):
    """``(info, boolean model, max-mult model or None when every reading is certain)`` of a program (cached)."""
    return _models(program.text)


def question_atom(question: Literal, program: TheoryProgram, positive: bool = True) -> tuple[str, tuple[str, ...]]:
    """``(relation, arguments)`` of the atom a question asks about (its positive atom, or with ``positive=False``
    its open-world negation ``neg_p``), named as in ``program``."""
    lit = Literal(question.predicate, question.arguments, negated=not positive)
    name = relation_name(lit, program.world)
    if program.arities.get(name) not in (None, len(lit.arguments)):
        name = f"{name}_{len(lit.arguments)}"
    if program.ground and not any(is_variable(t) for t in lit.arguments):
        return program.relation_of(name, lit.arguments)
    return name, tuple(question.arguments)


def _atom_text(relation: str, args: tuple) -> str:
    return f"{relation}({', '.join(args)})" if args else relation


def solve(program: TheoryProgram, question: Reading | Literal) -> Answer:
    """The verdict on ``question`` (a fact reading or a literal) over ``program``.

    Args:
        program: the theory's program (``weights="probability"`` or ``"none"``).
        question: the statement to judge; ``negated`` for "X is not Y".

    Returns:
        The ``Answer``.
    """
    lit = question.head if isinstance(question, Reading) else question
    _, exact, weighted = evaluated(program)
    notes = []
    if any(is_variable(t) for t in lit.arguments):
        notes.append(f"the question {lit} has a variable: read as 'something ...'")
    missing = [t for t in lit.arguments if not is_variable(t) and t not in program.constants]
    if missing:
        notes.append(f"the theory never names {', '.join(missing)}")
    pos = question_atom(lit, program, positive=True)

    def holds(atom) -> bool:
        rel, args = atom
        tuples = exact.relations.get(rel, {})
        if any(is_variable(t) for t in args):
            return any(all(is_variable(a) or a == v for a, v in zip(args, t)) for t in tuples)
        return tuple(args) in tuples

    def prob(atom) -> float:
        if not holds(atom):
            return 0.0
        if weighted is None:
            return 1.0
        return weighted.probability(*atom) if not any(is_variable(t) for t in atom[1]) else 1.0

    if program.world == "closed":
        derived, p = holds(pos), prob(pos)
        p_true = (1.0 - p) if lit.negated else p
        truth = (not derived) if lit.negated else derived
        verdict = "true" if truth else "false"
        return Answer(verdict, p_true if truth else 1.0 - p_true, (p_true, 1.0 - p_true, 0.0),
                      program.atom_text(*pos), (), tuple(notes))
    neg = question_atom(lit, program, positive=False)
    asked, other = (neg, pos) if lit.negated else (pos, neg)
    clashes = _contradictions(program, exact)
    p_t, p_f = prob(asked), prob(other)
    p_u = (1.0 - p_t) * (1.0 - p_f)
    scores = (p_t, p_f, p_u)
    if clashes:
        return Answer("contradiction", max(scores), scores, program.atom_text(*asked), clashes,
                      (*notes, f"the theory derives both {clashes[0]} and its negation"))
    t, f = holds(asked), holds(other)
    verdict = "true" if t else "false" if f else "unknown"
    return Answer(verdict, scores[("true", "false", "unknown").index(verdict)], scores, program.atom_text(*asked), (),
                  tuple(notes))


def _contradictions(program: TheoryProgram, model) -> tuple[str, ...]:
    out = []
    if program.ground:
        derived = {n for n, t in model.relations.items() if t}
        for name in sorted(derived):
            rel, args = program.atoms.get(name, (name, ()))
            if not rel.startswith("neg_") and program.relation_of(f"neg_{rel}", args)[0] in derived:
                out.append(program.atom_text(name))
        return tuple(out)
    for name in program.arities:
        if name.startswith("neg_"):
            continue
        both = set(model.relations.get(name, {})) & set(model.relations.get(f"neg_{name}", {}))
        out.extend(_atom_text(name, t) for t in sorted(both))
    return tuple(out)
