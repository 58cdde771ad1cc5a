"""Mining path rules from a knowledge graph: candidates from the paths that occur, scored exactly.

How (the bottom-up scheme of AnyBURL, with exact counts):

1. **Candidates.** For each relation ``r``, up to ``samples`` of its facts ``r(h, t)`` are
   drawn. Every path of one to three steps from ``h`` to ``t`` (a step follows a fact
   forwards or backwards) whose inner entities differ from ``h``, ``t`` and each other
   gives the candidate ``r(X, Z) :- step1, ..., stepn`` (the one-step path ``r(h, t)``
   itself is left out). Paths meet in the middle: one- and two-step paths are all found
   from the steps out of ``h`` and into ``t``; three-step paths are drawn (``walks`` random
   pairs of a step out of ``h`` and a step into ``t``, joined by a random fact between
   them, found by a sorted search). The ``max_candidates`` bodies found for the most drawn
   facts of a relation are its candidates.
2. **Scores.** The body of each candidate is a boolean ``(E, E)`` matrix, the product of
   its steps' adjacency matrices (a relation's matrix, or its transpose for a backward
   step; dense tensors for up to ``dense_limit`` entities, else torch sparse tensors, on
   ``device``). ``body_size`` is the number of pairs the body connects, ``support`` the
   number of those that are facts ``r(x, z)``, and the confidence is
   ``support / (body_size + smoothing)``: a rule seen few times is trusted less.
3. **Kept.** Candidates with ``support >= min_support`` and confidence ``>= min_confidence``,
   the ``max_rules`` most confident per relation, weight = confidence rounded to 4 digits
   (the weight the file holds, and the one ranking uses).
4. **Anchored rules** (``anchored_length >= 1``): ``r(X, c) :- s1(X, Y1), ..., sn(Yn-1, a)``
   for every body of up to ``anchored_length`` steps, every entity ``a`` it reaches (the
   anchor) and every answer ``c`` (``answers``, or every entity). Counted over the heads
   ``x`` with a known fact ``r(x, c')`` for some answer ``c'`` (the partial-completeness
   assumption: a head with no such fact is not known to be wrong): ``body_size`` heads
   reach ``a``, ``support`` of them have ``r(x, c)``; kept with ``support >= min_support``
   and confidence ``>= anchored_min_confidence``, the ``anchored_max_rules`` most confident
   per relation. Each anchor is a rule, so the noisy-or of a link counts its anchors.
5. **Back-off rules** (``backoff_rules >= 1``): the ``backoff_rules`` most confident candidates
   of each relation (ranked as in 3, so the kept rules are among them) again, as
   ``backoff_r(X, Z) :- ...`` with their confidence: they order the links the kept rules
   score equally (:mod:`greybox.learn.ranking`), e.g. the links none of them derives.

Example:
    >>> facts = [("a", "parent", "b"), ("b", "parent", "c"), ("a", "grandparent", "c"),
    ...          ("d", "parent", "e"), ("e", "parent", "f"), ("d", "grandparent", "f")]
    >>> learned = learn_path_rules(facts, min_support=2, smoothing=0.0)
    >>> [r.text() for r in learned.rules if r.head == "grandparent"]
    ['1.0 :: inferred_grandparent(X, Z) :- parent(X, Y1), parent(Y1, Z).']
"""

from __future__ import annotations

import time
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from greybox.errors import ConfigError

from .path_rules import PathRule

__all__ = ["GraphIndex", "BodyMatrices", "candidate_paths", "score_rules_on_graph", "anchored_rules",
           "learn_path_rules", "LearnedPathRules", "held_out_folds"]


