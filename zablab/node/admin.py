"""ZooKeeper's AdminServer commands as JSON (its Commands.java), from monitor.py's data.

`run(core, name)` answers one command by its name or one of ZooKeeper's aliases (mntr for
monitor, cons for connections, ...), with ZooKeeper's field names plus "command" and "error";
http.py serves them on /commands/<name>. Commands about parts zablab does not have (observers,
the trace mask, Java system properties) are not offered; docs/compat.md lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from . import monitor
from .monitor import ServerView

Command = Callable[[ServerView], Mapping[str, object]]


def _ruok(core: ServerView) -> dict[str, object]:
    return {}


def _is_read_only(core: ServerView) -> dict[str, object]:
    return {"read_only": False}


def _stat_reset(core: ServerView) -> dict[str, object]:
    core.stats.reset()
    return {}


def _connection_stat_reset(core: ServerView) -> dict[str, object]:
    for c in core.conns.values():
        c.reset_stats()
    return {}


def _leader(core: ServerView) -> dict[str, object]:
    info = core.info()
    if "leader" not in info:  # standalone: ZooKeeper answers this error
        return {"error": "server is not initialized"}
    leader = int(info["leader"]) if info["leader"] else -1
    return {
        "is_leader": monitor.mode(core) == "leader",
        "leader_id": leader,
        "leader_ip": info.get("leaderHost", ""),
    }


def _zabstate(core: ServerView) -> dict[str, object]:
    m = monitor.mode(core)
    if m == "standalone":
        return {"voting": False, "zabstate": ""}
    return {"voting": True, "zabstate": "broadcast" if m in ("leader", "follower") else "election"}


def _server_stats(core: ServerView) -> dict[str, object]:
    """srvr: stats without the connection lists."""
    out = monitor.stats(core)
    del out["connections"], out["secure_connections"]
    return out


def _watches(core: ServerView) -> dict[str, object]:
    by = monitor.watches_by_session(core)
    return {"session_id_to_watched_paths": {str(s): p for s, p in by.items()}}


COMMANDS: dict[str, tuple[tuple[str, ...], Command]] = {
    "configuration": (("conf", "config"), monitor.configuration),
    "connection_stat_reset": (("crst",), _connection_stat_reset),
    "connections": (("cons",), monitor.connections),
    "dirs": (("dirs",), monitor.dirs),
    "dump": (("dump",), monitor.dump),
    "environment": (("env", "envi"), monitor.environment),
    "hash": (("hash",), lambda core: {"digests": monitor.digests(core)}),
    "is_read_only": (("isro",), _is_read_only),
    "leader": (("lead",), _leader),
    "monitor": (("mntr",), monitor.monitor),
    "ruok": (("ruok",), _ruok),
    "server_stats": (("srvr",), _server_stats),
    "stat_reset": (("srst",), _stat_reset),
    "stats": (("stat",), monitor.stats),
    "watch_summary": (("wchs",), monitor.watch_summary),
    "watches": (("wchc",), _watches),
    "watches_by_path": (
        ("wchp",),
        lambda core: {"path_to_session_ids": monitor.watches_by_path(core)},
    ),
    "zabstate": (("zabstate",), _zabstate),
}
_BY_NAME = {alias: name for name, (aliases, _) in COMMANDS.items() for alias in (name, *aliases)}


def run(core: ServerView, name: str) -> dict[str, object] | None:
    """The JSON object for command `name` (or an alias); None for an unknown name."""
    primary = _BY_NAME.get(name)
    if primary is None:
        return None
    out = dict(COMMANDS[primary][1](core))
    out["command"] = primary
    out.setdefault("error", None)
    return out


def index_html() -> str:
    """GET /commands: links to every command, as ZooKeeper's AdminServer lists them."""
    return "".join(f'<a href="/commands/{n}">{n}</a>\n<br/>\n' for n in sorted(COMMANDS))
