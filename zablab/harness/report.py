"""report.html: one self-contained page per run (no network, no scripts outside the page).

Plots are embedded as data URIs; the timeline and, when linearizability failed, the failure view
(both self-contained HTML from zablab.checkers) are embedded as iframe srcdoc, and are also kept
as files next to the report. Node logs are linked relatively so the run directory can be zipped.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import jinja2

from zablab.checkers.faults import describe_period
from zablab.checkers.summary import (
    ALLOWED,
    INFO_NOTE,
    OUTCOME_NOTES,
    Context,
    explain,
    headline,
    n,
    summarize,
)
from zablab.harness import server_metrics
from zablab.history.jsonl import read_jsonl

log = logging.getLogger("zablab.report")

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ name }} — {{ verdict_text }}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ddd; }
.v-true { color: #176f2c; } .v-false { color: #b00020; } .v-unknown { color: #a15c00; }
.badge { display: inline-block; padding: .1em .6em; border-radius: .8em; color: #fff; font-weight: 600; }
.b-true { background: #2e7d32; } .b-false { background: #c62828; } .b-unknown { background: #ef6c00; }
table { border-collapse: collapse; } td, th { padding: .2em .7em; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
ul.tree { list-style: none; padding-left: 1.2em; } pre { background: #f6f6f6; padding: .6em; overflow: auto; max-height: 24em; }
img.plot { max-width: 100%; border: 1px solid #eee; margin: .4em 0; }
iframe { width: 100%; height: 560px; border: 1px solid #ddd; }
details summary { cursor: pointer; }
.lead { font-size: 1.1em; } table.verdicts td.summary { max-width: 38em; }
</style></head><body>
<h1>{{ name }} <span class="badge b-{{ verdict_key }}">{{ verdict_text }}</span></h1>
<p class="lead v-{{ verdict_key }}">{{ headline }}</p>
<p>Run <code>{{ run }}</code> · seed <code>{{ seed }}</code> · {{ db }} on {{ backend }} ({{ nodes }} nodes) ·
workload <code>{{ workload }}</code> · nemesis <code>{{ nemesis }}</code></p>
<p class="counts"><b class="ops">{{ "{:,}".format(op_count) }} ops</b> (client invocations) ·
<span class="events">{{ "{:,}".format(event_count) }} history events</span> (each op's invocation and completion, and the faults) ·
<span class="faults">{{ fault_list|length }} fault{{ "" if fault_list|length == 1 else "s" }}</span></p>
<p>Repeat with: <code>{{ repeat }}</code></p>

<h2>Verdict per checker</h2>
<table class="verdicts"><tr><th>checker</th><th>verdict</th><th>what it found</th><th>what it checks</th></tr>
{% for r in rows %}<tr class="verdict"><td style="padding-left: {{ 0.7 + 1.2 * r.depth }}em"><b>{{ r.checker }}</b></td>
<td class="v-{{ r.key }}">{{ r.mark }} {{ r.text }}</td><td class="summary">{{ r.summary }}</td><td><small>{{ r.explain }}</small></td></tr>
{% endfor %}</table>

<h2>What ZooKeeper allows</h2>
<ul class="allowed">{% for title, text in allowed %}<li><b>{{ title }}.</b> {{ text }}</li>{% endfor %}
{% if stale_reads %}<li>This run: {{ stale_reads }}, counted, not failed.</li>{% endif %}
</ul>
<details><summary>results.json</summary><pre>{{ results_json }}</pre></details>

{% if failure_views %}<h2>Linearizability failure</h2>
{% for fv in failure_views %}<p>{{ fv.title }}</p>
<iframe title="failure view" srcdoc="{{ fv.html }}"></iframe>{% endfor %}{% endif %}

<h2>Operations</h2>
<table class="ops"><tr><th>f</th><th>ok</th><th>fail</th><th>info</th><th>note</th></tr>
{% for row in op_rows %}<tr><td>{{ row.f }}</td><td>{{ row.ok }}</td><td>{{ row.fail }}</td><td>{{ row.info }}</td><td><small>{{ row.note }}</small></td></tr>{% endfor %}
</table>

<h2>Latency and throughput</h2>
<p>Shaded: fault periods. Colour: the operation (f); marker or line style: the outcome or quantile.</p>
{% for title, uri in plots %}<img class="plot" alt="{{ title }}" title="{{ title }}" src="{{ uri }}">{% endfor %}
{% if not plots %}<p>No plots (nothing completed).</p>{% endif %}

<h2>Faults</h2>
{% if fault_list %}<ol class="faults">{% for line in fault_list %}<li>{{ line }}</li>{% endfor %}</ol>
{% else %}<p>No faults were injected.</p>{% endif %}
<details><summary>nemesis events as recorded</summary>
<table><tr><th>time (s)</th><th>f</th><th>value</th></tr>
{% for op in faults %}<tr><td>{{ "%.3f"|format(op.time / 1e9) }}</td><td>{{ op.f }}</td><td><code>{{ op.value }}</code></td></tr>{% endfor %}
</table></details>

<h2>Server metrics</h2>
{% if metric_rows %}<p>Each node's own counters (<code>mntr</code>, ZooKeeper's names, as on its Prometheus
endpoint) at the end of the run, before teardown.</p>
<table class="ops"><tr><th>metric</th><th>meaning</th>{% for n in metric_nodes %}<th>{{ n }}</th>{% endfor %}</tr>
{% for key, meaning, values in metric_rows %}<tr><td><code>{{ key }}</code></td><td>{{ meaning }}</td>{% for v in values %}<td>{{ v }}</td>{% endfor %}</tr>{% endfor %}
</table>{% else %}<p>No server metrics were recorded for this run.</p>{% endif %}

<h2>Timeline</h2>
{% if timeline %}<iframe title="timeline" srcdoc="{{ timeline }}"></iframe>{% else %}<p>No timeline.</p>{% endif %}

<h2>Node logs</h2>
<ul>{% for n, files in logs %}<li>{{ n }}: {% for f in files %}<a href="{{ f }}">{{ f.split('/')[-1] }}</a> {% endfor %}</li>{% endfor %}</ul>
<p><a href="history.jsonl">history.jsonl</a> · <a href="test.json">test.json</a> · <a href="results.json">results.json</a> · <a href="zablab.log">zablab.log</a></p>
</body></html>
"""


