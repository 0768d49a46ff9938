"""Apache ZooKeeper from the Debian package, run from its jars with a generated zoo.cfg."""

from __future__ import annotations

import shlex

from zablab.apache.classpath import check_installed, server_command
from zablab.harness.backends.base import Node
from zablab.harness.db.base import DB


class ZooKeeperDB(DB):
    name = "zookeeper"
    log_name = "zookeeper.log"

    def setup(self, nodes):  # type: ignore[no-untyped-def]
        check_installed()
        super().setup(nodes)

    def command(self, node: Node) -> str:
        argv = server_command(
            self.config_path(node),
            heap_mb=192,
            properties=(
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Xshare:auto",
                "-Dzookeeper.jmx.log4j.disable=true",
            ),
        )
        return " ".join(shlex.quote(a) for a in argv)

    def extra_config(self, node: Node) -> dict[str, str]:
        # peers reach each other through proxies on other ports; never listen on all addresses
        return {"quorumListenOnAllIPs": "false", "minSessionTimeout": str(2 * self.tick_ms)}

    def fetch_paths(self, node: Node) -> list[str]:
        return [self.log_path(node), self.config_path(node)]
