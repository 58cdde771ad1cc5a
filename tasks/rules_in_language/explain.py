"""Decision traces of questions about theories stated in English.

A trace shows the theory's sentences (``[1] Bob is big.``), what each was read as (its logical
form and probability; an unreadable sentence says so), the verdict, and each proof of it as a
chain of sentences::

    Bob is big. [s1] + If something is big then it is red. [s3] ⇒ Bob is red.

When the verdict rests on no proof (False under negation as failure, Unknown in the open world)
or ``--why-not`` asks, the trace lists what is missing: the rules that could conclude the atom
and their body literals that do not hold.

Example:
    >>> from greybox.neural.logical_forms import Literal, Reading
    >>> from greybox.neural.reading_program import theory_program
    >>> sentences = ["Bob is big.", "If something is big then it is red."]
    >>> program = theory_program(sentences, [[Reading(Literal("big", ("bob",)))],
    ...     [Reading(Literal("red", ("X",)), (Literal("big", ("X",)),))]], weights="none")
    >>> [s.text() for s in sentence_proofs(program, sentences, ("red", ("bob",)), "Bob is red.")[0].steps]
    ['Bob is big. [s1] + If something is big then it is red. [s2] ⇒ Bob is red.']
    >>> missing_premises(program, Literal("big", ("ann",)))
    []
    >>> [m.unproved for m in missing_premises(program, Literal("red", ("ann",)))]
    [['big(ann)']]
"""

from __future__ import annotations

from itertools import product
from typing import Sequence

from greybox.neural.logical_forms import Literal, is_variable
from greybox.neural.reading_program import DOMAIN, TheoryProgram, relation_name
from greybox.trace import schema as ts

from .files import ANSWERS
from .reasoning import evaluated, question_atom

__all__ = ["sentence_proofs", "missing_premises", "literal_holds", "trace_of"]

TASK = "rules_in_language"


def _sentence_label(sentences: Sequence[str], s: int) -> str:
    return f"{sentences[s]} [s{s + 1}]"


def sentence_proofs(program: TheoryProgram, sentences: Sequence[str], atom: tuple[str, tuple], conclusion: str | None,
                    k: int = 3) -> list[ts.Proof]:
    """The ``k`` best proofs of ``atom`` (``(relation, args)`` as the program holds it), each as a tree and a
    chain of sentences; the last step concludes ``conclusion`` (the question's words) when given."""
    from greybox.engine.proof_tree import derivation_tree
    from greybox.engine.reference import all_facts, query
    from greybox.lang.parser import parse_query

    info, _, _ = evaluated(program)
    relation, args = atom
    if relation not in info.relations:
        return []
    goal = f"?- {relation}({', '.join(args)})." if args else f"?- {relation}."
    answers = query(info, parse_query(goal), semiring="top-k", k=k, exact=False)
    if not answers:
        return []
    facts = all_facts(info)
    out = []
    for proof, p in zip(answers[0].proofs, answers[0].proof_probabilities):
        tree = derivation_tree(info, facts, relation, tuple(args), proof)
        steps: list[ts.ProofStep] = []
        cited: set[int] = set()
        root = _convert(tree, facts, program, sentences, steps, cited, conclusion)
        chain = [step.text() for step in steps]
        if any([st.text() for st in other.steps] == chain for other in out):
            continue  # another derivation of the same facts reads as the same chain of sentences
        out.append(ts.Proof(probability=min(1.0, max(0.0, float(p))), root=root, steps=steps,
                            sentences=sorted(s + 1 for s in cited)))
    return out


def _convert(node, facts, program: TheoryProgram, sentences, steps: list, cited: set, conclusion) -> ts.ProofNode:
    """The engine's derivation node as a trace node; appends the chain's steps (premises first)."""
    atom = program.atom_text(node.relation, node.args)
    if node.kind == "rule":
        line = node.clause.span.line if node.clause is not None and node.clause.span is not None else None
        s = program.sentence_at(line) if line is not None else None
        children = [_convert(c, facts, program, sentences, steps, cited, None) for c in node.children]
        # a premise is a sentence, an earlier conclusion, or "not p" (p not derived: negation as failure)
        premises = [f"not {c.atom}" if c.negated else _readable(c.atom, program) if c.source is None else c.source.description
                    for c in children if not (c.atom.startswith(f"{DOMAIN}(") or c.atom == "rule weight")]
        if s is not None:
            cited.add(s)
            premises.append(_sentence_label(sentences, s))
        premises = list(dict.fromkeys(premises))  # a sentence that states two premises is cited once
        steps.append(ts.ProofStep(premises=premises, conclusion=conclusion or _readable(atom, program),
                                  sentences=sorted({x + 1 for x in cited})))
        statement = program.statement_at(line) if line is not None else None
        return ts.ProofNode(atom=atom, probability=_p(node.probability), children=children,
                            rule=ts.ProgramSource(line=line, text=statement.text if statement else None))
    if node.kind == "negation":
        return ts.ProofNode(atom=atom, negated=True, probability=1.0,
                            source=ts.InputSource(description=f"not {atom}: not derived"))
    fact = facts[node.fact_id] if node.fact_id is not None else None
    if fact is not None and fact.relation is None:
        return ts.ProofNode(atom="rule weight", probability=_p(node.probability), fact_id=node.fact_id)
    line = fact.span.line if fact is not None and fact.span is not None else None
    s = program.sentence_at(line) if line is not None else None
    if s is not None:
        cited.add(s)
        if conclusion is not None:  # the atom asked about is itself a sentence of the theory
            steps.append(ts.ProofStep(premises=[_sentence_label(sentences, s)], conclusion=conclusion,
                                      sentences=[s + 1]))
    description = _sentence_label(sentences, s) if s is not None else f"{atom} (the theory's constants)"
    return ts.ProofNode(atom=atom, probability=_p(node.probability), fact_id=node.fact_id,
                        source=ts.InputSource(description=description))


