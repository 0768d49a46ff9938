"""The README's simulator demo demonstrates: the seeded bug it shows is caught, with a replay."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from zablab.cli import main

README = Path(__file__).parents[2] / "README.md"


def _demo() -> list[str]:
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("zablab sim ") and "--bug diff-without-trunc" in line:
            return shlex.split(line.split("#", 1)[0])[1:]
    raise AssertionError("the README no longer shows the diff-without-trunc demo")


def test_readme_sim_demo_exits_1_naming_the_violation(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the failing run's trace goes to store/sim here
    args = _demo()
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "VIOLATION" in out
    assert "- agreement: at position" in out and "lost write:" in out
    assert "sync mode=DIFF" in out  # the timeline shows the sync that should have been a TRUNC
    seed = args[args.index("--seed") + 1]
    assert f"rerun: python -m zablab.sim --seed {seed} --bug diff-without-trunc" in out
    assert f"replay: zablab sim --replay store/sim/seed-{seed}.json" in out
    assert (tmp_path / "store" / "sim" / f"seed-{seed}.json").exists()


def test_the_same_seed_without_the_bug_is_ok(capsys: pytest.CaptureFixture[str]) -> None:
    args = _demo()
    i = args.index("--bug")
    assert main(args[:i] + args[i + 2 :]) == 0
    assert "ok" in capsys.readouterr().out
