"""`zablab sim --jobs N` spreads seeds over processes without changing a single line of what the
seeds report: a run depends on its seed and config only."""

from __future__ import annotations

import re

import pytest

from zablab.sim.__main__ import main


def _lines(out: str) -> list[str]:
    return [ln for ln in out.splitlines() if ln.startswith("seed ")]


def test_jobs_report_the_same_seeds_in_the_same_order(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["--seeds", "24", "--nodes", "3", "--bug", "commit-without-quorum"]
    serial_rc = main(args)
    serial = capsys.readouterr()
    parallel_rc = main([*args, "--jobs", "3"])
    parallel = capsys.readouterr()
    assert serial_rc == parallel_rc == 1  # the bug is caught either way
    assert _lines(serial.out) and _lines(serial.out) == _lines(parallel.out)
    failing = re.search(r"(\d+) failing", serial.err)
    assert failing and failing.group(0) in parallel.err


def test_jobs_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seeds", "2", "--jobs", "0"]) == 255
    assert "--jobs" in capsys.readouterr().err
