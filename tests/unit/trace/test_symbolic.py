"""The exact why-not, solved from polynomials: the target must beat every rival, not only the winner."""

from __future__ import annotations

import pytest

from greybox.semirings.symbolic import fact_symbols, symbolic_probability
from greybox.semirings.wmc import FactWeights
from greybox.trace.render_html import render_html
from greybox.trace.render_text import render_text
from greybox.trace.symbolic import crossing, exact_changes, symbolic_record
from tests.helpers.traces import digit_sum_trace


def _one_input(probs: tuple[float, ...]):
    """One input read as class 0, 1, 2, ...; answer i holds when the input is read as i."""
    w = FactWeights(probs, (0,) * len(probs))
    syms = fact_symbols([("r", (0, c)) for c in range(len(probs))], w)
    return {str(c): symbolic_probability([frozenset({(c, True)})], w, syms) for c in range(len(probs))}


def test_raising_a_reading_takes_its_mass_from_the_others_in_proportion() -> None:
    polys = _one_input((0.5, 0.3, 0.2))
    t, rival = crossing(polys["2"], {k: v for k, v in polys.items() if k != "2"}, 2)
    # c = t beats a = 0.5 (1 - t) / 0.8 from t = 5/13 on; b = 0.3 (1 - t) / 0.8 is below a all along
    assert t == pytest.approx(5 / 13, abs=1e-12) and rival == "0"


def test_a_change_that_beats_the_winner_but_not_another_answer_is_no_answer() -> None:
    polys = _one_input((0.5, 0.3, 0.2))
    rivals = {k: v for k, v in polys.items() if k != "2"}
    # lowering reading 0 gives its mass to 1 and 2 in proportion 3:2, so 2 never beats 1
    assert crossing(polys["2"], rivals, 0) is None
    # lowering reading 1 gives 0 more than 2: 2 never wins that way either
    assert crossing(polys["2"], rivals, 1) is None
    changes = exact_changes("2", polys["2"], polys, {f: (f"r(0, {f})", None) for f in range(3)})
    assert [(c.fact_id, c.rival) for c in changes] == [(2, "0")]


def test_an_answer_that_already_wins_needs_no_change() -> None:
    polys = _one_input((0.5, 0.3, 0.2))
    assert crossing(polys["0"], {k: v for k, v in polys.items() if k != "0"}, 0) is None


def test_renderers_show_the_polynomial_and_the_exact_threshold() -> None:
    polys = _one_input((0.5, 0.3, 0.2))
    trace = digit_sum_trace()
    exact = exact_changes("2", polys["2"], polys, {f: (f"r(0, {f})", None) for f in range(3)})
    wn = trace.why_not.model_copy(update={"target": "2", "exact": exact, "target_symbolic": symbolic_record("2", polys["2"])})
    trace = trace.model_copy(update={"symbolic": symbolic_record(trace.predicted, polys["0"]), "why_not": wn})
    text = render_text(trace, plain=True)
    assert f"P({trace.predicted}) as a polynomial" in text and "= p(r(0)=0)" in text
    assert "raise p(r(0)=2) from 0.200 past 0.384615" in text and "(there 2 ties 0)" in text
    page = render_html([trace])
    assert 'id="symbolic"' in page and '"summary":"p(r(0)=0)"' in page and '"threshold":0.38461538' in page


def test_the_page_shows_the_polynomial_and_the_exact_threshold(tmp_path) -> None:
    import json
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed")
    polys = _one_input((0.5, 0.3, 0.2))
    trace = digit_sum_trace()
    exact = exact_changes("2", polys["2"], polys, {f: (f"r(0, {f})", None) for f in range(3)})
    wn = trace.why_not.model_copy(update={"target": "2", "exact": exact, "target_symbolic": symbolic_record("2", polys["2"])})
    trace = trace.model_copy(update={"symbolic": symbolic_record(trace.predicted, polys["0"]), "why_not": wn})
    page = tmp_path / "page.html"
    page.write_text(render_html([trace]), encoding="utf-8")
    harness = Path(__file__).resolve().parents[3] / "tests/helpers/trace_page.js"
    out = subprocess.run([node, str(harness), str(page), "", "symbolic", "symbolic-body", "why-not-body"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    dom = json.loads(out.stdout)
    assert dom["symbolic"]["hidden"] is False
    assert dom["symbolic-body"]["text"].startswith(f"P({trace.predicted}) = p(r(0)=0)")
    assert "raise p(r(0)=2) from 0.200 past 0.384615" in dom["why-not-body"]["text"]
    assert "(there 2 ties 0)P(2) = p(r(0)=2)= 0.200 at the readings' probabilities (1 term)" in dom["why-not-body"]["text"]
