"""A trace as a Graphviz DOT graph: the answer on top, one cluster per proof below.

The graph's title holds the query (and the question, when the trace has one); the
example's text, when the trace has passages, is a note of numbered lines; a proof that
reads as a chain of named constants carries the chain in its cluster's label.

Derived atoms are rounded boxes labelled with the rule's ``file:line``; leaf facts
are shaped by where they came from (neural readings filled, knowledge-graph rows
as cylinders, program facts as notes, run-time inputs as parallelograms);
negated literals are dashed; culprit readings are drawn in red. Every label is a
quoted DOT string with ``\\`` and ``"`` escaped, so any atom text is safe.

Example:
    >>> from greybox.trace.schema import DecisionTrace
    >>> t = DecisionTrace(task="t", split="dev", index=0, query='say("hi")', predicted='"a"\\\\b',
    ...                   probability=0.5)
    >>> print(render_dot(t))  # doctest: +ELLIPSIS
    digraph trace {
      graph [label="t dev #0: say(\\"hi\\")", labelloc=t, fontname="Helvetica", rankdir=TB];
    ...
      answer [label="\\"a\\"\\\\b\\np=0.500\\nno label", shape=doubleoctagon, color="#555555"];
    }
"""

from __future__ import annotations

from greybox.trace.schema import DecisionTrace, ProofNode, format_probability as fp

__all__ = ["render_dot", "dot_string"]

_LEAF_STYLE = {
    "neural": {"shape": "box", "style": "filled", "fillcolor": "#ece6fb", "color": "#6d4bc4"},
    "kg": {"shape": "cylinder", "color": "#b06f00"},
    "program": {"shape": "note", "color": "#2f6fde"},
    "input": {"shape": "parallelogram", "color": "#2b8a8a"},
}


def dot_string(text: str) -> str:
    """Quote text as a DOT string (``"..."``); line breaks become centred ``\\n`` breaks.

    Args:
        text: any text.

    Returns:
        The quoted string.

    Example:
        >>> print(dot_string('a "b" \\\\c'))
        "a \\"b\\" \\\\c"
    """
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\r\n", "\n").replace("\r", "\n")
    return '"' + escaped.replace("\n", "\\n") + '"'


def _label(*lines: str) -> str:
    # escape each line, then join with DOT's centred line break
    return '"' + "\\n".join(dot_string(line)[1:-1] for line in lines) + '"'


def render_dot(trace: DecisionTrace) -> str:
    """Render a trace's proofs as Graphviz DOT text (``dot -Tsvg trace.dot > trace.svg``).

    Args:
        trace: the trace.

    Returns:
        DOT source of a ``digraph``.

    Example:
        >>> from greybox.trace.schema import DecisionTrace
        >>> dot = render_dot(DecisionTrace(task="t", split="dev", index=0, query="q",
        ...                                predicted="a", probability=1.0))
        >>> dot.startswith("digraph trace {") and dot.endswith("}")
        True
    """
    culprits = set(trace.culprit_inputs)
    if trace.correct is None:
        verdict, color = "no label", "#555555"
    elif trace.correct:
        verdict, color = "right", "#1a7f4b"
    else:
        verdict, color = f"wrong (label {trace.label})", "#c0362c"
    subset = f" ({trace.subset})" if trace.subset else ""
    title = [f"{trace.task} {trace.split} #{trace.index}{subset}: {trace.query}"]
    if trace.question:
        title.append(trace.question)
    if trace.provenance is not None:
        if trace.provenance.untrained:
            title.insert(0, "UNTRAINED MODEL (no checkpoint loaded)")
        title.append(trace.provenance.describe())
    lines = [
        "digraph trace {",
        f"  graph [label={_label(*title)}, "
        'labelloc=t, fontname="Helvetica", rankdir=TB];',
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [color="#888888", arrowsize=0.6];',
        f"  answer [label={_label(trace.predicted, f'p={fp(trace.probability)}', verdict)}, "
        f"shape=doubleoctagon, color={dot_string(color)}];",
    ]
    if trace.passages:
        # the example's text, one line per passage (left-aligned: \l ends each line)
        text = "".join(dot_string(f"[{p.number}] {p.text}")[1:-1] + "\\l" for p in trace.passages)
        lines.append(f'  text [label="{text}", shape=note, color="#999999", fontsize=9];')
    counter = 0

    def emit(node: ProofNode, prefix: str, out: list[str]) -> str:
        nonlocal counter
        name = f"{prefix}n{counter}"
        counter += 1
        text = [("\\+ " if node.negated else "") + node.atom, f"p={fp(node.probability)}"]
        attrs: dict[str, str] = {"shape": "box"}
        if node.rule is not None:
            text.append(f"rule {node.rule.location}")
            attrs["style"] = "rounded"
            if node.rule.text:
                attrs["tooltip"] = node.rule.text
        elif node.source is not None:
            text.append(node.source.describe())
            attrs = dict(_LEAF_STYLE[node.source.kind])
        if node.negated:
            attrs["style"] = ",".join(filter(None, [attrs.get("style"), "dashed"]))
        if node.source is not None and node.source.kind == "neural" and node.source.input_index in culprits:
            attrs.update(color="#c0362c", penwidth="2")
        rest = "".join(f", {k}={dot_string(v)}" for k, v in attrs.items())
        out.append(f"    {name} [label={_label(*text)}{rest}];")
        for child in node.children:
            out.append(f"    {name} -> {emit(child, prefix, out)};")
        return name

    for k, proof in enumerate(trace.proofs):
        body: list[str] = []
        root = emit(proof.root, f"p{k}", body)
        head = [f"proof {k + 1}  p={fp(proof.probability)}"]
        if proof.chain is not None:
            rule = f"  [rule {proof.chain.rule.location}]" if proof.chain.rule is not None else ""
            head.append(f"{proof.chain.path()}  =>  {proof.chain.conclusion}{rule}")
        lines.append(f"  subgraph cluster_proof{k} {{")
        lines.append(f'    label={_label(*head)}; style="rounded"; color="#cccccc";')
        lines.extend(body)
        lines.append("  }")
        lines.append(f"  answer -> {root};")
    lines.append("}")
    return "\n".join(lines)
