"""Hand-built cases of the top-k proofs semiring, and checks against brute-force world enumeration."""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from greybox.errors import ConfigError
from greybox.semirings import (
    AddMult,
    Boolean,
    FactTable,
    MaxMin,
    MaxMult,
    ProofTag,
    TopKProofs,
    get_semiring,
)
from greybox.semirings.top_k import TopKAlgebra, TopKScalar

Proof = tuple[int, ...]


# -- brute force over possible worlds -------------------------------------------------------------


def worlds(probs: list[float], groups: list[int]):
    """Every world (the set of true facts) with its probability: at most one fact per group holds."""
    by_group: dict[int, list[int]] = {}
    for f, g in enumerate(groups):
        by_group.setdefault(g, []).append(f)
    choices = []
    for members in by_group.values():
        options = [(None, 1.0 - sum(probs[f] for f in members))]
        options += [(f, probs[f]) for f in members]
        choices.append(options)
    for pick in itertools.product(*choices):
        weight = 1.0
        for _, w in pick:
            weight *= w
        yield {f for f, _ in pick if f is not None}, weight


def holds(proof: Proof, world: set[int]) -> bool:
    return all((c - 1 in world) if c > 0 else (-c - 1 not in world) for c in proof)


def brute_probability(proofs: list[Proof], probs: list[float], groups: list[int]) -> float:
    return sum(w for world, w in worlds(probs, groups) if any(holds(p, world) for p in proofs))


def table(probs: list[float], groups: list[int], dtype=torch.float64) -> FactTable:
    return FactTable(torch.tensor(probs, dtype=dtype), torch.tensor(groups))


def top_k(facts: FactTable, k: int = 3) -> TopKAlgebra:
    return TopKProofs(k=k).bind(facts)


def row(alg: TopKAlgebra, i: int, tag: ProofTag) -> ProofTag:
    return alg.index(tag, torch.tensor([i]))


# -- mutual exclusion and canonical form ----------------------------------------------------------


def test_two_digits_of_one_image_cannot_both_hold() -> None:
    # digit(img, 0..9) are ten facts of one group; digit 3 and digit 5 of the same image exclude each other
    alg = top_k(table([0.1] * 10, [0] * 10))
    three, five = alg.from_facts(torch.tensor([3])), alg.from_facts(torch.tensor([5]))
    both = alg.mul(three, five)
    assert alg.to_proofs(both) == [[]]
    assert alg.is_zero(both).tolist() == [True]
    assert alg.probability(both).tolist() == [0.0]
    assert alg.to_proofs(alg.mul(three, three)) == [[(4,)]]


def test_digits_of_two_images_are_independent() -> None:
    alg = top_k(table([0.6, 0.4, 0.7, 0.3], [0, 0, 1, 1]))
    tag = alg.mul(alg.from_facts(torch.tensor([0])), alg.from_facts(torch.tensor([3])))
    assert alg.to_proofs(tag) == [[(1, 4)]]
    assert alg.probability(tag).item() == pytest.approx(0.6 * 0.3)


def test_canonical_form_drops_negatives_implied_by_a_positive_of_their_group() -> None:
    alg = top_k(table([0.2, 0.3, 0.4, 0.5], [0, 0, 0, 1]))
    # f1 implies not f0 and not f2 (same group); not f3 is of another group and stays
    tag = alg.from_proofs([[[-1, 2, -3, -4]]])
    assert alg.to_proofs(tag) == [[(-4, 2)]]
    # the same through mul: (not f0) * f1 = f1
    product = alg.mul(alg.from_proofs([[[-1]]]), alg.from_facts(torch.tensor([1])))
    assert alg.to_proofs(product) == [[(2,)]]
    # f and not f is inconsistent; repeated literals count once
    assert alg.to_proofs(alg.from_proofs([[[2, -2]], [[4, 4, -1, -1]]])) == [[], [(-1, 4)]]


def test_negatives_of_one_group_share_the_rest_of_its_mass() -> None:
    facts = table([0.2, 0.3, 0.4], [0, 0, 0])
    alg = top_k(facts)
    tag = alg.from_proofs([[[-1, -2]]])
    assert alg.proof_probabilities(tag)[0, 0].item() == pytest.approx(1 - 0.2 - 0.3)
    assert alg.probability(tag).item() == pytest.approx(0.5)


