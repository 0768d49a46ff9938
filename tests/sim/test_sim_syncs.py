"""Client syncs in the bare-replica simulator: every sync is answered (unless its server
restarted or changed role meanwhile) and the answer holds every write acknowledged before
the sync; and what a replica's monitor() reports agrees with its role.

Each check is shown to reject a replica that breaks it: a leader that parks every sync until
the next commit (a sync after the last write hangs), a follower that answers at once without
asking the leader (stale), a monitor that reports a wrong leader.
"""

from __future__ import annotations

from typing import Any

import pytest

from zablab.node.replica import Synced
from zablab.node.zab.replica import ZabReplica
from zablab.sim import SimConfig, Simulation, simulate
from zablab.sim.checks import check_monitors, is_liveness
from zablab.sim.stepper import replay

SYNCS = SimConfig(sync_every_ms=100)


def test_correct_replicas_answer_every_sync_with_what_was_acknowledged() -> None:
    answered = 0
    for cfg in (SYNCS, SimConfig(nodes=5, sync_every_ms=100, lasting="crash-minority")):
        for seed in range(6):
            sim = Simulation(seed, cfg)
            r = sim.run()
            assert r.ok, r.summary()
            answered += len(sim.synced)
            assert sim.syncs > len(sim.pending_syncs)  # most syncs were answered
    assert answered > 100


def test_a_sync_parked_until_the_next_commit_is_a_liveness_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def parks(self: ZabReplica, peer: int | None, token: int) -> list[Any]:
        self.lead.pending_syncs.append((self.last_zxid + 1, peer, token))
        return []

    monkeypatch.setattr(ZabReplica, "_leader_sync", parks)
    bad = [v for seed in range(3) for v in simulate(seed, SYNCS).violations]
    assert bad and all(is_liveness(v) and "never answered" in v for v in bad), bad[:3]


def test_a_follower_answering_without_the_leader_is_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    sync = ZabReplica.sync

    def answers_at_once(self: ZabReplica, now: int, token: int) -> list[Any]:
        if self.serving and not self.is_leader:
            return [Synced(token)]
        return sync(self, now, token)

    monkeypatch.setattr(ZabReplica, "sync", answers_at_once)
    bad = [v for seed in range(10) for v in simulate(seed, SYNCS).violations]
    assert any(v.startswith("stale sync:") for v in bad), bad[:3]


def test_sync_steps_replay_to_the_same_run() -> None:
    sim = Simulation(2, SYNCS)
    sim.record = True
    original = sim.run()
    assert any(s["do"] == "sync" for s in sim.steps)
    _, again = replay(SYNCS, sim.steps, safety_only=False)
    assert again.trace_hash == original.trace_hash and again.violations == original.violations


def test_monitor_must_agree_with_the_role() -> None:
    roles = {1: ("LEADING", 3, 1), 2: ("FOLLOWING", 3, 1), 3: ("LOOKING", 3, None)}
    assert check_monitors(roles, {1: 1, 2: 1, 3: -1}) == []
    bad = check_monitors(roles, {1: 1, 2: 2, 3: -2})
    assert len(bad) == 2 and all(v.startswith("monitor: node") for v in bad)


def test_a_wrong_monitor_is_caught_in_a_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monitor = ZabReplica.monitor

    def off_by_one(self: ZabReplica) -> dict[str, int]:
        out = monitor(self)
        return {**out, "leader": out["leader"] + 1}

    monkeypatch.setattr(ZabReplica, "monitor", off_by_one)
    assert any(v.startswith("monitor:") for v in simulate(0, SimConfig()).violations)
