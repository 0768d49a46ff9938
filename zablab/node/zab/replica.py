"""The ZAB replica: Fast Leader Election, discovery, synchronisation and broadcast, sans-IO.

Events in (``start``, ``on_message``, ``on_disconnect``, ``on_tick``, ``on_timer``,
``on_flushed``, ``propose``, ``submit``), actions out (see actions.py). Storage calls are
synchronous except the log fsync, which the driver performs when asked (``Flush``) and reports
with ``on_flushed``: a runtime can batch fsyncs (group commit), the simulator can crash before
one lands. Nothing here reads a clock or a random source.

Durability rules, as ZooKeeper's: a follower ACKs a proposal (and NEWLEADER) only once its log
is synced; the leader counts its own ACK only once its own log is synced; acceptedEpoch and
currentEpoch are written atomically before the messages that depend on them are sent. The
follower's timing of ACKs and currentEpoch, the choice of sync and the commit point are asked
of rules.py (pure functions); the bookkeeping, messages and disk stay here.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum, IntEnum
from typing import Any

from zablab.bugs import ZabBugs
from zablab.node.replica.actions import (
    Action,
    Close,
    Deliver,
    Flush,
    ForwardedRequest,
    InstallSnapshot,
    RoleChange,
    Send,
    SetTimer,
    Synced,
    Touched,
    Trace,
)
from zablab.node.replica.config import ReplicaConfig
from zablab.node.replica.interface import Application, NotLeader, NotServing
from zablab.node.replica.zxid import epoch_of, make_zxid, txn_hash
from zablab.node.storage import Storage

from .election import Vote
from .elections import ElectionScheme, make_election, scheme
from .messages import (
    FOLLOWING,
    LEADING,
    LOOKING,
    Ack,
    AckEpoch,
    Commit,
    Diff,
    FollowerInfo,
    LeaderInfo,
    Message,
    NewLeader,
    Notification,
    Ping,
    Proposal,
    Request,
    Snap,
    SyncReply,
    SyncRequest,
    Trunc,
    UpToDate,
    channel_of,
)
from .rules import FollowerLog, LeaderLog, SyncMode, SyncPlan
from .rules import active as active_rules


class ProtocolError(Exception):
    pass


_POS = struct.Struct(">Q")


def wrap_snapshot(pos: int, data: bytes) -> bytes:
    """Snapshots on disk carry the number of txns they cover (the trace position)."""
    return _POS.pack(pos) + data


def unwrap_snapshot(blob: bytes) -> tuple[int, bytes]:
    return _POS.unpack_from(blob)[0], blob[_POS.size :]


class LearnerPhase(IntEnum):
    """Where a learner is, as the leader sees it; phases only move forward (compared with >=)."""

    INFO = 0  # sent FOLLOWERINFO
    EPOCH = 1  # we sent it LEADERINFO (NEWEPOCH)
    ACKED = 2  # it acknowledged the epoch
    SYNCING = 3  # we sent its DIFF/TRUNC/SNAP and NEWLEADER
    SYNCED = 4  # it acknowledged NEWLEADER
    UPTODATE = 5  # we sent UPTODATE: it serves


class FollowerPhase(Enum):
    """Where this follower is with its leader; messages are accepted only in their phase."""

    NONE = ""  # not following
    INFO = "info"  # sent FOLLOWERINFO, waiting for LEADERINFO
    EPOCH = "epoch"  # acknowledged the epoch, waiting for the sync
    SYNC = "sync"  # receiving the sync's proposals, waiting for NEWLEADER
    NEWLEADER = "newleader"  # acknowledging NEWLEADER, waiting for UPTODATE
    SERVING = "serving"


@dataclass
class Learner:
    phase: LearnerPhase
    accepted_epoch: int
    last_heard: int
    current_epoch: int = -1
    last_zxid: int = 0
    acked: int = 0  # newest zxid this follower has on disk, as far as it told us
    newleader_upto: int = 0  # our last zxid when we sent it NEWLEADER


@dataclass
class Leading:
    """The leader's state for one leadership; replaced whole when the role changes."""

    lead_since: int = 0
    summary: tuple[int, int] = (0, 0)  # (currentEpoch, last zxid) when it started leading
    initial_last: int = 0  # its last zxid then: the history it must have on disk to establish
    connecting: dict[int, int] = field(default_factory=dict)  # server -> its acceptedEpoch
    epoch: int = 0
    epoch_decided: bool = False
    epoch_acks: set[int] = field(default_factory=set)
    epoch_acked: bool = False
    newleader_acks: set[int] = field(default_factory=set)
    established: bool = False
    counter: int = 0  # proposals in this epoch
    learners: dict[int, Learner] = field(default_factory=dict)
    pending_syncs: list[tuple[int, int | None, int]] = field(default_factory=list)
    # ^ (zxid, peer, token): a client's sync waits until the zxid is committed


