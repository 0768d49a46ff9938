"""What the server reports about itself, as data: the four-letter words (text), the AdminServer
(JSON) and the Prometheus endpoint all render these, so the three cannot disagree.

Field names are ZooKeeper 3.8's (its Commands.java, ServerStats and MonitorCommand); what
zablab leaves out, and why, is listed in docs/compat.md.
"""

from __future__ import annotations

import os
import platform
import resource
import socket
import sys
import zlib
from collections.abc import Callable
from typing import Protocol

from zablab import __version__

from .connection import OPEN, Conn, Stats
from .datatree import DataTree
from .metrics import ServerMetrics, java_double
from .options import ServerOptions
from .sessions import SessionTracker
from .watches import Watches

VERSION = f"3.8.0-zablab-{__version__}, built on 2026-11-25 00:00 UTC"
SESSIONLESS_TIMEOUT = 10_000  # ZooKeeper's NIO factory closes a connection without session


class ServerView(Protocol):
    """What the reports read of the server (ServerCore has it all)."""

    tree: DataTree
    watches: Watches
    tracker: SessionTracker
    stats: Stats
    metrics: ServerMetrics
    conns: dict[int, Conn]
    options: ServerOptions
    tick_ms: int
    max_cnxns: int
    min_timeout: int
    max_timeout: int
    now: int
    wall: int
    info: Callable[[], dict[str, str]]


def hex64(v: int) -> str:
    return f"{v & 0xFFFFFFFFFFFFFFFF:x}"


def mode(core: ServerView) -> str:
    return core.info().get("mode", "standalone")


def outstanding(core: ServerView) -> int:
    return sum(len(c.queue) for c in core.conns.values())


def node_count(core: ServerView) -> int:
    """As ZooKeeper counts: its node map holds the root twice ("" and "/")."""
    return len(core.tree.nodes) + 1


def approximate_data_size(core: ServerView) -> int:
    """ZooKeeper's DataTree.approximateDataSize: path plus data length of every node."""
    return sum(len(p) + (len(n.data) if n.data else 0) for p, n in core.tree.nodes.items())


def dir_size(path: str) -> int:
    """Bytes of the regular files directly in `path` (ZooKeeper's dirs: its version-2 dir)."""
    total = 0
    try:
        with os.scandir(path) as it:
            for e in it:
                if e.is_file(follow_symlinks=False):
                    total += e.stat(follow_symlinks=False).st_size
    except OSError:
        return 0
    return total


def data_dir(core: ServerView) -> str:
    return core.info().get("dataDir", "")


def file_descriptors() -> tuple[int, int]:
    """(open, max) file descriptors of this process."""
    try:
        opened = len(os.listdir("/proc/self/fd"))
    except OSError:
        opened = -1
    return opened, resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def uptime(core: ServerView) -> int:
    return core.now - core.stats.started


# ---- mntr / monitor ---------------------------------------------------------------------------


def monitor(core: ServerView) -> dict[str, object]:
    """mntr's rows without the zk_ prefix, typed as the AdminServer's monitor answers them."""
    out = gauges(core)
    for name, value in core.metrics.rows():
        out[name] = value
    return out


def gauges(core: ServerView) -> dict[str, object]:
    """The server's state values (ZooKeeper registers them as gauges), version first."""
    st = core.stats
    lat = st.latency
    opened, most = file_descriptors()
    out: dict[str, object] = {
        "version": VERSION,
        "server_state": mode(core),
        "ephemerals_count": sum(len(v) for v in core.tree.ephemerals.values()),
        "num_alive_connections": len(core.conns),
        "avg_latency": round(lat.avg, 4),
        "outstanding_requests": outstanding(core),
        "znode_count": node_count(core),
        "global_sessions": len(core.tracker.sessions),
        "local_sessions": 0,  # zablab has no local sessions: every session is global
        "last_client_response_size": st.last_response_size,
        "max_client_response_size": st.max_response_size,
        "min_client_response_size": st.min_response_size,
        "packets_sent": st.sent,
        "packets_received": st.received,
        "watch_count": core.watches.count(),
        "auth_failed_count": st.auth_failed,
        "min_latency": lat.min,
        "max_latency": lat.max,
        "max_file_descriptor_count": most,
        "open_file_descriptor_count": opened,
        "approximate_data_size": approximate_data_size(core),
        "uptime": uptime(core),
    }
    info = core.info()
    for key in ("learners", "synced_followers", "pending_syncs"):  # a leader's
        if key in info:
            out[key] = int(info[key])
    return out


