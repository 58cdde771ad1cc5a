"""Reading the YAML configs of the Lightning commands: where relative paths point, and what a mistake says.

The rule for paths: **a relative path written in a config file is relative to the
project root**, the nearest folder above the (first) config file that holds a
``pyproject.toml`` (the config's own folder when there is none); a relative path given
on the command line (``--model.program my.dl``) is relative to the current directory,
as with any command. So ``greybox fit --config /repo/experiments/digit_sum/sum2_digits.yaml``
reads ``/repo/knowledge/digit_sum.dl`` from wherever it is run. The values that are
paths are the options named in ``PATH_KEYS``.

A mistake found while parsing (a YAML syntax error, an unknown option, a value of the
wrong type, a missing file) becomes a ``ConfigError`` that names the file and line of
the offending key when a config file holds it.

Example:
    >>> absolute_cli_paths(["fit", "--model.program", "a.dl", "--trainer.max_epochs=2"], "/home/u")
    ['fit', '--model.program', '/home/u/a.dl', '--trainer.max_epochs=2']
    >>> translate_argument_error('Group \\'trainer\\' does not accept option \\'max_epochz\\'', [], []).message
    "unknown option 'trainer.max_epochz'"
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..errors import ConfigError

__all__ = [
    "PATH_KEYS",
    "INPUT_KEYS",
    "project_root",
    "config_files",
    "absolute_cli_paths",
    "check_yaml",
    "resolve_paths",
    "inputs_as_given",
    "check_inputs",
    "locate_key",
    "translate_argument_error",
]

#: option names whose values are paths (inputs and outputs), wherever they are in a config
PATH_KEYS = frozenset({"program", "data_dir", "encoder_path", "default_root_dir", "dirpath", "save_dir"})
#: the paths among them that must exist before anything is built
INPUT_KEYS = frozenset({"program", "data_dir", "encoder_path"})

_RULE = "relative paths in a config file are relative to the project root"


def project_root(start: str | os.PathLike) -> Path:
    """The nearest folder at or above ``start`` (a file or a folder) that holds a ``pyproject.toml``.

    Falls back to ``start``'s own folder when no folder above has one.

    >>> project_root(Path(__file__)) == Path(__file__).resolve().parents[2]
    True
    """
    here = Path(start).resolve()
    folder = here if here.is_dir() else here.parent
    for candidate in (folder, *folder.parents):
        if (candidate / "pyproject.toml").is_file():
            return candidate
    return folder


def config_files(args: Sequence[str]) -> list[str]:
    """The files given with ``--config FILE``, ``--config=FILE`` or ``-c FILE``, in order.

    >>> config_files(["fit", "--config", "a.yaml", "-c", "b.yaml", "--config=c.yaml", "--trainer.max_epochs=1"])
    ['a.yaml', 'b.yaml', 'c.yaml']
    """
    out = []
    for i, arg in enumerate(args):
        if arg in ("--config", "-c") and i + 1 < len(args):
            out.append(args[i + 1])
        elif arg.startswith("--config="):
            out.append(arg.split("=", 1)[1])
    return out


def _option_key(option: str) -> str | None:
    """``--model.init_args.program`` -> ``program``: the last part of a dotted option, or None."""
    if not option.startswith("--") or option == "--":
        return None
    return option[2:].split("=", 1)[0].rsplit(".", 1)[-1]


def _absolute(value: str, base: str | os.PathLike) -> str:
    return value if not value or os.path.isabs(value) else os.path.normpath(os.path.join(base, value))


def _absolute_value(text: str, base: str | os.PathLike) -> str:
    """A path, or a YAML/JSON list of paths, as written on the command line, made absolute."""
    stripped = text.strip()
    if stripped.startswith("[") and stripped.endswith("]"):
        import yaml

        try:
            items = yaml.safe_load(stripped)
        except yaml.YAMLError:
            return text
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            return "[" + ", ".join(_absolute(i, base) for i in items) + "]"
        return text
    if stripped.lower() in ("null", "none", "~", ""):
        return text
    return _absolute(text, base)


def absolute_cli_paths(args: Sequence[str], cwd: str | os.PathLike) -> list[str]:
    """``args`` with every relative path option (``PATH_KEYS``) made absolute against ``cwd``.

    What the command line says is relative to where the command runs; what is left
    relative after this came from a config file (see ``resolve_paths``).
    """
    out = list(args)
    i = 0
    while i < len(out):
        key = _option_key(out[i])
        if key in PATH_KEYS:
            if "=" in out[i]:
                option, value = out[i].split("=", 1)
                out[i] = f"{option}={_absolute_value(value, cwd)}"
            elif i + 1 < len(out):
                out[i + 1] = _absolute_value(out[i + 1], cwd)
                i += 1
        i += 1
    return out


def check_yaml(file: str) -> None:
    """Raise ``ConfigError`` naming ``file:line`` when the config file is missing or not a YAML mapping."""
    import yaml

    path = Path(file)
    if not path.is_file():
        raise ConfigError(f"config file not found (tried {path.resolve()})", file=file,
                          hint="give the YAML of an experiment, e.g. --config experiments/digit_sum/sum2_digits.yaml")
    text = path.read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        what = " ".join(str(err.problem or err.context or "not valid YAML").split())
        if err.context and err.context_mark is not None and err.problem:
            what += f" ({err.context} at line {err.context_mark.line + 1})"
        raise ConfigError(f"YAML syntax error: {what}", file=file, line=mark.line + 1 if mark else None,
                          column=mark.column + 1 if mark else None,
                          hint="fix the YAML at that line (a bracket, quote or indentation)") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"YAML syntax error: {' '.join(str(err).split())}", file=file,
                          hint="fix the YAML of this file") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError("a config must be a mapping of sections (trainer:, model:, data:)", file=file, line=1,
                          hint="write `section:` keys at the top level")


def _walk(node: Any, visit, key: str | None = None) -> Any:
    """Apply ``visit(key, value) -> value`` to every leaf under a key of ``PATH_KEYS``; returns the node."""
    from jsonargparse import Namespace

    if isinstance(node, Namespace):
        for name in list(vars(node)):
            setattr(node, name, _walk(getattr(node, name), visit, name))
        return node
    if isinstance(node, dict):
        for name in list(node):
            node[name] = _walk(node[name], visit, name)
        return node
    if key in PATH_KEYS:
        return visit(key, node)
    if isinstance(node, list):
        return [_walk(item, visit, None) for item in node]
    return node


def resolve_paths(config: Any, root: str | os.PathLike) -> Any:
    """Make every relative path of a parsed config (``PATH_KEYS``) absolute against ``root``, in place."""

    def visit(key: str, value: Any) -> Any:
        if isinstance(value, (str, os.PathLike)):
            return _absolute(os.fspath(value), root)
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return type(value)(_absolute(v, root) for v in value)
        return value

    return _walk(config, visit)


def inputs_as_given(config: Any, cwd: str | os.PathLike) -> Any:
    """A copy of a resolved config whose input paths (``INPUT_KEYS``) below ``cwd`` are relative to it again.

    The constructors read these paths and keep them (a trace names its rule file), so a run
    from the project root shows ``knowledge/kinship.dl`` as before, not an absolute path.
    """
    import copy

    base = os.path.abspath(cwd)

    def shorter(path: Any) -> Any:
        if isinstance(path, str) and os.path.isabs(path) and (path + os.sep).startswith(base + os.sep):
            return os.path.relpath(path, base)
        return path

    def visit(key: str, value: Any) -> Any:
        if key not in INPUT_KEYS:
            return value
        if isinstance(value, (list, tuple)):
            return type(value)(shorter(v) for v in value)
        return shorter(value)

    return _walk(copy.deepcopy(config), visit)


def check_inputs(config: Any, files: Sequence[str], root: str | os.PathLike, args: Sequence[str] = ()) -> None:
    """Raise ``ConfigError`` for the first input path (``INPUT_KEYS``) that does not exist.

    The error names the path tried and, when a config file sets the key (and the command
    line ``args`` do not), its file and line.
    """
    problems: list[tuple[str, str]] = []

    def visit(key: str, value: Any) -> Any:
        if key in INPUT_KEYS:
            for item in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(item, str) and item and not Path(item).exists():
                    problems.append((key, item))
        return value

    _walk(config, visit)
    if not problems:
        return
    key, path = problems[0]
    what = {"program": "rule file", "data_dir": "data folder", "encoder_path": "encoder"}[key]
    if any(_option_key(arg) == key for arg in args):
        raise ConfigError(f"{what} not found: {path}",
                          hint="a path given on the command line is relative to the current directory")
    raise ConfigError(f"{what} not found: {path}", **_locate_value(files, key), hint=f"{_RULE} ({root})")


def _yaml_nodes(file: str):
    import yaml

    try:
        return yaml.compose(Path(file).read_text())
    except (OSError, yaml.YAMLError):
        return None


def _location(file: str, node) -> dict:
    lines = Path(file).read_text().splitlines()
    line = node.start_mark.line + 1
    return {"file": file, "line": line, "column": node.start_mark.column + 1,
            "source_line": lines[line - 1] if line <= len(lines) else None}


def locate_key(files: Sequence[str], dotted: str) -> dict:
    """``file``, ``line``, ``column``, ``source_line`` of the key ``a.b.c`` in the last config file that sets it.

    ``init_args`` levels may be left out of ``dotted`` (``model.lr`` finds ``model: {init_args: {lr: ..}}``).
    Returns ``{}`` when no file sets it.
    """
    import yaml

    parts = [p for p in dotted.split(".") if p and p != "init_args"]
    for file in reversed(list(files)):
        node = _yaml_nodes(file)
        found = None
        for part in parts:
            if not isinstance(node, yaml.MappingNode):
                node = None
                break
            entries = {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
            if part not in entries and "init_args" in entries:
                entries = {k.value: (k, v) for k, v in entries["init_args"][1].value
                           if isinstance(k, yaml.ScalarNode)} if isinstance(entries["init_args"][1], yaml.MappingNode) else {}
            if part not in entries:
                node = None
                break
            found, node = entries[part]
        if node is not None and found is not None:
            return _location(file, found)
    return {}


def _locate_value(files: Sequence[str], key: str) -> dict:
    """Where the last config file that has a key named ``key`` (at any depth) sets it."""
    import yaml

    for file in reversed(list(files)):
        todo = [_yaml_nodes(file)]
        hit = None
        while todo:
            node = todo.pop()
            if isinstance(node, yaml.MappingNode):
                for k, v in node.value:
                    if isinstance(k, yaml.ScalarNode) and k.value == key:
                        hit = k
                    todo.append(v)
            elif isinstance(node, yaml.SequenceNode):
                todo.extend(node.value)
        if hit is not None:
            return _location(file, hit)
    return {}


def _on_command_line(args: Sequence[str], dotted: str) -> bool:
    want = [p for p in dotted.split(".") if p != "init_args"]
    for arg in args:
        if arg.startswith("--"):
            parts = [p for p in arg[2:].split("=", 1)[0].split(".") if p != "init_args"]
            if parts[:len(want)] == want:  # the option, or one inside it (a section given a class_path)
                return True
    return False


def _parameters(class_path: str) -> list[str]:
    """The constructor's parameter names of ``class_path`` ([] when it cannot be imported)."""
    module_name, _, name = class_path.rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), name)
        return [p for p in inspect.signature(cls).parameters if p not in ("self", "args", "kwargs")]
    except Exception:  # noqa: BLE001 - only used for a suggestion
        return []