# -- ranking --------------------------------------------------------------------------------------


def test_top_k_keeps_the_k_most_probable_proofs_in_order() -> None:
    probs = [0.3, 0.9, 0.1, 0.6, 0.5]
    alg = top_k(table(probs, [0, 1, 2, 3, 4]), k=3)
    facts = alg.from_facts(torch.arange(5))
    acc = alg.zero(1)
    for i in range(5):
        acc = alg.add(acc, row(alg, i, facts))
    assert alg.to_proofs(acc) == [[(2,), (4,), (5,)]]
    assert alg.proof_probabilities(acc)[0].tolist() == pytest.approx([0.9, 0.6, 0.5])


def test_ties_are_broken_by_the_zero_padded_literal_sequences() -> None:
    alg = top_k(table([0.5, 0.5, 0.5, 1.0, 0.0], [0, 1, 2, 3, 4]), k=3)
    # equal probabilities: (1,) < (2,) < (3,); padding compares as 0, so (1, 0) < (1, 4)
    # and (-5, -1) < (-1, 0)
    tag = alg.from_proofs([[[3], [2], [1]], [[1, 4], [1], [2]], [[-1], [-1, -5]]])
    assert alg.to_proofs(tag) == [[(1,), (2,), (3,)], [(1,), (1, 4), (2,)], [(-5, -1), (-1,)]]


def test_mul_keeps_the_best_unions() -> None:
    probs = [0.9, 0.8, 0.3, 0.2]
    alg = top_k(table(probs, [0, 1, 2, 3]), k=2)
    a = alg.from_proofs([[[1], [3]]])
    b = alg.from_proofs([[[2], [4]]])
    # unions: (1,2) 0.72, (2,3) 0.24, (1,4) 0.18, (3,4) 0.06
    product = alg.mul(a, b)
    assert alg.to_proofs(product) == [[(1, 2), (2, 3)]]
    assert alg.proof_probabilities(product)[0].tolist() == pytest.approx([0.72, 0.24])


# -- negation -------------------------------------------------------------------------------------


def test_negate_a_two_proof_tag() -> None:
    # (f0 and f1) or f2  ->  not f2 and (not f0 or not f1)  =  (not f2, not f0) or (not f2, not f1)
    probs = [0.7, 0.4, 0.5]
    alg = top_k(table(probs, [0, 1, 2]), k=4)
    tag = alg.from_proofs([[[1, 2], [3]]])
    negated = alg.negate(tag)
    assert alg.to_proofs(negated) == [[(-3, -2), (-3, -1)]]  # 0.5*0.6 = 0.30 before 0.5*0.3 = 0.15
    expected = 1 - brute_probability([(1, 2), (3,)], probs, [0, 1, 2])
    assert alg.probability(negated).item() == pytest.approx(expected)
    # truncated to the single best proof
    assert top_k(table(probs, [0, 1, 2]), k=1).negate(tag).lits.tolist() == [[[-3, -2]]]


def test_negate_zero_is_one_and_one_is_zero() -> None:
    alg = top_k(table([0.5], [0]))
    assert alg.to_proofs(alg.negate(alg.zero(2))) == [[()], [()]]
    assert alg.to_proofs(alg.negate(alg.one(2))) == [[], []]


def test_negate_a_positive_literal_of_a_group() -> None:
    alg = top_k(table([0.2, 0.3], [0, 0]))
    negated = alg.negate(alg.from_facts(torch.tensor([0])))
    assert alg.to_proofs(negated) == [[(-1,)]]
    assert alg.probability(negated).item() == pytest.approx(0.8)


# -- probabilities against brute force ------------------------------------------------------------


def random_case(rng: random.Random) -> tuple[list[float], list[int], list[list[int]]]:
    n_facts = rng.randint(2, 6)
    groups = [rng.randint(0, 2) for _ in range(n_facts)]
    probs = [0.0] * n_facts
    for g in set(groups):
        members = [f for f in range(n_facts) if groups[f] == g]
        weights = [rng.uniform(0.05, 1.0) for _ in members + [None]]  # the last: "none of them"
        for f, w in zip(members, weights):
            probs[f] = w / sum(weights)
    proofs = []
    for _ in range(rng.randint(0, 5)):
        facts = rng.sample(range(n_facts), rng.randint(0, min(3, n_facts)))
        proofs.append([(f + 1) * rng.choice([1, -1]) for f in facts])
    return probs, groups, proofs


