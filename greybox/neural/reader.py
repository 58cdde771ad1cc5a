"""``TextReader``: sentences -> K candidate logical forms each, with differentiable probabilities.

A word encoder (the offline MiniLM by default) gives each word a contextual vector; a small
head tags each word with a structural role (:data:`~greybox.neural.reader_tags.TAGS`); the
K most probable tag sequences (tags are independent given the encoding, so a beam of width
K over the words is exact) are decoded into readings by
:func:`~greybox.neural.reader_tags.decode_tags`. A reading's probability is the sum of the
probabilities of the tag sequences in the beam that spell it (each the product of its tags'
probabilities): a row sums to at most 1, the rest being "unreadable".

Example (a stub encoder that knows nothing; the real one is :class:`WordEncoder`):
    >>> import torch
    >>> class Stub(torch.nn.Module):
    ...     dim = 4
    ...     def forward(self, sentences): return [torch.ones(len(s), 4) for s in sentences]
    >>> reader = TextReader(word_encoder=Stub(), hidden=8, k=3)
    >>> out = reader(["Bob is big.", None])
    >>> out.probabilities.shape, out.readings[1]
    (torch.Size([2, 3]), [])
    >>> bool(out.probabilities.sum(1).le(1 + 1e-6).all())
    True
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor, nn

from ..errors import ConfigError, ShapeError
from .items import ItemLists
from .logical_forms import Reading
from .reader_tags import TAG_INDEX, TAGS, Lemmatizer, decode_tags, resolve_pronoun, split_words
from .text_encoder import WordEncoder

__all__ = ["TextReader", "ReaderOutput", "kbest_tags"]


@dataclass
class ReaderOutput:
    """What the reader read: up to K candidate readings per sentence and their probabilities.

    Attributes:
        readings: ``(N, K')`` with ``K' <= K``: per sentence its distinct candidate readings,
            most probable first; ``[]`` for padding (``None``) or a sentence with no readable candidate.
        probabilities: ``(N, K)`` differentiable, on the encoder's device; column ``j`` of row ``i``
            is the probability of ``readings[i][j]``, 0 past the end; rows sum to at most 1.
        tags: per sentence and reading, the most probable tag sequence that spells it.
        words: per sentence, its words (``[]`` for padding).
    """

    readings: list[list[Reading]]
    probabilities: Tensor
    tags: list[list[tuple[str, ...]]] = field(default_factory=list)
    words: list[list[str]] = field(default_factory=list)


def kbest_tags(log_probs: Tensor, k: int, allowed: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """The ``k`` most probable tag sequences of independent per-word distributions, exactly.

    Args:
        log_probs: ``(L, T)`` per word, log-probabilities of the tags.
        k: sequences kept.
        allowed: ``(L, T)`` bool, tags a word may take (default: all).

    Returns:
        ``(k', L)`` tag ids and their ``(k',)`` log-probabilities (``k' <= k``), best first.

    >>> lp = torch.log(torch.tensor([[0.6, 0.4], [0.9, 0.1]]))
    >>> seqs, scores = kbest_tags(lp, 3)
    >>> seqs.tolist(), [round(float(s.exp()), 2) for s in scores]
    ([[0, 0], [1, 0], [0, 1]], [0.54, 0.36, 0.06])
    """
    lp = log_probs.detach()
    if allowed is not None:
        lp = lp.masked_fill(~allowed, float("-inf"))
    n, t = lp.shape
    seqs = torch.zeros(1, 0, dtype=torch.long)
    scores = torch.zeros(1)
    for i in range(n):
        total = (scores[:, None] + lp[i][None, :]).reshape(-1)  # (k * T,)
        keep = min(k, int(torch.isfinite(total).sum()))
        if keep == 0:
            return torch.zeros(0, n, dtype=torch.long), torch.zeros(0)
        top = total.topk(keep)
        prev, tag = top.indices // t, top.indices % t
        seqs = torch.cat([seqs[prev], tag[:, None]], dim=1)
        scores = top.values
    return seqs, scores


class TextReader(nn.Module):
    """Reads sentences as facts and rules: per sentence, K candidate readings with probabilities.

    Args:
        encoder_path: a Hugging Face model folder; default: the bundled all-MiniLM-L6-v2.
        hidden: width of the tagging head.
        k: candidate readings per sentence (the beam over tag sequences).
        dropout: dropout of the head.
        word_encoder: a module mapping lists of words to ``(L, D)`` vectors per sentence, with
            an attribute ``dim`` (default: a :class:`WordEncoder` over ``encoder_path``).
        weights: a file saved by :meth:`save_head` (the trained head and the lemmatizer's
            known forms) to start from, e.g. ``runs/reader/lexicon/reader_head.pt``, or a
            checkpoint of a task whose reader is ``reader`` (``greybox fit`` writes them).

    Raises:
        ConfigError: ``weights`` does not exist or does not fit the head.
    """

    def __init__(self, encoder_path: str | None = None, hidden: int = 256, k: int = 4, dropout: float = 0.1,
                 word_encoder: nn.Module | None = None, weights: str | None = None) -> None:
        super().__init__()
        self.words = word_encoder if word_encoder is not None else WordEncoder(encoder_path)
        dim = int(self.words.dim)
        self.k = k
        # a word's tag depends on it and its neighbours' vectors: a width-3 convolution, then a layer
        self.context = nn.Conv1d(dim, hidden, kernel_size=3, padding=1)
        self.head = nn.Sequential(nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.GELU(),
                                  nn.Linear(hidden, len(TAGS)))
        self.lemmatizer = Lemmatizer()
        if weights:
            self.load_head(weights)

    def head_state_dict(self) -> dict[str, Any]:
        """The reader's own weights and the lemmatizer's known forms, without the word encoder's."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("words.")}

    def save_head(self, path: str | Path) -> None:
        """Save :meth:`head_state_dict` (small: the encoder is the bundled one)."""
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save(self.head_state_dict(), path)

    def load_head(self, path: str | Path) -> None:
        """Load a file written by :meth:`save_head`, or the reader of a checkpoint ``greybox fit`` wrote.

        Raises:
            ConfigError: the file does not exist or does not fit this head.
        """
        if not Path(path).is_file():
            raise ConfigError(f"reader weights '{path}' do not exist", file=str(path),
                              hint="train them with experiments/rules_in_language/train_reader.py, or leave weights out")
        state = torch.load(path, map_location="cpu", weights_only=True)
        if "state_dict" in state:  # a checkpoint of a model whose reader is its `reader`
            state = {k[len("reader."):]: v for k, v in state["state_dict"].items() if k.startswith("reader.")}
        try:
            missing, unexpected = self.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # a size mismatch
            raise ConfigError(f"reader weights '{path}' do not fit this reader: {str(exc).splitlines()[1].strip()}",
                              file=str(path), hint="build the reader with the hidden size the weights were trained with") from exc
        wrong = [k for k in missing if not k.startswith("words.")] + list(unexpected)
        if wrong:
            raise ConfigError(f"reader weights '{path}' do not fit this reader: {', '.join(wrong[:4])}", file=str(path),
                              hint="build the reader with the hidden size the weights were trained with")

    # --- persistence of the lemmatizer's known forms with the weights -------------------------------
    # (a tensor of UTF-8 JSON bytes: a checkpoint holds tensors only, so greybox loads it without running code)
    def get_extra_state(self) -> Tensor:
        data = json.dumps({"known": sorted(self.lemmatizer.known)}).encode("utf-8")
        return torch.tensor(list(data), dtype=torch.uint8)  # (B,)

    def set_extra_state(self, state: Any) -> None:
        if isinstance(state, Tensor):
            state = json.loads(bytes(state.tolist()).decode("utf-8"))
        self.lemmatizer = Lemmatizer(state.get("known", ()))  # a dict: heads saved before the tensor form

    @property
    def device(self) -> torch.device:
        return self.head[-1].weight.device

    def tag_log_probs(self, words: Sequence[Sequence[str]]) -> list[Tensor]:
        """Per sentence (its words), ``(L, T)`` log-probabilities of the tags of its words."""
        if not words:
            return []
        vectors = self.words([list(w) for w in words])  # per sentence (L, D)
        lengths = [len(v) for v in vectors]
        padded = nn.utils.rnn.pad_sequence([v.to(self.device) for v in vectors], batch_first=True)  # (S, L, D)
        h = self.context(padded.transpose(1, 2)).transpose(1, 2)  # (S, L, H)
        logits = self.head(h).log_softmax(-1)  # (S, L, T)
        return [logits[i, :n] for i, n in enumerate(lengths)]

    def tag_loss(self, words: Sequence[Sequence[str]], tags: Sequence[Sequence[str]]) -> Tensor:
        """Mean negative log-likelihood per word of target tag sequences (one per sentence).

        Raises:
            ShapeError: a sentence has not one tag per word.
        """
        lps = self.tag_log_probs(words)
        total, count = torch.zeros((), device=self.device), 0
        for lp, ts in zip(lps, tags):
            if len(ts) != len(lp):
                raise ShapeError(f"{len(ts)} tags for a sentence of {len(lp)} words", hint="give one tag per word")
            target = torch.tensor([TAG_INDEX[t] for t in ts], device=lp.device)
            total = total + nn.functional.nll_loss(lp, target, reduction="sum")
            count += len(ts)
        return total / max(count, 1)

    def forward(self, sentences: ItemLists | Sequence[str | None], k: int | None = None,
                allowed: Sequence[Tensor | None] | None = None) -> ReaderOutput:
        """Read each sentence (``None``: padding) as up to ``k`` candidate readings.

        An :class:`ItemLists` is read sample by sample: the words of one sample's sentences
        (a theory and its question) are the known forms that agree inflections ("chases" and
        "chase"); a flat list is read as one text.

        Args:
            sentences: the sentences, flattened ``B * M`` when an ``ItemLists``.
            k: candidates per sentence (default: the reader's ``k``).
            allowed: per sentence, ``(L, T)`` bool tags each word may take (for constrained search).
        """
        k = k or self.k
        if isinstance(sentences, ItemLists):
            flat = sentences.flat()
            m = sentences.width
            groups = [flat[i:i + m] for i in range(0, len(flat), m)]
        else:
            flat = list(sentences)
            groups = [flat]
        contexts: list[set[str]] = []
        group_of: list[int] = []
        for n, g in enumerate(groups):
            ctx = {w.lower() for s in g if s for w in split_words(s)}
            contexts += [ctx] * len(g)
            group_of += [n] * len(g)
        words = [split_words(s) if s else [] for s in flat]
        real = [i for i, w in enumerate(words) if w]
        lps = self.tag_log_probs([words[i] for i in real])
        probs: list[Tensor] = [torch.zeros(k, device=self.device) for _ in flat]
        readings: list[list[Reading]] = [[] for _ in flat]
        tags: list[list[tuple[str, ...]]] = [[] for _ in flat]
        for i, lp in zip(real, lps):
            # a pronoun names whom the sentence just before (its top reading) states facts of
            before = readings[i - 1][0] if i and group_of[i - 1] == group_of[i] and readings[i - 1] else None
            seqs, _ = kbest_tags(lp, k, None if allowed is None else allowed[i])
            if len(seqs) == 0:
                continue
            # (k',) differentiable sequence probabilities: the product of the chosen tags' probabilities
            seq_p = lp.gather(1, seqs.to(lp.device).T).sum(0).exp()
            found: dict[Reading, int] = {}
            parts: list[list[int]] = []
            for j, seq in enumerate(seqs.tolist()):
                names = tuple(TAGS[t] for t in seq)
                reading = resolve_pronoun(decode_tags(words[i], names, self.lemmatizer, contexts[i]), before)
                if reading is None:
                    continue
                if reading not in found:
                    found[reading] = len(parts)
                    parts.append([])
                    readings[i].append(reading)
                    tags[i].append(names)
                parts[found[reading]].append(j)
            if parts:
                # (K',) per distinct reading: a sum of disjoint sequences' probabilities, at most 1, but float
                # rounding can pass 1, and a reading above 1 on a cycle of rules grows every round of max-mult
                row = torch.stack([seq_p[p].sum() for p in parts]).clamp(max=1.0)
                order = row.detach().argsort(descending=True).tolist()
                row = row[order]
                readings[i] = [readings[i][o] for o in order]
                tags[i] = [tags[i][o] for o in order]
                probs[i] = torch.cat([row, torch.zeros(k - len(parts), device=row.device)])
        return ReaderOutput(readings, torch.stack(probs) if probs else torch.zeros(0, k, device=self.device), tags, words)

    @torch.no_grad()
    def read(self, sentences: list[str], k: int = 1) -> list[list[Reading]]:
        """Inference: per sentence, its ``k`` most probable readings with ``Reading.probability`` filled.

        The sentences are read together (one text: their words agree inflections).
        """
        was = self.training
        self.eval()
        try:
            out = self.forward(sentences, k=max(k, self.k))
        finally:
            self.train(was)
        result = []
        for row, p in zip(out.readings, out.probabilities.tolist()):
            result.append([r.with_probability(float(q)) for r, q in zip(row[:k], p)])
        return result
