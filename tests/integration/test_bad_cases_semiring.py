"""Bad cases of the semirings: each fails on the code before its fix."""

from __future__ import annotations

import pytest

from greybox.errors import ConfigError
from greybox.semirings import TopKProofs


@pytest.mark.parametrize("k", [0, -3])
def test_top_k_with_k_below_one_is_a_config_error(k: int) -> None:
    # it used to raise a bare ValueError, unlike every other bad setting
    with pytest.raises(ConfigError, match=rf"top-k proofs needs k >= 1 \(an integer\), got {k}"):
        TopKProofs(k=k)


def test_one_home_per_semiring_no_plain_python_class_reuses_a_tensor_semiring_name() -> None:
    import greybox.engine.reference_semirings as reference

    # the plain-Python forms used to be classes Boolean, AddMult, MaxMult, MaxMin of their own
    for name in ("Boolean", "AddMult", "MaxMult", "MaxMin", "TopK", "Proofs"):
        assert not hasattr(reference, name), name
