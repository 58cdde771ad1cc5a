"""Query-directed evaluation: evaluate only what a question needs, within limits.

``slice_program(program, relations)`` keeps the rules and facts of the relations
the given ones depend on (through rule bodies, negations and aggregates), and every
declaration: a relation the question does not reach is never evaluated, however
large or broken it is. ``directed_program`` further applies the magic-set rewriting
of ``greybox.lang.magic`` when the question is one positive atom with a constant and
the semiring lets it (its tags then agree with the original program's: boolean,
max-min, and the exact probability from every proof).

``check_goal`` rejects a question about a relation that does not exist, with the
closest known relation as a suggestion. ``QueryLimits`` holds the resource limits of the
``greybox query`` options and turns the evaluator's limit errors into hints that name
those options.

Example:
    >>> from greybox.lang.parser import parse_program
    >>> p = parse_program("e(a, b). n(0). n(Y) :- n(X), Y is X + 1. r(X) :- e(X, _).")
    >>> [type(s).__name__ + ":" + s.head.predicate for s in slice_program(p, {"r"}).statements]
    ['Clause:e', 'Clause:r']
"""

from __future__ import annotations

import contextlib
import difflib
import re
import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping

from greybox.errors import ArityError, ResourceLimitError, UnknownRelationError
from greybox.lang.ast import (
    AnnotatedDisjunction,
    Atom,
    Clause,
    Const,
    Program,
    Query,
)

__all__ = ["QueryLimits", "slice_program", "directed_program", "check_goal", "goal_relations", "suggest_relation"]

#: semirings whose answers the magic-set rewriting keeps exactly (``exact``: every proof, weighted model count)
MAGIC_SAFE = ("exact", "boolean", "max-min")


@dataclass
class QueryLimits:
    """Resource limits of one ``greybox query`` run.

    Args:
        max_tuples: tuples one relation may hold (``--max-tuples``).
        max_rounds: rounds of one recursive stratum (``--max-rounds``).
        timeout: seconds for the whole run, evaluation and exact inference (``--timeout``).
    """

    max_tuples: int = 1_000_000
    max_rounds: int = 10_000
    timeout: float | None = None
    started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def deadline(self) -> float | None:
        """The ``time.monotonic()`` time the run must end by (None: no limit)."""
        return None if self.timeout is None else self.started + self.timeout

    def evaluator(self) -> dict:
        """Keyword arguments for the reference evaluator, with the time that is left."""
        left = None if self.timeout is None else max(1e-3, self.deadline - time.monotonic())
        return {"max_tuples": self.max_tuples, "max_iterations": self.max_rounds, "time_budget_s": left}

    @contextlib.contextmanager
    def hints(self) -> Iterator[None]:
        """Re-raise a limit error with a hint that names the option to raise.

        >>> with QueryLimits(max_tuples=5).hints():
        ...     raise ResourceLimitError("relation 'n' grew past 5 tuples", relation="n")
        Traceback (most recent call last):
        ...
        greybox.errors.ResourceLimitError: relation 'n' grew past 5 tuples
        hint: a recursive rule may keep creating new values; bound it with a comparison; or raise --max-tuples (now 5)
        """
        try:
            yield
        except ResourceLimitError as err:
            hint = self._hint(err.message, err.hint)
            if hint is None:  # not one of the limits the options set: keep the evaluator's advice
                raise
            raise ResourceLimitError(err.message, relation=err.relation, file=err.file, line=err.line,
                                     column=err.column, hint=hint) from None

    def _hint(self, message: str, advice: str | None) -> str | None:
        """The evaluator's advice on the cause, with its way to raise the limit replaced by the option."""
        options = []
        if "tuples" in message:
            options.append(f"--max-tuples (now {self.max_tuples:,})")
        if "rounds" in message:
            options.append(f"--max-rounds (now {self.max_rounds:,})")
        if "time budget" in message:
            options.append(f"--timeout (now {'none' if self.timeout is None else f'{self.timeout:g} s'})")
        if not options:
            return None
        cause = re.split(r"[;,]? *(?:or )?raise ", advice or "", maxsplit=1)[0].rstrip("; ")
        if not cause:
            cause = "a recursive rule may keep creating new values; bound it with a comparison"
        return f"{cause}; or raise " + " or ".join(options)


def goal_relations(literals: Iterable) -> set[str]:
    """The relations the literals read (atoms, negations, aggregate bodies)."""
    from greybox.lang.safety import literal_atoms

    return {atom.predicate for lit in literals for atom, _ in literal_atoms(lit)}


