"""Integers are exactly 64-bit in both evaluators: the same values, the same overflow errors.

The tensor engine decides overflow in int64 itself (``greybox.engine.expr``); these
tests compare it with Python's exact integers (``greybox.engine.int64``) on the values
at the edges of the range, and run the same programs through both evaluators.
"""

from __future__ import annotations

import random

import pytest
import torch

from greybox.engine import int64
from greybox.engine.engine import Engine, Limits
from greybox.engine.expr import apply_binop, negate, segment_sum
from greybox.engine.reference import evaluate
from greybox.engine.relation import RowEncoder, row_keys
from greybox.errors import ArithmeticOverflowError, GreyboxError, ResourceLimitError
from greybox.lang.analysis import analyze
from greybox.lang.parser import parse_program
from greybox.semirings import Boolean

MIN, MAX = -(2**63), 2**63 - 1
#: values where int64 arithmetic goes wrong if anything does (3037000499 ** 2 < 2**63 < 3037000500 ** 2)
EDGES = [MIN, MIN + 1, MIN + 2, -(2**62) - 1, -(2**62), -(2**62) + 1, -(2**32) - 1, -(2**32), -(2**31),
         -3037000500, -3037000499, -3, -2, -1, 0, 1, 2, 3, 3037000499, 3037000500, 2**31, 2**32,
         2**62 - 1, 2**62, 2**62 + 1, MAX - 1, MAX]
OPS = ["+", "-", "*", "//", "mod", "min", "max"]


def _exact(fn):
    try:
        return fn()
    except ArithmeticOverflowError:
        return "overflow"
    except ZeroDivisionError:
        return "undefined"


def _tensor(op: str, a: int, b: int):
    def run():
        v, ok = apply_binop(op, torch.tensor([a]), torch.tensor([b]), torch.ones(1, dtype=torch.bool))
        return int(v[0]) if bool(ok[0]) else "undefined"

    return _exact(run)


@pytest.mark.parametrize("op", OPS)
def test_tensor_arithmetic_is_python_arithmetic_or_overflow(op: str) -> None:
    values = EDGES + [random.Random(op).randrange(MIN, MAX + 1) for _ in range(8)]
    for a in values:
        for b in values:
            assert _tensor(op, a, b) == _exact(lambda: int64.binop(op, a, b)), (a, op, b)


def test_tensor_negation_and_sums_are_exact() -> None:
    one = torch.ones(1, dtype=torch.bool)
    for a in EDGES:
        assert _exact(lambda: int(negate(torch.tensor([a]), one)[0])) == _exact(lambda: int64.negate(a))
    rng = random.Random(0)
    for _ in range(300):
        vals = [rng.choice(EDGES) for _ in range(rng.randint(1, 6))]
        got = _exact(lambda: int(segment_sum(torch.tensor(vals), torch.zeros(len(vals), dtype=torch.int64), 1)[0]))
        assert got == _exact(lambda: int64.total(vals)), vals


def test_overflow_outside_the_live_rows_is_not_an_error() -> None:
    a, b = torch.tensor([MAX, 1]), torch.tensor([1, 1])
    v, ok = apply_binop("+", a, b, torch.tensor([False, True]))
    assert v[1] == 2 and ok.tolist() == [False, True]
    with pytest.raises(ArithmeticOverflowError, match=r"9223372036854775807 \+ 1 = 9223372036854775808"):
        apply_binop("+", a, b, torch.ones(2, dtype=torch.bool))


def test_row_keys_and_encoders_are_exact_at_the_limits() -> None:
    rows = torch.tensor([[0, MIN], [0, MAX], [0, 0], [0, MIN]])
    (keys,) = row_keys(rows)
    assert keys[0] == keys[3] and len(set(keys.tolist())) == 3
    enc = RowEncoder.fit(torch.tensor([[0, MAX - 9]]))
    assert enc is not None  # fitted with room for values up to MAX - 8, never wrapping past MAX
    assert enc.fits(torch.tensor([[0, MAX - 8]])) and not enc.fits(torch.tensor([[0, MAX]]))
    assert not enc.fits(torch.tensor([[0, MIN]]))  # MIN - lo wraps into range: compared, not subtracted


