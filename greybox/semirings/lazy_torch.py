"""``torch``, imported on first use.

Each semiring family's file holds its tensor forms beside its plain-Python one. The
reference evaluator (and so ``greybox query``) uses only the plain-Python forms, and
importing torch takes seconds; the tensor forms therefore reach torch through this
stand-in, which imports it when one of its attributes is first read and then keeps
each attribute it handed out, so later reads are plain attribute reads (a patch of a torch attribute made after
the semirings first read it is therefore not seen by them).

Example:
    >>> from greybox.semirings.lazy_torch import torch
    >>> torch.tensor([1.0, 2.0]).sum().item()
    3.0
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["torch"]


class _LazyTorch:
    """Forwards attribute reads to the ``torch`` module, importing it on the first one."""

    def __getattr__(self, name: str) -> Any:
        value = getattr(importlib.import_module("torch"), name)
        setattr(self, name, value)  # later reads skip __getattr__
        return value

    def __repr__(self) -> str:
        return "<torch, imported on first use>"


torch: Any = _LazyTorch()
