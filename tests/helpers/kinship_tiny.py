"""A relation extractor small enough to train inside a test: hashed words around two names.

It has the contract of ``tasks.kinship.model.RelationExtractor``: it reads a list of
``tasks.kinship.data.PairText`` (the window's text and the two names' character spans),
``None`` for padding, and returns ``(N, 21)`` probabilities over the 20 CLUTRR relations
and ``none``, zeros for padding rows. Instead of a pretrained encoder it reads
a bag of hashed features built from a small vocabulary of family words (``father``,
``sister``, ``his``, ``'s``, ...): those between the two names, single and in pairs, the
few just before and after them, which name comes first and whether a sentence ends
between them; a linear layer maps the bag to the 21 classes. It trains in seconds on
one CPU thread.

Example:
    >>> import torch
    >>> from tasks.kinship.data import parse_story, collate_stories
    >>> net = TinyRelationExtractor(buckets=64)
    >>> s = parse_story("[Ann] is the mother of [Bob]. [Cid] is his son.", ("Ann", "Cid"), "grandson",
    ...                 "Ann:female,Bob:male,Cid:male", window=1)
    >>> x = collate_stories([s])["pairs"].flat()              # 2 pairs: Ann and Bob, Bob and Ann
    >>> x = [*x, None]                                          # and one padding item
    >>> p = net(x)
    >>> p.shape, p.sum(1).round().tolist()
    (torch.Size([3, 21]), [1.0, 1.0, 0.0])
    >>> pair_features("Ann is the mother of Bob.", (0, 3), (21, 24))
    ['abs', 'abs|gap|3', 'abs|between|is', 'abs|between|mother', 'abs|between|of', 'abs|pair|is_mother', 'abs|pair|mother_of', 'abs|after|']
"""

from __future__ import annotations

import re
import zlib
from typing import Sequence

import torch
from torch import Tensor, nn

from tasks.kinship.data import NONE, RELATIONS, PairText
from tasks.kinship.model import check_pairs

__all__ = ["TinyRelationExtractor", "pair_features"]

_WORD = re.compile(r"[a-z]+|'s")
_SENTENCE_END = re.compile(r"[.!?]")
#: the words the extractor reads: family words, and the few that say who is whose
VOCABULARY = frozenset(
    "father dad mother mom son daughter husband wife brother sister grandfather grandmother grandson "
    "granddaughter uncle aunt nephew niece law brothers sisters sons daughters grandpa grandma child children "
    "kids married parents sibling siblings his her he she him their they 's of is name named".split()
)
#: words read before the first name and after the second
_CONTEXT = 3


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w in VOCABULARY]


def pair_features(text: str, first: tuple[int, int], second: tuple[int, int]) -> list[str]:
    """The named features of one pair: what lies between and around the two names.

    Args:
        text: the window the pair is read from.
        first, second: ``(start, end)`` character spans of the two names.

    Returns:
        Feature names, each prefixed by ``ab`` (first name first) or ``ba``, then ``s``
        (both in one sentence) or ``x``.
    """
    order = "ab" if first[0] < second[0] else "ba"
    lo, hi = sorted([first, second])
    between = _words(text[lo[1]:hi[0]])
    before = _words(text[:lo[0]])[-_CONTEXT:]
    after = _words(text[hi[1]:])[:_CONTEXT]
    cross = "x" if _SENTENCE_END.search(text[lo[1]:hi[0]]) else "s"
    order = f"{order}{cross}"
    feats = [order, f"{order}|gap|{min(len(between), 8)}"]
    feats += [f"{order}|between|{w}" for w in between]
    feats += [f"{order}|pair|{u}_{v}" for u, v in zip(between, between[1:])]
    feats += [f"{order}|before|{w}" for w in before]
    feats += [f"{order}|after|{w}" for w in after] or [f"{order}|after|"]
    return feats


class TinyRelationExtractor(nn.Module):
    """Pair rows -> probabilities of the 20 kinship relations and ``none``, from hashed word features.

    Args:
        buckets: size of the hashed feature space.

    Raises:
        ShapeError: (in ``forward``) the input is not a list of ``PairText`` (or ``None``).
    """

    n_classes = len(RELATIONS) + 1

    def __init__(self, buckets: int = 4096) -> None:
        super().__init__()
        self.buckets = buckets
        self.weights = nn.EmbeddingBag(buckets, self.n_classes, mode="sum")  # one row of class scores per feature
        nn.init.zeros_(self.weights.weight)  # every class equally likely before training
        self.bias = nn.Parameter(torch.zeros(self.n_classes))
        self.classes = (*RELATIONS, NONE)
        self._cache: dict[PairText, list[int]] = {}  # pair -> hashed feature ids (pairs repeat every epoch)

    def _ids(self, pair: PairText) -> list[int]:
        ids = self._cache.get(pair)
        if ids is None:
            feats = pair_features(pair.text, pair.first_span, pair.second_span)
            # crc32, not hash(): the ids must be the same in every process for a checkpoint to mean anything
            ids = [zlib.crc32(f.encode()) % self.buckets for f in feats]
            self._cache[pair] = ids
        return ids

    def forward(self, x: Sequence[PairText | None]) -> Tensor:
        """``N`` pairs -> ``(N, 21)`` probabilities (zeros for ``None`` items, the padding)."""
        pairs = check_pairs(x, "TinyRelationExtractor")
        device = self.bias.device
        valid = [i for i, p in enumerate(pairs) if p is not None]
        out = torch.zeros((len(pairs), self.n_classes), device=device, dtype=self.bias.dtype)  # (N, 21)
        if not valid:
            return out
        ids = [self._ids(pairs[i]) for i in valid]
        flat = torch.tensor([i for row in ids for i in row], dtype=torch.int64, device=device)  # (F,)
        offsets = torch.tensor([0, *[len(r) for r in ids[:-1]]], dtype=torch.int64, device=device).cumsum(0)  # (V,)
        probs = torch.softmax(self.weights(flat, offsets) + self.bias, dim=-1)  # (V, 21)
        return out.index_copy(0, torch.tensor(valid, dtype=torch.int64, device=device), probs)
