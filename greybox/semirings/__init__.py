"""Provenance semirings: what a derived tuple carries besides its existence.

``get_semiring(name, **kwargs)`` builds one by name, as configuration files give it:

>>> get_semiring("top-k", k=2)
TopKProofs(k=2)
>>> get_semiring("max_mult")
MaxMult()
>>> get_semiring("fuzzy")
Traceback (most recent call last):
...
greybox.errors.ConfigError: unknown semiring 'fuzzy'
hint: use one of: boolean, max-min, add-mult, max-mult, top-k
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .add_mult import AddMult, AddMultDense, AddMultScalar
from .base import Algebra, FactTable, Semiring
from .boolean import Boolean, BooleanDense, BooleanScalar
from .dense import DenseKernel
from .max_min import MaxMin, MaxMinDense, MaxMinScalar
from .max_mult import MaxMult, MaxMultDense, MaxMultScalar
from .proofs import ProofsScalar
from .scalar import ScalarSemiring
from .top_k import ProofTag, TopKProofs, TopKScalar

__all__ = [
    "Semiring",
    "Algebra",
    "FactTable",
    "Boolean",
    "MaxMin",
    "AddMult",
    "MaxMult",
    "TopKProofs",
    "ProofTag",
    "DenseKernel",
    "BooleanDense",
    "MaxMinDense",
    "AddMultDense",
    "MaxMultDense",
    "ScalarSemiring",
    "BooleanScalar",
    "MaxMinScalar",
    "AddMultScalar",
    "MaxMultScalar",
    "TopKScalar",
    "ProofsScalar",
    "SEMIRINGS",
    "SCALAR_SEMIRINGS",
    "get_semiring",
]

#: every tensor semiring by name; a new family is one file plus its entry here
SEMIRINGS: dict[str, type[Semiring]] = {
    cls.name: cls for cls in (Boolean, MaxMin, AddMult, MaxMult, TopKProofs)
}
_BY_NAME = SEMIRINGS

#: the plain-Python forms by name (the families' ``scalar``, and ``proofs``, which keeps every proof)
SCALAR_SEMIRINGS: dict[str, type[ScalarSemiring]] = {
    **{name: cls.scalar for name, cls in SEMIRINGS.items() if cls.scalar is not None},
    ProofsScalar.name: ProofsScalar,
}


def get_semiring(name: str, **kwargs: Any) -> Semiring:
    """The semiring called ``name`` (``-`` or ``_`` between words), built with ``kwargs``.

    Args:
        name: one of ``boolean``, ``max-min``, ``add-mult``, ``max-mult``, ``top-k``.
        **kwargs: constructor arguments, e.g. ``k=5`` for ``top-k``.

    Returns:
        A new ``Semiring``.

    Raises:
        ConfigError: the name is unknown or the arguments do not fit the semiring.
    """
    key = name.strip().lower().replace("_", "-")
    cls = _BY_NAME.get(key)
    valid = ", ".join(_BY_NAME)
    if cls is None:
        raise ConfigError(f"unknown semiring {name!r}", hint=f"use one of: {valid}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, ConfigError) as err:
        reason = err.message if isinstance(err, ConfigError) else str(err)
        raise ConfigError(
            f"bad arguments for semiring {key!r}: {reason}",
            hint="only top-k takes an argument: k, a positive integer" if kwargs else None,
        ) from err
