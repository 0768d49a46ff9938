"""The zoo's sync-phase bugs on real processes: a follower stops itself at NEWLEADER of a new
epoch (``zablab node --crash-point newleader``), and the ``crash-point`` nemesis power-cuts the
ensemble there with lose-unfsynced, restarting the sync's leader last. With the bug the
follower has already taken the new currentEpoch over a log that loses the sync's txns, wins
the next election and truncates committed txns: the set checker finds acknowledged adds lost.
The clean build survives the same crash point. The nemesis also makes the moment happen (a
paused follower falls behind, the leader dies as it resumes); the seeds are a bound, not a
choice: ``--until-invalid`` stops at the first run that catches the bug."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import pytest

from tests.harness.test_lazyfs import needs_fuse
from zablab.bugs import BUGS, CRASH_POINT
from zablab.cli import main

SYNC_PHASE_BUGS = [n for n, b in BUGS.items() if b.harness is CRASH_POINT]


def _zablab(line: str, store: Path) -> int:
    """A registry's harness line (its docs page shows it), run here with a private store."""
    argv = shlex.split(line)
    assert argv[:2] == ["zablab", "test"]
    return main([*argv[1:], "--store", str(store), "-q"])


def _runs(store: Path) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """(results, the crash points the nemesis answered) of every run in ``store``."""
    out = []
    for d in sorted(p for p in store.glob("*/*") if (p / "results.json").exists()):
        ops = [json.loads(line) for line in (d / "history.jsonl").open()]
        cuts = [
            o["value"]["crash-point"]
            for o in ops
            if o["process"] == "nemesis" and o["type"] == "info"
            and isinstance(o.get("value"), dict) and "crash-point" in o["value"]
        ]  # fmt: skip
        out.append((json.loads((d / "results.json").read_text()), cuts))
    return out


def _set(results: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in results["children"] if c["checker"] == "set")


def test_the_registry_names_the_bugs_reproduced_here() -> None:
    assert sorted(SYNC_PHASE_BUGS) == [
        "diff-logged-after-uptodate",
        "epoch-before-persist",
        "newleader-ack-before-sync",
    ]
    # the others on real processes: test_lazyfs.py (ack-before-fsync, lose-unfsynced) and
    # test_broken_system.py (commit-without-quorum, partition-leader)
    on_real = {n for n, b in BUGS.items() if b.harness is not None}
    assert on_real == {*SYNC_PHASE_BUGS, "ack-before-fsync", "commit-without-quorum"}


@needs_fuse
@pytest.mark.parametrize("bug", SYNC_PHASE_BUGS)
def test_a_sync_phase_bug_loses_acknowledged_adds_at_the_crash_point(
    bug: str, tmp_path: Path, no_leaks: Path
) -> None:
    store = tmp_path / "s"
    rc = _zablab(BUGS[bug].harness_commands()["harness"], store)
    runs = _runs(store)
    assert rc == 1, [(r["valid"], cuts) for r, cuts in runs]
    results, cuts = runs[-1]
    assert results["valid"] is False and cuts, results  # caught where the crash point fired
    assert _set(results)["valid"] is False and _set(results)["lost-count"] > 0


@needs_fuse
def test_the_clean_build_survives_the_same_crash_points(tmp_path: Path, no_leaks: Path) -> None:
    store = tmp_path / "s"
    rc = _zablab(CRASH_POINT.command(None), store)
    [(results, cuts)] = _runs(store)
    assert rc == 0 and results["valid"] is True, results
    assert cuts, "no crash point fired: the control saw no sync-phase crash"


def test_crash_points_on_apache_zookeeper_are_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["test", "--db", "zookeeper", "--nemesis", "crash-point", "--store", str(tmp_path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 255 and len(err) == 1
    assert "the crash-point nemesis needs zablab's nodes (--db zablab)" in err[0]


def test_an_unknown_crash_point_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["node", "--crash-point", "ackk", "--trace", "/dev/null"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 255 and err == [
        "zablab: error: unknown --crash-point 'ackk'; choose from: newleader."
    ], err
