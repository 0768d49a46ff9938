"""Piped, `zablab test` prints a line per phase and a status line every 10 s (ops, outcomes, the
fault in force); Ctrl-C says what it cleaned up and where the partial run is, exits 130, and the
run stays marked interrupted, for analyze too. On a terminal the bar carries the same status."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from zablab.harness.progress import run_with_progress, status_text


class FakeRunner:
    """Calls progress like the runner does; its snapshot is what the display must show."""

    def __init__(self) -> None:
        self.progress = lambda phase, frac: None

    def snapshot(self):
        return {"phase": "running", "ops": 1234, "ok": 1200, "fail": 30, "info": 4,
                "fault": "kill n2"}  # fmt: skip

    def run(self):
        for phase in ("setup", "starting", "running", "running", "checking"):
            self.progress(phase, 0.5)
        return "done"


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_status_line_names_ops_outcomes_and_fault():
    assert status_text(FakeRunner().snapshot()) == (
        "1,234 ops (ok 1,200, fail 30, info 4); fault: kill n2"
    )


def test_piped_output_has_one_line_per_phase():
    out = io.StringIO()
    assert run_with_progress(FakeRunner(), quiet=False, out=out) == "done"
    phases = [line.split("] ", 1)[1] for line in out.getvalue().splitlines()]
    assert phases == ["setup", "starting", "running", "checking"]


def test_the_terminal_bar_carries_the_status():
    out = Tty()
    run_with_progress(FakeRunner(), quiet=False, out=out)
    assert "1,234 ops (ok 1,200, fail 30, info 4); fault: kill n2" in out.getvalue()


@pytest.mark.slow
def test_piped_run_reports_status_and_ctrl_c_marks_it_interrupted(tmp_path, runtime_dir):
    store = tmp_path / "store"
    p = subprocess.Popen(
        [sys.executable, "-m", "zablab", "test", "--nodes", "3", "--nemesis", "kill",
         "--nemesis-interval", "2", "--time-limit", "120", "--store", str(store)],
        env={**os.environ, "ZABLAB_RUNTIME_DIR": str(runtime_dir), "TMPDIR": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        assert p.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "running: " in line and " ops (ok " in line:
                break
        assert any("ops (ok" in ln and "fault: " in ln for ln in lines), lines
        assert any(ln.rstrip().endswith("] starting") for ln in lines), lines
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, err
    assert "cleaned up" in err and "killed 3 node processes" in err, err
    run = store / (store / "latest").read_text().strip()
    assert "partial run" in err and str(run) in err
    assert json.loads((run / "test.json").read_text())["status"] == "interrupted"
    assert json.loads((run / "results.json").read_text())["valid"] == "unknown"
    a = subprocess.run(
        [sys.executable, "-m", "zablab", "analyze", str(run)], capture_output=True, text=True
    )
    assert a.returncode == 2 and "interrupted" in a.stdout.splitlines()[0], a.stdout + a.stderr
    assert not list(runtime_dir.glob("*.json"))