def _readable(atom: str, program: TheoryProgram) -> str:
    """``neg_kind(bob)`` -> ``not kind(bob)`` (open world); other atoms as they are."""
    return f"not {atom[4:]}" if program.world == "open" and atom.startswith("neg_") else atom


def _p(p) -> float | None:
    return None if p is None else min(1.0, max(0.0, float(p)))


def literal_holds(program: TheoryProgram, lit: Literal) -> bool:
    """Whether a ground literal holds in the program's model (a negated one: its atom is not derived, closed
    world; its ``neg_`` atom is derived, open world)."""
    _, model, _ = evaluated(program)
    positive = Literal(lit.predicate, lit.arguments, negated=lit.negated and program.world == "open")
    name = relation_name(positive, program.world)
    if program.arities.get(name) not in (None, len(lit.arguments)):
        name = f"{name}_{len(lit.arguments)}"
    rel, args = program.relation_of(name, lit.arguments) if program.ground else (name, tuple(lit.arguments))
    derived = tuple(args) in model.relations.get(rel, {})
    return (not derived) if (lit.negated and program.world == "closed") else derived


def missing_premises(program: TheoryProgram, goal: Literal, limit: int = 5) -> list[ts.MissingPremise]:
    """The rules whose conclusion matches ``goal`` and, for the instance closest to firing, their body literals
    that do not hold (what a proof of ``goal`` lacks)."""
    out = []
    seen = set()
    for st in program.statements:
        head = st.reading.head
        if (head.predicate, head.negated, len(head.arguments)) != (goal.predicate, goal.negated, len(goal.arguments)) \
                or not st.reading.body or st.sentence in seen:
            continue
        binding: dict[str, str] = {}
        if any(not is_variable(h) and h != g for h, g in zip(head.arguments, goal.arguments)):
            continue
        for h, g in zip(head.arguments, goal.arguments):
            if is_variable(h):
                binding[h] = g
        free = [v for v in st.reading.variables() if v not in binding]
        best = None
        for values in product(program.constants, repeat=len(free)) if free else [()]:
            full = {**binding, **dict(zip(free, values))}
            unproved = [str(b.bound(full)) for b in st.reading.body if not literal_holds(program, b.bound(full))]
            if best is None or len(unproved) < len(best):
                best = unproved
        if best:
            seen.add(st.sentence)
            rule = str(st.reading).rstrip(".")
            out.append(ts.MissingPremise(rule=rule, sentence=st.sentence + 1, conclusion=str(goal), unproved=best))
        if len(out) >= limit:
            break
    return out


