"""The ZAB replica (sans-IO) and its peer protocol.

How a server drives a replica (the simulator in zablab/sim is the reference driver)::

    storage = Storage(data_dir)                       # zablab.node.storage
    r = ZabReplica(my_id, [1, 2, 3], ZabConfig(tick_ms=2000), storage, app)
    actions = r.start(now_ms)                          # recovers, starts Fast Leader Election
    actions = r.on_message(now_ms, peer_id, msg)       # msg decoded by codec.FrameDecoder
    actions = r.on_disconnect(now_ms, peer_id)         # the ZAB connection to peer_id broke
    actions = r.on_tick(now_ms)                        # every tick_ms
    actions = r.on_timer(now_ms)                       # when a SetTimer(at) comes due
    actions = r.on_flushed(now_ms)                     # after storage.log.sync() for a Flush
    actions = r.propose(now_ms, txn_bytes)             # leader: a prepared txn (NotLeader else)
    actions = r.submit(now_ms, request_bytes)          # any server: a client write
    actions = r.sync(now_ms, token)                    # a client's sync -> Synced(token) later

Actions (actions.py), performed in order: Send(to, msg), Close(peer), Flush(), SetTimer(at),
Deliver(zxid, payload, pos) to apply to the data tree, InstallSnapshot(zxid, data, pos),
RoleChange(role, epoch, leader), ForwardedRequest(origin, request) (at the leader: prep it and
call ``propose``), Synced(token), Trace(event) for the ZAB trace JSONL.

The application behind the replica is only asked for ``snapshot() -> (zxid, bytes)`` of its
delivered state (to SNAP a lagging follower and in ``compact``). Payloads are opaque bytes, so
a Multi-Paxos replica with the same methods can stand in for this one.

Server integration (the seam the node's ZAB Replicator implements):

- A client write at any server goes to ``submit(request)``. At the leader that yields
  ``ForwardedRequest(origin, request)`` at once; at a follower the request travels to the leader,
  where the same action appears. The leader's server then runs ``prep`` (validation against the
  tree plus pending changes) with ``zxid = r.next_zxid`` and calls ``propose(now, txn.encode())``
  straight after, so the zxid in the header is the one assigned; the txn header inside the bytes
  carries the client id and cxid, so the origin server recognises its own txns on ``Deliver`` and
  answers the client there. Requests in flight when a ``RoleChange`` arrives are failed with
  connection loss (the client retries), as ZooKeeper does.
- Sessions are txns like any other: createSession/closeSession are prepped and proposed by the
  leader, so every replica applies them in zxid order; only the leader's session tracker expires
  sessions (it proposes closeSession). A follower's server reports its sessions' activity with
  ``touch(data)``; it rides on the next heartbeat reply and surfaces at the leader as
  ``Touched(origin, data)`` for the session tracker.
- ``Deliver`` goes to ``DataTree.apply``; ``InstallSnapshot`` replaces the tree;
  ``compact`` after a batch of deliveries bounds the log (the server decides when).
- ``sync(token)`` answers a client's sync once the leader's pending proposals are delivered here.
- Peer connections: one per peer for election (``Notification``) and one for ZAB traffic,
  each opened with ``handshake.Handshake`` and then framed by ``codec``. Either side closing or
  losing the ZAB connection must call ``on_disconnect`` and perform ``Close``.
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
from .config import BUGS, ZabConfig
from .replica import Application, NotLeader, NotServing, ZabReplica, txn_hash
from .zxid import epoch_of, make_zxid

__all__ = [
    "BUGS",
    "Action",
    "Application",
    "Close",
    "Deliver",
    "Flush",
    "ForwardedRequest",
    "InstallSnapshot",
    "NotLeader",
    "NotServing",
    "RoleChange",
    "Send",
    "SetTimer",
    "Synced",
    "Touched",
    "Trace",
    "ZabConfig",
    "ZabReplica",
    "epoch_of",
    "make_zxid",
    "txn_hash",
]
