"""Rules beside an embedding: what the calibration alone could not do, and the checkpoint a fit prints."""

from __future__ import annotations

import torch

from greybox.training.checkpoints import load_checkpoint
from tests.helpers.kg_tiny import write_tiny_kg


def test_a_relations_good_rule_is_kept_when_its_other_rule_misleads_the_embedding():
    # One relation, two rules with the same learned weight. Where the embedding ties the answer (0) with a wrong
    # candidate (1), rule 0 fires on the answer and rule 1 on the wrong candidate. The calibration scales every rule
    # of a relation alike (1 - (1 - w) ** c_r), so it cannot separate them: it ties the two (MRR 2/3). Weights
    # refitted on held-out rows keep rule 0 and drop rule 1: the program ranks every answer first.
    from tasks.kg.combined import CalibrationRows, calibrated_logit, fit_calibration, rows_mrr
    from tasks.kg.stacking import OutOfFoldRows, fit_rule_weights

    n = 8
    phi = torch.tensor([[0.0, 0.0, -2.0]] * n, dtype=torch.float64)
    fires = torch.tensor([(i, 0, 0) for i in range(n)] + [(i, 1, 1) for i in range(n)]).t()
    held_out = OutOfFoldRows(phi, torch.zeros(n, dtype=torch.long), torch.zeros(n, dtype=torch.long),
                             torch.zeros(phi.shape, dtype=torch.bool), fires)
    learned = torch.zeros(2, dtype=torch.float64)  # both weights 0.5

    def dev_rows(logits):
        return CalibrationRows(phi, held_out.log_not(-torch.nn.functional.softplus(logits)), held_out.relation,
                               held_out.answer, held_out.excluded)

    rows = dev_rows(learned)
    assert rows_mrr(calibrated_logit(rows, *fit_calibration(rows, 1, per_relation=False)), rows.answer) == 2 / 3
    rows = dev_rows(fit_rule_weights(held_out, learned, l2=0.1))
    assert rows_mrr(calibrated_logit(rows, *fit_calibration(rows, 1, per_relation=False)), rows.answer) == 1.0


def test_every_validated_checkpoint_holds_a_calibrated_program(tmp_path):
    # the fit prints the checkpoint of the best dev MRR; an epoch before the last must hold its calibration too
    import pytorch_lightning as pl
    from pytorch_lightning.callbacks import ModelCheckpoint

    from tasks.kg.completion import PathRuleCompletion
    from tasks.kg.datamodule import KGData

    data = KGData(str(write_tiny_kg(tmp_path / "data")), batch_size=16)
    model = PathRuleCompletion(min_support=1, max_rules=3, aggregation="noisy_or", embedding="complex", rank=4,
                               calibrate="auto")
    every = ModelCheckpoint(dirpath=tmp_path / "ckpt", filename="every-{epoch}", save_top_k=-1,
                            every_n_epochs=1)
    trainer = pl.Trainer(max_epochs=2, check_val_every_n_epoch=1, callbacks=[every], logger=False,
                         enable_progress_bar=False, enable_model_summary=False, accelerator="cpu",
                         default_root_dir=tmp_path)  # the exported rules.dl and link.dl go there
    trainer.fit(model, datamodule=data)
    state = load_checkpoint(tmp_path / "ckpt" / "every-epoch=0.ckpt")["state_dict"]
    assert not torch.equal(state["kge_scale"], torch.ones_like(state["kge_scale"]))
