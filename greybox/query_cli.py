"""``greybox query``: answer queries over rule and knowledge-graph files, with proofs.

::

    greybox query FILE... ["?- goal."] [--semiring NAME] [-k K] [--proofs] [--format text|json]
                  [--all | --relation NAME] [--evidence "ATOM=true|false"] [--mpe [--show-false]]
                  [--max-tuples N] [--max-rounds N] [--timeout SECONDS] [--repl]

With a query on the command line, it is answered; without one, every ``?- goal.`` of
the files is, in order. ``--all`` and ``--relation`` print whole relations, one tuple
per line with its probability. ``evidence(atom, true|false).`` statements in the files
and ``--evidence`` options condition every probability (``P(q | e)``, exact);
``--mpe`` prints the most probable world consistent with the evidence. The semiring
decides what the probability is (``greybox.query.session``); ``--proofs`` draws the
derivation of the best proofs (``exact`` and ``top-k``). Each question is evaluated
on the part of the program it needs. ``--repl`` reads queries, evidence and new
rules from standard input, one statement at a time.

Example:
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "kin.dl"
    >>> _ = f.write_text("0.9 :: father(ann, bob).\\n1.0 :: father(bob, cid).\\n"
    ...                  "grandfather(X, Z) :- father(X, Y), father(Y, Z).\\n")
    >>> result = run_query([f], "?- grandfather(ann, Z).")
    >>> [(a["bindings"], a["probability"]) for a in result["answers"]]
    [({'Z': 'cid'}, 0.9)]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence, TextIO

__all__ = ["add_parser", "run_query", "answer_query", "format_text", "format_relations", "format_mpe", "repl"]

_FILE_SUFFIXES = (".dl", ".tsv", ".csv", ".jsonl")


def add_parser(commands: argparse._SubParsersAction) -> None:
    """Add the ``query`` sub-command to ``commands``.

    Args:
        commands: the sub-parsers of the ``greybox`` parser.
    """
    from greybox.query.mpe import DEFAULT_MAX_GROUPS
    from greybox.query.session import SEMIRINGS

    p = commands.add_parser(
        "query", help="answer queries over rule and knowledge-graph files",
        usage='greybox query FILE... ["?- goal."] [options]',
        description="Answer queries with the reference evaluator: every answer with its probability, "
        "and with --proofs the derivation of its best proofs. Without a query on the command line, "
        "the `?- goal.` queries of the files are answered in order.",
    )
    p.add_argument("files", nargs="+", metavar="FILE",
                   help=".dl, .tsv, .csv or .jsonl files, or folders; the last argument may be the query, "
                   'e.g. "?- grandfather(ann, Z)."')
    p.add_argument("--semiring", choices=SEMIRINGS, default="exact",
                   help="what an answer's probability is: exact (default: every proof, weighted model "
                   "count), top-k (the k best proofs), max-mult (the best derivation), add-mult (sum of "
                   "derivations), max-min (fuzzy), boolean (1 if derivable)")
    p.add_argument("-k", type=int, default=3, metavar="K", help="proofs kept (top-k) and shown per answer (default 3)")
    p.add_argument("--proofs", action="store_true", help="show the derivation of each answer's best proofs")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    p.add_argument("--all", action="store_true", help="print every derived relation, one tuple per line")
    p.add_argument("--relation", action="append", default=[], metavar="NAME",
                   help="print the whole relation NAME, one tuple per line (repeatable)")
    p.add_argument("--evidence", action="append", default=[], metavar="ATOM=true|false",
                   help='condition on an observation, e.g. --evidence "alarm=true" (repeatable; also '
                   "`evidence(alarm, true).` in a file)")
    p.add_argument("--mpe", action="store_true",
                   help="print the most probable world (the true probabilistic facts) consistent with the evidence")
    p.add_argument("--show-false", action="store_true", help="with --mpe, list the false facts too")
    p.add_argument("--mpe-max-facts", type=int, default=DEFAULT_MAX_GROUPS, metavar="N",
                   help=f"the most fact groups the evidence may depend on for the exact --mpe (default {DEFAULT_MAX_GROUPS})")
    p.add_argument("--max-tuples", type=int, default=1_000_000, metavar="N",
                   help="tuples one relation may hold (default 1,000,000)")
    p.add_argument("--max-rounds", type=int, default=10_000, metavar="N",
                   help="rounds of one recursive stratum (default 10,000)")
    p.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                   help="wall-clock limit of evaluation and exact inference (default: none)")
    p.add_argument("--repl", action="store_true",
                   help="read `?- goal.` queries, evidence and rules from standard input and answer each")
    p.set_defaults(run=_run)
    # the query may follow options (`FILE --proofs "?- q."`): read positionals wherever they are
    p.__class__ = _IntermixedParser


class _IntermixedParser(argparse.ArgumentParser):
    """A parser that takes positional arguments before, between and after the options.

    ``argparse`` fills a positional once, from the first run of plain arguments; the
    query sub-command's files and query may be split by options.

    >>> p = _IntermixedParser(prog="q")
    >>> _ = p.add_argument("files", nargs="+"); _ = p.add_argument("--proofs", action="store_true")
    >>> p.parse_args(["a.dl", "--proofs", "?- q."]).files
    ['a.dl', '?- q.']
    """

    _intermixing = False

    def parse_known_args(self, args=None, namespace=None):
        if self._intermixing:  # the two passes of parse_known_intermixed_args
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False


def run_query(files: Sequence[str | os.PathLike], text: str, *, k: int = 3, proofs: bool = False,
              semiring: str = "exact", evidence: Sequence[str] = ()) -> dict:
    """Answer ``text`` over the knowledge base in ``files`` (see ``answer_query``).

    Args:
        files: rule and knowledge-graph files (or folders); their evidence statements count.
        text: the query, ``?-`` optional.
        k: proofs kept per answer.
        proofs: include each proof's derivation tree.
        semiring: one of ``greybox.query.session.SEMIRINGS``.
        evidence: more observations, ``"ATOM=true"`` or ``"ATOM=false"``.

    Returns:
        What ``answer_query`` returns.

    Raises:
        GreyboxError: a file is missing or wrong, the program has a problem, or the query
            does not parse or names an unknown relation.
    """
    from greybox.query.sources import load_sources, parse_evidence_option

    kb, found = load_sources(files)
    observed = found + [parse_evidence_option(e) for e in evidence]
    return answer_query(kb, text, k=k, proofs=proofs, semiring=semiring, evidence=observed)


def answer_query(kb, text: str, *, k: int = 3, proofs: bool = False, semiring: str = "exact",
                 evidence: Sequence = ()) -> dict:
    """Answer ``text`` over a loaded ``KnowledgeBase`` with the reference evaluator.

    Args:
        kb: the knowledge base.
        text: the query, ``?-`` optional.
        k: proofs kept per answer.
        proofs: include each proof's derivation tree.
        semiring: one of ``greybox.query.session.SEMIRINGS``.
        evidence: ``Evidence`` to condition on.

    Returns:
        ``{"query": str, "semiring", "evidence", "answers": [{"bindings", "probability",
        "proofs": [...]}]}``; each proof has ``probability``, ``facts`` (relation, args,
        positive, probability, origin) and, with ``proofs=True``, ``tree`` (nested nodes)
        and ``text`` (drawn).

    Raises:
        GreyboxError: the program has a problem, or the query does not parse.
    """
    from greybox.lang.parser import parse_query
    from greybox.query.session import QuerySession

    session = QuerySession(kb, semiring=semiring, k=k, evidence=evidence)
    return session.answer(parse_query(text, file="<query>"), proofs=proofs, need_proofs=True)


def format_text(result: dict, *, proofs: bool = False) -> str:
    """Draw the result of ``run_query`` for a terminal.

    Args:
        result: what ``run_query`` returned.
        proofs: draw each proof's derivation tree.

    Returns:
        The text, ending without a newline.
    """
    head = result["query"]
    if result.get("evidence"):
        head += "    given " + ", ".join(result["evidence"])
    if result.get("semiring", "exact") != "exact":
        head += f"    ({result['semiring']})"
    lines = [head]
    if not result["answers"]:
        lines.append("no answers")
    for n, a in enumerate(result["answers"], start=1):
        bindings = ", ".join(f"{k} = {_show(v)}" for k, v in a["bindings"].items()) or "yes"
        lines.append(f"{n}. {bindings}    p = {a['probability']:.4g}")
        if not proofs:
            continue
        for m, proof in enumerate(a["proofs"], start=1):
            lines.append(f"   proof {m} (p = {proof['probability']:.4g}):")
            lines += ["     " + row for row in proof.get("text", "").splitlines()]
    return "\n".join(lines)


def format_relations(relations: list[dict], *, headers: bool = True) -> str:
    """Draw whole relations: one tuple per line with its probability.

    Example:
        >>> print(format_relations([{"relation": "aunt", "arity": 2,
        ...                          "tuples": [{"args": ["ann", "cid"], "probability": 0.5}]}]))
        % aunt/2: 1 tuple
        aunt(ann, cid)    0.5
    """
    from greybox.lang.ast import Atom, Const
    from greybox.lang.printer import format_atom

    lines = []
    for rel in relations:
        n = len(rel["tuples"])
        if headers:
            lines.append(f"% {rel['relation']}/{rel['arity']}: {n} tuple{'s' if n != 1 else ''}")
        for row in rel["tuples"]:
            atom = format_atom(Atom(rel["relation"], tuple(Const(v) for v in row["args"])))
            lines.append(f"{atom}    {row['probability']:.6g}")
    return "\n".join(lines)


def format_mpe(result: dict, *, show_false: bool = False) -> str:
    """Draw the most probable explanation: its probability, then its true (and false) facts.

    Example:
        >>> print(format_mpe({"probability": 0.28, "evidence": ["c=true"],
        ...                   "true": [{"fact": "b", "probability": 0.4, "origin": "k.dl:1"}],
        ...                   "false": [{"fact": "a", "probability": 0.3, "origin": "k.dl:1"}]}, show_false=True))
        most probable explanation    given c=true
        p = 0.28
        b    % p = 0.4, k.dl:1
        \\+ a    % p = 0.3, k.dl:1
    """
    head = "most probable explanation"
    if result["evidence"]:
        head += "    given " + ", ".join(result["evidence"])
    lines = [head, f"p = {result['probability']:.6g}"]
    rows = [("", f) for f in result["true"]] + ([("\\+ ", f) for f in result["false"]] if show_false else [])
    for sign, f in rows:
        where = [f"p = {f['probability']:g}"] + ([f["origin"]] if f["origin"] else [])
        lines.append(f"{sign}{f['fact']}    % {', '.join(where)}")
    if not result["true"] and not show_false:
        lines.append("(no probabilistic fact holds)")
    return "\n".join(lines)


def repl(session, stdin: TextIO, stdout: TextIO, *, proofs: bool = False, fmt: str = "text") -> int:
    """Read statements from ``stdin`` and answer each query.

    A line may hold several statements; a statement may span lines. ``?- goal.`` is
    answered; ``evidence(atom, true|false).`` is added to the evidence; any other
    statement (a fact, a rule, a declaration) is added to the program, if the program
    stays sound. An error is printed and the loop goes on.

    Args:
        session: a ``QuerySession``.
        stdin: where statements are read.
        stdout: where answers are written (errors go to standard error).
        proofs: draw each answer's proofs.
        fmt: ``text`` or ``json`` (one JSON object per line).

    Returns:
        The number of statements that failed (0 when all succeeded).
    """
    from greybox.errors import GreyboxError
    from greybox.kb.knowledge_base import KnowledgeBase, Origin, statement_ends
    from greybox.lang.ast import Query
    from greybox.lang.parser import parse_program
    from greybox.query.session import QuerySession
    from greybox.query.sources import read_reserved, statement_kind

    failures = 0
    buffer, first_line = "", 1
    line_no = 0
    for line in stdin:
        line_no += 1
        if not buffer.strip():
            buffer, first_line = "", line_no
        buffer += line
        ends = list(statement_ends(buffer))
        if not ends:
            continue
        chunk, buffer = buffer[: ends[-1]], buffer[ends[-1]:]
        padded = "\n" * (first_line - 1) + chunk
        first_line = line_no
        try:
            blank, evidence = read_reserved(padded, "<stdin>")
            statements = parse_program(blank, file="<stdin>").statements
            rules = [s for s in statements if not isinstance(s, Query)]
            kb = session.kb
            if rules or evidence:
                if rules:
                    from greybox.lang.ast import Program

                    kb = KnowledgeBase(kb.program + Program(tuple(rules)),
                                       kb.origins + tuple(Origin(statement_kind(s), "<stdin>", s.span.line) for s in rules),
                                       kb.graph, files=kb.files, inputs=kb.inputs, sources=kb.sources)
                session = QuerySession(kb, semiring=session.semiring, k=session.k,
                                       evidence=session.evidence + evidence, limits=session.limits)
            for q in (s for s in statements if isinstance(s, Query)):
                result = session.answer(q, proofs=proofs, need_proofs=proofs or fmt == "json")
                if fmt == "json":
                    print(json.dumps(result, default=str), file=stdout)
                else:
                    print(format_text(result, proofs=proofs), file=stdout)
        except GreyboxError as err:
            failures += 1
            print(f"error: {err}", file=sys.stderr)
        stdout.flush()
    if buffer.strip():
        failures += 1
        print(f"error: <stdin>:{first_line}: the last statement does not end with '.'", file=sys.stderr)
    return failures


# ---------------------------------------------------------------- the command


def _run(ns: argparse.Namespace) -> int:
    from greybox.errors import ConfigError
    from greybox.lang.parser import parse_query
    from greybox.query.directed import QueryLimits
    from greybox.query.mpe import most_probable_explanation
    from greybox.query.session import QuerySession
    from greybox.query.sources import load_sources, parse_evidence_option

    files, text = _split_query(ns.files)
    if ns.show_false and not ns.mpe:
        raise ConfigError("--show-false goes with --mpe", hint="add --mpe")
    for option, value in (("--max-tuples", ns.max_tuples), ("--max-rounds", ns.max_rounds),
                          ("--timeout", ns.timeout), ("--mpe-max-facts", ns.mpe_max_facts)):
        if value is not None and value <= 0:
            raise ConfigError(f"{option} must be positive, not {value:g}", hint=f"e.g. {option} 10")
    kb, evidence = load_sources(files)
    # the clock starts once the files are read: --timeout bounds evaluation and inference
    limits = QueryLimits(max_tuples=ns.max_tuples, max_rounds=ns.max_rounds, timeout=ns.timeout)
    _warn_misspelt(kb)
    evidence += [parse_evidence_option(e) for e in ns.evidence]
    session = QuerySession(kb, semiring=ns.semiring, k=ns.k, evidence=evidence, limits=limits)
    if ns.repl:
        if text is not None:
            raise ConfigError("--repl reads its queries from standard input", hint="leave the query out")
        return 1 if repl(session, sys.stdin, sys.stdout, proofs=ns.proofs, fmt=ns.format) else 0
    need_proofs = ns.proofs or ns.format == "json"
    queries = [parse_query(text, file="<query>")] if text is not None else []
    asked_other = ns.all or ns.relation or ns.mpe
    if not queries and not asked_other:
        queries = list(kb.program.queries)
        if not queries:
            raise ConfigError("nothing to answer: no query was given and the files hold no `?- goal.`",
                              hint='give one, e.g. greybox query FILE "?- parent(ann, X).", or use --all, '
                              "--relation NAME or --mpe")
    results = [session.answer(q, proofs=ns.proofs, need_proofs=need_proofs) for q in queries]
    relations = None
    if ns.all or ns.relation:
        relations = session.relations(None if ns.all and not ns.relation else ns.relation)
    mpe = most_probable_explanation(session, max_groups=ns.mpe_max_facts) if ns.mpe else None
    if ns.format == "json":
        if len(results) == 1 and relations is None and mpe is None and text is not None:
            out: object = results[0]
        else:
            out = {key: value for key, value in
                   (("queries", results if queries else None), ("relations", relations), ("mpe", mpe))
                   if value is not None}
        print(json.dumps(out, indent=2, default=str))
        return 0
    blocks = [format_text(r, proofs=ns.proofs) for r in results]
    if relations is not None:
        given = ["% given " + ", ".join(str(e) for e in evidence)] if evidence else []
        blocks.append("\n".join(given + [format_relations(relations, headers=ns.all or len(relations) > 1)]))
    if mpe is not None:
        blocks.append(format_mpe(mpe, show_false=ns.show_false))
    print("\n\n".join(b for b in blocks if b))
    return 0


def _split_query(args: list[str]) -> tuple[list[str], str | None]:
    """The files, and the query when the last argument is one (not a path to a file or folder).

    >>> _split_query(["k.dl", "family.tsv", "?- aunt(ann, X)."])
    (['k.dl', 'family.tsv'], '?- aunt(ann, X).')
    >>> _split_query(["k.dl", "family.tsv"])
    (['k.dl', 'family.tsv'], None)
    """
    last = args[-1]
    is_query = last.lstrip().startswith("?-") or (
        len(args) > 1 and not Path(last).exists() and not last.lower().endswith(_FILE_SUFFIXES))
    return (args[:-1], last) if is_query else (list(args), None)


def _warn_misspelt(kb) -> None:
    """Print a warning for each knowledge-graph relation that looks like a misspelt rule relation."""
    for warning in kb.warnings():
        print(f"warning: {warning}", file=sys.stderr)


def _show(value) -> str:
    """A binding's value as the rule language writes it (one way to print a constant: the printer's).

    >>> _show(3), _show("ann"), _show("Bob Jr")
    ('3', 'ann', "'Bob Jr'")
    """
    from greybox.lang.ast import Const
    from greybox.lang.printer import format_constant

    return format_constant(Const(value))


if __name__ == "__main__":  # pragma: no cover
    from greybox.cli import main

    sys.exit(main(["query", *sys.argv[1:]]))
