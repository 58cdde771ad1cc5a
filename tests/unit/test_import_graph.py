"""Who may import whom in ``greybox/``, and no import cycle at import time.

The table below is the design's (``errors ← lang ← semirings ← engine ← neural ←
training``, ``kb`` beside ``lang``, ``learn``, ``trace`` and ``query`` above ``engine``). Every
module's imports are read statically (``ast``), those inside functions and under
``if TYPE_CHECKING:`` included, so that an import put off until first use still counts.
Cycles are looked for among the imports that run when a module is imported (not those
inside functions, not the type-only ones), and, in ``ACYCLIC`` packages, among all the
imports that run (those inside functions too).
"""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "greybox"

#: package -> the packages it may import (besides itself); a package is the first name under
#: ``greybox`` (``greybox/errors.py`` is ``errors``)
ALLOWED: dict[str, set[str]] = {
    "errors": set(),
    "lang": {"errors"},
    "semirings": {"errors", "lang"},
    "engine": {"errors", "lang", "semirings"},
    "kb": {"errors", "lang"},
    "learn": {"errors", "lang", "engine", "semirings", "kb"},
    "trace": {"errors", "lang", "semirings", "engine", "kb"},
    "neural": {"errors", "lang", "semirings", "engine"},
    "query": {"errors", "lang", "semirings", "engine", "kb"},
    "training": {"errors", "lang", "semirings", "engine", "kb", "learn", "trace", "neural"},
}

#: modules of ``greybox/`` outside the table: the package itself and the command-line entry
#: points, which sit above everything (as ``training``)
OUTSIDE = {"greybox", "cli", "demo", "query_cli"}

#: imports against the table that the code has today: (importing module, imported module).
#: Each is a dependency to remove; the test fails when one goes away, so that this list shrinks.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()

#: packages where no cycle is allowed, among the imports that run at import time and among
#: all that run (function-level imports included)
ACYCLIC = ["engine"]

#: cycles through function-level imports that the code has today, outside ``ACYCLIC``
#: (the test fails when one goes away, so that this list shrinks)
KNOWN_RUN_TIME_CYCLES = [["greybox.cli", "greybox.query_cli"]]


