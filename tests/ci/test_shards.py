"""--shard I/K splits seeds disjointly and completely, the same way in `zablab sim` and `test`."""

from __future__ import annotations

import pytest

from zablab.cli import main
from zablab.errors import UserError
from zablab.shards import parse_shard, shard


@pytest.mark.parametrize("n", [1, 2, 7, 30, 101])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 7])
def test_shards_are_disjoint_complete_and_balanced(n: int, k: int) -> None:
    seeds = list(range(1000, 1000 + n))
    if k > n:
        with pytest.raises(UserError, match="holds none"):
            shard(seeds, f"{k}/{k}")
        return
    parts = [shard(seeds, f"{i}/{k}") for i in range(1, k + 1)]
    assert sorted(s for p in parts for s in p) == seeds  # complete, nothing twice
    assert sum(len(p) for p in parts) == n  # disjoint
    assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert all(p == sorted(p) for p in parts)


@pytest.mark.parametrize("bad", ["0/3", "4/3", "1/0", "a/b", "2", "-1/2", ""])
def test_bad_shard_specs_are_usage_errors(bad: str) -> None:
    with pytest.raises(UserError, match="--shard takes I/K"):
        parse_shard(bad)


def test_sim_runs_only_its_shard(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--seeds", "5", "--first", "10", "--shard", "2/2", "--nodes", "3"]) == 0
    captured = capsys.readouterr()
    ran = [line.split(":")[0] for line in captured.out.splitlines() if line.startswith("seed ")]
    assert ran == ["seed 11", "seed 13"]


def test_test_command_refuses_a_shard_without_a_seed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "--test-count", "4", "--shard", "1/2"]) == 255
    assert "--shard needs --seed" in capsys.readouterr().err


def test_test_command_runs_only_its_shards_seeds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path
    from types import SimpleNamespace

    from zablab.checkers.result import Result
    from zablab.harness import progress, runner

    ran: list[int] = []

    def fake_run(r: object, quiet: bool) -> SimpleNamespace:
        ran.append(r.seed)  # type: ignore[attr-defined]
        return SimpleNamespace(
            run_dir=Path("store/x"), result=Result("t", True), ops=0, seconds=0.0, exit_code=0,
            errors=[], interrupted=False,
        )

    monkeypatch.setattr(runner, "Runner", lambda opts: opts)
    monkeypatch.setattr(progress, "run_with_progress", fake_run)
    args = ["test", "--seed", "40", "--test-count", "5", "--shard", "2/2", "--nodes", "3"]
    assert main(args) == 0
    assert ran == [41, 43]
