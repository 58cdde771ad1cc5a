"""A pure neural baseline for questions over theories stated in English: read, then classify, with no rules.

``TheoryClassifier`` is the comparison point of the reader and engine of
``experiments/rules_in_language/ruletaker.yaml`` and ``proofwriter.yaml``: the same encoder
(all-MiniLM-L6-v2, kept frozen by the config's :class:`greybox.training.finetuning.Finetuning`
callback), the same data modules, batches and metrics, but no logical forms and no engine.

It reads every sentence of the theory, and the question, on its own: the encoder's token
states of each distinct sentence are computed once and cached (float16) while the encoder is
frozen, so an epoch after the first costs only the trainable part. Each sentence's tokens are
pooled into one vector by ``pool_heads`` learned attention queries (zero at initialisation:
mean pooling, the pooling the encoder was trained for). A theory sentence ``s`` enters beside
the question ``q`` as ``[s; s * q; |s - q|]`` (the matching features of sentence-pair
classifiers: that the question is stated in the theory shows from the first step); a small
transformer reads the sequence ``[answer slot; question; sentence 1; ...; sentence M]`` (a learned type embedding
tells the question from the theory; the order of the theory's sentences is not given) and
the answer slot's state is classified into ``ANSWERS``: True / False, plus Unknown where the
question allows it (``options == 3``; with two options the Unknown logit is masked out).

Reading sentence by sentence, rather than one text of question and theory, is what lets the
encoder's work be cached: a RuleTaker theory of ~15 sentences is shared by ~10 questions,
and most sentences recur across theories.

Metrics, per stage (``val``, ``test``): ``acc``; ``acc/depthN`` over the questions of proof
depth N (``QDep``; a depth that does not occur is left out); ``acc/true``, ``acc/false``,
``acc/unknown`` over the questions whose gold answer is that class.

Example:
    >>> from tasks.rules_in_language.data import RuleQuestion, collate_questions
    >>> batch = collate_questions([RuleQuestion("t-1", "t", ("Bob is big.", "Big things are red."), "Bob is red.", 0, 1),
    ...                            RuleQuestion("u-1", "u", ("Ann is cold.",), "Ann is kind.", 2, options=3)])
    >>> model = TheoryClassifier(width=32, layers=1, heads=2)
    >>> model.encoder.encoder_frozen, model.encoder.requires_grad_(False) is not None, model.encoder.encoder_frozen
    (False, True, True)
    >>> logits = model(batch["sentences"], batch["question"], batch["options"])
    >>> logits.shape, bool(logits[0, 2] < -1e30), bool(logits[1, 2] > -1e30)
    (torch.Size([2, 3]), True, True)
"""

from __future__ import annotations

from typing import Sequence

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from greybox.errors import ConfigError, ShapeError
from greybox.neural.items import ItemLists
from greybox.neural.text_encoder import FixedEncoder, load_encoder

from .files import ANSWERS

__all__ = ["SentenceStates", "TheoryClassifier"]


