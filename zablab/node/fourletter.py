"""Four-letter words on the client port (all enabled, as with 4lw.commands.whitelist=*).

The version line claims ZooKeeper 3.8 compatibility because kazoo parses `zookeeper.version`
from `envi` to decide which features the server has.
"""

from __future__ import annotations

import os
import platform
import socket
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .server import ServerCore

VERSION = "3.8.0-zablab-0.1.0, built on 2026-11-25 00:00 UTC"

FOUR_LETTER_WORDS = frozenset(
    w.encode()
    for w in (
        "ruok",
        "srvr",
        "stat",
        "mntr",
        "envi",
        "isro",
        "conf",
        "cons",
        "dump",
        "wchs",
        "srst",
        "crst",
        "dirs",
        "wchc",
        "wchp",
        "gtmk",
        "stmk",
        "hash",
        "wevs",
    )
)


def _lat(core: ServerCore) -> tuple[int, str, int]:
    s = core.stats
    avg = s.lat_total / s.lat_count if s.lat_count else 0.0
    return s.lat_min, f"{avg:.4f}", s.lat_max


def _srvr(core: ServerCore, clients: bool) -> str:
    lo, avg, hi = _lat(core)
    lines = [f"Zookeeper version: {VERSION}"]
    if clients:
        lines.append("Clients:")
        for c in core.conns.values():
            lines.append(f" /{c.peer}[1](queued={len(c.queue)},recved={c.recv},sent={c.sent})")
        lines.append("")
    lines += [
        f"Latency min/avg/max: {lo}/{avg}/{hi}",
        f"Received: {core.stats.received}",
        f"Sent: {core.stats.sent}",
        f"Connections: {len(core.conns)}",
        f"Outstanding: {sum(len(c.queue) for c in core.conns.values())}",
        f"Zxid: 0x{core.tree.last_zxid:x}",
        f"Mode: {core.info().get('mode', 'standalone')}",
        f"Node count: {core.tree.node_count()}",
    ]
    return "\n".join(lines) + "\n"


def _mntr(core: ServerCore) -> str:
    lo, avg, hi = _lat(core)
    info = core.info()
    rows = [
        ("zk_version", VERSION),
        ("zk_server_state", info.get("mode", "standalone")),
        ("zk_avg_latency", avg),
        ("zk_max_latency", hi),
        ("zk_min_latency", lo),
        ("zk_packets_received", core.stats.received),
        ("zk_packets_sent", core.stats.sent),
        ("zk_num_alive_connections", len(core.conns)),
        ("zk_outstanding_requests", sum(len(c.queue) for c in core.conns.values())),
        ("zk_znode_count", core.tree.node_count()),
        ("zk_watch_count", core.watches.count()),
        ("zk_ephemerals_count", sum(len(v) for v in core.tree.ephemerals.values())),
        ("zk_approximate_data_size", sum(len(n.data or b"") for n in core.tree.nodes.values())),
        ("zk_global_sessions", len(core.tracker.sessions)),
        ("zk_last_zxid", f"0x{core.tree.last_zxid:x}"),
    ]
    return "".join(f"{k}\t{v}\n" for k, v in rows)


def _envi(core: ServerCore) -> str:
    rows = [
        ("zookeeper.version", VERSION),
        ("host.name", socket.gethostname()),
        ("python.version", sys.version.split()[0]),
        ("python.implementation", platform.python_implementation()),
        ("os.name", platform.system()),
        ("os.arch", platform.machine()),
        ("os.version", platform.release()),
        ("user.dir", os.getcwd()),
    ]
    return "Environment:\n" + "".join(f"{k}={v}\n" for k, v in rows)


def _conf(core: ServerCore) -> str:
    info = core.info()
    rows = [
        ("clientPort", info.get("clientPort", "")),
        ("dataDir", info.get("dataDir", "")),
        ("dataLogDir", info.get("dataDir", "")),
        ("tickTime", core.tick_ms),
        ("maxClientCnxns", core.max_cnxns),
        ("minSessionTimeout", core.min_timeout),
        ("maxSessionTimeout", core.max_timeout),
        ("serverId", info.get("serverId", 0)),
    ]
    return "".join(f"{k}={v}\n" for k, v in rows)


def _cons(core: ServerCore) -> str:
    out = []
    for c in core.conns.values():
        out.append(
            f" /{c.peer}[1](queued={len(c.queue)},recved={c.recv},sent={c.sent},"
            f"sid=0x{c.session_id & 0xFFFFFFFFFFFFFFFF:x},to={c.timeout})\n"
        )
    return "".join(out) + "\n"


def _dump(core: ServerCore) -> str:
    lines = ["SessionTracker dump:", f"Session Sets ({len(core.tracker.buckets)}):"]
    lines.append(f"ephemeral nodes dump:\nSessions with Ephemerals ({len(core.tree.ephemerals)}):")
    for sid in sorted(core.tree.ephemerals):
        lines.append(f"0x{sid & 0xFFFFFFFFFFFFFFFF:x}:")
        lines.extend(f"\t{p}" for p in sorted(core.tree.ephemerals[sid]))
    return "\n".join(lines) + "\n"


def _wchs(core: ServerCore) -> str:
    w = core.watches
    conns = set(w.data.by_watcher) | set(w.child.by_watcher)
    paths = set(w.data.by_path) | set(w.child.by_path)
    return f"{len(conns)} connections watching {len(paths)} paths\nTotal watches:{w.count()}\n"


def four_letter(core: ServerCore, word: str) -> str:
    if word == "ruok":
        return "imok"
    if word == "srvr":
        return _srvr(core, clients=False)
    if word == "stat":
        return _srvr(core, clients=True)
    if word == "mntr":
        return _mntr(core)
    if word == "envi":
        return _envi(core)
    if word == "isro":
        return "rw"
    if word == "conf":
        return _conf(core)
    if word == "cons":
        return _cons(core)
    if word == "dump":
        return _dump(core)
    if word == "wchs":
        return _wchs(core)
    if word == "wevs":  # zablab's own: watch events delivered per session since start
        return "".join(
            f"0x{sid & 0xFFFFFFFFFFFFFFFF:x}\t{n}\n" for sid, n in sorted(core.stats.wakeups.items())
        )
    if word == "srst":
        core.stats.reset_latency()
        core.stats.received = core.stats.sent = 0
        return "Server stats reset.\n"
    if word == "crst":
        for c in core.conns.values():
            c.recv = c.sent = 0
        return "Connection stats reset.\n"
    if word == "dirs":
        return "datadir_size: 0\nlogdir_size: 0\n"
    return f"{word} is not supported by zablab.\n"
