"""``DecisionTrace``: the versioned, strict record of one prediction and why it was made.

A trace is data. The engine fills it once; every renderer (text, DOT, HTML) and
every tool that reads traces works from these models alone. All models forbid
unknown fields and are frozen; the JSON Schema generated from them is committed
next to this file as ``schema.json`` and a test fails when the two drift apart.
Regenerate it with::

    python -m greybox.trace.schema > greybox/trace/schema.json

Versions: ``SCHEMA_VERSION`` is what greybox writes; ``validate_trace_json`` also
reads the older ``READABLE_VERSIONS`` (each only added optional fields: 1.1 the
example's ``passages``, ``question`` and ``subset``, named inputs, ``Proof.chain`` and
``notes``; 1.2 the trace's ``provenance`` (config files, checkpoint and its SHA-256,
greybox version, whether the model is untrained), ``label_proofs`` and the batch's
``selection``; 1.3 ``symbolic``, the prediction's probability as a polynomial over the
perceived facts, and the why-not's ``exact`` thresholds and ``target_symbolic``; 1.4 a proof
read as a chain of the sentences it rests on (``Proof.steps``, ``Proof.sentences``) and the
why-not's ``missing`` premises, for theories stated in English).

Where a fact came from is a ``Source``, a union discriminated on ``kind``:

==============  ===============================================================
``neural``      a neural network read an input (``digit_net`` read image 1 as 3)
``program``     a fact or rule written in a program file (``file:line``)
``kg``          a row of a knowledge-graph data file
``input``       a fact supplied at run time
==============  ===============================================================

Example:
    >>> src = NeuralSource(predicate="digit", model="digit_net", sample=0,
    ...                    input_index=1, input_label="image 1", cls=3, probability=0.91)
    >>> src.describe()
    'digit_net read image 1 as 3 (p=0.910)'
    >>> leaf = ProofNode(atom="digit(img1, 3)", probability=0.91, source=src, fact_id=4)
    >>> trace = DecisionTrace(schema_version="1.4", task="digit_sum", split="test", index=0,
    ...                       query="digit(img1, D)", predicted="3", probability=0.91,
    ...                       correct=True, label="3",
    ...                       proofs=[Proof(probability=0.91, root=leaf)])
    >>> validate_trace_json(trace.model_dump_json()) == trace
    True
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Iterator, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from greybox.errors import ConfigError, ParseError

__all__ = [
    "SCHEMA_VERSION",
    "NeuralSource",
    "ProgramSource",
    "KGSource",
    "InputSource",
    "Source",
    "ProofNode",
    "Proof",
    "Alternative",
    "Attribution",
    "PerceivedInput",
    "Passage",
    "Provenance",
    "ChainLink",
    "ProofChain",
    "ProofStep",
    "MissingPremise",
    "FactChange",
    "SymbolicFact",
    "SymbolicProbability",
    "ExactChange",
    "WhyNot",
    "DecisionTrace",
    "TraceBatch",
    "json_schema",
    "schema_text",
    "write_schema",
    "validate_trace_json",
    "format_probability",
    "READABLE_VERSIONS",
]

#: the version greybox writes; 1.1 added passages, question, subset, named inputs and proof chains;
#: 1.2 added provenance (config, checkpoint, version, untrained), label_proofs and a batch's selection;
#: 1.3 added symbolic provenance (the prediction's probability as a polynomial) and the exact why-not;
#: 1.4 added proofs as chains of sentences (Proof.steps, Proof.sentences) and the why-not's missing premises
SCHEMA_VERSION = "1.4"
#: the versions ``validate_trace_json`` reads (every 1.x change only added optional fields)
READABLE_VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4")

Probability = Annotated[float, Field(ge=0.0, le=1.0)]


def format_probability(p: float | None) -> str:
    """Format a probability the way every renderer shows it.

    Three decimals, or three significant digits below 0.001 so that small but
    non-zero values do not read as zero.

    Args:
        p: the probability, or ``None`` when unknown.

    Returns:
        The text, ``'?'`` for ``None``.

    Example:
        >>> format_probability(0.9123), format_probability(0.00012), format_probability(None)
        ('0.912', '0.00012', '?')
    """
    if p is None:
        return "?"
    if p != 0 and abs(p) < 0.001:
        return f"{p:.2g}"
    return f"{p:.3f}"


class _Strict(BaseModel):
    """Base of every trace model: unknown fields are errors, instances are immutable."""

    # json_schema_serialization_defaults_required: the committed schema describes what greybox
    # writes, and model_dump always writes every field
    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, json_schema_serialization_defaults_required=True
    )


# ---------------------------------------------------------------- sources


class NeuralSource(_Strict):
    """A neural network's reading of one input: ``model`` read input ``input_index`` as ``cls``."""

    kind: Literal["neural"] = "neural"
    predicate: str = Field(description="The neural predicate, e.g. 'digit'.")
    model: str = Field(description="The network bound to the predicate, e.g. 'digit_net'.")
    sample: int = Field(description="Index of the sample within its batch.")
    input_index: int = Field(description="PerceivedInput.index of the input that was read.")
    input_label: Optional[str] = Field(
        default=None, description="How the input is called when shown, e.g. 'image 1' or 'sentence 2'."
    )
    cls: Union[str, int] = Field(description="The class the network read, e.g. 3 or 'son'.")
    probability: Probability = Field(description="The probability the network gave that class.")

    def describe(self) -> str:
        """One line for people, e.g. ``'digit_net read image 1 as 3 (p=0.910)'``."""
        what = self.input_label or f"input {self.input_index}"
        return f"{self.model} read {what} as {self.cls} (p={format_probability(self.probability)})"


