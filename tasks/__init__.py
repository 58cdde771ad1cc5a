"""Benchmark tasks: one folder per task with its data module, perception nets and data notes."""

__all__: list[str] = []
