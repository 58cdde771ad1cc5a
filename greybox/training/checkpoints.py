"""Reading checkpoints without running code.

A checkpoint is a pickle, and unpickling may call any function the file names
(``os.system`` included). greybox therefore reads every checkpoint with
``torch.load(weights_only=True)``: tensors, numbers, strings and the plain containers,
plus the few classes a greybox checkpoint really holds (``SAFE_GLOBALS``: the
``Namespace`` of hyper-parameters given on the command line and ``pathlib`` paths).
Anything else is refused with a ``CheckpointError`` that names the file, the reason
and a fix; nothing of the file runs.

A Lightning checkpoint written by ``greybox fit`` holds, besides the weights
(``state_dict``), the loop and optimizer states, the callbacks' states and the
hyper-parameters of the model and the data module, all plain data.

Example:
    >>> import tempfile, torch
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = f"{d}/model.ckpt"
    ...     torch.save({"state_dict": {"w": torch.ones(2)}, "epoch": 3}, path)
    ...     load_checkpoint(path)["epoch"], len(checkpoint_sha256(path))
    (3, 64)
    >>> with tempfile.TemporaryDirectory() as d:
    ...     _ = open(f"{d}/noise.ckpt", "wb").write(b"not a checkpoint")
    ...     load_checkpoint(f"{d}/noise.ckpt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    greybox.errors.CheckpointError: .../noise.ckpt: cannot read the checkpoint: it is not a PyTorch checkpoint file (...)
    hint: ...
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..errors import CheckpointError

__all__ = ["SAFE_GLOBALS", "safe_globals", "load_checkpoint", "load_weights", "checkpoint_sha256",
           "check_checkpoint", "run_config_near"]

#: the classes besides tensors and plain data that a greybox checkpoint may hold, by import path
SAFE_GLOBALS = (
    "jsonargparse.Namespace",
    "argparse.Namespace",
    "pathlib.PosixPath",
    "pathlib.WindowsPath",
    "pathlib.PurePosixPath",
    "pathlib.PureWindowsPath",
)

_HINT_TRUST = ("greybox only reads checkpoints that hold weights and plain data; use a checkpoint written by "
               "`greybox fit` (runs/<task>/<experiment>/.../checkpoints/last.ckpt)")


def safe_globals() -> list[type]:
    """The classes of ``SAFE_GLOBALS`` that can be imported here (for ``torch.serialization.safe_globals``).

    >>> import pathlib
    >>> pathlib.PosixPath in safe_globals()
    True
    """
    import importlib

    out = []
    for name in SAFE_GLOBALS:
        module, _, attr = name.rpartition(".")
        try:
            out.append(getattr(importlib.import_module(module), attr))
        except (ImportError, AttributeError):  # an optional package (jsonargparse) is not installed
            continue
    return out


def _unsafe_globals(path: Path) -> list[str]:
    """The classes or functions the file's pickle names beyond what greybox allows ([] when unknown)."""
    from torch.serialization import get_unsafe_globals_in_checkpoint

    allowed = {f"{c.__module__}.{c.__qualname__}" for c in safe_globals()} | set(SAFE_GLOBALS)
    try:
        return [g for g in get_unsafe_globals_in_checkpoint(str(path)) if g not in allowed]
    except Exception:  # noqa: BLE001 - an old-format or broken file: the load error says enough
        return []


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint file without running any code it holds.

    Args:
        path: the ``.ckpt`` file.

    Returns:
        The checkpoint's dict; ``state_dict`` maps parameter names to tensors.

    Raises:
        CheckpointError: the file does not exist, is not a PyTorch checkpoint (random bytes,
            a truncated file), names a function or class outside ``SAFE_GLOBALS`` (code that
            would run on loading), or holds no ``state_dict`` of tensors.
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' {'does not exist' if not path.exists() else 'is not a file'}",
                              hint="`greybox fit` writes checkpoints to the run's folder: RUN/checkpoints/last.ckpt")
    try:
        with torch.serialization.safe_globals(safe_globals()):
            state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        blocked = [line for line in lines if "GLOBAL" in line or "Unsupported global" in line]
        unsafe = _unsafe_globals(path)
        if unsafe or blocked:
            named = ", ".join(unsafe) if unsafe else blocked[0]
            raise CheckpointError(f"refusing to load the checkpoint: it names code that would run on loading ({named})",
                                  file=str(path), hint=_HINT_TRUST) from None
        detail = next((b for a, b in zip(lines, lines[1:]) if a.endswith("WeightsUnpickler error:")), lines[-1] if lines else "")
        raise CheckpointError(f"cannot read the checkpoint: it is not a PyTorch checkpoint file ({_first_line(detail)})",
                              file=str(path), hint=_HINT_TRUST) from None
    except Exception as err:  # noqa: BLE001 - random or cut bytes fail in many ways; each means "unreadable"
        raise CheckpointError(f"cannot read the checkpoint: it is not a PyTorch checkpoint file "
                              f"({type(err).__name__}: {_first_line(str(err))})", file=str(path),
                              hint="the file may be truncated (an interrupted copy or save); " + _HINT_TRUST) from None
    if not isinstance(state, Mapping) or not isinstance(state.get("state_dict"), Mapping):
        what = f"a dict with the keys {sorted(map(str, state))[:6]}" if isinstance(state, Mapping) else type(state).__name__
        raise CheckpointError(f"not a greybox checkpoint: it holds {what}, not a 'state_dict' of weights",
                              file=str(path), hint=_HINT_TRUST)
    bad = [k for k, v in state["state_dict"].items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"not a greybox checkpoint: state_dict entry {bad[0]!r} is not a tensor",
                              file=str(path), hint=_HINT_TRUST)
    return dict(state)