def test_probability_of_overlapping_proofs_matches_world_enumeration() -> None:
    rng = random.Random(7)
    for _ in range(40):
        probs, groups, proofs = random_case(rng)
        alg = top_k(table(probs, groups), k=8)  # keeps every proof
        tag = alg.from_proofs([proofs])
        kept = alg.to_proofs(tag)[0]
        assert alg.probability(tag).item() == pytest.approx(brute_probability(kept, probs, groups), abs=1e-12)
        # nothing was lost: the kept proofs mean the same as the raw ones
        raw = [tuple(p) for p in proofs]
        assert brute_probability(kept, probs, groups) == pytest.approx(brute_probability(raw, probs, groups))
        for p, value in zip(kept, alg.proof_probabilities(tag)[0].tolist()):
            assert value == pytest.approx(brute_probability([p], probs, groups), abs=1e-12)


def test_negate_matches_the_complement_when_nothing_is_dropped() -> None:
    rng = random.Random(11)
    for _ in range(25):
        probs, groups, proofs = random_case(rng)
        alg = top_k(table(probs, groups), k=64)
        tag = alg.from_proofs([proofs])
        expected = 1 - brute_probability(alg.to_proofs(tag)[0], probs, groups)
        assert alg.probability(alg.negate(tag)).item() == pytest.approx(expected, abs=1e-12)


def test_kept_proofs_are_the_most_probable_candidates() -> None:
    rng = random.Random(3)
    for _ in range(25):
        probs, groups, proofs = random_case(rng)
        everything = top_k(table(probs, groups), k=16).from_proofs([proofs])
        alg = top_k(table(probs, groups), k=2)
        tag = alg.from_proofs([proofs])
        best = sorted((brute_probability([p], probs, groups) for p in alg.to_proofs(everything)[0]), reverse=True)
        assert alg.proof_probabilities(tag)[0][: len(best[:2])].tolist() == pytest.approx(best[:2], abs=1e-12)


def test_probability_is_batched_over_rows_with_different_proof_counts() -> None:
    probs, groups = [0.5, 0.4, 0.3], [0, 1, 2]
    alg = top_k(table(probs, groups), k=3)
    rows = [[[1], [2, 3]], [], [[-1]], [[1], [2], [3]]]
    tag = alg.from_proofs(rows)
    expected = [brute_probability([tuple(p) for p in r], probs, groups) for r in rows]
    assert alg.probability(tag).tolist() == pytest.approx(expected)


# -- segments, batching helpers, widths ------------------------------------------------------------


def test_segment_add_over_a_large_skewed_segment() -> None:
    n_facts = 40
    probs = [0.05 + 0.9 * ((7 * i) % n_facts) / n_facts for i in range(n_facts)]
    alg = top_k(table(probs, list(range(n_facts))), k=3)
    facts = alg.from_facts(torch.arange(n_facts))
    segments = torch.tensor([0] * 30 + [2] * 10)  # 30 rows in one segment: several merge rounds
    out = alg.segment_add(facts, segments, 4)
    best = sorted(range(30), key=lambda f: -probs[f])[:3]
    best2 = sorted(range(30, 40), key=lambda f: -probs[f])[:3]
    assert alg.to_proofs(out) == [[(f + 1,) for f in best], [], [(f + 1,) for f in best2], []]


def test_cat_and_scatter_rows_pad_literal_widths() -> None:
    alg = top_k(table([0.5, 0.4, 0.3], [0, 1, 2]), k=2)
    wide = alg.from_proofs([[[1, 2, 3]]])
    narrow = alg.from_facts(torch.tensor([1]))
    assert wide.lits.shape[2] == 3 and narrow.lits.shape[2] == 1
    assert alg.to_proofs(alg.cat([narrow, wide])) == [[(2,)], [(1, 2, 3)]]
    replaced = alg.scatter_rows(alg.cat([narrow, narrow]), torch.tensor([1]), wide)
    assert alg.to_proofs(replaced) == [[(2,)], [(1, 2, 3)]]
    assert alg.scatter_rows(replaced, torch.tensor([1]), narrow).lits.shape[2] == 1  # trimmed again


