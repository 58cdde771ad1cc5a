"""Hypothesis strategies for random, syntactically valid greybox ASTs.

Every AST drawn here can be printed and read back unchanged, so the strategies
exercise the whole concrete syntax: every statement kind, weights, negative and
64-bit integers, quoted text with any character, zero-arity atoms, arithmetic,
comparisons, aggregates, and names that look like keywords (``is``, ``not``,
``mod``, ``count``, ``domain``, ``type``, ``nn``, ``t``, ...) in every position
where a name may appear. They do not promise that a program is *meaningful*
(safe, well-typed, stratified): that is for the analysis strategies.

Example:
    >>> from hypothesis import given
    >>> from greybox.lang import parse_program, format_program
    >>> @given(programs())
    ... def round_trip(p):
    ...     assert parse_program(format_program(p)) == p
"""

from __future__ import annotations

import string

from hypothesis import strategies as st

from greybox.lang.ast import (
    AGGREGATE_OPS,
    ARITHMETIC_OPS,
    COMPARISON_OPS,
    Aggregate,
    AnnotatedDisjunction,
    Assign,
    Atom,
    BinOp,
    BuiltinDomain,
    Clause,
    Comparison,
    Const,
    DomainDeclaration,
    Learnable,
    Neg,
    Negation,
    NeuralDeclaration,
    Probability,
    Program,
    Query,
    RangeDomain,
    SetDomain,
    TypeDeclaration,
    Var,
)

__all__ = [
    "EVERY_CONSTRUCT",
    "KEYWORD_NAMES",
    "names",
    "variable_names",
    "variables",
    "predicate_names",
    "constants",
    "terms",
    "atoms",
    "expressions",
    "literals",
    "probabilities",
    "weights",
    "domains",
    "clauses",
    "annotated_disjunctions",
    "neural_declarations",
    "domain_declarations",
    "type_declarations",
    "queries",
    "statements",
    "programs",
]

#: Words with a meaning somewhere in the syntax; all must still work as names.
KEYWORD_NAMES = (
    "is", "not", "mod", "count", "sum", "min", "max", "domain", "type", "nn", "t", "int", "symbol",
)  # fmt: skip

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

#: Hand-written source that uses every construct of the syntax at least once.
EVERY_CONSTRUCT = """
domain person = symbol.
domain digit = 0..9.
domain colour = {red, green, 'dark blue', -1}.
type parent(person, person).
parent(ann, bob).
0.7 :: parent(bob, cid).
t(0.5) :: likes(X, Y) :- friend(X, Y).
t(_) :: fond(X) :- likes(X, _).
0.9 :: trusted(X) :- vetted(X).
0.2 :: heads(c1) ; 0.8 :: tails(c1).
0.3 :: red(C) ; 0.7 :: blue(C) :- ball(C).
nn(digit_net, [X], Y, [0..9]) :: digit(X, Y).
nn(colour_net, [I, J], C, [red, green, 'dark blue']) :: colour(I, J, C).
grandparent(X, Z) :- parent(X, Y), parent(Y, Z).
orphan(X) :- person(X), \\+ parent(_, X), not adopted(X).
older(X, Y) :- age(X, A), age(Y, B), A > B, A =< 120, B >= 0, A \\= B, X != Y, A =:= A, B =\\= A, A < 200.
next(I, J) :- pos(I), J is I + 1, K is -J * (I - 2) // 3 mod 4, L is min(I, max(J, -K)), M is -(5).
n_children(P, N) :- person(P), N = count{C : parent(P, C)}.
total(S) :- S = sum{V, X : score(X, V)}.
best(M) :- M = max{V : score(_, V)}, W = min{V, X : score(X, V), \\+ bad(X)}.
rain.
wet :- rain.
?- grandparent(ann, Z).
?- n_children(P, N), N > 1.
"""

_IDENT_CHARS = string.ascii_letters + string.digits + "_"


def _identifier(first: str, max_rest: int = 6) -> st.SearchStrategy[str]:
    return st.builds(
        lambda a, b: a + b, st.sampled_from(first), st.text(alphabet=_IDENT_CHARS, max_size=max_rest)
    )


def names() -> st.SearchStrategy[str]:
    """Lowercase identifiers, often one of the keyword-like words."""
    return st.one_of(_identifier(string.ascii_lowercase), st.sampled_from(KEYWORD_NAMES))


def variable_names() -> st.SearchStrategy[str]:
    """``X``, ``_``, ``_Tmp``, ``Abc_1``, ..."""
    return st.one_of(st.just("_"), _identifier(string.ascii_uppercase + "_", 4))


def variables() -> st.SearchStrategy[Var]:
    return st.builds(Var, variable_names())


def predicate_names() -> st.SearchStrategy[str]:
    """Mostly identifiers; sometimes text that has to be quoted (``'my pred'``)."""
    return st.one_of(names(), names(), names(), st.text(max_size=6))


