"""What every replica is built from: its protocol's name, timing, and seeded-bug names."""

from __future__ import annotations

from dataclasses import dataclass, field

from zablab.errors import UserError

# The replication protocols a replica can run; zoo.cfg `zablab.protocol` and the simulator's
# --protocol choose one (factory.make_replica builds it).
PROTOCOLS = ("zab", "paxos")


def parse_protocol(name: str) -> str:
    """A protocol name checked against PROTOCOLS (one UserError line otherwise)."""
    if name not in PROTOCOLS:
        raise UserError(
            f"unknown replication protocol {name!r}; known protocols: {', '.join(PROTOCOLS)}."
        )
    return name


# How a ZooKeeper server sits on Paxos (zoo.cfg `zablab.paxos.mode`, --paxos-mode): `deltas`
# decides the txn the primary prepped against its pending state (primary-backup on a consensus
# log), `commands` decides the client's request and every server preps it at delivery
# (state-machine replication). ZAB always replicates deltas: its order makes them safe.
PAXOS_MODES = ("deltas", "commands")


def parse_paxos_mode(mode: str, protocol: str) -> str:
    """A Paxos mode checked against PAXOS_MODES and the protocol (one UserError line)."""
    if mode not in PAXOS_MODES:
        raise UserError(f"unknown Paxos mode {mode!r}; known modes: {', '.join(PAXOS_MODES)}.")
    if mode != "deltas" and protocol != "paxos":
        raise UserError(
            f"Paxos mode {mode!r} needs the paxos protocol (zablab.protocol=paxos, "
            f"--protocol paxos); {protocol} replicates the primary's txns."
        )
    return mode


@dataclass(frozen=True)
class ReplicaConfig:
    """Timing in ZooKeeper's terms (ticks), the election's waits, and the seeded bugs by name
    (the replica turns them into its layer's typed switches, zablab.bugs)."""

    tick_ms: int = 2000
    init_limit: int = 10  # ticks for discovery + sync
    sync_limit: int = 5  # ticks without hearing the leader / a quorum
    finalize_wait_ms: int = 200  # election: wait for a better vote once a quorum agrees
    max_notify_interval_ms: int = 60000
    committed_log_size: int = 500  # how much history a leader keeps to catch followers up
    election: str = "fle"  # the election scheme by name (zablab/node/zab/elections)
    bugs: frozenset[str] = field(default_factory=frozenset)
    # the largest counter a zxid of one epoch holds: ZooKeeper's low 32 bits (the simulator
    # lowers it to reach a rollover in a few writes)
    zxid_counter_max: int = 0xFFFFFFFF
