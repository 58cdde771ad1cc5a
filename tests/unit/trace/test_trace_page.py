"""The HTML page's script run in Node with a small DOM (``tests/helpers/trace_page.js``).

No browser is needed: the page's own script builds the summary, the banner and the
panels from the embedded traces, and the test reads the elements it made. Skipped
without Node. (``tests/integration/test_trace_browser.py`` checks the page in Chromium.)
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from greybox.trace.render_html import render_html
from greybox.trace.schema import DecisionTrace
from tests.helpers.traces import digit_sum_trace, kinship_trace

NODE = shutil.which("node") or shutil.which("nodejs")
HARNESS = Path(__file__).resolve().parents[3] / "tests/helpers/trace_page.js"
pytestmark = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")

LABEL_PROOF = {"probability": 0.27, "root": {"atom": "addition(img0, img1, 7)", "probability": 0.27, "children": []}}
UNTRAINED = {"configs": ["experiments/digit_sum/sum2_digits.yaml"], "greybox_version": "0.1.0"}
TRAINED = {"configs": ["a.yaml"], "checkpoint": "last.ckpt", "checkpoint_sha256": "cd" * 32, "greybox_version": "0.1.0"}


def _with(trace: DecisionTrace, **update) -> DecisionTrace:
    return DecisionTrace.model_validate({**trace.model_dump(mode="json"), **update})


def _page(tmp_path: Path, traces, hash_: str = "", selection: str | None = None) -> dict:
    page = tmp_path / "page.html"
    page.write_text(render_html(traces, selection=selection), encoding="utf-8")
    ids = ["summary", "accuracy", "selection", "untrained-banner", "untrained-badge", "provenance",
           "label-proofs-section", "label-proofs-title", "label-proof-tree", "verdict", "predicted-answer"]
    out = subprocess.run([NODE, str(HARNESS), str(page), hash_, *ids], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    dom = json.loads(out.stdout)
    assert dom["body-ready"] == "true", "the page's script did not finish"
    return dom


def test_one_example_has_no_accuracy_headline(tmp_path) -> None:
    dom = _page(tmp_path, [digit_sum_trace()])
    assert dom["accuracy"] is None and "accuracy" not in dom["summary"]["text"]
    assert dom["summary"]["text"] == "1 example \u00b7 0 right \u00b7 1 wrong"
    two = _page(tmp_path, [digit_sum_trace(), kinship_trace()])
    assert two["accuracy"]["text"] == " \u00b7 accuracy 50.0%"


def test_a_selection_is_named_instead_of_an_accuracy(tmp_path) -> None:
    dom = _page(tmp_path, [digit_sum_trace(1), digit_sum_trace(2)], selection="wrong predictions only (2 of 9 examples looked at)")
    assert dom["accuracy"] is None
    assert dom["selection"]["text"] == " \u00b7 wrong predictions only (2 of 9 examples looked at)"


def test_an_untrained_model_shows_a_banner_and_a_badge(tmp_path) -> None:
    dom = _page(tmp_path, [_with(digit_sum_trace(), provenance=UNTRAINED)])
    assert dom["untrained-banner"]["hidden"] is False and dom["untrained-banner"]["text"].startswith("UNTRAINED MODEL")
    assert dom["untrained-badge"]["text"] == "UNTRAINED model"
    assert "UNTRAINED (no checkpoint)" in dom["provenance"]["text"]
    trained = _page(tmp_path, [_with(digit_sum_trace(), provenance=TRAINED)])
    assert trained["untrained-banner"]["hidden"] is True and trained["untrained-badge"] is None
    assert trained["provenance"]["text"] == f"config a.yaml \u00b7 checkpoint last.ckpt sha256 {'cd' * 6} \u00b7 greybox 0.1.0"


def test_the_labels_proofs_are_shown_for_a_wrong_prediction(tmp_path) -> None:
    dom = _page(tmp_path, [_with(digit_sum_trace(), label_proofs=[LABEL_PROOF]), kinship_trace()], "#select=0")
    assert dom["verdict"]["text"] == "wrong \u2014 label 7"
    assert dom["label-proofs-section"]["hidden"] is False
    assert dom["label-proofs-title"]["text"] == "Proofs of the label 7 (not predicted)"
    assert "addition(img0, img1, 7)" in dom["label-proof-tree"]["text"] and "p=0.270" in dom["label-proof-tree"]["text"]
    right = _page(tmp_path, [_with(digit_sum_trace(), label_proofs=[LABEL_PROOF]), kinship_trace()], "#select=1")
    assert right["label-proofs-section"]["hidden"] is True
