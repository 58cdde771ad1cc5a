"""A trace as a text tree for the terminal.

Drawn with ``rich`` when it is available (and asked for), else with a plain ASCII
tree that has the same content line for line. Strings from the trace are shown
as text, never interpreted as ``rich`` markup.

Example:
    >>> from greybox.trace.schema import DecisionTrace, ProofNode, Proof, ProgramSource
    >>> leaf = ProofNode(atom="edge(a, b)", probability=0.8, fact_id=0,
    ...                  source=ProgramSource(file="g.dl", line=1))
    >>> root = ProofNode(atom="path(a, b)", probability=0.8, children=[leaf],
    ...                  rule=ProgramSource(file="g.dl", line=3, text="path(X, Y) :- edge(X, Y)."))
    >>> t = DecisionTrace(task="graph", split="test", index=2, query="path(a, b)",
    ...                   predicted="yes", probability=0.8, proofs=[Proof(probability=0.8, root=root)])
    >>> print(render_text(t, plain=True))
    graph test #2  query: path(a, b)
    predicted: yes  p=0.800  (no label)
    proofs
    `-- proof 1  p=0.800
        `-- path(a, b)  p=0.800  [rule g.dl:3]
            `-- edge(a, b)  p=0.800  <- g.dl:1
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Optional

from greybox.trace.picture import picture_lines
from greybox.trace.schema import DecisionTrace, PerceivedInput, ProofChain, ProofNode, format_probability as fp

__all__ = ["render_text", "TextNode", "trace_tree", "UNTRAINED_LINE"]

#: the first line of a trace of a model that no checkpoint was loaded into
UNTRAINED_LINE = ("UNTRAINED MODEL: no checkpoint was loaded (--ckpt_path); the networks have their random "
                  "initial weights, so this trace shows the rules at work, not what a model learned")


@dataclass
class TextNode:
    """A line of the text rendering and the lines below it.

    Attributes:
        label: the text of the line.
        style: a ``rich`` style for the line ('' = none), ignored by the plain tree.
        children: the lines below it.
    """

    label: str
    style: str = ""
    children: list[TextNode] = field(default_factory=list)

    def add(self, label: str, style: str = "") -> TextNode:
        """Append a child line and return it."""
        child = TextNode(label, style)
        self.children.append(child)
        return child


def _proof_node(node: ProofNode, culprits: set[int]) -> TextNode:
    label = ("\\+ " if node.negated else "") + node.atom + f"  p={fp(node.probability)}"
    style = ""
    if node.rule is not None:
        label += f"  [rule {node.rule.location}]"
    if node.source is not None:
        label += f"  <- {node.source.describe()}"
        if node.source.kind == "neural" and node.source.input_index in culprits:
            label += "  (culprit)"
            style = "bold red"
    out = TextNode(label, style)
    out.children = [_proof_node(c, culprits) for c in node.children]
    return out


def trace_tree(trace: DecisionTrace, trees: bool = True) -> tuple[list[tuple[str, str]], list[TextNode]]:
    """The content of the text rendering: header lines and one tree per section.

    Args:
        trace: the trace.
        trees: draw the derivation tree of a proof that also reads as a chain.

    Returns:
        ``(header, sections)``: header lines as ``(text, style)`` and the section trees.

    Example:
        >>> from greybox.trace.schema import DecisionTrace
        >>> header, sections = trace_tree(DecisionTrace(task="t", split="dev", index=0, query="q",
        ...                                             predicted="a", probability=1.0, correct=True))
        >>> header[1][0], [s.label for s in sections]
        ('predicted: a  p=1.000  right', ['proofs'])
    """
    if trace.correct is None:
        verdict, style = "(no label)" if trace.label is None else f"(label {trace.label})", ""
    elif trace.correct:
        verdict, style = "right", "bold green"
    else:
        verdict, style = f"WRONG (label {trace.label})", "bold red"
    subset = f" ({trace.subset})" if trace.subset else ""
    header = []
    if trace.provenance is not None and trace.provenance.untrained:
        header.append((UNTRAINED_LINE, "bold red"))
    header.append((f"{trace.task} {trace.split} #{trace.index}{subset}  query: {trace.query}", "bold"))
    if trace.question:
        header.append((f"question: {trace.question}", "bold"))
    header.append((f"predicted: {trace.predicted}  p={fp(trace.probability)}  {verdict}", style))
    sections: list[TextNode] = []
    if trace.passages:
        story = TextNode("text")
        for passage in trace.passages:
            story.add(f"[{passage.number}] {passage.text}")
        sections.append(story)
    if trace.alternatives:
        alts = TextNode("alternatives")
        for a in trace.alternatives:
            mark = "  (label)" if a.answer == trace.label else ""
            alts.add(f"{a.answer}  p={fp(a.probability)}{mark}")
        sections.append(alts)
    culprits = set(trace.culprit_inputs)
    described = [i for i in trace.inputs if i.label is not None]
    if described:
        sections.append(_readings(described, culprits))
    proofs = TextNode("proofs")
    for k, proof in enumerate(trace.proofs, 1):
        p = proofs.add(f"proof {k}  p={fp(proof.probability)}", "bold")
        if proof.chain is not None:
            p.children.append(_chain_node(proof.chain, culprits))
        for step in proof.steps:  # a proof over sentences, read as a chain of them
            p.add(step.text())
        if (proof.chain is None and not proof.steps) or trees:
            p.children.append(_proof_node(proof.root, culprits))
    if not trace.proofs:
        proofs.add("(no proof recorded)")
    sections.append(proofs)
    if trace.symbolic is not None:
        sections.append(_symbolic_node(f"P({trace.predicted}) as a polynomial", trace.symbolic))
    if trace.label_proofs:
        beside = TextNode(f"proofs of the label {trace.label} (not predicted)", "bold")
        for k, proof in enumerate(trace.label_proofs, 1):
            p = beside.add(f"proof {k}  p={fp(proof.probability)}", "bold")
            # the label's proofs read the inputs as they should have been: nothing there is a culprit
            if proof.chain is not None:
                p.children.append(_chain_node(proof.chain, set()))
            if proof.chain is None or trees:
                p.children.append(_proof_node(proof.root, set()))
        sections.append(beside)
    plain_inputs = [i for i in trace.inputs if i.label is None]
    if plain_inputs:
        ins = TextNode("inputs")
        for i in plain_inputs:
            what = f'"{i.text}"' if i.kind == "text" else "image"
            label = f"[{i.index}] {what}"
            if i.read_as is not None:
                label += f"  read as {i.read_as} (p={fp(i.probability)})"
            if i.true_label is not None:
                label += f"  true {i.true_label}"
            culprit = i.index in culprits
            picture = picture_lines(i.data_uri) if i.kind == "image" and i.data_uri else []
            ins.add("\n".join([label + ("  <- culprit" if culprit else ""), *picture]), "bold red" if culprit else "")
        sections.append(ins)
    if trace.rules_used:
        rules = TextNode("rules used")
        for r in trace.rules_used:
            rules.add(f"{r.location}  {r.text or ''}".rstrip())
        sections.append(rules)
    if trace.attributions:
        attrs = TextNode("attributions (d P(predicted) / d p(fact), by |gradient|)")
        for a in sorted(trace.attributions, key=lambda a: -abs(a.gradient)):
            attrs.add(f"{a.gradient:+.3f}  {a.atom}  p={fp(a.probability)}  <- {a.source.describe()}",
                      "green" if a.gradient >= 0 else "red")
        sections.append(attrs)
    if trace.culprit_inputs:
        cul = TextNode("culprits (misread inputs that caused the error)", "bold red")
        for idx in trace.culprit_inputs:
            i = trace.input(idx)
            label = f"input {idx}"
            if i is not None and i.label is not None:
                label += f" ({i.label}{' in ' + _span(i.passages) if i.passages else ''})"
            if i is not None and i.read_as is not None:
                label += f" read as {i.read_as}" + (f", true {i.true_label}" if i.true_label is not None else "")
            cul.add(label)
        sections.append(cul)
    if trace.why_not is not None:
        w = trace.why_not
        head = f"why not {w.target}?  " + (
            f"achievable, total change {fp(w.total_change)}" if w.achievable else "not achievable"
        )
        wn = TextNode(head, "bold")
        for c in w.changes:
            verb = "raise" if c.to_probability >= c.from_probability else "lower"
            src = f"  ({c.source.describe()})" if c.source is not None else ""
            wn.add(f"{verb} {c.atom}  {fp(c.from_probability)} -> {fp(c.to_probability)}{src}")
        if w.note:
            wn.add(w.note)
        for m in w.missing:
            where = f" [s{m.sentence}]" if m.sentence is not None else ""
            wn.add(f"{m.rule}{where} would conclude {m.conclusion}; unproved: {', '.join(m.unproved)}")
        if w.exact:
            exact = wn.add("exactly, changing one reading (the other readings of its input share the rest in proportion):")
            for c in w.exact:
                verb = "raise" if c.threshold >= c.from_probability else "lower"
                exact.add(f"{verb} {c.symbol} from {fp(c.from_probability)} past {c.threshold:.6g}"
                          f" (there {w.target} ties {c.rival})")
        if w.target_symbolic is not None:
            wn.children.append(_symbolic_node(f"P({w.target}) as a polynomial", w.target_symbolic))
        sections.append(wn)
    if trace.notes:
        notes = TextNode("notes")
        for note in trace.notes:
            notes.add(note)
        sections.append(notes)
    if trace.provenance is not None:
        sections.append(TextNode(f"model: {trace.provenance.describe()}"))
    return header, sections


def _symbolic_node(title: str, record) -> TextNode:
    """A polynomial (its largest terms; the JSON holds all of them) and what it evaluates to."""
    node = TextNode(title, "bold")
    node.add(f"= {record.summary}")
    node.add(f"= {fp(record.probability)} at the readings' probabilities ({record.terms} term"
             f"{'s' if record.terms != 1 else ''}, {len(record.symbols)} symbol{'s' if len(record.symbols) != 1 else ''})")
    return node


def _span(numbers: list[int]) -> str:
    from greybox.trace.describe import passage_span

    return passage_span(numbers)


def _readings(inputs: list[PerceivedInput], culprits: set[int]) -> TextNode:
    """Each described input's most probable reading; those that state nothing are counted."""
    node = TextNode("readings (most probable class of each input)")
    quiet: dict[str, int] = {}
    for i in inputs:
        if i.statement is None and i.index not in culprits:
            quiet[str(i.read_as)] = quiet.get(str(i.read_as), 0) + 1
            continue
        what = i.statement if i.statement is not None else f"{i.label} read as {i.read_as}"
        where = f"  from {_span(i.passages)}" if i.passages else ""
        label = f"{what}  p={fp(i.probability)}{where}  (input {i.index})"
        if i.true_label is not None:
            label += f"  true {i.true_label}"
        culprit = i.index in culprits
        node.add(label + ("  <- culprit" if culprit else ""), "bold red" if culprit else "")
    if quiet:
        counts = ", ".join(f"{cls} x{n}" for cls, n in sorted(quiet.items()))
        node.add(f"{sum(quiet.values())} more read as: {counts}")
    return node


