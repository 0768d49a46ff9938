"""A crash point arms exactly at NEWLEADER of a new epoch whose sync carried txns, holds the
log sync of those txns until then, fires once per marker, and stops the process (tested on a
child, which the test then kills as the harness would)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

from zablab.node.crashpoint import CrashPoint, marker_path
from zablab.node.replica.zxid import make_zxid
from zablab.node.zab.messages import Commit, Diff, NewLeader, Proposal, Snap


def _sync(cp: CrashPoint, epoch: int, txns: int, current_epoch: int) -> None:
    cp.observe(Diff(0), current_epoch)
    for i in range(txns):
        assert cp.holds_sync  # the sync's txns wait for NEWLEADER
        cp.observe(Proposal(make_zxid(epoch - 1, i + 1), b"x"), current_epoch)
        cp.observe(Commit(make_zxid(epoch - 1, i + 1)), current_epoch)
    cp.observe(NewLeader(make_zxid(epoch, 0)), current_epoch)


def test_it_arms_only_at_a_new_epochs_newleader_after_txns(tmp_path: Path) -> None:
    cp = CrashPoint("newleader", str(tmp_path / "trace.jsonl"))
    _sync(cp, epoch=2, txns=0, current_epoch=1)
    assert not cp.armed and not cp.holds_sync  # an empty sync: nothing unsynced to lose
    _sync(cp, epoch=2, txns=3, current_epoch=2)
    assert not cp.armed  # its own epoch: the sync cannot raise its vote
    _sync(cp, epoch=3, txns=3, current_epoch=2)
    assert cp.armed and not cp.holds_sync  # after NEWLEADER the log sync may start
    Path(marker_path(cp.marker.removesuffix(".crash-point"))).write_text("{}")
    _sync(cp, epoch=4, txns=3, current_epoch=3)
    assert not cp.armed  # fired once already: the marker outlives restarts


def test_a_sync_the_leader_abandons_releases_the_log_sync(tmp_path: Path) -> None:
    cp = CrashPoint("newleader", str(tmp_path / "trace.jsonl"))
    cp.observe(Snap(1, 0, b"", 0), 1)
    assert cp.holds_sync
    cp.observe(object(), 1)  # anything but the sync's messages: the sync is over
    assert not cp.holds_sync


def _fire(trace: str) -> None:
    CrashPoint("newleader", trace).fire(server=3, leader=2)
    time.sleep(5)  # reached only if SIGSTOP did not stop us


def test_firing_leaves_the_marker_and_stops_the_process(tmp_path: Path) -> None:
    trace = str(tmp_path / "trace.jsonl")
    child = multiprocessing.get_context("fork").Process(target=_fire, args=(trace,))
    child.start()
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(marker_path(trace)) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        with open(f"/proc/{child.pid}/stat") as fh:
            assert fh.read().split(") ")[1][0] == "T"  # stopped, not exited
        marker = json.loads(Path(marker_path(trace)).read_text())
        assert marker == {"point": "newleader", "pid": child.pid, "server": 3, "leader": 2}
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join(5)