def test_changed_compares_proof_sets() -> None:
    alg = top_k(table([0.5, 0.4], [0, 1]), k=2)
    a = alg.from_facts(torch.tensor([0, 1]))
    b = alg.add(a, alg.from_facts(torch.tensor([1, 1])))
    assert alg.changed(a, b).tolist() == [True, False]
    assert alg.changed(a, alg.add(a, a)).tolist() == [False, False]


def test_tags_keep_k_slots_and_canonical_widths() -> None:
    alg = top_k(table([0.5, 0.4, 0.3], [0, 1, 2]), k=3)
    tag = alg.mul(alg.from_facts(torch.tensor([0, 1])), alg.from_facts(torch.tensor([2, 2])))
    assert tag.lits.shape == (2, 3, 2) and tag.valid.shape == (2, 3)
    assert tag.lits.dtype == torch.int64 and tag.valid.dtype == torch.bool
    assert tag.lits.tolist() == [[[1, 3], [0, 0], [0, 0]], [[2, 3], [0, 0], [0, 0]]]


# -- construction ---------------------------------------------------------------------------------


def test_k_must_be_a_positive_integer() -> None:
    # a bad k is a configuration error, like every other bad setting, with the fix in its hint
    with pytest.raises(ConfigError, match=r"needs k >= 1 \(an integer\), got 0") as err:
        TopKProofs(k=0)
    assert "TopKProofs(k=3)" in str(err.value)
    with pytest.raises(ConfigError, match="got 2.5"):
        TopKProofs(k=2.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="got -1"):
        TopKScalar(k=-1)


@pytest.mark.parametrize(
    "name, cls",
    [("boolean", Boolean), ("max-min", MaxMin), ("add_mult", AddMult), ("MAX-MULT", MaxMult), ("top_k", TopKProofs)],
)
def test_get_semiring_by_name(name: str, cls: type) -> None:
    assert type(get_semiring(name)) is cls


def test_get_semiring_passes_arguments_and_reports_bad_ones() -> None:
    assert get_semiring("top-k", k=7).k == 7
    with pytest.raises(ConfigError, match="unknown semiring 'prob'") as err:
        get_semiring("prob")
    assert "boolean, max-min, add-mult, max-mult, top-k" in str(err.value)
    with pytest.raises(ConfigError, match="bad arguments for semiring 'top-k'"):
        get_semiring("top-k", k=0)
    with pytest.raises(ConfigError, match="bad arguments for semiring 'boolean'"):
        get_semiring("boolean", k=2)


# -- against a plain-Python model of the proof semantics ------------------------------------------


class ProofModel:
    """Top-k proofs as Python sets, written straight from the definition."""

    def __init__(self, probs: list[float], groups: list[int], k: int) -> None:
        self.probs, self.groups, self.k = probs, groups, k

    def canon(self, lits: set[int]) -> Proof | None:
        pos = {c - 1 for c in lits if c > 0}
        neg = {-c - 1 for c in lits if c < 0}
        pos_groups = [self.groups[f] for f in pos]
        if len(set(pos_groups)) < len(pos_groups) or pos & neg:
            return None
        neg = {f for f in neg if self.groups[f] not in pos_groups}
        return tuple(sorted([f + 1 for f in pos] + [-(f + 1) for f in neg]))

    def prob(self, proof: Proof) -> float:
        return brute_probability([proof], self.probs, self.groups)

    def keep(self, proofs: set[Proof]) -> list[Proof]:
        possible = [p for p in proofs if self.prob(p) > 0]
        return sorted(possible, key=lambda p: (-self.prob(p), p + (0,)))[: self.k]  # zero-padded order

    def add(self, a: list[Proof], b: list[Proof]) -> list[Proof]:
        return self.keep(set(a) | set(b))

    def mul(self, a: list[Proof], b: list[Proof]) -> list[Proof]:
        unions = {self.canon(set(p) | set(q)) for p in a for q in b}
        return self.keep(unions - {None})

    def negate(self, a: list[Proof]) -> list[Proof]:
        out: list[Proof] = [()]
        for proof in a:
            out = self.mul(out, self.keep({(-c,) for c in proof}))
        return out


