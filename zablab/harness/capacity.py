"""Whether a cluster of N nodes fits this machine, checked before anything starts.

A cluster that is too big does not fail cleanly: at a hundred local nodes the fault proxy alone
wants ~20,000 sockets, accept() starts failing with EMFILE inside the proxy and kazoo, and the
run drowns in tracebacks before it gives up. So the runner asks first, from estimates:

- the local backend's fault proxy listens once per directed pair and kind (quorum, election)
  and holds two sockets per proxied connection (one election link per pair, one quorum link
  per follower), all in the harness process; its listeners take ports from the ephemeral range,
  which outgoing connections need too;
- a kazoo session holds a socket and a socketpair (3 fds) in the process that runs it;
- every node costs the harness a few fds for its process handle and log.
"""

from __future__ import annotations

import math
import resource
from dataclasses import dataclass

from zablab.errors import UserError
from zablab.ports import ephemeral_range

BASE_FDS = 100  # Python, logging, the history file, rich, the checkers' files
FDS_PER_SESSION = 3
FDS_PER_NODE = 4
NETNS_MAX_NODES = 253  # one /24: 10.77.0.1 .. .253 (.254 is the bridge)


@dataclass(frozen=True)
class Demand:
    fds: int  # in the harness process
    worker_fds: int  # in each client worker process
    proxy_ports: int  # ephemeral ports the fault proxy listens on


def proxy_fds(nodes: int) -> int:
    pairs = nodes * (nodes - 1)
    listeners = 2 * pairs
    connections = 2 * (pairs // 2 + (nodes - 1))  # election link per pair, quorum per follower
    return listeners + connections


def demand(backend: str, nodes: int, concurrency: int, client_procs: int) -> Demand:
    in_harness = concurrency if client_procs <= 1 else 0
    per_proc = 0 if client_procs <= 1 else math.ceil(concurrency / client_procs)
    fds = BASE_FDS + FDS_PER_NODE * nodes + FDS_PER_SESSION * in_harness
    ports = 0
    if backend == "local":
        fds += proxy_fds(nodes)
        ports = 2 * nodes * (nodes - 1)
    return Demand(fds, BASE_FDS + FDS_PER_SESSION * per_proc, ports)


def raise_fd_limit(wanted: int) -> int:
    """Lift the soft RLIMIT_NOFILE towards `wanted` (never above the hard limit); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
            soft = new
        except (ValueError, OSError):
            pass
    return soft


def max_nodes(backend: str, concurrency_per_node: float, client_procs: int, fd_limit: int) -> int:
    n = 1
    while n < 10_000:
        d = demand(backend, n + 1, math.ceil(concurrency_per_node * (n + 1)), client_procs)
        if d.fds > fd_limit or d.proxy_ports > _proxy_port_room():
            break
        n += 1
    return n


def _proxy_port_room() -> int:
    low, high = ephemeral_range()
    return (high - low + 1) // 2  # leave half the range to outgoing connections


def check(backend: str, nodes: int, concurrency: int, client_procs: int) -> None:
    """A UserError naming the limit and the fix if `nodes` cannot run here; else nothing."""
    if backend == "netns" and nodes > NETNS_MAX_NODES:
        raise UserError(
            f"--nodes {nodes}: the netns backend has addresses for {NETNS_MAX_NODES} nodes; "
            "use fewer nodes."
        )
    d = demand(backend, nodes, concurrency, client_procs)
    limit = raise_fd_limit(max(d.fds, d.worker_fds))
    per_node = concurrency / nodes
    if max(d.fds, d.worker_fds) > limit:
        most = max_nodes(backend, per_node, client_procs, limit)
        need = max(d.fds, d.worker_fds)
        raise UserError(
            f"--nodes {nodes} on the {backend} backend needs about {need:,} open files but "
            f"the limit is {limit:,}; raise it (`ulimit -n {need}`) or use at most {most} nodes."
        )
    if d.proxy_ports > _proxy_port_room():
        most = max_nodes(backend, per_node, client_procs, 1 << 30)
        raise UserError(
            f"--nodes {nodes} on the local backend needs {d.proxy_ports:,} fault-proxy ports, "
            f"more than half the ephemeral port range holds; use at most {most} nodes, or "
            "--backend netns or docker (no proxy)."
        )