def mntr_text(core: ServerView) -> str:
    rows = []
    for k, v in monitor(core).items():
        if isinstance(v, float):
            v = java_double(v)
        rows.append(f"zk_{k}\t{v}\n")
    return "".join(rows)


# ---- stat / srvr / server_stats ----------------------------------------------------------------


def server_stats(core: ServerView) -> dict[str, object]:
    st = core.stats
    size = dir_size(data_dir(core))
    response = client_response(core)
    return {
        "packets_sent": st.sent,
        "packets_received": st.received,
        "fsync_threshold_exceed_count": core.metrics.fsync_threshold_exceed_count,
        "client_response_stats": response,
        "data_dir_size": size,
        "log_dir_size": size,
        "provider_null": False,
        "server_state": mode(core),
        "last_processed_zxid": core.tree.last_zxid,
        "outstanding_requests": outstanding(core),
        "avg_latency": round(st.latency.avg, 4),
        "max_latency": st.latency.max,
        "min_latency": st.latency.min,
        "num_alive_client_connections": len(core.conns),
        "uptime": uptime(core),
        "auth_failed_count": st.auth_failed,
    }


def client_response(core: ServerView) -> dict[str, int]:
    st = core.stats
    return {
        "last_buffer_size": st.last_response_size,
        "min_buffer_size": st.min_response_size,
        "max_buffer_size": st.max_response_size,
    }


def interest_ops(c: Conn, asking: int | None) -> int:
    """NIO interest ops as ZooKeeper shows them: 0 for the connection asking a four-letter
    word (it is being answered and closed), 1 (read) for the others."""
    return 0 if c.id == asking else 1


def connection(c: Conn, brief: bool, asking: int | None = None) -> dict[str, object]:
    """ServerCnxn.getConnectionInfo (brief: the stat command's short form)."""
    out: dict[str, object] = {
        "remote_socket_address": c.peer,
        "interest_ops": interest_ops(c, asking),
        "outstanding_requests": len(c.queue),
        "packets_received": c.recv,
        "packets_sent": c.sent,
    }
    if not brief and c.session_id and c.state == OPEN:
        lat = c.latency
        out.update(
            {
                "session_id": c.session_id,
                "last_operation": c.last_op,
                "established": c.established,
                "session_timeout": c.timeout,
                "last_cxid": c.last_cxid,
                "last_zxid": c.last_zxid,
                "last_response_time": c.last_response,
                "last_latency": c.last_latency,
                "min_latency": lat.min,
                "avg_latency": lat.total // lat.count if lat.count else 0,
                "max_latency": lat.max,
            }
        )
    return out


def connection_line(c: Conn, brief: bool, asking: int | None = None) -> str:
    """One line of cons or stat, as ServerCnxn.dumpConnectionInfo prints it."""
    d = connection(c, brief, asking)
    text = (
        f" /{c.peer}[{d['interest_ops']}](queued={d['outstanding_requests']},"
        f"recved={d['packets_received']},sent={d['packets_sent']}"
    )
    if "session_id" in d:
        text += f",sid=0x{hex64(c.session_id)},lop={c.last_op},est={c.established},to={c.timeout}"
        if c.last_cxid >= 0:
            text += f",lcxid=0x{hex64(c.last_cxid)}"
        text += (
            f",lzxid=0x{hex64(c.last_zxid)},lresp={c.last_response},llat={c.last_latency},"
            f"minlat={d['min_latency']},avglat={d['avg_latency']},maxlat={d['max_latency']}"
        )
    return text + ")"


