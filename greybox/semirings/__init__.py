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
from .add_mult import AddMult
from .base import Algebra, FactTable, Semiring
from .boolean import Boolean
from .max_min import MaxMin
from .max_mult import MaxMult
from .top_k import ProofTag, TopKProofs

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
    "get_semiring",
]

_BY_NAME: dict[str, type[Semiring]] = {
    cls.name: cls for cls in (Boolean, MaxMin, AddMult, MaxMult, TopKProofs)
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
    except (TypeError, ValueError) as err:
        raise ConfigError(
            f"bad arguments for semiring {key!r}: {err}",
            hint="only top-k takes an argument: k, a positive integer" if kwargs else None,
        ) from err
