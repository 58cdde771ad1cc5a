"""Max-mult forward chaining over binary relations, as dense tensors.

The rule learner evaluates thousands of weighted candidate rules
``w :: r3(X, Z) :- r1(X, Y), r2(Y, Z)`` on batches of small graphs. On a few
people per graph that is fastest as dense tensors: the facts of a batch are
``F (B, P, P, R)``, ``F[b, x, y, r]`` the best-proof probability of ``r(x, y)`` in
graph ``b``, and the unary facts are ``U (B, P, V + 1)`` (the last column is a
constant 1: "x is a person"). The semantics are the engine's max-mult semiring:
a proof multiplies its facts and rule weights, a tuple keeps its best proof. A test
checks that :func:`forward_chain` and ``greybox.engine.Engine(..., MaxMult())`` agree.

Why this is not ``greybox.engine.Engine``: the learner scores every candidate chain rule
``r3(X, Z) :- r1(X, Y), r2(Y, Z)`` of ``R`` relations at once, ``R³`` rules each with its own
learnable weight, in one batched contraction over ``(B, P, P, R·R, R)`` (with a random
tie-break per step, see :func:`compose`). The engine would compile each candidate as a rule
of its own and evaluate them one by one; it stays the check of this code (that test)
and the evaluator of the rules that are kept.

Besides the chain rules, a :class:`ChainRuleScorer` compiles the background rules of
these shapes (``p ::`` weights allowed), enough for gender and inverse rules:

* ``u(Y) :- r(_, Y).`` and ``u(X) :- r(X, _).``  (a unary fact from a binary one);
* ``r2(Y, X) :- r1(X, Y), u(X).`` (swap), ``r2(X, Y) :- r1(X, Y), u(Y).`` (copy),
  the guard ``u`` optional and on either argument;
* ``r3(X, Z) :- r1(X, Y), r2(Y, Z)[, X \\= Z].`` (fixed chain rules).

Example:
    >>> from greybox.lang.parser import parse_program
    >>> prog = parse_program('''
    ...     domain person = symbol.
    ...     type father(person, person). type son(person, person). type grandfather(person, person).
    ...     type male(person).
    ...     male(Y) :- father(_, Y).
    ...     son(Y, X) :- father(X, Y), male(X).
    ...     grandfather(X, Z) :- father(X, Y), father(Y, Z).
    ... ''')
    >>> dense = ChainRuleScorer.compile(prog)
    >>> dense.relations, dense.unaries
    (('father', 'son', 'grandfather'), ('male',))
    >>> facts = torch.zeros(1, 3, 3, 3); facts[0, 0, 1, 0] = facts[0, 1, 2, 0] = 1.0   # father(0, 1), father(1, 2)
    >>> labels = torch.zeros(1, 3, 2); labels[..., -1] = 1.0                           # three people
    >>> out, _ = forward_chain(dense, facts, labels)
    >>> out[0, 0, 2].tolist(), out[0, 2, 1].tolist()            # grandfather(0, 2); son(2, 1) as 1 is male
    ([0.0, 0.0, 1.0], [0.0, 1.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from greybox.errors import ConfigError, ResourceLimitError
from greybox.lang.analysis import analyze
from greybox.lang.ast import Atom, Clause, DomainDeclaration, Learnable, Probability, Program, TypeDeclaration, Var

from .chain_rules import as_chain_rule

__all__ = ["ChainRuleScorer", "forward_chain", "answer_chain", "compose", "compose_pairs", "ELEMENTS_PER_CHUNK"]

#: the most elements of one temporary ``(b, P, P, R*R, R)`` score tensor in :func:`compose`
ELEMENTS_PER_CHUNK = 1 << 24

_SHAPES_HINT = ("the dense learner compiles background rules of the forms u(Y) :- r(_, Y); "
                "r2(Y, X) :- r1(X, Y), u(X); r3(X, Z) :- r1(X, Y), r2(Y, Z) (with an optional X \\= Z); "
                "move other statements out of the background")


@dataclass(frozen=True)
class ChainRuleScorer:
    """Background rules over binary and unary relations, compiled to weight tensors.

    Attributes:
        relations: the binary relations, in tensor order (``R``).
        unaries: the unary relations (``V``); unary tensors have ``V + 1`` columns, the
            last one the constant "is a person".
        unary_from: ``(2, R, V)``: ``[0, r, u]`` weight of ``u(X) :- r(X, _)``, ``[1, r, u]``
            of ``u(Y) :- r(_, Y)``.
        copy, swap: ``(2, R, V + 1, R)``: ``[g, r1, u, r2]`` weight of ``r2(X, Y) :- r1(X, Y), u(G)``
            (copy) or ``r2(Y, X) :- r1(X, Y), u(G)`` (swap), ``G`` = ``X`` for ``g = 0`` and ``Y``
            for ``g = 1``; ``u = V``: no guard.
        chain, chain_distinct: ``(R, R, R)``: ``[r1, r2, r3]`` weight of the fixed chain rules
            ``r3(X, Z) :- r1(X, Y), r2(Y, Z)``, without and with ``X \\= Z``.
        distinct_heads: ``(R,)`` bool: learned rules with this head require ``X \\= Z``.
    """

    relations: tuple[str, ...]
    unaries: tuple[str, ...]
    unary_from: Tensor
    copy: Tensor
    swap: Tensor
    chain: Tensor
    chain_distinct: Tensor
    distinct_heads: Tensor

    @classmethod
    def compile(
        cls,
        program: Program,
        *,
        relations: Sequence[str] | None = None,
        distinct_heads: Sequence[str] = (),
    ) -> "ChainRuleScorer":
        """Compile a background program.

        Args:
            program: a checked program (declarations and rules of the shapes above).
            relations: the binary relations, in tensor order (default: every binary
                relation of the program, in the order it first appears).
            distinct_heads: relations whose learned rules add ``X \\= Z``.

        Returns:
            The ``ChainRuleScorer``; its tensors are float64 on the default device.

        Raises:
            ConfigError: a statement has another shape, or a relation is unknown.
            GreyboxError: the program does not pass the static checks.
        """
        info = analyze(program)
        binary = [name for name, rel in info.relations.items() if rel.arity == 2]
        unaries = tuple(name for name, rel in info.relations.items() if rel.arity == 1)
        rels = tuple(relations) if relations is not None else tuple(binary)
        for name in [*rels, *distinct_heads]:
            if name not in binary:
                raise ConfigError(f"{name!r} is not a binary relation of the background program",
                                  hint=f"use some of: {', '.join(binary)}")
        r_ix = {r: i for i, r in enumerate(rels)}
        u_ix = {u: i for i, u in enumerate(unaries)}
        n_r, n_u = len(rels), len(unaries)
        t = dict(
            unary_from=torch.zeros(2, n_r, n_u, dtype=torch.float64),
            copy=torch.zeros(2, n_r, n_u + 1, n_r, dtype=torch.float64),
            swap=torch.zeros(2, n_r, n_u + 1, n_r, dtype=torch.float64),
            chain=torch.zeros(n_r, n_r, n_r, dtype=torch.float64),
            chain_distinct=torch.zeros(n_r, n_r, n_r, dtype=torch.float64),
        )
        for statement in program.statements:
            if isinstance(statement, (TypeDeclaration, DomainDeclaration)):
                continue
            place = _place(statement, r_ix, u_ix, n_u) if isinstance(statement, Clause) else None
            if place is None:
                span = statement.span
                raise ConfigError(f"background statement is not one the dense learner can evaluate: "
                                  f"{_describe(statement)}", file=span.file, line=span.line,
                                  column=span.column, hint=_SHAPES_HINT)
            name, index = place
            weight = statement.weight.value if isinstance(statement.weight, Probability) else 1.0
            t[name][index] = max(float(t[name][index]), weight)  # two rules, same conclusion: the better one
        distinct = torch.tensor([r in set(distinct_heads) for r in rels], dtype=torch.bool)
        return cls(rels, unaries, distinct_heads=distinct, **t)

    def to(self, *args, **kw) -> "ChainRuleScorer":
        """The same program with its weight tensors moved / cast (``distinct_heads`` moves only)."""
        moved = {name: getattr(self, name).to(*args, **kw)
                 for name in ("unary_from", "copy", "swap", "chain", "chain_distinct")}
        device = moved["chain"].device
        return ChainRuleScorer(self.relations, self.unaries, distinct_heads=self.distinct_heads.to(device), **moved)


def _describe(statement) -> str:
    from greybox.lang.printer import format_statement

    try:
        return format_statement(statement)
    except TypeError:
        return type(statement).__name__


def _names(atom: Atom) -> list[str | None]:
    """The variable names of an atom's arguments (``_`` is ``"_"``; a constant is ``None``)."""
    return [a.name if isinstance(a, Var) else None for a in atom.args]


