"""Text, DOT and HTML renderers of DecisionTrace."""

from __future__ import annotations

import base64
import json
import re
import shutil
import struct
import subprocess
import zlib
from importlib import resources

import pytest

from greybox.errors import ConfigError
from greybox.trace.render_dot import dot_string, render_dot
from greybox.trace.render_html import embed_json, png_data_uri, render_html
from greybox.trace.render_text import render_text
from greybox.trace.schema import DecisionTrace, TraceBatch, validate_trace_json
from tests.helpers.traces import digit_sum_trace, kinship_trace, sample_batch

EVIL = '</script><img src=x onerror="alert(1)">\\"[bold]x[/bold]\n{{DATA}}'


def evil_trace() -> DecisionTrace:
    """The digit trace with hostile text in an atom, the query and the answer."""
    t = digit_sum_trace()
    data = t.model_dump(mode="json")
    data["query"] = EVIL
    data["predicted"] = EVIL
    data["proofs"][0]["root"]["atom"] = EVIL
    data["rules_used"][0]["text"] = EVIL
    return DecisionTrace.model_validate(data)


# ---------------------------------------------------------------- text


def test_text_shows_prediction_proofs_sources_and_culprits():
    text = render_text(digit_sum_trace(), width=200)
    for expected in [
        "predicted: 8  p=0.564  WRONG (label 7)",
        "7  p=0.304  (label)",
        "addition(img0, img1, 8)  p=0.564  [rule knowledge/digits.dl:4]",
        "digit(img1, 5)  p=0.620  <- digit_net read image 1 as 5 (p=0.620)  (culprit)",
        "input 1 read as 5, true 4",
        "why not 7?  achievable, total change 0.321",
        "raise digit(img1, 4)  0.300 -> 0.621",
    ]:
        assert expected in text, expected
    assert "└── " in text  # a rich tree


def test_text_sorts_attributions_by_absolute_gradient():
    t = digit_sum_trace()
    lines = render_text(t, plain=True).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("attributions"))
    rows = lines[start + 1:start + 4]
    grads = [float(re.search(r"[+-]\d\.\d+", r).group()) for r in rows]
    assert grads == [0.91, 0.62, -0.12]


def test_plain_and_rich_text_have_the_same_content():
    for t in (digit_sum_trace(), kinship_trace()):
        plain = render_text(t, plain=True, width=300)
        fancy = render_text(t, width=300)
        strip = lambda s: [re.sub(r"^[\s|`\-│├└─]+", "", line) for line in s.splitlines()]  # noqa: E731
        assert strip(plain) == strip(fancy)
        assert not set("│├└─") & set(plain)


def test_text_shows_kinship_chain_with_kg_input_and_negation():
    text = render_text(kinship_trace(), plain=True)
    assert "predicted: grandson  p=0.777  right" in text
    assert "relation_net read sentence 2 as brother (p=0.880)" in text
    assert "male(dan)  p=1.000  <- knowledge graph knowledge/people.csv row 4" in text
    assert "\\+ half_sibling(cid, dan)  p=1.000" in text
    assert "person(ann)  p=1.000  <- input: entity [Ann] of the story" in text
    assert "culprits" not in text and "why not" not in text


def test_text_never_interprets_markup():
    text = render_text(evil_trace(), width=400)
    assert "[bold]x[/bold]" in text
    colored = render_text(digit_sum_trace(), color=True)
    assert "\x1b[" in colored and "\x1b[" not in render_text(digit_sum_trace())


# ---------------------------------------------------------------- DOT

_DOT_TOKEN = re.compile(r'\s+|//[^\n]*|(?P<tok>->|[{}\[\];,=]|"(?:\\.|[^"\\\n])*"|-?(?:\.\d+|\d+(?:\.\d*)?)|[A-Za-z_][A-Za-z0-9_]*)')


def _dot_tokens(text: str) -> list[str]:
    pos, out = 0, []
    while pos < len(text):
        m = _DOT_TOKEN.match(text, pos)
        assert m, f"bad DOT at {text[pos:pos + 40]!r}"
        if m.group("tok"):
            out.append(m.group("tok"))
        pos = m.end()
    return out


