"""``Finetuning``: a pretrained part of the model, frozen or fine-tuned at a fraction of the task's rate.

Whether a pretrained encoder trains, how fast and with which dropout is training policy,
not part of the model: the model keeps the arguments that change what it computes, and
this callback (a :class:`pytorch_lightning.callbacks.BaseFinetuning`) decides what trains.

* ``unfreeze_at_epoch: null``: the part stays frozen: its parameters require no gradient,
  it stays in eval mode (no dropout masks, so a network may cache its outputs), and the
  optimizer never sees it.
* ``unfreeze_at_epoch: 0`` (or later): frozen before training, it trains from that epoch on,
  in train mode, with ``dropout`` in its ``nn.Dropout`` layers, in an optimizer group of its
  own at ``lr_scale`` times the first group's learning rate (the task's ``lr``).

In a config (``experiments/kinship/clutrr.yaml``)::

    trainer:
      callbacks:
        - class_path: greybox.training.finetuning.Finetuning
          init_args: {module: reasoner.networks.relation_net.encoder, unfreeze_at_epoch: 0, lr_scale: 0.02, dropout: 0.0}

On the command line, ``--trainer.callbacks.lr_scale 0.05`` (or ``.dropout``, ``.unfreeze_at_epoch``)
sets the last callback of the list, which is this one in the kinship configs. A
``--trainer.callbacks=[...]`` that replaces the list leaves the part as the model built it
(trainable, at the task's rate): list ``Finetuning`` there too. Lightning warns that modules
are "in eval mode at the start of training": the part is frozen until its first epoch begins,
even when that is epoch 0.

Example:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.1)))
    >>> callback = Finetuning(module="1", unfreeze_at_epoch=0, lr_scale=0.1, dropout=0.0)
    >>> callback.freeze_before_training(model)
    >>> optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    >>> callback.finetune_function(model, 0, optimizer)
    >>> [(g["lr"], len(g["params"])) for g in optimizer.param_groups], model[1][1].p, model[1].training
    ([(0.001, 2), (0.0001, 2)], 0.0, True)
"""

from __future__ import annotations

from pytorch_lightning.callbacks import BaseFinetuning
from torch import nn
from torch.optim import Optimizer

from ..errors import ConfigError

__all__ = ["Finetuning"]


class Finetuning(BaseFinetuning):
    """Freeze a pretrained submodule, and fine-tune it from an epoch on at a smaller learning rate.

    Args:
        module: the part, as a submodule path of the LightningModule (``get_submodule``), e.g.
            ``reasoner.networks.relation_net.encoder`` for the encoder of ``ReasoningTask``'s
            network ``relation_net``.
        unfreeze_at_epoch: the first epoch in which the part trains (0: from the start);
            None: frozen throughout.
        lr_scale: the part's learning rate is the optimizer's first group's (the task's
            ``lr``) times this.
        dropout: the probability of the part's ``nn.Dropout`` layers while it trains; None
            keeps the pretrained model's own.

    Raises:
        ConfigError: an argument is out of range, or (at setup) the module path does not exist.
    """

    def __init__(self, module: str, unfreeze_at_epoch: int | None = 0, lr_scale: float = 1.0,
                 dropout: float | None = None) -> None:
        super().__init__()
        if unfreeze_at_epoch is not None and unfreeze_at_epoch < 0:
            raise ConfigError(f"unfreeze_at_epoch must be >= 0 or null, got {unfreeze_at_epoch}",
                              hint="0 fine-tunes from the start; null keeps the module frozen")
        if not lr_scale > 0.0:
            raise ConfigError(f"lr_scale must be > 0, got {lr_scale}",
                              hint="e.g. lr_scale: 0.02; to keep the module fixed set unfreeze_at_epoch: null")
        if dropout is not None and not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1), got {dropout}",
                              hint="e.g. dropout: 0.1, or leave it out for the pretrained model's own")
        self.module = module
        self.unfreeze_at_epoch = unfreeze_at_epoch
        self.lr_scale = lr_scale
        self.dropout = dropout

    def _part(self, pl_module: nn.Module) -> nn.Module:
        try:
            return pl_module.get_submodule(self.module)
        except AttributeError as exc:
            raise ConfigError(f"Finetuning: the model has no submodule '{self.module}' ({exc})",
                              hint="give module: as a dotted path, e.g. reasoner.networks.relation_net.encoder") from exc

    def freeze_before_training(self, pl_module: nn.Module) -> None:
        """Freeze the part: no gradients, eval mode."""
        part = self._part(pl_module)
        self.freeze(part, train_bn=False)
        part.eval()

    def finetune_function(self, pl_module: nn.Module, epoch: int, optimizer: Optimizer) -> None:
        """From ``unfreeze_at_epoch`` on: the part trains, in its own group at ``lr_scale`` x the first group's rate."""
        if self.unfreeze_at_epoch is None or epoch < self.unfreeze_at_epoch:
            return
        part = self._part(pl_module)
        params = list(part.parameters())
        if params and all(p.requires_grad for p in params):
            return
        grouped = {id(p) for group in optimizer.param_groups for p in group["params"]}
        if any(id(p) in grouped for p in params):
            # a resumed fit: BaseFinetuning.on_fit_start gave the optimizer back the part's group
            self.make_trainable(part)
        else:
            self.unfreeze_and_add_param_group(part, optimizer, lr=optimizer.param_groups[0]["lr"] * self.lr_scale,
                                              train_bn=True)
        if self.dropout is not None:
            for layer in part.modules():
                if isinstance(layer, nn.Dropout):
                    layer.p = self.dropout
        part.train()
