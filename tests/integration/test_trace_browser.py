"""The HTML trace page in a real browser (headless Chromium, no Python browser driver).

The page is written from ``tests/helpers/traces.py`` and opened with a URL hash
such as ``#select=wrong-first``. The page's own script reads the hash and performs
the clicks in the browser with ``element.click()``: real DOM events that run the
page's event handlers, exactly as a person's click would. Chromium then dumps the
resulting DOM (``--dump-dom`` after ``--virtual-time-budget``), and the test
asserts on it: which example is selected, its proof tree, attributions, inputs,
why-not. A screenshot is saved in the test's ``tmp_path``.

Skipped when no Chromium is installed (``/usr/bin/chromium`` or ``chromium`` on PATH).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from greybox.trace.render_html import render_html
from greybox.trace.schema import DecisionTrace, TraceBatch
from tests.helpers.traces import digit_sum_trace, kinship_trace

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")

EVIL = '<img src=x onerror="alert(1)">'
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Element | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Element | str] = []

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, Element):
                yield from c.walk()

    def find_all(self, tag: str | None = None, cls: str | None = None) -> list[Element]:
        return [e for e in self.walk() if e is not self and (tag is None or e.tag == tag)
                and (cls is None or cls in e.classes)]

    def by_id(self, element_id: str) -> Element:
        found = [e for e in self.walk() if e.attrs.get("id") == element_id]
        assert len(found) == 1, f"expected one #{element_id}, found {len(found)}"
        return found[0]

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)


class _DomBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        el = Element(tag, dict(attrs), self.cur)
        self.cur.children.append(el)
        if tag not in VOID:
            self.cur = el

    def handle_endtag(self, tag):
        node = self.cur
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.cur = node.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def _chromium(url: str, *extra: str, user_data: Path) -> str:
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-extensions",
        "--hide-scrollbars", f"--user-data-dir={user_data}", "--window-size=1200,900",
        "--virtual-time-budget=2000", *extra, url,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def _dom(page: Path, hash_: str, tmp_path: Path, *extra: str) -> Element:
    html = _chromium(page.as_uri() + hash_, "--dump-dom", *extra, user_data=tmp_path / "profile")
    builder = _DomBuilder()
    builder.feed(html)
    root = builder.root
    assert root.find_all("body")[0].attrs.get("data-ready") == "true", "the page's script did not finish"
    return root


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    evil = digit_sum_trace(index=99).model_dump(mode="json")
    evil["predicted"] = EVIL
    evil["proofs"][0]["root"]["atom"] = EVIL
    traces = [kinship_trace(), digit_sum_trace(), DecisionTrace.model_validate(evil)]
    path = tmp_path_factory.mktemp("html") / "traces.html"
    path.write_text(render_html(TraceBatch(traces=traces), title="greybox traces"), encoding="utf-8")
    return path


def test_clicking_the_first_wrong_example_shows_its_explanation(page, tmp_path):
    shot = tmp_path / "trace.png"  # what a person would see, kept with the test's files
    dom = _dom(page, "#select=wrong-first", tmp_path, f"--screenshot={shot}")
    raw = shot.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", raw[16:24]) == (1200, 900)
    items = dom.by_id("example-list").find_all("li")
    assert [li.attrs["data-correct"] for li in items] == ["true", "false", "false"]
    assert ["selected" in li.classes for li in items] == [False, True, False]
    assert items[1].attrs["aria-selected"] == "true"
    detail = dom.by_id("detail")
    assert (detail.attrs["data-index"], detail.attrs["data-correct"]) == ("1", "wrong")
    assert dom.by_id("predicted-answer").text == "8"
    assert dom.by_id("verdict").text == "wrong \u2014 label 7"

    tree = dom.by_id("proof-tree")
    nodes = tree.find_all(cls="proof-node")
    assert [n.attrs["data-atom"] for n in nodes] == ["addition(img0, img1, 8)", "digit(img0, 3)", "digit(img1, 5)"]
    assert nodes[0].tag == "details" and "open" in nodes[0].attrs  # collapsible, shown open
    assert nodes[0].find_all(cls="rule-loc")[0].text == "knowledge/digits.dl:4"
    assert "culprit" in nodes[2].classes and "culprit" not in nodes[1].classes
    assert nodes[2].find_all(cls="source")[0].text == "digit_net read image 1 as 5 (p=0.620)"
    assert "p=0.564" in tree.text

    rows = dom.by_id("attributions").find_all(cls="attr-row")
    assert [r.attrs["data-fact-id"] for r in rows] == ["15", "3", "14"]  # by |gradient|
    bars = [r.find_all(cls="bar")[0].attrs["style"].replace(" ", "").rstrip(";") for r in rows]
    assert bars[0] == "width:100.0%" and "negative" in rows[2].classes

    inputs = dom.by_id("inputs")
    assert [img.attrs["src"][:22] for img in inputs.find_all("img")] == ["data:image/png;base64,"] * 2
    assert "culprit" in dom.by_id("input-1").classes and "culprit" not in dom.by_id("input-0").classes

    why = dom.by_id("why-not")
    assert "hidden" not in why.attrs
    assert dom.by_id("why-not-title").text == "Why not 7?"
    assert "raise digit(img1, 4) 0.300 \u2192 0.621" in why.text
    assert "knowledge/digits.dl:4" in dom.by_id("rules-used").text

    alternatives = dom.by_id("alternatives").find_all(cls="bar-row")
    assert [a.attrs["data-answer"] for a in alternatives] == ["8", "7", "12", "13"]
    assert "label-answer" in alternatives[1].classes


def test_hostile_text_stays_text(page, tmp_path):
    dom = _dom(page, "#select=2", tmp_path)
    assert not [e for e in dom.walk() if "onerror" in e.attrs], "an injected element was created"
    assert all(img.attrs["src"].startswith("data:image/") for img in dom.find_all("img"))
    assert dom.by_id("predicted-answer").text == EVIL
    assert dom.by_id("proof-tree").find_all(cls="proof-node")[0].attrs["data-atom"] == EVIL


def test_filters_hide_examples(page, tmp_path):
    dom = _dom(page, "#filter=right&select=first", tmp_path)
    items = dom.by_id("example-list").find_all("li")
    assert ["hidden" in li.attrs for li in items] == [False, True, True]
    assert "active" in dom.by_id("filter-right").classes and "active" not in dom.by_id("filter-all").classes
    assert dom.by_id("filter-wrong").text == "Wrong (2)"
    assert dom.by_id("list-count").text == "1 of 3 shown"
    assert dom.by_id("detail").attrs["data-index"] == "0"
    sentences = [e for e in dom.by_id("inputs").find_all(cls="input") if "text" in e.classes]
    assert [s.find_all(cls="text")[0].text for s in sentences] == [i.text for i in kinship_trace().inputs]
    tree_text = dom.by_id("proof-tree").text
    assert "\\+ half_sibling(cid, dan)" in tree_text and "knowledge graph knowledge/people.csv row 4" in tree_text
    assert "hidden" in dom.by_id("why-not").attrs

    dom = _dom(page, "#q=IMG1%2C%208&select=first", tmp_path)  # text filter "IMG1, 8": an atom, any case
    items = dom.by_id("example-list").find_all("li")
    assert ["hidden" in li.attrs for li in items] == [True, False, True]
    assert dom.by_id("detail").attrs["data-index"] == "1"



def test_a_described_kinship_trace_shows_story_names_and_chain(tmp_path):
    from tests.helpers.kinship_traces import STORY, named_kinship_trace

    trace = named_kinship_trace()
    page = tmp_path / "kinship.html"
    page.write_text(render_html(TraceBatch(traces=[trace]), title="kinship"), encoding="utf-8")
    dom = _dom(page, "#select=0", tmp_path)
    assert dom.by_id("question").text == "what is Dorothy to Donald?"
    assert "(k=3)" in dom.by_id("prediction").text
    assert "hidden" not in dom.by_id("text-section").attrs
    passages = dom.by_id("passages").find_all("li")
    assert [p.find_all(cls="text")[0].text for p in passages] == list(STORY.sentences)
    described = [e for e in dom.by_id("inputs").find_all(cls="described") if e.parent.tag != "details"]
    assert [e.find_all(cls="statement")[0].text for e in described] == ["father(Donald, Michael)", "brother(Dorothy, Michael)"]
    assert "from [1-2]" in described[0].find_all(cls="where")[0].text
    quiet = dom.by_id("inputs").find_all("details", cls="quiet-inputs")[0]
    assert quiet.find_all("summary")[0].text == f"{len(STORY.pairs) - 2} more read as: none \u00d7{len(STORY.pairs) - 2}"
    chain = dom.by_id("proof-0").find_all(cls="chain")[0]
    assert chain.find_all(cls="chain-path")[0].text == "Donald --father--> Michael <--brother-- Dorothy"
    assert chain.find_all(cls="conclusion")[0].text == "\u21d2 aunt(Donald, Dorothy)"
    sources = [s.text for s in chain.find_all(cls="source")]
    assert sources[1].startswith("relation_net read pair (Dorothy, Michael) in [2-3] as brother")
    assert dom.by_id("proof-0").find_all("details", cls="derivation")  # the tree, folded under the chain


def test_an_untrained_wrong_example_alone_shows_the_banner_and_the_labels_proofs(tmp_path):
    data = digit_sum_trace().model_dump(mode="json")
    data["provenance"] = {"configs": ["experiments/digit_sum/sum2_digits.yaml"], "greybox_version": "0.1.0"}
    data["label_proofs"] = [{"probability": 0.27, "root": {"atom": "addition(img0, img1, 7)", "probability": 0.27}}]
    page = tmp_path / "one.html"
    page.write_text(render_html([DecisionTrace.model_validate(data)], title="one"), encoding="utf-8")
    dom = _dom(page, "#select=0", tmp_path)
    assert "hidden" not in dom.by_id("untrained-banner").attrs
    assert dom.by_id("untrained-badge").text == "UNTRAINED model"
    summary = dom.by_id("summary").text
    assert summary.startswith("1 example") and "accuracy" not in summary  # one example is no accuracy
    assert "hidden" not in dom.by_id("label-proofs-section").attrs
    assert dom.by_id("label-proofs-title").text == "Proofs of the label 7 (not predicted)"
    assert "addition(img0, img1, 7)" in dom.by_id("label-proof-tree").text
