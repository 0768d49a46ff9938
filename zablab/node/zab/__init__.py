"""The ZAB replica (sans-IO): Fast Leader Election, discovery, synchronisation, broadcast.

Drivers do not import this package: they build a replica with
``zablab.node.replica.factory.make_replica("zab", ...)`` and type against
``zablab.node.replica.Replica`` (the driver interface is described in that package). What is
ZAB's own lives here: the message table (messages.py) and its codec (codec.py), Fast Leader
Election (election.py), the other election schemes and their registry (elections/, chosen by
``ReplicaConfig.election``), the replica (replica.py) and the three rules it asks at the
decisions that keep acknowledged writes safe (rules.py: which sync a follower gets, when a
follower ACKs and takes the epoch, how far the leader commits; the ``zab`` lab plugs a
student's in).

Server integration (the seam the node's ZabReplicator, zablab/node/zab_replicator.py, implements):

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
  each opened with ``zablab.node.replica.handshake.Handshake`` and then framed by ``codec``.
  Either side closing or losing the ZAB connection must call ``on_disconnect`` and perform
  ``Close``.
"""