def parse_dot(text: str) -> dict:
    """A strict parser for the DOT subset render_dot writes; returns nodes, edges and labels."""
    toks = _dot_tokens(text)
    i = 0
    nodes: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str]] = []

    def take(expected=None):
        nonlocal i
        assert i < len(toks), f"DOT ended early, expected {expected}"
        tok = toks[i]
        if expected is not None:
            assert tok == expected, f"expected {expected!r}, got {tok!r} at token {i}"
        i += 1
        return tok

    def ident():
        tok = take()
        assert re.fullmatch(r'"(?:\\.|[^"\\])*"|-?[\d.]+|[A-Za-z_]\w*', tok), f"not an ID: {tok!r}"
        return tok

    def attrs():
        out = {}
        take("[")
        while toks[i] != "]":
            key = ident()
            take("=")
            out[key] = ident()
            if toks[i] in (",", ";"):
                take()
        take("]")
        return out

    def stmts():
        take("{")
        while toks[i] != "}":
            if toks[i] in ("graph", "node", "edge"):
                take()
                attrs()
            elif toks[i] == "subgraph":
                take()
                if toks[i] != "{":
                    ident()
                stmts()
            else:
                first = ident()
                if toks[i] == "=":
                    take()
                    ident()
                elif toks[i] == "->":
                    chain = [first]
                    while toks[i] == "->":
                        take()
                        chain.append(ident())
                    edges.extend(zip(chain, chain[1:]))
                    if toks[i] == "[":
                        attrs()
                else:
                    nodes[first] = attrs() if toks[i] == "[" else {}
            if i < len(toks) and toks[i] == ";":
                take()
        take("}")

    take("digraph")
    if toks[i] != "{":
        ident()
    stmts()
    assert i == len(toks), "text after the graph"
    for a, b in edges:
        assert a in nodes and b in nodes, f"edge {a} -> {b} names an undeclared node"
    return {"nodes": nodes, "edges": edges}


def _unquote(s: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), s[1:-1])


def test_dot_is_valid_and_has_one_node_per_proof_node():
    for t in (digit_sum_trace(), kinship_trace()):
        g = parse_dot(render_dot(t))
        n_proof_nodes = sum(1 for p in t.proofs for _ in p.root.walk())
        assert len(g["nodes"]) == n_proof_nodes + 1  # + the answer
        assert len(g["edges"]) == n_proof_nodes  # a tree, plus the answer's edge to each root


def test_dot_labels_and_styles():
    g = parse_dot(render_dot(digit_sum_trace()))
    labels = {k: _unquote(v["label"]) for k, v in g["nodes"].items()}
    assert labels["answer"] == "8\np=0.564\nwrong (label 7)"
    culprit = next(v for k, v in g["nodes"].items() if labels[k].startswith("digit(img1, 5)"))
    assert _unquote(culprit["color"]) == "#c0362c"
    assert "digit_net read image 1 as 5 (p=0.620)" in labels[next(k for k in labels if labels[k].startswith("digit(img1"))]
    kin = parse_dot(render_dot(kinship_trace()))["nodes"]
    styles = {_unquote(v["label"]).split("\n")[0]: v for v in kin.values()}
    assert _unquote(styles["male(dan)"]["shape"]) == "cylinder"
    assert _unquote(styles["\\+ half_sibling(cid, dan)"]["style"]) == "dashed"