def _key(v: Any) -> str:
    return "true" if v is True else "false" if v is False else "unknown"


_TEXT = {"true": "valid", "false": "INVALID", "unknown": "unknown"}
_MARK = {"true": "✔", "false": "✘", "unknown": "?"}
NOT_CHECKED = {
    "checker": "not checked",
    "valid": "unknown",
    "reason": "the run has no results.json: it was interrupted or crashed before the check",
}


def _rows(d: dict[str, Any], cx: Context, depth: int = 0) -> list[dict[str, Any]]:
    """The result tree as table rows, each with its sentence and what its checker checks."""
    k = _key(d.get("valid"))
    name = str(d.get("checker", "?"))
    row = {
        "checker": name,
        "depth": depth,
        "key": k,
        "text": _TEXT[k],
        "mark": _MARK[k],
        "summary": d.get("summary") or summarize(d, cx),
        "explain": explain(name),
    }
    return [row] + [r for c in d.get("children", []) for r in _rows(c, cx, depth + 1)]


def _stale_reads(results: dict[str, Any]) -> str:
    total = sum(int(d.get("stale-reads") or 0) for d in _walk(results))
    return n(total, "stale read") if total else ""


def _op_rows(stats: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for f, s in stats.items():
        notes = [
            OUTCOME_NOTES[(f, t)] for t in ("ok", "fail") if s.get(t) and (f, t) in OUTCOME_NOTES
        ]
        if s.get("info"):
            notes.append(INFO_NOTE)
        rows.append(
            {
                "f": f,
                **{t: f"{s.get(t, 0):,}" for t in ("ok", "fail", "info")},
                "note": "; ".join(notes),
            }
        )
    return rows


def _walk(d: dict[str, Any]):  # type: ignore[no-untyped-def]
    yield d
    for c in d.get("children", []):
        yield from _walk(c)


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def write_report(run_dir: str | Path) -> Path:
    """Render run_dir/report.html from the files the run left (also for `zablab analyze`)."""
    run = Path(run_dir)
    test = json.loads((run / "test.json").read_text())
    results = (
        json.loads((run / "results.json").read_text()) if (run / "results.json").exists() else {}
    )
    ops = read_jsonl(run / "history.jsonl")
    o = test.get("options", {})

    plots: list[tuple[str, str]] = []
    with contextlib.suppress(Exception):
        from zablab.checkers.perf import render_perf

        for title, path in render_perf(ops, run / "plots").items():
            plots.append((title, _data_uri(Path(path))))
    timeline = ""
    try:
        from zablab.checkers.timeline import render_timeline

        timeline = render_timeline(
            ops, run / "timeline.html", title=test.get("name", "")
        ).read_text()
    except Exception as exc:  # a drawing problem must not lose the verdict
        log.warning("timeline: %s", exc)
    failure_views = []
    for d in _walk(results):
        if d.get("valid") is False and "longest" in d:
            try:
                from zablab.checkers.failure_view import render_failure_view, write_failure_view

                name = str(d.get("checker", "linearizable")).replace(" ", "-")
                write_failure_view(d, run / f"failure-{name}.html", title=name)
                failure_views.append(
                    {"title": d.get("checker"), "html": render_failure_view(d, name)}
                )
            except Exception as exc:
                log.warning("failure view: %s", exc)

    logs = []
    nodes_dir = run / "nodes"
    if nodes_dir.is_dir():
        for nd in sorted(nodes_dir.iterdir()):
            logs.append(
                (nd.name, [str(p.relative_to(run)) for p in sorted(nd.iterdir()) if p.is_file()])
            )
    shown = results or NOT_CHECKED
    k = _key(shown.get("valid"))
    cx = Context(ops)
    rows = _rows(shown, cx)
    node_names = [
        str(n["name"]) for n in test.get("nodes", []) if isinstance(n, dict) and "name" in n
    ]
    repeat = test.get("replay") or repeat_command(o, test.get("seed"))
    metric_nodes, metric_rows = server_metrics.table(run)
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    html = env.from_string(TEMPLATE).render(
        name=test.get("name", run.parent.name),
        run=run.name,
        seed=test.get("seed"),
        db=o.get("db"),
        backend=o.get("backend"),
        nodes=o.get("nodes"),
        workload=o.get("workload"),
        nemesis=o.get("nemesis") or "none",
        op_count=sum(1 for op in ops if op.is_client and op.type == "invoke"),
        event_count=len(ops),
        fault_list=[describe_period(p, node_names) for p in cx.periods],
        headline=headline(shown, cx),
        repeat=repeat,
        verdict_key=k,
        verdict_text=_TEXT[k],
        rows=rows,
        allowed=ALLOWED,
        stale_reads=_stale_reads(results),
        results_json=json.dumps({x: y for x, y in results.items()}, indent=1, default=str)[
            :200_000
        ],
        failure_views=failure_views,
        op_rows=_op_rows(results.get("stats", {})),
        plots=plots,
        faults=[op for op in ops if op.process == "nemesis" and op.value is not None],
        timeline=timeline,
        logs=logs,
        metric_nodes=metric_nodes,
        metric_rows=metric_rows,
    )
    out = run / "report.html"
    out.write_text(html, encoding="utf-8")
    return out


def repeat_command(o: dict[str, Any], seed: Any) -> str:
    """The `zablab test` line that repeats a run: every option that shapes it, and its seed."""
    import shlex

    parts = [
        f"zablab test --db {o.get('db')} --backend {o.get('backend')} --nodes {o.get('nodes')}",
        f"--workload {o.get('workload')} --nemesis {o.get('nemesis') or 'none'}",
        f"--nemesis-interval {o.get('nemesis_interval')} --time-limit {o.get('time_limit')}",
        f"--concurrency {o.get('concurrency')}",
    ]
    if o.get("rate"):
        parts.append(f"--rate {o['rate']}")
    if o.get("client_procs"):
        parts.append(f"--client-procs {o['client_procs']}")
    if o.get("protocol"):
        parts.append(f"--protocol {o['protocol']}")
    if o.get("db_args"):
        parts.append(f"--db-args {shlex.quote(o['db_args'])}")
    if o.get("client_bug") not in (None, "none"):
        parts.append(f"--client-bug {o['client_bug']}")
    if o.get("session_timeout") not in (None, 10.0):
        parts.append(f"--session-timeout {o['session_timeout']}")
    return " ".join(parts + [f"--seed {seed}"])
