"""The Replicator seam over a replica (ZAB): how a ServerCore runs in a replicated ensemble.

Sans-IO like both sides: client events go to the core, the core's writes and syncs go to the
replica, and the replica's actions come back through `handle`. Actions that touch the outside
world (Send, Close, Flush, SetTimer, Trace) are left in `io` for the driver (asyncio runtime or
a test's in-memory network); the rest are performed here against the core:

- Deliver -> core.deliver (the server holding the session answers its client),
- InstallSnapshot -> core.install_tree (SNAP sync),
- ForwardedRequest (at the leader) -> prep against the tree + pending proposals, then propose,
- Touched (at the leader) -> session activity reported by a follower,
- Synced -> the client's sync is answered in its turn,
- RoleChange -> clients are disconnected (they reconnect and resume their sessions), only a
  leader expires sessions, and a server that is not serving refuses clients.

It types against the protocol-neutral ``Replica``; only the name says which protocol the node
runs today (a Multi-Paxos replica produces the same actions).

``mode`` says what the replica decides. ``deltas`` (ZAB, and Paxos by default): the primary
preps each request into a txn against its tree plus its pending proposals and the replica
decides that txn — primary-backup, which needs the replica to keep primary order. ``commands``
(Paxos only): the leader proposes the client's request as it came (commands.py) and every server
preps it against its own tree when it is delivered — state-machine replication, where a
request decided without an earlier one of its primary is simply validated on the state it
meets.
"""

from __future__ import annotations

import struct
from typing import assert_never

from .commands import ModeMismatch, decode_command, encode_command, is_command
from .datatree import DataTree
from .prep import WriteRequest
from .replica import (
    Action,
    Close,
    Deliver,
    Flush,
    ForwardedRequest,
    InstallSnapshot,
    NotLeader,
    NotServing,
    Replica,
    RoleChange,
    Send,
    SetTimer,
    Synced,
    Touched,
    Trace,
    parse_paxos_mode,
)
from .server import ServerCore
from .txn import Txn

_SID = struct.Struct(">q")

IoAction = Send | Close | Flush | SetTimer | Trace
"""The actions the replicator leaves for its driver (network, disk, timers, trace)."""


class ZabReplicator:
    def __init__(
        self, core: ServerCore, replica: Replica, *, mode: str = "deltas", protocol: str = "zab"
    ) -> None:
        self.core = core
        self.replica = replica
        self.commands = parse_paxos_mode(mode, protocol) == "commands"
        self.io: list[IoAction] = []
        self.role = "LOOKING"
        core.attach(self, sync=self._sync)

    # ---- core -> replica --------------------------------------------------------------------

    def submit(self, request: WriteRequest) -> None:
        try:
            self.handle(self.replica.submit(self.core.now, request.encode()))
        except (NotServing, NotLeader):
            self.core.drop_clients("this server lost its leader")

    def _sync(self, token: int) -> None:
        try:
            self.handle(self.replica.sync(self.core.now, token))
        except (NotServing, NotLeader):
            self.core.drop_clients("this server lost its leader")

    def report_touches(self) -> None:
        """Follower: pass the sessions its clients kept alive to the leader (call per tick)."""
        touched = self.core.take_touched()
        if touched and not self.replica.is_leader:
            self.replica.touch(b"".join(_SID.pack(s) for s in sorted(touched)))

    # ---- replica -> core --------------------------------------------------------------------

    def handle(self, actions: list[Action]) -> None:
        # An isinstance chain, the frequent kinds first: it runs for every action of every
        # replica event, and a ``match`` on class patterns costs several times as much.
        core = self.core
        for a in actions:
            if isinstance(a, (Send, Trace, SetTimer, Flush, Close)):
                self.io.append(a)
            elif isinstance(a, Deliver):
                if self.commands:
                    self._execute(a.zxid, a.payload)
                elif is_command(a.payload):
                    raise ModeMismatch(
                        "a delivered value is a command, not a txn: every server of the "
                        "ensemble must run the same zablab.paxos.mode"
                    )
                else:
                    core.deliver(Txn.decode(a.payload), a.payload)
            elif isinstance(a, ForwardedRequest):
                self._propose(WriteRequest.decode(a.request))
            elif isinstance(a, Synced):
                core.synced(a.token)
            elif isinstance(a, Touched):
                for (sid,) in _SID.iter_unpack(a.data[: len(a.data) // 8 * 8]):
                    core.tracker.touch(sid, core.now)
            elif isinstance(a, RoleChange):
                self._role(a)
            elif isinstance(a, InstallSnapshot):
                core.install_tree(DataTree.deserialize(a.data))
            else:
                assert_never(a)

    def _execute(self, zxid: int, payload: bytes) -> None:
        """Commands mode: prep the decided request against this server's committed tree (no
        pending changes: nothing is prepped ahead of delivery) and apply the txn it makes."""
        core = self.core
        wall, req = decode_command(payload)
        core.prep.reset()
        txn = core.prep.prep(req, zxid, wall, agreed_sessions=True)
        core.prep.reset()
        core.deliver(txn)

    def _propose(self, req: WriteRequest) -> None:
        replica = self.replica
        try:
            if self.commands:
                payload = encode_command(self.core.wall, req)
            else:
                payload = self.core.prep.prep(req, replica.next_zxid, self.core.wall).encode()
            actions = replica.propose(self.core.now, payload)
        except NotLeader:
            return  # leadership just ended; the client's connection is dropped with it
        self.handle(actions)

    def _role(self, a: RoleChange) -> None:
        core = self.core
        if a.role != self.role or a.role == "LOOKING":
            core.drop_clients(f"{a.role.lower()} (epoch {a.epoch}, leader {a.leader})")
        self.role = a.role
        core.set_role(serving=a.role in ("LEADING", "FOLLOWING"), primary=a.role == "LEADING")
        if a.role == "LEADING":
            # a new leader gives every session a full timeout, as ZooKeeper's does
            for sid in list(core.tracker.sessions):
                core.tracker.touch(sid, core.now)
