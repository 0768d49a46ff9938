"""A replayed run as one self-contained HTML page: a Lamport diagram with a step control.

One vertical lane per node, one row per step; a message is an arrow from the step that sent it
to the step that delivered it; crashes, restarts, partitions, heals and the replicas' trace
events (elections, syncs, role changes) are marked on their rows; the step at which a safety
property first failed is highlighted. Buttons and the arrow keys (also j/k, Home/End) move
through the steps; the page writes its current step into ``#current[data-step]`` and the title,
and reads ``?step=N`` (and ``&keys=ArrowRight,ArrowLeft,...``, pressed once loaded) so that a
headless browser can check the control. Nothing is fetched: data, style and script are inline.
"""

from __future__ import annotations

import html
import json
from typing import Any

from .cluster import SimResult
from .stepper import Stepper

_SKIP_TRACE = {"broadcast", "deliver"}  # too many to draw; the step rows already show them


def first_violating_step(st: Stepper, r: SimResult) -> int | None:
    """The first step after which a safety property fails, replaying ``st``'s steps one by
    one (the last step if only a whole-run check, such as convergence, failed)."""
    if not r.violations:
        return None
    probe = Stepper(st.cfg)
    for i, s in enumerate(st.steps):
        trace, acked = len(probe.trace), len(probe.acked)
        probe.step(s)
        if (len(probe.trace) != trace or len(probe.acked) != acked) and probe.safety():
            return i
    return len(st.steps) - 1


def diagram_data(st: Stepper, r: SimResult, title: str) -> dict[str, Any]:
    notes: dict[int, list[str]] = {}
    for ev, i in zip(st.trace, st.trace_step, strict=True):
        if ev["event"] not in _SKIP_TRACE:
            rest = " ".join(f"{k}={v}" for k, v in ev.items() if k not in ("node", "t", "event"))
            notes.setdefault(i, []).append(f"node {ev['node']}: {ev['event']} {rest}".rstrip())
    steps = []
    for i, s in enumerate(st.steps):
        node = s.get("to", s.get("node"))
        steps.append(
            {
                "i": i,
                "t": s.get("t", 0),
                "do": s["do"],
                "node": node,
                "text": json.dumps(s, sort_keys=True),
                "notes": notes.get(i, []),
            }
        )
    return {
        "title": title,
        "nodes": st.ids,
        "steps": steps,
        "arrows": [{"from": a, "to": b, "kind": k} for a, b, k in st.arrows],
        "violation": first_violating_step(st, r),
        "violations": r.violations[:10],
        "trace_hash": r.trace_hash,
    }