def slice_program(program: Program, relations: Iterable[str]) -> Program:
    """The statements ``relations`` need: their rules and facts and those of everything they read.

    Declarations (domains, types, ``nn``) are all kept; ``?-`` queries are dropped. An
    annotated disjunction is kept whole when any of its heads is needed.

    Args:
        program: the whole program.
        relations: the relations asked about.

    Returns:
        The smaller program, statements in their original order.
    """
    from greybox.lang.stratify import reachable

    edges: dict[str, set[str]] = {}
    for s in program.statements:
        if isinstance(s, (Clause, AnnotatedDisjunction)):
            reads = goal_relations(s.body)
            heads = [s.head] if isinstance(s, Clause) else [h for _, h in s.heads]
            for h in heads:
                # the heads of one disjunction are chosen together
                edges.setdefault(h.predicate, set()).update(reads, (x.predicate for x in heads))
    needed = reachable(edges, relations)
    kept = []
    for s in program.statements:
        if isinstance(s, Query):
            continue
        if isinstance(s, Clause) and s.head.predicate not in needed:
            continue
        if isinstance(s, AnnotatedDisjunction) and not any(h.predicate in needed for _, h in s.heads):
            continue
        kept.append(s)
    return Program(tuple(kept), program.file)


def directed_program(program: Program, goal: Query, semiring: str, *, inputs: Mapping[str, int] | None = None):
    """The program to evaluate for ``goal`` and the query to ask it.

    Args:
        program: the whole program.
        goal: the question.
        semiring: the ``--semiring`` name; magic sets are used only for ``MAGIC_SAFE`` ones.
        inputs: relations filled at run time.

    Returns:
        ``(program, query, magic)``: the sliced (or magic-rewritten) program, the query
        over it (the adorned answer atom after a rewrite), and whether it was rewritten.
    """
    from greybox.lang.magic import magic_rewrite

    sliced = slice_program(program, goal_relations(goal.body))
    one_atom = len(goal.body) == 1 and isinstance(goal.body[0], Atom)
    if semiring in MAGIC_SAFE and one_atom and any(isinstance(a, Const) for a in goal.body[0].args):
        magic = magic_rewrite(sliced, goal.body[0], inputs=inputs or {})
        if magic.rewritten:
            return magic.program, Query((magic.answer,), goal.span), True
    return sliced, goal, False


def check_goal(relations: Mapping, literals: Iterable, *, inputs: Mapping[str, int] | None = None) -> None:
    """Reject atoms over relations the program does not have, or with the wrong arity.

    Args:
        relations: name -> ``RelationInfo`` (``ProgramInfo.relations``).
        literals: the query's literals (or evidence atoms).
        inputs: relations filled at run time (name -> arity).

    Raises:
        UnknownRelationError: an unknown relation, with the closest known one as a hint.
        ArityError: a known relation with another number of arguments.

    Example:
        >>> from greybox.lang.parser import parse_program, parse_query
        >>> from greybox.lang.analysis import analyze
        >>> info = analyze(parse_program("aunt(ann, bob). uncle(ann, cid)."))
        >>> check_goal(info.relations, parse_query("?- ant(ann, Who).", file="<query>").body)
        Traceback (most recent call last):
        ...
        greybox.errors.UnknownRelationError: <query>:1:4: unknown relation ant/2: no fact, rule or declaration defines it
        hint: did you mean aunt/2?
    """
    from greybox.lang.safety import literal_atoms

    arities = {name: rel.arity for name, rel in relations.items()}
    arities.update(inputs or {})
    for lit in literals:
        for atom, _ in literal_atoms(lit):
            span = atom.span
            where = {"file": span.file, "line": span.line or None, "column": span.column or None}
            arity = arities.get(atom.predicate)
            if arity is None:
                guess = suggest_relation(atom.predicate, len(atom.args), arities)
                raise UnknownRelationError(
                    f"unknown relation {atom.predicate}/{len(atom.args)}: no fact, rule or declaration defines it",
                    hint=f"did you mean {guess}?" if guess else
                    "the program's relations are: " + ", ".join(f"{n}/{a}" for n, a in sorted(arities.items())),
                    **where,
                )
            if arity != len(atom.args):
                raise ArityError(
                    f"{atom.predicate} has {arity} argument{'s' if arity != 1 else ''}, "
                    f"but the query gives it {len(atom.args)}",
                    hint=f"write {atom.predicate}({', '.join(f'X{i + 1}' for i in range(arity))})", **where,
                )


def suggest_relation(name: str, arity: int, known: Mapping[str, int]) -> str | None:
    """The known relation (``name/arity``) closest to ``name``, preferring the same arity.

    >>> suggest_relation("ant", 2, {"aunt": 2, "ant_hill": 1, "uncle": 2})
    'aunt/2'
    >>> suggest_relation("zzz", 1, {"aunt": 2}) is None
    True
    """
    same = sorted(n for n, a in known.items() if a == arity)
    for pool in (same, sorted(known)):
        close = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
        if close:
            return f"{close[0]}/{known[close[0]]}"
    return None