def _chain_node(chain: ProofChain, culprits: set[int]) -> TextNode:
    """The proof as a path of named constants, then each link with the readings it rests on."""
    label = f"{chain.path()}  =>  {chain.conclusion}  p={fp(chain.probability)}"
    if chain.rule is not None:
        label += f"  [rule {chain.rule.location}]"
    out = TextNode(label, "bold")
    if len(chain.links) == 1 and chain.links[0].atom == chain.conclusion:
        out.children = [_proof_node(r, culprits) for r in chain.links[0].readings]  # the conclusion was read
        return out
    for link in chain.links:
        line = f"{link.atom}  p={fp(link.probability)}"
        if link.rule is not None:
            line += f"  [rule {link.rule.location}]"
        node = out.add(line)
        node.children = [_proof_node(r, culprits) for r in link.readings]
    return out


def _plain_lines(node: TextNode, prefix: str, out: list[str]) -> None:
    for k, child in enumerate(node.children):
        last = k == len(node.children) - 1
        first, *more = child.label.split("\n")
        out.append(prefix + ("`-- " if last else "|-- ") + first)
        below = prefix + ("    " if last else "|   ")
        out.extend(below + ("|   " if child.children else "    ") + line for line in more)  # a picture under its line
        _plain_lines(child, below, out)