class SentenceStates(FixedEncoder, nn.Module):
    """Sentences -> each its encoder token states ``(T, D)``, cached per sentence while the encoder is frozen.

    Args:
        encoder_path: a Hugging Face model folder; default: the bundled all-MiniLM-L6-v2.
        batch_size: sentences encoded together (sorted by length, so that little is padding).
        max_length: tokens read per sentence.
        max_cache: sentences whose states are kept (float16); later ones are encoded every time.

    The encoder is frozen when none of its parameters requires a gradient (what
    ``Finetuning(module="encoder.encoder", unfreeze_at_epoch=None)`` sets); it then stays in
    eval mode, so that its cached outputs stay valid.
    """

    def __init__(self, encoder_path: str | None = None, batch_size: int = 256, max_length: int = 128,
                 max_cache: int = 200_000) -> None:
        super().__init__()
        self.tokenizer, self.encoder = load_encoder(encoder_path)
        self.dim = int(self.encoder.config.hidden_size)
        self.batch_size = batch_size
        self.max_length = max_length
        self.max_cache = max_cache
        self._cache: dict[str, Tensor] = {}


    def forward(self, sentences: Sequence[str]) -> list[Tensor]:
        """Per sentence, its token states ``(T, D)`` (special tokens included; float16 when cached)."""
        frozen = self.encoder_frozen
        if not frozen:
            self._cache.clear()  # states cached while the encoder was frozen are stale once it trains
        todo = sorted({s for s in sentences if s not in self._cache} if frozen else set(sentences))
        ids = self.tokenizer(todo, truncation=True, max_length=self.max_length)["input_ids"] if todo else []
        lengths = {s: len(i) for s, i in zip(todo, ids)}
        todo_sorted = sorted(todo, key=lambda s: (lengths[s], s))
        device = next(self.encoder.parameters()).device
        fresh: dict[str, Tensor] = {}
        for start in range(0, len(todo_sorted), self.batch_size):
            chunk = todo_sorted[start:start + self.batch_size]
            tok = self.tokenizer(chunk, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
            with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
                states = self.encoder(**{k: v.to(device) for k, v in tok.items()}).last_hidden_state  # (S, T, D)
            for i, s in enumerate(chunk):
                fresh[s] = states[i, :lengths[s]]
        if frozen:
            # float16 halves the memory; what is read is always the stored copy, first time included
            fresh = {s: v.detach().half() for s, v in fresh.items()}
            room = max(0, self.max_cache - len(self._cache))
            self._cache.update(dict(list(fresh.items())[:room]))
        return [fresh[s] if s in fresh else self._cache[s] for s in sentences]


class TheoryClassifier(pl.LightningModule):
    """Theory + question -> True / False (/ Unknown), with no rules.

    Args:
        encoder_path: a Hugging Face model folder; default: the bundled all-MiniLM-L6-v2.
        width: width of the trainable transformer over sentences.
        layers: its layers.
        heads: its attention heads (must divide ``width``).
        pool_heads: learned attention queries that pool a sentence's tokens into one vector.
        dropout: dropout of the trainable part.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.

    Raises:
        ConfigError: the encoder cannot be loaded, or a size is out of range.
    """

    n_classes = len(ANSWERS)

    def __init__(
        self,
        encoder_path: str | None = None,
        width: int = 128,
        layers: int = 2,
        heads: int = 4,
        pool_heads: int = 4,
        dropout: float = 0.1,
        lr: float = 1e-3,
        weight_decay: float = 0.01,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        if width < 1 or layers < 1 or heads < 1 or width % heads or pool_heads < 1:
            raise ConfigError(f"need width, layers, heads, pool_heads >= 1 and heads dividing width, got width={width}, "
                              f"layers={layers}, heads={heads}, pool_heads={pool_heads}",
                              hint="e.g. --model.init_args.width 128 --model.init_args.heads 4")
        self.encoder = SentenceStates(encoder_path)
        dim = self.encoder.dim
        # zero queries attend uniformly: pooling starts as the mean of the sentence's tokens
        self.pool_queries = nn.Parameter(torch.zeros(pool_heads, dim))  # (H, D)
        self.norm = nn.LayerNorm(pool_heads * dim)
        self.question_in = nn.Linear(pool_heads * dim, width)
        # a theory sentence s is read beside the question q: [s; s * q; |s - q|] (matching features)
        self.sentence_in = nn.Linear(3 * pool_heads * dim, width)
        self.answer_slot = nn.Parameter(torch.randn(width) * 0.02)  # (W,)
        self.kinds = nn.Embedding(2, width)  # 0: the question, 1: a sentence of the theory
        layer = nn.TransformerEncoderLayer(width, heads, dim_feedforward=2 * width, dropout=dropout, batch_first=True,
                                           norm_first=True)
        self.reader = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Dropout(dropout), nn.Linear(width, self.n_classes))
        self.lr = lr
        self.weight_decay = weight_decay

    # ------------------------------------------------------------------ reading

    def pool(self, texts: Sequence[str]) -> Tensor:
        """``(N, H * D)``: one vector per text, its tokens pooled by the learned queries, normalised."""
        states = self.encoder(texts)
        dtype, device = self.pool_queries.dtype, self.pool_queries.device
        padded = nn.utils.rnn.pad_sequence([s.to(device=device, dtype=dtype) for s in states], batch_first=True)  # (N, T, D)
        lengths = torch.tensor([s.shape[0] for s in states], device=device)
        real = torch.arange(padded.shape[1], device=device)[None, :] < lengths[:, None]  # (N, T)
        scores = torch.einsum("ntd,hd->nht", padded, self.pool_queries) / padded.shape[-1] ** 0.5  # (N, H, T)
        weights = scores.masked_fill(~real[:, None, :], float("-inf")).softmax(-1)  # (N, H, T)
        pooled = torch.einsum("nht,ntd->nhd", weights, padded)  # (N, H, D)
        return self.norm(pooled.flatten(1))  # (N, H * D)

    def forward(self, sentences: ItemLists, question: ItemLists, options: Tensor | None = None) -> Tensor:
        """Logits over ``ANSWERS`` of each question about its theory.

        Args:
            sentences: per sample, the theory's sentences (``batch["sentences"]``).
            question: per sample, one statement to judge (``batch["question"]``).
            options: ``(B,)`` answers allowed per sample (2: the Unknown logit is masked out;
                None: three everywhere).

        Returns:
            ``(B, 3)`` logits (True, False, Unknown); a masked logit is the dtype's lowest value.

        Raises:
            ShapeError: the samples of ``sentences``, ``question`` and ``options`` differ in number,
                or a sample has not exactly one question.
        """
        bsz, width = sentences.shape
        if len(question) != bsz or any(len(q) != 1 for q in question.samples) or (options is not None and len(options) != bsz):
            raise ShapeError(f"TheoryClassifier needs one question per theory, got {bsz} theories, "
                             f"{[len(q) for q in question.samples]} questions and "
                             f"{None if options is None else len(options)} options",
                             hint="pass batch['sentences'], batch['question'], batch['options'] of collate_questions")
        flat = sentences.flat()  # B * M, None where padding
        texts = sorted({s for s in flat if s is not None} | {q[0] for q in question.samples})
        where = {t: i for i, t in enumerate(texts)}
        vectors = self.pool(texts)  # (N, H * D)
        device = vectors.device
        sent_idx = torch.tensor([where.get(s, 0) if s is not None else 0 for s in flat], device=device).view(bsz, width)
        pad = torch.tensor([s is None for s in flat], device=device).view(bsz, width)  # (B, M)
        q_idx = torch.tensor([where[q[0]] for q in question.samples], device=device)  # (B,)
        q = vectors[q_idx].unsqueeze(1)  # (B, 1, H * D)
        s = vectors[sent_idx]  # (B, M, H * D)
        x = torch.cat([
            self.answer_slot.expand(bsz, 1, -1),  # (B, 1, W)
            self.question_in(q) + self.kinds.weight[0],  # (B, 1, W)
            self.sentence_in(torch.cat([s, s * q, (s - q).abs()], dim=-1)) + self.kinds.weight[1],  # (B, M, W)
        ], dim=1)  # (B, 2 + M, W)
        mask = torch.cat([torch.zeros((bsz, 2), dtype=torch.bool, device=device), pad], dim=1)  # (B, 2 + M) padding
        h = self.reader(x, src_key_padding_mask=mask)  # (B, 2 + M, W)
        logits = self.head(h[:, 0])  # (B, 3)
        if options is not None:
            closed = (options.to(device) < self.n_classes).unsqueeze(1)  # (B, 1) no Unknown
            unknown = torch.arange(self.n_classes, device=device) == ANSWERS.index("unknown")  # (3,)
            logits = logits.masked_fill(closed & unknown, torch.finfo(logits.dtype).min)
        return logits

    # ------------------------------------------------------------------ lightning

    def _step(self, batch: dict, stage: str) -> Tensor:
        logits = self(batch["sentences"], batch["question"], batch["options"])  # (B, 3)
        label = batch["label"].to(logits.device)
        loss = F.cross_entropy(logits, label)
        right = (logits.argmax(-1) == label).float()  # (B,)
        bsz = len(label)
        on_step = stage == "train"
        self.log(f"{stage}_loss", loss, prog_bar=True, batch_size=bsz, on_step=on_step, on_epoch=True,
                 sync_dist=not on_step)
        self.log(f"{stage}_acc", right.mean(), prog_bar=True, batch_size=bsz, on_step=on_step, on_epoch=True,
                 sync_dist=not on_step)
        if stage != "train":
            # one accuracy per proof depth and per gold answer, weighted by the questions of each group
            groups = [(f"depth{d}", batch["depth"] == d) for d in batch["depth"].unique().tolist() if d >= 0]
            groups += [(name, batch["label"] == k) for k, name in enumerate(ANSWERS)]
            for name, member in groups:
                member = member.to(right.device)
                n = int(member.sum())
                if n:
                    self.log(f"{stage}_acc/{name}", right[member].mean(), batch_size=n, on_step=False, on_epoch=True,
                             sync_dist=True)
        return loss

    def training_step(self, batch: dict, batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: dict, batch_idx: int) -> None:
        self._step(batch, "test")

    def predict_step(self, batch: dict, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Tensor]:
        probs = torch.softmax(self(batch["sentences"], batch["question"], batch["options"]), dim=-1)  # (B, 3)
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