_SECTIONS = {"trainer": "pytorch_lightning.Trainer"}
_TOP = ("seed_everything", "trainer", "model", "data", "ckpt_path", "optimizer", "lr_scheduler")


def _suggest(key: str, class_path: str | None) -> str:
    head, _, last = key.rpartition(".")
    section = head.split(".")[0] if head else ""
    candidates = _parameters(class_path) if class_path else (
        _parameters(_SECTIONS[section]) if section in _SECTIONS else (list(_TOP) if not head else []))
    close = difflib.get_close_matches(last, candidates, n=1)
    return f"did you mean '{head + '.' if head else ''}{close[0]}'? " if close else ""


def translate_argument_error(message: str, args: Sequence[str], files: Sequence[str],
                             command: str = "fit") -> ConfigError:
    """The ``ConfigError`` that a parsing error of the configuration library stands for.

    Args:
        message: the library's (multi-line) message.
        args: the command line (to tell an option typed there from a key in a file).
        files: the config files, to name the file and line of the offending key.
        command: the sub-command, for the hint.
    """
    text = str(message)
    help_hint = f"`greybox {command} --help` lists the options"
    class_path = next(iter(re.findall(r"Problem with given class_path '([^']+)'", text)), None)
    outer = re.match(r'\s*Parser key "([^"]+)"', text)
    prefix = outer.group(1) if outer else ""

    def where(key: str) -> dict:
        return {} if _on_command_line(args, key) else locate_key(files, key)

    m = re.search(r"unrecognized arguments: (\S+)", text)
    if m:
        option = m.group(1).split("=", 1)[0]
        return ConfigError(f"unknown option {option}", hint=_suggest(option.lstrip("-"), None) + help_hint)
    m = re.search(r"(Group|Subcommand) '([^']+)' does not accept option '([^']+)'", text)
    m2 = re.search(r"Option '([^']+)' is not accepted", text)
    if m or m2:
        if m:
            key = f"{m.group(2)}.{m.group(3)}" if m.group(1) == "Group" else m.group(3)
        else:
            key = m2.group(1)
        if prefix and not key.startswith(prefix + "."):
            key = f"{prefix}.{key}"
        return ConfigError(f"unknown option '{key}'", **where(key), hint=_suggest(key, class_path) + help_hint)
    expected = [t for t in re.findall(r"Expected a <class '([^']+)'>", text) if t != "NoneType"]
    if expected:
        keys = re.findall(r'Parser key "([^"]+)"', text)
        key = ".".join(k for i, k in enumerate(keys) if i == 0 or not k.startswith(keys[0] + "."))
        got = re.search(r"Got value: (.*)", text) or re.search(r"Given value: (.*)", text)
        value = f", got {got.group(1).strip()!r}" if got else ""
        return ConfigError(f"{key}: expected {' or '.join(expected)}{value}", **where(key),
                           hint=f"`greybox {command} --help` shows each option's type")
    m = re.search(r"Problem with given class_path '[^']+':\s*\n\s*(.+)", text)
    first = m.group(1).strip() if m else next((line.strip() for line in text.splitlines() if line.strip()), text)
    key = prefix or None
    return ConfigError(f"{key + ': ' if key else ''}{first}", **(where(key) if key else {}),
                       hint="--debug prints the full message; " + help_hint)
