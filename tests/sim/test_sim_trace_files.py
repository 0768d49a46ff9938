"""A run is a list of explicit steps: saved as a trace file, it replays to the same ZAB trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zablab.sim import SimConfig, Simulation, simulate
from zablab.sim.__main__ import main
from zablab.sim.stepper import Stepper, replay
from zablab.sim.tracefile import load_trace


def recorded(seed: int, cfg: SimConfig) -> Simulation:
    sim = Simulation(seed, cfg)
    sim.record = True
    sim.run()
    return sim


@pytest.mark.parametrize(
    "nodes,bugs",
    [(3, ()), (5, ()), (3, ("diff-without-trunc",)), (3, ("election-ignores-zxid",))],
)
def test_recorded_steps_replay_to_the_same_trace(nodes: int, bugs: tuple[str, ...]) -> None:
    cfg = SimConfig(nodes=nodes, bugs=bugs)
    for seed in range(12):
        sim = recorded(seed, cfg)
        original = simulate(seed, cfg)  # recording changes nothing about the run
        _, again = replay(cfg, sim.steps, safety_only=False)
        assert again.trace_hash == original.trace_hash, seed
        assert again.violations == original.violations, seed
        assert {s["do"] for s in sim.steps} >= {"deliver", "tick", "timer", "flush", "restart"}


def test_a_changed_step_changes_the_trace() -> None:
    """The replay follows the steps: the hash check is not vacuous."""
    cfg = SimConfig()
    sim = recorded(4, cfg)
    crash = next(i for i, s in enumerate(sim.steps) if s["do"] == "crash")
    edited = sim.steps[:crash] + sim.steps[crash + 1 :]
    _, r = replay(cfg, edited, safety_only=False)
    assert r.trace_hash != simulate(4, cfg).trace_hash


def test_a_step_whose_choice_is_gone_does_nothing() -> None:
    st = Stepper(SimConfig())
    assert st.step({"t": 0, "do": "deliver", "frm": 1, "to": 2, "ch": "zab"}) is False
    assert st.step({"t": 0, "do": "timer", "node": 1, "at": 5}) is False  # node 1 is down
    assert st.step({"t": 0, "do": "restart", "node": 1}) is True
    assert st.steps == [{"t": 0, "do": "restart", "node": 1}]


def test_save_trace_then_replay_prints_the_same_hash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "run.json"
    assert main(["--seed", "5", "--save-trace", str(path)]) == 0
    doc = json.loads(path.read_text())
    assert doc["protocol"] == "zab" and doc["bugs"] == [] and doc["config"]["nodes"] == 3
    assert doc["checks"] == "all" and doc["steps"][0] == {"t": 0, "do": "restart", "node": 1}
    capsys.readouterr()
    assert main(["--replay", str(path)]) == 0
    out = capsys.readouterr().out
    want = simulate(5, SimConfig()).trace_hash[:12]
    assert f"ok, trace {want} as saved" in out


def test_a_failing_seed_saves_its_trace_and_prints_one_replay_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = ["--bug", "commit-without-quorum", "--trace-dir", str(tmp_path)]
    seed = next(
        s
        for s in range(150)
        if simulate(s, SimConfig(bugs=("commit-without-quorum",))).safety_violations
    )
    assert main(["--seed", str(seed), *cfg]) == 1
    out = capsys.readouterr().out
    path = tmp_path / f"seed-{seed}.json"
    replays = [line.strip() for line in out.splitlines() if "replay:" in line]
    assert replays == [f"replay: zablab sim --replay {path}"]
    tf = load_trace(path)
    assert tf.config.bugs == ("commit-without-quorum",) and tf.checks == "safety"
    assert main(["--replay", str(path)]) == 1  # the bug comes from the file, not the options
    assert f"trace {tf.trace_hash[:12]} as saved" in capsys.readouterr().out


def test_a_tampered_trace_says_its_replay_differs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "run.json"
    assert main(["--seed", "6", "--save-trace", str(path)]) == 0
    doc = json.loads(path.read_text())
    doc["steps"] = [s for s in doc["steps"] if s["do"] != "crash"]
    path.write_text(json.dumps(doc))
    capsys.readouterr()
    main(["--replay", str(path)])
    assert "DIFFERS from the saved" in capsys.readouterr().out


@pytest.mark.parametrize(
    "content,says",
    [
        (None, "no such trace file"),
        (b"\x00\xff\x10binary", "not a JSON trace file"),
        (b'{"steps": []}', "not a zablab sim trace"),
        (
            b'{"format": "zablab-sim-trace", "version": 1, "config": {"nodez": 3}, "steps": []}',
            "unknown config keys ['nodez']",
        ),
        (
            b'{"format": "zablab-sim-trace", "version": 1, "config": {}, "steps": [3]}',
            "step 0 is not an object",
        ),
        (
            b'{"format": "zablab-sim-trace", "version": 1, "config": {},'
            b' "steps": [{"do": "deliver", "to": 2}]}',
            "step 0 {'do': 'deliver', 'to': 2} is malformed",
        ),
        (
            b'{"format": "zablab-sim-trace", "version": 1, "config": {},'
            b' "steps": [{"do": "restart", "node": 9}]}',
            "no node 9",
        ),
        (
            b'{"format": "zablab-sim-trace", "version": 1, "config": {"bugs": ["nope"]},'
            b' "steps": []}',
            "unknown seeded bug 'nope'",
        ),
    ],
)
def test_bad_trace_files_are_one_line_and_255(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | None, says: str
) -> None:
    path = tmp_path / "t.json"
    if content is not None:
        path.write_bytes(content)
    assert main(["--replay", str(path)]) == 255
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0], err


def test_usage_errors_are_255(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seeds", "2", "--save-trace", "x.json"]) == 255
    assert main(["--search", "sideways"]) == 255
    assert main(["--no-such-option"]) == 255
    assert "see --help" in capsys.readouterr().err


def test_many_seeds_save_every_failure_and_shrink_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = SimConfig(bugs=("commit-without-quorum",))
    failing = [s for s in range(15) if not simulate(s, cfg).ok]
    assert len(failing) >= 2
    args = ["--seeds", "15", "--bug", "commit-without-quorum", "--quiet"]
    assert main([*args, "--trace-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"seed-{s}.json" for s in failing)
    assert out.count("shrunk to") == 1 and out.count("replay: zablab sim --replay") == len(failing)
    assert load_trace(tmp_path / f"seed-{failing[0]}.json").checks == "safety"
    assert load_trace(tmp_path / f"seed-{failing[1]}.json").checks == "all"
