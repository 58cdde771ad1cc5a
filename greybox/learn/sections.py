"""Configs in sections (``data`` and ``model``, each a ``class_path`` with ``init_args``) for ``greybox learn-rules``.

Such a config names the classes to build; the model's ``learn_rules(data, output, command=..., log=...)``
learns, writes the rule file ``output`` and returns its report (a JSON-ready dict). This is how
``greybox learn-rules --config experiments/kg/kinship.yaml -o kinship.dl`` runs a learner that
lives with its task, without greybox knowing the task.

Example:
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.yaml"
    >>> _ = p.write_text("data:\\n  class_path: a.B\\nmodel:\\n  class_path: a.C\\n")
    >>> is_sectioned_config(p)
    True
    >>> _ = p.write_text("epochs: 3\\n")
    >>> is_sectioned_config(p)
    False
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from greybox.errors import ConfigError

__all__ = ["is_sectioned_config", "build_sections", "run_sectioned"]


def _load(path: str | os.PathLike):
    import yaml

    try:
        return yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return None


def is_sectioned_config(path: str | os.PathLike | None) -> bool:
    """Whether the YAML file at ``path`` has ``data`` and ``model`` sections with a ``class_path``."""
    values = _load(path) if path is not None and Path(path).is_file() else None
    return isinstance(values, dict) and all(
        isinstance(values.get(k), dict) and "class_path" in values[k] for k in ("data", "model"))


def _build(section: dict, name: str, file: str):
    path = section["class_path"]
    module, _, cls = str(path).rpartition(".")
    try:
        factory = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError, ValueError) as err:
        raise ConfigError(f"{name}.class_path {path!r} cannot be imported: {err}", file=file,
                          hint="give module.Class, importable from the project root") from None
    try:
        return factory(**(section.get("init_args") or {}))
    except TypeError as err:
        raise ConfigError(f"{name}.init_args do not fit {path}: {err}", file=file,
                          hint=f"see the arguments of {cls}") from None


def build_sections(path: str | os.PathLike, prepare=None):
    """``(data, model)`` built from a sectioned config.

    Args:
        path: the YAML file.
        prepare: applied to the parsed values before the classes are built (the command
            makes relative paths absolute with it).

    Raises:
        ConfigError: a class cannot be imported, its arguments do not fit, or the model has
            no ``learn_rules`` method.
    """
    values = _load(path)
    if not is_sectioned_config(path):
        raise ConfigError("the config has no data and model sections with a class_path", file=str(path),
                          hint="see experiments/kg/kinship.yaml")
    if prepare is not None:
        values = prepare(values)
    data, model = (_build(values[k], k, str(path)) for k in ("data", "model"))
    if not callable(getattr(model, "learn_rules", None)):
        raise ConfigError(f"{type(model).__name__} has no learn_rules(data, output, ...) method", file=str(path),
                          hint="greybox learn-rules runs a model that learns rules")
    return data, model


def run_sectioned(config: str | os.PathLike, output: str, *, command: str, log=None, prepare=None) -> dict:
    """Build the sections and run ``model.learn_rules(data, output, command=..., log=...)``; its report."""
    if not output.endswith(".dl"):
        raise ConfigError(f"the output {output!r} is not a .dl file", hint="e.g. -o learned.dl")
    data, model = build_sections(config, prepare)
    return model.learn_rules(data, output, command=command, log=log)
