"""A pure neural baseline for CLUTRR: read the whole story and the question, classify the relation.

``StoryClassifier`` is the comparison point of the rule-based model of
``experiments/kinship/clutrr.yaml``: the same encoder (all-MiniLM-L6-v2, kept frozen by
the config's :class:`greybox.training.finetuning.Finetuning` callback) and the same
training stories, but no rules. It reads one text per example,
the question followed by the story::

    How is Dorothy related to Donald? Dorothy's brother Michael and her went to get ice cream. ...

A trainable transformer layer reads the encoder's token states; a head reads
``[mean of all tokens; mean of the tokens of the first queried name's mentions; same for
the second; their product]`` and gives logits over the 20 :data:`RELATIONS`. The name
features tell the head *who* is queried, so the answer depends on the query and not only
on the story.

With the encoder frozen each distinct text is encoded once and its token states kept in
memory in float16 (about 33 KB per CLUTRR training story: 330 MB for 10,000 stories);
``max_cache`` bounds the number of texts kept.

``StoryDataModule`` is :class:`~tasks.kinship.data.ClutrrDataModule` (same files, split,
seed and per-k test loaders) with batches of texts instead of candidate pairs.

Example:
    >>> from tasks.kinship.data import parse_story
    >>> s = parse_story("[Ann] is the mother of [Bob].", ("Bob", "Ann"), "mother", "Ann:female,Bob:male")
    >>> question(s)
    'How is Ann related to Bob?'
    >>> batch = collate_story_texts([s])
    >>> batch["story"], batch["first"], batch["second"], batch["label"].tolist()
    (['Ann is the mother of Bob.'], ['Bob'], ['Ann'], [1])
    >>> model = StoryClassifier()
    >>> model.encoder_frozen, model.encoder.requires_grad_(False) is not None, model.encoder_frozen
    (False, True, True)
    >>> model(batch["story"], batch["first"], batch["second"]).shape
    torch.Size([1, 20])
"""

from __future__ import annotations

import re

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader

from greybox.errors import ConfigError, ShapeError
from tasks.kinship.data import RELATIONS, ClutrrDataModule, Story
from greybox.neural.text_encoder import FixedEncoder, load_encoder

__all__ = ["StoryClassifier", "StoryDataModule", "collate_story_texts", "question", "story_text", "QUESTION"]

#: the question put before the story; ``second`` is what is asked about ``first``
QUESTION = "How is {second} related to {first}?"


def story_text(story: Story) -> str:
    """The story's sentences without brackets, joined by a space.

    >>> from tasks.kinship.data import parse_story
    >>> story_text(parse_story("[A] is [B]'s son. [B] is nice.", ("B", "A"), "son", window=1))
    "A is B's son. B is nice."
    """
    return " ".join(story.sentences)


def question(story: Story) -> str:
    """The question of the story's query, e.g. ``How is Dorothy related to Donald?`` (answer: aunt)."""
    first, second = (story.people[i] for i in story.query)
    return QUESTION.format(first=first, second=second)


def collate_story_texts(stories: list[Story]) -> dict[str, list[str] | Tensor]:
    """Batch of whole stories for :class:`StoryClassifier`.

    Returns:
        ``story`` (B strings), ``first`` and ``second`` (B names: the answer is what
        ``second`` is to ``first``), ``label`` (B,) index in :data:`RELATIONS`, ``k`` (B,) chain length.
    """
    return {
        "story": [story_text(s) for s in stories],
        "first": [s.people[s.query[0]] for s in stories],
        "second": [s.people[s.query[1]] for s in stories],
        "label": torch.tensor([s.label for s in stories], dtype=torch.int64),  # (B,)
        "k": torch.tensor([s.k for s in stories], dtype=torch.int64),  # (B,)
    }


class StoryDataModule(ClutrrDataModule):
    """:class:`~tasks.kinship.data.ClutrrDataModule` whose batches are :func:`collate_story_texts` dicts.

    Same arguments, files, train/validation split and one test loader per k in ``test_ks``.
    """

    def _loader(self, stories: list[Story], shuffle: bool) -> DataLoader:
        return self.loader(stories, shuffle, collate_fn=collate_story_texts)