@dataclass
class Following:
    """A follower's state with one leader; replaced whole when the role changes."""

    leader: int | None = None
    phase: FollowerPhase = FollowerPhase.NONE
    leader_heard: int = 0
    sync_epoch: int = 0
    newleader_zxid: int = 0
    history: int | None = None  # from NEWLEADER on: the last zxid of the leader's history
    epoch_taken: bool = False  # currentEpoch holds sync_epoch
    newleader_acked: bool = False
    acked_upto: int = 0
    # Only the historical bugs use these (ZOOKEEPER-3642, ZOOKEEPER-3911): a SNAP's snapshot
    # not yet written, and sync proposals held in memory, not yet handed to the log.
    pending_snapshot: tuple[int, bytes] | None = None
    unlogged: list[tuple[int, bytes]] = field(default_factory=list)


# the follower phases in which the leader's proposals and commits are taken
_RECEIVING = (FollowerPhase.SYNC, FollowerPhase.NEWLEADER, FollowerPhase.SERVING)


class ZabReplica:
    def __init__(
        self,
        my_id: int,
        members: Sequence[int],
        config: ReplicaConfig,
        storage: Storage,
        app: Application,
    ) -> None:
        if my_id not in members:
            raise ValueError(f"server {my_id} is not among the members {list(members)}")
        self.id = my_id
        self.members = sorted(members)
        self.quorum = len(self.members) // 2 + 1
        self.cfg = config
        self.bugs = ZabBugs.of(config.bugs)
        self.storage = storage
        self.app = app
        self.rules = active_rules()  # what to sync, when to ACK, how far to commit (rules.py)
        self.role = LOOKING
        self.accepted_epoch = 0
        self.current_epoch = 0
        # In-memory window of the history: entries after prev_zxid, log[0] has position prev_pos.
        self.zxids: list[int] = []
        self.payloads: list[bytes] = []
        self.prev_zxid = 0
        self.prev_pos = 0
        self.delivered = 0  # how many window entries were delivered
        self.durable_floor = 0  # history up to here is in a snapshot
        self.flush_requested = False
        self.round = 0
        self.election: ElectionScheme | None = None
        self.elects_newest = scheme(config.election).ELECTS_NEWEST
        self.vote: Vote | None = None
        self.pending_info: dict[int, FollowerInfo] = {}
        self.now = 0
        self.lead = Leading()
        self.follow = Following()
        self.touches = b""  # for the next PING reply (kept across roles, as the server sent it)
        # Only the historical bugs read these two (ZOOKEEPER-2845, ZOOKEEPER-2355): what an
        # in-memory database that outlived a role change would claim to hold.
        self.loaded_zxid = 0  # the newest zxid recovered from disk at start
        self.claimed_zxid = 0  # the newest zxid a DIFF announced, before its txns arrived

    # == public queries ======================================================================

    @staticmethod
    def channel_of(msg: Message) -> str:
        return channel_of(msg)

    @property
    def last_zxid(self) -> int:
        return self.zxids[-1] if self.zxids else self.prev_zxid

    @property
    def committed_zxid(self) -> int:
        return self.zxids[self.delivered - 1] if self.delivered else self.prev_zxid

    @property
    def next_pos(self) -> int:
        return self.prev_pos + self.delivered

    @property
    def is_leader(self) -> bool:
        return self.role == LEADING and self.lead.established

    @property
    def serving(self) -> bool:
        return self.is_leader or (
            self.role == FOLLOWING and self.follow.phase is FollowerPhase.SERVING
        )

    def monitor(self) -> dict[str, int]:
        if self.is_leader:
            learners = self.lead.learners.values()
            return {
                "leader": self.id,
                "learners": len(learners),
                "synced_followers": sum(ln.phase >= LearnerPhase.SYNCED for ln in learners),
            }
        leader = self.follow.leader if self.serving else None
        return {"leader": -1 if leader is None else leader}

    def durable_zxid(self) -> int:
        return max(self.durable_floor, self.storage.log.synced_zxid)

    # == events ==============================================================================

    def start(self, now: int) -> list[Action]:
        """Recover from storage and start looking for a leader."""
        self.now = now
        out: list[Action] = []
        st = self.storage
        self.accepted_epoch = st.state("acceptedEpoch").read(0) or 0
        self.current_epoch = st.state("currentEpoch").read(0) or 0
        rec = st.recover()
        if rec.snapshot is not None:
            pos, data = unwrap_snapshot(rec.snapshot)
            self.prev_zxid, self.prev_pos = rec.snapshot_zxid, pos
            self.durable_floor = rec.snapshot_zxid
            out.append(InstallSnapshot(rec.snapshot_zxid, data, pos))
        for z, p in rec.records:
            self.zxids.append(z)
            self.payloads.append(p)
        if self.bugs.retained_db_zxid:
            self.loaded_zxid = self.last_zxid  # only the bug reads it (no new search state)
        out.append(self._trace("restart", pos=self.next_pos, last_zxid=self.last_zxid))
        out += self._go_looking(now)
        return out

    def on_message(self, now: int, frm: int, msg: Message) -> list[Action]:
        self.now = now
        if frm not in self.members or frm == self.id:
            return []
        try:
            if isinstance(msg, Notification):
                return self._on_notification(now, frm, msg)
            if self.role == LEADING:
                return self._leader_message(now, frm, msg)
            if self.role == FOLLOWING:
                if frm != self.follow.leader:
                    return []
                self.follow.leader_heard = now
                return self._follower_message(now, msg)
            if isinstance(msg, FollowerInfo):
                self.pending_info[frm] = msg  # the peer decided faster than we did
            return []
        except ProtocolError as e:
            return self._go_looking(now, str(e))

    def on_disconnect(self, now: int, peer: int) -> list[Action]:
        """The ZAB connection to ``peer`` broke (or was closed by either side)."""
        self.now = now
        self.pending_info.pop(peer, None)
        if self.role == LEADING:
            self.lead.learners.pop(peer, None)
            return []
        if self.role == FOLLOWING and peer == self.follow.leader:
            return self._go_looking(now, "lost the leader's connection")
        return []

    def on_tick(self, now: int) -> list[Action]:
        """Called every tick_ms: heartbeats and the syncLimit/initLimit failure detectors."""
        self.now = now
        tick = self.cfg.tick_ms
        if self.role == LEADING:
            out: list[Action] = []
            for p, ln in list(self.lead.learners.items()):
                limit = (
                    self.cfg.sync_limit if ln.phase >= LearnerPhase.SYNCED else self.cfg.init_limit
                )
                if now - ln.last_heard > limit * tick:
                    # As ZooKeeper's LearnerHandler: a learner that fell silent is cut off.
                    del self.lead.learners[p]
                    out.append(Close(p))
                else:
                    out.append(Send(p, Ping()))
            if not self.lead.established:
                if now - self.lead.lead_since > self.cfg.init_limit * tick:
                    return out + self._go_looking(now, "no quorum synced within initLimit")
                return out
            alive = 1 + sum(
                1
                for ln in self.lead.learners.values()
                if ln.phase >= LearnerPhase.SYNCED
                and now - ln.last_heard <= self.cfg.sync_limit * tick
            )
            if alive < self.quorum:
                return out + self._go_looking(now, "lost a synced quorum")
            return out
        if self.role == FOLLOWING:
            limit = (
                self.cfg.sync_limit
                if self.follow.phase is FollowerPhase.SERVING
                else self.cfg.init_limit
            )
            if now - self.follow.leader_heard > limit * tick:
                return self._go_looking(now, "leader silent")
        return []

    def on_timer(self, now: int) -> list[Action]:
        self.now = now
        if self.role != LOOKING or self.election is None:
            return []
        sends, decided = self.election.on_timer(now)
        out: list[Action] = [Send(to, n) for to, n in sends]
        if decided is not None:
            return out + self._decide(now, decided)
        return out + [SetTimer(self.election.next_deadline())]

    def on_flushed(self, now: int) -> list[Action]:
        """The driver synced the log (everything appended before its ``sync()`` call)."""
        self.now = now
        self.flush_requested = False
        out: list[Action] = []
        if self.role == FOLLOWING:
            out += self._follower_step()
        elif self.role == LEADING:
            if not self.lead.established:
                out += self._maybe_epoch_quorum(now) + self._try_establish(now)
            else:
                out += self._try_commit(now)
        if self.storage.log.last_zxid > self.storage.log.synced_zxid:
            out += self._flush()
        return out

    @property
    def next_zxid(self) -> int:
        """The zxid the next ``propose`` assigns (prep writes it into the txn header)."""
        if not self.is_leader:
            raise NotLeader(f"server {self.id} is not an established leader")
        return self._zxid(self.lead.counter + 1)

    def _zxid(self, counter: int) -> int:
        """The zxid of this epoch's ``counter``-th proposal; a counter past the configured
        width carries into the epoch bits, as an overflowing 64-bit zxid does."""
        width = self.cfg.zxid_counter_max + 1
        return make_zxid(self.lead.epoch + counter // width, counter % width)

    def propose(self, now: int, payload: bytes) -> list[Action]:
        """Leader only: assign the next zxid to ``payload`` and broadcast it."""
        self.now = now
        if not self.is_leader:
            raise NotLeader(f"server {self.id} is not an established leader")
        if self.lead.counter >= self.cfg.zxid_counter_max and not self.bugs.zxid_counter_wraps:
            # As ZooKeeper's leader since ZOOKEEPER-1277 (XidRolloverException): the epoch's
            # counter is used up, so the leader steps down and the next election starts a
            # new epoch; the write is refused. With the bug the counter carries into the
            # epoch bits and the txn takes a zxid of the next epoch.
            return self._go_looking(now, "zxid counter exhausted: a new epoch must start")
        self.lead.counter += 1
        zxid = self._zxid(self.lead.counter)
        self._append(zxid, payload)
        out: list[Action] = [
            self._trace("broadcast", epoch=self.lead.epoch, zxid=zxid, txn=txn_hash(payload))
        ]
        msg = Proposal(zxid, payload)
        out += [
            Send(p, msg) for p, ln in self.lead.learners.items() if ln.phase >= LearnerPhase.SYNCING
        ]
        if self.bugs.ack_before_fsync or self.bugs.commit_without_quorum:
            out += self._try_commit(now)
        return out + self._flush()

    def submit(self, now: int, request: bytes) -> list[Action]:
        """A client write at this server: the leader prepares it, a follower forwards it."""
        self.now = now
        if self.is_leader:
            return [ForwardedRequest(self.id, request)]
        if self.serving and self.follow.leader is not None:
            return [Send(self.follow.leader, Request(self.id, request))]
        raise NotServing(f"server {self.id} is not serving (role {self.role})")

    def sync(self, now: int, token: int) -> list[Action]:
        """A client's sync: ``Synced(token)`` comes once this server has delivered everything
        the leader had proposed when the sync reached it (ZooKeeper's sync semantics)."""
        self.now = now
        if self.is_leader:
            return self._leader_sync(None, token)
        if self.serving and self.follow.leader is not None:
            return [Send(self.follow.leader, SyncRequest(token))]
        raise NotServing(f"server {self.id} is not serving (role {self.role})")

    def touch(self, data: bytes) -> None:
        """Follower: send ``data`` (e.g. touched session ids) with the next heartbeat reply."""
        self.touches += data

    def compact(self, now: int) -> list[Action]:
        """Snapshot the delivered state and shrink the in-memory window (driver's choice when).

        Call only after every Deliver handed out so far has been applied.
        """
        self.now = now
        zxid, data = self.app.snapshot()
        if zxid != self.committed_zxid:
            raise RuntimeError(
                f"app snapshot at 0x{zxid:x} but 0x{self.committed_zxid:x} was delivered"
            )
        if zxid == 0:
            return []
        self.storage.snapshot(zxid, wrap_snapshot(self.next_pos, data))
        durable = self.durable_zxid()
        keep = self.cfg.committed_log_size
        drop = 0
        while drop < self.delivered - keep and self.zxids[drop] <= durable:
            drop += 1
        if drop:
            self.prev_zxid, self.prev_pos = self.zxids[drop - 1], self.prev_pos + drop
            del self.zxids[:drop]
            del self.payloads[:drop]
            self.delivered -= drop
        return []

    # == election ============================================================================

    def _go_looking(self, now: int, why: str = "") -> list[Action]:
        out: list[Action] = []
        if self.role == FOLLOWING and self.bugs.unsynced_dropped_on_rejoin:
            # ZOOKEEPER-4785: leaving the leader shuts the sync processor down, dropping the
            # txns still queued for the disk, and the database is fast-forwarded to what the
            # log holds: the follower keeps the new currentEpoch over a log without them.
            self._truncate_after(self.durable_zxid())
        if self.role == LEADING:
            out += [Close(p) for p in self.lead.learners]
        elif self.role == FOLLOWING and self.follow.leader is not None:
            out.append(Close(self.follow.leader))
        if self.role != LOOKING or why:
            out.append(RoleChange(LOOKING, self.current_epoch, None))
        self.role = LOOKING
        self.lead = Leading()
        self.follow = Following()
        self.round += 1
        self.election = make_election(
            self.cfg.election,
            self.id,
            self.members,
            self.round,
            Vote(self.id, self.last_zxid, self.current_epoch),
            finalize_wait_ms=self.cfg.finalize_wait_ms,
            max_notify_interval_ms=self.cfg.max_notify_interval_ms,
            ignore_zxid=self.bugs.election_ignores_zxid,
        )
        out += [Send(to, n) for to, n in self.election.start(now)]
        if len(self.members) == 1:
            return out + self._decide(now, self.election.vote)
        out.append(SetTimer(self.election.next_deadline()))
        return out

    @staticmethod
    def _epoch_vote(leader: int, epoch: int) -> Vote:
        """The vote every member of an established epoch reports, so that a latecomer sees a
        quorum agree on it (the votes they decided on may differ)."""
        return Vote(leader, make_zxid(epoch, 0), epoch)

    def _on_notification(self, now: int, frm: int, n: Notification) -> list[Action]:
        if self.role != LOOKING or self.election is None:
            if n.state == LOOKING and self.vote is not None:
                v = self.vote
                return [Send(frm, Notification(v.leader, v.zxid, v.epoch, self.round, self.role))]
            return []
        sends, decided = self.election.on_notification(now, frm, n)
        out: list[Action] = [Send(to, m) for to, m in sends]
        if decided is not None:
            return out + self._decide(now, decided)
        return out + [SetTimer(self.election.next_deadline())]

    def _decide(self, now: int, vote: Vote) -> list[Action]:
        assert self.election is not None
        self.round = self.election.round
        self.vote = vote
        self.election = None
        pending, self.pending_info = self.pending_info, {}
        if vote.leader == self.id:
            out = self._become_leader(now)
            for peer, info in pending.items():
                out += self._leader_message(now, peer, info)
            return out
        out = [Close(p) for p in pending]
        return out + self._become_follower(now, vote.leader)

    # == leader ==============================================================================

    def _become_leader(self, now: int) -> list[Action]:
        self.role = LEADING
        self.lead = Leading(
            lead_since=now,
            summary=(self.current_epoch, self.last_zxid),
            initial_last=self.last_zxid,
            connecting={self.id: self.accepted_epoch},
        )
        return self._maybe_decide_epoch(now) + self._flush()

    def _maybe_decide_epoch(self, now: int) -> list[Action]:
        if self.lead.epoch_decided or len(self.lead.connecting) < self.quorum:
            return []
        self.lead.epoch = max(self.lead.connecting.values()) + 1
        self.lead.epoch_decided = True
        self.accepted_epoch = self.lead.epoch
        self.storage.state("acceptedEpoch").write(self.lead.epoch)
        self.lead.epoch_acks = {self.id}
        out: list[Action] = []
        for p, ln in self.lead.learners.items():
            if ln.phase == LearnerPhase.INFO:
                ln.phase = LearnerPhase.EPOCH
                out.append(Send(p, LeaderInfo(self.lead.epoch)))
        return out + self._maybe_epoch_quorum(now)

    def _maybe_epoch_quorum(self, now: int) -> list[Action]:
        if self.lead.epoch_acked or len(self.lead.epoch_acks) < self.quorum:
            return []
        if self.durable_zxid() < self.lead.initial_last and not self.bugs.ack_before_fsync:
            return []  # our own history must be on disk before currentEpoch says we hold it
        self.lead.epoch_acked = True
        self.current_epoch = self.lead.epoch
        self.storage.state("currentEpoch").write(self.lead.epoch)
        self.lead.newleader_acks = set()
        out: list[Action] = []
        for p, ln in self.lead.learners.items():
            if ln.phase == LearnerPhase.ACKED:
                out += self._sync_learner(p, ln)
        return out + self._try_establish(now)

    def _leader_message(self, now: int, frm: int, msg: Message) -> list[Action]:
        if isinstance(msg, FollowerInfo):
            if self.lead.epoch_decided and msg.accepted_epoch > self.lead.epoch:
                # It promised a newer (failed) leader and will refuse our epoch for good, as
                # ZooKeeper's learners do. Unlike ZooKeeper we step down, so that the next
                # election picks an epoch above its promise instead of leaving it out forever.
                return self._go_looking(now, f"server {frm} accepted epoch {msg.accepted_epoch}")
            ln = Learner(LearnerPhase.INFO, msg.accepted_epoch, now, last_zxid=msg.last_zxid)
            self.lead.learners[frm] = ln
            if not self.lead.epoch_decided:
                self.lead.connecting[frm] = msg.accepted_epoch
                return self._maybe_decide_epoch(now)
            ln.phase = LearnerPhase.EPOCH
            return [Send(frm, LeaderInfo(self.lead.epoch))]
        ln_or_none = self.lead.learners.get(frm)
        if ln_or_none is None:
            return []
        ln = ln_or_none
        ln.last_heard = now
        if isinstance(msg, AckEpoch):
            if ln.phase != LearnerPhase.EPOCH:
                del self.lead.learners[frm]
                return [Close(frm)]
            ln.phase, ln.current_epoch, ln.last_zxid = (
                LearnerPhase.ACKED,
                msg.current_epoch,
                msg.last_zxid,
            )
            if self.lead.epoch_acked:
                return self._sync_learner(frm, ln)
            ahead = (msg.current_epoch, msg.last_zxid) > self.lead.summary
            if ahead and self.elects_newest and not self.bugs.election_ignores_zxid:
                return self._go_looking(now, f"follower {frm} is ahead of the leader")
            self.lead.epoch_acks.add(frm)
            return self._maybe_epoch_quorum(now)
        if isinstance(msg, Ack):
            if msg.zxid == make_zxid(self.lead.epoch, 0):
                if ln.phase != LearnerPhase.SYNCING:
                    return []
                ln.phase = LearnerPhase.SYNCED
                ln.acked = max(ln.acked, ln.newleader_upto)
                if not self.lead.established:
                    self.lead.newleader_acks.add(frm)
                    return self._try_establish(now)
                ln.phase = LearnerPhase.UPTODATE
                return [Send(frm, UpToDate(self.committed_zxid))] + self._try_commit(now)
            if ln.phase >= LearnerPhase.SYNCED:
                ln.acked = max(ln.acked, msg.zxid)
                return self._try_commit(now)
            return []
        if isinstance(msg, Request):
            if self.lead.established:
                return [ForwardedRequest(msg.origin, msg.request)]
            return []
        if (
            isinstance(msg, SyncRequest)
            and self.lead.established
            and ln.phase >= LearnerPhase.SYNCING
        ):
            return self._leader_sync(frm, msg.token)
        if isinstance(msg, Ping) and msg.data:
            return [Touched(frm, msg.data)]
        return []  # empty PING replies and stray messages

    def _leader_sync(self, peer: int | None, token: int) -> list[Action]:
        if self.committed_zxid >= self.last_zxid:
            return [Synced(token) if peer is None else Send(peer, SyncReply(token))]
        self.lead.pending_syncs.append((self.last_zxid, peer, token))
        return []

    def _release_syncs(self) -> list[Action]:
        out: list[Action] = []
        while self.lead.pending_syncs and self.lead.pending_syncs[0][0] <= self.committed_zxid:
            _, peer, token = self.lead.pending_syncs.pop(0)
            if peer is None:
                out.append(Synced(token))
            elif peer in self.lead.learners:
                out.append(Send(peer, SyncReply(token)))
        return out

    def _sync_learner(self, peer: int, ln: Learner) -> list[Action]:
        """DIFF, TRUNC(+DIFF) or SNAP, as the rules choose (ZooKeeper's syncFollower)."""
        peer_last = ln.last_zxid
        last = self.last_zxid
        window = LeaderLog(self.prev_zxid, tuple(self.zxids), self.cfg.committed_log_size)
        plan = self.rules.choose_sync(peer_last, window)
        if self.bugs.diff_without_trunc and plan.mode is SyncMode.TRUNC and peer_last < last:
            plan = SyncPlan(SyncMode.DIFF)  # the diverged txn stays in the follower's log
        out: list[Action] = []
        start: int  # index of the first window entry to send
        if plan.mode is SyncMode.SNAP and self.bugs.diff_across_gap:
            # ZOOKEEPER-2418: the txns older than the committed log come from the txn log,
            # and where the log ends before the committed log starts the gap is not noticed:
            # the DIFF starts at the committed log, skipping what lies between.
            out.append(Send(peer, Diff(last)))
            start = max(len(self.zxids) - self.cfg.committed_log_size, 0)
        elif plan.mode is SyncMode.DIFF:
            out.append(Send(peer, Diff(last)))
            start = bisect.bisect_right(self.zxids, peer_last)  # entries <= peer_last
        elif plan.mode is SyncMode.TRUNC:
            out.append(Send(peer, Trunc(plan.trunc_to, last)))
            start = bisect.bisect_right(self.zxids, plan.trunc_to)
        else:
            zxid, data = self.app.snapshot()
            if zxid != self.committed_zxid:
                raise RuntimeError(
                    f"app snapshot at 0x{zxid:x} but 0x{self.committed_zxid:x} was delivered"
                )
            out.append(Send(peer, Snap(zxid, self.next_pos, data, last)))
            start = self.delivered
        for j in range(start, len(self.zxids)):
            out.append(Send(peer, Proposal(self.zxids[j], self.payloads[j])))
        if start < self.delivered:
            out.append(Send(peer, Commit(self.committed_zxid)))
        out.append(Send(peer, NewLeader(make_zxid(self.lead.epoch, 0))))
        ln.phase = LearnerPhase.SYNCING
        ln.newleader_upto = last
        return out

    def _try_establish(self, now: int) -> list[Action]:
        if self.lead.established or not self.lead.epoch_acked:
            return []
        if self.durable_zxid() >= self.lead.initial_last or self.bugs.ack_before_fsync:
            self.lead.newleader_acks.add(self.id)
        if len(self.lead.newleader_acks) < self.quorum:
            return []
        self.lead.established = True
        self.lead.counter = 0
        self.vote = self._epoch_vote(self.id, self.lead.epoch)
        out: list[Action] = [self._trace("elected", epoch=self.lead.epoch)]
        out += self._commit_to(self.lead.initial_last)
        out.append(RoleChange(LEADING, self.lead.epoch, self.id))
        for p, ln in self.lead.learners.items():
            if ln.phase == LearnerPhase.SYNCED:
                ln.phase = LearnerPhase.UPTODATE
                out.append(Send(p, UpToDate(self.committed_zxid)))
        return out

    def _try_commit(self, now: int) -> list[Action]:
        if not self.lead.established or self.delivered == len(self.zxids):
            return []
        mine = self.last_zxid if self.bugs.ack_before_fsync else self.durable_zxid()
        if self.bugs.commit_without_quorum:
            point: int | None = mine
        else:
            acks = {
                p: ln.acked
                for p, ln in self.lead.learners.items()
                if ln.phase >= LearnerPhase.SYNCED
            }
            acks[self.id] = mine
            point = self.rules.commit_point(self.zxids[self.delivered :], acks, self.quorum)
        if point is None or point <= self.committed_zxid:
            return []
        out = self._commit_to(point)
        msg = Commit(self.committed_zxid)
        out += [
            Send(p, msg) for p, ln in self.lead.learners.items() if ln.phase >= LearnerPhase.SYNCING
        ]
        return out + self._release_syncs()

    # == follower ============================================================================

    def _become_follower(self, now: int, leader: int) -> list[Action]:
        self.role = FOLLOWING
        self.follow = Following(leader=leader, phase=FollowerPhase.INFO, leader_heard=now)
        return [Send(leader, FollowerInfo(self.accepted_epoch, self._reported_zxid()))]

    def _reported_zxid(self) -> int:
        """The newest zxid a follower tells its leader it holds: its log's newest, not the
        newest it delivered, so that the leader truncates what only this follower logged."""
        if self.bugs.retained_db_zxid:
            # ZOOKEEPER-2845: the in-memory database kept across the role change reports
            # the last txn it applied (what was loaded at start, or committed since), not
            # the last one logged: an old leader's uncommitted tail escapes the TRUNC.
            return max(self.committed_zxid, self.loaded_zxid)
        if self.bugs.zxid_before_apply:
            # ZOOKEEPER-2355: lastProcessedZxid was set to the DIFF's target before the
            # txns were applied; a follower cut off mid-sync rejoins claiming them.
            return max(self.last_zxid, self.claimed_zxid)
        return self.last_zxid

    def _follower_message(self, now: int, msg: Message) -> list[Action]:
        leader = self.follow.leader
        assert leader is not None
        ph = self.follow.phase
        if isinstance(msg, Ping):
            data, self.touches = self.touches, b""
            return [Send(leader, Ping(data))]
        if isinstance(msg, SyncReply) and ph is FollowerPhase.SERVING:
            return [Synced(msg.token)]
        if isinstance(msg, LeaderInfo) and ph is FollowerPhase.INFO:
            if msg.epoch < self.accepted_epoch:
                raise ProtocolError(
                    f"leader's epoch {msg.epoch} is below our accepted epoch {self.accepted_epoch}"
                )
            if msg.epoch > self.accepted_epoch:
                self.accepted_epoch = msg.epoch
                self.storage.state("acceptedEpoch").write(msg.epoch)
            self.follow.sync_epoch = msg.epoch
            self.follow.phase = FollowerPhase.EPOCH
            return [Send(leader, AckEpoch(self.current_epoch, self._reported_zxid()))]
        if isinstance(msg, Diff | Trunc | Snap) and ph is FollowerPhase.EPOCH:
            self.follow.phase = FollowerPhase.SYNC
            return self._on_sync(leader, msg)
        if isinstance(msg, Proposal) and ph in _RECEIVING:
            if msg.zxid <= self.last_zxid:
                raise ProtocolError(f"proposal 0x{msg.zxid:x} does not follow 0x{self.last_zxid:x}")
            if self.bugs.diff_logged_after_uptodate and ph is not FollowerPhase.SERVING:
                # ZOOKEEPER-3911: the sync's proposals wait in memory (packetsNotCommitted)
                # and reach the log only after UPTODATE, though NEWLEADER is ACKed at once.
                self.zxids.append(msg.zxid)
                self.payloads.append(msg.payload)
                self.follow.unlogged.append((msg.zxid, msg.payload))
                return []
            self._append(msg.zxid, msg.payload)
            if ph is FollowerPhase.SYNC:
                return self._follower_step()
            if self.bugs.ack_before_fsync:
                self.follow.acked_upto = msg.zxid
                return [Send(leader, Ack(msg.zxid))]
            return self._follower_step() + self._flush()
        if isinstance(msg, Commit) and ph in _RECEIVING:
            return self._commit_to(min(msg.zxid, self.last_zxid))
        if isinstance(msg, NewLeader) and ph is FollowerPhase.SYNC:
            if epoch_of(msg.zxid) != self.follow.sync_epoch:
                raise ProtocolError("NEWLEADER for another epoch")
            self.follow.phase = FollowerPhase.NEWLEADER
            self.follow.newleader_zxid = msg.zxid
            self.follow.history = self.last_zxid
            if self.follow.pending_snapshot is not None:
                # ZOOKEEPER-3642: the SNAP's snapshot is taken only now, at NEWLEADER
                self.storage.snapshot(*self.follow.pending_snapshot)
                self.follow.pending_snapshot = None
            if self.bugs.epoch_before_persist:
                # ZOOKEEPER-4643: currentEpoch is written on NEWLEADER, before the sync's
                # txns are on disk; a crash now leaves the new epoch over a short log.
                self._write_current_epoch(self.follow.sync_epoch)
            if self.bugs.newleader_ack_before_sync or self.bugs.unsynced_dropped_on_rejoin:
                # ZOOKEEPER-4646 (and ZOOKEEPER-4785): the txns are queued to the async log
                # sync and NEWLEADER is ACKed without waiting for it.
                self._take_epoch()
                return self._ack_newleader(leader) + self._flush()
            if self.bugs.ack_before_fsync or self.bugs.diff_logged_after_uptodate:
                # the ACK is sent whatever the disk holds (ZOOKEEPER-3911: the sync's
                # proposals are not even handed to the log yet)
                self._take_epoch()
                return self._ack_newleader(leader)
            out = self._follower_step()
            return out if self.follow.newleader_acked else out + self._flush()
        if isinstance(msg, UpToDate) and ph is FollowerPhase.NEWLEADER:
            self.follow.phase = FollowerPhase.SERVING
            self.vote = self._epoch_vote(leader, self.follow.sync_epoch)
            if self.bugs.epoch_at_uptodate:
                # ZOOKEEPER-1282: currentEpoch set on UPTODATE, not before ACKing NEWLEADER
                self._write_current_epoch(self.follow.sync_epoch)
            out = self._log_unlogged()
            out += self._commit_to(min(msg.committed, self.last_zxid))
            out.append(self._trace("follow", epoch=self.follow.sync_epoch, leader=leader))
            out.append(RoleChange(FOLLOWING, self.follow.sync_epoch, leader))
            return out
        raise ProtocolError(f"unexpected {type(msg).__name__} in phase {ph.value!r}")

    def _follower_step(self) -> list[Action]:
        """Whatever the rules say the follower's log now allows: take the epoch, ACK
        NEWLEADER, ACK proposals (rules.follower_step: only what is on disk)."""
        f = self.follow
        if f.leader is None:
            return []
        step = self.rules.follower_step(
            FollowerLog(
                f.history,
                f.epoch_taken,
                f.newleader_acked,
                self.last_zxid,
                self.durable_zxid(),
                f.acked_upto,
            )
        )
        out: list[Action] = []
        if step.take_epoch:
            self._take_epoch()
        if step.ack_newleader and f.history is not None and not f.newleader_acked:
            out += self._ack_newleader(f.leader)
        if step.ack is not None:
            f.acked_upto = max(f.acked_upto, step.ack)
            out.append(Send(f.leader, Ack(step.ack)))
        return out

    def _take_epoch(self) -> None:
        """Take the new leader's epoch where the rules (or a bug's shortcut past them) say;
        ZOOKEEPER-1282 defers it to UPTODATE, after the NEWLEADER ACK, so a crash in between
        leaves an ACKed follower on the old epoch."""
        if not self.bugs.epoch_at_uptodate:
            self._write_current_epoch(self.follow.sync_epoch)

    def _write_current_epoch(self, epoch: int) -> None:
        """currentEpoch := the new leader's epoch. The rules do it only once the leader's
        history is on our disk: a server whose currentEpoch is e must hold all of leader e's
        initial history, or its vote could beat servers that hold committed txns it lost in
        a crash (cf. ZOOKEEPER-4646)."""
        self.follow.epoch_taken = True
        self.current_epoch = epoch
        self.storage.state("currentEpoch").write(epoch)

    def _ack_newleader(self, leader: int) -> list[Action]:
        self.follow.newleader_acked = True
        self.follow.acked_upto = self.last_zxid
        return [Send(leader, Ack(self.follow.newleader_zxid))]

    def _log_unlogged(self) -> list[Action]:
        """Hand the sync proposals held in memory to the log (only ZOOKEEPER-3911 holds any)."""
        if not self.follow.unlogged:
            return []
        for z, p in self.follow.unlogged:
            self.storage.log.append(z, p)
        self.follow.unlogged = []
        return self._flush()

    def _on_sync(self, leader: int, msg: Diff | Trunc | Snap) -> list[Action]:
        before = self.last_zxid
        if isinstance(msg, Diff):
            if self.bugs.zxid_before_apply:
                self.claimed_zxid = max(self.claimed_zxid, msg.to)  # ZOOKEEPER-2355
            return [
                self._trace("sync", mode="DIFF", leader=leader, **{"from": before, "to": msg.to})
            ]
        if isinstance(msg, Trunc):
            queued: list[tuple[int, bytes]] = []
            if self.bugs.sync_outlives_shutdown:
                # ZOOKEEPER-4712: the old leadership's sync processor was never shut down;
                # the txns it still had queued reach the log after this TRUNC (not the
                # in-memory window), to be replayed at the next restart.
                cut = max(msg.zxid, self.storage.log.synced_zxid)
                queued = [(z, p) for z, p in zip(self.zxids, self.payloads, strict=True) if z > cut]
            self._truncate_after(msg.zxid)
            for z, p in queued:
                self.storage.log.append(z, p)
            return [
                self._trace("sync", mode="TRUNC", leader=leader, **{"from": before, "to": msg.to})
            ]
        # SNAP: the leader's delivered state replaces ours.
        self.storage.truncate_after(msg.zxid)
        if self.bugs.snap_not_persisted:
            # ZOOKEEPER-3642: the state is replaced in memory; the snapshot waits for
            # NEWLEADER, and is never taken if the leader dies before sending it.
            self.follow.pending_snapshot = (msg.zxid, wrap_snapshot(msg.pos, msg.data))
        else:
            self.storage.snapshot(msg.zxid, wrap_snapshot(msg.pos, msg.data))
        self.zxids, self.payloads = [], []
        self.prev_zxid, self.prev_pos, self.delivered = msg.zxid, msg.pos, 0
        self.durable_floor = msg.zxid
        return [
            InstallSnapshot(msg.zxid, msg.data, msg.pos),
            self._trace(
                "sync", mode="SNAP", leader=leader, pos=msg.pos, **{"from": before, "to": msg.to}
            ),
        ]

    # == log and delivery ====================================================================

    def _append(self, zxid: int, payload: bytes) -> None:
        self.storage.log.append(zxid, payload)
        self.zxids.append(zxid)
        self.payloads.append(payload)

    def _truncate_after(self, zxid: int) -> None:
        self.storage.truncate_after(zxid)
        i = bisect.bisect_right(self.zxids, zxid)
        del self.zxids[i:]
        del self.payloads[i:]
        if zxid < self.prev_zxid:
            # Only a broken protocol asks for this: history we delivered is being taken back.
            self.prev_zxid = zxid
        self.delivered = min(self.delivered, i)
        self.durable_floor = min(self.durable_floor, zxid)

    def _commit_to(self, zxid: int) -> list[Action]:
        out: list[Action] = []
        while self.delivered < len(self.zxids) and self.zxids[self.delivered] <= zxid:
            z, p = self.zxids[self.delivered], self.payloads[self.delivered]
            pos = self.next_pos
            self.delivered += 1
            out.append(Deliver(z, p, pos))
            out.append(self._trace("deliver", zxid=z, pos=pos, txn=txn_hash(p)))
        return out

    def _flush(self) -> list[Action]:
        if self.flush_requested or self.storage.log.last_zxid <= self.storage.log.synced_zxid:
            return []
        self.flush_requested = True
        return [Flush()]

    def _trace(self, event: str, **fields: Any) -> Trace:
        return Trace({"node": self.id, "t": self.now, "event": event, **fields})
