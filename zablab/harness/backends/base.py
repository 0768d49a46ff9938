"""What a backend gives the runner: nodes with a control channel, a network and a clock to break."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Protocol

from zablab.harness.control.remote import Remote


@dataclass
class Node:
    """One cluster member as the harness sees it."""

    name: str  # n1..nN
    id: int  # 1..N, the ZooKeeper myid
    host: str  # address peers and clients use (127.0.0.1 for local, 10.x in a namespace)
    remote: Remote
    client_port: int = 2181
    peer_ports: tuple[int, int] = (2888, 3888)  # quorum, election
    workdir: str = "/tmp/zablab"  # on the node: data, logs, traces
    meta: dict[str, object] = field(default_factory=dict)

    @property
    def client_address(self) -> str:
        return f"{self.host}:{self.client_port}"


def close_remotes(nodes: list[Node]) -> None:
    """Close every node's control channel on the way down; one that fails must not stop the rest."""
    for node in nodes:
        with contextlib.suppress(Exception):
            node.remote.close()


Grudge = dict[str, set[str]]  # node name -> names it must not hear from


class Net(Protocol):
    """Network faults. A grudge maps each node to the nodes whose packets it drops."""

    def partition(self, grudge: Grudge) -> None: ...

    def heal(self) -> None: ...

    def loss(self, nodes: list[str], probability: float) -> None: ...

    def delay(self, nodes: list[str], ms: int) -> None: ...

    def rules(self, node: str) -> list[str]:
        """What is in force on a node now (for tests and the report)."""
        ...


class Clock(Protocol):
    """Clock faults on the DB processes (libfaketime offset files, or a virtual clock)."""

    def bump(self, node: str, delta_ms: int) -> None: ...

    def strobe(self, node: str, delta_ms: int, period_ms: int, duration_s: float) -> None: ...

    def reset(self, nodes: list[str] | None = None) -> None: ...

    def env(self, node: str) -> dict[str, str]:
        """Environment a DB process must start with so the clock faults reach it."""
        ...


class Backend(Protocol):
    name: str

    def setup(self, count: int) -> list[Node]: ...

    def net(self) -> Net: ...

    def clock(self) -> Clock: ...

    def teardown(self) -> None:
        """Remove everything this backend created; safe to call twice and after a crash."""
        ...

    def cleanup_leftovers(self) -> None:
        """Remove what an earlier, interrupted run left (processes, namespaces, rules, skews)."""
        ...