def _mentions(text: str, name: str) -> list[tuple[int, int]]:
    """Character spans of every whole-word mention of ``name`` in ``text``."""
    return [m.span() for m in re.finditer(rf"(?<!\w){re.escape(name)}(?!\w)", text)]


class StoryClassifier(FixedEncoder, pl.LightningModule):
    """Question + story -> one of the 20 CLUTRR relations, with no rules.

    Args:
        encoder_path: a Hugging Face model folder; default: the bundled all-MiniLM-L6-v2.
        layers: trainable transformer layers over the encoder's token states (0: none).
        heads: attention heads of those layers (must divide the encoder's width, 384).
        hidden: width of the head's hidden layer (and half the transformer layers' feed-forward width).
        dropout: dropout of the trainable layers and the head.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        max_length: tokens read per text (the question comes first, so truncation cuts the story's end).
        max_cache: texts whose frozen encodings are kept in memory; later texts are encoded every time.

    The encoder is frozen when none of its parameters requires a gradient (what
    :class:`greybox.training.finetuning.Finetuning` sets, ``unfreeze_at_epoch: null`` in
    ``experiments/kinship/clutrr_baseline.yaml``): then it stays in eval mode and its token
    states are cached.

    Raises:
        ConfigError: the encoder cannot be loaded, or a size is out of range.
    """

    n_classes = len(RELATIONS)

    def __init__(
        self,
        encoder_path: str | None = None,
        layers: int = 1,
        heads: int = 6,
        hidden: int = 256,
        dropout: float = 0.1,
        lr: float = 5e-4,
        weight_decay: float = 0.01,
        max_length: int = 512,
        max_cache: int = 20_000,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.tokenizer, self.encoder = load_encoder(encoder_path)
        dim = int(self.encoder.config.hidden_size)
        if layers < 0 or heads < 1 or (layers and dim % heads):
            raise ConfigError(f"need layers >= 0 and heads dividing the encoder width {dim}, "
                              f"got layers={layers}, heads={heads}",
                              hint="e.g. --model.init_args.layers 1 --model.init_args.heads 6")
        layer = nn.TransformerEncoderLayer(dim, heads, dim_feedforward=2 * hidden, dropout=dropout, batch_first=True,
                                           norm_first=True)
        self.reader = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False) if layers else nn.Identity()
        # [all tokens; first name; second name; first * second]
        self.head = nn.Sequential(nn.LayerNorm(4 * dim), nn.Linear(4 * dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, self.n_classes))
        self.lr = lr
        self.weight_decay = weight_decay
        self.max_length = max_length
        self.max_cache = max_cache
        self._cache: dict[str, tuple[Tensor, Tensor]] = {}  # text -> (token states (T, D) float16, offsets (T, 2))


    # ------------------------------------------------------------------ reading

    def _encode(self, texts: list[str]) -> list[tuple[Tensor, Tensor]]:
        """Token states ``(T, D)`` and token character offsets ``(T, 2)`` of each text (special tokens: (0, 0))."""
        device = self.head[1].weight.device
        frozen = self.encoder_frozen
        if not frozen:
            self._cache.clear()  # token states cached while the encoder was frozen are stale once it trains
        todo = sorted({t for t in texts if t not in self._cache}) if frozen else sorted(set(texts))
        fresh: dict[str, tuple[Tensor, Tensor]] = {}
        if todo:
            tok = self.tokenizer(todo, padding=True, truncation=True, max_length=self.max_length,
                                 return_offsets_mapping=True, return_tensors="pt")
            offsets = tok.pop("offset_mapping")  # (S, T, 2)
            tok = {k: v.to(device) for k, v in tok.items()}
            with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
                states = self.encoder(**tok).last_hidden_state  # (S, T, D)
            for i, t in enumerate(todo):
                n = int(tok["attention_mask"][i].sum())
                fresh[t] = (states[i, :n], offsets[i, :n].to(device))
            if frozen:
                # float16 halves the memory; what is read is always the stored copy, first time included
                fresh = {t: (s.detach().half(), o) for t, (s, o) in fresh.items()}
                room = max(0, self.max_cache - len(self._cache))
                self._cache.update(dict(list(fresh.items())[:room]))
        return [fresh[t] if t in fresh else self._cache[t] for t in texts]

    def forward(self, stories: list[str], first: list[str], second: list[str]) -> Tensor:
        """Logits of what ``second[i]`` is to ``first[i]`` in ``stories[i]``.

        Args:
            stories: story texts (names without brackets).
            first, second: the queried names, one pair per story.

        Returns:
            ``(B, 20)`` logits over :data:`RELATIONS`.

        Raises:
            ShapeError: the three lists differ in length or are empty.
        """
        if not stories or not len(stories) == len(first) == len(second):
            raise ShapeError(f"StoryClassifier needs as many stories as queried pairs (> 0), got {len(stories)} "
                             f"stories, {len(first)} first and {len(second)} second names",
                             hint="pass batch['story'], batch['first'], batch['second'] of collate_story_texts")
        texts = [f"{QUESTION.format(first=a, second=b)} {s}" for s, a, b in zip(stories, first, second)]
        encoded = self._encode(texts)
        dtype = self.head[1].weight.dtype
        bsz, length, dim = len(texts), max(s.shape[0] for s, _ in encoded), encoded[0][0].shape[1]
        states = self.head[1].weight.new_zeros((bsz, length, dim))  # (B, T, D)
        real = torch.zeros((bsz, length), dtype=torch.bool, device=states.device)  # (B, T) not padding
        names = torch.zeros((2, bsz, length), dtype=dtype, device=states.device)  # (2, B, T) mentions of first, second
        for i, ((s, off), text) in enumerate(zip(encoded, texts)):
            n = s.shape[0]
            states[i, :n] = s.to(dtype)
            real[i, :n] = True
            for j, name in enumerate((first[i], second[i])):
                for start, end in _mentions(text, name):
                    names[j, i, :n] += ((off[:, 0] < end) & (off[:, 1] > start) & (off[:, 1] > off[:, 0])).to(dtype)
        h = states if isinstance(self.reader, nn.Identity) else self.reader(states, src_key_padding_mask=~real)
        weights = torch.cat([real.to(dtype).unsqueeze(0), names.clamp_max(1.0)])  # (3, B, T) all tokens, first, second
        pooled = torch.einsum("nbt,btd->nbd", weights, h) / weights.sum(-1, keepdim=True).clamp_min(1.0)  # (3, B, D)
        feats = torch.cat([pooled[0], pooled[1], pooled[2], pooled[1] * pooled[2]], dim=-1)  # (B, 4D)
        return self.head(feats)  # (B, 20)

    # ------------------------------------------------------------------ lightning

    def _loader_name(self, stage: str, dataloader_idx: int) -> str | None:
        """The data module's name for a loader (``k10`` for the CLUTRR test files), when it gives names."""
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        names = getattr(dm, f"{stage}_loader_names", None)
        return names[dataloader_idx] if names and 0 <= dataloader_idx < len(names) else None

    def _step(self, batch: dict, stage: str, dataloader_idx: int = 0) -> Tensor:
        logits = self(batch["story"], batch["first"], batch["second"])  # (B, 20)
        label = batch["label"].to(logits.device)
        loss = F.cross_entropy(logits, label)
        acc = (logits.argmax(-1) == label).float().mean()
        name = self._loader_name(stage, dataloader_idx)
        suffix = f"/{name}" if name else ""
        for metric, value in (("loss", loss), ("acc", acc)):
            self.log(f"{stage}_{metric}{suffix}", value, prog_bar=True, batch_size=len(batch["story"]),
                     sync_dist=stage != "train", add_dataloader_idx=name is None)
        return loss

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._step(batch, "val", dataloader_idx)

    def test_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> None:
        # several test loaders (one per chain length k) are logged apart: under the data
        # module's `test_loader_names` (test_acc/k10) when it has them, else by loader index
        self._step(batch, "test", dataloader_idx)

    def predict_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        probs = torch.softmax(self(batch["story"], batch["first"], batch["second"]), dim=-1)  # (B, 20)
        prob, answer = probs.max(-1)
        return {"answer": answer, "probability": prob}

    def configure_optimizers(self) -> torch.optim.Optimizer:
        params = [p for p in self.parameters() if p.requires_grad]
        return torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)

    def configure_callbacks(self) -> list[pl.Callback]:
        """Checkpoints keep the global generators, so a resumed run draws the dropout masks of the
        uninterrupted one (see :mod:`greybox.training.random_state`)."""
        from greybox.training.random_state import RandomStateCheckpoint

        return [RandomStateCheckpoint()]
