"""zoo.cfg and myid text for standalone servers and ensembles (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    """One ensemble member as a `server.N=host:peer:election;client` line describes it."""

    id: int
    host: str
    peer_port: int = 2888
    election_port: int = 3888
    client_port: int | None = None
    # must equal the member's clientPortAddress (ZooKeeper refuses to start otherwise)
    client_address: str | None = None

    def line(self) -> str:
        client = ""
        if self.client_port is not None:
            addr = f"{self.client_address}:" if self.client_address else ""
            client = f";{addr}{self.client_port}"
        return f"server.{self.id}={self.host}:{self.peer_port}:{self.election_port}{client}"


def ensemble(
    hosts: Sequence[str],
    *,
    peer_port: int = 2888,
    election_port: int = 3888,
    client_port: int | None = None,
) -> list[Member]:
    """Members numbered from 1 in the order given (ZooKeeper ids must be >= 1 for ensembles);
    with a client port, clients are served on the member's own address."""
    return [
        Member(i, host, peer_port, election_port, client_port, host if client_port else None)
        for i, host in enumerate(hosts, start=1)
    ]


def zoo_cfg(
    data_dir: str,
    client_port: int,
    *,
    client_address: str | None = "127.0.0.1",
    tick_time: int = 2000,
    init_limit: int = 10,
    sync_limit: int = 5,
    members: Sequence[Member] = (),
    force_sync: bool = True,
    max_client_cnxns: int = 0,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The zoo.cfg text; the admin HTTP server is off so no fixed port 8080 is taken."""
    lines = {
        "tickTime": str(tick_time),
        "initLimit": str(init_limit),
        "syncLimit": str(sync_limit),
        "dataDir": data_dir,
        "clientPort": str(client_port),
        "maxClientCnxns": str(max_client_cnxns),
        "forceSync": "yes" if force_sync else "no",
        "admin.enableServer": "false",
        "4lw.commands.whitelist": "*",
        "autopurge.purgeInterval": "0",
    }
    if client_address:
        lines["clientPortAddress"] = client_address
    if extra:
        lines.update(extra)
    text = [f"{key}={value}" for key, value in lines.items()]
    text += [member.line() for member in members]
    return "\n".join(text) + "\n"


def myid_text(server_id: int) -> str:
    """Content of dataDir/myid for an ensemble member."""
    if server_id < 1:
        raise ValueError(f"ZooKeeper server ids start at 1, got {server_id}")
    return f"{server_id}\n"
