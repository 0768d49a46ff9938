"""The Multi-Paxos replica, sans-IO: acceptor, leader (scout and commanders) and replica of
"Paxos Made Moderately Complex" (van Renesse and Altinbuken) folded into one server.

- Acceptor: promises a round only if it is above every round promised so far (so each round has
  one leader, and the round is the trace's epoch), accepts a value in any round at or above its
  promise. The promise is written atomically before the Promise leaves; an accepted value is
  appended to the log and its Accepted reply waits for the log sync (``Flush``/``on_flushed``),
  the same discipline as ZAB's ACK.
- Leader: a follower that misses heartbeats for syncLimit ticks (staggered by its rank among
  the members) runs phase 1 with a fresh round; from a quorum of promises it adopts, per slot,
  the value accepted in the highest round, fills holes with no-ops, and proposes them again in
  its round. It serves clients once that recovered prefix is decided, then proposes new values
  in a pipelining window of outstanding slots.
- Replica: delivers decided slots in slot order (no-ops are skipped, so positions count txns);
  a lagging follower is caught up from the leader's window of decided slots, or by a snapshot.

A txn's zxid is (round of the leader that first proposed it, slot); a recovered value keeps its
zxid. With pipelining a slot can be decided after a later one was lost and filled by a no-op:
zxids then do not increase along the delivered order, which is the primary-order violation that
ZAB's recovery rules out. Nothing here reads a clock or a random source.
"""

from __future__ import annotations

import bisect
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from zablab.node.replica.actions import (
    Action,
    Deliver,
    Flush,
    ForwardedRequest,
    InstallSnapshot,
    RoleChange,
    Send,
    Synced,
    Touched,
    Trace,
)
from zablab.node.replica.config import ReplicaConfig
from zablab.node.replica.interface import Application, NotLeader, NotServing
from zablab.node.replica.zxid import make_zxid, txn_hash
from zablab.node.storage import Storage

from . import acceptor
from .acceptor import AfterSync, Ballot, Promised, RuleError, Value
from .messages import (
    Accept,
    Accepted,
    Commit,
    Entry,
    Heartbeat,
    Message,
    Nack,
    Prepare,
    Promise,
    Request,
    Snap,
    Status,
    SyncReply,
    SyncRequest,
    pack_entries,
    unpack_entries,
)

LOOKING, FOLLOWING, LEADING = "LOOKING", "FOLLOWING", "LEADING"
PROMISED_FILE = "paxosPromised"
DEFAULT_WINDOW = 8
_ID_SPACE = 1 << 16  # the promise file holds round * _ID_SPACE + the promised server's id

_SNAP_HEAD = struct.Struct(">qqqqI")


def wrap_snapshot(slot: int, pos: int, zxid: int, top: int, entries: bytes, data: bytes) -> bytes:
    """A snapshot on disk: the delivered slot, position and zxid, the acceptor's entries above
    that slot (so pruning the log never loses an accepted value) and the application state."""
    return _SNAP_HEAD.pack(slot, pos, zxid, top, len(entries)) + entries + data


def unwrap_snapshot(blob: bytes) -> tuple[int, int, int, int, bytes, bytes]:
    slot, pos, zxid, top, n = _SNAP_HEAD.unpack_from(blob)
    off = _SNAP_HEAD.size
    return slot, pos, zxid, top, blob[off : off + n], blob[off + n :]


@dataclass
class Leading:
    """A candidate's or leader's state for one round; replaced whole when the role changes."""

    round: int
    started: int
    from_slot: int
    promises: dict[int, Promise] = field(default_factory=dict)
    nacks: set[int] = field(default_factory=set)
    prepared: bool = False  # phase 1 done
    active: bool = False  # the recovered prefix is decided: serving clients
    recover_upto: int = 0
    next_slot: int = 1
    sent_upto: int = 0  # slots sent to the acceptors (the rest wait for the window)
    votes: dict[int, set[int]] = field(default_factory=dict)
    heard: dict[int, int] = field(default_factory=dict)
    have: dict[int, int] = field(default_factory=dict)
    catching: dict[int, int] = field(default_factory=dict)  # peer: last slot of its catch-up batch
    pending_syncs: list[tuple[int, int | None, int]] = field(default_factory=list)
    stalled: tuple[int, int] = (0, 0)  # (delivered, since when) while slots are in flight


