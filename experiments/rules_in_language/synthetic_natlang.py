"""NatLang dev's theories stated in their synthetic sentences (the meta file's forms' own texts).

    python experiments/rules_in_language/synthetic_natlang.py ../shared/data/ruletaker/NatLang runs/natlang_synthetic

Writes ``OUT/dev.jsonl`` (each theory's context: its facts' and rules' synthetic sentences, in
the meta file's order; the same questions and labels) and ``OUT/meta-dev.jsonl`` (the meta
file without the paraphrased text, so every gold proof names the synthetic sentences). The
same theories, questions and gold proofs as NatLang dev, without the paraphrases: what a
reader of the synthetic language scores there, proofs included
(``gold_ceiling.py OUT/dev.jsonl --proofs --reader-weights HEAD``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _texts(forms: dict, prefix: str) -> list[str]:
    ordered = sorted(forms.items(), key=lambda kv: int(kv[0][len(prefix):]))
    return [" ".join(f["text"].split()) for _, f in ordered]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("natlang_dir", help="the folder with dev.jsonl and meta-dev.jsonl")
    ap.add_argument("out", help="the folder to write dev.jsonl and meta-dev.jsonl into")
    args = ap.parse_args(argv)
    src, out = Path(args.natlang_dir), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    metas = {}
    with open(out / "meta-dev.jsonl", "w", encoding="utf-8") as f:
        for line in (src / "meta-dev.jsonl").read_text(encoding="utf-8-sig").splitlines():
            if line.strip():
                meta = json.loads(line)
                meta.pop("theory", None)
                metas[meta["id"]] = meta
                f.write(json.dumps(meta) + "\n")
    with open(out / "dev.jsonl", "w", encoding="utf-8") as f:
        for line in (src / "dev.jsonl").read_text(encoding="utf-8-sig").splitlines():
            if line.strip():
                item = json.loads(line)
                meta = metas[item["id"]]
                item["context"] = " ".join(_texts(meta.get("triples", {}), "triple") + _texts(meta.get("rules", {}), "rule"))
                f.write(json.dumps(item) + "\n")
    print(f"{len(metas)} theories written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
