"""Classpath and command lines for the Debian `zookeeper` package.

Debian's zookeeper.jar names its dependencies in its manifest (Class-Path), so the classpath only
needs the jar itself plus an slf4j binding so that the server log is not silently dropped.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

from zablab.errors import UserError

JAVA_DIR = "/usr/share/java"
SERVER_MAIN = "org.apache.zookeeper.server.quorum.QuorumPeerMain"
CLI_MAIN = "org.apache.zookeeper.ZooKeeperMain"
CORE_JARS = ("zookeeper.jar", "zookeeper-jute.jar")
LOG_BINDING = "slf4j-simple.jar"
# the AdminServer's Jetty needs the servlet API, which zookeeper.jar's manifest does not name
ADMIN_JARS = ("servlet-api.jar",)
INSTALL_HINT = "install it with `apt-get install zookeeper` (Debian/Ubuntu)"


def server_classpath(
    java_dir: str = JAVA_DIR,
    *,
    log_binding: str | None = LOG_BINDING,
    extra_jars: Sequence[str] = (),
) -> str:
    """The classpath string for a Debian-style jar directory (pure: no file system access)."""
    jars = [*CORE_JARS, *([log_binding] if log_binding else []), *extra_jars]
    return ":".join(f"{java_dir.rstrip('/')}/{jar}" for jar in jars)


def check_installed(java_dir: str = JAVA_DIR) -> None:
    """Raise a UserError naming the fix when the ZooKeeper jars are missing on this machine."""
    missing = [jar for jar in CORE_JARS if not (Path(java_dir) / jar).is_file()]
    if missing:
        raise UserError(f"Apache ZooKeeper jars {missing} are not in {java_dir}; {INSTALL_HINT}.")


def find_java() -> str:
    """The java binary on PATH, or a UserError naming the fix."""
    java = shutil.which("java")
    if java is None:
        raise UserError(
            "No `java` on PATH; install a JRE (e.g. `apt-get install default-jre-headless`)."
        )
    return java


def server_command(
    cfg_path: str,
    *,
    java: str = "java",
    java_dir: str = JAVA_DIR,
    heap_mb: int | None = 256,
    properties: Sequence[str] = (),
    admin_port: int | None = None,
) -> list[str]:
    """argv that runs QuorumPeerMain on a zoo.cfg (standalone when it has no server.N lines);
    the AdminServer is off unless `admin_port` is given (then it listens on 127.0.0.1)."""
    heap = [f"-Xmx{heap_mb}m"] if heap_mb else []
    if admin_port is None:
        admin = ["-Dzookeeper.admin.enableServer=false"]
    else:
        admin = [
            "-Dzookeeper.admin.enableServer=true",
            "-Dzookeeper.admin.serverAddress=127.0.0.1",
            f"-Dzookeeper.admin.serverPort={admin_port}",
        ]
    return [
        java,
        *heap,
        *admin,
        *properties,
        "-cp",
        server_classpath(java_dir, extra_jars=ADMIN_JARS if admin_port is not None else ()),
        SERVER_MAIN,
        cfg_path,
    ]


def cli_command(
    server: str,
    *,
    java: str = "java",
    java_dir: str = JAVA_DIR,
    args: Sequence[str] = (),
) -> list[str]:
    """argv for the zkCli shell (ZooKeeperMain) against `host:port`, without the jline console."""
    return [
        java,
        "-Xmx128m",
        "-XX:TieredStopAtLevel=1",
        "-cp",
        server_classpath(java_dir, log_binding="slf4j-nop.jar"),
        CLI_MAIN,
        "-server",
        server,
        *args,
    ]