def srvr_text(core: ServerView, clients: bool, asking: int | None = None) -> str:
    lat = core.stats.latency
    lines = [f"Zookeeper version: {VERSION}"]
    if clients:
        lines.append("Clients:")
        lines += [connection_line(c, True, asking) for c in core.conns.values()]
        lines.append("")
    lines += [
        f"Latency min/avg/max: {lat.min}/{java_double(lat.avg)}/{lat.max}",
        f"Received: {core.stats.received}",
        f"Sent: {core.stats.sent}",
        f"Connections: {len(core.conns)}",
        f"Outstanding: {outstanding(core)}",
        f"Zxid: 0x{core.tree.last_zxid:x}",
        f"Mode: {mode(core)}",
        f"Node count: {node_count(core)}",
    ]
    return "\n".join(lines) + "\n"


def stats(core: ServerView) -> dict[str, object]:
    """The AdminServer's stats (and srvr's fields, with the brief connection list)."""
    return {
        "version": VERSION,
        "read_only": False,
        "server_stats": server_stats(core),
        "client_response": client_response(core),
        "node_count": node_count(core),
        "connections": [connection(c, True) for c in core.conns.values()],
        "secure_connections": [],
    }


def connections(core: ServerView) -> dict[str, object]:
    return {
        "connections": [connection(c, False) for c in core.conns.values()],
        "secure_connections": [],
    }


# ---- conf, envi, dirs ---------------------------------------------------------------------------


def configuration(core: ServerView) -> dict[str, object]:
    info = core.info()
    return {
        "client_port": int(info.get("clientPort", "0") or 0),
        "data_dir": data_dir(core),
        "data_log_dir": data_dir(core),
        "tick_time": core.tick_ms,
        "max_client_cnxns": core.max_cnxns,
        "min_session_timeout": core.min_timeout,
        "max_session_timeout": core.max_timeout,
        "server_id": int(info.get("serverId", "0") or 0),
        "client_port_listen_backlog": -1,  # zablab's listen backlog is the OS default
    }


def conf_text(core: ServerView) -> str:
    c = configuration(core)
    size = dir_size(data_dir(core))
    rows = [
        ("clientPort", c["client_port"]),
        ("secureClientPort", -1),
        ("dataDir", c["data_dir"]),
        ("dataDirSize", size),
        ("dataLogDir", c["data_log_dir"]),
        ("dataLogSize", size),
        ("tickTime", c["tick_time"]),
        ("maxClientCnxns", c["max_client_cnxns"]),
        ("minSessionTimeout", c["min_session_timeout"]),
        ("maxSessionTimeout", c["max_session_timeout"]),
        ("clientPortListenBacklog", c["client_port_listen_backlog"]),
        ("serverId", c["server_id"]),
    ]
    return "".join(f"{k}={v}\n" for k, v in rows)


def environment(core: ServerView) -> dict[str, str]:
    """envi: ZooKeeper's keys where they mean something here; python.* in place of java.*."""
    return {
        "zookeeper.version": VERSION,
        "host.name": socket.gethostname(),
        "python.version": sys.version.split()[0],
        "python.implementation": platform.python_implementation(),
        "python.executable": sys.executable,
        "os.name": platform.system(),
        "os.arch": platform.machine(),
        "os.version": platform.release(),
        "user.name": _user(),
        "user.home": os.path.expanduser("~"),
        "user.dir": os.getcwd(),
    }


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
    except (ImportError, KeyError):
        return str(os.getuid())


def dirs(core: ServerView) -> dict[str, int]:
    size = dir_size(data_dir(core))
    return {"datadir_size": size, "logdir_size": size}


# ---- sessions, watches, digest ------------------------------------------------------------------


def _wall_of(core: ServerView, mono: int) -> int:
    return core.wall + (mono - core.now)


def dump(core: ServerView) -> dict[str, object]:
    buckets = core.tracker.buckets
    eph = core.tree.ephemerals
    return {
        "expiry_time_to_session_ids": {str(t): sorted(buckets[t]) for t in sorted(buckets)},
        "session_id_to_ephemeral_paths": {str(s): sorted(eph[s]) for s in sorted(eph)},
    }


def _java_date(epoch_ms: int) -> str:
    """java.util.Date.toString in UTC: "Tue Dec 01 08:37:12 UTC 2026"."""
    import time

    return time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(epoch_ms / 1000))


