"""Training through the rules with Lightning: ``ReasoningTask`` and the ``greybox`` Lightning commands."""

from __future__ import annotations

__all__ = ["ReasoningTask", "TraceWriter", "sequence_facts", "lightning_main"]


def __getattr__(name: str):
    if name in ("ReasoningTask", "sequence_facts"):
        from . import module

        return getattr(module, name)
    if name == "TraceWriter":
        from .callbacks import TraceWriter

        return TraceWriter
    if name == "lightning_main":
        from .cli import lightning_main

        return lightning_main
    raise AttributeError(f"module 'greybox.training' has no attribute {name!r}")
