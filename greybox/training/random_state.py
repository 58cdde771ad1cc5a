"""``RandomStateCheckpoint``: a checkpoint keeps the global random generators; a resumed run restores them.

Lightning restores the weights, the optimizer and the loops from a checkpoint, not the
global generators (torch's, CUDA's, NumPy's, Python's): a resumed run draws its dropout
masks from the state ``seed_everything`` left after building the model, not from the state
the interrupted run had reached. This callback saves the generators' states with every
checkpoint and puts them back when training starts from one (after the sanity check, whose
loaders could otherwise draw from them), so that on one device a run resumed from an
epoch's checkpoint draws the same numbers as the run that was never interrupted.

:class:`~greybox.training.module.ReasoningTask` adds it itself (``configure_callbacks``).

Example:
    >>> import torch
    >>> state = random_states()
    >>> a = torch.rand(3)
    >>> restore_random_states(state)
    >>> bool((torch.rand(3) == a).all())
    True
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch

__all__ = ["RandomStateCheckpoint", "random_states", "restore_random_states"]


def random_states() -> dict[str, Any]:
    """The states of torch's (CPU and every CUDA device), NumPy's and Python's global generators.

    Held as tensors, ints and lists, so that a checkpoint loads with ``weights_only=True``.
    """
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_random_states(state: dict[str, Any]) -> None:
    """Put back the generators that :func:`random_states` read.

    CUDA states are restored only when the number of devices is the same as when they were saved.
    """
    torch.set_rng_state(state["torch"])
    np_state = state["numpy"]
    np.random.set_state((np_state["kind"], np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["gauss"]))
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    cuda = state.get("cuda")
    if cuda is not None and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)


class RandomStateCheckpoint(pl.Callback):
    """Save the global generators with each checkpoint; restore them when a fit resumes from one.

    What it guarantees: on one device, with deterministic kernels, a run resumed from a
    checkpoint written at the end of an epoch continues with the random numbers of the
    uninterrupted run. What it does not: several processes (the checkpoint holds global
    rank 0's states, which every rank then takes), a checkpoint written in the middle of an
    epoch (Lightning restarts that epoch), and DataLoader worker processes (reseeded by
    their loader at each epoch).
    """

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None

    def state_dict(self) -> dict[str, Any]:
        return {"random_states": random_states()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending = state_dict.get("random_states")

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._pending is not None:
            restore_random_states(self._pending)
            self._pending = None