def check_checkpoint(path: str | Path) -> None:
    """Raise ``CheckpointError`` unless ``path`` is a checkpoint greybox can read safely (see ``load_checkpoint``)."""
    load_checkpoint(path)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no detail"
    return line if len(line) <= 200 else line[:197] + "..."


def checkpoint_sha256(path: str | Path) -> str:
    """The SHA-256 of the file's bytes, in hex (to say which checkpoint a trace explains)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_config_near(path: str | Path) -> Path | None:
    """The ``config.yaml`` that the run of a checkpoint saved, when there is one.

    ``greybox fit`` writes checkpoints to ``<run>/checkpoints/`` and its config to
    ``<run>/config.yaml``; the checkpoint's folder and the one above it are looked at.

    >>> run_config_near("no/such/run/checkpoints/last.ckpt") is None
    True
    """
    folder = Path(path).resolve().parent
    for candidate in (folder / "config.yaml", folder.parent / "config.yaml"):
        if candidate.is_file():
            return candidate
    return None


def load_weights(module, path: str | Path, configs: Iterable[str | Path] = (),
                 state: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Load a checkpoint's weights into ``module`` (strictly: every name and shape must match).

    Args:
        module: the ``nn.Module`` built from the config.
        path: the checkpoint.
        configs: the config files the module was built from, named in the error.
        state: the checkpoint as ``load_checkpoint(path)`` already read it (default: read it now).

    Returns:
        The checkpoint (as ``load_checkpoint`` reads it).

    Raises:
        CheckpointError: the checkpoint cannot be read (see ``load_checkpoint``), or its
            weights do not fit the module (missing or unexpected names, other shapes); the
            hint names the run's own ``config.yaml`` when it exists.
    """
    state = dict(state) if state is not None else load_checkpoint(path)
    try:
        module.load_state_dict(state["state_dict"])
    except RuntimeError as err:
        names = [str(c) for c in configs]
        saved = run_config_near(path)
        same = saved is not None and any(Path(c).resolve() == saved for c in names)
        if saved is not None and not same:
            hint = f"the run that wrote it saved its config: use --config {saved}"
        else:
            hint = "build the model with the config the checkpoint was trained with"
        detail = " ".join(_first_lines(str(err)))
        built = f" built from {', '.join(names)}" if names else ""
        raise CheckpointError(f"the checkpoint does not fit the model{built}: {detail}", file=str(path),
                              hint=hint) from None
    return state


def _first_lines(text: str, n: int = 3) -> list[str]:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    out = [line if len(line) <= 240 else line[:237] + "..." for line in lines[:n]]
    if len(lines) > n:
        out.append(f"(and {len(lines) - n} more lines)")
    return out
