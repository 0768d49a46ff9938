"""`zablab sim --workload`: verdict lines, the run store, exit codes."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from zablab.cli import main as cli_main


def test_valid_seeds_exit_0_with_run_dirs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = cli_main(
        ["sim", "--workload", "register", "--seeds", "2", "--nodes", "3", "--store", str(tmp_path)]
    )
    out = capsys.readouterr().out
    assert rc == 0, out
    assert out.count(": valid (") == 2
    (top,) = (tmp_path / "sim-register").iterdir()
    summary = json.loads((top / "results.json").read_text())
    assert summary["valid"] is True and summary["seeds"] == {"0": True, "1": True}
    for seed in (0, 1):
        d = top / f"seed-{seed}"
        assert json.loads((d / "results.json").read_text())["valid"] is True
        assert (d / "history.jsonl").read_text().count("\n") > 50
        assert (d / "zab-trace.jsonl").exists()
    assert (top / "seed-1" / "report.html").exists()  # the last seed's report
    assert (tmp_path / "latest").read_text().strip() == f"sim-register/{top.name}/seed-1"


def test_seeded_bug_exits_1_and_prints_the_replay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["sim", "--workload", "register", "--seed", "11", "--bug", "commit-without-quorum"]
    rc = cli_main([*args, "--store", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "INVALID" in out and "linearizable" in out
    assert (
        "replay: zablab sim --workload register --nodes 3 --seed 11 --bug commit-without-quorum"
        in out
    )
    (top,) = (tmp_path / "sim-register").iterdir()
    assert "INVALID" in (top / "seed-11" / "report.html").read_text()


def test_unknown_exits_2(tmp_path: Path) -> None:
    args = ["sim", "--workload", "set", "--seed", "0", "--op-timeout-ms", "1"]
    assert cli_main([*args, "--duration-ms", "500", "--store", str(tmp_path), "--quiet"]) == 2


@pytest.mark.parametrize(
    "args",
    [
        ["--workload", "bogus", "--seed", "1"],
        ["--workload", "register"],
        ["--workload", "register", "--seeds", "0"],
        ["--workload", "register", "--seed", "1", "--nodes", "0"],
        ["--workload", "register", "--seed", "1", "--bug", "no-such-bug"],
        ["--workload", "register", "--seed", "x"],
    ],
)
def test_usage_errors_exit_255_with_one_line(
    args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["sim", *args, "--store", str(tmp_path)]) == 255
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("zablab: error:")
    assert not (tmp_path / "sim-register").exists()


README = Path(__file__).parents[2] / "README.md"


def _readme_line(needle: str) -> list[str]:
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("zablab sim --workload") and needle in line:
            return shlex.split(line.split("#", 1)[0])[1:]
    raise AssertionError(f"the README no longer shows a whole-node line with {needle!r}")


def test_readme_bug_demo_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _readme_line("--bug commit-without-quorum")
    assert cli_main([*args, "--store", str(tmp_path)]) == 1
    assert "linearizable: False" in capsys.readouterr().out


@pytest.mark.slow
def test_readme_200_seeds_are_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = _readme_line("--seeds 200")
    assert cli_main([*args, "--store", str(tmp_path), "--quiet"]) == 0, capsys.readouterr().out


def test_workload_none_is_the_bare_replica_simulation(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["sim", "--workload", "none", "--seed", "1"]) == 0
    assert cli_main(["sim", "--workload=none", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.count("seed 1: ok (") == 2  # the bare simulator's verdict line