def _place(clause: Clause, r_ix: dict, u_ix: dict, n_u: int) -> tuple[str, tuple] | None:
    """Which tensor entry a background clause sets, or ``None`` when it has no dense shape."""
    if isinstance(clause.weight, Learnable):
        return None
    chain = as_chain_rule(clause, r_ix)
    if chain is not None:
        name = "chain_distinct" if chain.distinct else "chain"
        return name, (r_ix[chain.first], r_ix[chain.second], r_ix[chain.head])
    body, head = clause.body, clause.head
    if not body or not all(isinstance(lit, Atom) for lit in body):
        return None
    binary = [a for a in body if a.predicate in r_ix and len(a.args) == 2]
    unary = [a for a in body if a.predicate in u_ix and len(a.args) == 1]
    if len(binary) != 1 or len(binary) + len(unary) != len(body):
        return None
    x, y = _names(binary[0])
    r1 = r_ix[binary[0].predicate]
    # u(X) :- r(X, _).   u(Y) :- r(_, Y).
    if head.predicate in u_ix and len(head.args) == 1 and not unary:
        (v,) = _names(head)
        if v in (None, "_") or x is None or y is None or x == y:
            return None
        if v == x:
            return "unary_from", (0, r1, u_ix[head.predicate])
        if v == y:
            return "unary_from", (1, r1, u_ix[head.predicate])
        return None
    # r2(X, Y) :- r1(X, Y), u(G).   r2(Y, X) :- r1(X, Y), u(G).
    if head.predicate not in r_ix or len(head.args) != 2 or len(unary) > 1:
        return None
    if None in (x, y) or "_" in (x, y) or x == y:
        return None
    guard, g = n_u, 0
    if unary:
        (gv,) = _names(unary[0])
        if gv not in (x, y):
            return None
        guard, g = u_ix[unary[0].predicate], (0 if gv == x else 1)
    h = _names(head)
    if h == [x, y]:
        return "copy", (g, r1, guard, r_ix[head.predicate])
    if h == [y, x]:
        return "swap", (g, r1, guard, r_ix[head.predicate])
    return None