def _both(src: str, relation: str, **limits):
    """The tuples of ``relation`` from the reference and from the engine (sparse and auto)."""
    info = analyze(parse_program(src))
    ref = evaluate(info, **limits).tuples(relation)
    kw = {"max_iterations": limits.get("max_iterations", 10_000), "max_tuples": limits.get("max_tuples", 1_000_000)}
    out = [ref]
    for representation in ("sparse", "auto"):
        res = Engine(info, limits=Limits(**kw), representation=representation).run(semiring=Boolean())
        out.append(sorted(args for _, args, _ in res.answers(relation)))
    return out


def _both_raise(src: str, error: type[GreyboxError], match: str, **limits) -> list[GreyboxError]:
    info = analyze(parse_program(src, file="t.dl"))
    errors = []
    with pytest.raises(error, match=match) as caught:
        evaluate(info, **limits)
    errors.append(caught.value)
    kw = {"max_iterations": limits.get("max_iterations", 10_000), "max_tuples": limits.get("max_tuples", 1_000_000)}
    for representation in ("sparse", "auto"):
        with pytest.raises(error, match=match) as caught:
            Engine(info, limits=Limits(**kw), representation=representation).run(semiring=Boolean())
        errors.append(caught.value)
    assert len({(e.file, e.line) for e in errors}) == 1
    return errors


@pytest.mark.parametrize(
    ("rule", "shown"),
    [
        ("Y is X * 4", r"4611686018427387904 \* 4 = 18446744073709551616"),
        ("Y is X + X", r"4611686018427387904 \+ 4611686018427387904 = 9223372036854775808"),
        ("Y is -X - X - 1", r"-9223372036854775808 - 1 = -9223372036854775809"),
        ("Y is X - (0 - X - X)", r"4611686018427387904 - -9223372036854775808 = 13835058055282163712"),
        ("Y is (X * -2) // -1", r"-9223372036854775808 // -1 = 9223372036854775808"),
        ("Y is -(X * -2)", r"-\(-9223372036854775808\) = 9223372036854775808"),
        ("X * 4 > 0, Y = 1", r"4611686018427387904 \* 4"),
    ],
    ids=["mul", "add", "sub", "sub-negative", "floordiv", "neg", "comparison"],
)
def test_both_evaluators_raise_the_same_located_overflow(rule: str, shown: str) -> None:
    src = f"v(4611686018427387904). v(3).\nm(X, Y) :- v(X), {rule}.\n"
    errors = _both_raise(src, ArithmeticOverflowError, shown)
    for err in errors:
        assert (err.file, err.line) == ("t.dl", 2)
        assert "in the rule for 'm'" in err.message and "64-bit" in err.hint


def test_min_max_and_mod_at_the_limits_do_not_overflow() -> None:
    src = (f"v({MIN}). v({MAX}). v(-1).\n"
           "m(X, Y, A, B, C) :- v(X), v(Y), A is min(X, Y), B is max(X, Y), C is X mod Y.")
    ref, sparse, auto = _both(src, "m")
    assert ref == sparse == auto and len(ref) == 9
    assert (MIN, -1, MIN, -1, 0) in ref  # -2**63 mod -1, which traps in hardware, is 0


def test_sum_is_exact_and_only_its_total_may_overflow() -> None:
    ok = f"v(1, {2**62}). v(2, {2**62}). v(3, {-(2**62)}). s(S) :- S = sum{{V, X : v(X, V)}}."
    assert _both(ok, "s") == [[(2**62,)]] * 3  # the first two make 2**63 on the way
    over = f"v(1, {2**62}). v(2, {2**62}). s(S) :- S = sum{{V, X : v(X, V)}}."
    _both_raise(over, ArithmeticOverflowError, r"sum\{\.\.\.\} of 2 values = 9223372036854775808")


def test_left_to_right_an_undefined_part_stops_the_expression() -> None:
    """``(X // Z) + X * X``: where ``X // 0`` fails, ``X * X`` is never computed, in both evaluators."""
    src = f"v({2**62}, 0). m(Y) :- v(X, Z), Y is X // Z + X * X."
    assert _both(src, "m") == [[], [], []]
    _both_raise(f"v({2**62}, 1). m(Y) :- v(X, Z), Y is X // Z + X * X.", ArithmeticOverflowError, r"\*")


