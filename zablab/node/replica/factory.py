"""The one place a replica is constructed: by protocol name, so drivers never name a class."""

from __future__ import annotations

from collections.abc import Sequence

from zablab.node.storage import Storage
from zablab.node.zab.elections import parse_election
from zablab.node.zab.replica import ZabReplica

from .config import ReplicaConfig, parse_protocol
from .interface import Application, Replica

__all__ = ["make_replica", "parse_election"]  # the ZAB replica's election schemes, by name


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
    raise AssertionError(f"PROTOCOLS lists {protocol!r} but make_replica cannot build it")
