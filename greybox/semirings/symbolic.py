"""Symbolic provenance: a tuple's probability as a polynomial in the probabilities of the input facts.

The proofs of a tuple (sets of literals, ``greybox.semirings.wmc``) are counted by the
same Shannon expansion as ``wmc``, with ``sympy`` symbols in place of the numbers of
the facts chosen as *perceived* (the readings of a network, probabilistic input facts);
every other fact keeps its probability as a constant. The result, expanded, is a
polynomial: evaluated at the facts' probabilities it is the exact probability of the
tuple (the weighted model count of all its proofs), and it shows how that probability
depends on each reading, e.g. for the sum of two digits

    P(sum(7)) = p(digit(0)=0)*p(digit(1)=7) + p(digit(0)=1)*p(digit(1)=6) + ...

Symbols: a fact's symbol has a valid sympy name (``p_digit_0_3``, what
``sympy.sympify`` reads back) and a display name (``p(digit(0)=3)``: a fact of a group
of several, i.e. one class of a reading, shows as ``relation(input)=class``; a fact alone
in its group as ``p(atom)``). ``FactSymbol`` keeps both.

Groups: facts of one group are mutually exclusive. "None of the mentioned facts of a
group holds" weighs ``1 - (sum of their symbols)``, except when they are the whole
group and its probabilities sum to 1 (a network's distribution over its classes): then
some fact of the group always holds, and the weight is 0. The polynomial is thus exact on
the probabilities the facts can take together (each group summing to at most 1, a
network's readings to exactly 1).

Example:
    >>> from greybox.semirings.wmc import FactWeights
    >>> w = FactWeights((0.3, 0.7, 0.4, 0.6), (0, 0, 1, 1))      # two readings, two classes each
    >>> syms = fact_symbols([("digit", (0, 0)), ("digit", (0, 1)), ("digit", (1, 0)), ("digit", (1, 1))], w)
    >>> [(s.name, s.display) for s in syms.values()][:2]
    [('p_digit_0_0', 'p(digit(0)=0)'), ('p_digit_0_1', 'p(digit(0)=1)')]
    >>> one = [frozenset({(0, True), (3, True)}), frozenset({(1, True), (2, True)})]   # 0 + 1 or 1 + 0
    >>> poly = symbolic_probability(one, w, syms)
    >>> poly.display()
    'p(digit(0)=1)*p(digit(1)=0) + p(digit(0)=0)*p(digit(1)=1)'
    >>> round(poly.value(), 10)                                  # 0.3 * 0.6 + 0.7 * 0.4
    0.46
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import sympy

from .wmc import FactWeights, Proof, Weights, count_models

__all__ = ["FactSymbol", "Polynomial", "fact_symbols", "symbolic_probability", "MAX_SHOWN_TERMS"]

#: terms a collapsed display shows before "+ ... (n more terms)"
MAX_SHOWN_TERMS = 4


@dataclass(frozen=True)
class FactSymbol:
    """The symbol of one perceived fact.

    Attributes:
        fact_id: the input fact's id.
        name: a valid sympy name, e.g. ``p_digit_0_3``.
        display: how people read it, e.g. ``p(digit(0)=3)``.
        probability: the fact's probability (where the polynomial is evaluated).
        group: the fact's mutual-exclusion group.
    """

    fact_id: int
    name: str
    display: str
    probability: float
    group: int

    @property
    def symbol(self) -> sympy.Symbol:
        return sympy.Symbol(self.name)


def _value_text(value) -> str:
    text = str(value)
    return text if re.fullmatch(r"-?\w+", text) else repr(text)


def fact_symbols(atoms: Sequence[tuple[str, tuple] | None], weights: FactWeights,
                 perceived: Iterable[int] | None = None) -> dict[int, FactSymbol]:
    """Symbols for the perceived facts, by fact id.

    Args:
        atoms: ``(relation, args)`` of fact ``i`` at position ``i`` (None: a fact without an atom,
            e.g. the weight of a rule; shown as ``p(fact i)``).
        weights: the facts' probabilities and groups.
        perceived: the ids to make symbols of (default: every fact of probability below 1).

    Returns:
        ``{fact_id: FactSymbol}`` in id order; names are unique.

    Example:
        >>> w = FactWeights((0.5, 1.0), (0, 1))
        >>> [s.display for s in fact_symbols([("edge", ("a", "b")), ("edge", ("b", "c"))], w).values()]
        ['p(edge(a, b))']
    """
    ids = sorted(perceived) if perceived is not None else [f for f, p in enumerate(weights.probs) if p < 1.0]
    out: dict[int, FactSymbol] = {}
    taken: set[str] = set()
    for f in ids:
        atom = atoms[f] if f < len(atoms) else None
        categorical = len(weights.members[weights.groups[f]]) > 1
        if atom is None:
            display, stem = f"p(fact {f})", f"fact_{f}"
        else:
            relation, args = atom
            values = [_value_text(a) for a in args]
            if categorical and len(values) >= 2:
                display = f"p({relation}({', '.join(values[:-1])})={values[-1]})"
            elif values:
                display = f"p({relation}({', '.join(values)}))"
            else:
                display = f"p({relation})"
            stem = "_".join([relation, *(str(a) for a in args)])
        name = "p_" + (re.sub(r"\W+", "_", stem).strip("_") or f"fact_{f}")
        if name in taken:
            name = f"{name}_f{f}"
        taken.add(name)
        out[f] = FactSymbol(f, name, display, float(weights.probs[f]), int(weights.groups[f]))
    return out


class _Symbols(Weights):
    """The model count in sympy: symbols for the perceived facts, numbers for the others."""

    def __init__(self, weights: FactWeights, symbols: Mapping[int, FactSymbol]) -> None:
        super().__init__(weights, zero=sympy.Integer(0), one=sympy.Integer(1))
        self.symbols = {f: s.symbol for f, s in symbols.items()}

    def fact(self, f: int):
        if f in self.symbols:
            return self.symbols[f]
        p = self.w.probs[f]
        if p <= 0.0:
            return None
        return self.one if p >= 1.0 else sympy.Float(p)

    def rest(self, g: int, facts: Sequence[int]):
        members = self.w.members[g]
        if set(facts) >= set(members) and sum(self.w.probs[f] for f in members) >= 1.0 - 1e-12:
            return None  # a whole distribution: one of its facts always holds
        out = self.one
        for f in facts:
            weight = self.fact(f)
            if weight is not None:
                out = out - weight
        return out


@dataclass
class Polynomial:
    """A probability as an expanded sympy expression over the symbols of perceived facts.

    Attributes:
        expression: the expanded expression (sympy names).
        symbols: the symbols it may use, by fact id (with their display names and probabilities).
    """

    expression: sympy.Expr
    symbols: dict[int, FactSymbol] = field(default_factory=dict)

    def used(self) -> list[FactSymbol]:
        """The symbols that occur in the expression, in fact-id order."""
        free = {s.name for s in self.expression.free_symbols}
        return [s for s in self.symbols.values() if s.name in free]

    def values(self) -> dict[sympy.Symbol, float]:
        """The current probability of every symbol."""
        return {s.symbol: s.probability for s in self.symbols.values()}

    def value(self, changes: Mapping[int, float] | None = None) -> float:
        """The expression at the facts' probabilities, with ``changes`` (fact id -> probability) applied."""
        ids, function = self._compiled
        given = changes or {}
        return float(function(*(given.get(f, self.symbols[f].probability) for f in ids)))

    @functools.cached_property
    def _compiled(self) -> tuple[list[int], object]:
        """The expression as a plain Python function of every symbol, in fact-id order (made once)."""
        ids = sorted(self.symbols)
        return ids, sympy.lambdify([self.symbols[f].symbol for f in ids], self.expression, "math")

    def group_degree(self, group: int) -> int:
        """The largest number of factors of ``group``'s symbols in one term (0: none occurs).

        >>> w = FactWeights((0.5, 0.5), (0, 0))
        >>> symbolic_probability([frozenset({(0, True)})], w, fact_symbols([("a", ()), ("b", ())], w)).group_degree(0)
        1
        """
        return self._group_degrees.get(group, 0)

    @functools.cached_property
    def _group_degrees(self) -> dict[int, int]:
        group_of = {s.symbol: s.group for s in self.symbols.values()}
        out: dict[int, int] = {}
        for term in sympy.Add.make_args(self.expression):
            counts: dict[int, int] = {}
            for base, power in term.as_powers_dict().items():
                if base in group_of and power.is_Integer:
                    counts[group_of[base]] = counts.get(group_of[base], 0) + int(power)
            for g, n in counts.items():
                out[g] = max(out.get(g, 0), n)
        return out

    def moved(self, fact_id: int, t) -> dict[int, object]:
        """New probabilities of fact ``fact_id``'s group when that fact's becomes ``t`` (a number or a symbol).

        The other facts of its group share the rest, ``1 - t``, in proportion to their
        probabilities (each is scaled by ``(1 - t) / (1 - p)``), so a network's readings of
        one input still sum to 1; when ``p`` is 1 they share it equally. Facts of other
        groups keep theirs.

        >>> w = FactWeights((0.6, 0.3, 0.1), (0, 0, 0))
        >>> poly = symbolic_probability([frozenset({(1, True)})], w, fact_symbols([("d", (0, c)) for c in range(3)], w))
        >>> {f: round(p, 3) for f, p in poly.moved(0, 0.2).items()}
        {0: 0.2, 1: 0.6, 2: 0.2}
        """
        me = self.symbols[fact_id]
        others = [s for s in self.symbols.values() if s.group == me.group and s.fact_id != fact_id]
        rest = 1.0 - me.probability
        out: dict[int, object] = {fact_id: t}
        for s in others:
            out[s.fact_id] = s.probability * (1 - t) / rest if rest > 1e-12 else (1 - t) / len(others)
        return out

    def along(self, fact_id: int, t: sympy.Symbol) -> sympy.Expr:
        """The expression as a function of fact ``fact_id``'s probability ``t`` alone (``moved``; the rest fixed).

        >>> w = FactWeights((0.6, 0.4), (0, 0))
        >>> poly = symbolic_probability([frozenset({(1, True)})], w, fact_symbols([("d", (0, 0)), ("d", (0, 1))], w))
        >>> poly.along(0, sympy.Symbol("t"))
        1.0 - 1.0*t
        """
        subs = self.values()
        for f, value in self.moved(fact_id, t).items():
            subs[self.symbols[f].symbol] = value
        return sympy.expand(self.expression.xreplace(subs))

    def terms(self) -> list[sympy.Expr]:
        """The terms of the sum, the largest at the current probabilities first (ties: in sympy's order)."""
        parts = list(sympy.Add.make_args(self.expression))
        subs = self.values()
        return sorted(parts, key=lambda t: (-float(t.xreplace(subs)), sympy.default_sort_key(t)))

    def display(self, max_terms: int | None = None) -> str:
        """The expression with display names; with ``max_terms``, only the largest terms and a count of the rest.

        >>> x = FactSymbol(0, "p_a", "p(a)", 0.5, 0)
        >>> Polynomial(sympy.Symbol("p_a") * 2 + 1, {0: x}).display()
        '1 + 2*p(a)'
        """
        shown = self.terms()
        rest = 0
        if max_terms is not None and len(shown) > max_terms:
            shown, rest = shown[:max_terms], len(shown) - max_terms
        names = {s.symbol: sympy.Symbol(s.display) for s in self.symbols.values()}
        text = " + ".join(sympy.sstr(t.xreplace(names)) for t in shown) if shown else "0"
        text = text.replace("+ -", "- ")
        if rest:
            text += f" + ... ({rest} more term{'s' if rest != 1 else ''})"
        return text

    def text(self) -> str:
        """The expression in sympy syntax (``sympy.sympify`` reads it back)."""
        return sympy.sstr(self.expression)


def symbolic_probability(proofs: Iterable[Proof], weights: FactWeights,
                         symbols: Mapping[int, FactSymbol]) -> Polynomial:
    """The probability that at least one of ``proofs`` holds, as an expanded polynomial.

    Args:
        proofs: canonical proofs (``frozenset`` of ``(fact_id, positive)``).
        weights: every fact's probability and group.
        symbols: the perceived facts' symbols (``fact_symbols``); other facts are constants.

    Returns:
        A ``Polynomial``; ``value()`` equals ``wmc(proofs, weights)`` up to rounding.

    Example:
        >>> w = FactWeights((0.5, 0.5), (0, 1))
        >>> syms = fact_symbols([("a", ()), ("b", ())], w)
        >>> symbolic_probability([frozenset({(0, True)}), frozenset({(1, True)})], w, syms).display()
        'p(a) + p(b) - p(a)*p(b)'
    """
    expression = count_models(proofs, _Symbols(weights, symbols))
    return Polynomial(sympy.expand(sympy.sympify(expression)), dict(symbols))
