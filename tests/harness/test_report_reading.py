"""report.html reads on its own: verdict sentences at the top, ops and history events counted
apart, faults in words, each checker explained, and what ZooKeeper allows."""

from __future__ import annotations

import random
from html.parser import HTMLParser
from pathlib import Path

import pytest

from zablab.checkers.summary import EXPLAIN, OUTCOME_NOTES
from zablab.harness import store
from zablab.harness.report import write_report
from zablab.harness.runner import check_run
from zablab.harness.workloads import get_workload
from zablab.history.jsonl import HistoryWriter, Op

S = 1_000_000_000
NODES = ["n1", "n2", "n3", "n4", "n5"]


class Texts(HTMLParser):
    """The text under each element that has a class, by class (nested ones included)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_class: dict[str, list[str]] = {}
        self.title = ""
        self._open: list[tuple[str, str | None, list[str]]] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_title = tag == "title"
        if tag in ("meta", "img", "br", "link"):
            return
        self._open.append((tag, dict(attrs).get("class"), []))

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False
        while self._open:
            t, cls, parts = self._open.pop()
            text = " ".join("".join(parts).split())
            if self._open:
                self._open[-1][2].append(text + " ")
            for c in (cls or "").split():
                self.by_class.setdefault(c, []).append(text)
            if t == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._open:
            self._open[-1][2].append(data)


def register_run(tmp_path: Path) -> Path:
    """A register run on zookeeper: a partition 2–6 s, a kill of n3 7–9 s, failed cas, a stale
    read, and a final read that sees a value nobody wrote (so it is INVALID)."""
    run = store.new_run_dir(tmp_path / "store", "zk-register")
    test = {"name": "zk-register", "seed": 3, "nodes": [{"name": n} for n in NODES]}
    test["options"] = {"db": "zookeeper", "backend": "local", "nodes": 5, "workload": "register"}
    test["options"]["nemesis"] = "partition,kill"
    store.write_json(run / "test.json", test)
    w = HistoryWriter.open(run / "history.jsonl")
    ops: list[Op] = []

    def add(t: float, typ: str, p: object, f: str, v: object, **extra: object) -> None:
        ops.append(w.append(Op(0, int(t * S), typ, p, f, v, dict(extra))))

    grudge = {n: ["n3", "n4", "n5"] for n in ("n1", "n2")} | {
        n: ["n1", "n2"] for n in ("n3", "n4", "n5")
    }
    add(0.5, "invoke", 0, "write", 1)
    add(0.6, "ok", 0, "write", 1, zxid=1)
    add(2.0, "invoke", "nemesis", "start-partition", None)
    add(2.01, "info", "nemesis", "start-partition", {"shape": "halves", "grudge": grudge})
    add(3.0, "invoke", 1, "cas", [4, 2])
    add(3.1, "fail", 1, "cas", [4, 2], error="value-mismatch")
    add(3.2, "invoke", 1, "cas", [0, 2])
    add(3.3, "fail", 1, "cas", [0, 2], error="value-mismatch")
    add(4.0, "invoke", 0, "write", 3)
    add(4.1, "ok", 0, "write", 3, zxid=2)
    add(5.0, "invoke", 2, "read", None)
    add(5.1, "ok", 2, "read", 1, zxid=1)  # stale: 3 was acknowledged at 4.1 s
    add(6.0, "invoke", "nemesis", "stop-partition", None)
    add(6.02, "info", "nemesis", "stop-partition", "healed")
    add(7.0, "invoke", "nemesis", "kill", None)
    add(7.01, "info", "nemesis", "kill", ["n3"])
    add(9.0, "invoke", "nemesis", "restart", None)
    add(9.25, "info", "nemesis", "restart", ["n3"])
    add(10.0, "invoke", 9, "sync-read", None, final=True)
    add(10.1, "ok", 9, "sync-read", 77, zxid=2, final=True, sync=True)
    w.close()
    check_run(run, ops, get_workload("register", random.Random(0)), "zookeeper")
    return write_report(run)


def test_the_report_counts_ops_and_events_apart_and_says_faults_in_words(tmp_path: Path) -> None:
    page = Texts()
    page.feed(register_run(tmp_path).read_text())
    assert page.by_class["ops"][0] == "6 ops"  # invocations of clients, not the 20 events
    assert page.by_class["events"][0].startswith("20 history events")
    assert page.by_class["faults"][0] == "2 faults"
    faults = page.by_class["faults"][1]
    assert "partition {n1,n2} | {n3,n4,n5} at 2.0–6.0 s" in faults
    assert "kill n3 at 7.0 s, restarted 9.2 s" in faults
    assert "{'" not in faults and "grudge" not in faults


def test_the_report_opens_with_the_failing_checker_in_a_sentence(tmp_path: Path) -> None:
    page = Texts()
    page.feed(register_run(tmp_path).read_text())
    lead = page.by_class["lead"][0]
    assert lead.startswith("linearizable: not linearizable: no order of the")
    assert "explains read -> 77" in lead
    assert lead.endswith("— invoked after the kill of n3 at 7.0 s")
    summaries = " | ".join(page.by_class["summary"])
    assert "1 stale read, which ZooKeeper allows" in summaries


def test_the_report_explains_checkers_allowed_behaviour_and_failed_cas(tmp_path: Path) -> None:
    html = register_run(tmp_path).read_text()
    page = Texts()
    page.feed(html)
    rows = page.by_class["verdict"]
    assert any(r.startswith("linearizable ✘ INVALID") for r in rows)
    for name in ("linearizable", "zookeeper"):
        assert any(EXPLAIN[name] in r for r in rows), name
    allowed = page.by_class["allowed"][0]
    assert (
        allowed.startswith("Stale reads.")
        and "This run: 1 stale read, counted, not failed." in allowed
    )
    table = page.by_class["ops"][1]
    assert OUTCOME_NOTES[("cas", "fail")] in table


def test_analyze_prints_one_line_per_checker_with_its_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from zablab.cli import main

    run = register_run(tmp_path).parent
    capsys.readouterr()
    assert main(["analyze", str(run)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{run}: INVALID"
    assert lines[1] == "  register: INVALID — failed: linearizable, zookeeper"
    assert lines[2].startswith("    linearizable: INVALID — not linearizable: no order of the")
    assert lines[3].startswith("    zookeeper: INVALID — 1 violation of ZooKeeper's guarantees")
    assert lines[3].endswith(
        "1 stale read, which ZooKeeper allows (only writes are "
        "linearizable; reads may lag unless preceded by sync)"
    )


def test_a_run_that_never_reached_its_check_reports_unknown_with_the_reason(
    tmp_path: Path,
) -> None:
    report = register_run(tmp_path)
    (report.parent / "results.json").unlink()
    page = Texts()
    page.feed(write_report(report.parent).read_text())
    assert page.by_class["lead"][0] == (
        "unknown: the run has no results.json: it was interrupted or crashed before the check"
    )
    assert page.title == "zk-register — unknown"


def test_results_written_before_summaries_existed_still_get_sentences(tmp_path: Path) -> None:
    import json

    report = register_run(tmp_path)
    path = report.parent / "results.json"

    def strip(d: dict) -> dict:
        d.pop("summary", None)
        for c in d.get("children", []):
            strip(c)
        return d

    path.write_text(json.dumps(strip(json.loads(path.read_text()))))
    page = Texts()
    page.feed(write_report(report.parent).read_text())
    assert page.by_class["lead"][0].startswith("linearizable: not linearizable: no order of")
    assert any("1 stale read, which ZooKeeper allows" in s for s in page.by_class["summary"])