# ---------------------------------------------------------------- evaluation


def _unary_step(dense: ChainRuleScorer, facts: Tensor) -> Tensor:
    """``(B, P, V)``: the unary facts the binary ones give, e.g. ``male(Y) :- father(_, Y)``."""
    uf = dense.unary_from.to(facts.dtype)
    # u(X) :- r(X, _):  max over y, r of F[x, y, r] * w[r, u]
    from_first = (facts[..., None] * uf[0]).amax(dim=(2, 3))  # (B, P, P, R, V) -> (B, P, V)
    # u(Y) :- r(_, Y):  max over x, r of F[x, y, r] * w[r, u]
    from_second = (facts[..., None] * uf[1]).amax(dim=(1, 3))  # (B, P, P, R, V) -> (B, P, V)
    return torch.maximum(from_first, from_second)


def _binary_step(dense: ChainRuleScorer, facts: Tensor, labels: Tensor) -> Tensor:
    """``(B, P, P, R)``: the facts the copy and swap rules give, e.g. ``son(Y, X) :- father(X, Y), male(X)``."""
    out = torch.zeros_like(facts)
    for rules, swap in ((dense.copy, False), (dense.swap, True)):
        w = rules.to(facts.dtype)  # (2, R, V + 1, R)
        if not torch.any(w):
            continue
        for g in (0, 1):
            if not torch.any(w[g]):
                continue
            guard = labels[:, :, None, :] if g == 0 else labels[:, None, :, :]  # U[x] or U[y]: (B, P|1, 1|P, V + 1)
            # r2(., .) :- r1(X, Y), u(G):  max over r1, u of F[x, y, r1] * U[g, u] * w[r1, u, r2]
            body = facts[..., :, None] * guard[..., None, :]  # (B, P, P, R, V + 1)
            derived = (body[..., None] * w[g]).amax(dim=(3, 4))  # (B, P, P, R, V + 1, R) -> (B, P, P, R)
            out = torch.maximum(out, derived.transpose(1, 2) if swap else derived)
    return out