class ProgramSource(_Strict):
    """A fact or rule written in a program (``file:line`` and its text, when known)."""

    kind: Literal["program"] = "program"
    file: Optional[str] = Field(default=None, description="The program file, None for a program given as text.")
    line: Optional[int] = Field(default=None, ge=1, description="1-based line of the statement.")
    text: Optional[str] = Field(default=None, description="The statement as written.")

    @property
    def location(self) -> str:
        """``file:line`` with the parts that are known (``'<program>'`` when neither is)."""
        if self.line is None:
            return self.file or "<program>"
        return f"{self.file or '<program>'}:{self.line}"

    def describe(self) -> str:
        """One line for people, e.g. ``'knowledge/digits.dl:4'``."""
        return self.location


class KGSource(_Strict):
    """A row of a knowledge-graph data file."""

    kind: Literal["kg"] = "kg"
    file: str = Field(description="The knowledge-graph data file.")
    row: int = Field(ge=0, description="Row of the fact in that file (as the loader numbers them).")

    def describe(self) -> str:
        """One line for people, e.g. ``'knowledge graph people.csv row 4'``."""
        return f"knowledge graph {self.file} row {self.row}"


class InputSource(_Strict):
    """A fact supplied at run time (a query argument, a story's entities, ...)."""

    kind: Literal["input"] = "input"
    description: str = Field(description="Where the fact came from, in words.")

    def describe(self) -> str:
        """One line for people: the description."""
        return f"input: {self.description}"


Source = Annotated[
    Union[NeuralSource, ProgramSource, KGSource, InputSource],
    Field(discriminator="kind"),
]


# ---------------------------------------------------------------- proofs


class ProofNode(_Strict):
    """One atom of a proof tree.

    A derived node names the ``rule`` that derived it and has the rule body's
    atoms as ``children``; a leaf fact names its ``source`` and ``fact_id``. A
    negated node stands for the literal ``\\+ atom``: its ``probability`` is that of
    the literal, ``1 - P(atom)`` (1.0 when ``atom`` was not derived at all).
    """

    atom: str = Field(description="The ground atom, as the program would print it.")
    probability: Optional[Probability] = Field(
        default=None, description="Probability of the atom, or of the literal \\+ atom when negated (None: unknown)."
    )
    rule: Optional[ProgramSource] = Field(default=None, description="The rule applied, for derived nodes.")
    source: Optional[Source] = Field(default=None, description="Where a leaf fact came from.")
    negated: bool = Field(default=False, description="True for a negated literal (\\+ atom).")
    fact_id: Optional[int] = Field(default=None, ge=0, description="Id of the input fact, for leaf facts.")
    children: list[ProofNode] = Field(default_factory=list, description="The body atoms the rule was applied to.")

    def walk(self) -> Iterator[ProofNode]:
        """Yield this node and every node below it, depth first, parents before children.

        Example:
            >>> leaf = ProofNode(atom="q(a)")
            >>> [n.atom for n in ProofNode(atom="p(a)", children=[leaf]).walk()]
            ['p(a)', 'q(a)']
        """
        yield self
        for child in self.children:
            yield from child.walk()


