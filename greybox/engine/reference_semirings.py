"""Choosing the plain-Python semiring of a reference evaluation by name.

The semirings themselves live in ``greybox.semirings``, each family in one file with
its tensor, dense and scalar forms (``BooleanScalar``, ``AddMultScalar``,
``MaxMultScalar``, ``MaxMinScalar``, ``TopKScalar``; ``ProofsScalar`` keeps every
proof); ``greybox.semirings.scalar`` describes the scalar protocol.

Example:
    >>> make_semiring("top-k", k=5)
    TopKScalar(k=5)
    >>> make_semiring("max-mult")
    MaxMultScalar()
"""

from __future__ import annotations

from ..errors import ConfigError
from ..semirings import SCALAR_SEMIRINGS, Semiring
from ..semirings.scalar import ScalarSemiring
from ..semirings.top_k import TopKScalar

__all__ = ["make_semiring"]


def make_semiring(spec: str | ScalarSemiring | Semiring, *, k: int = 3) -> ScalarSemiring:
    """A scalar semiring from its name (``k`` is used by ``top-k``), a tensor semiring, or the object itself.

    Raises:
        ConfigError: for an unknown name, or ``k < 1`` with ``top-k``.

    >>> from greybox.semirings import TopKProofs
    >>> make_semiring(TopKProofs(k=2))
    TopKScalar(k=2)
    >>> make_semiring("fuzzy")
    Traceback (most recent call last):
    ...
    greybox.errors.ConfigError: unknown semiring 'fuzzy'
    hint: use one of add-mult, boolean, max-min, max-mult, proofs, top-k
    """
    if isinstance(spec, ScalarSemiring):
        return spec
    if isinstance(spec, Semiring):
        return spec.scalar_form()
    if spec == "top-k":
        return TopKScalar(k)
    cls = SCALAR_SEMIRINGS.get(spec)
    if cls is None:
        raise ConfigError(
            f"unknown semiring {spec!r}",
            hint=f"use one of {', '.join(sorted(SCALAR_SEMIRINGS))}",
        )
    return cls()