def compose(facts: Tensor, weights: Tensor, *, diagonal: bool = False, tie_break: Tensor | None = None) -> Tensor:
    """One round of every chain rule: ``max over y, r1, r2 of F[x, y, r1] * F[y, z, r2] * W[r1, r2, r3]``.

    The best proof is found without gradients; its value is then recomputed from the
    facts and the weight it uses, so the gradient flows along the best proof only (the
    subgradient of max), and no ``(B, P, P, R^3)`` tensor is kept for backward.

    Args:
        facts: ``(B, P, P, R)``.
        weights: ``(R, R, R)``, ``[r1, r2, r3]`` the weight of ``r3(X, Z) :- r1(X, Y), r2(Y, Z)``.
        diagonal: compute only ``z = x``: ``(B, P, R)``.
        tie_break: ``(R, R, R)`` factors close to 1 (e.g. ``1 + 1e-4 * rand``) that multiply the
            weights when the best proof is chosen, not in its value: among proofs of equal
            value, the one with the largest factor wins (``None``: the first in ``(y, r1, r2)``
            order). Training draws new factors every step, so that equal proofs share the
            gradient instead of the first one taking it all.

    Returns:
        ``(B, P, P, R)`` (``(B, P, R)`` with ``diagonal``): ``[b, x, z, r3]`` the best proof of
        ``r3(x, z)`` by one chain rule applied to ``facts``.

    >>> f = torch.zeros(1, 3, 3, 1); f[0, 0, 1, 0], f[0, 1, 2, 0] = 0.5, 0.8
    >>> round(compose(f, torch.full((1, 1, 1), 0.5))[0, 0, 2, 0].item(), 6)   # 0.5 * 0.8 * 0.5
    0.2
    """
    B, P, _, R = facts.shape
    K = R * R
    second = facts.transpose(1, 2) if diagonal else facts  # F[y, x] for z = x
    choose = weights if tie_break is None else weights * tie_break
    with torch.no_grad():
        chunk = max(1, ELEMENTS_PER_CHUNK // max(1, P * P * K * R))
        best_y, best_k = [], []
        for lo in range(0, B, chunk):
            f, s = facts[lo:lo + chunk], second[lo:lo + chunk]
            if diagonal:
                pair = f[..., :, None] * s[..., None, :]  # (b, x, y, r1, r2)
                g, y = pair.max(dim=2)  # (b, x, r1, r2)
            else:
                pair = f[:, :, :, None, :, None] * s[:, None, :, :, None, :]  # (b, x, y, z, r1, r2)
                g, y = pair.max(dim=2)  # (b, x, z, r1, r2)
            lead = g.shape[:-2]
            score = g.reshape(*lead, K, 1) * choose.reshape(K, R)  # (b, x[, z], R*R, R)
            k = score.argmax(dim=-2)  # (b, x[, z], R): the best (r1, r2) per r3
            best_k.append(k)
            best_y.append(y.reshape(*lead, K).gather(-1, k))  # (b, x[, z], R): its middle person
        k, y = torch.cat(best_k), torch.cat(best_y)
    r1, r2, r3 = k // R, k % R, torch.arange(R, device=facts.device)
    b = torch.arange(B, device=facts.device).reshape(B, *([1] * (k.dim() - 1)))
    x = torch.arange(P, device=facts.device).reshape(1, P, *([1] * (k.dim() - 2)))
    z = x if diagonal else torch.arange(P, device=facts.device).reshape(1, 1, P, 1)
    # r3(x, z) :- r1(x, y), r2(y, z)   along the best (y, r1, r2)
    return facts[b, x, y, r1] * facts[b, y, z, r2] * weights[r1, r2, r3]


def compose_pairs(facts: Tensor, weights: Tensor, first: Tensor, second: Tensor,
                  tie_break: Tensor | None = None) -> Tensor:
    """:func:`compose` for one pair ``(first[b], second[b])`` of each graph: ``(B, R)``.

    >>> f = torch.zeros(1, 3, 3, 1); f[0, 0, 1, 0], f[0, 1, 2, 0] = 0.5, 0.8
    >>> w = torch.full((1, 1, 1), 0.5)
    >>> torch.equal(compose_pairs(f, w, torch.tensor([0]), torch.tensor([2])), compose(f, w)[:, 0, 2])
    True
    """
    B, P, _, R = facts.shape
    b = torch.arange(B, device=facts.device)
    with torch.no_grad():
        pair = facts[b, first][:, :, :, None] * facts[b, :, second][:, :, None, :]  # (B, y, r1, r2)
        g, y = pair.max(dim=1)  # (B, r1, r2)
        choose = weights if tie_break is None else weights * tie_break
        k = (g.reshape(B, R * R, 1) * choose.reshape(R * R, R)).argmax(dim=1)  # (B, R)
        y = y.reshape(B, R * R).gather(1, k)  # (B, R)
    r1, r2, r3 = k // R, k % R, torch.arange(R, device=facts.device)
    # r3(first, second) :- r1(first, y), r2(y, second)   along the best (y, r1, r2)
    return facts[b[:, None], first[:, None], y, r1] * facts[b[:, None], y, second[:, None], r2] * weights[r1, r2, r3]


def _chain_weights(dense: ChainRuleScorer, learned: Tensor | None, like: Tensor) -> tuple[Tensor, Tensor]:
    """``(anywhere, distinct)``: ``(R, R, R)`` weights of the chain rules without and with ``X \= Z``."""
    anywhere = dense.chain.to(like.dtype)  # rules that may conclude r3(x, x)
    distinct = dense.chain_distinct.to(like.dtype)  # rules with X \= Z
    if learned is not None:
        heads = dense.distinct_heads.to(like.device)
        anywhere = torch.maximum(anywhere, torch.where(heads, torch.zeros_like(learned), learned))
        distinct = torch.maximum(distinct, torch.where(heads, learned, torch.zeros_like(learned)))
    return anywhere, distinct


def _chain_step(dense: ChainRuleScorer, facts: Tensor, learned: Tensor | None, tie_break: Tensor | None) -> Tensor:
    """``(B, P, P, R)``: one round of the fixed and the learned chain rules."""
    anywhere, distinct = _chain_weights(dense, learned, facts)
    if not torch.any(anywhere) and not torch.any(distinct):
        return torch.zeros_like(facts)
    out = compose(facts, torch.maximum(anywhere, distinct), tie_break=tie_break)  # x != z: every rule
    P = facts.shape[1]
    if P and torch.any(anywhere):
        same = compose(facts, anywhere, diagonal=True, tie_break=tie_break)  # x == z: only rules without X \= Z
    else:
        same = torch.zeros_like(facts[:, :, 0])
    eye = torch.eye(P, dtype=torch.bool, device=facts.device)[None, :, :, None]
    return torch.where(eye, same[:, :, None, :], out)


def forward_chain(
    dense: ChainRuleScorer,
    facts: Tensor,
    labels: Tensor,
    learned: Tensor | None = None,
    *,
    steps: int | None = None,
    max_rounds: int = 1000,
    tie_break: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """Forward-chain the background rules and the learned chain rules (max-mult).

    One round applies the unary rules, then the copy / swap rules, then every chain
    rule, each to what the previous one gave.

    Args:
        dense: the compiled background.
        facts: ``(B, P, P, R)`` probabilities of the given binary facts.
        labels: ``(B, P, V + 1)`` probabilities of the given unary facts; the last column
            is 1 for the people of each graph, 0 for padding.
        learned: ``(R, R, R)`` weights of the candidate rules ``r3(X, Z) :- r1(X, Y), r2(Y, Z)``
            (``X \\= Z`` added where ``dense.distinct_heads[r3]``); ``None``: none.
        steps: number of rounds; ``None``: until nothing changes (the fixpoint, as the engine).
        max_rounds: with ``steps=None``, give up after this many rounds.
        tie_break: see :func:`compose` (``None``: exact max-mult, as the engine).

    Returns:
        ``(facts (B, P, P, R), labels (B, P, V + 1))`` after chaining; differentiable in
        ``facts``, ``labels`` and ``learned``.

    Raises:
        ResourceLimitError: no fixpoint within ``max_rounds`` rounds.
    """
    rounds = steps if steps is not None else max_rounds
    for _ in range(rounds):
        before = (facts, labels)
        derived = _unary_step(dense, facts)
        labels = torch.cat([torch.maximum(labels[..., :-1], derived), labels[..., -1:]], dim=-1)
        facts = torch.maximum(facts, _binary_step(dense, facts, labels))
        facts = torch.maximum(facts, _chain_step(dense, facts, learned, tie_break))
        if steps is None and torch.equal(facts, before[0]) and torch.equal(labels, before[1]):
            return facts, labels
    if steps is None:
        raise ResourceLimitError(f"no fixpoint after {max_rounds} rounds of forward chaining",
                                 hint="raise max_rounds, or give a fixed number of steps")
    return facts, labels


def answer_chain(
    dense: ChainRuleScorer,
    facts: Tensor,
    labels: Tensor,
    learned: Tensor | None,
    query: Tensor,
    *,
    steps: int,
    tie_break: Tensor | None = None,
) -> Tensor:
    """What :func:`forward_chain` with ``steps`` rounds derives for the queried pair of each graph.

    The same value as ``forward_chain(...)[0][b, query[b, 0], query[b, 1]]``, but the last
    round composes for the queried pair only (``P^2`` times less work in that round).

    Args:
        dense, facts, labels, learned: as for :func:`forward_chain`.
        query: ``(B, 2)`` the pair of each graph.
        steps: rounds of chaining, at least 1.
        tie_break: see :func:`compose`.

    Returns:
        ``(B, R)``: the probability of each relation between the queried pair.
    """
    if steps > 1:
        facts, labels = forward_chain(dense, facts, labels, learned, steps=steps - 1, tie_break=tie_break)
    # the last round, as in forward_chain, for the queried pair only
    derived = _unary_step(dense, facts)
    labels = torch.cat([torch.maximum(labels[..., :-1], derived), labels[..., -1:]], dim=-1)
    facts = torch.maximum(facts, _binary_step(dense, facts, labels))
    first, second = query[:, 0], query[:, 1]
    b = torch.arange(facts.shape[0], device=facts.device)
    out = facts[b, first, second]  # (B, R)
    anywhere, distinct = _chain_weights(dense, learned, facts)
    if torch.any(anywhere) or torch.any(distinct):
        composed = compose_pairs(facts, torch.maximum(anywhere, distinct), first, second, tie_break)
        same = first == second
        if torch.any(same):  # x == z: only the rules without X \= Z
            composed = torch.where(same[:, None], compose_pairs(facts, anywhere, first, second, tie_break), composed)
        out = torch.maximum(out, composed)
    return out
