"""`zablab serve`: the store in a browser — a table of runs, latest first, with their verdicts
(as Jepsen's serve), and every run file under it as before.

The index is built from each run's test.json and results.json when it is requested, so a run
that finishes while the server is up shows at the next reload. A run without results.json
never reached its check: it is shown as interrupted, crashed or running, never as a verdict.
Results files are cached by modification time: a store of a few hundred runs stays quick.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import http.server
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from zablab.checkers.summary import headline
from zablab.errors import UserError

#: a run without results whose log or history changed this recently is taken to be running
RUNNING_WINDOW = 60.0


@dataclass(frozen=True)
class RunRow:
    """One row of the index; `status` is valid, INVALID, unknown, interrupted, crashed or
    running, and `link` is relative to the store."""

    stamp: str
    time: str
    test: str
    db: str
    workload: str
    nemesis: str
    status: str
    summary: str
    link: str


def _stamp_time(stamp: str) -> str:
    try:
        return _dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return stamp


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class RunIndex:
    """The runs of a store, with parsed results cached by (path, mtime)."""

    def __init__(self, store: Path):
        self.store = store
        self._cache: dict[Path, tuple[float, tuple[str, str]]] = {}
        self._lock = threading.Lock()

    def rows(self) -> list[RunRow]:
        out: list[RunRow] = []
        for test_dir in _subdirs(self.store):
            out.extend(
                self._row(run) for run in _subdirs(test_dir) if (run / "test.json").is_file()
            )
        out.sort(key=lambda r: r.stamp, reverse=True)
        return out

    def _verdict(self, results: Path) -> tuple[str, str] | None:
        try:
            mtime = results.stat().st_mtime
        except OSError:
            return None
        with self._lock:
            hit = self._cache.get(results)
            if hit is not None and hit[0] == mtime:
                return hit[1]
        data = _read_json(results)
        if data is None:
            return None
        v = data.get("valid")
        status = "valid" if v is True else "INVALID" if v is False else "unknown"
        found = (status, headline(data))
        with self._lock:
            self._cache[results] = (mtime, found)
        return found

    def _row(self, run: Path) -> RunRow:
        test = _read_json(run / "test.json") or {}
        o = test.get("options") if isinstance(test.get("options"), dict) else {}
        assert isinstance(o, dict)
        found = self._verdict(run / "results.json")
        status, summary = found if found is not None else _unfinished(run, test)
        link = f"{run.parent.name}/{run.name}/"
        if (run / "report.html").is_file():
            link += "report.html"
        return RunRow(
            stamp=run.name,
            time=_stamp_time(run.name),
            test=str(test.get("name") or run.parent.name),
            db=str(o.get("db", "?")),
            workload=str(o.get("workload", "?")),
            nemesis=str(o.get("nemesis") or "none"),
            status=status,
            summary=summary,
            link=link,
        )


def _subdirs(d: Path) -> list[Path]:
    """Directories under d; one that cannot be read is left out, not an error page."""
    try:
        return [p for p in d.iterdir() if p.is_dir()]
    except OSError:
        return []


def _unfinished(run: Path, test: dict[str, Any]) -> tuple[str, str]:
    """Why a run has no results: what test.json or zablab.log say, else how recent its log is."""
    said = str(test.get("status") or "")
    log = run / "zablab.log"
    try:
        text = log.read_text(encoding="utf-8", errors="replace")[-20_000:]
    except OSError:
        text = ""
    age = float("inf")
    for p in (log, run / "history.jsonl"):  # the history is flushed as ops happen
        with contextlib.suppress(OSError):
            age = min(age, time.time() - p.stat().st_mtime)
    if said == "interrupted" or test.get("interrupted") or "interrupted" in text:
        return "interrupted", "interrupted before the check: no verdict"
    if said == "crashed" or "harness error" in text:
        return "crashed", "the harness failed before the check: no verdict (see zablab.log)"
    if age < RUNNING_WINDOW:
        return "running", "no results yet"
    return "crashed", "no results.json: the run stopped before the check (see zablab.log)"


INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>zablab runs</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 1300px; color: #222; }
table { border-collapse: collapse; width: 100%; }
td, th { padding: .25em .6em; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
.s-valid { color: #176f2c; font-weight: 600; } .s-INVALID { color: #b00020; font-weight: 600; }
.s-unknown, .s-interrupted, .s-crashed, .s-running { color: #a15c00; font-weight: 600; }
td.summary { color: #444; max-width: 40em; }
</style></head><body>
<h1>zablab runs</h1>
<p>{{ rows|length }} run{{ "" if rows|length == 1 else "s" }} in <code>{{ store }}</code>, latest first.
Reload to see new ones. Files: <a href="?files">browse the store</a>.</p>
{% if rows %}<table class="runs">
<tr><th>time</th><th>test</th><th>db</th><th>workload</th><th>nemesis</th><th>verdict</th><th>summary</th></tr>
{% for r in rows %}<tr class="run"><td><a href="{{ r.link }}">{{ r.time }}</a></td><td>{{ r.test }}</td>
<td>{{ r.db }}</td><td>{{ r.workload }}</td><td>{{ r.nemesis }}</td>
<td class="verdict s-{{ r.status }}">{{ r.status }}</td><td class="summary">{{ r.summary }}</td></tr>
{% endfor %}</table>{% else %}<p>No runs yet: run <code>zablab test</code>.</p>{% endif %}
</body></html>
"""


def render_index(rows: list[RunRow], store: str) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return env.from_string(INDEX).render(rows=rows, store=store)


class _Handler(http.server.SimpleHTTPRequestHandler):
    index: RunIndex

    def do_GET(self) -> None:  # noqa: N802 - the http.server spelling
        url = urllib.parse.urlsplit(self.path)
        if url.path in ("/", "/index.html") and url.query != "files":
            body = render_index(self.index.rows(), str(self.index.store)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        pass  # a request line per click would bury the one line the command prints


def make_server(
    store: str | Path, host: str = "127.0.0.1", port: int = 0
) -> http.server.HTTPServer:
    """A threading HTTP server over the store (not started); port 0 picks a free one."""
    root = Path(store)
    if not root.is_dir():
        raise UserError(f"no store at {root}; run `zablab test` first or pass --store.")
    handler = type("Handler", (_Handler,), {"index": RunIndex(root)})
    try:
        return http.server.ThreadingHTTPServer(
            (host, port), functools.partial(handler, directory=str(root))
        )
    except OSError as exc:
        raise UserError(
            f"cannot listen on {host}:{port} ({exc.strerror}); choose another --port or --host."
        ) from None


def serve_forever(store: str | Path, host: str, port: int) -> None:
    httpd = make_server(store, host, port)
    print(
        f"serving {store} at http://{host}:{httpd.server_address[1]}/ (Ctrl-C to stop)",
        flush=True,
    )
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
