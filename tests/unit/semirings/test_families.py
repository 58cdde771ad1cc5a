"""Each semiring family lives in one file: its tensor, dense and plain-Python forms together."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import greybox.semirings as semirings
from greybox.engine.dense.kernels import kernel_class
from greybox.engine.reference_semirings import make_semiring
from greybox.semirings import SCALAR_SEMIRINGS, SEMIRINGS, TopKProofs


@pytest.mark.parametrize("name", sorted(SEMIRINGS))
def test_every_form_of_a_family_is_defined_in_its_file(name: str) -> None:
    cls = SEMIRINGS[name]
    assert cls.scalar is not None and cls.scalar.__module__ == cls.__module__
    assert cls.scalar.name == cls.name
    if cls.dense is not None:
        assert cls.dense.__module__ == cls.__module__
    assert kernel_class(cls(**({"k": 2} if cls is TopKProofs else {}))) is cls.dense
    # the reference evaluator finds the same family by name
    assert type(make_semiring(name)) is cls.scalar


def test_only_top_k_has_no_dense_kernels() -> None:
    assert [name for name, cls in SEMIRINGS.items() if cls.dense is None] == ["top-k"]
    assert set(SCALAR_SEMIRINGS) == set(SEMIRINGS) | {"proofs"}


def test_no_two_classes_share_a_name_across_the_semiring_modules() -> None:
    owners: dict[str, str] = {}
    for info in pkgutil.iter_modules(semirings.__path__):
        module = importlib.import_module(f"greybox.semirings.{info.name}")
        for cls_name, obj in vars(module).items():
            if inspect.isclass(obj) and obj.__module__ == module.__name__:
                assert cls_name not in owners, f"{cls_name} in {module.__name__} and {owners[cls_name]}"
                owners[cls_name] = module.__name__
    for old in ("Boolean", "AddMult", "MaxMult", "MaxMin"):  # the tensor semirings' names only
        assert owners[old] != "greybox.semirings.scalar"


def test_a_tensor_semiring_gives_its_scalar_form_with_the_same_settings() -> None:
    form = make_semiring(TopKProofs(k=4, drop_impossible=False))
    assert form.k == 4 and form.drop_impossible is False


def test_the_reference_evaluator_does_not_import_torch() -> None:
    code = ("import sys, greybox.engine.reference, greybox.semirings; "
            "from greybox.semirings import AddMultScalar; "
            "print(AddMultScalar().add(0.5, 0.25), 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["0.75", "False"]


def test_a_semiring_without_a_plain_python_form_says_how_to_give_it_one() -> None:
    from greybox.errors import ConfigError
    from greybox.semirings.base import Semiring

    class Fuzzy(Semiring):
        name = "fuzzy"

    with pytest.raises(ConfigError, match="semiring fuzzy has no plain-Python form") as err:
        make_semiring(Fuzzy())
    assert "Fuzzy.scalar" in str(err.value)