class ChainLink(_Strict):
    """One step of a proof read as a path, from ``start`` to ``end``.

    Forwards, the atom is ``relation(start, end)`` (``end`` is the ``relation`` of
    ``start``); walked backwards (``reverse``), it is ``relation(end, start)``. ``readings``
    are the neural facts it rests on (or, when none, the other facts below it).
    """

    start: str = Field(description="Display name of the constant the step starts from, e.g. 'Donald'.")
    relation: str = Field(description="The relation, e.g. 'father'.")
    end: str = Field(description="Display name of the constant the step leads to, e.g. 'Michael'.")
    reverse: bool = Field(default=False, description="True when the atom is relation(end, start).")
    atom: str = Field(description="The link's atom, e.g. 'father(Donald, Michael)'.")
    probability: Optional[Probability] = Field(default=None, description="Probability of the link's facts.")
    rule: Optional[ProgramSource] = Field(
        default=None, description="The rule that derived the atom from the readings (None: the atom is a fact)."
    )
    readings: list[ProofNode] = Field(default_factory=list, description="The leaf facts the link rests on.")


class ProofChain(_Strict):
    """A proof read as a chain of named constants: ``Donald --father--> Michael --sister--> Dorothy``.

    Built when the example's constants have display names: ``conclusion`` is the
    highest atom of the proof between two named constants, and ``links`` are the atoms
    its rules compose, in path order from the conclusion's first argument to its second.
    ``X --r--> Y`` says ``r(X, Y)`` (Y is X's r); a step walked backwards, ``X <--r-- Y``,
    says ``r(Y, X)``.

    Example:
        >>> link = lambda a, r, b: ChainLink(start=a, relation=r, end=b, atom=f"{r}({a}, {b})")
        >>> chain = ProofChain(conclusion="aunt(Donald, Dorothy)",
        ...                    links=[link("Donald", "father", "Michael"), link("Michael", "sister", "Dorothy")])
        >>> chain.path()
        'Donald --father--> Michael --sister--> Dorothy'
    """

    conclusion: str = Field(description="The atom the chain proves, e.g. 'aunt(Donald, Dorothy)'.")
    probability: Optional[Probability] = Field(default=None, description="Probability of the conclusion's facts.")
    rule: Optional[ProgramSource] = Field(default=None, description="The rule that derived the conclusion.")
    links: list[ChainLink] = Field(min_length=1, description="The links, in path order.")

    def path(self) -> str:
        """The chain as one line: ``start --relation--> end <--relation-- ...`` (backwards steps point back)."""
        parts = [self.links[0].start]
        for link in self.links:
            parts.append(f"<--{link.relation}-- {link.end}" if link.reverse else f"--{link.relation}--> {link.end}")
        return " ".join(parts)


class ProofStep(_Strict):
    """One step of a proof over a theory stated in English: premises (sentences or earlier conclusions) ⇒ a conclusion.

    Example:
        >>> ProofStep(premises=["Bob is big. [s3]", "If something is big then it is red. [s7]"],
        ...           conclusion="red(bob)", sentences=[3, 7]).text()
        'Bob is big. [s3] + If something is big then it is red. [s7] ⇒ red(bob)'
    """

    premises: list[str] = Field(description="What the step rests on, each a sentence with its number or an earlier conclusion.")
    conclusion: str = Field(description="What it concludes, e.g. 'red(bob)' or the question's sentence.")
    sentences: list[Annotated[int, Field(ge=1)]] = Field(default_factory=list, description="Passage numbers of the sentences used.")

    def text(self) -> str:
        """The step as one line: ``premise + premise ⇒ conclusion``."""
        return f"{' + '.join(self.premises)} ⇒ {self.conclusion}"


