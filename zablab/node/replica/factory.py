"""The one place a replica is constructed: by protocol name, so drivers never name a class."""

from __future__ import annotations

from collections.abc import Sequence

from zablab.node.paxos import codec as paxos_codec
from zablab.node.paxos.replica import PaxosReplica
from zablab.node.storage import Storage
from zablab.node.zab import codec as zab_codec
from zablab.node.zab.elections import parse_election
from zablab.node.zab.replica import ZabReplica

from .codec import Codec
from .config import ReplicaConfig, parse_protocol
from .interface import Application, Replica

__all__ = [
    "codec_of",
    "make_replica",
    "parse_election",
]  # the ZAB replica's election schemes, by name


def make_replica(
    protocol: str,
    my_id: int,
    members: Sequence[int],
    config: ReplicaConfig,
    storage: Storage,
    app: Application,
) -> Replica:
    match parse_protocol(protocol):
        case "zab":
            return ZabReplica(my_id, members, config, storage, app)
        case "paxos":
            return PaxosReplica(my_id, members, config, storage, app)
    raise AssertionError(f"PROTOCOLS lists {protocol!r} but make_replica cannot build it")


def codec_of(protocol: str) -> Codec:
    """The wire codec of a protocol's peer messages (the ensemble's peer links frame with it)."""
    match parse_protocol(protocol):
        case "zab":
            return zab_codec.CODEC
        case "paxos":
            return paxos_codec.CODEC
    raise AssertionError(f"PROTOCOLS lists {protocol!r} but codec_of has no codec for it")
