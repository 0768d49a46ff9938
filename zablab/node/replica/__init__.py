"""The protocol-neutral part of a replica: what its drivers see, whatever it replicates with.

How a driver runs a replica (the simulator in zablab/sim is the reference driver)::

    from zablab.node.replica.factory import make_replica
    storage = Storage(data_dir)                        # zablab.node.storage
    r = make_replica("zab", my_id, [1, 2, 3], ReplicaConfig(tick_ms=2000), storage, app)
    actions = r.start(now_ms)                          # recovers, starts electing a leader
    actions = r.on_message(now_ms, peer_id, msg)       # msg decoded by the protocol's codec
    actions = r.on_disconnect(now_ms, peer_id)         # the replication connection broke
    actions = r.on_tick(now_ms)                        # every tick_ms
    actions = r.on_timer(now_ms)                       # when a SetTimer(at) comes due
    actions = r.on_flushed(now_ms)                     # after storage.log.sync() for a Flush
    actions = r.propose(now_ms, txn_bytes)             # leader: a prepared txn (NotLeader else)
    actions = r.submit(now_ms, request_bytes)          # any server: a client write
    actions = r.sync(now_ms, token)                    # a client's sync -> Synced(token) later

Actions (actions.py), performed in order: Send(to, msg), Close(peer), Flush(), SetTimer(at),
Deliver(zxid, payload, pos) to apply to the data tree, InstallSnapshot(zxid, data, pos),
RoleChange(role, epoch, leader), ForwardedRequest(origin, request) (at the leader: prep it and
call ``propose``), Touched(origin, data), Synced(token), Trace(event) for the trace JSONL.

What lives here: the actions, zxid helpers, ``Replica``/``Application`` and the errors
(interface.py), ``ReplicaConfig`` and the protocol names (config.py), the framing codec that a
protocol instantiates with its message table (codec.py), and the HMAC peer handshake
(handshake.py). ``factory.make_replica`` is the only constructor drivers and tests use; it is
not imported here, so that a protocol package may import this one.
"""

from .actions import (
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
from .config import PAXOS_MODES, PROTOCOLS, ReplicaConfig, parse_paxos_mode, parse_protocol
from .interface import Application, NotLeader, NotServing, Replica
from .zxid import epoch_of, make_zxid, txn_hash

__all__ = [
    "PAXOS_MODES",
    "PROTOCOLS",
    "Action",
    "Application",
    "Close",
    "Deliver",
    "Flush",
    "ForwardedRequest",
    "InstallSnapshot",
    "NotLeader",
    "NotServing",
    "Replica",
    "ReplicaConfig",
    "RoleChange",
    "Send",
    "SetTimer",
    "Synced",
    "Touched",
    "Trace",
    "epoch_of",
    "make_zxid",
    "parse_paxos_mode",
    "parse_protocol",
    "txn_hash",
]