class Proof(_Strict):
    """One proof of the predicted answer and the probability of that proof alone."""

    probability: Probability
    root: ProofNode
    chain: Optional[ProofChain] = Field(
        default=None, description="The proof read as a chain of named constants, when the example names them."
    )
    steps: list[ProofStep] = Field(
        default_factory=list, description="The proof as a chain of sentences, premises first (theories stated in English)."
    )
    sentences: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=list, description="Passage numbers of every sentence the proof rests on, sorted."
    )


class Alternative(_Strict):
    """Another candidate answer and its probability."""

    answer: str
    probability: Probability


class Attribution(_Strict):
    """How much one input fact moved the prediction: d P(predicted) / d p(fact)."""

    fact_id: int = Field(ge=0)
    atom: str
    probability: Probability = Field(description="The fact's probability.")
    gradient: float = Field(description="d P(predicted answer) / d p(fact).")
    source: Source


class PerceivedInput(_Strict):
    """A raw input as the perception saw it: an image (PNG data URI) or a text."""

    index: int = Field(ge=0, description="Position of the input in the example; NeuralSource.input_index refers to it.")
    kind: Literal["image", "text"]
    data_uri: Optional[str] = Field(
        default=None, pattern=r"^data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=]*$",
        description="The image as a base64 data URI (images only).",
    )
    text: Optional[str] = Field(default=None, description="The text (sentences of a story).")
    true_label: Optional[str] = Field(default=None, description="What the input really shows, when known.")
    read_as: Optional[str] = Field(default=None, description="What the perception read, most probable class.")
    probability: Optional[Probability] = Field(default=None, description="Probability of read_as.")
    label: Optional[str] = Field(default=None, description="What the input is, e.g. 'Michael → Donald' (a pair of people).")
    passages: list[Annotated[int, Field(ge=1)]] = Field(
        default_factory=list, description="Numbers of the trace's passages the input's text spans."
    )
    statement: Optional[str] = Field(
        default=None, description="What the reading read_as says, e.g. 'father(Donald, Michael)' (None: nothing)."
    )

    @model_validator(mode="after")
    def _content_matches_kind(self) -> PerceivedInput:
        if self.kind == "text" and self.data_uri is not None:
            raise ValueError(f"input {self.index} is text but has a data_uri; use kind='image'")
        if self.kind == "image" and self.text is not None:
            raise ValueError(f"input {self.index} is an image but has text; use kind='text'")
        return self

    @property
    def misread(self) -> bool:
        """True when both labels are known and the reading differs from the truth."""
        return self.true_label is not None and self.read_as is not None and self.true_label != self.read_as


class Passage(_Strict):
    """A piece of the example's raw text (e.g. one sentence of a story), shown as ``[number]``."""

    number: int = Field(ge=1, description="1-based number of the passage, as shown.")
    text: str


class FactChange(_Strict):
    """One input fact whose probability would have to change."""

    fact_id: int = Field(ge=0)
    atom: str
    from_probability: Probability
    to_probability: Probability
    source: Optional[Source] = None


class SymbolicFact(_Strict):
    """One symbol of a polynomial: a perceived fact's probability."""

    name: str = Field(description="The sympy name, e.g. 'p_digit_1_4'.")
    display: str = Field(description="How it reads, e.g. 'p(digit(1)=4)'.")
    fact_id: int = Field(ge=0)
    probability: Probability = Field(description="The fact's probability in this example.")


class SymbolicProbability(_Strict):
    """An answer's probability as a polynomial over the probabilities of the perceived facts.

    Evaluated at the facts' probabilities it is the answer's exact probability (the
    weighted model count of all its proofs).
    """

    answer: str = Field(description="The answer, e.g. '8'.")
    expression: str = Field(description="The polynomial in sympy syntax over the symbols' names (sympy.sympify reads it).")
    display: str = Field(description="The whole polynomial with the symbols' display names, largest term first.")
    summary: str = Field(description="The display cut to its largest terms and a count of the rest, as renderers show it.")
    terms: int = Field(ge=0, description="Number of terms of the expanded polynomial.")
    probability: Probability = Field(description="The polynomial at the facts' probabilities.")
    symbols: list[SymbolicFact] = Field(default_factory=list, description="The symbols it uses, by fact id.")