def trace_of(decoded, *, label: int | None, split: str = "test", index: int = 0, k: int = 3,
             why_not_answer: str | None = None, provenance=None) -> ts.DecisionTrace:
    """The trace of one answered question (a ``tasks.rules_in_language.model.Decoded``).

    Args:
        decoded: the theory as read, its program, the question's reading and the answer.
        label: the true answer (index into ``ANSWERS``), when known.
        why_not_answer: an answer to explain the absence of (default: the label of a wrong
            prediction, or ``true`` when the verdict is False or Unknown without a proof).
    """
    program, sentences = decoded.program, decoded.sentences
    answer, q = decoded.answer, decoded.question_reading
    notes = []
    inputs = []
    for i, (sentence, readings) in enumerate(zip(sentences, decoded.readings)):
        if readings:
            what = " ; ".join(str(r) for r in readings)
            p = max(r.probability for r in readings)
            if i in program.inert:
                what += "  (a negated fact or conclusion: derives nothing under the closed world)"
        else:
            what, p = "unreadable sentence: no logical form", None
            notes.append(f"[s{i + 1}] unreadable sentence: \"{sentence}\" was read as nothing")
        inputs.append(ts.PerceivedInput(index=i, kind="text", text=sentence, label=f"s{i + 1}", passages=[i + 1],
                                        read_as=what, statement=what, probability=p))
    q_what = str(q.head) if q is not None else "unreadable sentence: no logical form"
    inputs.append(ts.PerceivedInput(index=len(sentences), kind="text", text=decoded.question, label="question",
                                    read_as=q_what, statement=f"question read as {q_what}",
                                    probability=q.probability if q is not None else None))
    if q is None:
        notes.append(f"the question \"{decoded.question}\" is unreadable: answered {decoded.verdict}")
    if answer is not None:
        notes.extend(answer.notes)
    if program.undefined:
        notes.append(f"neither true nor false in the well-founded model (left out): {', '.join(program.undefined)}")
    if not sentences:
        notes.append("the theory is empty: nothing is derived")
    verdict = decoded.verdict
    scores = answer.scores if answer is not None else (0.0, 0.0, 1.0) if program.world == "open" else (0.0, 1.0, 0.0)
    classes = ANSWERS if program.world == "open" else ANSWERS[:2]
    alternatives = [ts.Alternative(answer=c, probability=min(1.0, max(0.0, float(p))))
                    for c, p in sorted(zip(classes, scores), key=lambda cp: -cp[1]) if c != verdict]
    proofs: list[ts.Proof] = []
    label_proofs: list[ts.Proof] = []
    goal: Literal | None = None  # the literal whose proof would make the verdict (or the why-not target) hold
    if q is not None:
        lit = q.head
        positive = Literal(lit.predicate, lit.arguments)
        opposite = Literal(lit.predicate, lit.arguments, negated=True)

        def proofs_for(target: Literal, words: str | None) -> list[ts.Proof]:
            atom = question_atom(target, program, positive=not (target.negated and program.world == "open"))
            return sentence_proofs(program, sentences, atom, words, k=k)

        if verdict == "contradiction":
            clash = answer.contradictions[0] if answer and answer.contradictions else None
            notes.append(f"contradiction: the theory derives both {clash} and its negation")
            proofs = proofs_for(positive, None) + proofs_for(opposite, None)
        elif program.world == "closed":
            if (verdict == "true") != lit.negated:  # the atom is derived: its proofs say why
                proofs = proofs_for(positive, decoded.question if not lit.negated else None)
            else:
                notes.append(f"{positive} is not derived: under the closed world it is false")
                goal = positive
        else:
            if verdict in ("true", "false"):
                target = lit if verdict == "true" else Literal(lit.predicate, lit.arguments, not lit.negated)
                proofs = proofs_for(target, decoded.question if verdict == "true" else None)
            else:
                notes.append(f"neither {positive} nor {opposite} is derived: unknown")
                goal = lit
        wrong = label is not None and ANSWERS[label] != verdict
        target_answer = why_not_answer or (ANSWERS[label] if wrong else None) or ("true" if goal is not None else None)
        why = None
        if target_answer is not None and target_answer != verdict:
            if program.world == "closed":
                want = positive if (target_answer == "true") != lit.negated else None
            else:
                want = lit if target_answer == "true" else Literal(lit.predicate, lit.arguments, not lit.negated) \
                    if target_answer == "false" else None
            missing = missing_premises(program, want) if want is not None else []
            note = None
            if want is None:
                note = (f"{target_answer} would need {positive} not to be derived: remove a premise of its proofs"
                        if program.world == "closed" else "unknown would need neither the statement nor its negation derived")
                label_proofs = []
            elif not missing:
                note = f"no rule of the theory concludes {want}: only a new fact or rule would"
            why = ts.WhyNot(target=target_answer, changes=[], total_change=0.0, achievable=bool(missing), note=note,
                            missing=missing)
    else:
        why = None
    atom_text = answer.atom if answer is not None else "(unreadable question)"
    return ts.DecisionTrace(
        provenance=provenance, task=TASK, split=split, index=index, query=atom_text, question=decoded.question,
        passages=[ts.Passage(number=i + 1, text=s) for i, s in enumerate(sentences)],
        predicted=verdict, probability=min(1.0, max(0.0, float(answer.probability if answer else 1.0))),
        correct=None if label is None else ANSWERS[label] == verdict, label=None if label is None else ANSWERS[label],
        alternatives=alternatives, proofs=proofs, label_proofs=label_proofs, inputs=inputs,
        rules_used=_rules_used(proofs), why_not=why, notes=notes)


def _rules_used(proofs: list[ts.Proof]) -> list[ts.ProgramSource]:
    out: list[ts.ProgramSource] = []
    for proof in proofs:
        for node in proof.root.walk():
            if node.rule is not None and node.rule not in out:
                out.append(node.rule)
    return out