@dataclass
class Following:
    leader: int | None = None
    round: int = 0
    heard: int = 0
    active: bool = False
    commit: int = 0
    serving: bool = False
    gap_reported: int = -1
    syncs: list[tuple[int, int]] = field(default_factory=list)  # (slot, token)


class PaxosReplica:
    def __init__(
        self,
        my_id: int,
        members: Sequence[int],
        config: ReplicaConfig,
        storage: Storage,
        app: Application,
        *,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        if my_id not in members:
            raise ValueError(f"server {my_id} is not among the members {list(members)}")
        self.id = my_id
        self.members = sorted(members)
        self.peers = [m for m in self.members if m != my_id]
        self.quorum = len(self.members) // 2 + 1
        self.rank = self.members.index(my_id)
        self.cfg = config
        self.window = max(1, window)
        self.storage = storage
        self.app = app
        self.role = LOOKING
        self.promised = 0
        self.promised_to: int | None = None
        self.seen_round = 0
        self.log: dict[int, Entry] = {}  # slots above base
        self.top_slot = 0  # the highest slot ever held
        self.base = 0  # slots up to here are only in the application state
        self.delivered = 0
        self.pos = 0
        self.committed_max = 0
        self.lsn = 0  # key of the newest log record
        self.snap_key = 0
        self.pending: list[tuple[int, Action]] = []  # replies waiting for the log sync
        self.own_votes: list[tuple[int, int]] = []  # (lsn, slot) at the leader
        self.flush_requested = False
        self.attempt_at = 0
        self.now = 0
        self.lead: Leading | None = None
        self.follow = Following()
        self.touches = b""

    # == public queries ======================================================================

    @staticmethod
    def channel_of(msg: Message) -> str:
        return "zab"  # one FIFO connection per peer carries everything

    @property
    def is_leader(self) -> bool:
        return self.role == LEADING and self.lead is not None and self.lead.active

    @property
    def serving(self) -> bool:
        return self.is_leader or (self.role == FOLLOWING and self.follow.serving)

    @property
    def committed_zxid(self) -> int:
        return self.committed_max

    @property
    def last_zxid(self) -> int:
        above = (self.log.get(s) for s in range(self.delivered + 1, self.top_slot + 1))
        return max([self.committed_max, *(e.zxid for e in above if e is not None)])

    @property
    def next_zxid(self) -> int:
        if not self.is_leader or self.lead is None:
            raise NotLeader(f"server {self.id} is not an established leader")
        return make_zxid(self.lead.round, self.lead.next_slot)

    def monitor(self) -> dict[str, int]:
        if self.is_leader and self.lead is not None:
            return {
                "leader": self.id,
                "learners": len(self.lead.heard),
                "synced_followers": sum(h >= self.delivered for h in self.lead.have.values()),
            }
        leader = self.follow.leader if self.serving else None
        return {"leader": -1 if leader is None else leader}

    def durable_lsn(self) -> int:
        return max(self.snap_key, self.storage.log.synced_zxid)

    # == events ==============================================================================

    def start(self, now: int) -> list[Action]:
        """Recover the acceptor's promise and accepted values, then wait for a leader."""
        self.now = now
        out: list[Action] = []
        raw = self.storage.state(PROMISED_FILE).read(0) or 0
        self.promised, to = divmod(raw, _ID_SPACE)
        self.promised_to = to or None
        self.seen_round = self.promised
        rec = self.storage.recover()
        if rec.snapshot is not None:
            slot, pos, zxid, top, entries, data = unwrap_snapshot(rec.snapshot)
            self.snap_key = rec.snapshot_zxid
            self.base = self.delivered = slot
            self.pos, self.committed_max = pos, top
            self.log = dict(unpack_entries(entries))
            out.append(InstallSnapshot(zxid, data, pos))
        for _, record in rec.records:
            for slot, e in unpack_entries(record):
                if slot > self.base:
                    self.log[slot] = e
        self.top_slot = max([self.delivered, *self.log])
        self.lsn = self.storage.last_zxid
        out.append(self._trace("restart", pos=self.pos, last_zxid=self.last_zxid))
        # two ticks: long enough to hear a live leader's heartbeat before running against it
        return out + self._go_looking(now, "", 2)

    def on_message(self, now: int, frm: int, msg: Message) -> list[Action]:
        self.now = now
        if frm not in self.peers:
            return []
        rnd = getattr(msg, "round", None)
        if rnd is not None:
            self.seen_round = max(self.seen_round, rnd)
        try:
            match msg:
                case Prepare():
                    return self._on_prepare(now, frm, msg)
                case Accept():
                    return self._on_accept(now, frm, msg)
                case Heartbeat():
                    return self._on_heartbeat(now, frm, msg)
                case Commit():
                    if self._is_my_leader(frm, msg.round):
                        self.follow.heard = now
                        self.follow.commit = max(self.follow.commit, msg.upto)
                        return self._follower_deliver()
                    return []
                case Snap():
                    if self._is_my_leader(frm, msg.round):
                        return self._install(frm, msg.slot, msg.pos, msg.zxid, msg.top, msg.data)
                    return []
                case SyncReply():
                    if self._is_my_leader(frm, self.follow.round):
                        self.follow.syncs.append((msg.upto, msg.token))
                        return self._release_follower_syncs()
                    return []
                case Promise() | Nack() | Accepted() | Status() | Request() | SyncRequest():
                    return self._leader_message(now, frm, msg)
        except ValueError:
            return []  # a malformed entry blob: drop the message, keep the state
        return []

    def on_disconnect(self, now: int, peer: int) -> list[Action]:
        self.now = now
        if self.role == LEADING and self.lead is not None:
            self.lead.have.pop(peer, None)
            return []
        if self.role == FOLLOWING and peer == self.follow.leader:
            return self._go_looking(now, "lost the leader's connection", 0)
        return []

    def on_tick(self, now: int) -> list[Action]:
        self.now = now
        tick = self.cfg.tick_ms
        if self.role == LOOKING:
            return self._run_for_leader(now) if now >= self.attempt_at else []
        if self.role == FOLLOWING:
            if now - self.follow.heard > self.cfg.sync_limit * tick:
                return self._go_looking(now, "leader silent", 0)
            return []
        lead = self.lead
        assert lead is not None
        if not lead.prepared:
            if now - lead.started > self.cfg.init_limit * tick:
                return self._go_looking(now, "no quorum of promises within initLimit", 1)
            prep = Prepare(lead.round, lead.from_slot)
            return [Send(p, prep) for p in self.peers if p not in lead.promises]
        alive = 1 + sum(now - t <= self.cfg.sync_limit * tick for t in lead.heard.values())
        if alive < self.quorum and now - lead.started > self.cfg.sync_limit * tick:
            return self._go_looking(now, "lost a quorum", self.cfg.sync_limit)
        hb = Heartbeat(lead.round, self.delivered, int(lead.active))
        return [Send(p, hb) for p in self.peers] + self._resend_stalled(now)

    def _resend_stalled(self, now: int) -> list[Action]:
        """Slots in flight with no progress for a whole tick go again to the live followers
        that have not voted for them: a follower that rejoined after the first send never
        votes otherwise, and with a minority down for good the window fills and commits stop."""
        lead = self.lead
        assert lead is not None
        if lead.sent_upto <= self.delivered or lead.stalled[0] != self.delivered:
            lead.stalled = (self.delivered, now)
            return []
        if now - lead.stalled[1] < self.cfg.tick_ms:
            return []
        lead.stalled = (self.delivered, now)  # at most once per tick
        limit = self.cfg.sync_limit * self.cfg.tick_ms
        live = [p for p in self.peers if now - lead.heard.get(p, now - limit - 1) <= limit]
        out: list[Action] = []
        for slot in range(self.delivered + 1, lead.sent_upto + 1):
            voters = lead.votes.get(slot, set())
            missing = [p for p in live if p not in voters]
            if missing:
                acc = self._accept_msg(slot)
                out += [Send(p, acc) for p in missing]
        return out

    def on_timer(self, now: int) -> list[Action]:
        self.now = now
        return []  # everything runs on ticks

    def on_flushed(self, now: int) -> list[Action]:
        self.now = now
        self.flush_requested = False
        out = self._release_durable()
        return out + self._flush()

    def propose(self, now: int, payload: bytes) -> list[Action]:
        """Leader only: the next slot gets ``payload``; sent at once if the window allows."""
        self.now = now
        lead = self.lead
        if not self.is_leader or lead is None:
            raise NotLeader(f"server {self.id} is not an established leader")
        slot = lead.next_slot
        lead.next_slot += 1
        zxid = make_zxid(lead.round, slot)
        self._accept_own(slot, Entry(lead.round, zxid, payload))
        out: list[Action] = [
            self._trace("broadcast", epoch=lead.round, zxid=zxid, txn=txn_hash(payload))
        ]
        return out + self._send_window() + self._flush()

    def submit(self, now: int, request: bytes) -> list[Action]:
        self.now = now
        if self.is_leader:
            return [ForwardedRequest(self.id, request)]
        if self.serving and self.follow.leader is not None:
            return [Send(self.follow.leader, Request(self.id, request))]
        raise NotServing(f"server {self.id} is not serving (role {self.role})")

    def sync(self, now: int, token: int) -> list[Action]:
        """``Synced(token)`` once every slot the leader had assigned is delivered here."""
        self.now = now
        if self.is_leader and self.lead is not None:
            self.lead.pending_syncs.append((self.lead.next_slot - 1, None, token))
            return self._release_leader_syncs()
        if self.serving and self.follow.leader is not None:
            return [Send(self.follow.leader, SyncRequest(token))]
        raise NotServing(f"server {self.id} is not serving (role {self.role})")

    def touch(self, data: bytes) -> None:
        self.touches += data

    def compact(self, now: int) -> list[Action]:
        """Snapshot the delivered state with the acceptor's entries above it; keep a window of
        decided slots in memory for catching followers up."""
        self.now = now
        if self.delivered == 0:
            return []
        zxid, data = self.app.snapshot()
        self._save_snapshot(zxid, data)
        keep = self.cfg.committed_log_size
        new_base = self.delivered - keep
        if new_base > self.base:
            for s in range(self.base + 1, new_base + 1):
                self.log.pop(s, None)
            self.base = new_base
        return self._release_durable()

    # == acceptor ============================================================================

    def _promise(self, rnd: int, to: int) -> None:
        if rnd > self.promised:
            self.promised = rnd
            self.storage.state(PROMISED_FILE).write(rnd * _ID_SPACE + to)
        self.promised_to = to

    def _sticky(self, now: int, frm: int) -> bool:
        """A live leader keeps its acceptors: they refuse another candidate's prepare."""
        recent = self.cfg.sync_limit * self.cfg.tick_ms
        if self.role == FOLLOWING and self.follow.active and self.follow.leader != frm:
            return now - self.follow.heard < recent
        if self.is_leader and self.lead is not None:
            alive = 1 + sum(now - t < recent for t in self.lead.heard.values())
            return alive >= self.quorum
        return False

    def _on_prepare(self, now: int, frm: int, msg: Prepare) -> list[Action]:
        if self._sticky(now, frm):
            return [Send(frm, Nack(self.promised))]
        got = acceptor.active().on_prepare(_State(self), Ballot(msg.round, frm), msg.from_slot)
        if isinstance(got, Nack):
            return [Send(frm, got)]
        if not isinstance(got, Promised):
            raise RuleError(f"on_prepare returned {got!r}: expected a Promised or a Nack")
        out = self._follow(now, frm, msg.round)
        if msg.from_slot <= self.base:
            zxid, data = self.app.snapshot()
            above = pack_entries([(s, e) for s, e in got.accepted if s > self.delivered])
            top = self.committed_max
            reply = Promise(got.round, above, self.delivered, self.pos, zxid, top, data)
        else:
            reply = Promise(got.round, pack_entries(list(got.accepted)), 0, 0, 0, 0, b"")
        return out + [Send(frm, reply)]

    def _entries_from(self, slot: int) -> bytes:
        return pack_entries(sorted((s, e) for s, e in self.log.items() if s >= slot))

    def _on_accept(self, now: int, frm: int, msg: Accept) -> list[Action]:
        lsn = self.lsn
        value = Value(msg.zxid, msg.payload)
        got = acceptor.active().on_accept(_State(self), Ballot(msg.round, frm), msg.slot, value)
        if isinstance(got, Nack):
            return [Send(frm, got)]
        record, answer = (got.record, got.reply) if isinstance(got, AfterSync) else (0, got)
        if not isinstance(answer, Accepted):
            raise RuleError(f"on_accept returned {got!r}: expected AfterSync, Accepted or Nack")
        out = self._follow(now, frm, msg.round)
        reply = Send(frm, answer)
        if record > self.durable_lsn():
            bisect.insort(self.pending, (record, reply), key=lambda p: p[0])
        else:
            out.append(reply)
        if self.lsn == lsn:
            return out  # nothing new in the log (a slot decided here already)
        return out + self._flush() + self._follower_deliver()

    def _append(self, slot: int) -> None:
        self.top_slot = max(self.top_slot, slot)
        self.lsn += 1
        self.storage.log.append(self.lsn, pack_entries([(slot, self.log[slot])]))

    def _flush(self) -> list[Action]:
        log = self.storage.log
        if self.flush_requested or log.last_zxid <= log.synced_zxid:
            return []
        self.flush_requested = True
        return [Flush()]

    def _release_durable(self) -> list[Action]:
        durable = self.durable_lsn()
        out: list[Action] = []
        while self.pending and self.pending[0][0] <= durable:
            out.append(self.pending.pop(0)[1])
        if self.lead is not None:
            while self.own_votes and self.own_votes[0][0] <= durable:
                _, slot = self.own_votes.pop(0)
                if slot > self.delivered:
                    self.lead.votes.setdefault(slot, set()).add(self.id)
            out += self._try_commit()
        else:
            self.own_votes.clear()
        return out

    # == follower (replica role) ===========================================================

    def _is_my_leader(self, frm: int, rnd: int) -> bool:
        return self.role == FOLLOWING and self.follow.leader == frm and rnd == self.follow.round

    def _follow(self, now: int, frm: int, rnd: int) -> list[Action]:
        """Take ``frm`` as the leader of ``rnd`` (the acceptor rules promised it)."""
        out: list[Action] = []
        if not self._is_my_leader(frm, rnd):
            out = self._leave_role()
            self.role = FOLLOWING
            self.follow = Following(leader=frm, round=rnd, heard=now)
        self.follow.heard = now
        return out

    def _on_heartbeat(self, now: int, frm: int, msg: Heartbeat) -> list[Action]:
        if msg.round < self.promised:
            return [Send(frm, Nack(self.promised))]
        self._promise(msg.round, frm)
        out = self._follow(now, frm, msg.round)
        self.follow.active = bool(msg.active)
        self.follow.commit = max(self.follow.commit, msg.commit)
        out += self._follower_deliver()
        data, self.touches = self.touches, b""
        return out + [Send(frm, Status(msg.round, self._have(), data))]

    def _have(self) -> int:
        have = self.delivered
        while (e := self.log.get(have + 1)) is not None and e.round == self.follow.round:
            have += 1
        return have

    def _follower_deliver(self) -> list[Action]:
        f = self.follow
        out: list[Action] = []
        while self.delivered < f.commit:
            e = self.log.get(self.delivered + 1)
            if e is None or e.round != f.round:
                break
            out += self._deliver(self.delivered + 1)
        if self.delivered < f.commit and f.leader is not None and f.gap_reported != self.delivered:
            f.gap_reported = self.delivered  # ask the leader for what is missing, once
            out.append(Send(f.leader, Status(f.round, self._have(), b"")))
        if not f.serving and f.active and self.delivered >= f.commit and f.leader is not None:
            f.serving = True
            out.append(self._trace("follow", epoch=f.round, leader=f.leader))
            out.append(RoleChange(FOLLOWING, f.round, f.leader))
        return out + self._release_follower_syncs()

    def _release_follower_syncs(self) -> list[Action]:
        f = self.follow
        done = [tok for slot, tok in f.syncs if slot <= self.delivered]
        f.syncs = [(s, t) for s, t in f.syncs if s > self.delivered]
        return [Synced(t) for t in done]

    def _install(
        self, frm: int, slot: int, pos: int, zxid: int, top: int, data: bytes
    ) -> list[Action]:
        """Catch-up by snapshot: the decided state at ``slot`` replaces ours."""
        if slot <= self.delivered:
            return []
        before = self.committed_max
        for s in [s for s in self.log if s <= slot]:
            del self.log[s]
        self.base = self.delivered = slot
        self.top_slot = max(self.top_slot, slot)
        self.pos, self.committed_max = pos, top
        self._save_snapshot(zxid, data)
        out: list[Action] = [
            InstallSnapshot(zxid, data, pos),
            self._trace("sync", mode="SNAP", leader=frm, pos=pos, **{"from": before, "to": zxid}),
        ]
        if self.role == FOLLOWING:
            out += self._follower_deliver()
        return out

    def _save_snapshot(self, zxid: int, data: bytes) -> None:
        if self.lsn <= self.snap_key:
            self.lsn = self.snap_key + 1  # snapshot keys must grow; the log skips this one
        self.snap_key = self.lsn
        blob = wrap_snapshot(
            self.delivered,
            self.pos,
            zxid,
            self.committed_max,
            self._entries_from(self.delivered + 1),
            data,
        )
        self.storage.snapshot(self.snap_key, blob)

    def _deliver(self, slot: int) -> list[Action]:
        e = self.log[slot]
        self.delivered = slot
        if e.noop:
            return []
        pos = self.pos
        self.pos += 1
        self.committed_max = max(self.committed_max, e.zxid)
        return [
            Deliver(e.zxid, e.payload, pos),
            self._trace("deliver", zxid=e.zxid, pos=pos, txn=txn_hash(e.payload)),
        ]

    # == leader (scout, commanders) ========================================================

    def _run_for_leader(self, now: int) -> list[Action]:
        """Phase 1 (the scout) with a round above every round seen."""
        rnd = max(self.promised, self.seen_round) + 1
        self._promise(rnd, self.id)
        self.role = LEADING
        lead = self.lead = Leading(rnd, now, self.delivered + 1)
        lead.promises[self.id] = Promise(rnd, self._entries_from(lead.from_slot), 0, 0, 0, 0, b"")
        prep = Prepare(rnd, lead.from_slot)
        return [Send(p, prep) for p in self.peers] + self._maybe_prepared()

    def _leader_message(self, now: int, frm: int, msg: Message) -> list[Action]:
        lead = self.lead
        if self.role != LEADING or lead is None:
            return []
        if isinstance(msg, Nack):
            if msg.round >= lead.round or lead.prepared:
                if msg.round >= lead.round:
                    return self._go_looking(now, f"preempted by round {msg.round}", 1)
                return []
            lead.nacks.add(frm)
            if len(lead.nacks) > len(self.members) - self.quorum:
                return self._go_looking(now, "a quorum follows another leader", 1)
            return []
        if isinstance(msg, Promise):
            if msg.round == lead.round and not lead.prepared:
                unpack_entries(msg.entries)  # a damaged blob is dropped before it counts
                lead.promises[frm] = msg
                return self._maybe_prepared()
            return []
        if not lead.prepared:
            return []
        lead.heard[frm] = now
        match msg:
            case Accepted() if msg.round == lead.round:
                if msg.slot > self.delivered:
                    lead.votes.setdefault(msg.slot, set()).add(frm)
                return self._try_commit()
            case Status() if msg.round == lead.round:
                out: list[Action] = [Touched(frm, msg.touches)] if msg.touches else []
                return out + self._catch_up(frm, msg.have)
            case Request() if lead.active:
                return [ForwardedRequest(msg.origin, msg.request)]
            case SyncRequest() if lead.active:
                return [Send(frm, SyncReply(msg.token, lead.next_slot - 1))]
        return []

    def _maybe_prepared(self) -> list[Action]:
        """With a quorum of promises: adopt the highest-round value per slot, fill holes with
        no-ops, and propose the whole recovered suffix again in this round."""
        lead = self.lead
        assert lead is not None
        if lead.prepared or len(lead.promises) < self.quorum:
            return []
        lead.prepared = True
        out: list[Action] = []
        best = max(lead.promises.items(), key=lambda kv: kv[1].snap_slot)
        if best[1].snap_slot > self.delivered:
            p = best[1]
            out += self._install(
                best[0], p.snap_slot, p.snap_pos, p.snap_zxid, p.snap_top, p.snapshot
            )
        first = self.delivered + 1
        promises = [unpack_entries(p.entries) for p in lead.promises.values()]
        chosen = acceptor.active().recover(promises, first)
        top = max([self.delivered, *chosen])
        for slot in range(first, top + 1):
            v = chosen.get(slot)
            if not isinstance(v, Value):
                raise RuleError(
                    f"recover gave slot {slot} {v!r}: every slot from {first} to "
                    f"{top} needs a Value (NOOP for a hole)"
                )
            self._accept_own(slot, Entry(lead.round, v.zxid, v.payload))
        lead.recover_upto = lead.sent_upto = top
        lead.next_slot = top + 1
        for slot in range(self.delivered + 1, top + 1):
            acc = self._accept_msg(slot)
            out += [Send(p, acc) for p in self.peers]
        hb = Heartbeat(lead.round, self.delivered, 0)
        out += [Send(p, hb) for p in self.peers]
        return out + self._flush() + self._try_commit()

    def _accept_own(self, slot: int, e: Entry) -> None:
        self.log[slot] = e
        self._append(slot)
        self.own_votes.append((self.lsn, slot))

    def _accept_msg(self, slot: int) -> Accept:
        """In this round even for a decided slot: its value is the chosen one, and a round
        above the one it was chosen in may only carry that value."""
        assert self.lead is not None
        e = self.log[slot]
        return Accept(self.lead.round, slot, e.zxid, e.payload)

    def _send_window(self) -> list[Action]:
        lead = self.lead
        assert lead is not None
        out: list[Action] = []
        while lead.sent_upto < lead.next_slot - 1 and lead.sent_upto - self.delivered < self.window:
            lead.sent_upto += 1
            acc = self._accept_msg(lead.sent_upto)
            out += [Send(p, acc) for p in self.peers]
        return out

    def _try_commit(self) -> list[Action]:
        lead = self.lead
        if lead is None or not lead.prepared:
            return []
        out: list[Action] = []
        before = self.delivered
        while len(lead.votes.get(self.delivered + 1, ())) >= self.quorum:
            lead.votes.pop(self.delivered + 1)
            out += self._deliver(self.delivered + 1)
        if self.delivered > before:
            msg = Commit(lead.round, self.delivered)
            out += [Send(p, msg) for p in self.peers]
        if not lead.active and self.delivered >= lead.recover_upto:
            lead.active = True
            out.append(self._trace("elected", epoch=lead.round))
            out.append(RoleChange(LEADING, lead.round, self.id))
            hb = Heartbeat(lead.round, self.delivered, 1)
            out += [Send(p, hb) for p in self.peers]
        if self.delivered == before:
            return out
        return out + self._release_leader_syncs() + self._send_window()

    def _catch_up(self, peer: int, have: int) -> list[Action]:
        """Resend what a follower lacks: a snapshot if it is behind our window, then accepts."""
        lead = self.lead
        assert lead is not None
        last = lead.have.get(peer)
        lead.have[peer] = have
        if have >= lead.sent_upto:
            lead.catching.pop(peer, None)
            return []
        batch_end = lead.catching.get(peer)
        if batch_end is not None and have >= batch_end:
            pass  # its last batch arrived whole: the next goes now, or a busy leader outruns it
        elif (last is not None and have > last) or (last is None and have >= self.delivered):
            return []  # it is making progress with what is in flight
        out: list[Action] = []
        start = have + 1
        if start <= self.base:
            zxid, data = self.app.snapshot()
            snap = Snap(lead.round, self.delivered, self.pos, zxid, self.committed_max, data)
            out.append(Send(peer, snap))
            start = self.delivered + 1
        end = min(lead.sent_upto, start + 4 * self.window - 1)
        lead.catching[peer] = end
        for slot in range(start, end + 1):
            out.append(Send(peer, self._accept_msg(slot)))
        if self.delivered >= start:
            out.append(Send(peer, Commit(lead.round, self.delivered)))
        return out

    def _release_leader_syncs(self) -> list[Action]:
        lead = self.lead
        assert lead is not None
        out: list[Action] = []
        keep = []
        for slot, peer, token in lead.pending_syncs:
            if slot > self.delivered:
                keep.append((slot, peer, token))
            elif peer is None:
                out.append(Synced(token))
        lead.pending_syncs = keep
        return out

    # == roles ===============================================================================

    def _leave_role(self) -> list[Action]:
        was_serving = self.serving
        self.lead = None
        self.own_votes.clear()
        self.follow = Following()
        self.role = LOOKING
        if was_serving:
            return [RoleChange(LOOKING, self.promised, None)]
        return []

    def _go_looking(self, now: int, why: str, wait_ticks: int) -> list[Action]:
        out = self._leave_role()
        if why and not out:
            out = [RoleChange(LOOKING, self.promised, None)]
        self.attempt_at = now + (wait_ticks + self.rank) * self.cfg.tick_ms
        return out

    def _trace(self, event: str, **fields: Any) -> Trace:
        return Trace({"node": self.id, "t": self.now, "event": event, **fields})


class _State:
    """The replica's acceptor state as the rules see it (acceptor.AcceptorState)."""

    __slots__ = ("r",)

    def __init__(self, r: PaxosReplica) -> None:
        self.r = r

    @property
    def promised(self) -> Ballot:
        return Ballot(self.r.promised, self.r.promised_to or 0)

    def accepted(self, from_slot: int) -> list[tuple[int, Entry]]:
        return sorted((s, e) for s, e in self.r.log.items() if s >= from_slot)

    def promise(self, ballot: Ballot) -> None:
        self.r._promise(ballot.round, ballot.leader)

    def accept(self, slot: int, entry: Entry) -> int:
        r = self.r
        if slot <= r.delivered:
            return 0  # decided here already: the value can only be the same
        r.log[slot] = entry
        r._append(slot)
        return r.lsn
