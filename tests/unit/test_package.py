"""``import greybox``: cheap at run time, and every lazy name visible to type checkers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import greybox

INIT = Path(greybox.__file__)


def test_import_greybox_does_not_import_torch() -> None:
    code = "import greybox, sys; assert 'torch' not in sys.modules, 'torch'; assert 'pytorch_lightning' not in sys.modules"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def _type_checking_imports() -> dict[str, str]:
    """name -> module of the imports under ``if TYPE_CHECKING:`` in greybox/__init__.py."""
    out: dict[str, str] = {}
    for node in ast.parse(INIT.read_text()).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom), ast.dump(imp)
                for alias in imp.names:
                    out[alias.asname or alias.name] = imp.module if imp.module != "greybox" else f"greybox.{alias.name}"
    return out


def test_every_lazy_name_has_a_type_checking_import_from_the_same_module() -> None:
    seen = _type_checking_imports()
    expected = {name: module for name, module in greybox._LAZY.items()} | {"errors": "greybox.errors"}
    assert seen == expected


def test_every_lazy_name_resolves() -> None:
    for name in greybox.__all__:
        assert getattr(greybox, name) is not None, name
