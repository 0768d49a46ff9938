"""What a zoo.cfg switches on or tunes in the server core (not in replication or storage).

One value object, so a new server feature adds a field here and a key in config.py, and the
runtimes pass it through unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class ServerOptions:
    # createTTL and the TTL create modes (zoo.cfg extendedTypesEnabled, ZooKeeper's
    # zookeeper.extendedTypesEnabled); off: Unimplemented, as ZooKeeper answers
    extended_types: bool = False
    # ZooKeeper's ContainerManager: how often emptied containers and expired TTL nodes are
    # deleted (znode.container.checkIntervalMs), and after how long a container that never
    # had a child goes too (znode.container.maxNeverUsedIntervalMs; 0: never)
    container_check_ms: int = 60_000
    container_max_never_used_ms: int = 0
    # quota hard limits refuse writes with QuotaExceeded (enforceQuota, ZooKeeper 3.7+)
    enforce_quota: bool = False
    # 4lw.commands.whitelist; None (the key unset) serves every word, unlike ZooKeeper
    four_letter_whitelist: frozenset[str] | None = None
    # ZooKeeper's AdminServer (admin.enableServer, admin.serverAddress, admin.serverPort,
    # admin.commandURL); off unless enabled, unlike ZooKeeper: a lab runs many nodes on one
    # machine and they cannot all have port 8080
    admin_enabled: bool = False
    admin_address: str = "0.0.0.0"
    admin_port: int = 8080
    admin_command_url: str = "/commands"
    # metricsProvider.className=...PrometheusMetricsProvider, metricsProvider.httpHost/httpPort
    metrics_enabled: bool = False
    metrics_host: str = "0.0.0.0"
    metrics_port: int = 7000
