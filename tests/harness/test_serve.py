"""`zablab serve`: an index of runs, latest first, with verdicts; crashed and interrupted runs
marked; run files still served; 127.0.0.1 by default."""

from __future__ import annotations

import inspect
import os
import threading
import time
import urllib.request
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from zablab.errors import UserError
from zablab.harness import command, store
from zablab.harness.serve import RUNNING_WINDOW, RunIndex, make_server


class Rows(HTMLParser):
    """The cells of each <tr class="run">."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.links: list[str] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("class") == "run":
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "a" and self._row is not None and a.get("href"):
            self.links.append(str(a["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._row is not None and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def make_run(root: Path, test: str, stamp: str, workload: str, results: dict | None) -> Path:
    run = root / test / stamp
    run.mkdir(parents=True)
    opts = {"db": "zablab", "workload": workload, "nemesis": "partition,kill"}
    store.write_json(run / "test.json", {"name": test, "options": opts})
    (run / "history.jsonl").write_text("")
    if results is not None:
        store.write_json(run / "results.json", results)
        (run / "report.html").write_text("<html>the report</html>")
    return run


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "store"
    lost = {"checker": "set", "valid": False, "summary": "3 acknowledged adds were lost"}
    make_run(root, "zablab-set", "20261201T080000.000", "set", {**lost, "children": []})
    ok = {"checker": "register", "valid": True, "summary": "the history is linearizable"}
    make_run(root, "zablab-register", "20261201T090000.000", "register", ok)
    crashed = make_run(root, "zablab-set", "20261201T100000.000", "set", None)
    (crashed / "zablab.log").write_text("x ERROR zablab.runner: harness error\n")
    stopped = make_run(root, "zablab-queue", "20261201T110000.000", "queue", None)
    (stopped / "zablab.log").write_text("x WARNING zablab.runner: interrupted; tearing down\n")
    (root / "latest").write_text("zablab-queue/20261201T110000.000\n")
    (root / "check" / "h.jsonl").mkdir(parents=True)  # `zablab check` output: not a run
    httpd = make_server(root, port=0)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        host, port = httpd.server_address[:2]
        yield f"http://{host}:{port}", root
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(5)


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()


def test_the_index_lists_runs_latest_first_with_verdicts(served: tuple[str, Path]) -> None:
    url, _ = served
    page = Rows()
    page.feed(get(url + "/"))
    got = [(r[0], r[1], r[3], r[5]) for r in page.rows]
    assert got == [
        ("2026-12-01 11:00:00", "zablab-queue", "queue", "interrupted"),
        ("2026-12-01 10:00:00", "zablab-set", "set", "crashed"),
        ("2026-12-01 09:00:00", "zablab-register", "register", "valid"),
        ("2026-12-01 08:00:00", "zablab-set", "set", "INVALID"),
    ]
    assert page.rows[3][6] == "3 acknowledged adds were lost"
    assert page.rows[1][6].startswith("the harness failed before the check: no verdict")
    assert [r[4] for r in page.rows] == ["partition,kill"] * 4
    assert page.links[2] == "zablab-register/20261201T090000.000/report.html"
    assert page.links[1] == "zablab-set/20261201T100000.000/"  # no report: its directory


def test_run_files_are_still_served(served: tuple[str, Path]) -> None:
    url, _ = served
    assert get(url + "/zablab-register/20261201T090000.000/report.html") == (
        "<html>the report</html>"
    )
    assert "20261201T080000.000" in get(url + "/zablab-set/")
    assert "zablab-register" in get(url + "/?files")  # the bare listing, when asked for


def test_a_new_run_shows_at_the_next_request(served: tuple[str, Path]) -> None:
    url, root = served
    later = {"checker": "queue", "valid": "unknown", "reason": "no successful drain"}
    make_run(root, "zablab-queue", "20261201T120000.000", "queue", later)
    page = Rows()
    page.feed(get(url + "/"))
    assert page.rows[0][:2] == ["2026-12-01 12:00:00", "zablab-queue"]
    assert page.rows[0][5:] == ["unknown", "unknown: no successful drain"]


def test_serve_binds_loopback_by_default_and_refuses_a_missing_store(tmp_path: Path) -> None:
    assert inspect.signature(command.serve).parameters["host"].default.default == "127.0.0.1"
    httpd = make_server(tmp_path, port=0)
    try:
        assert httpd.server_address[0] == "127.0.0.1"
    finally:
        httpd.server_close()
    with pytest.raises(UserError, match="no store at"):
        make_server(tmp_path / "nope")


def test_a_run_without_results_is_running_while_its_history_grows(tmp_path: Path) -> None:
    run = make_run(tmp_path, "zablab-set", "20261201T130000.000", "set", None)
    assert [r.status for r in RunIndex(tmp_path).rows()] == ["running"]
    old = time.time() - RUNNING_WINDOW - 5
    os.utime(run / "history.jsonl", (old, old))
    (row,) = RunIndex(tmp_path).rows()
    assert row.status == "crashed" and "stopped before the check" in row.summary
