"""How long does checking a large knowledge base take?

Generates a rule file of N statements (facts and rules over a few hundred
relations, with recursion, negation, comparisons and arithmetic, all valid) into
a temporary folder and times:

* ``greybox kb check FILE`` as a subprocess (start-up and imports included), when
  the ``greybox`` command is available and succeeds;
* ``parse_program`` + ``check_program`` in this process.

Usage::

    python experiments/bench/kb_check.py [--statements 10000] [--relations 300] [--seed 0]
    python experiments/bench/kb_check.py --sizes 100000 1000000 [--keep DIR]

Prints ``kb check 10000 rules: X.XX s`` (the command, or in process when the
command is not available) and, when both work, the in-process figure too. Wall
times depend on what else the machine is running; the CPU seconds beside them
do much less.

With ``--sizes``, each size is written to a file and checked by the command
alone, under ``/usr/bin/time -v`` when it exists, which adds the peak resident
memory (and the memory per statement) to each line; ``--keep DIR`` writes the
files there and keeps them (e.g. to check them with another version of greybox:
``PYTHONPATH=/other/checkout``).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["generate", "time_cli", "time_in_process", "measure_cli", "main"]


def generate(statements: int = 10_000, relations: int = 300, seed: int = 0) -> str:
    """A valid program of ``statements`` statements over ``relations`` relations.

    A third of the relations hold facts only (``e0``..); the rest are derived
    (``d0``..), each from lower-numbered ones (so negation is stratified), some
    recursively. About 70% of the statements are facts.

    Args:
        statements: how many statements to write.
        relations: how many relations.
        seed: the random seed.

    Returns:
        The program text.

    Example:
        >>> text = generate(50, 10)
        >>> text.count(".\\n")
        50
    """
    rng = random.Random(seed)
    n_base = max(1, relations // 3)
    n_derived = max(1, relations - n_base)
    base = [f"e{i}" for i in range(n_base)]
    derived = [f"d{i}" for i in range(n_derived)]
    constants = [f"c{i}" for i in range(500)]
    n_rules = max(n_derived, statements * 3 // 10)
    n_facts = statements - n_rules - 1 - 1  # minus the domain and type declarations
    lines = ["domain num = 0..1000.", "type score(symbol, num)."]
    for i in range(n_facts):
        if i % 10 == 0:
            lines.append(f"score({rng.choice(constants)}, {rng.randrange(1001)}).")
        elif i % 7 == 0:
            args = f"{rng.choice(constants)}, {rng.choice(constants)}"
            lines.append(f"0.{rng.randrange(1, 10)} :: {rng.choice(base)}({args}).")
        else:
            lines.append(f"{rng.choice(base)}({rng.choice(constants)}, {rng.choice(constants)}).")
    for k in range(n_rules):
        j = k % n_derived  # every derived relation gets at least one rule
        head = derived[j]
        lower = base + derived[:j]
        shape = rng.randrange(6)
        a, b = rng.choice(lower), rng.choice(lower)
        if shape == 0:
            lines.append(f"{head}(X, Y) :- {a}(X, Y).")
        elif shape == 1:
            lines.append(f"{head}(X, Z) :- {a}(X, Y), {b}(Y, Z), X != Z.")
        elif shape == 2:  # recursion
            lines.append(f"{head}(X, Z) :- {head}(X, Y), {a}(Y, Z).")
        elif shape == 3:  # stratified negation
            lines.append(f"{head}(X, Y) :- {a}(X, Y), \\+ {b}(Y, _).")
        elif shape == 4:  # comparison and arithmetic
            lines.append(f"{head}(X, Y) :- {a}(X, Y), score(X, S), score(Y, T), S < T, U is S + T, U > 10.")
        else:
            lines.append(f"0.{rng.randrange(1, 10)} :: {head}(X, Y) :- {a}(X, Y), {b}(X, _).")
    return "\n".join(lines) + "\n"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_cli(path: Path) -> tuple[float, float] | None:
    """``(wall, cpu)`` seconds of ``greybox kb check PATH``, or ``None`` if the command is missing or fails."""
    exe = shutil.which("greybox") or str(Path(sys.executable).with_name("greybox"))
    if not os.path.exists(exe):
        return None
    start, cpu = time.perf_counter(), _children_cpu()
    try:
        done = subprocess.run([exe, "kb", "check", str(path)], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired):
        return None
    elapsed, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        print(f"greybox kb check failed ({done.returncode}): {(done.stderr or done.stdout)[-500:]}", file=sys.stderr)
        return None
    return elapsed, cpu


def time_in_process(text: str, path: Path) -> tuple[float, float, float, int]:
    """``(parse wall, check wall, parse + check cpu, number of problems)`` seconds in this process."""
    from greybox.lang.analysis import check_program
    from greybox.lang.parser import parse_program

    cpu = time.process_time()
    start = time.perf_counter()
    program = parse_program(text, file=str(path))
    parsed = time.perf_counter()
    problems = check_program(program, source=text)
    checked = time.perf_counter()
    return parsed - start, checked - parsed, time.process_time() - cpu, len(problems)


def measure_cli(path: Path) -> dict[str, float] | None:
    """``greybox kb check PATH`` under ``/usr/bin/time -v``: wall and CPU seconds, peak resident MB.

    Returns ``None`` when the command is missing or fails; without ``/usr/bin/time`` the
    peak is taken from ``getrusage`` of the children (the largest child so far).
    """
    exe = shutil.which("greybox") or str(Path(sys.executable).with_name("greybox"))
    if not os.path.exists(exe):
        return None
    timer = shutil.which("time") if not os.path.exists("/usr/bin/time") else "/usr/bin/time"
    command = ([timer, "-v"] if timer else []) + [exe, "kb", "check", str(path)]
    start, cpu = time.perf_counter(), _children_cpu()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired):
        return None
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if done.returncode != 0:
        print(f"greybox kb check failed ({done.returncode}): {(done.stderr or done.stdout)[-500:]}", file=sys.stderr)
        return None
    peak_kb = float(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    for line in done.stderr.splitlines():
        if "Maximum resident set size" in line:
            peak_kb = float(line.rsplit(":", 1)[1])
    return {"wall": wall, "cpu": cpu, "peak_mb": peak_kb / 1024}


def _sizes(sizes: list[int], relations: int, seed: int, keep: str | None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        empty = folder / "kb_empty.dl"
        empty.write_text("")
        base = measure_cli(empty)  # start-up and imports: what a statement costs is the rest
        base_mb = base["peak_mb"] if base else 0.0
        print(f"kb check of an empty file: peak {base_mb:.0f} MB")
        for n in sizes:
            path = folder / f"kb_{n}.dl"
            if not path.exists():
                path.write_text(generate(n, relations, seed))
            mb = path.stat().st_size / 1e6
            got = measure_cli(path)
            if got is None:
                print(f"kb check {n} rules ({mb:.1f} MB): the command failed", file=sys.stderr)
                return 1
            print(f"kb check {n} rules ({mb:.1f} MB): {got['wall']:.1f} s wall, {got['cpu']:.1f} s CPU, "
                  f"peak {got['peak_mb']:.0f} MB ({(got['peak_mb'] - base_mb) * 2**20 / n:.0f} bytes per statement "
                  "above the empty file's)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Generate, check, print the timings; the exit status is 1 if the program had problems."""
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--statements", type=int, default=10_000)
    cli.add_argument("--relations", type=int, default=300)
    cli.add_argument("--seed", type=int, default=0)
    cli.add_argument("--sizes", type=int, nargs="+", metavar="N",
                     help="check files of these numbers of statements with the command alone (time and peak memory)")
    cli.add_argument("--keep", metavar="DIR", help="with --sizes: write the files to DIR and keep them")
    args = cli.parse_args(argv)
    if args.sizes:
        return _sizes(args.sizes, args.relations, args.seed, args.keep)
    text = generate(args.statements, args.relations, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "kb.dl"
        path.write_text(text)
        parse_s, check_s, cpu_s, problems = time_in_process(text, path)
        cli = time_cli(path)
    n = args.statements
    if problems:
        print(f"the generated program has {problems} problems", file=sys.stderr)
    in_process = (f"parse {parse_s:.2f} s + check {check_s:.2f} s = {parse_s + check_s:.2f} s "
                  f"(CPU {cpu_s:.2f} s)")
    if cli is not None:
        print(f"kb check {n} rules: {cli[0]:.2f} s  (greybox kb check, process start-up included; CPU {cli[1]:.2f} s)")
        print(f"in process: {in_process}")
    else:
        print(f"kb check {n} rules: {parse_s + check_s:.2f} s  (in process: {in_process}; "
              "`greybox kb check` not available)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