def _ints() -> st.SearchStrategy[int]:
    return st.one_of(st.integers(-20, 20), st.integers(INT64_MIN, INT64_MAX))


def constants() -> st.SearchStrategy[Const]:
    """Integers (negative and 64-bit too), names, and arbitrary text (quoted when printed)."""
    return st.builds(Const, st.one_of(_ints(), names(), st.text(max_size=8)))


def terms() -> st.SearchStrategy:
    return st.one_of(variables(), constants())


def atoms(max_arity: int = 3) -> st.SearchStrategy[Atom]:
    return st.builds(
        Atom, predicate_names(), st.lists(terms(), max_size=max_arity).map(tuple)
    )


def expressions() -> st.SearchStrategy:
    """Arithmetic over variables and constants: + - * // mod min max and unary minus."""

    def extend(children: st.SearchStrategy) -> st.SearchStrategy:
        return st.one_of(
            st.builds(BinOp, st.sampled_from(ARITHMETIC_OPS), children, children),
            st.builds(Neg, children),
        )

    return st.recursive(terms(), extend, max_leaves=4)


def _simple_literals() -> st.SearchStrategy:
    return st.one_of(
        atoms(),
        st.builds(Negation, atoms()),
        st.builds(Comparison, st.sampled_from(COMPARISON_OPS), expressions(), expressions()),
        st.builds(Assign, variables(), expressions()),
    )


def _aggregates(body: st.SearchStrategy) -> st.SearchStrategy[Aggregate]:
    @st.composite
    def build(draw: st.DrawFn) -> Aggregate:
        op = draw(st.sampled_from(AGGREGATE_OPS))
        # sum, min and max aggregate their first variable, so they need one
        vs = draw(st.lists(variables(), min_size=0 if op == "count" else 1, max_size=3))
        return Aggregate(draw(variables()), op, tuple(vs), tuple(draw(st.lists(body, min_size=1, max_size=2))))

    return build()


def literals() -> st.SearchStrategy:
    """Atoms, negations, comparisons, ``is`` and aggregates (nested at most twice)."""
    return st.recursive(_simple_literals(), _aggregates, max_leaves=3)


def _bodies(min_size: int = 0) -> st.SearchStrategy[tuple]:
    return st.lists(literals(), min_size=min_size, max_size=3).map(tuple)


def probabilities() -> st.SearchStrategy[float]:
    """Any float in [0, 1], including subnormals, 0.0 and 1.0."""
    return st.floats(0.0, 1.0, allow_nan=False)


def weights() -> st.SearchStrategy:
    return st.one_of(
        st.builds(Probability, probabilities()),
        st.builds(Learnable, st.none() | probabilities()),
    )


def domains() -> st.SearchStrategy:
    """Right-hand sides of ``domain`` declarations."""
    return st.one_of(
        st.builds(RangeDomain, _ints(), _ints()),
        st.builds(SetDomain, st.lists(constants(), max_size=4).map(tuple)),
        st.builds(BuiltinDomain, st.sampled_from(("int", "symbol"))),
    )


def clauses() -> st.SearchStrategy[Clause]:
    return st.builds(Clause, atoms(), _bodies(), st.none() | weights())


def annotated_disjunctions() -> st.SearchStrategy[AnnotatedDisjunction]:
    heads = st.lists(st.tuples(st.builds(Probability, probabilities()), atoms()), min_size=2, max_size=4)
    return st.builds(AnnotatedDisjunction, heads.map(tuple), _bodies())


def neural_declarations() -> st.SearchStrategy[NeuralDeclaration]:
    classes = st.one_of(
        st.builds(RangeDomain, _ints(), _ints()),
        st.builds(SetDomain, st.lists(constants(), max_size=4).map(tuple)),
    )
    return st.builds(
        NeuralDeclaration,
        st.one_of(names(), st.text(max_size=6)),
        st.lists(variables(), max_size=3).map(tuple),
        variables(),
        classes,
        atoms(),
    )


def domain_declarations() -> st.SearchStrategy[DomainDeclaration]:
    return st.builds(DomainDeclaration, names(), domains())


def type_declarations() -> st.SearchStrategy[TypeDeclaration]:
    domain_names = st.one_of(st.sampled_from(("int", "symbol")), names(), st.text(max_size=5))
    return st.builds(TypeDeclaration, predicate_names(), st.lists(domain_names, max_size=3).map(tuple))


def queries() -> st.SearchStrategy[Query]:
    return st.builds(Query, _bodies(min_size=1))


def statements() -> st.SearchStrategy:
    """Any statement kind, rules and facts most often."""
    return st.one_of(
        clauses(),
        annotated_disjunctions(),
        neural_declarations(),
        domain_declarations(),
        type_declarations(),
        queries(),
    )


def programs(max_size: int = 5) -> st.SearchStrategy[Program]:
    return st.builds(Program, st.lists(statements(), max_size=max_size).map(tuple))
