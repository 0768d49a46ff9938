"""Node configuration from a zoo.cfg-style file and/or command-line flags.

Accepts the keys ZooKeeper's QuorumPeerConfig reads that matter here, so a zoo.cfg written for
Apache ZooKeeper starts a zablab node unchanged; keys that only tune Java internals are ignored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from zablab.bugs import NODE_LAYERS, parse_bugs
from zablab.errors import UserError

from .options import ServerOptions
from .replica.config import parse_paxos_mode, parse_protocol
from .zab.elections import parse_election

IGNORED_KEYS = {
    "dataLogDir",
    "autopurge.snapRetainCount",
    "autopurge.purgeInterval",
    "standaloneEnabled",
    "reconfigEnabled",
    "preAllocSize",
    "globalOutstandingLimit",
    "leaderServes",
    "electionAlg",
    "quorumListenOnAllIPs",
    "jute.maxbuffer",
    "skipACL",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "maxCnxns",
    "syncEnabled",
    "secureClientPort",
    "dynamicConfigFile",
    # AdminServer and metrics tuning that has no meaning for zablab's small HTTP endpoints
    "admin.idleTimeout",
    "admin.portUnification",
    "admin.forceHttps",
    "metricsProvider.exportJvmInfo",
    "metricsProvider.numWorkerThreads",
    "metricsProvider.maxQueueSize",
    "metricsProvider.workerShutdownTimeoutMs",
}


@dataclass(slots=True)
class Peer:
    id: int
    host: str
    peer_port: int
    election_port: int
    client_port: int | None = None


@dataclass(slots=True)
class NodeConfig:
    data_dir: str = ""
    client_port: int = 2181
    client_port_address: str = "0.0.0.0"
    tick_time: int = 2000
    init_limit: int = 10
    sync_limit: int = 5
    max_client_cnxns: int = 60
    min_session_timeout: int = 0  # 0: 2 * tickTime
    max_session_timeout: int = 0  # 0: 20 * tickTime
    snap_count: int = 100000
    commit_log_count: int = 500  # txns a leader can still send as DIFF (else SNAP)
    fsync: bool = True
    server_id: int = 0
    servers: dict[int, Peer] = field(default_factory=dict)
    trace: str = ""
    crash_point: str = ""  # stop at this protocol moment for the harness (crashpoint.py)
    bugs: frozenset[str] = frozenset()  # seeded bugs by name (zablab/bugs.py)
    protocol: str = "zab"  # the replica's protocol (zablab.protocol)
    paxos_mode: str = "deltas"  # what Paxos decides: txns or client commands (zablab.paxos.mode)
    election: str = "fle"  # the ZAB replica's election scheme (zablab.election)
    server: ServerOptions = field(default_factory=ServerOptions)
    secret_file: str = ""  # zablab.secretFile: the ensemble secret (secret.py)


def _int(key: str, value: str, where: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise UserError(f"{where}: {key}={value!r} is not an integer; fix the value.") from None


def _port(key: str, value: str, where: str) -> int:
    port = _int(key, value, where)
    if not 0 <= port <= 65535:
        raise UserError(f"{where}: {key}={port} is not a TCP port (0..65535); fix the value.")
    return port


def _bool(key: str, value: str, where: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false", "yes", "no"):
        raise UserError(f"{where}: {key}={value!r} must be true or false; fix the value.")
    return v in ("true", "yes")


def _peer(sid: int, value: str, where: str) -> Peer:
    # host:peerPort:electionPort[:role][;[clientAddr:]clientPort]
    main, _, client = value.partition(";")
    parts = main.strip().split(":")
    if len(parts) < 3:
        raise UserError(
            f"{where}: server.{sid}={value!r} must look like host:peerPort:electionPort; fix it."
        )
    cport = None
    if client.strip():
        cport = _int(f"server.{sid} client port", client.strip().rsplit(":", 1)[-1], where)
    return Peer(
        sid,
        parts[0],
        _int("peer port", parts[1], where),
        _int("election port", parts[2], where),
        cport,
    )


def read_zoo_cfg(path: str, cfg: NodeConfig | None = None) -> NodeConfig:
    cfg = cfg or NodeConfig()
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except OSError as exc:
        raise UserError(
            f"cannot read config file {path}: {exc.strerror}; check the path."
        ) from None
    for no, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise UserError(f"{path}:{no}: expected key=value, got {line!r}; fix that line.")
        key, _, value = (s.strip() for s in line.partition("="))
        where = f"{path}:{no}"
        if key == "tickTime":
            cfg.tick_time = _int(key, value, where)
        elif key == "initLimit":
            cfg.init_limit = _int(key, value, where)
        elif key == "syncLimit":
            cfg.sync_limit = _int(key, value, where)
        elif key == "dataDir":
            cfg.data_dir = value
        elif key == "clientPort":
            cfg.client_port = _int(key, value, where)
        elif key == "clientPortAddress":
            cfg.client_port_address = value
        elif key == "maxClientCnxns":
            cfg.max_client_cnxns = _int(key, value, where)
        elif key == "minSessionTimeout":
            cfg.min_session_timeout = _int(key, value, where)
        elif key == "maxSessionTimeout":
            cfg.max_session_timeout = _int(key, value, where)
        elif key == "snapCount":
            cfg.snap_count = _int(key, value, where)
        elif key == "commitLogCount":  # a Java system property in ZooKeeper
            cfg.commit_log_count = _int(key, value, where)
            if cfg.commit_log_count < 1:
                raise UserError(f"{where}: {key} must be at least 1; fix the value.")
        elif key == "forceSync":
            cfg.fsync = value.lower() != "no"
        elif key == "extendedTypesEnabled":
            cfg.server.extended_types = _bool(key, value, where)
        elif key == "znode.container.checkIntervalMs":  # a Java system property in ZooKeeper
            cfg.server.container_check_ms = _int(key, value, where)
            if cfg.server.container_check_ms < 1:
                raise UserError(f"{where}: {key} must be at least 1; fix the value.")
        elif key == "znode.container.maxNeverUsedIntervalMs":
            cfg.server.container_max_never_used_ms = _int(key, value, where)
        elif key == "enforceQuota":  # zookeeper.enforceQuota, a system property in ZooKeeper
            cfg.server.enforce_quota = _bool(key, value, where)
        elif key == "admin.enableServer":
            cfg.server.admin_enabled = _bool(key, value, where)
        elif key == "admin.serverAddress":
            cfg.server.admin_address = value
        elif key == "admin.serverPort":
            cfg.server.admin_port = _port(key, value, where)
        elif key == "admin.commandURL":
            cfg.server.admin_command_url = "/" + value.strip("/")
        elif key == "metricsProvider.className":
            if value.endswith(".PrometheusMetricsProvider"):
                cfg.server.metrics_enabled = True
            elif not value.endswith(".DefaultMetricsProvider"):
                raise UserError(
                    f"{where}: metricsProvider.className={value} is not one zablab has; use "
                    "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider."
                )
        elif key == "metricsProvider.httpHost":
            cfg.server.metrics_host = value
        elif key == "metricsProvider.httpPort":
            cfg.server.metrics_port = _port(key, value, where)
        elif key == "4lw.commands.whitelist":
            cfg.server.four_letter_whitelist = frozenset(
                w.strip() for w in value.split(",") if w.strip()
            )
        elif key == "zablab.secretFile":
            cfg.secret_file = value
        elif key == "zablab.bugs":
            try:
                cfg.bugs = cfg.bugs | parse_bugs(value.split(","), NODE_LAYERS)
            except UserError as exc:
                raise UserError(f"{where}: {exc}") from None
        elif key == "zablab.election":
            try:
                cfg.election = parse_election(value.strip())
            except UserError as exc:
                raise UserError(f"{where}: {exc}") from None
        elif key == "zablab.protocol":
            try:
                cfg.protocol = parse_protocol(value.strip())
            except UserError as exc:
                raise UserError(f"{where}: {exc}") from None
        elif key == "zablab.paxos.mode":
            cfg.paxos_mode = value.strip()
        elif key.startswith("server."):
            sid = _int("server id", key[len("server.") :], where)
            cfg.servers[sid] = _peer(sid, value, where)
        elif key.startswith("group.") or key.startswith("weight.") or key in IGNORED_KEYS:
            continue
        else:
            raise UserError(f"{where}: unknown key {key!r}; remove it or check its spelling.")
    return cfg


def read_myid(data_dir: str) -> int | None:
    p = os.path.join(data_dir, "myid")
    try:
        with open(p, encoding="utf-8") as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise UserError(f"cannot read {p}: {exc.strerror}.") from None
    try:
        return int(text)
    except ValueError:
        raise UserError(f"{p} must hold the server id as an integer, not {text!r}.") from None


def validate(cfg: NodeConfig) -> None:
    if not cfg.data_dir:
        raise UserError("no data directory: pass --data-dir DIR or set dataDir in zoo.cfg.")
    if cfg.tick_time <= 0:
        raise UserError(f"tickTime must be positive, got {cfg.tick_time}.")
    if not 0 <= cfg.client_port <= 65535:
        raise UserError(f"clientPort {cfg.client_port} is not a TCP port (0..65535).")
    if len(cfg.servers) > 1 and cfg.server_id not in cfg.servers:
        raise UserError(
            f"server id {cfg.server_id} is not among the server.N lines "
            f"({', '.join(map(str, sorted(cfg.servers)))}); write it to dataDir/myid or pass --id."
        )
    if cfg.bugs and len(cfg.servers) < 2:
        raise UserError(
            "seeded bugs (--bug, zablab.bugs) live in ZAB replication; "
            "configure an ensemble (server.N lines) to use them."
        )
    parse_paxos_mode(cfg.paxos_mode, cfg.protocol)
    if cfg.server.extended_types and cfg.server_id > 254:
        raise UserError(
            f"server id {cfg.server_id} is above 254, which extendedTypesEnabled needs "
            "(TTL nodes use the top byte of the owner); pick a smaller id."
        )
    if cfg.servers and cfg.server_id and cfg.server_id not in cfg.servers:
        raise UserError(
            f"server id {cfg.server_id} has no server.{cfg.server_id} line in the config; "
            "add it or fix myid."
        )
