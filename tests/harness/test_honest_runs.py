"""Runs that did not finish, or recorded nothing, are never valid: `test` and `analyze` say
unknown (exit 2) with the reason in one line; a cluster too big for this machine is refused
before anything starts; a run's errors are one line per kind."""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
import threading
import time

import pytest

from zablab.cli import main
from zablab.harness.runner import Runner, TestOptions
from zablab.harness.tally import ErrorTally


def _analyze(run, capsys):
    rc = main(["analyze", str(run)])
    return rc, capsys.readouterr().out


def test_analyze_of_a_crashed_run_with_no_operations_is_unknown(tmp_path, capsys):
    run = tmp_path / "store" / "t" / "20260101T000000.000"
    run.mkdir(parents=True)
    (run / "history.jsonl").write_text("")
    (run / "test.json").write_text(json.dumps({"options": {"workload": "register"}}))
    rc, out = _analyze(run, capsys)
    assert rc == 2, out
    first = out.splitlines()[0]
    assert "unknown: " in first and "no client operation succeeded" in first
    assert json.loads((run / "results.json").read_text())["valid"] == "unknown"


def test_a_harness_crash_is_recorded_and_analyze_keeps_it_unknown(
    tmp_path, no_leaks, monkeypatch, capsys
):
    def boom(self):
        raise RuntimeError("harness bug")

    monkeypatch.setattr(Runner, "_main_phase", boom)
    opts = TestOptions(
        nodes=1, nemesis="none", time_limit=2, store=str(tmp_path / "store"), report=False
    )
    with pytest.raises(RuntimeError):
        Runner(opts).run()
    store = tmp_path / "store"
    run = store / (store / "latest").read_text().strip()
    test = json.loads((run / "test.json").read_text())
    assert test["status"] == "crashed" and "harness bug" in test["reason"]
    assert json.loads((run / "results.json").read_text())["valid"] == "unknown"
    rc, out = _analyze(run, capsys)
    assert rc == 2 and "crashed" in out.splitlines()[0], out


def _low_fd_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


def test_too_many_nodes_for_the_fd_limit_is_refused_before_anything_starts(tmp_path):
    store = tmp_path / "store"
    t = time.monotonic()
    p = subprocess.run(
        [sys.executable, "-m", "zablab", "test", "--nodes", "40", "--store", str(store)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_low_fd_limit,
        env={**os.environ, "ZABLAB_RUNTIME_DIR": str(tmp_path / "rt")},
    )
    assert p.returncode == 255, p.stderr[-2000:]
    assert time.monotonic() - t < 30
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "ulimit -n" in lines[0] and "at most" in lines[0], lines[:5]
    assert not store.exists()  # no run dir, and no `latest` naming a broken run


def test_errors_repeated_a_million_ways_are_one_line_with_a_count(tmp_path):
    sink = logging.FileHandler(tmp_path / "log")
    with ErrorTally(sink) as tally:
        log = logging.getLogger("asyncio")
        for port in range(500):
            try:
                raise OSError(24, f"Too many open files (port {port})")
            except OSError:
                log.error("socket.accept() out of system resource", exc_info=True)

        def worker() -> None:
            raise ValueError("bad frame 17")

        threads = [threading.Thread(target=worker, name=f"worker-{i}") for i in range(20)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    sink.close()
    lines = tally.summary()
    assert len(lines) == 2, lines
    assert lines[0].startswith("500 x OSError: [Errno N] Too many open files")
    assert lines[1].startswith("20 x ValueError: bad frame N (thread worker-N)")
    text = (tmp_path / "log").read_text()
    assert text.count("Traceback") == 2  # the first of each kind, in full