def random_expression(rng: random.Random, n_facts: int, depth: int, rows: int):
    if depth == 0 or rng.random() < 0.25:
        return ("fact", [rng.randrange(n_facts) for _ in range(rows)])
    op = rng.choice(["add", "mul", "mul", "negate"])
    if op == "negate":
        return (op, random_expression(rng, n_facts, depth - 1, rows))
    return (op, *(random_expression(rng, n_facts, depth - 1, rows) for _ in range(2)))


def evaluate(expr, alg, model):
    """The tag of a batched expression and the model's proof list of each row."""
    if expr[0] == "fact":
        return alg.from_facts(torch.tensor(expr[1])), [[(f + 1,)] for f in expr[1]]
    args = [evaluate(e, alg, model) for e in expr[1:]]
    tag = getattr(alg, expr[0])(*(t for t, _ in args))
    return tag, [getattr(model, expr[0])(*row) for row in zip(*(m for _, m in args))]


def test_random_expressions_match_the_set_model() -> None:
    rng = random.Random(5)
    for _ in range(50):
        probs, groups, _ = random_case(rng)
        k = rng.randint(1, 4)
        alg = top_k(table(probs, groups), k=k)
        model = ProofModel(probs, groups, k)
        expr = random_expression(rng, len(probs), depth=4, rows=3)
        tag, expected = evaluate(expr, alg, model)
        assert alg.to_proofs(tag) == expected, expr
        brute = [brute_probability(e, probs, groups) for e in expected]
        assert alg.probability(tag).tolist() == pytest.approx(brute, abs=1e-12)


def test_empty_batches() -> None:
    alg = top_k(table([0.5, 0.4], [0, 1]), k=2)
    empty = alg.zero(0)
    no_facts = torch.tensor([], dtype=torch.long)
    for tag in (alg.add(empty, alg.one(0)), alg.mul(empty, alg.one(0)), alg.negate(empty), alg.from_facts(no_facts)):
        assert tag.lits.shape[:2] == (0, 2) and tag.valid.shape == (0, 2)
    assert alg.probability(empty).shape == (0,)
    assert alg.to_proofs(alg.segment_add(empty, torch.zeros(0, dtype=torch.long), 2)) == [[], []]
    assert alg.to_proofs(alg.segment_mul(empty, torch.zeros(0, dtype=torch.long), 1)) == [[()]]


def test_impossible_proofs_are_dropped_unless_asked() -> None:
    facts = table([1.0, 0.0, 0.4, 0.6], [0, 1, 2, 2])  # a certain fact, an impossible one, a full group
    alg = top_k(facts)
    assert alg.to_proofs(alg.from_facts(torch.tensor([0, 1]))) == [[(1,)], []]
    assert alg.to_proofs(alg.negate(alg.from_facts(torch.tensor([0])))) == [[]]  # not a certain fact
    assert alg.to_proofs(alg.from_proofs([[[-3, -4]], [[-3]]])) == [[], [(-3,)]]  # 1 - 0.4 - 0.6 = 0
    keep = TopKProofs(k=3, drop_impossible=False).bind(facts)
    assert keep.to_proofs(keep.from_facts(torch.tensor([1]))) == [[(2,)]]
    assert keep.to_proofs(keep.negate(keep.from_facts(torch.tensor([0])))) == [[(-1,)]]
    assert repr(TopKProofs(k=3, drop_impossible=False)) == "TopKProofs(k=3, drop_impossible=False)"


def test_negate_truncates_each_clause_to_k() -> None:
    # not (f0 and f1 and f2) with k = 2: the clause keeps its two most probable proofs, not f2 and not f1
    alg = top_k(table([0.9, 0.7, 0.5], [0, 1, 2]), k=2)
    tag = alg.from_proofs([[[1, 2, 3]]])
    assert alg.to_proofs(alg.negate(tag)) == [[(-3,), (-2,)]]
