"""PaxosRun (the ZooKeeper wiki's instances 27, 28, 29 decided C, B, D) as a scripted schedule
on three whole servers: ZAB passes, Paxos/deltas breaks local primary order and the tree shows a
version jump, Paxos/commands breaks primary order in the trace yet the clients' history is
linearizable and every txn fits its tree."""

from __future__ import annotations

import json
import logging

import pytest

from zablab.sim.__main__ import main as sim_main
from zablab.sim.paxosrun import PaxosRun, run_paxosrun


@pytest.fixture(scope="module", autouse=True)
def _quiet_servers():
    logger = logging.getLogger("zablab.node")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture(scope="module")
def runs() -> dict[str, PaxosRun]:
    return {
        "zab": run_paxosrun("zab"),
        "deltas": run_paxosrun("paxos", "deltas"),
        "commands": run_paxosrun("paxos", "commands"),
    }


def labels(run: PaxosRun) -> set[tuple[str, ...]]:
    """Each server's delivered A-D labels, zxids left out."""
    return {tuple(x.split("(")[0] for x in seq) for seq in run.delivered.values()}


def verdict(run: PaxosRun, prop: str) -> object:
    return next(c.valid for c in run.zab.children if c.checker == prop)


def test_zab_delivers_c_and_d_only_and_passes(runs):
    r = runs["zab"]
    assert labels(r) == {("C", "D")}
    assert r.broken == [] and r.exit_code == 0
    assert verdict(r, "local-primary-order") is True
    assert r.misfits == [] and r.trees_agree
    assert r.linearizable.valid is True
    assert {v for _, v in r.r_stat.values()} == {1}  # only D ever set /r


def test_paxos_deltas_breaks_primary_order_and_the_tree_shows_a_version_jump(runs):
    r = runs["deltas"]
    # instances 27, 28, 29 decided C, B, D; zxid = (round, slot)
    assert set(map(tuple, r.delivered.values())) == {("C(0x2:27)", "B(0x1:28)", "D(0x3:29)")}
    assert r.roles == {"P1": 1, "P2": 2, "P3": 3}  # three leaders, as in the wiki
    assert verdict(r, "local-primary-order") is False
    assert "local-primary-order" in r.broken and r.exit_code == 1
    # B was prepped after A (version 1) as "version 2", and lands on version 0
    assert r.misfits and all("setData /r to version 2 on version 0" in m for m in r.misfits)
    assert "version jump" in r.report()
    assert "B delivered without A on n1, n2, n3" in r.report()
    assert {v for _, v in r.r_stat.values()} == {3}  # two writes took effect, version 3
    assert any(b.startswith("data-tree") for b in r.broken)


def test_paxos_commands_breaks_primary_order_but_the_history_is_linearizable(runs):
    r = runs["commands"]
    assert labels(r) == {("C", "B", "D")}
    assert verdict(r, "local-primary-order") is False
    assert verdict(r, "agreement") is True and verdict(r, "integrity") is True
    assert r.misfits == [] and r.trees_agree
    assert r.linearizable.valid is True
    assert r.linearizable.details  # it checked ops, not an empty history
    assert {v for _, v in r.r_stat.values()} == {2}  # B then D, each validated where it landed
    assert not any(b.startswith("data-tree") for b in r.broken)


def test_the_history_is_checked_on_real_ops(runs):
    """The verdict rests on the clients' puts and the final reads at every server."""
    for r in runs.values():
        final = [o for o in r.history if o.type == "ok" and o.extra.get("final")]
        assert {o.extra["node"] for o in final} == {"n1", "n2", "n3"}
        assert {o.value for o in final if o.extra["key"] == "/r"} == {"d"}
        assert {o.value for o in final if o.extra["key"] == "/s"} == {"c"}
        assert {o.type for o in r.history if o.value in ("a", "b")} == {"invoke", "info"}


def test_the_schedule_is_deterministic(runs):
    again = run_paxosrun("paxos", "deltas")
    assert again.trace_hash == runs["deltas"].trace_hash
    assert again.steps == runs["deltas"].steps


def test_cli_exit_status_names_the_broken_property(capsys, tmp_path):
    assert sim_main(["--scenario", "paxosrun", "--protocol", "zab"]) == 0
    assert "broken: nothing" in capsys.readouterr().out
    saved = tmp_path / "paxosrun.json"
    argv = ["--scenario", "paxosrun", "--protocol", "paxos", "--paxos-mode", "deltas"]
    assert sim_main([*argv, "--save-trace", str(saved)]) == 1
    out = capsys.readouterr().out
    assert "broken: " in out and "local-primary-order" in out.split("broken: ")[1]
    doc = json.loads(saved.read_text())
    assert doc["servers"] == "deltas" and doc["format"] == "zablab-sim-trace"
    assert sim_main(["--replay", str(saved)]) == 1
    out = capsys.readouterr().out
    assert "trace as saved" in out and "version jump" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ["--scenario", "paxosrun", "--protocol", "zab", "--paxos-mode", "commands"],
            "needs the paxos protocol",
        ),
        (["--seed", "1", "--paxos-mode", "commands"], "--paxos-mode needs whole servers"),
        (["--scenario", "paxosrun", "--nodes", "5"], "one fixed schedule on three servers"),
    ],
)
def test_bad_mode_combinations_are_one_line(argv, needle, capsys):
    assert sim_main(argv) == 255
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("zablab: error:") and needle in err[0]


def test_the_script_runs_on_any_replica_the_caller_builds():
    """A lab passes its student's replica; here a factory that counts what it built."""
    from zablab.node.replica.factory import make_replica

    built: list[int] = []

    def factory(protocol, my_id, members, cfg, storage, app):
        built.append(my_id)
        return make_replica(protocol, my_id, members, cfg, storage, app)

    r = run_paxosrun("paxos", "commands", replica_factory=factory)
    assert sorted(built) == [1, 2, 3]  # no crash: one replica per server
    assert labels(r) == {("C", "B", "D")}
