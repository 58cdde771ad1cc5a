"""Building ``DecisionTrace``s from a trained ``ReasoningTask`` and one example.

A trace holds what a person needs to see why an answer came out:

* the answer distribution (exact, from the training semiring) and the prediction;
* the top-k proofs of the prediction as derivation trees: which rule (file:line)
  was applied to which facts, and for each neural fact which network read which
  input as what, with what probability;
* attributions: d P(prediction) / d p(fact) for every neural fact;
* for a wrong prediction, the proofs of the labelled answer beside those of the
  prediction, the inputs whose reading caused it (the readings in the best proof of
  the prediction that differ from the best proof of the label), and why-not the
  label: the smallest change of readings that would have made it win;
* on request, why-not another answer;
* symbolic provenance: the prediction's probability as a polynomial over the
  probabilities of the perceived facts (``greybox.trace.symbolic``), and for a
  why-not, the exact threshold of one reading past which the other answer wins;
* its provenance, when given: the config files, the checkpoint and its SHA-256, the
  greybox version, and whether the model is untrained.

When the data module describes the example (``greybox.trace.describe``), the trace
also carries the example's text as numbered passages, shows every named constant by
its name (person 3 -> ``Michael``, answer 13 -> ``aunt``), says for each network input
what it is and which passages it read, and reads each proof as a chain of named
constants (``Donald --father--> Michael --sister--> Dorothy``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor

from ..engine.engine import InputFacts
from ..engine.proof_tree import ProofNode as TreeNode
from ..engine.proof_tree import derivation_tree
from ..errors import GreyboxError
from ..lang.ast import NO_SPAN, Const, Var
from ..lang.facts import InputFact
from ..lang.printer import format_statement
from ..neural.predicate import NeuralOutput
from ..trace import schema as ts
from ..trace.chain import proof_chain
from ..trace.describe import ExampleDescription, Namer, passage_span
from ..trace.proof_search import ProofSearch, top_proofs
from ..trace.render_html import png_data_uri
from ..trace.symbolic import answer_polynomials, exact_changes, symbolic_record
from ..trace.why_not import culprit_inputs, why_not
from .module import ReasoningTask

__all__ = ["build_trace", "format_fact"]


def format_fact(relation: str, args: Sequence) -> str:
    """``digit(0, 3)``; a zero-arity atom is its name.

    >>> format_fact("parent", ("ann", "Bob Jr"))
    "parent(ann, 'Bob Jr')"
    """
    return Namer({}).atom(relation, args)


class _Answers:
    """Answer tuples of the query: engine codes, fact values, text and back (``aunt`` for 13)."""

    def __init__(self, query, namer: Namer, engine) -> None:
        self.predicate = query.predicate
        self.namer = namer
        self.engine = engine
        seen: set[str] = set()
        self.positions = []  # argument positions of the answer values (the query's free variables)
        for i, a in enumerate(query.args):
            if isinstance(a, Var) and a.name not in seen:
                seen.add(a.name)
                self.positions.append(i)

    def values(self, codes: Sequence[int]) -> tuple:
        """Engine codes of an answer -> its values as the facts hold them (named columns keep numbers)."""
        kinds = self.engine.symbol_columns.get(self.predicate, [])
        out = []
        for pos, code in zip(self._positions(codes), (int(c) for c in codes)):
            symbol = pos is not None and pos < len(kinds) and kinds[pos] and not self.namer.named(self.predicate, pos)
            out.append(self.engine.symbols.decode(code) if symbol and 0 <= code < len(self.engine.symbols) else code)
        return tuple(out)

    def text(self, values: Sequence) -> str:
        return ", ".join(self.namer.value(self.predicate, pos, v) if pos is not None else str(v)
                         for pos, v in zip(self._positions(values), values))

    def _positions(self, values: Sequence) -> list:
        return self.positions if len(self.positions) == len(values) else [None] * len(values)

    def parse(self, text: str) -> tuple:
        """``'aunt'`` -> ``(13,)`` when answers are named; ``'7'`` -> ``(7,)``; ``'bob'`` -> ``('bob',)``."""
        parts = [t.strip() for t in text.split(",")]
        out = []
        for pos, part in zip(self._positions(parts), parts):
            names = None
            if pos is not None and self.namer.description is not None:
                names = self.namer.description.names_for(self.predicate, pos, self.namer._type(self.predicate, pos))
            if names is not None and part in list(names):
                out.append(list(names).index(part))
            else:
                out.append(int(part) if part.lstrip("-").isdigit() else part)
        return tuple(out)


def _input_label(description: ExampleDescription | None, key: str | None, item: int) -> str:
    about = description.input(key, item) if description is not None and key is not None else None
    if about is None:
        return f"input {item}"
    span = passage_span(about.passages)
    return f"{about.label} in {span}" if span else about.label


class _Facts:
    """The input facts of a one-sample evaluation, with where each came from.

    Run-time facts (the task's ``sequence_facts``) keep the batch's numbers as they are:
    the data module wrote them without the engine's symbol table, so a number in a
    symbol-typed column is the example's own numbering (a person of a story).
    """

    def __init__(self, task: ReasoningTask, result, neural: Mapping[str, NeuralOutput], namer: Namer,
                 run_time: Mapping[str, InputFacts], description: ExampleDescription | None) -> None:
        self.engine = result.engine
        self.result = result
        self.namer = namer
        self.static: list[InputFact] = list(self.engine.facts)
        self.sources: dict[int, Any] = {}
        self.probabilities: dict[int, float] = {}
        self.atoms: dict[int, str] = {}
        probs = result.algebra.facts.probs.detach()
        groups = result.algebra.facts.groups.tolist()
        # the evaluation's own probabilities (learned weights) and groups (one per network item)
        facts = [replace(f, group=groups[f.id], probability=None if f.probability is None else float(probs[f.id]))
                 for f in self.static]
        for f in self.static:
            if f.relation is not None:
                self.atoms[f.id] = namer.atom(f.relation, f.args)
            else:
                self.atoms[f.id] = format_statement(f.clause) if f.clause is not None else f"weight {f.id}"
            self.sources[f.id] = ts.ProgramSource(file=f.span.file, line=f.span.line or None,
                                                  text=format_statement(f.clause) if f.clause is not None else None)
            self.probabilities[f.id] = float(probs[f.id])
        by_relation = {p.relation: p for p in task.reasoner.predicates}
        for relation, (start, n) in result.input_offsets.items():
            pred = by_relation.get(relation)
            if pred is not None:
                decoded = self._decode(relation, pred.facts(neural[pred.model]).cols)
            elif relation in run_time:
                decoded = [tuple(row) for row in run_time[relation].cols[:, 1:].tolist()]
            else:
                decoded = [()] * n
            for j in range(n):
                fid = start + j
                args = decoded[j]
                self.atoms[fid] = namer.atom(relation, args)
                self.probabilities[fid] = float(probs[fid])
                facts.append(InputFact(fid, relation, tuple(args), self.probabilities[fid], groups[fid], False, NO_SPAN, None))
                if pred is not None:
                    c = pred.n_classes
                    row, cls = divmod(j, c)
                    item = int(neural[pred.model].args[row, 1])
                    self.sources[fid] = ts.NeuralSource(
                        predicate=relation, model=pred.model, sample=0, input_index=item,
                        input_label=_input_label(description, task.inputs.get(pred.model), item), cls=pred.classes[cls],
                        probability=_clamp(self.probabilities[fid]),
                    )
                else:
                    self.sources[fid] = ts.InputSource(description=f"run-time fact of '{relation}'")
        self.all = facts
        self.certain = frozenset(f.id for f in facts if f.probability is None or f.probability >= 1.0)

    def _decode(self, relation: str, cols: Tensor) -> list[tuple]:
        # symbols decoded, except in named columns: there a number is the example's own (person 3)
        decoded = self.result.decode(relation, cols)
        raw = cols[:, 1:].tolist()
        keep = [i for i in range(cols.shape[1] - 1) if self.namer.named(relation, i)]
        if not keep:
            return decoded
        return [tuple(r[i] if i in keep else d[i] for i in range(len(d))) for d, r in zip(decoded, raw)]

    def source(self, fid: int):
        return self.sources.get(fid, ts.InputSource(description=f"fact {fid}"))


def _clamp(p: float | None) -> float | None:
    return None if p is None else min(1.0, max(0.0, float(p)))


def _convert(node: TreeNode, facts: _Facts, rules_used: list[ts.ProgramSource]) -> ts.ProofNode:
    # comparisons and arithmetic are checks, not evidence: the tree shows rules and facts
    children = [_convert(c, facts, rules_used) for c in node.children if c.kind != "builtin"]
    atom = facts.namer.atom(node.relation, node.args)
    if node.kind == "fact" and node.fact_id is not None:
        fid = node.fact_id
        return ts.ProofNode(atom=facts.atoms.get(fid, atom),
                            probability=_clamp(facts.probabilities.get(fid)), fact_id=fid, source=facts.source(fid))
    if node.kind == "negation":
        return ts.ProofNode(atom=atom, probability=_clamp(node.probability), negated=True,
                            fact_id=node.fact_id, source=facts.source(node.fact_id) if node.fact_id is not None else None)
    if node.kind == "rule" and node.clause is not None:
        src = ts.ProgramSource(file=node.clause.span.file, line=node.clause.span.line or None, text=format_statement(node.clause))
        if src not in rules_used:
            rules_used.append(src)
        return ts.ProofNode(atom=atom, probability=_clamp(node.probability), rule=src, children=children)
    # builtins (comparisons, arithmetic) and aggregates: show the operation and its values
    text = f"{node.relation} {' '.join(str(a) for a in node.args)}".strip() or node.kind
    return ts.ProofNode(atom=text, probability=_clamp(node.probability), children=children)


def _proofs_of(task: ReasoningTask, dist, neural: Mapping[str, NeuralOutput], facts: _Facts, relation: str,
               args: tuple, codes: Tensor, k: int, budget_s: float) -> ProofSearch:
    """The top-k proofs of one answer tuple of the example (only uncertain facts named).

    The readings the answer's probability depends on (a gradient) are searched first;
    under max-product that is the best proof, and the answer's probability bounds every
    proof's, so reaching it proves the proof best.
    """
    p = dist.probability_of(codes[None, :])[0]
    probability = float(p.detach())
    hint = None
    if p.requires_grad:
        grads = torch.autograd.grad(p, [n.probs for n in neural.values()], allow_unused=True, retain_graph=True)
        hint = set()
        for (model, n), g in zip(neural.items(), grads):
            for pred in task.reasoner.predicates:
                if g is not None and pred.model == model and pred.relation in facts.result.input_offsets:
                    start = facts.result.input_offsets[pred.relation][0]
                    hint |= {start + int(j) for j in g.reshape(-1).nonzero().squeeze(1).tolist()}
        hint = frozenset(hint)
    bound = probability if dist_is_max_product(task) else None
    # every fact of the best proof is at least as probable as the proof, and the answer at least as the proof
    start = min(1.0, probability * (1 - 1e-4)) if probability else 0.1  # a hair below: float32 vs float64
    return top_proofs(facts.engine.info, facts.all, relation, args, k, start=start, time_budget_s=budget_s,
                      hint=hint, bound=bound)


def dist_is_max_product(task: ReasoningTask) -> bool:
    """Whether the task's exact answer probabilities are those of the best proof (max-product)."""
    return task.reasoner.semiring_name.replace("_", "-") == "max-mult"


def _search_note(search: ProofSearch, what: str) -> str | None:
    """What a proof search that stopped early leaves unsure, in words (None: nothing)."""
    if search.exact:
        return None
    sure, found = search.sure, len(search.proofs)
    if search.stopped == "floor":
        bound = ts.format_probability(search.threshold)
        return f"{what} has {found} proof(s) of probability >= {bound} (less probable ones were not searched for)" \
            if sure == found else \
            f"{what}: {_proof_range(1, sure)} all those of probability >= {bound}; the others are the best found below it"
    cut = f"the proof search for {what} ran out of time"
    if found == 0:
        return f"{cut}: no proof found (raise the proof time budget)"
    if sure == found:
        return f"{cut}: the {found} proof(s) shown are the most probable, but there may be more"
    certain = f"{_proof_range(1, sure)} certainly the most probable" if sure else "no proof is certainly the most probable"
    return f"{cut}: {certain}; {_proof_range(sure + 1, found)} the best found in the time"


def _proof_range(first: int, last: int) -> str:
    return f"proof {first} is" if first == last else f"proofs {first}-{last} are"


def build_trace(
    task: ReasoningTask,
    example: Mapping[str, Tensor],
    *,
    task_name: str,
    split: str,
    index: int,
    k: int = 3,
    why_not_answer: str | None = None,
    inputs: list[ts.PerceivedInput] | None = None,
    description: ExampleDescription | None = None,
    proof_budget_s: float = 3.0,
    provenance: ts.Provenance | None = None,
) -> ts.DecisionTrace:
    """The decision trace of one example (a batch of size 1).

    Args:
        task: the trained task.
        example: the example as a batch of one (the data loader's own collation).
        task_name, split, index: where the example comes from, recorded in the trace.
        k: proofs kept for the prediction (``top-k``, see ``greybox.trace.proof_search``).
        why_not_answer: an answer that was not predicted (by value or, when answers are
            named, by name): what would make it win. Default: the label, when the
            prediction is wrong.
        inputs: the perceived inputs to record instead of the ones read from the example.
        description: what the example's numbers stand for (``greybox.trace.describe``);
            without it constants show as the engine's numbers.
        proof_budget_s: seconds each proof search may take before it settles for the
            proofs found among the more probable facts (the trace then says so).
        provenance: the config, checkpoint and version to record in the trace.

    Returns:
        The trace.

    Raises:
        GreyboxError: the query has no answer for the example.
    """
    task.eval()
    query = task.eval_reasoner_query
    qatom = task._reasoner_for(query).query_atom
    engine = task.reasoner.engine
    namer = Namer({name: rel.types for name, rel in engine.info.relations.items()}, description)
    answers = _Answers(qatom, namer, engine)
    neural = task.reasoner.perceive(task._net_inputs(example))
    # gradients with respect to every reading, for the attributions
    neural = {m: NeuralOutput(n.args, n.probs.detach().requires_grad_(True)) for m, n in neural.items()}
    if task.decode == "exact":
        dist = task.reason(example, query, neural=neural)
        ranked = dist.ranked(0)
        if not ranked:
            raise GreyboxError(f"the query {query} has no answer for example {index}", hint="check the program and the inputs")
        pred_codes = dist.answer_codes([ranked[0][0]])[0]
        pred_p = ranked[0][1]
        alternatives = [ts.Alternative(answer=answers.text(answers.values(dist.answer_codes([v])[0].tolist())),
                                       probability=_clamp(p)) for v, p in ranked[1:6]]
        p_pred = dist.probability_of(pred_codes[None, :])[0]
    else:
        codes, prob = task.predict_answers(example)
        pred_codes = codes[0]
        dist = task.reason(example, query, semiring="max-mult", neural={m: NeuralOutput(n.args, _onehot(n.probs)) for m, n in neural.items()})
        pred_p = float(prob[0])
        alternatives = []
        p_pred = None
    pred_values = answers.values(pred_codes.tolist())
    predicted = answers.text(pred_values)
    # attributions: d P(prediction) / d p(reading)
    grads: dict[str, Tensor] = {}
    if p_pred is not None and p_pred.requires_grad:
        g = torch.autograd.grad(p_pred, [n.probs for n in neural.values()], allow_unused=True, retain_graph=True)
        grads = {m: (gi if gi is not None else torch.zeros_like(n.probs)) for (m, n), gi in zip(neural.items(), g)}
    label = None
    if task.answer_key and task.answer_key in example:
        label = example[task.answer_key].reshape(-1)
    true_labels = _true_labels(task, example)
    perceived = inputs if inputs is not None else _perceived_inputs(task, example, neural, true_labels, description)

    facts = _Facts(task, dist.result, neural, namer, task._facts(example), description)
    notes: list[str] = []
    search = None
    polys: dict = {}
    if task.decode == "exact":
        polys = _polynomials(facts, qatom, answers, proof_budget_s, notes)
        search = _proofs_of(task, dist, neural, facts, qatom.predicate, _goal_args(qatom, pred_values), pred_codes, k,
                            proof_budget_s)
        notes.append(_search_note(search, f"{predicted}"))
    rules_used: list[ts.ProgramSource] = []
    goal_args = _goal_args(qatom, pred_values)
    proofs = _tree_proofs(search.proofs if search is not None else [], facts, qatom.predicate, goal_args,
                          namer, description, rules_used)

    attributions = []
    for pred in task.reasoner.predicates:
        if pred.model not in grads or pred.relation not in facts.result.input_offsets:
            continue
        start, n = facts.result.input_offsets[pred.relation]
        flat = grads[pred.model].reshape(-1)
        for j in torch.argsort(flat.abs(), descending=True)[:12].tolist():
            if float(flat[j]) == 0.0:
                break  # the rest did not move the prediction
            fid = start + j
            attributions.append(ts.Attribution(fact_id=fid, atom=facts.atoms[fid], probability=_clamp(facts.probabilities[fid]),
                                               gradient=float(flat[j]), source=facts.source(fid)))
    correct = None
    label_text = None
    label_values = None
    if label is not None:
        label_values = answers.values(label.tolist())
        label_text = answers.text(label_values)
        correct = label_text == predicted
    trace = ts.DecisionTrace(
        task=task_name, split=split, index=index, query=format_fact(qatom.predicate, [getattr(a, "name", getattr(a, "value", a)) for a in qatom.args]).replace("'", ""),
        predicted=predicted, probability=_clamp(pred_p), correct=correct, label=label_text,
        alternatives=[a for a in alternatives if a.answer != predicted], proofs=proofs,
        attributions=attributions, inputs=perceived, rules_used=rules_used,
        subset=description.subset if description is not None else None,
        question=description.question if description is not None else None,
        passages=[ts.Passage(number=i, text=t) for i, t in enumerate(description.passages, 1)] if description is not None else [],
        symbolic=symbolic_record(predicted, polys[predicted]) if predicted in polys else None,
    )
    culprits = culprit_inputs(trace) if correct is False else []
    label_proofs: list[ts.Proof] = []
    label_search = None
    if correct is False and label_values is not None and search is not None:
        label_search = _proofs_of(task, dist, neural, facts, qatom.predicate, _goal_args(qatom, label_values),
                                  label.reshape(-1).to(torch.int64), k, proof_budget_s)
        notes.append(_search_note(label_search, f"the label {label_text}"))
        label_proofs = _tree_proofs(label_search.proofs, facts, qatom.predicate, _goal_args(qatom, label_values),
                                    namer, description, rules_used)
        if not culprits:
            culprits = _culprits_by_proofs(search.proofs, label_search.proofs, facts)
        if why_not_answer is None:
            why_not_answer = label_text  # by default a wrong prediction asks: why not the label?
    wn = None
    if why_not_answer is not None and task.decode == "exact":
        t_values = answers.parse(why_not_answer)
        codes = dist.answer_codes([t_values])[0]
        target = answers.text(answers.values(codes.tolist()))
        if label_search is not None and target == label_text:
            t_search = label_search  # why not the label: its proofs are already found
        else:
            t_search = _proofs_of(task, dist, neural, facts, qatom.predicate,
                                  _goal_args(qatom, answers.values(codes.tolist())), codes, k, proof_budget_s)
            notes.append(_search_note(t_search, f"{target}"))
        t_goal = namer.atom(qatom.predicate, _goal_args(qatom, answers.values(codes.tolist())))
        t_nodes = [ts.Proof(probability=_clamp(p), root=_flat_proof(t_goal, p, literals, facts)) for p, literals in t_search.proofs]
        wn = why_not(target, t_nodes, winner_probability=_clamp(pred_p))
        if target in polys:
            changeable = {f: (facts.atoms[f], src) for f, src in facts.sources.items() if isinstance(src, ts.NeuralSource)}
            wn = wn.model_copy(update={"exact": exact_changes(target, polys[target], polys, changeable),
                                       "target_symbolic": symbolic_record(target, polys[target])})
    return trace.model_copy(update={"culprit_inputs": sorted(set(culprits)), "why_not": wn, "label_proofs": label_proofs,
                                    "rules_used": rules_used, "provenance": provenance,
                                    "notes": list(dict.fromkeys(n for n in notes if n is not None))})


def _polynomials(facts: _Facts, qatom, answers: _Answers, budget_s: float, notes: list[str]) -> dict:
    """Every answer's probability as a polynomial over the perceived facts (the readings of the
    networks and run-time facts), by answer text; empty, with a note, when the proofs could not
    all be found in ``budget_s`` seconds."""
    pattern = [a.value if isinstance(a, Const) else None for a in qatom.args]
    perceived = [f.id for f in facts.all if f.probability is not None
                 and isinstance(facts.sources.get(f.id), (ts.NeuralSource, ts.InputSource))]
    try:
        found = answer_polynomials(facts.engine.info, facts.all, qatom.predicate, pattern, perceived, time_budget_s=budget_s)
    except GreyboxError as err:
        notes.append(f"no symbolic provenance: {err.message}")
        return {}
    out = {}
    for args, poly in found.items():
        values = tuple(args[i] for i in answers.positions)
        if _goal_args(qatom, values) == tuple(args):  # a variable repeated in the query binds one value
            out[answers.text(values)] = poly
    return out


def _tree_proofs(found, facts: _Facts, predicate: str, goal_args: tuple, namer: Namer,
                 description: ExampleDescription | None, rules_used: list[ts.ProgramSource]) -> list[ts.Proof]:
    """Proofs found by the search (probability, literals) as derivation trees (and chains, when described)."""
    proofs = []
    for p, literals in found:
        chain = None
        try:
            # the proof names uncertain facts; certain ones hold in its world too
            world = frozenset(literals) | {(f, True) for f in facts.certain}
            tree = derivation_tree(facts.engine.info, facts.all, predicate, goal_args, world)
            root = _convert(tree, facts, rules_used)
            if description is not None:
                chain = proof_chain(tree, namer, lambda leaf: _convert(leaf, facts, []))
        except GreyboxError:
            root = _flat_proof(namer.atom(predicate, goal_args), p, literals, facts)
        proofs.append(ts.Proof(probability=_clamp(p), root=root, chain=chain))
    return proofs


def _flat_proof(goal: str, p: float, literals, facts: _Facts) -> ts.ProofNode:
    """A proof as its goal over its leaf literals (when no derivation tree is drawn)."""
    return ts.ProofNode(atom=goal, probability=_clamp(p), children=[
        ts.ProofNode(atom=facts.atoms[f], probability=_clamp(facts.probabilities[f]), fact_id=f,
                     source=facts.source(f), negated=not pos) for f, pos in sorted(literals)])


def _onehot(p: Tensor) -> Tensor:
    return torch.zeros_like(p).scatter_(1, p.argmax(1, keepdim=True), 1.0).detach()


def _goal_args(atom, values: Sequence) -> tuple:
    it = iter(values)
    out = []
    for a in atom.args:
        out.append(a.value if isinstance(a, Const) else next(it))
    return tuple(out)


def _true_labels(task: ReasoningTask, example) -> dict[int, str]:
    for model, key in task.perception_targets.items():
        if key in example:
            return {i: str(v) for i, v in enumerate(example[key].reshape(-1).tolist())}
    return {}


def _perceived_inputs(task: ReasoningTask, example, neural, true_labels: dict[int, str],
                      description: ExampleDescription | None = None) -> list[ts.PerceivedInput]:
    out = []
    silent = set(description.silent_classes) if description is not None else set()
    for pred in task.reasoner.predicates:
        key = task.inputs.get(pred.model)
        x = example.get(key) if key else None
        n = neural[pred.model]
        for row in range(n.args.shape[0]):
            item = int(n.args[row, 1])
            p = n.probs[row].detach()
            if float(p.sum()) == 0.0:
                continue  # a padding row: the network read nothing
            cls = int(p.argmax())
            read_as = str(pred.classes[cls])
            data_uri = None
            if isinstance(x, Tensor) and x.dim() >= 4:  # images; text (an ItemLists) has its description
                img = x[0, item].detach().float()
                img = img.reshape(img.shape[-2], img.shape[-1])
                img = (img - img.min()) / (img.max() - img.min()).clamp_min(1e-8)
                data_uri = png_data_uri(img.tolist(), scale=max(1, 56 // img.shape[-1]))
            about = description.input(key, item) if description is not None and key else None
            extra: dict[str, Any] = {}
            if about is not None:
                statement = None
                if read_as not in silent:
                    statement = about.statement(read_as) or f"{about.label}: {read_as}"
                extra = dict(label=about.label, passages=list(about.passages), statement=statement)
            is_text = data_uri is None and about is not None and about.text is not None
            out.append(ts.PerceivedInput(index=item, kind="text" if is_text else "image", data_uri=data_uri,
                                         text=about.text if is_text else None, true_label=true_labels.get(item),
                                         read_as=read_as, probability=_clamp(float(p[cls])), **extra))
        break  # one network's inputs are the example's inputs
    return out


def _culprits_by_proofs(pred_proofs, label_proofs, facts: _Facts) -> list[int]:
    """Inputs read differently in the best proof of the prediction and the best proof of the label."""
    if not pred_proofs or not label_proofs:
        return []

    def readings(literals) -> dict[int, Any]:
        out = {}
        for f, pos in literals:
            src = facts.source(f)
            if pos and isinstance(src, ts.NeuralSource):
                out[src.input_index] = src.cls
        return out

    a, b = readings(pred_proofs[0][1]), readings(label_proofs[0][1])
    return [i for i in a if i in b and a[i] != b[i]]
