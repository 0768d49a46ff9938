"""The seeded-bug registry (zablab/bugs.py): every bug is caught by the checker it names within
its seed bound, the same seeds without it are clean, and a misspelt name is the same one-line
error, exit 255, at every entry point."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from zablab.bugs import BUGS, SWITCHES, Layer, SeededBug, known, parse_bugs
from zablab.cli import main
from zablab.errors import UserError
from zablab.sim import SimConfig, simulate

TYPO = "commit-without-quorun"


def _by_checker(*checkers: str) -> list[str]:
    return sorted(n for n, b in BUGS.items() if b.checker in checkers)


def test_every_layer_switch_is_a_registry_entry_and_back():
    for cls in SWITCHES:
        assert {f.name.replace("_", "-") for f in fields(cls)} == set(known([cls.LAYER]))
        assert cls.of(known([cls.LAYER])).names == set(known([cls.LAYER]))
    with_switches = {cls.LAYER for cls in SWITCHES}
    assert {b.layer for b in BUGS.values() if b.checker != "differential"} <= with_switches


def test_every_switch_is_read_by_its_layer():
    """A registered switch no code reads would be a bug that is silently never on."""
    pkg = Path(__file__).parents[2] / "zablab"
    read: set[str] = set()
    for path in pkg.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                read.add(node.attr)
    for cls in SWITCHES:
        assert {f.name for f in fields(cls)} <= read, cls.__name__


def test_every_entry_names_a_checker_and_a_bound():
    for b in BUGS.values():
        assert b.summary and b.checker
        # differential: one program; zoo: bounded by its search (tests/sim/test_bug_zoo.py)
        assert b.seeds > 0 or b.checker in ("differential", "zoo"), b.name
        assert b.checker != "zoo" or (b.history is not None and b.ticket), b.name


# ---- every bug is caught, and its seeds are clean without it ----------------------------------


@pytest.mark.parametrize("nodes", [3, 5])
@pytest.mark.parametrize("name", _by_checker("sim"))
def test_replica_bug_is_caught_by_the_simulator_within_its_bound(name: str, nodes: int) -> None:
    bug = BUGS[name]
    for seed in range(bug.seeds):
        r = simulate(seed, SimConfig(nodes=nodes, bugs=(name,)))
        if r.safety_violations:
            break
    else:
        pytest.fail(f"{name} survived {bug.seeds} seeds on {nodes} replicas")
    assert f"--bug {name}" in r.summary() and f"--seed {seed}" in r.summary()
    # The same seeds without the bug are clean: the violation is the bug's doing.
    assert all(simulate(s, SimConfig(nodes=nodes)).ok for s in range(seed + 1))


def _find(result: dict[str, Any], name: str) -> dict[str, Any] | None:
    if result.get("checker") == name:
        return result
    for c in result.get("children", []):
        found = _find(c, name)
        if found:
            return found
    return None


def _client_run(store: Path, seed: int, bug: str) -> tuple[int, dict[str, Any]]:
    args = ["test", "--db", "zablab", "--nodes", "1", "--nemesis", "none", "--time-limit", "4"]
    args += ["--concurrency", "3", "--seed", str(seed), "--store", str(store), "-q"]
    if bug:
        args += ["--client-bug", bug]
    rc = main(args)
    run = store / (store / "latest").read_text().strip()
    return rc, json.loads((run / "results.json").read_text())


#: client bugs of the election workload need its faults; tests/harness/test_workload_election.py
#: walks them (and checks that it covers exactly these)
ELECTION_BUGS = sorted(n for n in known([Layer.CLIENT]) if BUGS[n].checker == "election")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(known([Layer.CLIENT])) - set(ELECTION_BUGS)))
def test_client_bug_is_caught_by_its_checker_within_its_bound(
    name: str, tmp_path: Path, no_leaks: Path
) -> None:
    bug: SeededBug = BUGS[name]
    for seed in range(1, bug.seeds + 1):
        rc, results = _client_run(tmp_path / f"bug{seed}", seed, name)
        verdict = _find(results, bug.checker)
        if rc == 1 and verdict is not None and verdict["valid"] is False:
            break
    else:
        pytest.fail(f"{name} was not caught by {bug.checker} within {bug.seeds} seeds")
    rc, results = _client_run(tmp_path / "clean", seed, "")
    assert rc == 0, results
    assert (_find(results, bug.checker) or {}).get("valid") is True


def test_differential_doubles_are_the_registry_entries():
    """The server doubles run beside Apache ZooKeeper in tests/compat/test_differential.py;
    it parametrises over these names, so an entry without a double fails there."""
    path = Path(__file__).parents[1] / "compat" / "test_differential.py"
    spec = importlib.util.spec_from_file_location("_differential_doubles", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # its dataclasses look their module up
    try:
        spec.loader.exec_module(mod)
    finally:
        del sys.modules[spec.name]
    assert set(mod.SEEDED_BUGS) == set(_by_checker("differential"))


# ---- a misspelt name: one line, exit 255, at every entry point ---------------------------------


def _one_line(err: str) -> str:
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def _expect(err: str, allowed: list[str]) -> None:
    line = _one_line(err)
    assert f"unknown seeded bug {TYPO!r}; known bugs: {', '.join(allowed)}" in line, line


def test_parser_message_lists_the_known_bugs():
    with pytest.raises(UserError) as e:
        parse_bugs([TYPO], [Layer.ZAB])
    _expect(str(e.value), known([Layer.ZAB]))


def test_misspelt_bug_zablab_node(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["node", "--data-dir", str(tmp_path), "--bug", TYPO]) == 255
    _expect(capsys.readouterr().err, known([Layer.ZAB, Layer.PAXOS]))


def test_misspelt_bug_zoo_cfg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "zoo.cfg"
    cfg.write_text(f"dataDir={tmp_path}/d\nclientPort=0\nzablab.bugs={TYPO}\n")
    assert main(["node", "--config", str(cfg)]) == 255
    err = capsys.readouterr().err
    _expect(err, known([Layer.ZAB, Layer.PAXOS]))
    assert f"{cfg}:3" in err


def test_misspelt_bug_zablab_sim() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "zablab.sim", "--seed", "1", "--bug", TYPO],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 255
    _expect(out.stderr, known([Layer.ZAB]))


def test_misspelt_bug_zablab_test_db_args_stops_before_a_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_leaks: Path
) -> None:
    store = tmp_path / "store"
    rc = main(["test", "--db-args", f"--bug {TYPO}", "--time-limit", "5", "--store", str(store)])
    assert rc == 255
    _expect(capsys.readouterr().err, known([Layer.ZAB, Layer.PAXOS]))
    assert not store.exists() or not any(store.iterdir())  # no run was started


def test_misspelt_client_bug_zablab_test(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], no_leaks: Path
) -> None:
    store = tmp_path / "store"
    rc = main(["test", "--client-bug", TYPO, "--time-limit", "5", "--store", str(store)])
    assert rc == 255
    _expect(capsys.readouterr().err, known([Layer.CLIENT]))
    assert not store.exists() or not any(store.iterdir())
