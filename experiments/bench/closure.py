"""Transitive closure (boolean), greybox vs clingo vs networkx, side by side in one run.

    .venv/bin/python experiments/bench/closure.py [--repeat 3] [--family ../shared/data/kg/family/facts.txt]

Graphs:
  * random directed graph, 1,000 nodes / 3,000 edges: the full closure (~879k pairs);
  * random directed graph, 10,000 nodes / 30,000 edges: its full closure has ~78M pairs (one
    strongly connected component holds 8,819 nodes), more than any of the three can hold
    here, so every system computes the closure from 10 sources, `path(s, Y)`;
  * the Family KG (3,007 entities, 17,615 edges, relation labels ignored): the full closure.

greybox runs the program below with the boolean semiring (tensors, CPU); clingo grounds
and solves the same program (its grounder does the semi-naive work); networkx calls
`descendants` per source. Every system's answer size is checked to be equal. Times are the
best of `--repeat` runs; the ratios are what to quote (the machine is shared and noisy).
The last line is `ratio clingo/greybox: X.XX` for the 1,000-node graph. torch runs on one
thread by default, like clingo and networkx (`--threads N` to change it).
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import networkx as nx
import torch

from greybox.engine.engine import Engine, InputFacts
from greybox.semirings.boolean import Boolean

CLOSURE = """
type edge(int, int).
path(X, Y) :- edge(X, Y).
path(X, Z) :- path(X, Y), edge(Y, Z).
"""
SOURCES = """
type edge(int, int).
type source(int).
path(S, Y) :- source(S), edge(S, Y).
path(S, Z) :- path(S, Y), edge(Y, Z).
"""


def random_graph(n: int, m: int, seed: int = 0) -> list[tuple[int, int]]:
    rng = random.Random(seed)
    edges: set[tuple[int, int]] = set()
    while len(edges) < m:
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            edges.add((a, b))
    return sorted(edges)


def family_graph(path: Path) -> list[tuple[int, int]]:
    ids: dict[str, int] = {}
    edges = set()
    for line in path.read_text().splitlines():
        parts = line.split("\t")
        if len(parts) == 3:
            h, _, t = parts
            edges.add((ids.setdefault(h, len(ids)), ids.setdefault(t, len(ids))))
    return sorted(edges)


def best_of(repeat: int, fn):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def run_greybox(edges, sources=None) -> int:
    eng = Engine(SOURCES if sources is not None else CLOSURE)
    e = torch.tensor(edges, dtype=torch.int64)
    inputs = {"edge": InputFacts(torch.cat([torch.zeros(len(e), 1, dtype=torch.int64), e], 1))}
    if sources is not None:
        s = torch.tensor(sources, dtype=torch.int64)[:, None]
        inputs["source"] = InputFacts(torch.cat([torch.zeros_like(s), s], 1))
    res = eng.run(semiring=Boolean(), inputs=inputs)
    return len(res["path"])


def run_clingo(edges, sources=None) -> int:
    import clingo

    program = (SOURCES if sources is not None else CLOSURE).replace("type edge(int, int).", "").replace("type source(int).", "")
    facts = "".join(f"edge({a},{b})." for a, b in edges)
    if sources is not None:
        facts += "".join(f"source({s})." for s in sources)
    ctl = clingo.Control(["--warn=none"])
    ctl.add("base", [], program + facts)
    ctl.ground([("base", [])])
    count = 0

    def on_model(model):
        nonlocal count
        count = sum(1 for a in model.symbols(atoms=True) if a.name == "path")

    ctl.solve(on_model=on_model)
    return count


def run_networkx(edges, sources=None) -> int:
    g = nx.DiGraph()
    g.add_edges_from(edges)
    nodes = sources if sources is not None else list(g.nodes)
    # path(v, v) holds when v lies on a cycle: networkx's descendants leave v out
    on_cycle = {v for comp in nx.strongly_connected_components(g) if len(comp) > 1 for v in comp}
    return sum(len(nx.descendants(g, v)) + (v in on_cycle) for v in nodes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (clingo and networkx use one)")
    ap.add_argument("--family", default=str(Path(__file__).resolve().parents[3] / "shared/data/kg/family/facts.txt"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cases = [("random 1k/3k, full closure", random_graph(1000, 3000), None)]
    big = random_graph(10_000, 30_000)
    cases.append(("random 10k/30k, 10 sources", big, random.Random(1).sample(range(10_000), 10)))
    fam = Path(args.family)
    if fam.is_file():
        cases.append(("family KG, full closure", family_graph(fam), None))
    else:
        print(f"family KG not found at {fam}: skipped (pass --family PATH)")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, best of {args.repeat}")
    print(f"{'graph':30s} {'tuples':>10s} {'greybox s':>10s} {'clingo s':>10s} {'networkx s':>10s} {'clingo/gb':>10s} {'nx/gb':>8s}")
    first_ratio = None
    for name, edges, sources in cases:
        t_g, n_g = best_of(args.repeat, lambda: run_greybox(edges, sources))
        t_c, n_c = best_of(args.repeat, lambda: run_clingo(edges, sources))
        t_n, n_n = best_of(args.repeat, lambda: run_networkx(edges, sources))
        if not (n_g == n_c == n_n):
            raise SystemExit(f"{name}: the systems disagree: greybox {n_g}, clingo {n_c}, networkx {n_n}")
        print(f"{name:30s} {n_g:>10,d} {t_g:>10.3f} {t_c:>10.3f} {t_n:>10.3f} {t_c / t_g:>10.2f} {t_n / t_g:>8.2f}")
        if first_ratio is None:
            first_ratio = t_c / t_g
    print(f"ratio clingo/greybox: {first_ratio:.2f}")


if __name__ == "__main__":
    main()
