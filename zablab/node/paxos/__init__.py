"""The Multi-Paxos replica (sans-IO), a second protocol behind the same ``Replica`` seam.

Drivers build it with ``zablab.node.replica.factory.make_replica("paxos", ...)`` and type
against ``zablab.node.replica.Replica``, exactly as for ZAB; the ensemble's peer links frame its
messages with ``codec.CODEC``. What is Paxos's own lives here: the message table (messages.py),
its codec (codec.py) and the replica (replica.py, whose docstring gives the rules).

Mode ``deltas``: the leader's server preps a client write against its tree plus pending
proposals (as under ZAB) and Paxos decides the resulting txn in a slot: primary-backup on a
consensus log. A pipelined slot decided after a lost earlier one delivers a delta computed on a
state that never existed, which the ZAB trace checker reports as broken primary order.
Mode ``commands`` (the server's side, zablab/node/zab_replicator.py) decides the client's
request instead and every server preps it at delivery; the replica is the same in both modes,
its values are opaque bytes.
"""
