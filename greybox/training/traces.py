"""Building ``DecisionTrace``s from a trained ``ReasoningTask`` and one example.

A trace holds what a person needs to see why an answer came out:

* the answer distribution (exact, from the training semiring) and the prediction;
* the top-k proofs of the prediction as derivation trees: which rule (file:line)
  was applied to which facts, and for each neural fact which network read which
  input as what, with what probability;
* attributions: d P(prediction) / d p(fact) for every neural fact;
* for a wrong prediction, the inputs whose reading caused it (the readings in the
  best proof of the prediction that differ from the best proof of the label);
* on request, why-not: the smallest change of readings that makes another answer win.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from torch import Tensor

from ..engine.proof_tree import ProofNode as TreeNode
from ..engine.proof_tree import derivation_tree
from ..errors import GreyboxError
from ..lang.ast import NO_SPAN, Const
from ..lang.facts import InputFact
from ..lang.printer import format_expr, format_statement
from ..neural.predicate import NeuralOutput
from ..trace import schema as ts
from ..trace.render_html import png_data_uri
from ..trace.why_not import culprit_inputs, why_not
from .module import ReasoningTask

__all__ = ["build_trace", "format_atom"]


def format_atom(relation: str, args: Sequence) -> str:
    """``digit(0, 3)``; a zero-arity atom is its name.

    >>> format_atom("parent", ("ann", "Bob Jr"))
    "parent(ann, 'Bob Jr')"
    """
    if not args:
        return relation
    return f"{relation}({', '.join(format_expr(Const(a)) for a in args)})"


def _answer_text(values: Sequence) -> str:
    return ", ".join(str(v) for v in values)


class _Facts:
    """The input facts of a one-sample evaluation, with where each came from."""

    def __init__(self, task: ReasoningTask, result, neural: Mapping[str, NeuralOutput], label_of_input) -> None:
        self.engine = result.engine
        self.result = result
        self.static: list[InputFact] = list(self.engine.facts)
        self.sources: dict[int, Any] = {}
        self.probabilities: dict[int, float] = {}
        self.atoms: dict[int, str] = {}
        probs = result.algebra.facts.probs.detach()
        facts = list(self.static)
        for f in self.static:
            if f.relation is not None:
                self.atoms[f.id] = format_atom(f.relation, f.args)
            else:
                self.atoms[f.id] = format_statement(f.clause) if f.clause is not None else f"weight {f.id}"
            self.sources[f.id] = ts.ProgramSource(file=f.span.file, line=f.span.line or None,
                                                  text=format_statement(f.clause) if f.clause is not None else None)
            self.probabilities[f.id] = float(probs[f.id])
        by_relation = {p.relation: p for p in task.reasoner.predicates}
        for relation, (start, n) in result.input_offsets.items():
            rel_cols = self._input_cols(task, relation, neural)
            decoded = result.decode(relation, rel_cols) if rel_cols is not None else [()] * n
            pred = by_relation.get(relation)
            for j in range(n):
                fid = start + j
                args = decoded[j]
                self.atoms[fid] = format_atom(relation, args)
                self.probabilities[fid] = float(probs[fid])
                facts.append(InputFact(fid, relation, tuple(args), self.probabilities[fid], fid, False, NO_SPAN, None))
                if pred is not None:
                    c = pred.n_classes
                    row, cls = divmod(j, c)
                    item = int(neural[pred.model].args[row, 1])
                    self.sources[fid] = ts.NeuralSource(
                        predicate=relation, model=pred.model, sample=0, input_index=item,
                        input_label=label_of_input(item), cls=pred.classes[cls], probability=_clamp(self.probabilities[fid]),
                    )
                else:
                    self.sources[fid] = ts.InputSource(description=f"run-time fact of '{relation}'")
        self.all = facts

    @staticmethod
    def _input_cols(task: ReasoningTask, relation: str, neural) -> Tensor | None:
        for pred in task.reasoner.predicates:
            if pred.relation == relation:
                return pred.facts(neural[pred.model]).cols
        return None

    def source(self, fid: int):
        return self.sources.get(fid, ts.InputSource(description=f"fact {fid}"))


def _clamp(p: float | None) -> float | None:
    return None if p is None else min(1.0, max(0.0, float(p)))


def _convert(node: TreeNode, facts: _Facts, rules_used: list[ts.ProgramSource]) -> ts.ProofNode:
    # comparisons and arithmetic are checks, not evidence: the tree shows rules and facts
    children = [_convert(c, facts, rules_used) for c in node.children if c.kind != "builtin"]
    if node.kind == "fact" and node.fact_id is not None:
        fid = node.fact_id
        return ts.ProofNode(atom=facts.atoms.get(fid, format_atom(node.relation, node.args)),
                            probability=_clamp(facts.probabilities.get(fid)), fact_id=fid, source=facts.source(fid))
    if node.kind == "negation":
        return ts.ProofNode(atom=format_atom(node.relation, node.args), probability=_clamp(node.probability), negated=True,
                            fact_id=node.fact_id, source=facts.source(node.fact_id) if node.fact_id is not None else None)
    if node.kind == "rule" and node.clause is not None:
        src = ts.ProgramSource(file=node.clause.span.file, line=node.clause.span.line or None, text=format_statement(node.clause))
        if src not in rules_used:
            rules_used.append(src)
        return ts.ProofNode(atom=format_atom(node.relation, node.args), probability=_clamp(node.probability), rule=src, children=children)
    # builtins (comparisons, arithmetic) and aggregates: show the operation and its values
    text = f"{node.relation} {' '.join(str(a) for a in node.args)}".strip() or node.kind
    return ts.ProofNode(atom=text, probability=_clamp(node.probability), children=children)


def _proofs_of(task: ReasoningTask, batch, query: str, answer_codes: Tensor, k: int, neural) -> tuple[list, Any]:
    """Top-k proofs (literal sets with probabilities) of one answer tuple of sample 0."""
    out = task.reason(batch, query, semiring="top-k", neural=neural)
    cols, _, free = out._rows()
    match = (cols[:, 0] == 0)
    for j, col in enumerate(free):
        match &= cols[:, col] == answer_codes[j]
    rows = match.nonzero().squeeze(1)
    if len(rows) == 0:
        return [], out
    algebra = out.result.algebra
    rel = out.result[out.query.predicate]
    row = int(rows[0])
    # index of the row in the full relation (``_rows`` filtered by the query's constants)
    full_row = int(((rel.cols == cols[row]).all(dim=1)).nonzero()[0])
    return _ranked_proofs(algebra, rel.tags, full_row), out


def _ranked_proofs(algebra, tags, row: int) -> list[tuple[float, frozenset]]:
    """``(probability, literals)`` of each proof kept for one tuple, most probable first."""
    tag = algebra.index(tags, torch.tensor([row], device=tags[0].device))
    probs = algebra.proof_probabilities(tag)[0].detach()
    out = []
    for j in range(tag.valid.shape[1]):
        if bool(tag.valid[0, j]):
            lits = [int(v) for v in tag.lits[0, j].tolist() if v != 0]
            out.append((float(probs[j]), frozenset((abs(v) - 1, v > 0) for v in lits)))
    return sorted(out, key=lambda t: -t[0])


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
) -> ts.DecisionTrace:
    """The decision trace of one example (a batch of size 1)."""
    task.eval()
    query = task.eval_reasoner_query
    neural = task.reasoner.perceive(task._net_inputs(example))
    # gradients with respect to every reading, for the attributions
    neural = {m: NeuralOutput(n.args, n.probs.detach().requires_grad_(True)) for m, n in neural.items()}
    if task.decode == "exact":
        dist = task.reason(example, query, neural=neural)
        ranked = dist.ranked(0)
        if not ranked:
            raise GreyboxError(f"the query {query} has no answer for example {index}", hint="check the program and the inputs")
        pred_values, pred_p = ranked[0]
        alternatives = [ts.Alternative(answer=_answer_text(v), probability=_clamp(p)) for v, p in ranked[1:6]]
        pred_codes = dist.answer_codes([pred_values])[0]
        p_pred = dist.probability_of(pred_codes[None, :])[0]
    else:
        codes, prob = task.predict_answers(example)
        pred_codes = codes[0]
        dist = task.reason(example, query, semiring="max-mult", neural={m: NeuralOutput(n.args, _onehot(n.probs)) for m, n in neural.items()})
        pred_values = dist.result.decode(dist.query.predicate, torch.cat([pred_codes.new_zeros(1, 1), pred_codes[None]], 1))[0] if len(pred_codes) == len(dist.query.args) else tuple(pred_codes.tolist())
        pred_p = float(prob[0])
        alternatives = []
        p_pred = None
    # attributions: d P(prediction) / d p(reading)
    grads: dict[str, Tensor] = {}
    if p_pred is not None and p_pred.requires_grad:
        g = torch.autograd.grad(p_pred, [n.probs for n in neural.values()], allow_unused=True)
        grads = {m: (gi if gi is not None else torch.zeros_like(n.probs)) for (m, n), gi in zip(neural.items(), g)}
    label = None
    if task.answer_key and task.answer_key in example:
        label = example[task.answer_key].reshape(-1)
    true_labels = _true_labels(task, example)
    perceived = inputs if inputs is not None else _perceived_inputs(task, example, neural, true_labels)

    proofs_raw, top = _proofs_of(task, example, query, pred_codes, k, {m: NeuralOutput(n.args, n.probs.detach()) for m, n in neural.items()}) \
        if task.decode == "exact" else ([], None)
    facts = _Facts(task, top.result if top is not None else dist.result, neural, lambda i: f"input {i}")
    rules_used: list[ts.ProgramSource] = []
    proofs = []
    qatom = task._reasoner_for(query).query_atom
    goal_args = _goal_args(qatom, pred_values)
    for p, literals in proofs_raw:
        try:
            tree = derivation_tree(facts.engine.info, facts.all, qatom.predicate, goal_args, frozenset(literals))
            root = _convert(tree, facts, rules_used)
        except GreyboxError:
            root = ts.ProofNode(atom=format_atom(qatom.predicate, goal_args), probability=_clamp(p),
                                children=[ts.ProofNode(atom=facts.atoms[f], probability=_clamp(facts.probabilities[f]),
                                                       fact_id=f, source=facts.source(f), negated=not pos) for f, pos in sorted(literals)])
        proofs.append(ts.Proof(probability=_clamp(p), root=root))

    attributions = []
    for pred in task.reasoner.predicates:
        if pred.model not in grads or pred.relation not in facts.result.input_offsets:
            continue
        start, n = facts.result.input_offsets[pred.relation]
        flat = grads[pred.model].reshape(-1)
        for j in torch.argsort(flat.abs(), descending=True)[:12].tolist():
            fid = start + j
            attributions.append(ts.Attribution(fact_id=fid, atom=facts.atoms[fid], probability=_clamp(facts.probabilities[fid]),
                                               gradient=float(flat[j]), source=facts.source(fid)))
    correct = None
    label_text = None
    if label is not None:
        label_text = _answer_text(label.tolist())
        correct = label_text == _answer_text(pred_values)
    trace = ts.DecisionTrace(
        task=task_name, split=split, index=index, query=format_atom(qatom.predicate, [getattr(a, "name", getattr(a, "value", a)) for a in qatom.args]).replace("'", ""),
        predicted=_answer_text(pred_values), probability=_clamp(pred_p), correct=correct, label=label_text,
        alternatives=[a for a in alternatives if a.answer != _answer_text(pred_values)], proofs=proofs,
        attributions=attributions, inputs=perceived, rules_used=rules_used,
    )
    culprits = culprit_inputs(trace) if correct is False else []
    if correct is False and not culprits and label is not None and task.decode == "exact":
        culprits = _culprits_by_proofs(task, example, query, label, proofs_raw, facts, neural)
    target = why_not_answer if why_not_answer is not None else None
    wn = None
    if target is not None and task.decode == "exact":
        codes = dist.answer_codes([tuple(int(x) if x.lstrip("-").isdigit() else x for x in target.split(", "))])[0]
        t_proofs, _ = _proofs_of(task, example, query, codes, k, {m: NeuralOutput(n.args, n.probs.detach()) for m, n in neural.items()})
        t_nodes = []
        for p, literals in t_proofs:
            t_nodes.append(ts.Proof(probability=_clamp(p), root=ts.ProofNode(
                atom=format_atom(qatom.predicate, _goal_args(qatom, codes.tolist())), probability=_clamp(p),
                children=[ts.ProofNode(atom=facts.atoms[f], probability=_clamp(facts.probabilities[f]), fact_id=f,
                                       source=facts.source(f), negated=not pos) for f, pos in sorted(literals)])))
        wn = why_not(target, t_nodes, winner_probability=_clamp(pred_p))
    return trace.model_copy(update={"culprit_inputs": sorted(set(culprits)), "why_not": wn})


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


def _perceived_inputs(task: ReasoningTask, example, neural, true_labels: dict[int, str]) -> list[ts.PerceivedInput]:
    out = []
    for pred in task.reasoner.predicates:
        key = task.inputs.get(pred.model)
        x = example.get(key) if key else None
        n = neural[pred.model]
        for row in range(n.args.shape[0]):
            item = int(n.args[row, 1])
            p = n.probs[row].detach()
            cls = int(p.argmax())
            data_uri = None
            if x is not None and x.dim() >= 4:
                img = x[0, item].detach().float()
                img = img.reshape(img.shape[-2], img.shape[-1])
                img = (img - img.min()) / (img.max() - img.min()).clamp_min(1e-8)
                data_uri = png_data_uri(img.tolist(), scale=max(1, 56 // img.shape[-1]))
            out.append(ts.PerceivedInput(index=item, kind="image", data_uri=data_uri, true_label=true_labels.get(item),
                                         read_as=str(pred.classes[cls]), probability=_clamp(float(p[cls]))))
        break  # one network's inputs are the example's inputs
    return out


def _culprits_by_proofs(task, example, query, label, pred_proofs, facts: _Facts, neural) -> list[int]:
    """Inputs read differently in the best proof of the prediction and the best proof of the label."""
    codes = label.reshape(-1).to(torch.int64)
    label_proofs, _ = _proofs_of(task, example, query, codes, 1, {m: NeuralOutput(n.args, n.probs.detach()) for m, n in neural.items()})
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