class ExactChange(_Strict):
    """The exact threshold of one perceived fact: past it, ``target`` wins.

    The fact's probability moves to ``threshold`` and the other facts of its group (the
    other readings of the same input) share the rest of the mass in proportion to
    their probabilities; every other fact keeps its probability. At ``threshold`` the
    target ties ``rival``; a hair past it, the target wins.
    """

    fact_id: int = Field(ge=0)
    atom: str
    symbol: str = Field(description="The fact's symbol as displayed, e.g. 'p(digit(1)=4)'.")
    from_probability: Probability
    threshold: Probability = Field(description="The probability at which the target ties the strongest other answer.")
    rival: str = Field(description="The answer the target ties at the threshold.")
    source: Optional[Source] = None


class MissingPremise(_Strict):
    """A rule that could have concluded the atom asked about, and the premises of it that were not proved."""

    rule: str = Field(description="The rule, as the program writes it.")
    sentence: Optional[int] = Field(default=None, ge=1, description="Passage number of the sentence the rule was read from.")
    conclusion: str = Field(description="The atom the rule would conclude.")
    unproved: list[str] = Field(description="Its body literals that do not hold, e.g. 'big(bob)' or 'not cold(bob)'.")


class WhyNot(_Strict):
    """The smallest change of input facts found that would make ``target`` win."""

    target: str = Field(description="The answer that was not predicted.")
    changes: list[FactChange] = Field(default_factory=list)
    total_change: float = Field(ge=0.0, description="Sum of |to - from| over the changes.")
    achievable: bool = Field(description="False when no change of the changeable facts makes target win.")
    note: Optional[str] = None
    exact: list[ExactChange] = Field(
        default_factory=list,
        description="Solved from the polynomials: the smallest changes of one perceived fact each that make target "
        "win, smallest first (at most three).",
    )
    target_symbolic: Optional[SymbolicProbability] = Field(
        default=None, description="The target's probability as a polynomial (None: not computed)."
    )
    missing: list[MissingPremise] = Field(
        default_factory=list, description="What a proof of the target lacks: the rules that could conclude it "
        "and their unproved premises (theories stated in English)."
    )


class Provenance(_Strict):
    """What a trace explains: the model's config files, the checkpoint of its weights, the greybox that traced it.

    ``untrained`` is True when no checkpoint was loaded: the networks have their random
    initial weights, so the readings and the answer say nothing about a trained model.

    Example:
        >>> Provenance(configs=["experiments/digit_sum/sum2_digits.yaml"], greybox_version="0.1.0").untrained
        True
    """

    configs: list[str] = Field(default_factory=list, description="The config files the model was built from, in order.")
    checkpoint: Optional[str] = Field(default=None, description="The checkpoint whose weights were loaded (None: none).")
    checkpoint_sha256: Optional[str] = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the checkpoint file, hex."
    )
    greybox_version: str = Field(description="The version of greybox that made the trace.")
    untrained: bool = Field(default=True, description="True when no checkpoint was loaded (random initial weights).")

    @model_validator(mode="before")
    @classmethod
    def _untrained_without_checkpoint(cls, data: Any) -> Any:
        if isinstance(data, dict) and "untrained" not in data:
            data = {**data, "untrained": data.get("checkpoint") is None}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Provenance:
        if self.untrained != (self.checkpoint is None):
            raise ValueError("untrained must be true exactly when no checkpoint is named")
        if self.checkpoint_sha256 is not None and self.checkpoint is None:
            raise ValueError("checkpoint_sha256 is given but no checkpoint")
        return self

    def describe(self) -> str:
        """One line for people, e.g. ``'config a.yaml; checkpoint last.ckpt (sha256 1f2e3d4c5b6a); greybox 0.1.0'``."""
        configs = f"config {', '.join(self.configs)}" if self.configs else "config ?"
        if self.checkpoint is None:
            weights = "UNTRAINED (no checkpoint)"
        else:
            digest = f" (sha256 {self.checkpoint_sha256[:12]})" if self.checkpoint_sha256 else ""
            weights = f"checkpoint {self.checkpoint}{digest}"
        return f"{configs}; {weights}; greybox {self.greybox_version}"