@dataclass(frozen=True)
class Import:
    """One import of ``target`` (a greybox module) by ``source``."""

    source: str
    target: str
    line: int
    at_import_time: bool  # False: inside a function, or under ``if TYPE_CHECKING:``
    type_only: bool = False  # under ``if TYPE_CHECKING:``: never run


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _package(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """The greybox modules ``module`` imports: a package's ``__init__`` counts for each import under it
    (except the packages that hold ``module``)."""
    is_package = path.name == "__init__.py"
    out: list[Import] = []

    def targets(name: str) -> list[str]:
        # a package above ``module`` is imported before it, whatever it imports: never a cycle, never a new edge
        parts = name.split(".")
        return [prefix for k in range(1, len(parts) + 1)
                if (prefix := ".".join(parts[:k])) in modules and not module.startswith(prefix + ".")]

    def visit(node: ast.AST, at_import_time: bool, type_only: bool = False) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            at_import_time = False
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.body:
                visit(child, False, True)
            for child in node.orelse:
                visit(child, at_import_time, type_only)
            return
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                parent = ".".join(base + ([node.module] if node.module else []))
            else:
                parent = node.module or ""
            names = [parent] + [f"{parent}.{alias.name}" for alias in node.names]
        for name in names:
            for target in targets(name):
                if target != module:
                    out.append(Import(module, target, getattr(node, "lineno", 0), at_import_time, type_only))
        for child in ast.iter_child_nodes(node):
            visit(child, at_import_time, type_only)

    visit(ast.parse(path.read_text(), filename=str(path)), True)
    return out


@functools.lru_cache(maxsize=1)
def _all_imports() -> tuple[Import, ...]:
    modules = _modules()
    return tuple(imp for name, path in modules.items() for imp in _imports(name, path, modules))


def _violations() -> list[Import]:
    out = []
    for imp in _all_imports():
        source, target = _package(imp.source), _package(imp.target)
        if source in OUTSIDE or target in OUTSIDE and target != "greybox":
            continue
        if target == "greybox":  # ``import greybox`` only: the lazy top-level package
            continue
        if source != target and target not in ALLOWED[source]:
            out.append(imp)
    return out


def _cycles(imports: "tuple[Import, ...] | list[Import]", package: str, run_time: bool = False) -> list[list[str]]:
    """Strongly connected components of more than one module among the imports inside ``package``
    ("": all of greybox) that run at import time, or (``run_time``) that run at all."""
    prefix = f"greybox.{package}" if package else "greybox"
    graph: dict[str, set[str]] = {}
    for imp in imports:
        runs = not imp.type_only if run_time else imp.at_import_time
        if runs and imp.source.startswith(prefix) and imp.target.startswith(prefix):
            graph.setdefault(imp.source, set()).add(imp.target)
            graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:  # Tarjan
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_every_module_is_in_the_table():
    packages = {_package(name) for name in _modules()}
    assert packages - set(ALLOWED) - OUTSIDE == set()


def test_imports_follow_the_package_table():
    found = {(imp.source, imp.target) for imp in _violations()}
    new = sorted(found - KNOWN_VIOLATIONS)
    assert not new, "imports against the package table:\n" + "\n".join(
        f"  {s} imports {t} (line {next(i.line for i in _violations() if (i.source, i.target) == (s, t))})"
        for s, t in new
    )
    gone = sorted(KNOWN_VIOLATIONS - found)
    assert not gone, f"no longer imported, remove from KNOWN_VIOLATIONS: {gone}"


@pytest.mark.parametrize("package", ACYCLIC)
def test_no_import_cycle_at_import_time(package):
    assert _cycles(_all_imports(), package) == []


@pytest.mark.parametrize("package", ACYCLIC)
def test_no_import_cycle_through_function_level_imports(package):
    assert _cycles(_all_imports(), package, run_time=True) == []


def test_no_import_cycle_at_import_time_anywhere():
    assert _cycles(_all_imports(), "") == []


def test_run_time_cycles_elsewhere_are_the_known_ones():
    assert _cycles(_all_imports(), "", run_time=True) == KNOWN_RUN_TIME_CYCLES


def test_the_reader_resolves_relative_function_level_and_type_only_imports(tmp_path):
    modules = {"greybox.engine.a": tmp_path / "a.py", "greybox.engine.b": tmp_path / "b.py",
               "greybox.engine": tmp_path / "__init__.py", "greybox.neural": tmp_path / "n.py",
               "greybox.neural.m": tmp_path / "m.py"}
    modules["greybox.engine.a"].write_text(
        "from typing import TYPE_CHECKING\nfrom . import b\nif TYPE_CHECKING:\n    from .b import x\n"
        "def f():\n    from ..neural.m import y\n"
    )
    got = {(i.target, i.at_import_time) for i in _imports("greybox.engine.a", modules["greybox.engine.a"], modules)}
    # greybox.engine holds a: left out; greybox.neural is imported on the way to greybox.neural.m
    assert got == {("greybox.engine.b", True), ("greybox.engine.b", False), ("greybox.neural", False),
                   ("greybox.neural.m", False)}


def test_cycles_count_what_runs():
    a_b = Import("greybox.engine.a", "greybox.engine.b", 1, True)
    b_a = Import("greybox.engine.b", "greybox.engine.a", 1, True)
    assert _cycles([a_b, b_a], "engine") == [["greybox.engine.a", "greybox.engine.b"]]
    in_function = Import("greybox.engine.b", "greybox.engine.a", 1, False)
    assert _cycles([a_b, in_function], "engine") == []
    assert _cycles([a_b, in_function], "engine", run_time=True) == [["greybox.engine.a", "greybox.engine.b"]]
    type_only = Import("greybox.engine.b", "greybox.engine.a", 1, False, type_only=True)
    assert _cycles([a_b, type_only], "engine", run_time=True) == []


def test_every_module_imports_in_a_fresh_interpreter():
    names = sorted(_modules())
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    done = subprocess.run([sys.executable, "-c", code, *names], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