def render_html(st: Stepper, r: SimResult, title: str) -> str:
    data = json.dumps(diagram_data(st, r, title)).replace("</", "<\\/")
    return _PAGE.replace("__TITLE__", html.escape(title)).replace("__DATA__", data)


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>__TITLE__</title>
<style>
body{font:13px system-ui,sans-serif;margin:0;display:flex;height:100vh}
#left{flex:1;overflow:auto} #right{width:360px;border-left:1px solid #ccc;padding:8px;overflow:auto}
.lane{stroke:#999;stroke-width:1} .hdr{font-weight:bold;text-anchor:middle}
.arrow{stroke:#36c;stroke-width:1.2;fill:none;marker-end:url(#head)}
.mark{fill:#444} .crash{fill:#d00} .restart{fill:#090} .partition{fill:#f6c04a;opacity:.35}
.heal{fill:#7c7;opacity:.35} .note{fill:#555;font-size:10px} .future{opacity:.12}
.cur{fill:#ffef99} .violation{fill:#f88;opacity:.6} .lbl{font-size:10px;fill:#36c}
button{margin:2px} pre{white-space:pre-wrap;font-size:11px} .bad{color:#b00}
</style></head><body>
<div id="left"><svg id="svg" xmlns="http://www.w3.org/2000/svg"></svg></div>
<div id="right">
<div><button id="first">|&lt;</button><button id="prev">&lt; prev</button>
<button id="next">next &gt;</button><button id="last">&gt;|</button>
<button id="viol">violation</button></div>
<div id="current" data-step="0">step 0</div>
<pre id="detail"></pre><div id="verdict"></div>
<p>Keys: &larr;/&rarr; or k/j step, Home/End, v the violation.</p></div>
<script>
const D = __DATA__;
const NS = "http://www.w3.org/2000/svg", W = 150, ROW = 22, TOP = 40, LEFT = 60;
const svg = document.getElementById("svg");
const x = n => LEFT + D.nodes.indexOf(n) * W, y = i => TOP + i * ROW;
function el(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (text !== undefined) e.textContent = text;
  svg.appendChild(e); return e;
}
const width = LEFT + D.nodes.length * W + 260, height = TOP + D.steps.length * ROW + 20;
svg.setAttribute("width", width); svg.setAttribute("height", height);
const defs = el("defs", {});
defs.innerHTML = '<marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" ' +
  'markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#36c"/></marker>';
const cur = el("rect", {x: 0, y: 0, width: width, height: ROW, class: "cur"});
if (D.violation !== null) {
  el("rect", {id: "violation", "data-step": D.violation, x: 0, y: y(D.violation) - ROW / 2,
              width: width, height: ROW, class: "violation"});
}
D.nodes.forEach(n => {
  el("line", {x1: x(n), y1: TOP - 15, x2: x(n), y2: height, class: "lane"});
  el("text", {x: x(n), y: 20, class: "hdr"}, "node " + n);
});
const byStep = [];
D.steps.forEach(s => {
  const g = [];
  const cy = y(s.i);
  g.push(el("text", {x: 4, y: cy + 4, class: "note"}, s.t + " ms"));
  if (s.do === "partition" || s.do === "heal") {
    g.push(el("rect", {x: LEFT - 20, y: cy - 8, width: (D.nodes.length - 1) * W + 40,
                       height: 16, class: s.do}));
    g.push(el("text", {x: LEFT - 15, y: cy + 4, class: "note"}, s.text));
  } else if (s.node !== undefined && s.node !== null) {
    const cls = s.do === "crash" ? "crash" : s.do === "restart" ? "restart" : "mark";
    const r = s.do === "crash" || s.do === "restart" ? 6 : 3;
    g.push(el("circle", {cx: x(s.node), cy: cy, r: r, class: cls}));
    if (s.do !== "deliver")
      g.push(el("text", {x: x(s.node) + 8, y: cy + 4, class: "note"}, s.do));
  }
  if (s.notes.length)
    g.push(el("text", {x: LEFT + (D.nodes.length - 1) * W + 30, y: cy + 4, class: "note"},
                      s.notes.join("; ")));
  byStep[s.i] = g;
});
D.arrows.forEach(a => {
  const from = D.steps[a.from], to = D.steps[a.to];
  const src = from.node;
  const line = el("line", {x1: x(src), y1: y(a.from), x2: x(to.node), y2: y(a.to),
                           class: "arrow"});
  const label = el("text", {x: (x(src) + x(to.node)) / 2, y: (y(a.from) + y(a.to)) / 2 - 2,
                            class: "lbl"}, a.kind);
  byStep[a.to].push(line, label);
});
let step = 0;
function show(i) {
  step = Math.max(0, Math.min(D.steps.length - 1, i));
  byStep.forEach((g, j) => g.forEach(e => e.classList.toggle("future", j > step)));
  cur.setAttribute("y", y(step) - ROW / 2);
  const s = D.steps[step];
  const c = document.getElementById("current");
  c.dataset.step = step;
  c.textContent = "step " + step + " of " + D.steps.length +
    (step === D.violation ? " (the violating step)" : "");
  document.getElementById("detail").textContent = s.text + "\\n" + s.notes.join("\\n");
  document.title = "step " + step + " - " + D.title;
}
const v = document.getElementById("verdict");
v.innerHTML = D.violations.length ? "<b class=bad>VIOLATION</b>" : "<b>ok</b>";
D.violations.forEach(t => { const p = document.createElement("p"); p.className = "bad";
  p.textContent = t; v.appendChild(p); });
document.getElementById("first").onclick = () => show(0);
document.getElementById("prev").onclick = () => show(step - 1);
document.getElementById("next").onclick = () => show(step + 1);
document.getElementById("last").onclick = () => show(D.steps.length - 1);
document.getElementById("viol").onclick = () => show(D.violation === null ? step : D.violation);
document.addEventListener("keydown", e => {
  const k = e.key;
  if (k === "ArrowRight" || k === "j") show(step + 1);
  else if (k === "ArrowLeft" || k === "k") show(step - 1);
  else if (k === "Home") show(0);
  else if (k === "End") show(D.steps.length - 1);
  else if (k === "v" && D.violation !== null) show(D.violation);
});
const q = new URLSearchParams(location.search);
show(q.has("step") ? parseInt(q.get("step"), 10) :
     (D.violation === null ? D.steps.length - 1 : D.violation));
(q.get("keys") || "").split(",").filter(k => k).forEach(k =>
  document.dispatchEvent(new KeyboardEvent("keydown", {key: k})));
</script></body></html>
"""
