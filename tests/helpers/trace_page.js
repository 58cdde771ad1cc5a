/* Runs a greybox trace page's script in Node with a small DOM, then prints the elements asked for as JSON.

   node tests/helpers/trace_page.js PAGE.html HASH ID...

   The DOM knows what the page uses (elements, attributes, classList, textContent, hidden,
   events, click, querySelector(All) with #id, .class, tag and descendant selectors); it is
   no browser, so layout and styles are not checked. For each ID, prints
   {id: {text, hidden, classes, attrs}} (null when there is no such element). */
"use strict";
const fs = require("fs");

class Node_ {
  constructor(tag) {
    this.tagName = tag; this.childNodes = []; this.parentNode = null; this.attrs = {}; this.listeners = {};
    this.style = {}; this.open = false; this._text = "";
    const self = this;
    this.classList = {
      add: (c) => { const s = self._classes(); s.add(c); self._setClasses(s); },
      remove: (c) => { const s = self._classes(); s.delete(c); self._setClasses(s); },
      contains: (c) => self._classes().has(c),
      toggle: (c, on) => { const s = self._classes(); const want = on === undefined ? !s.has(c) : on; if (want) s.add(c); else s.delete(c); self._setClasses(s); return want; },
    };
  }
  _classes() { return new Set((this.attrs["class"] || "").split(/\s+/).filter(Boolean)); }
  _setClasses(s) { this.attrs["class"] = Array.from(s).join(" "); }
  get className() { return this.attrs["class"] || ""; }
  set className(v) { this.attrs["class"] = String(v); }
  get id() { return this.attrs.id || ""; }
  get hidden() { return "hidden" in this.attrs; }
  set hidden(v) { if (v) this.attrs.hidden = ""; else delete this.attrs.hidden; }
  get children() { return this.childNodes.filter((n) => n.tagName !== "#text"); }
  get firstChild() { return this.childNodes[0] || null; }
  get textContent() { return this.tagName === "#text" ? this._text : this.childNodes.map((n) => n.textContent).join(""); }
  set textContent(v) { if (this.tagName === "#text") { this._text = String(v); return; } this.childNodes = []; this.appendChild(makeText(String(v))); }
  setAttribute(k, v) { this.attrs[k] = String(v); }
  getAttribute(k) { return k in this.attrs ? this.attrs[k] : null; }
  appendChild(n) { if (n.parentNode) n.parentNode.removeChild(n); n.parentNode = this; this.childNodes.push(n); return n; }
  removeChild(n) { this.childNodes = this.childNodes.filter((c) => c !== n); n.parentNode = null; return n; }
  addEventListener(type, fn) { (this.listeners[type] = this.listeners[type] || []).push(fn); }
  dispatchEvent(ev) { (this.listeners[ev.type] || []).forEach((fn) => fn.call(this, ev)); return true; }
  click() { this.dispatchEvent(new Event_("click")); }
  scrollIntoView() {}
  *walk() { for (const c of this.children) { yield c; yield* c.walk(); } }
  querySelectorAll(sel) { return [...this.walk()].filter((n) => matches(n, sel)); }
  querySelector(sel) { return this.querySelectorAll(sel)[0] || null; }
}

class Event_ { constructor(type) { this.type = type; } preventDefault() {} }
function makeText(t) { const n = new Node_("#text"); n._text = t; return n; }

function matchesCompound(n, part) {
  const m = part.match(/^([a-z0-9]*)((?:[#.][\w-]+|\[[\w-]+\])*)$/i);
  if (!m) throw new Error("selector not supported: " + part);
  if (m[1] && n.tagName !== m[1].toLowerCase()) return false;
  for (const piece of m[2].match(/[#.][\w-]+|\[[\w-]+\]/g) || []) {
    if (piece[0] === "#" && n.id !== piece.slice(1)) return false;
    if (piece[0] === "." && !n.classList.contains(piece.slice(1))) return false;
    if (piece[0] === "[" && !(piece.slice(1, -1) in n.attrs)) return false;
  }
  return true;
}

function matches(n, selector) {
  return selector.split(",").some((alt) => {
    const parts = alt.trim().split(/\s+/);
    if (!matchesCompound(n, parts[parts.length - 1])) return false;
    let at = n.parentNode;
    for (let i = parts.length - 2; i >= 0; i--) {
      while (at && !(at.tagName && matchesCompound(at, parts[i]))) at = at.parentNode;
      if (!at) return false;
      at = at.parentNode;
    }
    return true;
  });
}

const VOID = new Set(["meta", "input", "img", "br", "link", "hr"]);
function parse(html) {
  const root = new Node_("#document");
  let cur = root;
  const re = /<!--[\s\S]*?-->|<!DOCTYPE[^>]*>|<\/([a-z0-9]+)\s*>|<([a-z0-9]+)((?:\s+[\w:-]+(?:="[^"]*")?)*)\s*\/?>|([^<]+)/gi;
  let m;
  while ((m = re.exec(html))) {
    if (m[1]) { while (cur !== root && cur.tagName !== m[1].toLowerCase()) cur = cur.parentNode; cur = cur.parentNode || root; }
    else if (m[2]) {
      const el = new Node_(m[2].toLowerCase());
      for (const a of m[3].matchAll(/([\w:-]+)(?:="([^"]*)")?/g)) el.attrs[a[1]] = (a[2] || "").replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"');
      cur.appendChild(el);
      if (el.tagName === "script" || el.tagName === "style") {
        const end = html.indexOf("</" + el.tagName, re.lastIndex);
        el.appendChild(makeText(html.slice(re.lastIndex, end)));
        re.lastIndex = html.indexOf(">", end) + 1;
      } else if (!VOID.has(el.tagName)) cur = el;
    } else if (m[4]) cur.appendChild(makeText(m[4].replace(/&hellip;/g, "\u2026").replace(/&amp;/g, "&")));
  }
  return root;
}

const [page, hash, ...ids] = process.argv.slice(2);
const root = parse(fs.readFileSync(page, "utf8"));
const body = root.querySelector("body");
const document = {
  body,
  getElementById: (id) => root.querySelector("#" + id),
  createElement: (tag) => new Node_(tag),
  createTextNode: makeText,
  querySelectorAll: (sel) => root.querySelectorAll(sel),
  querySelector: (sel) => root.querySelector(sel),
  addEventListener: () => {},
};
const scripts = root.querySelectorAll("script").filter((s) => !s.getAttribute("type"));
const run = new Function("document", "window", "location", "Event", scripts.map((s) => s.textContent).join("\n"));
run(document, { addEventListener: () => {} }, { hash: hash || "" }, Event_);
const out = {};
for (const id of ids) {
  const n = document.getElementById(id);
  out[id] = n && { text: n.textContent, hidden: n.hidden, classes: Array.from(n._classes()), attrs: n.attrs };
}
out["body-ready"] = body.getAttribute("data-ready");
process.stdout.write(JSON.stringify(out));