def test_division_by_zero_fails_the_binding_in_both_evaluators() -> None:
    src = ("d(0). d(1). d(-2). e(10).\n"
           "q(X, Y) :- d(X), e(E), Y is E // X.\n"
           "r(X, Y) :- d(X), e(E), Y = E mod X.\n"
           "c(X) :- d(X), e(E), E // X > 0.\n"
           "s(X) :- d(X), X = X // X.\n"
           "t(X) :- d(X), X // 0 = X // 0.\n")
    for relation, want in [("q", [(-2, -5), (1, 10)]), ("r", [(-2, 0), (1, 0)]), ("c", [(1,)]), ("s", [(1,)]),
                           ("t", [])]:
        assert _both(src, relation) == [want] * 3


def test_squaring_recursion_ends_with_the_overflow() -> None:
    _both_raise("n(2). n(X) :- n(Y), X is Y * Y.", ArithmeticOverflowError,
                r"4294967296 \* 4294967296 = 18446744073709551616 .*in the rule for 'n'")


def test_counting_recursion_ends_at_the_round_limit() -> None:
    _both_raise("n(0). n(X) :- n(Y), X is Y + 1.", ResourceLimitError,
                r"relation 'n' was still changing after 30 rounds", max_iterations=30)


def test_a_join_past_max_tuples_is_refused_before_it_is_made() -> None:
    src = "\n".join(" ".join(f"r{i}({j})." for j in range(10)) for i in range(1, 4))
    src += "\nq(A, B, C) :- r1(A), r2(B), r3(C).\n"
    errors = _both_raise(src, ResourceLimitError, r"the join with 'r3' would make 1,000 bindings, more than "
                         r"the limit of 999 \(max_tuples\) \(in the rule for 'q'\)", max_tuples=999)
    assert all(e.line == 4 and "max_tuples=N" in e.hint for e in errors)
    assert [len(t) for t in _both(src, "q", max_tuples=1000)] == [1000] * 3  # exactly the limit is allowed


def test_the_body_of_an_aggregate_is_bounded_too() -> None:
    src = ("g(1). g(2). g(3). v(1, 5). v(2, 6). v(3, 7). v(3, 8).\n"
           "s(G, H, T) :- g(H), T = count{V : v(G, V)}.\n")
    _both_raise(src, ResourceLimitError, r"the join with 'v' would make 4 bindings", max_tuples=3)


def test_dense_evaluation_that_could_pass_max_tuples_goes_sparse() -> None:
    src = "\n".join(" ".join(f"r{i}({j})." for j in range(10)) for i in range(1, 4))
    src += "\nq(A, B, C) :- r1(A), r2(B), r3(C).\n"
    with pytest.raises(GreyboxError, match=r"1 samples of up to 1,000 cells each could pass max_tuples=999"):
        Engine(src, limits=Limits(max_tuples=999), representation="dense").run(semiring=Boolean())
    res = Engine(src, limits=Limits(max_tuples=1000), representation="dense").run(semiring=Boolean())
    assert len(res.answers("q")) == 1000


def test_facts_outside_the_64_bit_range_are_refused_by_both_evaluators(tmp_path) -> None:
    from greybox.engine.reference import all_facts
    from greybox.errors import TypeCheckError
    from greybox.kb.knowledge_base import KnowledgeBase
    from greybox.lang.facts import InputFact

    info = analyze(parse_program("type v(int). w(X) :- v(X)."), inputs={"v": 1})
    fact = InputFact(id=0, relation="v", args=(2**63,), probability=None, group=0)
    with pytest.raises(TypeCheckError, match="the fact v\\(9223372036854775808\\) holds the integer"):
        evaluate(info, facts=all_facts(info, [fact]))
    # a data file may hold any JSON integer
    rules = tmp_path / "k.dl"
    rules.write_text("type num(int, symbol).\nq(X) :- num(X, _).\n")
    data = tmp_path / "k.jsonl"
    data.write_text('{"head": 100000000000000000000000, "relation": "num", "tail": "x"}\n')
    kb = KnowledgeBase.load([rules, data])
    for run in (lambda: evaluate(kb.info), lambda: Engine(kb.info)):
        with pytest.raises(TypeCheckError, match="holds the integer 100000000000000000000000") as caught:
            run()
        assert caught.value.file == str(data) and caught.value.line == 1
