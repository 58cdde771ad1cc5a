"""Bad cases: the kinship variant configs, each given after ``clutrr.yaml`` as their headers say.

Before the encoder's training policy moved to ``Finetuning``, ``variants/frozen_kinds.yaml`` and
``variants/frozen_relations.yaml`` inherited ``word_anchor: 10.0`` from the config with
``word_prior: false`` and stopped at start ("word_anchor needs word_prior: true").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from greybox.training.cli import GreyboxCLI

ROOT = Path(__file__).resolve().parents[2]
CLUTRR = ROOT.parent / "shared/data/clutrr/data_089907f8"
VARIANTS = sorted((ROOT / "experiments/kinship/variants").glob("*.yaml"))


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.stem for v in VARIANTS])
def test_each_kinship_variant_builds_after_the_config(variant: Path, monkeypatch) -> None:
    if not CLUTRR.is_dir():
        pytest.skip(f"CLUTRR data not found at {CLUTRR}")
    monkeypatch.chdir(ROOT)
    cli = GreyboxCLI(args=["--config", "experiments/kinship/clutrr.yaml", "--config", str(variant),
                             f"--data.init_args.data_dir={CLUTRR}", "--trainer.logger=false"], run=False)
    from greybox.training.finetuning import Finetuning

    finetuning = [c for c in cli.trainer.callbacks if isinstance(c, Finetuning)]
    assert len(finetuning) == 1 and finetuning[0].module == "reasoner.networks.relation_net.encoder"
    frozen = variant.stem.startswith("frozen")
    assert (finetuning[0].unfreeze_at_epoch is None) == frozen