class DecisionTrace(_Strict):
    """One prediction with its proofs, attributions and perceived inputs."""

    schema_version: Literal["1.4"] = SCHEMA_VERSION
    provenance: Optional[Provenance] = Field(
        default=None, description="The config, checkpoint and greybox version the trace was made with (None: unknown)."
    )
    task: str = Field(description="The task, e.g. 'digit_sum'.")
    split: str = Field(description="The data split, e.g. 'test'.")
    index: int = Field(ge=0, description="Index of the example in its split (in its subset's loader).")
    subset: Optional[str] = Field(default=None, description="Part of the split the example is in, e.g. 'k=4'.")
    query: str = Field(description="The query, e.g. 'addition(img0, img1, S)'.")
    question: Optional[str] = Field(default=None, description="The query in words, e.g. 'what is Dorothy to Donald?'.")
    passages: list[Passage] = Field(
        default_factory=list, description="The example's raw text, e.g. the sentences of a story, numbered from 1."
    )
    predicted: str = Field(description="The most probable answer.")
    probability: Probability = Field(description="Probability of the predicted answer.")
    correct: Optional[bool] = Field(default=None, description="Whether predicted equals label (None: no label).")
    label: Optional[str] = Field(default=None, description="The true answer, when known.")
    alternatives: list[Alternative] = Field(
        default_factory=list, description="Other answers, most probable first; the predicted one is not repeated."
    )
    proofs: list[Proof] = Field(default_factory=list, description="Proofs of the predicted answer, most probable first.")
    label_proofs: list[Proof] = Field(
        default_factory=list, description="Proofs of the labelled answer when the prediction is wrong, most probable first."
    )
    attributions: list[Attribution] = Field(default_factory=list)
    inputs: list[PerceivedInput] = Field(default_factory=list)
    rules_used: list[ProgramSource] = Field(default_factory=list, description="Every rule applied in the proofs.")
    why_not: Optional[WhyNot] = None
    symbolic: Optional[SymbolicProbability] = Field(
        default=None, description="The predicted answer's probability as a polynomial over the perceived facts (None: not computed)."
    )
    culprit_inputs: list[int] = Field(
        default_factory=list, description="Indices of inputs whose reading caused a wrong prediction."
    )
    notes: list[str] = Field(
        default_factory=list, description="Remarks on how the trace was made, e.g. a proof search that was cut short."
    )

    @model_validator(mode="after")
    def _consistent(self) -> DecisionTrace:
        indices = [i.index for i in self.inputs]
        if len(set(indices)) != len(indices):
            raise ValueError(f"input indices must be unique, got {indices}")
        unknown = sorted(set(self.culprit_inputs) - set(indices))
        if unknown:
            raise ValueError(f"culprit_inputs {unknown} name no input; known input indices are {indices}")
        if any(a.answer == self.predicted for a in self.alternatives):
            raise ValueError(f"alternatives repeat the predicted answer {self.predicted!r}")
        numbers = [p.number for p in self.passages]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"passage numbers must be unique, got {numbers}")
        for i in self.inputs:
            missing = sorted(set(i.passages) - set(numbers))
            if missing:
                raise ValueError(f"input {i.index} names passages {missing}; the trace has passages {numbers}")
        return self

    def passage(self, number: int) -> Passage | None:
        """The passage with this number, or None."""
        return next((p for p in self.passages if p.number == number), None)

    def input(self, index: int) -> PerceivedInput | None:
        """The perceived input with this index, or None."""
        return next((i for i in self.inputs if i.index == index), None)


class TraceBatch(_Strict):
    """Several traces, e.g. one evaluation run."""

    schema_version: Literal["1.4"] = SCHEMA_VERSION
    selection: Optional[str] = Field(
        default=None, description="How the traces were picked when not in a row, e.g. 'wrong predictions only' "
        "(then their share of right answers is no accuracy)."
    )
    traces: list[DecisionTrace] = Field(default_factory=list)


# ---------------------------------------------------------------- JSON schema and validation

