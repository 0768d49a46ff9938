"""Liveness under a lasting fault: with a minority crashed or cut off for good, the live
majority must establish a leader and commit its writes within the bound.

A full-heal run cannot tell a replica that needs a quorum from one that needs every member;
these runs can, which the quorum-of-all replica below shows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from zablab.node.zab.replica import ZabReplica
from zablab.sim import SimConfig, Simulation, simulate
from zablab.sim.__main__ import main
from zablab.sim.checks import LASTING_WRITES, Lasting, check_lasting, is_liveness
from zablab.sim.stepper import replay

MODES = ("crash-minority", "partition-minority")


@pytest.fixture
def quorum_of_all(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A broken ZAB replica: establishing a leader and committing need every member's ack
    (its election still settles on a majority's vote)."""
    init = ZabReplica.__init__

    def needing_everyone(self: ZabReplica, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.quorum = len(self.members)

    monkeypatch.setattr(ZabReplica, "__init__", needing_everyone)
    yield


@pytest.mark.parametrize("nodes", [3, 5])
@pytest.mark.parametrize("mode", MODES)
def test_the_replica_stays_live_with_a_minority_down_for_good(nodes: int, mode: str) -> None:
    cfg = SimConfig(nodes=nodes, lasting=mode)
    downs = set()
    for seed in range(25):
        sim = Simulation(seed, cfg)
        r = sim.run()
        assert r.ok, r.summary()
        # the verdict rests on checked progress: a live leader and its epoch's writes
        last = sim.lasting()
        assert last.leader in last.live and len(last.down) <= (nodes - 1) // 2
        assert len(last.down) >= 1
        mine = [w for w in last.writes if w[2] == last.epoch and w[1] in last.live]
        assert len(mine) >= LASTING_WRITES
        for n in last.down:
            node = sim.nodes[n]
            if mode == "crash-minority":
                assert not node.up
            else:
                assert node.up and all(not sim.net.connected(n, m) for m in last.live)
        assert sim.now < cfg.duration_ms + cfg.converge_ms  # stopped once the goal was met
        downs.add(tuple(last.down))
    assert len(downs) > 1  # the minority is drawn from the seed


def test_a_quorum_of_all_replica_passes_full_heals_but_not_lasting_faults(
    quorum_of_all: None,
) -> None:
    for nodes in (3, 5):
        for seed in range(8):
            healed = simulate(seed, SimConfig(nodes=nodes))
            assert healed.ok, healed.summary()
            for mode in MODES:
                r = simulate(seed, SimConfig(nodes=nodes, lasting=mode))
                assert r.violations and all(is_liveness(v) for v in r.violations), r.summary()
                assert r.violations[0].startswith("liveness: no leader established within 6000 ms")
                assert not r.safety_violations


def test_a_liveness_failure_is_reported_saved_and_replayed(
    quorum_of_all: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = main(["--seed", "2", "--nodes", "5", "--lasting", "crash-minority",
               "--trace-dir", str(tmp_path)])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 1
    assert "VIOLATION" in out and "liveness: no leader established within 6000 ms" in out
    assert "crashed for good" in out
    assert "rerun: python -m zablab.sim --seed 2 --nodes 5 --lasting crash-minority" in out
    saved = tmp_path / "seed-2.json"
    doc = json.loads(saved.read_text())
    assert doc["config"]["lasting"] == "crash-minority" and doc["checks"] == "all"
    assert main(["--replay", str(saved)]) == 1
    out = capsys.readouterr().out
    assert "VIOLATION" in out and "as saved" in out and "liveness: no leader" in out


@pytest.mark.parametrize("mode", MODES)
def test_a_lasting_run_replays_to_the_same_trace_and_verdict(mode: str) -> None:
    cfg = SimConfig(nodes=5, lasting=mode)
    for seed in range(6):
        sim = Simulation(seed, cfg)
        sim.record = True
        r = sim.run()
        _, again = replay(cfg, sim.steps, safety_only=False)
        assert again.trace_hash == r.trace_hash and again.violations == r.violations == []
        assert again.stats["crashes"] == r.stats["crashes"]


def _lasting(**kw: Any) -> Lasting:
    base: dict[str, Any] = dict(
        mode="crash-minority", bound_ms=6000, live=[1, 2], down=[3], leader=1, epoch=2,
        writes=[(b"a", 1, 2), (b"b", 2, 2), (b"c", 1, 2), (b"old", 2, 1)],
    )  # fmt: skip
    return Lasting(**{**base, **kw})


def test_check_lasting_names_what_did_not_happen() -> None:
    roles: dict[int, tuple[str, int, int | None]] = {1: ("LEADING", 2, 1), 2: ("FOLLOWING", 2, 1)}
    on_both = [(1, b"a"), (2, b"b"), (3, b"c")]
    final = {1: on_both, 2: on_both, 3: []}
    assert check_lasting(_lasting(), roles, final) == []  # "old" was of an earlier leader
    (bad,) = check_lasting(_lasting(), roles, {**final, 2: on_both[:2]})
    assert bad.startswith("liveness: writes not committed within 6000 ms with nodes [3]")
    assert "1 of 3 accepted in epoch 2 of leader 1" in bad and "(c)" in bad
    (few,) = check_lasting(_lasting(writes=[(b"a", 1, 2)]), roles, final)
    assert f"only 1 accepted in epoch 2 of leader 1, {LASTING_WRITES} needed" in few
    (none,) = check_lasting(_lasting(leader=None, mode="partition-minority"), roles, final)
    assert none.startswith(
        "liveness: no leader established within 6000 ms with nodes [3] partitioned away"
    )


def test_the_default_run_is_the_full_heal(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--lasting" not in SimConfig().replay_command(1)
    assert "--lasting partition-minority" in SimConfig(lasting="partition-minority").replay_command(
        1
    )
    assert main(["--seed", "1", "--lasting", "forever"]) == 255
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--lasting" in err and "crash-minority" in err


@pytest.mark.parametrize(("nodes", "seed"), [(3, 48), (5, 2)])
def test_the_paxos_replica_stays_live_with_a_minority_crashed_for_good(
    nodes: int, seed: int
) -> None:
    """These seeds found a stall: a follower that rejoined after a slot's accept never voted
    for it, nothing resent it, and with a minority down for good the window of 8 filled. The
    leader now resends stalled slots to the live followers that have not voted."""
    assert simulate(seed, SimConfig(nodes=nodes, protocol="paxos")).ok  # the full heal passes
    r = simulate(seed, SimConfig(nodes=nodes, protocol="paxos", lasting="crash-minority"))
    assert r.ok, r.summary()