def dump_text(core: ServerView) -> str:
    """dump: session expiry buckets, ephemerals, then the connections by expiry."""
    tracker = core.tracker
    buckets = tracker.buckets
    n = sum(len(b) for b in buckets.values())
    lines = ["SessionTracker dump:", f"Session Sets ({len(buckets)})/({n}):"]
    for t in sorted(buckets):
        lines.append(f"{len(buckets[t])} expire at {_java_date(_wall_of(core, t))}:")
        lines += [f"\t0x{hex64(s)}" for s in sorted(buckets[t])]
    eph = core.tree.ephemerals
    lines += ["ephemeral nodes dump:", f"Sessions with Ephemerals ({len(eph)}):"]
    for sid in sorted(eph):
        lines.append(f"0x{hex64(sid)}:")
        lines += [f"\t{p}" for p in sorted(eph[sid])]
    # a connection expires with its session; one without a session after ZooKeeper's
    # sessionless timeout (zablab closes none for idleness: that bucket is what ZooKeeper's
    # would be)
    by_time: dict[int, list[Conn]] = {}
    tick = tracker.tick
    for c in core.conns.values():
        s = tracker.sessions.get(c.session_id)
        t = s.expires if s is not None else (core.now + SESSIONLESS_TIMEOUT) // tick * tick + tick
        by_time.setdefault(t, []).append(c)
    lines += ["Connections dump:", f"Connections Sets ({len(by_time)})/({len(core.conns)}):"]
    for t in sorted(by_time):
        lines.append(f"{len(by_time[t])} expire at {_java_date(_wall_of(core, t))}:")
        lines += [f"\tip: /{c.peer} sessionId: 0x{hex64(c.session_id)}" for c in by_time[t]]
    return "\n".join(lines) + "\n"


def _session_of(core: ServerView) -> dict[object, int]:
    return {cid: c.session_id for cid, c in core.conns.items()}


def watches_by_session(core: ServerView) -> dict[int, list[str]]:
    """Data watches per session, as ZooKeeper's wchc and the watches command list them (its
    DataTree reports the data watch table only; child watches are not shown)."""
    sid = _session_of(core)
    out: dict[int, list[str]] = {}
    for w, paths in core.watches.data.by_watcher.items():
        if paths:
            out.setdefault(sid.get(w, 0), []).extend(sorted(paths))
    return out


def watches_by_path(core: ServerView) -> dict[str, list[int]]:
    sid = _session_of(core)
    return {
        p: sorted(sid.get(w, 0) for w in ws)
        for p, ws in sorted(core.watches.data.by_path.items())
        if ws
    }


def watch_summary(core: ServerView) -> dict[str, int]:
    data = core.watches.data
    return {
        "num_connections": sum(1 for paths in data.by_watcher.values() if paths),
        "num_paths": sum(1 for ws in data.by_path.values() if ws),
        "num_total_watches": data.count(),
    }


def wchs_text(core: ServerView) -> str:
    s = watch_summary(core)
    return (
        f"{s['num_connections']} connections watching {s['num_paths']} paths\n"
        f"Total watches:{s['num_total_watches']}\n"
    )


def wchc_text(core: ServerView) -> str:
    out = []
    for sid, paths in watches_by_session(core).items():
        out.append(f"0x{hex64(sid)}\n" + "".join(f"\t{p}\n" for p in paths))
    return "".join(out) + "\n"


def wchp_text(core: ServerView) -> str:
    out = []
    for path, sids in watches_by_path(core).items():
        out.append(f"{path}\n" + "".join(f"\t0x{hex64(s)}\n" for s in sids))
    return "".join(out) + "\n"


def digests(core: ServerView) -> list[dict[str, int]]:
    """The tree's digest at its last zxid. ZooKeeper logs an incremental digest every so many
    txns; zablab computes a CRC-32 of its snapshot bytes on request, so the values differ from
    ZooKeeper's by design while the shape matches."""
    tree = core.tree
    if tree.last_zxid == 0:
        return []
    # digest_version 0: not one of ZooKeeper's digest versions (its current one is 2)
    return [{"zxid": tree.last_zxid, "digest_version": 0, "digest": zlib.crc32(tree.serialize())}]


def hash_text(core: ServerView) -> str:
    return "".join(f"{d['zxid']:x}: {d['digest']}\n" for d in digests(core))
