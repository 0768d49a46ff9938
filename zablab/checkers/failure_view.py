"""The linearizability failure view: one self-contained HTML file (inline CSS, JS and SVG).

A lane per process, each op a box spanning its call and return (time compressed to the order
of events, so that short and long ops stay readable), the longest partial linearizations with
their linearization points joined by a line, and the op that cannot be linearized in red.
Hovering an op shows its description and the model state after it. The drawing is done by the
embedded script from the JSON evidence in `Result.details`, so the file needs no network.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from zablab.checkers.result import Result

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>zablab: not linearizable — __TITLE__</title>
<style>
body { font: 13px system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 18px; margin: 0 0 6px; }
.summary { margin: 0 0 10px; }
.summary code { background: #f3f3f3; padding: 1px 4px; }
.semantics { color: #555; margin: 0 0 10px; max-width: 80em; }
#choose button { margin-right: 6px; padding: 3px 8px; border: 1px solid #999; background: #fff; cursor: pointer; }
#choose button.active { background: #335; color: #fff; }
#wrap { overflow: auto; border: 1px solid #ddd; margin-top: 8px; max-height: 75vh; }
#labels rect { fill: #fafafa; stroke: #ddd; }
svg text { font: 11px system-ui, sans-serif; }
.lane-label { fill: #555; }
.op rect { fill: #e6e6e6; stroke: #999; }
.op.linearized rect { fill: #cfe6ff; stroke: #3a78c2; }
.op.failing rect { fill: #ffb3b3; stroke: #c00; stroke-width: 2; }
.op.failing text { fill: #900; }
.op rect.halo { fill: #fff; stroke: #c00; stroke-width: 1; opacity: 0.95; }
.op.crashed rect { stroke-dasharray: 4 3; }
.op.dimmed { opacity: 0.35; }
.op:hover rect { stroke: #000; stroke-width: 2; }
.point { fill: #1f5fa8; }
.path { fill: none; stroke: #1f5fa8; stroke-width: 1.5; opacity: 0.7; }
#tip { position: fixed; pointer-events: none; background: #222; color: #fff; padding: 5px 8px;
       border-radius: 4px; font: 12px ui-monospace, monospace; display: none; white-space: pre; }
.legend span { display: inline-block; margin-right: 14px; }
.sw { display: inline-block; width: 12px; height: 10px; border: 1px solid #999; vertical-align: middle; margin-right: 4px; }
</style></head>
<body>
<h1>Not linearizable: __TITLE__</h1>
<p class="summary" id="summary"></p>
<div class="legend">
  <span><i class="sw" style="background:#cfe6ff;border-color:#3a78c2"></i>in the partial linearization (number: its order)</span>
  <span><i class="sw" style="background:#ffb3b3;border-color:#c00"></i>cannot be linearized next</span>
  <span><i class="sw" style="background:#e6e6e6"></i>other ops</span>
  <span><i class="sw" style="border-style:dashed"></i>crashed (may take effect any time later, or never)</span>
</div>
<div id="choose"></div>
<div id="wrap"><svg id="view" xmlns="http://www.w3.org/2000/svg"></svg></div>
<div id="tip"></div>
<script id="data" type="application/json">__DATA__</script>
<script>
(function () {
  const D = JSON.parse(document.getElementById("data").textContent);
  const NS = "http://www.w3.org/2000/svg";
  const ops = D.partition_ops;
  const byId = new Map(ops.map(o => [o.id, o]));
  const procs = [...new Set(ops.map(o => JSON.stringify(o.process)))];
  procs.sort((a, b) => { const x = JSON.parse(a), y = JSON.parse(b);
    return (typeof x === typeof y) ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1); });
  const lane = new Map(procs.map((p, i) => [p, i]));
  const times = [...new Set(ops.flatMap(o => o.ret === null ? [o.call] : [o.call, o.ret]))].sort((a, b) => a - b);
  const rank = new Map(times.map((t, i) => [t, i]));
  const UNIT = 26, LANE = 34, LEFT = 100, TOP = 10, CHAR = 6.4;
  const endRank = times.length + 1;
  const x = r => LEFT + r * UNIT;
  const svg = document.getElementById("view");
  svg.setAttribute("width", x(endRank) + 40);
  svg.setAttribute("height", TOP + procs.length * LANE + 20);
  const el = (tag, attrs, parent) => { const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]); (parent || svg).appendChild(e); return e; };
  const wrap = document.getElementById("wrap");
  const boxes = new Map();
  for (const o of ops) {
    const r0 = rank.get(o.call), r1 = o.ret === null ? endRank : rank.get(o.ret);
    const g = el("g", {class: "op" + (o.status === "info" ? " crashed" : ""), id: "op-" + o.id, "data-op": o.id});
    const y = TOP + lane.get(JSON.stringify(o.process)) * LANE;
    const w = Math.max(x(r1) - x(r0), 8);
    el("rect", {x: x(r0), y: y + 4, width: w, height: LANE - 10, rx: 3}, g);
    const label = el("text", {x: x(r0) + 4, y: y + 21}, g);
    const fit = Math.max(1, Math.floor((w - 6) / CHAR));  // the full text is on hover
    const short = o.describe.length <= fit ? o.describe : o.describe.slice(0, Math.max(1, fit - 1)) + "…";
    label.textContent = short;
    boxes.set(o.id, {g, r0, r1, y, label, short, full: o.describe});
  }
  const labels = el("g", {id: "labels"});
  el("rect", {x: 0, y: 0, width: LEFT - 8, height: TOP + procs.length * LANE + 20}, labels);
  procs.forEach((p, i) => {
    const t = el("text", {x: 6, y: TOP + i * LANE + 21, class: "lane-label"}, labels);
    t.textContent = "process " + JSON.parse(p);
  });
  wrap.addEventListener("scroll", () => labels.setAttribute("transform", "translate(" + wrap.scrollLeft + ",0)"));
  const tip = document.getElementById("tip");
  let stateOf = new Map();
  svg.addEventListener("mousemove", ev => {
    const g = ev.target.closest ? ev.target.closest("g.op") : null;
    if (!g) { tip.style.display = "none"; return; }
    const o = byId.get(Number(g.dataset.op));
    let s = o.describe + "\\nprocess " + JSON.stringify(o.process) + ", " + o.status +
      "\\nhistory index " + o.invoke_index + (o.complete_index === null ? "" : "–" + o.complete_index);
    if (stateOf.has(o.id)) s += "\\nstate after: " + stateOf.get(o.id);
    if (o.id === D.current_blocked) s += "\\ncannot be linearized after this prefix";
    tip.textContent = s; tip.style.display = "block";
    tip.style.left = (ev.clientX + 12) + "px"; tip.style.top = (ev.clientY + 12) + "px";
  });
  svg.addEventListener("mouseleave", () => { tip.style.display = "none"; });
  const overlay = el("g", {id: "overlay"});
  function show(k) {
    const L = D.longest[k];
    document.querySelectorAll("#choose button").forEach((b, i) => b.classList.toggle("active", i === k));
    overlay.replaceChildren();
    stateOf = new Map(L ? L.ops.map(p => [p.id, p.state]) : []);
    D.current_blocked = L ? L.blocked : (D.op ? D.op.id : null);
    const order = new Map(L ? L.ops.map((p, i) => [p.id, i + 1]) : []);
    for (const [id, b] of boxes) {
      b.g.classList.toggle("linearized", order.has(id));
      const failing = id === D.current_blocked;
      b.g.classList.toggle("failing", failing);
      if (failing) b.g.setAttribute("data-failing", "true"); else b.g.removeAttribute("data-failing");
      b.label.textContent = failing ? b.full : b.short;  // the failing op's text in full
      const halo = b.g.querySelector("rect.halo");
      if (halo) halo.remove();
      if (failing) {  // drawn over its neighbours, on a backing so that it reads
        svg.insertBefore(b.g, overlay);
        const t = b.label.getBBox();
        b.g.insertBefore(el("rect", {class: "halo", x: t.x - 2, y: t.y - 1, width: t.width + 4, height: t.height + 2}, b.g), b.label);
      }
    }
    let prev = -Infinity, pts = [];
    for (const p of (L ? L.ops : [])) {
      const b = boxes.get(p.id);
      let r = Math.max(b.r0 + 0.5, prev + 0.2);
      if (r > b.r1 - 0.1) r = b.r1 - 0.1;
      prev = r;
      const cx = x(r), cy = b.y + LANE / 2 - 2;
      pts.push(cx + "," + cy);
      el("circle", {cx, cy, r: 4, class: "point"}, overlay);
      const n = el("text", {x: cx + 5, y: b.y + 2 + 9, fill: "#1f5fa8"}, overlay);
      n.textContent = order.get(p.id);
    }
    if (pts.length > 1) el("polyline", {points: pts.join(" "), class: "path"}, overlay);
  }
  const choose = document.getElementById("choose");
  (D.longest.length ? D.longest : [undefined]).forEach((L, i) => {
    if (!L) return;
    const b = document.createElement("button");
    b.textContent = "partial linearization " + (i + 1) + " (" + L.ops.length + " ops)";
    b.addEventListener("click", () => show(i));
    choose.appendChild(b);
  });
  const blocked = D.op ? D.op.describe + " (process " + JSON.stringify(D.op.process) + ")" : "?";
  const s = document.getElementById("summary");
  s.append("Model ", Object.assign(document.createElement("code"), {textContent: D.model}),
    D.partitions > 1 ? ", partition " + D.partition + " of " + D.partitions +
      (D.key === null ? "" : " (key " + JSON.stringify(D.key) + ")") : "",
    ". Initial state " + D.initial_state + ". The longest partial linearizations reach " +
    (D.longest.length ? D.longest[0].ops.length : 0) + " of " + ops.length + " ops; then ",
    Object.assign(document.createElement("code"), {textContent: blocked}),
    " cannot be linearized. Hover an op for its details and the state after it.");
  if (D.semantics) {
    const p = document.createElement("p");
    p.className = "semantics";
    p.textContent = "Model semantics: " + D.semantics;
    s.after(p);
  }
  show(0);
  const failing = document.querySelector("g.op.failing");
  if (failing) {  // bring the failing op into view inside the scrolling box, not the page
    const bb = failing.getBBox();
    wrap.scrollLeft = Math.max(0, bb.x - wrap.clientWidth / 3);
    wrap.scrollTop = Math.max(0, bb.y - wrap.clientHeight / 2);
    labels.setAttribute("transform", "translate(" + wrap.scrollLeft + ",0)");
  }
})();
</script>
</body></html>
"""


def render_failure_view(result: Result | dict[str, Any], title: str = "") -> str:
    """HTML for an invalid linearizability result (its details carry all the evidence)."""
    details = result.details if isinstance(result, Result) else result
    keys = (
        "model",
        "partition",
        "partitions",
        "key",
        "initial_state",
        "longest",
        "op",
        "partition_ops",
        "semantics",
    )
    data = {k: details.get(k) for k in keys}
    data["longest"] = data["longest"] or []
    data["partition_ops"] = data["partition_ops"] or []
    # "</" cannot appear inside a script element
    blob = json.dumps(data, default=str).replace("</", "<\\/")
    page = _TEMPLATE.replace("__TITLE__", html.escape(title or str(details.get("model", ""))))
    return page.replace("__DATA__", blob)


def write_failure_view(result: Result | dict[str, Any], path: str | Path, title: str = "") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_failure_view(result, title), encoding="utf-8")
    return path