def test_dot_escapes_hostile_labels():
    dot = render_dot(evil_trace())
    g = parse_dot(dot)
    labels = [_unquote(v["label"]) for v in g["nodes"].values()]
    assert any(label.startswith(EVIL + "\np=") for label in labels)
    assert dot_string('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed; the strict parser above still checks syntax")
def test_graphviz_accepts_the_dot(tmp_path):
    for t in (digit_sum_trace(), kinship_trace(), evil_trace()):
        out = subprocess.run(["dot", "-Tsvg"], input=render_dot(t), capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr


# ---------------------------------------------------------------- HTML


def _embedded(page: str) -> str:
    m = re.search(r'<script type="application/json" id="trace-data">(.*?)</script>', page, re.S)
    assert m, "no embedded trace data"
    return m.group(1)


def test_html_is_self_contained():
    page = render_html(sample_batch(), title="run")
    outside_images = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]*", "data:", page)
    assert not re.search(r"https?:|//[a-z]|\bftp:", outside_images, re.I), "the page must not name any URL"
    assert not re.search(r"<(link|iframe|object|embed)\b", page, re.I)
    assert not re.search(r"<script\b[^>]*\bsrc=", page, re.I)
    srcs = re.findall(r'\bsrc="([^"]*)"', page)
    assert all(s.startswith("data:") for s in srcs)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert page.count("<style>") == 1 and page.count("<script>") == 1


def test_html_embeds_the_batch_as_json():
    batch = sample_batch()
    page = render_html(batch)
    assert validate_trace_json(_embedded(page)) == batch
    assert render_html(list(batch.traces)) == page
    single = render_html(batch.traces[1])
    assert validate_trace_json(_embedded(single)).traces == [batch.traces[1]]


def test_html_has_stable_ids_for_the_browser():
    page = render_html(sample_batch())
    for element_id in ["example-list", "filter-all", "filter-right", "filter-wrong", "filter-text", "prediction",
                       "alternatives", "inputs", "proof-tree", "attributions", "rules-used", "why-not", "detail"]:
        assert f'id="{element_id}"' in page, element_id


def test_html_escapes_hostile_text():
    trace = evil_trace()
    page = render_html([trace], title=EVIL)
    assert not re.search(r"<[^>]*onerror", page)  # no element with the injected handler
    assert page.count("</script>") == 2  # the data element and the code element, nothing injected
    assert "<img src=x" not in page
    assert "&lt;/script&gt;&lt;img src=x onerror=" in page  # the title, escaped
    data = _embedded(page)
    assert "<" not in data and ">" not in data
    assert validate_trace_json(data).traces == [trace]


def test_html_script_builds_text_only_through_text_nodes():
    js = resources.files("greybox.trace").joinpath("assets", "trace.js").read_text(encoding="utf-8")
    css = resources.files("greybox.trace").joinpath("assets", "trace.css").read_text(encoding="utf-8")
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(", js)
    assert "</script" not in js.lower() and "<!--" not in js and "</style" not in css.lower()


def test_html_rejects_things_that_are_not_traces():
    with pytest.raises(ConfigError, match="item 1 is dict"):
        render_html([digit_sum_trace(), {"task": "x"}])


def test_embed_json_round_trips():
    text = json.dumps({"a": "</script><!-- & \u2028 >"})
    out = embed_json(text)
    assert not set("<>&") & set(out) and "\u2028" not in out
    assert json.loads(out) == json.loads(text)


def _png_pixels(uri: str) -> tuple[int, int, bytes]:
    raw = base64.b64decode(uri.split(",", 1)[1])
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(raw):
        (n,) = struct.unpack(">I", raw[pos:pos + 4])
        kind, body = raw[pos + 4:pos + 8], raw[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", raw[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        chunks[kind] = body
        pos += 12 + n
    w, h, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, color) == (8, 0)
    return w, h, zlib.decompress(chunks[b"IDAT"])


def test_png_data_uri_encodes_grayscale_pixels():
    w, h, raw = _png_pixels(png_data_uri([[0.0, 1.0, 0.5], [1.0, 0.0, 0.2]]))
    assert (w, h) == (3, 2)
    assert raw == bytes([0, 0, 255, 128, 0, 255, 0, 51])
    w, h, raw = _png_pixels(png_data_uri([[0.0, 1.0]], scale=2))
    assert (w, h) == (4, 2) and raw == bytes([0, 0, 0, 255, 255]) * 2
    with pytest.raises(ConfigError, match="rectangular"):
        png_data_uri([[0.0], [0.0, 1.0]])
    with pytest.raises(ConfigError, match="outside"):
        png_data_uri([[2.0]])


def test_sample_batch_images_are_pngs():
    batch: TraceBatch = sample_batch()
    images = [i for t in batch.traces for i in t.inputs if i.kind == "image"]
    assert len(images) == 2
    assert all(_png_pixels(i.data_uri)[:2] == (8, 8) for i in images)


# ---------------------------------------------------------------- provenance, untrained, label proofs, pictures


def _with(trace: DecisionTrace, **update) -> DecisionTrace:
    return DecisionTrace.model_validate({**trace.model_dump(mode="json"), **update})


UNTRAINED = {"configs": ["experiments/digit_sum/sum2_digits.yaml"], "checkpoint": None, "greybox_version": "0.1.0"}
TRAINED = {"configs": ["a.yaml", "b.yaml"], "checkpoint": "runs/x/last.ckpt", "checkpoint_sha256": "ab" * 32,
           "greybox_version": "0.1.0"}


def test_an_untrained_trace_says_so_first_in_text_dot_and_html():
    t = _with(digit_sum_trace(), provenance=UNTRAINED)
    assert t.provenance.untrained
    for text in (render_text(t, plain=True), render_text(t, width=300)):
        assert text.splitlines()[0].startswith("UNTRAINED MODEL: no checkpoint was loaded")
        assert "model: config experiments/digit_sum/sum2_digits.yaml; UNTRAINED (no checkpoint); greybox 0.1.0" in text
    assert "UNTRAINED MODEL (no checkpoint loaded)" in render_dot(t)
    page = render_html([t])
    assert 'id="untrained-banner"' in page and "UNTRAINED MODEL" in page
    assert _page_data(page)["traces"][0]["provenance"]["untrained"] is True
    trained = render_text(_with(digit_sum_trace(), provenance=TRAINED), plain=True)
    assert "UNTRAINED" not in trained
    assert f"model: config a.yaml, b.yaml; checkpoint runs/x/last.ckpt (sha256 {'ab' * 6}); greybox 0.1.0" in trained


def test_the_labels_proofs_stand_beside_the_predictions():
    t = digit_sum_trace()
    label_proof = {"probability": 0.27, "root": {
        "atom": "addition(img0, img1, 7)", "probability": 0.27, "children": [
            {"atom": "digit(img1, 4)", "probability": 0.3, "fact_id": 14, "source": {
                "kind": "neural", "predicate": "digit", "model": "digit_net", "sample": 0, "input_index": 1,
                "input_label": "image 1", "cls": 4, "probability": 0.3}}]}}
    t = _with(t, label_proofs=[label_proof])
    lines = render_text(t, plain=True).splitlines()
    at = lines.index("proofs of the label 7 (not predicted)")
    assert lines.index("proofs") < at and lines[at + 1] == "`-- proof 1  p=0.270"
    assert "digit(img1, 4)  p=0.300  <- digit_net read image 1 as 4 (p=0.300)" in lines[at + 3]
    assert "(culprit)" not in lines[at + 3]  # the label's reading is the right one
    assert _page_data(render_html([t]))["traces"][0]["label_proofs"][0]["root"]["atom"] == "addition(img0, img1, 7)"


def test_text_draws_each_image_as_a_picture():
    lines = render_text(digit_sum_trace(), plain=True).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("|-- [0] image"))
    picture = lines[at + 1:at + 6]
    assert picture and all(line.startswith("|       ") for line in picture)
    assert any(set(line[8:]) & set("░▒▓█") for line in picture)


def test_one_page_of_one_example_has_no_accuracy_and_a_selection_is_named():
    script = resources.files("greybox.trace").joinpath("assets", "trace.js").read_text(encoding="utf-8")
    assert "labelled > 1" in script and "data.selection" in script
    page = render_html([digit_sum_trace()], selection="wrong predictions only")
    assert _page_data(page)["selection"] == "wrong predictions only"


def _page_data(page: str) -> dict:
    raw = re.search(r'<script type="application/json" id="trace-data">(.*?)</script>', page, re.S).group(1)
    return json.loads(raw)
