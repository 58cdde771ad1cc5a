"""Symbolic provenance in the trace of a two-digit sum (a 3 and a 4, the 4 misread as 5: predicted 8).

The trace gives P(8) as the sum over digit pairs (a, b) with a + b = 8 of
p(digit(0)=a) * p(digit(1)=b); the exact why-not gives the probability of one reading
past which 7 wins, and moving that reading there (the other readings of its image
sharing the rest in proportion) flips the engine's answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sympy
import torch

from greybox.trace.render_text import render_text
from greybox.trace.schema import DecisionTrace, validate_trace_json
from greybox.training.traces import build_trace
from tests.unit.training.test_traces import DIGIT_SUM, FixedDigitNet, _images, misreading_table, _task

EXAMPLE = {"images": _images()[None], "label": torch.tensor([7]), "digits": torch.tensor([[3, 4]])}


@pytest.fixture(scope="module")
def trace() -> DecisionTrace:
    task = _task(perception_targets={"digit_net": "digits"})
    return build_trace(task, EXAMPLE, task_name="digit_sum", split="test", index=5, why_not_answer="7")


def _predicted(readings: list[list[float]]) -> int:
    task = _task()
    task.reasoner.networks["digit_net"].readings.copy_(torch.tensor(readings))
    codes, _ = task.predict_answers({"images": _images()[None]})
    return int(codes[0, 0])


def _moved(table: list[list[float]], image: int, cls: int, t: float) -> list[list[float]]:
    """Reading ``cls`` of ``image`` set to ``t``; the image's other readings share ``1 - t`` in proportion."""
    out = [list(row) for row in table]
    p = out[image][cls]
    out[image] = [t if c == cls else q * (1 - t) / (1 - p) for c, q in enumerate(out[image])]
    return out


def test_the_trace_gives_the_prediction_as_a_sum_over_digit_pairs(trace: DecisionTrace) -> None:
    s = trace.symbolic
    assert s is not None and s.answer == trace.predicted == "8"
    d = lambda i, c: sympy.Symbol(f"p_digit_{i}_{c}")  # noqa: E731
    want = sum(d(0, a) * d(1, 8 - a) for a in range(9))
    assert sympy.expand(sympy.sympify(s.expression) - want) == 0
    assert s.terms == 9 and len(s.symbols) == 18  # digit(0)=0..8 and digit(1)=0..8
    # at the readings' probabilities it is the engine's probability of 8
    assert s.probability == pytest.approx(trace.probability, abs=1e-6)
    # the largest term first: image 0 read as 3 and image 1 as 5
    assert s.display.startswith("p(digit(0)=3)*p(digit(1)=5) + ")
    assert s.summary.endswith("+ ... (5 more terms)") and s.display.count("*") == 9


def test_the_text_shows_the_polynomial_collapsed(trace: DecisionTrace) -> None:
    text = render_text(trace, plain=True)
    assert "P(8) as a polynomial" in text
    assert "= p(digit(0)=3)*p(digit(1)=5) + p(digit(0)=4)*p(digit(1)=4)" in text
    assert "(5 more terms)" in text and "(9 terms, 18 symbols)" in text
    assert "raise p(digit(1)=4) from 0.050 past 0.48" in text


def test_past_the_exact_threshold_the_answer_flips(trace: DecisionTrace) -> None:
    assert trace.why_not is not None and trace.why_not.exact
    best = trace.why_not.exact[0]
    assert (best.symbol, best.rival) == ("p(digit(1)=4)", "8")
    assert best.source is not None and (best.source.input_index, best.source.cls) == (1, 4)
    table = misreading_table()
    assert best.from_probability == pytest.approx(table[1][4])
    assert _predicted(table) == 8
    assert _predicted(_moved(table, 1, 4, best.threshold + 1e-5)) == 7
    assert _predicted(_moved(table, 1, 4, best.threshold - 1e-5)) == 8


def test_every_exact_threshold_flips_the_answer(trace: DecisionTrace) -> None:
    table = misreading_table()
    assert len(trace.why_not.exact) == 3
    for c in trace.why_not.exact:
        image, cls = c.source.input_index, int(c.source.cls)
        step = 1e-5 if c.threshold > c.from_probability else -1e-5
        assert _predicted(_moved(table, image, cls, c.threshold + step)) == 7, c.symbol
        assert _predicted(_moved(table, image, cls, c.threshold - step)) != 7, c.symbol


def test_the_numeric_why_not_is_sufficient_and_the_exact_one_smaller(trace: DecisionTrace) -> None:
    # the numeric why-not holds the winner fixed and leaves the other readings as they are:
    # its change of the same reading is enough, and larger than the exact threshold
    numeric = {c.fact_id: c.to_probability for c in trace.why_not.changes}
    exact = {c.fact_id: c.threshold for c in trace.why_not.exact}
    shared = set(numeric) & set(exact)
    assert shared
    for f in shared:
        assert exact[f] < numeric[f]
    s = trace.why_not.target_symbolic
    assert s is not None and s.answer == "7" and s.terms == 8


def test_explain_json_holds_the_whole_polynomial(tmp_path: Path, capsys) -> None:
    from greybox.training.explain import main

    config = tmp_path / "fixed.yaml"
    config.write_text(json.dumps({
        "trainer": {"logger": False, "default_root_dir": str(tmp_path), "enable_progress_bar": False},
        "model": {
            "program": str(DIGIT_SUM), "extra_facts": "num_digits(2).",
            "networks": {"digit_net": {"class_path": f"{FixedDigitNet.__module__}.FixedDigitNet",
                                       "init_args": {"readings": misreading_table()}}},
            "train_query": "sum(S)",
        },
        "data": {"class_path": "tests.unit.training.test_traces.OneExampleData"},
    }))
    assert main(["--config", str(config), "--format", "json"]) == 0
    trace = validate_trace_json(capsys.readouterr().out)
    assert isinstance(trace, DecisionTrace) and trace.symbolic is not None
    assert trace.symbolic.terms == 9 and trace.symbolic.display.count(" + ") == 8
    assert main(["--config", str(config), "--format", "text"]) == 0
    assert "P(8) as a polynomial" in capsys.readouterr().out
