"""The typed configuration of ``greybox learn-rules``, read from a YAML file.

Every option has a type and a default; a key the model does not know, a value of
the wrong type, or a file or folder that does not exist is a ``ConfigError`` that
names the config file, the line of the key and how to fix it.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "c.yaml"
    >>> _ = path.write_text("epochs: 3\\nepoch: 4\\n")
    >>> try:
    ...     load_config(path, check_paths=False)
    ... except ConfigError as err:
    ...     print(err.line, err.column, err.message, "|", err.hint[:24])
    2 1 unknown option 'epoch' | did you mean 'epochs'? t
    >>> load_config(None, {"epochs": 3}, check_paths=False).epochs
    3
"""

from __future__ import annotations

import difflib
import importlib
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from greybox.errors import ConfigError

__all__ = ["LearnRulesConfig", "load_config"]

_READER_HINT = "set reader to module.Class of the data set's graph reader, e.g. tasks.kinship.graphs.ClutrrGraphs"
_DATA_HINT = "set data_dir to the folder of the graph files (relative to the project root)"


class LearnRulesConfig(BaseModel):
    """What ``greybox learn-rules`` reads, learns and writes.

    ``greybox learn-rules`` makes relative paths absolute against the project root first.

    The options name no data set: a data set's config names its reader and files (e.g.
    ``experiments/kinship/learn_rules.yaml``, with ``tasks.kinship.graphs``).

    Attributes:
        reader: the data set's :class:`~greybox.learn.graphs.GraphReader` class, ``module.Class``
            importable from the project root (e.g. ``tasks.kinship.graphs.ClutrrGraphs``).
        data_dir: folder of the graph files.
        train_file: the training file inside ``data_dir``.
        test_file: name of the test file of chain length ``k`` (``{k}`` is replaced).
        test_ks: the chain lengths to test on; ``[]`` skips testing.
        max_train: read only the first rows of the training file (``None``: all).
        max_test_per_k: read only the first rows of each test file (``None``: all).
        background: rule files of the background knowledge, evaluated together.
        remove_chain_rules: take the background's chain rules out before learning.
        reference: the rule file whose chain rules the learned ones are compared with.
        relations: the binary relations of the candidate rules (``None``: every binary
            relation of the background).
        distinct_heads: relations whose learned rules add ``X \\= Z`` (irreflexive relations).
        parametrization: ``softmax`` (per body, over heads and "no rule") or ``sigmoid``.
        initial_weight: starting weight of every candidate rule (``None``: ``1 / (R + 1)``).
        epochs, lr, batch_size, seed: Adam's passes, learning rate, graphs per step, shuffling.
        steps: rounds of forward chaining in training (2 reach chains of 3 edges).
        rounds_from_edges: chain a graph of ``k`` edges ``min(steps, k - 1)`` rounds, the
            compositions its chain needs; ``False``: every graph ``steps`` rounds.
        depth_epochs: curriculum over the depth of reasoning: at most 1 round of chaining in the
            first ``depth_epochs`` epochs, at most 2 in the next, ... (0: none).
        tie_noise: relative size of the random factors that tell proofs of equal value apart
            in training (0: the first proof in relation order takes the gradient).
        sparsity: coefficient of the summed rule weights in the loss.
        negative_weight: coefficient of ``-log(1 - p)`` of the non-target relations.
        threshold: the smallest weight of an exported rule.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    reader: str | None = None
    data_dir: str | None = None
    train_file: str | None = None
    test_file: str | None = None
    test_ks: list[int] = Field(default_factory=list)
    max_train: int | None = Field(default=None, gt=0)
    max_test_per_k: int | None = Field(default=None, gt=0)
    background: list[str] = Field(default_factory=list)
    remove_chain_rules: bool = True
    reference: str | None = None
    relations: list[str] | None = None
    distinct_heads: list[str] = Field(default_factory=list)
    parametrization: Literal["softmax", "sigmoid"] = "softmax"
    initial_weight: float | None = Field(default=None, gt=0.0, lt=1.0)
    epochs: int = Field(default=40, gt=0)
    lr: float = Field(default=0.1, gt=0.0)
    batch_size: int = Field(default=256, gt=0)
    seed: int = 0
    steps: int = Field(default=2, gt=0)
    rounds_from_edges: bool = True
    tie_noise: float = Field(default=1e-4, ge=0.0, lt=0.01)
    depth_epochs: int = Field(default=10, ge=0)
    sparsity: float = Field(default=0.001, ge=0.0)
    negative_weight: float = Field(default=1.0, ge=0.0)
    threshold: float = Field(default=0.5, gt=0.0, le=1.0)

    def train_path(self) -> Path:
        """The training file."""
        return Path(self.data_dir or "") / (self.train_file or "")

    def test_path(self, k: int) -> Path:
        """The test file of chain length ``k``."""
        return Path(self.data_dir or "") / (self.test_file or "").format(k=k)

    def graph_reader(self):
        """An instance of the ``reader`` class.

        Raises:
            ConfigError: no reader is given, or it cannot be imported or built.
        """
        if not self.reader:
            raise ConfigError("the config names no reader of the graph files", hint=_READER_HINT)
        module, _, name = self.reader.rpartition(".")
        try:
            return getattr(importlib.import_module(module), name)()
        except (ImportError, AttributeError, ValueError, TypeError) as err:
            raise ConfigError(f"reader {self.reader!r} cannot be built: {err}", hint=_READER_HINT) from None


def _positions(text: str) -> dict[str, tuple[int, int]]:
    """Top-level key -> (line, column), 1-based, of a YAML mapping ({} when not a mapping)."""
    import yaml

    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: (k.start_mark.line + 1, k.start_mark.column + 1) for k, _ in node.value}


def _error(message: str, file: str, key: str | None, positions: dict, lines: list[str], hint: str) -> ConfigError:
    line, column = positions.get(key, (None, None)) if key else (None, None)
    source = lines[line - 1] if line and line <= len(lines) else None
    return ConfigError(message, file=file, line=line, column=column, source_line=source, hint=hint)


def load_config(
    path: str | os.PathLike | None,
    overrides: dict[str, Any] | None = None,
    *,
    check_paths: bool = True,
) -> LearnRulesConfig:
    """Read and check a config file.

    Args:
        path: the YAML file (``None``: the defaults).
        overrides: values that replace the file's (e.g. from command-line options).
        check_paths: also check that the data folder and every file named exist.

    Returns:
        The ``LearnRulesConfig``.

    Raises:
        ConfigError: the file is missing or not YAML, a key is unknown, a value has the
            wrong type or range, or (with ``check_paths``) a file or folder is missing.
    """
    import yaml

    file = os.fspath(path) if path is not None else "<defaults>"
    text = ""
    if path is not None:
        if not Path(path).is_file():
            raise ConfigError(f"config file not found (resolved: {Path(path).resolve()})", file=file,
                              hint="give the YAML file, e.g. --config experiments/kinship/learn_rules.yaml")
        text = Path(path).read_text()
    try:
        values = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise ConfigError(f"not valid YAML: {getattr(err, 'problem', err)}", file=file,
                          line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
                          hint="write one `option: value` per line") from None
    if not isinstance(values, dict):
        raise ConfigError("the config must be a mapping of options to values", file=file, line=1, column=1,
                          hint="write one `option: value` per line, e.g. epochs: 40")
    values = {**values, **(overrides or {})}
    positions, lines = _positions(text), text.splitlines()
    fields = list(LearnRulesConfig.model_fields)
    try:
        config = LearnRulesConfig(**values)
    except ValidationError as err:
        first = err.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else None
        if first["type"] == "extra_forbidden":
            close = difflib.get_close_matches(key or "", fields, n=1)
            hint = (f"did you mean {close[0]!r}? " if close else "") + f"the options are: {', '.join(fields)}"
            raise _error(f"unknown option {key!r}", file, key, positions, lines, hint) from None
        where = ".".join(str(p) for p in first["loc"])
        default = LearnRulesConfig.model_fields[key].default if key in LearnRulesConfig.model_fields else None
        raise _error(f"option {where!r}: {first['msg']} (got {first.get('input')!r})", file, key, positions, lines,
                     f"e.g. {key}: {default!r}" if default is not None else "see LearnRulesConfig") from None
    if check_paths:
        _check_paths(config, file, positions, lines)
    return config


def _check_paths(config: LearnRulesConfig, file: str, positions: dict, lines: list[str]) -> None:
    if config.data_dir is None:
        raise _error("no data_dir given", file, None, positions, lines, _DATA_HINT)
    folder = Path(config.data_dir)
    if not folder.is_dir():
        raise _error(f"data folder not found: {config.data_dir} (resolved: {folder.resolve()})", file, "data_dir",
                     positions, lines, _DATA_HINT)
    for key in ("train_file",) + (("test_file",) if config.test_ks else ()):
        if getattr(config, key) is None:
            raise _error(f"no {key} given", file, None, positions, lines, f"set {key} to a file in {config.data_dir}")
    wanted = [("train_file", config.train_path())] + [("test_file", config.test_path(k)) for k in config.test_ks]
    for key, p in wanted:
        if not p.is_file():
            raise _error(f"file not found: {p}", file, key, positions, lines,
                         f"put it in {config.data_dir}, or change {key}" + (" / test_ks" if key == "test_file" else ""))
    for key, names in (("background", config.background), ("reference", [config.reference] if config.reference else [])):
        for name in names:
            if not Path(name).is_file():
                raise _error(f"rule file not found: {name}", file, key, positions, lines,
                             "relative paths in a config file are relative to the project root (the folder with pyproject.toml)")
    if not config.background:
        raise _error("no background given", file, None, positions, lines,
                     "set background to the rule files that declare the relations, e.g. [knowledge/kinship.dl]")
    try:
        config.graph_reader()
    except ConfigError as err:
        raise _error(err.message, file, "reader", positions, lines, err.hint) from None
