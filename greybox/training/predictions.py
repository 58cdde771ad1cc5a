"""``greybox predict --output FILE``: one line per sample, as CSV or JSON Lines.

Each line holds the sample's ``id`` (its index in its loader's data set), the predicted
``answer`` (by name when the data module names answers, e.g. ``aunt``), its
``probability`` and the ``label`` when the batch carries one; with several
predict loaders (the kinship test split has one per story length) a ``dataloader``
column says which. The format follows the file's extension: ``.csv`` or ``.jsonl``
(``.json`` and ``.ndjson`` are read as JSON Lines too).

    greybox predict --config experiments/digit_sum/sum2_digits.yaml --ckpt_path CKPT --output predictions.jsonl

Example:
    >>> import io
    >>> rows = [{"id": 0, "answer": "7", "probability": 0.91, "label": "7"}]
    >>> out = io.StringIO(); n = write_rows(rows, out, "csv"); print(out.getvalue().strip())
    id,answer,probability,label
    0,7,0.91,7
    >>> out = io.StringIO(); n = write_rows(rows, out, "jsonl"); print(out.getvalue().strip())
    {"id": 0, "answer": "7", "probability": 0.91, "label": "7"}
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence, TextIO

from pytorch_lightning.callbacks import BasePredictionWriter

from ..errors import ConfigError

__all__ = ["PredictionWriter", "output_format", "write_rows", "answer_text", "answer_names"]

_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}


def output_format(path: str | Path) -> str:
    """``'csv'`` or ``'jsonl'`` by the file's extension.

    Raises:
        ConfigError: another extension.

    >>> output_format("p.jsonl"), output_format("out/P.CSV")
    ('jsonl', 'csv')
    """
    fmt = _FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise ConfigError(f"--output {path}: unknown file type {Path(path).suffix or '(none)'}",
                          hint="end the file name with .csv or .jsonl")
    return fmt


def write_rows(rows: Iterable[dict[str, Any]], out: TextIO, fmt: str) -> int:
    """Write prediction rows to ``out`` as ``fmt`` (``csv`` with a header line, or ``jsonl``); the number written."""
    rows = list(rows)
    if fmt == "csv":
        columns = list(dict.fromkeys(k for row in rows for k in row)) or ["id", "answer", "probability", "label"]
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
    else:
        for row in rows:
            out.write(json.dumps(row) + "\n")
    return len(rows)


def _free_positions(atom) -> list[int]:
    """Argument positions of the query's free variables: the answer's values, in order."""
    seen: set[str] = set()
    out = []
    for i, a in enumerate(atom.args):
        name = getattr(a, "name", None)
        if name is not None and type(a).__name__ == "Var" and name not in seen:
            seen.add(name)
            out.append(i)
    return out


def answer_names(module, datamodule) -> list[Optional[Sequence[str]]]:
    """Per answer value, the names the data module gives its numbers (``aunt`` for 13), or None.

    The names come from the model's own ``answer_names`` (a list) when it has one, else from the
    data module's ``describe`` (``greybox.trace.describe``) of its first test example; answers are
    named the same in every example.
    """
    own = getattr(module, "answer_names", None)
    if isinstance(own, (list, tuple)):  # a model that names its answers itself (e.g. true / false / unknown)
        return [list(own)]
    describe = getattr(datamodule, "describe", None)
    if not callable(describe):
        return []
    try:
        atom = module._reasoner_for(module.eval_reasoner_query).query_atom
        types = module.reasoner.engine.info.relations[atom.predicate].types
        description = describe("test", 0, 0)
        return [description.names_for(atom.predicate, i, types[i] if i < len(types) else None)
                for i in _free_positions(atom)]
    except Exception:  # noqa: BLE001 - names are a courtesy: without them answers stay numbers
        return []


def answer_text(module, codes: Sequence[int], names: Sequence[Optional[Sequence[str]]] = ()) -> str:
    """An answer's engine codes as text: named (``aunt``), symbols decoded (``bob``) or numbers (``7``)."""
    engine = getattr(getattr(module, "reasoner", None), "engine", None)
    query = getattr(module, "eval_reasoner_query", None)
    columns: list = []
    if engine is not None and query is not None:
        try:
            atom = module._reasoner_for(query).query_atom
            kinds = engine.symbol_columns.get(atom.predicate, [])
            columns = [bool(kinds[i]) if i < len(kinds) else False for i in _free_positions(atom)]
        except Exception:  # noqa: BLE001 - a module without an engine query: numbers as they are
            columns = []
    parts = []
    for j, code in enumerate(int(c) for c in codes):
        named = names[j] if j < len(names) else None
        if named is not None and 0 <= code < len(named):
            parts.append(str(named[code]))
        elif j < len(columns) and columns[j] and 0 <= code < len(engine.symbols):
            parts.append(str(engine.symbols.decode(code)))
        else:
            parts.append(str(code))
    return ", ".join(parts)


class PredictionWriter(BasePredictionWriter):
    """Writes each predicted sample as a line of ``path`` (CSV or JSON Lines by extension).

    Reads the predict step's ``answer`` (codes, ``(B, n)``) and ``probability`` (``(B,)``)
    and the batch's label (the module's ``label_key`` or ``answer_key``).

    Args:
        path: the file to write; its folder is created.
    """

    def __init__(self, path: str) -> None:
        super().__init__(write_interval="batch")
        self.path = Path(path)
        self.format = output_format(path)
        self.rows: list[dict[str, Any]] = []
        self.loaders: set[int] = set()
        self.names: list = []

    def on_predict_start(self, trainer, pl_module) -> None:
        self.rows, self.loaders = [], set()
        self.names = answer_names(pl_module, getattr(trainer, "datamodule", None))

    def write_on_batch_end(self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx) -> None:
        if not isinstance(prediction, dict) or "answer" not in prediction:
            raise ConfigError("--output needs a predict step that returns {'answer': ..., 'probability': ...}",
                              hint="greybox predict --output works with ReasoningTask models")
        answers = prediction["answer"].reshape(prediction["answer"].shape[0], -1).tolist()
        probs = prediction.get("probability")
        probs = probs.reshape(-1).tolist() if probs is not None else [None] * len(answers)
        labels = None
        for key in (getattr(pl_module, "answer_key", None), getattr(pl_module, "label_key", None)):
            if key and isinstance(batch, dict) and key in batch:
                labels = batch[key].reshape(len(answers), -1).tolist()
                break
        ids = list(batch_indices) if batch_indices is not None else [None] * len(answers)
        self.loaders.add(dataloader_idx)
        for j, codes in enumerate(answers):
            row: dict[str, Any] = {"id": ids[j] if j < len(ids) else None, "dataloader": dataloader_idx,
                                   "answer": answer_text(pl_module, codes, self.names),
                                   "probability": None if probs[j] is None else round(float(probs[j]), 6),
                                   "label": answer_text(pl_module, labels[j], self.names) if labels is not None else None}
            self.rows.append(row)

    def on_predict_end(self, trainer, pl_module) -> None:
        several = len(self.loaders) > 1
        rows = [{k: v for k, v in r.items() if several or k != "dataloader"} for r in self.rows]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", encoding="utf-8", newline="") as f:
            n = write_rows(rows, f, self.format)
        print(f"wrote {n} prediction{'s' if n != 1 else ''} to {self.path}", file=sys.stderr)
