"""`zablab test --test-count N --until-invalid` stops at the first invalid run and keeps its
exit status; without the flag every seed runs. The runs are stand-ins: what is tested is the
loop over seeds, not a cluster."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from zablab.cli import main


@pytest.fixture
def fake_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[int]:
    """Seeds 7 and 8 are valid, 9 invalid, 10 valid; returns the seeds that ran."""
    ran: list[int] = []

    class FakeRunner:
        def __init__(self, opts: Any) -> None:
            self.opts, self.run_dir, self.errors = opts, tmp_path, []

    def run(runner: Any, quiet: bool) -> Any:
        seed = runner.opts.seed
        ran.append(seed)
        bad = seed == 9
        result = SimpleNamespace(valid=not bad, children=[], summary="", details={})
        return SimpleNamespace(
            result=result, run_dir=tmp_path, errors=[], interrupted=False,
            exit_code=1 if bad else 0, ops=10, seconds=1.0,
        )  # fmt: skip

    monkeypatch.setattr("zablab.harness.runner.Runner", FakeRunner)
    monkeypatch.setattr("zablab.harness.progress.run_with_progress", run)
    monkeypatch.setattr("zablab.harness.runner.unknown_reason", lambda r: None)
    return ran


def test_until_invalid_stops_at_the_first_invalid_run(fake_runs: list[int]) -> None:
    rc = main(["test", "--seed", "7", "--test-count", "4", "--until-invalid", "-q"])
    assert rc == 1 and fake_runs == [7, 8, 9]


def test_without_it_every_seed_runs(fake_runs: list[int]) -> None:
    rc = main(["test", "--seed", "7", "--test-count", "4", "-q"])
    assert rc == 1 and fake_runs == [7, 8, 9, 10]
