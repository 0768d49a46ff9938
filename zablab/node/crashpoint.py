"""Crash points: a node stops itself at a protocol moment so that the harness can crash it there.

A kill from outside lands at a random instant; the sync-phase bugs of the zoo need a crash in a
window of milliseconds (a follower that has taken NEWLEADER but has not yet synced the txns of
its sync). Rather than race for that window, the node freezes itself in it (SIGSTOP, after the
messages it had to send are on the wire and before its log sync starts), and leaves a marker
beside its trace; the harness's ``crash-point`` nemesis sees the marker and power-cuts the
ensemble with lose-unfsynced. A node fires once per marker: the marker outlives its restarts,
so a run has at most one freeze per node and cannot stall on a crash point that keeps firing.
"""

from __future__ import annotations

import json
import os
import signal
from typing import Any

from .replica.zxid import epoch_of
from .zab.messages import Commit, Diff, NewLeader, Proposal, Snap, Trunc

#: the moments a node can stop at
CRASH_POINTS = ("newleader",)


def marker_path(trace: str) -> str:
    """Where a node with this trace file leaves its marker (the harness reads it there)."""
    return f"{trace}.crash-point"


class CrashPoint:
    """Watches the messages a follower takes; ``due`` once the moment has come."""

    def __init__(self, point: str, trace: str) -> None:
        self.point = point
        self.marker = marker_path(trace)
        self.sync_txns = 0  # proposals of the sync in progress
        self.in_sync = False  # between DIFF/TRUNC/SNAP and NEWLEADER: the log sync is held
        self.armed = False

    def observe(self, msg: Any, current_epoch: int) -> None:
        """Before the replica takes ``msg``: a NEWLEADER arms the point only if it opens a
        new epoch for this server (in its own epoch a sync cannot raise its vote) and its sync
        carried txns (an empty sync leaves nothing unsynced to lose)."""
        if isinstance(msg, Diff | Trunc | Snap):
            self.sync_txns, self.in_sync = 0, True
        elif isinstance(msg, Proposal):
            self.sync_txns += 1
        elif isinstance(msg, Commit):
            pass
        elif isinstance(msg, NewLeader) and self.point == "newleader":
            self.in_sync = False
            new_epoch = epoch_of(msg.zxid) > current_epoch
            self.armed = new_epoch and self.sync_txns > 0 and not os.path.exists(self.marker)
        else:
            self.in_sync = False

    @property
    def holds_sync(self) -> bool:
        """Whether the log sync waits: the sync's txns reach the disk only after NEWLEADER,
        so the moment finds them written and unsynced however fast the disk is (the
        asynchronous SyncRequestProcessor of ZooKeeper, at its slowest). Every build, bug or
        not, syncs them before it relies on them, so this widens a window, it opens none."""
        return self.in_sync

    def fire(self, **where: object) -> None:
        """Leave the marker, then stop this process (the harness kills it while stopped)."""
        self.armed = False
        with open(self.marker, "w", encoding="utf-8") as fh:
            json.dump({"point": self.point, "pid": os.getpid(), **where}, fh)
        os.kill(os.getpid(), signal.SIGSTOP)
