/* greybox trace browser: reads the TraceBatch JSON in #trace-data and shows it.
   Every string from the data goes into the page through textContent or an attribute,
   never as markup, so atoms such as "<b>" show as text.
   URL hash (all optional):  #filter=all|right|wrong  &q=TEXT  &select=first|wrong-first|N
   "select" clicks the example in the list (element.click(), so the page's own event handlers run). */
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("trace-data").textContent || "{}");
  var traces = data.traces || [];
  var state = { filter: "all", text: "", selected: -1 };
  var list = document.getElementById("example-list");
  var detail = document.getElementById("detail");

  // ------------------------------------------------------------------ helpers

  function el(tag, props, kids) {
    var node = document.createElement(tag);
    props = props || {};
    Object.keys(props).forEach(function (key) {
      var value = props[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = String(value);
      else if (key === "cls") node.className = value;
      else if (key === "data") Object.keys(value).forEach(function (d) { node.setAttribute("data-" + d, String(value[d])); });
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    (kids || []).forEach(function (kid) {
      if (kid === null || kid === undefined) return;
      node.appendChild(typeof kid === "string" ? document.createTextNode(kid) : kid);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function fmtP(p) {
    if (p === null || p === undefined) return "?";
    if (p !== 0 && Math.abs(p) < 0.001) return Number(p.toPrecision(2)).toString();
    return p.toFixed(3);
  }

  function fmtSigned(x) { return (x >= 0 ? "+" : "\u2212") + fmtP(Math.abs(x)); }

  function location_(rule) {
    if (!rule) return "";
    var file = rule.file || "<program>";
    return rule.line === null || rule.line === undefined ? file : file + ":" + rule.line;
  }

  function describe(source) {
    if (!source) return "";
    switch (source.kind) {
      case "neural":
        return source.model + " read " + (source.input_label || "input " + source.input_index) +
          " as " + source.cls + " (p=" + fmtP(source.probability) + ")";
      case "program": return location_(source);
      case "kg": return "knowledge graph " + source.file + " row " + source.row;
      case "input": return "input: " + source.description;
      default: return String(source.kind);
    }
  }

  function verdict(t) { return t.correct === true ? "right" : t.correct === false ? "wrong" : "unknown"; }

  function searchText(t) {
    var parts = [t.task, t.split, "#" + t.index, t.query, t.predicted, t.label || "", t.question || "", t.subset || ""];
    (t.passages || []).forEach(function (p) { parts.push(p.text); });
    (t.inputs || []).forEach(function (i) {
      parts.push(i.text || "", i.read_as || "", i.true_label || "", i.label || "", i.statement || "");
    });
    (t.proofs || []).forEach(function (p) {
      (function walk(n) { parts.push(n.atom, location_(n.rule)); n.children.forEach(walk); })(p.root);
      if (p.chain) parts.push(chainPath(p.chain), p.chain.conclusion);
    });
    return parts.join(" \u0001 ").toLowerCase();
  }

  function chainPath(chain) {
    var parts = [chain.links[0].start];
    chain.links.forEach(function (l) {
      parts.push(l.reverse ? "<--" + l.relation + "-- " + l.end : "--" + l.relation + "--> " + l.end);
    });
    return parts.join(" ");
  }

  function passageSpan(numbers) {
    var nums = (numbers || []).slice().sort(function (a, b) { return a - b; });
    if (!nums.length) return "";
    var run = nums.every(function (n, i) { return i === 0 || n === nums[i - 1] + 1; });
    return "[" + (run && nums.length > 1 ? nums[0] + "-" + nums[nums.length - 1] : nums.join(", ")) + "]";
  }

  function safeImage(uri) { return typeof uri === "string" && uri.indexOf("data:image/") === 0 ? uri : null; }

  // ------------------------------------------------------------------ list and filters

  function buildList() {
    var counts = { all: traces.length, right: 0, wrong: 0, unknown: 0 };
    traces.forEach(function (t, i) {
      var v = verdict(t);
      counts[v] += 1;
      var li = el("li", {
        id: "example-" + i, role: "option", "aria-selected": "false", cls: "example " + v,
        data: { index: i, correct: v === "unknown" ? "unknown" : String(t.correct) },
        title: t.task + " " + t.split + " #" + t.index
      }, [
        el("span", { cls: "mark", text: v === "right" ? "\u2713" : v === "wrong" ? "\u2717" : "?" }),
        el("span", { cls: "title", text: t.task + " \u00b7 " + t.split + " #" + t.index }),
        " ",
        el("span", { cls: "meta", text: "\u2192 " + t.predicted + " (" + fmtP(t.probability) + ")" +
          (v === "wrong" && t.label !== null ? ", label " + t.label : "") }),
        el("div", { cls: "query", text: t.query })
      ]);
      li._search = searchText(t);
      li.addEventListener("click", function () { select(i); });
      list.appendChild(li);
    });
    document.getElementById("filter-all").textContent = "All (" + counts.all + ")";
    document.getElementById("filter-right").textContent = "Right (" + counts.right + ")";
    document.getElementById("filter-wrong").textContent = "Wrong (" + counts.wrong + ")";
    var summary = document.getElementById("summary");
    var labelled = counts.right + counts.wrong;
    summary.appendChild(el("span", { text: counts.all + " example" + (counts.all === 1 ? "" : "s") + " \u00b7 " }));
    summary.appendChild(el("span", { cls: "right", text: counts.right + " right" }));
    summary.appendChild(el("span", { text: " \u00b7 " }));
    summary.appendChild(el("span", { cls: "wrong", text: counts.wrong + " wrong" }));
    // an accuracy needs several labelled examples taken in a row, not one example or a chosen few
    if (data.selection) summary.appendChild(el("span", { id: "selection", text: " \u00b7 " + data.selection }));
    else if (labelled > 1) summary.appendChild(el("span", { id: "accuracy", text: " \u00b7 accuracy " + (100 * counts.right / labelled).toFixed(1) + "%" }));
    var untrained = traces.some(function (t) { return t.provenance && t.provenance.untrained; });
    document.getElementById("untrained-banner").hidden = !untrained;
  }

  function applyFilters() {
    var shown = 0;
    Array.prototype.forEach.call(list.children, function (li) {
      var v = li.getAttribute("data-correct");
      var okFilter = state.filter === "all" || (state.filter === "right" ? v === "true" : v === "false");
      var okText = !state.text || li._search.indexOf(state.text) >= 0;
      li.hidden = !(okFilter && okText);
      if (!li.hidden) shown += 1;
    });
    document.getElementById("list-count").textContent = shown + " of " + traces.length + " shown";
    document.querySelectorAll("#filters .filter").forEach(function (b) {
      b.classList.toggle("active", b.getAttribute("data-filter") === state.filter);
      b.setAttribute("aria-pressed", String(b.getAttribute("data-filter") === state.filter));
    });
  }

  function visibleItems() {
    return Array.prototype.filter.call(list.children, function (li) { return !li.hidden; });
  }

  // ------------------------------------------------------------------ detail

  function select(i) {
    state.selected = i;
    Array.prototype.forEach.call(list.children, function (li) {
      var on = Number(li.getAttribute("data-index")) === i;
      li.classList.toggle("selected", on);
      li.setAttribute("aria-selected", String(on));
      if (on && li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
    });
    var t = traces[i];
    detail.setAttribute("data-index", String(i));
    detail.setAttribute("data-correct", verdict(t));
    detail.classList.remove("empty");
    renderPrediction(t);
    renderPassages(t);
    renderInputs(t);
    renderSymbolic(t);
    renderWhyNot(t);
    renderProofs(t);
    renderLabelProofs(t);
    renderAttributions(t);
    renderRules(t);
  }

  function barRow(label, p, cls, attrs) {
    return el("div", Object.assign({ cls: "bar-row " + (cls || "") }, attrs || {}), [
      el("span", { cls: "label", text: label, title: label }),
      el("div", { cls: "bar-track" }, [el("div", { cls: "bar", style: "width:" + (100 * p).toFixed(1) + "%" })]),
      el("span", { cls: "value", text: fmtP(p) })
    ]);
  }

  function renderPrediction(t) {
    var v = verdict(t);
    var box = document.getElementById("prediction");
    clear(box);
    box.appendChild(el("div", { cls: "headline" }, [
      el("span", { id: "predicted-answer", cls: "answer", text: t.predicted }),
      el("span", { id: "predicted-probability", cls: "prob", text: "p=" + fmtP(t.probability) }),
      el("span", { id: "verdict", cls: "badge " + v,
        text: v === "right" ? "right" : v === "wrong" ? "wrong \u2014 label " + t.label : "no label" })
    ]));
    box.appendChild(el("div", { cls: "query-line" }, [
      t.task + " \u00b7 " + t.split + " #" + t.index + (t.subset ? " (" + t.subset + ")" : "") + " \u00b7 query ",
      el("code", { text: t.query })
    ]));
    if (t.provenance && t.provenance.untrained) {
      box.querySelector(".headline").appendChild(el("span", { id: "untrained-badge", cls: "badge untrained", text: "UNTRAINED model" }));
    }
    if (t.question) box.appendChild(el("div", { id: "question", cls: "question", text: t.question }));
    var prov = document.getElementById("provenance");
    clear(prov);
    if (t.provenance) {
      var pv = t.provenance;
      prov.appendChild(el("span", { text: "config " + (pv.configs.length ? pv.configs.join(", ") : "?") + " \u00b7 " }));
      prov.appendChild(pv.untrained ? el("strong", { cls: "untrained", text: "UNTRAINED (no checkpoint)" })
        : el("span", { text: "checkpoint " + pv.checkpoint, title: "sha256 " + pv.checkpoint_sha256 }));
      if (pv.checkpoint_sha256) prov.appendChild(el("span", { cls: "mono", text: " sha256 " + pv.checkpoint_sha256.slice(0, 12) }));
      prov.appendChild(el("span", { text: " \u00b7 greybox " + pv.greybox_version }));
    }
    var alts = document.getElementById("alternatives");
    clear(alts);
    var rows = [{ answer: t.predicted, probability: t.probability, predicted: true }].concat(t.alternatives || []);
    rows.sort(function (a, b) { return b.probability - a.probability; });
    rows.forEach(function (a) {
      var cls = (a.predicted ? "predicted " : "alternative ") + (t.label !== null && a.answer === t.label ? "label-answer" : "");
      alts.appendChild(barRow(a.answer, a.probability, cls, { data: { answer: a.answer } }));
    });
  }

  function culpritSet(t) {
    var s = {};
    (t.culprit_inputs || []).forEach(function (i) { s[i] = true; });
    return s;
  }

  function renderPassages(t) {
    var box = document.getElementById("passages");
    clear(box);
    var passages = t.passages || [];
    document.getElementById("text-section").hidden = !passages.length;
    passages.forEach(function (p) {
      box.appendChild(el("li", { id: "passage-" + p.number, data: { number: p.number } }, [
        el("span", { cls: "num", text: "[" + p.number + "]" }), el("span", { cls: "text", text: p.text })
      ]));
    });
  }

  function describedInput(inp, culprit) {
    var what = inp.statement !== null && inp.statement !== undefined ? inp.statement : inp.label + " read as " + inp.read_as;
    var where = passageSpan(inp.passages);
    return el("div", {
      id: "input-" + inp.index, cls: "input described" + (culprit ? " culprit" : ""),
      data: { "input-index": inp.index }, title: inp.text || null
    }, [
      el("span", { cls: "statement", text: what }),
      el("span", { cls: "value", text: fmtP(inp.probability) }),
      el("span", { cls: "where", text: (where ? "from " + where + " \u00b7 " : "") + "input " + inp.index +
        (inp.true_label !== null && inp.true_label !== undefined ? " \u00b7 true " + inp.true_label : "") +
        (culprit ? " \u2014 misread, caused the error" : "") })
    ]);
  }

  function renderInputs(t) {
    var box = document.getElementById("inputs");
    clear(box);
    var culprits = culpritSet(t);
    if (!(t.inputs || []).length) { box.appendChild(el("p", { cls: "empty-note", text: "No perceived inputs recorded." })); return; }
    var quiet = [];
    t.inputs.forEach(function (inp) {
      if (inp.label === null || inp.label === undefined) return;
      if ((inp.statement === null || inp.statement === undefined) && !culprits[inp.index]) { quiet.push(inp); return; }
      box.appendChild(describedInput(inp, culprits[inp.index]));
    });
    if (quiet.length) {
      var counts = {};
      quiet.forEach(function (inp) { counts[inp.read_as] = (counts[inp.read_as] || 0) + 1; });
      var summary = Object.keys(counts).sort().map(function (c) { return c + " \u00d7" + counts[c]; }).join(", ");
      box.appendChild(el("details", { cls: "quiet-inputs" }, [
        el("summary", { text: quiet.length + " more read as: " + summary })
      ].concat(quiet.map(function (inp) { return describedInput(inp, false); }))));
    }
    t.inputs.forEach(function (inp) {
      if (inp.label !== null && inp.label !== undefined) return;
      var caption = [];
      if (inp.read_as !== null) caption.push("read as " + inp.read_as + " (p=" + fmtP(inp.probability) + ")");
      if (inp.true_label !== null) caption.push("true " + inp.true_label);
      var cap = el("div", { cls: "caption" }, [caption.join(" \u00b7 ")]);
      if (culprits[inp.index]) cap.appendChild(el("span", { cls: "culprit-tag", text: " \u2014 misread, caused the error" }));
      var cls = "input " + inp.kind + (culprits[inp.index] ? " culprit" : "");
      var attrs = { id: "input-" + inp.index, cls: cls, data: { "input-index": inp.index } };
      if (inp.kind === "image") {
        var src = safeImage(inp.data_uri);
        box.appendChild(el("figure", attrs, [
          src ? el("img", { src: src, alt: "image " + inp.index }) : el("div", { cls: "empty-note", text: "(no image)" }),
          el("figcaption", { cls: "caption-title mono", text: "image " + inp.index }), cap
        ]));
      } else {
        box.appendChild(el("div", attrs, [
          el("span", { cls: "idx", text: String(inp.index) }), el("span", { cls: "text", text: inp.text || "" }), cap
        ]));
      }
    });
  }

  function highlightInput(index, on) {
    var node = document.getElementById("input-" + index);
    if (node) node.classList.toggle("highlight", on);
    var t = traces[state.selected];
    var inp = t && (t.inputs || []).filter(function (i) { return i.index === index; })[0];
    (inp && inp.passages || []).forEach(function (n) {
      var p = document.getElementById("passage-" + n);
      if (p) p.classList.toggle("highlight", on);
    });
  }

  function nodeLine(n, culprits) {
    var kids = [];
    if (n.negated) kids.push(el("span", { cls: "neg", text: "\\+ " }));
    kids.push(el("span", { cls: "atom", text: n.atom }));
    kids.push(el("span", { cls: "prob", text: "p=" + fmtP(n.probability) }));
    if (n.rule) kids.push(el("span", { cls: "rule-loc", text: location_(n.rule), title: n.rule.text || null }));
    if (n.source) kids.push(el("span", { cls: "source " + n.source.kind, text: describe(n.source) }));
    return kids;
  }

  function proofNode(n, culprits) {
    var inputIndex = n.source && n.source.kind === "neural" ? n.source.input_index : null;
    var cls = "proof-node" + (n.children.length ? "" : " leaf") + (n.negated ? " negated" : "") +
      (inputIndex !== null && culprits[inputIndex] ? " culprit" : "");
    var data = { atom: n.atom };
    if (n.fact_id !== null) data["fact-id"] = n.fact_id;
    if (inputIndex !== null) data["input-index"] = inputIndex;
    var node;
    if (n.children.length) {
      node = el("details", { cls: cls, open: true, data: data }, [
        el("summary", { cls: "node-line" }, nodeLine(n, culprits)),
        el("div", { cls: "children" }, n.children.map(function (c) { return proofNode(c, culprits); }))
      ]);
    } else {
      node = el("div", { cls: cls, data: data }, [el("div", { cls: "node-line" }, nodeLine(n, culprits))]);
    }
    if (inputIndex !== null) {
      node.addEventListener("mouseenter", function () { highlightInput(inputIndex, true); });
      node.addEventListener("mouseleave", function () { highlightInput(inputIndex, false); });
    }
    return node;
  }

  function chainNode(chain, culprits) {
    var line = el("div", { cls: "chain-line" }, [
      el("span", { cls: "chain-path", text: chainPath(chain) }),
      el("span", { cls: "conclusion", text: "\u21d2 " + chain.conclusion }),
      el("span", { cls: "prob", text: "p=" + fmtP(chain.probability) }),
      chain.rule ? el("span", { cls: "rule-loc", text: location_(chain.rule), title: chain.rule.text || null }) : null
    ]);
    var links = chain.links.map(function (link) {
      return el("div", { cls: "chain-link", data: { atom: link.atom } }, [
        el("div", { cls: "node-line" }, [
          el("span", { cls: "atom", text: link.atom }),
          el("span", { cls: "prob", text: "p=" + fmtP(link.probability) }),
          link.rule ? el("span", { cls: "rule-loc", text: location_(link.rule), title: link.rule.text || null }) : null
        ]),
        el("div", { cls: "children" }, link.readings.map(function (r) { return proofNode(r, culprits); }))
      ]);
    });
    return el("div", { cls: "chain" }, [line].concat(links));
  }

  function renderProofs(t) {
    var box = document.getElementById("proof-tree");
    clear(box);
    var culprits = culpritSet(t);
    if (!(t.proofs || []).length) { box.appendChild(el("p", { cls: "empty-note", text: "No proof recorded for this answer." })); return; }
    t.proofs.forEach(function (p, k) {
      var tree = proofNode(p.root, culprits);
      box.appendChild(el("div", { id: "proof-" + k, cls: "proof" }, [
        el("div", { cls: "proof-head" }, ["Proof " + (k + 1) + " ", el("span", { cls: "prob", text: "p=" + fmtP(p.probability) })]),
        p.chain ? chainNode(p.chain, culprits) : null,
        stepsNode(p),
        p.chain || (p.steps || []).length
          ? el("details", { cls: "derivation" }, [el("summary", { text: "derivation tree" }), tree]) : tree
      ]));
    });
  }

  function stepsNode(p) {
    // a proof over sentences, read as a chain of them: premise + premise => conclusion
    if (!(p.steps || []).length) return null;
    return el("div", { cls: "chain" }, p.steps.map(function (s) {
      return el("div", { cls: "chain-line", text: s.premises.join(" + ") + " \u21d2 " + s.conclusion });
    }));
  }

  function renderLabelProofs(t) {
    var section = document.getElementById("label-proofs-section");
    var box = document.getElementById("label-proof-tree");
    clear(box);
    var proofs = t.label_proofs || [];
    section.hidden = !proofs.length;
    if (!proofs.length) return;
    document.getElementById("label-proofs-title").textContent = "Proofs of the label " + t.label + " (not predicted)";
    var culprits = {};  // the label's proofs read the inputs as they should have been
    proofs.forEach(function (p, k) {
      var tree = proofNode(p.root, culprits);
      box.appendChild(el("div", { id: "label-proof-" + k, cls: "proof label-proof" }, [
        el("div", { cls: "proof-head" }, ["Proof " + (k + 1) + " ", el("span", { cls: "prob", text: "p=" + fmtP(p.probability) })]),
        p.chain ? chainNode(p.chain, culprits) : null,
        p.chain ? el("details", { cls: "derivation" }, [el("summary", { text: "derivation tree" }), tree]) : tree
      ]));
    });
  }

  function renderAttributions(t) {
    var box = document.getElementById("attributions");
    clear(box);
    var rows = (t.attributions || []).slice();
    if (!rows.length) { box.appendChild(el("p", { cls: "empty-note", text: "No attributions recorded." })); return; }
    rows.sort(function (a, b) { return Math.abs(b.gradient) - Math.abs(a.gradient); });
    var max = Math.max.apply(null, rows.map(function (a) { return Math.abs(a.gradient); })) || 1;
    rows.forEach(function (a) {
      var w = (100 * Math.abs(a.gradient) / max).toFixed(1) + "%";
      box.appendChild(el("div", { cls: "bar-row attr-row " + (a.gradient >= 0 ? "positive" : "negative"),
        data: { "fact-id": a.fact_id, gradient: a.gradient } }, [
        el("span", { cls: "label", text: a.atom, title: a.atom }),
        el("div", { cls: "bar-track" }, [
          el("div", { cls: "half neg" }, a.gradient < 0 ? [el("div", { cls: "bar", style: "width:" + w })] : []),
          el("div", { cls: "half pos" }, a.gradient >= 0 ? [el("div", { cls: "bar", style: "width:" + w })] : [])
        ]),
        el("span", { cls: "value", text: fmtSigned(a.gradient) }),
        el("span", { cls: "src", text: describe(a.source) + " \u00b7 p=" + fmtP(a.probability) })
      ]));
    });
  }

  function renderWhyNot(t) {
    var section = document.getElementById("why-not");
    var body = document.getElementById("why-not-body");
    clear(body);
    var w = t.why_not;
    section.hidden = !w;
    if (!w) return;
    document.getElementById("why-not-title").textContent = "Why not " + w.target + "?";
    body.appendChild(el("p", { cls: "verdict " + (w.achievable ? "achievable" : "unachievable"),
      text: w.achievable ? (w.changes.length ? w.target + " would have won with these changes:" : w.target + " needs no change.")
        : w.target + " cannot win by changing the perceived facts." }));
    w.changes.forEach(function (c) {
      var up = c.to_probability >= c.from_probability;
      body.appendChild(el("div", { cls: "change", data: { "fact-id": c.fact_id } }, [
        (up ? "raise " : "lower "), el("span", { cls: "atom", text: c.atom }), " ",
        fmtP(c.from_probability), el("span", { cls: "arrow", text: " \u2192 " }), fmtP(c.to_probability),
        c.source ? el("span", { cls: "src", text: "   (" + describe(c.source) + ")" }) : null
      ]));
    });
    if (w.changes.length) body.appendChild(el("div", { cls: "total", text: "total change of probability: " + fmtP(w.total_change) }));
    if (w.note) body.appendChild(el("div", { cls: "note", text: w.note }));
    (w.missing || []).forEach(function (m) {
      body.appendChild(el("div", { cls: "change" }, [
        el("span", { cls: "atom", text: m.rule }), m.sentence ? " [s" + m.sentence + "]" : "",
        " would conclude " + m.conclusion + "; unproved: " + m.unproved.join(", ")
      ]));
    });
    if ((w.exact || []).length) {
      body.appendChild(el("p", { cls: "exact-title", text: "Exactly, changing one reading (the other readings of its input share the rest in proportion):" }));
      w.exact.forEach(function (c) {
        var up = c.threshold >= c.from_probability;
        body.appendChild(el("div", { cls: "change exact", data: { "fact-id": c.fact_id, threshold: c.threshold } }, [
          (up ? "raise " : "lower "), el("span", { cls: "atom", text: c.symbol }), " from " + fmtP(c.from_probability),
          el("span", { cls: "arrow", text: " past " }), String(Number(c.threshold.toPrecision(6))),
          el("span", { cls: "src", text: "   (there " + w.target + " ties " + c.rival + ")" })
        ]));
      });
    }
    if (w.target_symbolic) body.appendChild(polynomial("P(" + w.target + ")", w.target_symbolic));
  }

  function polynomial(title, s) {
    // the largest terms, the whole polynomial one click away
    return el("div", { cls: "polynomial" }, [
      el("div", { cls: "poly-line" }, [el("span", { cls: "poly-name", text: title + " = " }), el("code", { text: s.summary })]),
      el("div", { cls: "note", text: "= " + fmtP(s.probability) + " at the readings' probabilities (" + s.terms + (s.terms === 1 ? " term)" : " terms)") }),
      s.summary === s.display ? null : el("details", {}, [el("summary", { text: "all terms" }), el("code", { cls: "poly-full", text: s.display })])
    ]);
  }

  function renderSymbolic(t) {
    var section = document.getElementById("symbolic");
    var body = document.getElementById("symbolic-body");
    clear(body);
    section.hidden = !t.symbolic;
    if (!t.symbolic) return;
    body.appendChild(polynomial("P(" + t.predicted + ")", t.symbolic));
  }

  function renderRules(t) {
    var box = document.getElementById("rules-used");
    clear(box);
    if (!(t.rules_used || []).length) { box.appendChild(el("li", { cls: "empty-note", text: "No rules recorded." })); return; }
    t.rules_used.forEach(function (r) {
      box.appendChild(el("li", {}, [el("code", { cls: "loc", text: location_(r) }), el("code", { cls: "rule-text", text: r.text || "" })]));
    });
  }

  // ------------------------------------------------------------------ events and URL hash

  document.querySelectorAll("#filters .filter").forEach(function (b) {
    b.addEventListener("click", function () { state.filter = b.getAttribute("data-filter"); applyFilters(); });
  });
  var textBox = document.getElementById("filter-text");
  textBox.addEventListener("input", function () { state.text = textBox.value.trim().toLowerCase(); applyFilters(); });
  document.getElementById("expand-all").addEventListener("click", function () {
    document.querySelectorAll("#proof-tree details, #label-proof-tree details").forEach(function (d) { d.open = true; });
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    document.querySelectorAll("#proof-tree details, #label-proof-tree details").forEach(function (d) { d.open = false; });
  });
  document.addEventListener("keydown", function (e) {
    if (e.target === textBox || (e.key !== "ArrowDown" && e.key !== "ArrowUp")) return;
    var items = visibleItems();
    if (!items.length) return;
    var pos = items.findIndex(function (li) { return Number(li.getAttribute("data-index")) === state.selected; });
    pos = e.key === "ArrowDown" ? Math.min(pos + 1, items.length - 1) : Math.max(pos - 1, 0);
    items[pos].click();
    e.preventDefault();
  });

  function applyHash() {
    var params = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      if (!kv) return;
      var at = kv.indexOf("=");
      var key = decodeURIComponent(at < 0 ? kv : kv.slice(0, at));
      params[key] = at < 0 ? "" : decodeURIComponent(kv.slice(at + 1).replace(/\+/g, " "));
    });
    if (params.filter) {
      var button = document.getElementById("filter-" + params.filter);
      if (button) button.click();
    }
    if (params.q !== undefined) {
      textBox.value = params.q;
      textBox.dispatchEvent(new Event("input"));
    }
    var target = null;
    var items = visibleItems();
    if (params.select === "wrong-first") target = items.filter(function (li) { return li.getAttribute("data-correct") === "false"; })[0];
    else if (params.select === "first") target = items[0];
    else if (params.select !== undefined && /^\d+$/.test(params.select)) target = document.getElementById("example-" + params.select);
    if (target) target.click();
    return Boolean(target);
  }

  buildList();
  applyFilters();
  detail.classList.add("empty");
  if (!applyHash() && traces.length) select(0);
  window.addEventListener("hashchange", applyHash);
  document.body.setAttribute("data-ready", "true");
})();
