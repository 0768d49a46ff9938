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

from zablab.harness.history import read_jsonl

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
</style></head><body>
<h1>{{ name }} <span class="badge b-{{ verdict_key }}">{{ verdict_text }}</span></h1>
<p>Run <code>{{ run }}</code> · seed <code>{{ seed }}</code> · {{ db }} on {{ backend }} ({{ nodes }} nodes) ·
workload <code>{{ workload }}</code> · nemesis <code>{{ nemesis }}</code> · {{ op_count }} ops</p>
<p>Repeat with: <code>{{ repeat }}</code></p>

<h2>Verdict per checker</h2>
{% macro tree(r) -%}
<li><span class="v-{{ r.key }}">{{ r.mark }}</span> <b>{{ r.checker }}</b>: <span class="v-{{ r.key }}">{{ r.text }}</span>
{%- if r.summary %} <small>{{ r.summary }}</small>{% endif %}
{%- if r.children %}<ul class="tree">{% for c in r.children %}{{ tree(c) }}{% endfor %}</ul>{% endif %}</li>
{%- endmacro %}
<ul class="tree">{{ tree(results) }}</ul>
<details><summary>results.json</summary><pre>{{ results_json }}</pre></details>

{% if failure_views %}<h2>Linearizability failure</h2>
{% for fv in failure_views %}<p>{{ fv.title }}</p>
<iframe title="failure view" srcdoc="{{ fv.html }}"></iframe>{% endfor %}{% endif %}

<h2>Operations</h2>
<table><tr><th>f</th><th>ok</th><th>fail</th><th>info</th></tr>
{% for f, s in stats.items() %}<tr><td>{{ f }}</td><td>{{ s.ok }}</td><td>{{ s.fail }}</td><td>{{ s.info }}</td></tr>{% endfor %}
</table>

<h2>Latency and throughput</h2>
<p>Shaded: fault periods.</p>
{% for title, uri in plots %}<img class="plot" alt="{{ title }}" title="{{ title }}" src="{{ uri }}">{% endfor %}
{% if not plots %}<p>No plots (nothing completed).</p>{% endif %}

<h2>Faults</h2>
<table><tr><th>time (s)</th><th>f</th><th>value</th></tr>
{% for op in faults %}<tr><td>{{ "%.3f"|format(op.time / 1e9) }}</td><td>{{ op.f }}</td><td><code>{{ op.value }}</code></td></tr>{% endfor %}
</table>

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
_SKIP = {"checker", "valid", "children", "longest", "partition_ops", "op", "files"}


def _summary(d: dict[str, Any]) -> str:
    parts = []
    for k, v in d.items():
        if k in _SKIP:
            continue
        if isinstance(v, int | float | str | bool) or v is None:
            parts.append(f"{k}={v}")
        elif isinstance(v, list | dict) and v and len(json.dumps(v, default=str)) < 160:
            parts.append(f"{k}={json.dumps(v, default=str)}")
    return ", ".join(parts)[:400]


def _tree(d: dict[str, Any]) -> dict[str, Any]:
    k = _key(d.get("valid"))
    return {
        "checker": d.get("checker", "?"),
        "key": k,
        "text": _TEXT[k],
        "mark": _MARK[k],
        "summary": _summary(d),
        "children": [_tree(c) for c in d.get("children", [])],
    }


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
    k = _key(results.get("valid"))
    repeat = repeat_command(o, test.get("seed"))
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
        op_count=len(ops),
        repeat=repeat,
        verdict_key=k,
        verdict_text=_TEXT[k],
        results=_tree(results)
        if results
        else _tree({"checker": "not checked", "valid": "unknown"}),
        results_json=json.dumps({x: y for x, y in results.items()}, indent=1, default=str)[
            :200_000
        ],
        failure_views=failure_views,
        stats=results.get("stats", {}),
        plots=plots,
        faults=[op for op in ops if op.process == "nemesis" and op.value is not None],
        timeline=timeline,
        logs=logs,
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
    if o.get("db_args"):
        parts.append(f"--db-args {shlex.quote(o['db_args'])}")
    if o.get("client_bug") not in (None, "none"):
        parts.append(f"--client-bug {o['client_bug']}")
    if o.get("session_timeout") not in (None, 10.0):
        parts.append(f"--session-timeout {o['session_timeout']}")
    return " ".join(parts + [f"--seed {seed}"])