def _rich(header: list[tuple[str, str]], sections: list[TextNode], width: int, color: bool) -> Optional[str]:
    try:
        from rich.console import Console
        from rich.text import Text
        from rich.tree import Tree
    except ImportError:  # rich is optional for this renderer: fall back to the plain tree
        return None

    def build(node: TextNode, tree: Tree) -> None:
        for child in node.children:
            build(child, tree.add(Text(child.label, style=child.style)))

    buf = io.StringIO()
    console = Console(file=buf, width=width, force_terminal=color, color_system="standard" if color else None,
                      no_color=not color, highlight=False, emoji=False, markup=False, soft_wrap=False)
    for text, style in header:
        console.print(Text(text, style=style))
    for section in sections:
        tree = Tree(Text(section.label, style=section.style or "bold"))
        build(section, tree)
        console.print(tree)
    return "\n".join(line.rstrip() for line in buf.getvalue().splitlines())


def render_text(trace: DecisionTrace, *, plain: bool = False, width: int = 120, color: bool = False,
                trees: bool = True) -> str:
    """Render a trace as a text tree.

    Shows ``UNTRAINED MODEL`` first when the trace's provenance says no checkpoint
    was loaded, the question and the example's text (when the trace has them), the
    predicted answer and its probability, the alternatives, the readings of the
    described inputs, each proof as a chain of named constants (when it reads as one)
    and as a tree (probabilities, ``file:line`` of the rules, where each leaf fact came
    from), the proofs of the label beside them when the prediction is wrong, the other
    perceived inputs (each image as a small picture of shading characters), the rules
    used, the attributions sorted by ``|gradient|``, the culprits, the prediction's
    probability as a polynomial over the readings (its largest terms), the why-not answer
    (with the exact threshold of one reading, when the trace has the polynomials),
    the notes and the model it explains (config, checkpoint, SHA-256, greybox version).

    Args:
        trace: the trace.
        plain: draw an ASCII tree without ``rich``.
        width: line width for ``rich`` (longer lines wrap).
        color: emit ANSI colours (``rich`` only).
        trees: also draw the derivation tree of a proof shown as a chain.

    Returns:
        The text, without a trailing newline.

    Example:
        >>> from greybox.trace.schema import DecisionTrace
        >>> t = DecisionTrace(task="t", split="dev", index=0, query="q", predicted="a", probability=1.0)
        >>> "└── (no proof recorded)" in render_text(t)
        True
    """
    header, sections = trace_tree(trace, trees=trees)
    if not plain:
        text = _rich(header, sections, width, color)
        if text is not None:
            return text
    lines = [text for text, _ in header]
    for section in sections:
        lines.append(section.label)
        _plain_lines(section, "", lines)
    return "\n".join(line.rstrip() for line in lines)