_Document = TypeAdapter(Union[DecisionTrace, TraceBatch])


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a trace file: one ``DecisionTrace`` or a ``TraceBatch``.

    The schema describes what greybox writes (every field present).

    Returns:
        The schema as a dict.

    Example:
        >>> s = json_schema()
        >>> s["title"], sorted(s["$defs"])[:3]
        ('greybox DecisionTrace 1.4', ['Alternative', 'Attribution', 'ChainLink'])
    """
    schema = _Document.json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"greybox DecisionTrace {SCHEMA_VERSION}",
        "description": "One DecisionTrace or a TraceBatch. Regenerate with: "
        "python -m greybox.trace.schema > greybox/trace/schema.json",
        **schema,
    }


def schema_text() -> str:
    """``json_schema()`` as the exact text committed in ``schema.json`` (sorted keys, newline at end).

    Example:
        >>> schema_text().endswith("}\\n")
        True
    """
    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_schema(path: str | Path) -> Path:
    """Write the JSON Schema to ``path``.

    Args:
        path: the file to write (its folder must exist).

    Returns:
        The path written.

    Raises:
        ConfigError: when the file cannot be written.

    Example:
        >>> import tempfile, os
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = write_schema(os.path.join(d, "schema.json"))
        ...     p.read_text(encoding="utf-8") == schema_text()
        True
    """
    path = Path(path)
    try:
        path.write_text(schema_text(), encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"cannot write the trace schema: {e}", file=str(path),
                          hint="give a path in an existing, writable folder") from e
    return path


def validate_trace_json(text: str | bytes, *, file: str | None = None) -> DecisionTrace | TraceBatch:
    """Read one trace or a batch of traces from JSON text, checking it against the schema.

    Args:
        text: the JSON text.
        file: the file it came from, for error messages.

    Returns:
        A ``TraceBatch`` when the object has ``traces``, else a ``DecisionTrace``.

    Raises:
        ParseError: the text is not JSON, has no ``schema_version`` or one not in
            ``READABLE_VERSIONS``, or does not match the schema (the message lists every
            problem with its JSON path).

    Example:
        >>> validate_trace_json('{"schema_version": "1.0", "traces": []}')  # an older version is upgraded
        TraceBatch(schema_version='1.4', selection=None, traces=[])
        >>> validate_trace_json('{"schema_version": "0.9", "traces": []}')
        Traceback (most recent call last):
        ...
        greybox.errors.ParseError: trace has schema_version '0.9' but this greybox reads '1.0' or '1.1' or '1.2' or '1.3' or '1.4'
        hint: write the trace again with this version of greybox
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        lines = text.splitlines()
        raise ParseError(
            f"trace is not valid JSON: {e.msg}", expected=["JSON"], file=file, line=e.lineno,
            column=e.colno, source_line=lines[e.lineno - 1] if 0 < e.lineno <= len(lines) else None,
            hint="write traces with DecisionTrace.model_dump_json() or TraceBatch.model_dump_json()",
        ) from e
    if not isinstance(data, dict):
        raise ParseError(f"trace must be a JSON object, got {type(data).__name__}", expected=["object"],
                         file=file, hint="a trace file holds one DecisionTrace or a TraceBatch object")
    version = data.get("schema_version")
    if version is None:
        raise ParseError("trace has no schema_version", expected=["schema_version"], file=file,
                         hint=f'add "schema_version": "{SCHEMA_VERSION}" or write the trace again with greybox')
    if version not in READABLE_VERSIONS:
        readable = " or ".join(repr(v) for v in READABLE_VERSIONS)
        raise ParseError(f"trace has schema_version {version!r} but this greybox reads {readable}",
                         file=file, hint="write the trace again with this version of greybox")
    model = TraceBatch if "traces" in data else DecisionTrace
    data = _upgrade(data)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in e.errors()
        )
        raise ParseError(
            f"trace does not match the {model.__name__} schema {SCHEMA_VERSION}: {problems}", file=file,
            hint="compare the file with greybox/trace/schema.json",
        ) from e


def _upgrade(data: dict[str, Any]) -> dict[str, Any]:
    """A document of an older readable version as the current one (1.x only added optional fields)."""

    def bump(doc: Any) -> Any:
        if isinstance(doc, dict) and doc.get("schema_version") in READABLE_VERSIONS:
            return {**doc, "schema_version": SCHEMA_VERSION}
        return doc

    out = bump(data)
    if isinstance(out.get("traces"), list):
        out = {**out, "traces": [bump(t) for t in out["traces"]]}
    return out


if __name__ == "__main__":  # python -m greybox.trace.schema > greybox/trace/schema.json
    sys.stdout.write(schema_text())