class GraphIndex:
    """Entities and relations numbered, and the facts as steps for path search.

    Step labels: ``2 * relation`` follows a fact forwards, ``2 * relation + 1`` backwards.

    Args:
        facts: ``(head, relation, tail)`` triples.
        entities: every entity (``None``: those of the facts), numbered in this order.
        relations: every relation (``None``: those of the facts, sorted).

    Raises:
        ConfigError: no fact, or a fact names an entity or relation outside those given.
    """

    def __init__(self, facts: Iterable[Sequence[str]], entities: Sequence[str] | None = None,
                 relations: Sequence[str] | None = None) -> None:
        facts = [tuple(f) for f in facts]
        if not facts:
            raise ConfigError("the graph is empty: rules are learned from facts", hint="give at least one fact")
        if entities is None:
            entities = sorted({f[0] for f in facts} | {f[2] for f in facts})
        if relations is None:
            relations = sorted({f[1] for f in facts})
        self.entities = tuple(entities)
        self.relations = tuple(relations)
        self.entity_id = {e: i for i, e in enumerate(self.entities)}
        self.relation_id = {r: i for i, r in enumerate(self.relations)}
        try:
            ids = np.array([(self.entity_id[h], self.relation_id[r], self.entity_id[t]) for h, r, t in facts],
                           dtype=np.int64).reshape(-1, 3)
        except KeyError as err:
            raise ConfigError(f"a fact names {err.args[0]!r}, which is not among the entities or relations given",
                              hint="give every entity and relation of the facts") from None
        ids = np.unique(ids, axis=0)
        self.heads, self.rels, self.tails = ids[:, 0], ids[:, 1], ids[:, 2]
        n = self.n = len(self.entities)
        # steps both ways, sorted by (source, target): the search index of path finding
        src = np.concatenate([self.heads, self.tails])
        dst = np.concatenate([self.tails, self.heads])
        lab = np.concatenate([2 * self.rels, 2 * self.rels + 1])
        order = np.lexsort((lab, dst, src))
        self.step_src, self.step_dst, self.step_label = src[order], dst[order], lab[order]
        self.step_key = self.step_src * n + self.step_dst
        self.indptr = np.searchsorted(self.step_src, np.arange(n + 1))

    @property
    def n_labels(self) -> int:
        """Number of step labels: two per relation."""
        return 2 * len(self.relations)

    def step(self, label: int) -> tuple[str, bool]:
        """``(relation, inverse)`` of a step label."""
        return (self.relations[label // 2], bool(label % 2))

    def label(self, relation: str, inverse: bool) -> int:
        """The step label of ``(relation, inverse)``."""
        return 2 * self.relation_id[relation] + int(inverse)

    def out_steps(self, node: int) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, targets)`` of the steps out of ``node``."""
        lo, hi = self.indptr[node], self.indptr[node + 1]
        return self.step_label[lo:hi], self.step_dst[lo:hi]

    def facts_of(self, relation: str) -> np.ndarray:
        """``(F, 2)`` head and tail ids of the facts of ``relation``."""
        mask = self.rels == self.relation_id[relation]
        return np.stack([self.heads[mask], self.tails[mask]], axis=1)


def _encode(n_labels: int, *columns: np.ndarray) -> np.ndarray:
    """Bodies as integers: ``sum((label_i + 1) * (L + 1) ** i)``, one per length and label sequence."""
    code = np.zeros(len(columns[0]), dtype=np.int64)
    for i, col in enumerate(columns):
        code += (col.astype(np.int64) + 1) * (n_labels + 1) ** i
    return code


def _decode(n_labels: int, code: int) -> tuple[int, ...]:
    out = []
    while code:
        code, digit = divmod(code, n_labels + 1)
        out.append(digit - 1)
    return tuple(out)


def _paths_between(index: GraphIndex, h: int, t: int, own: int, max_length: int, cap: int, walks: int,
                   rng: np.random.Generator) -> np.ndarray:
    """The bodies (as codes) of paths from ``h`` to ``t`` whose inner nodes differ from h, t and each other.

    One- and two-step paths are all found; three-step paths are drawn: ``walks`` pairs of a
    step out of ``h`` and a step into ``t``, each joined by a random fact between them if any.
    """
    n_l = index.n_labels
    l1, a = index.out_steps(h)
    back, b = index.out_steps(t)
    l3 = back ^ 1  # a step t -> b backwards is the step b -> t
    # r(X, Z) :- s(X, Z), but not r(X, Z) itself
    found = [_encode(n_l, l1[(a == t) & (l1 != own)])]
    if max_length >= 2:
        inner_a, inner_b = (a != h) & (a != t), (b != h) & (b != t)
        l1, a, l3, b = l1[inner_a], a[inner_a], l3[inner_b], b[inner_b]
        # r(X, Z) :- s1(X, Y1), s2(Y1, Z): steps out of h and into t that meet
        fa, fb = (rng.permutation(len(x))[:cap] for x in (a, b))
        i, j = np.nonzero(a[fa][:, None] == b[fb][None, :])
        found.append(_encode(n_l, l1[fa][i], l3[fb][j]))
    if max_length >= 3 and len(a) and len(b):
        # r(X, Z) :- s1(X, Y1), s2(Y1, Y2), s3(Y2, Z): drawn pairs (out of h, into t), a fact between
        i, j = rng.integers(len(a), size=walks), rng.integers(len(b), size=walks)
        ok = a[i] != b[j]
        i, j = i[ok], j[ok]
        keys = a[i] * index.n + b[j]
        lo = np.searchsorted(index.step_key, keys, "left")
        hi = np.searchsorted(index.step_key, keys, "right")
        hit = hi > lo
        pick = lo[hit] + (rng.random(int(hit.sum())) * (hi[hit] - lo[hit])).astype(np.int64)
        found.append(_encode(n_l, l1[i[hit]], index.step_label[pick], l3[j[hit]]))
    return np.unique(np.concatenate(found))


def candidate_paths(index: GraphIndex, *, max_length: int = 3, samples: int = 200, relations: Sequence[str] | None = None,
                    cap: int = 400, walks: int = 2000, max_candidates: int = 2000,
                    seed: int = 0) -> dict[str, dict[tuple[int, ...], int]]:
    """The candidate bodies of each relation: label sequences of paths between its facts' ends.

    Args:
        index: the graph.
        max_length: longest body (1 to 3).
        samples: facts drawn per relation (all when it has fewer).
        relations: the heads to mine (``None``: every relation).
        cap: at most this many steps out of ``h`` and into ``t`` are joined for two-step paths.
        walks: three-step paths drawn per fact.
        max_candidates: per relation, the bodies found for the most drawn facts are kept
            (ties: the shorter, then in label order).
        seed: the draw's seed.

    Returns:
        ``{relation: {labels: number of drawn facts with such a path}}``.
    """
    if not 1 <= max_length <= 3:
        raise ConfigError(f"max_length must be 1, 2 or 3, not {max_length}", hint="max_length: 3")
    rng = np.random.default_rng(seed)
    out: dict[str, dict[tuple[int, ...], int]] = {}
    for relation in relations or index.relations:
        pairs = index.facts_of(relation)
        if len(pairs) > samples:
            pairs = pairs[rng.choice(len(pairs), samples, replace=False)]
        own = index.label(relation, False)
        codes = [_paths_between(index, int(h), int(t), own, max_length, cap, walks, rng) for h, t in pairs]
        found, counts = np.unique(np.concatenate(codes) if codes else np.zeros(0, np.int64), return_counts=True)
        bodies = [(_decode(index.n_labels, int(c)), int(k)) for c, k in zip(found, counts)]
        best = sorted(bodies, key=lambda item: (-item[1], len(item[0]), item[0]))[:max_candidates]
        out[relation] = dict(best)
    return out



class BodyMatrices:
    """Boolean ``(E, E)`` matrices of rule bodies: products of the steps' adjacency matrices.

    Dense float tensors for up to ``dense_limit`` entities, torch sparse COO tensors above;
    on ``device``. Products of a body's first steps are kept (``cache`` bodies at most),
    so rules sorted by body share them. :meth:`paths` gives the same products unrounded:
    how many paths of the body lead from ``x`` to ``z``.

    Args:
        index: the graph.
        device: where the matrices live.
        dense_limit: the most entities for dense matrices.
        cache: the most prefix products kept.
    """

    def __init__(self, index: GraphIndex, *, device: str | torch.device = "cpu", dense_limit: int = 1024,
                 cache: int = 4096) -> None:
        self.index = index
        self.n = index.n
        self.device = torch.device(device)
        self.dense = index.n <= dense_limit
        self._cache: dict[tuple[int, ...], torch.Tensor] = {}
        self._limit = cache
        for label in range(index.n_labels):
            mask = index.step_label == label
            self._cache[(label,)] = self._matrix(index.step_src[mask], index.step_dst[mask])
        self._steps = len(self._cache)
        self._paths: dict[tuple[int, ...], torch.Tensor] = {}

    def _matrix(self, rows: np.ndarray, cols: np.ndarray) -> torch.Tensor:
        rows_t = torch.as_tensor(rows, dtype=torch.int64, device=self.device)
        cols_t = torch.as_tensor(cols, dtype=torch.int64, device=self.device)
        if self.dense:
            m = torch.zeros(self.n, self.n, device=self.device)
            m[rows_t, cols_t] = 1.0
            return m
        values = torch.ones(len(rows), device=self.device)
        return torch.sparse_coo_tensor(torch.stack([rows_t, cols_t]), values, (self.n, self.n),
                                       check_invariants=True).coalesce()

    def _product(self, a: torch.Tensor, b: torch.Tensor, boolean: bool = True) -> torch.Tensor:
        # body(x, z) :- a(x, y), b(y, z): a matrix product, made boolean again (or counting the paths)
        if self.dense:
            m = a @ b  # (E, E)
            return (m > 0).float() if boolean else m
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # torch: "sparse CSR support is in beta"
            m = torch.sparse.mm(a, b).coalesce()
        if not boolean:
            return m
        return torch.sparse_coo_tensor(m.indices(), torch.ones_like(m.values()), m.shape, is_coalesced=True,
                                       check_invariants=False)

    def body(self, labels: tuple[int, ...]) -> torch.Tensor:
        """The body's matrix: entry ``(x, z)`` is 1 when the path leads from ``x`` to ``z``."""
        return self._chained(self._cache, labels, boolean=True)

    def paths(self, labels: tuple[int, ...]) -> torch.Tensor:
        """The body's path counts: entry ``(x, z)`` is the number of paths of the body from ``x`` to ``z``
        (the proofs of ``inferred_r(x, z)`` by the rule); nonzero exactly where :meth:`body` is 1.

        >>> index = GraphIndex([("a", "p", "b"), ("a", "p", "c"), ("b", "q", "d"), ("c", "q", "d")])
        >>> m = BodyMatrices(index).paths((index.label("p", False), index.label("q", False)))
        >>> ids = index.entity_id
        >>> float(m[ids["a"], ids["d"]]), float(BodyMatrices(index, dense_limit=0).paths(
        ...     (index.label("p", False), index.label("q", False))).to_dense()[ids["a"], ids["d"]])
        (2.0, 2.0)
        """
        return self._chained(self._paths, labels, boolean=False)

    def _chained(self, cache: dict, labels: tuple[int, ...], boolean: bool) -> torch.Tensor:
        """A body's product of steps, memoised in ``cache`` (the single steps stay in the step cache, never dropped)."""
        if labels in cache or len(labels) == 1:
            return cache[labels] if labels in cache else self._cache[labels]
        m = self._product(self._chained(cache, labels[:-1], boolean), self._cache[labels[-1:]], boolean=boolean)
        if len(cache) - (self._steps if cache is self._cache else 0) >= self._limit:
            for key in [k for k in cache if len(k) > 1][: self._limit // 2]:
                del cache[key]
        cache[labels] = m
        return m

    def pairs(self, m: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(rows, cols)`` of the pairs a matrix connects."""
        if self.dense:
            rows, cols = torch.nonzero(m, as_tuple=True)
            return rows, cols
        return m.indices()[0], m.indices()[1]

    def rule_pairs(self, rule: PathRule) -> tuple[torch.Tensor, torch.Tensor]:
        """``(rows, cols)`` of the links ``inferred_r(x, z)`` a rule derives on the graph.

        A chain rule derives the pairs its body connects; an anchored rule derives
        ``(x, answer)`` for every ``x`` its body leads to the anchor.
        """
        index = self.index
        m = self.body(tuple(index.label(rel, inverse) for rel, inverse in rule.body))
        if rule.anchor is None:
            return self.pairs(m)
        anchor = index.entity_id[rule.anchor]
        if self.dense:
            rows = torch.nonzero(m[:, anchor], as_tuple=True)[0]
        else:
            rows = m.indices()[0][m.indices()[1] == anchor]
        return rows, torch.full_like(rows, index.entity_id[rule.answer])

    def rule_paths(self, rule: PathRule) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(rows, cols, paths)``: the links a rule derives (as :meth:`rule_pairs`) and how many paths
        of its body derive each (for an anchored rule: the paths from ``x`` to its anchor)."""
        index = self.index
        m = self.paths(tuple(index.label(rel, inverse) for rel, inverse in rule.body))
        if self.dense:
            column = m if rule.anchor is None else m[:, index.entity_id[rule.anchor]]
            found = torch.nonzero(column, as_tuple=True)
            values = column[found]
        else:
            found, values = tuple(m.indices()), m.values()
            if rule.anchor is not None:
                keep = found[1] == index.entity_id[rule.anchor]
                found, values = (found[0][keep],), values[keep]
        rows = found[0]
        cols = found[1] if rule.anchor is None else torch.full_like(rows, index.entity_id[rule.answer])
        return rows, cols, values

    def counts(self, m: torch.Tensor, target: torch.Tensor) -> tuple[int, int]:
        """``(pairs of m that are pairs of target, pairs of m)``."""
        if self.dense:
            return int((m * target).sum()), int(m.sum())
        keys = m.indices()[0] * self.n + m.indices()[1]
        wanted = target.indices()[0] * self.n + target.indices()[1]
        return int(torch.isin(keys, wanted).sum()), int(keys.numel())


def held_out_folds(index: GraphIndex, matrices: BodyMatrices, folds: int, seed: int):
    """Per fold: the body matrices of the graph without the fold's facts, and the fold's facts."""
    rng = np.random.default_rng(seed)
    fold = rng.integers(folds, size=len(index.heads))
    out = []
    for k in range(folds):
        keep, held = fold != k, fold == k
        rest = GraphIndex([(index.entities[h], index.relations[r], index.entities[t]) for h, r, t in
                           zip(index.heads[keep], index.rels[keep], index.tails[keep])], index.entities, index.relations)
        held_facts = GraphIndex([(index.entities[h], index.relations[r], index.entities[t]) for h, r, t in
                                 zip(index.heads[held], index.rels[held], index.tails[held])],
                                index.entities, index.relations)
        out.append((BodyMatrices(rest, device=matrices.device, dense_limit=matrices.n if matrices.dense else 0),
                    BodyMatrices(held_facts, device=matrices.device, dense_limit=matrices.n if matrices.dense else 0)))
    return out


def score_rules_on_graph(index: GraphIndex, bodies: dict[str, Iterable[tuple[int, ...]]], matrices: BodyMatrices,
                         *, smoothing: float = 5.0) -> list[PathRule]:
    """Support, body size and confidence of candidate bodies on the graph.

    ``support`` is the number of pairs the body connects on the graph that are facts of the
    head, ``body_size`` the number of pairs it connects.

    Returns:
        One ``PathRule`` per candidate, ``weight`` = ``support / (body_size + smoothing)`` rounded
        to 4 digits (``0.0`` when the body connects nothing).
    """
    out = []
    for relation, labels_list in bodies.items():
        own = (index.label(relation, False),)
        for labels in sorted(labels_list):
            support, size = matrices.counts(matrices.body(labels), matrices.body(own))
            weight = round(support / (size + smoothing), 4) if size else 0.0
            out.append(PathRule(relation, tuple(index.step(x) for x in labels), weight, support, size))
    return out


def anchored_rules(index: GraphIndex, matrices: BodyMatrices, heads: Iterable[str], *, max_length: int = 1,
                   answers: Sequence[str] | None = None, min_support: int = 2, min_confidence: float = 0.3,
                   smoothing: float = 5.0, max_rules: int = 1000) -> list[PathRule]:
    """The anchored rules ``r(X, c) :- s1(X, Y1), ..., sn(Yn-1, a)`` of each head (module docstring, 4).

    Args:
        index: the graph.
        matrices: its body matrices (dense: anchored rules read whole columns).
        heads: the relations concluded.
        max_length: longest body (1 to 3 steps); every sequence of steps up to it is tried.
        answers: the entities a rule may conclude (``None``: every entity).
        min_support, min_confidence: the fewest heads that confirm a kept rule, its smallest confidence.
        smoothing: added to ``body_size`` in the confidence.
        max_rules: most anchored rules kept per relation, the most confident.

    Returns:
        The kept rules, by head, most confident first; ``weight`` = ``support / (body_size + smoothing)``
        rounded to 4 digits.

    Raises:
        ConfigError: ``max_length`` out of 1..3, the matrices are sparse, or an answer is not an entity.

    >>> facts = [("a", "near", "b"), ("b", "in", "eu"), ("c", "near", "b"), ("c", "in", "eu"), ("d", "near", "b"),
    ...          ("d", "in", "eu"), ("e", "near", "f"), ("e", "in", "as")]
    >>> index = GraphIndex(facts)
    >>> [r.text() for r in anchored_rules(index, BodyMatrices(index), ["in"], answers=["eu", "as"], smoothing=0.0)]
    ['1.0 :: inferred_in(X, eu) :- near(X, b).']
    """
    if not 1 <= max_length <= 3:
        raise ConfigError(f"anchored rules have 1 to 3 steps, not {max_length}", hint="anchored_length: 1")
    if not matrices.dense:
        raise ConfigError(f"anchored rules need dense matrices: {index.n} entities is over the dense limit",
                          hint="anchored_length: 0 for a graph this large")
    try:
        answer_ids = [index.entity_id[a] for a in answers] if answers is not None else list(range(index.n))
    except KeyError as err:
        raise ConfigError(f"the answer {err.args[0]!r} is not an entity of the graph",
                          hint="give answers among the graph's entities") from None
    out = []
    for relation in heads:
        own = index.label(relation, False)
        facts = matrices.body((own,))[:, answer_ids]  # (E, C): r(x, c)
        labelled = (facts.sum(1) > 0).float()  # (E,): heads with some answer known
        kept = []
        for length in range(1, max_length + 1):
            for labels in np.ndindex(*(index.n_labels,) * length):
                body = matrices.body(tuple(int(x) for x in labels))  # (E, A): body(x, a)
                support = body.t() @ facts  # (A, C): heads reaching a whose answer is c
                size = body.t() @ labelled  # (A,): labelled heads reaching a
                if length == 1 and labels[0] == own:  # r(X, c) :- r(X, c) is the fact itself
                    support[answer_ids, torch.arange(len(answer_ids))] = 0.0
                weight = support / (size[:, None] + smoothing)
                for a, c in zip(*torch.nonzero((support >= min_support) & (weight >= min_confidence), as_tuple=True)):
                    a, c = int(a), int(c)
                    kept.append(PathRule(relation, tuple(index.step(int(x)) for x in labels),
                                         round(float(weight[a, c]), 4), int(support[a, c]), int(size[a]),
                                         anchor=index.entities[a], answer=index.entities[answer_ids[c]]))
        kept.sort(key=lambda r: (-r.weight, -r.support, len(r.body), r.body, r.anchor, r.answer))
        out += kept[:max_rules]
    return out


@dataclass(frozen=True)
class LearnedPathRules:
    """What :func:`learn_path_rules` found.

    Attributes:
        rules: the kept rules, by head relation (in ``index.relations`` order), most confident first.
        candidates: number of candidate bodies scored.
        seconds: time spent (candidates and scores).
        index: the graph the rules were scored on.
    """

    rules: tuple[PathRule, ...]
    candidates: int
    seconds: float
    index: GraphIndex


def learn_path_rules(
    facts: Iterable[Sequence[str]],
    *,
    entities: Sequence[str] | None = None,
    relations: Sequence[str] | None = None,
    heads: Sequence[str] | None = None,
    max_length: int = 3,
    samples: int = 200,
    cap: int = 400,
    walks: int = 2000,
    min_support: int = 2,
    min_confidence: float = 0.01,
    smoothing: float = 5.0,
    max_rules: int = 1000,
    max_candidates: int = 2000,
    seed: int = 0,
    device: str = "cpu",
    dense_limit: int = 1024,
    anchored_length: int = 0,
    anchored_min_confidence: float = 0.3,
    anchored_max_rules: int = 1000,
    answers: Sequence[str] | None = None,
    backoff_rules: int = 0,
) -> LearnedPathRules:
    """Learn the path rules of every relation (see the module docstring).

    Args:
        facts: the training graph as ``(head, relation, tail)`` triples.
        entities, relations: every entity and relation (``None``: those of the facts).
        heads: the relations to learn rules for (``None``: every relation).
        max_length: longest rule body (1 to 3 steps).
        samples: facts drawn per relation to find candidate paths.
        cap: steps joined out of each end of a drawn fact for two-step paths.
        walks: three-step paths drawn per fact.
        min_support: fewest body pairs that are facts of the head for a kept rule.
        min_confidence: smallest confidence of a kept rule.
        smoothing: added to the body size in the confidence.
        max_rules: most rules kept per relation.
        max_candidates: most candidate bodies scored per relation (those found for the most drawn facts).
        seed: the draw's seed.
        device: where the matrices live.
        dense_limit: the most entities for dense matrices.
        anchored_length: longest body of the anchored rules (0: none; see :func:`anchored_rules`).
        anchored_min_confidence: smallest confidence of a kept anchored rule.
        anchored_max_rules: most anchored rules kept per relation.
        answers: the entities an anchored rule may conclude (``None``: every entity), e.g. the
            benchmark's candidate answers.
        backoff_rules: back-off rules kept per relation (0: none; module docstring, 5).

    Returns:
        The ``LearnedPathRules``: per relation its chain rules, then its anchored rules, then its
        back-off rules.
    """
    started = time.monotonic()
    index = GraphIndex(facts, entities, relations)
    found = candidate_paths(index, max_length=max_length, samples=samples, relations=heads, cap=cap, walks=walks,
                            max_candidates=max_candidates, seed=seed)
    matrices = BodyMatrices(index, device=device, dense_limit=dense_limit)
    scored = score_rules_on_graph(index, found, matrices, smoothing=smoothing)
    by_head: dict[str, list[PathRule]] = defaultdict(list)
    for rule in scored:
        if rule.support >= min_support and rule.weight >= min_confidence:
            by_head[rule.head].append(rule)
    anchored: dict[str, list[PathRule]] = defaultdict(list)
    if anchored_length:
        for rule in anchored_rules(index, matrices, heads or index.relations, max_length=anchored_length,
                                   answers=answers, min_support=min_support, min_confidence=anchored_min_confidence,
                                   smoothing=smoothing, max_rules=anchored_max_rules):
            anchored[rule.head].append(rule)
    rules = []
    for relation in index.relations:
        ranked = sorted(by_head.get(relation, ()), key=lambda r: (-r.weight, -r.support, len(r.body), r.body))
        rules += ranked[:max_rules] + anchored.get(relation, [])
        rules += [replace(rule, backoff=True) for rule in ranked[:backoff_rules]]
    return LearnedPathRules(tuple(rules), sum(len(v) for v in found.values()), time.monotonic() - started, index)
